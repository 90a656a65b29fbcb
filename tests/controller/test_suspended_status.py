"""status.syncs.<sync>.suspended is what took effect (the CronJob's flag); suspendedBy is who asked."""

from datetime import UTC, datetime, timedelta

from erpsync.controller.observed import Observed
from erpsync.planning.plan import plan_schedule
from tests.support.specs import make_schedule
from tests.support.status import status_json

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_status_says_what_took_effect_and_who_asked() -> None:
    """status.syncs.<sync>.suspended is the CronJob's own flag: a request the CronJob does not carry yet (a
    failed patch) reads as not in effect, while suspendedBy names who asked."""
    plan = plan_schedule(make_schedule(namespace="erp"), suspended_by_annotation=frozenset({"vendors", "jobs"}))
    created = (NOW - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    observed = Observed()
    for planned in plan.syncs:
        assert planned.cron_job_name and planned.cron_job
        suspend = planned.cron_job["spec"]["suspend"] and planned.sync != "jobs"  # jobs: its patch failed
        observed.cron_jobs[planned.cron_job_name] = {
            "metadata": {"name": planned.cron_job_name, "creationTimestamp": created},
            "spec": {"suspend": suspend},
        }
    status = status_json(plan, observed, now=NOW)
    rows = {sync: (entry["suspended"], entry.get("suspendedBy")) for sync, entry in status["syncs"].items()}
    assert rows == {
        "vendors": (True, ["Annotation"]),
        "jobs": (False, ["Annotation"]),
        "jobCosts": (False, None),
        "invoicePayments": (False, None),
    }
    assert "nextRunTime" not in status["syncs"]["vendors"]
