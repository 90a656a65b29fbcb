"""Status is rebuilt from the world: conditions, last runs, health, next runs."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from erpsync.api.models import Condition as StatusCondition
from erpsync.api.models import ErpSyncSchedule, read_status
from erpsync.controller.conditions import Condition, merge_conditions
from erpsync.controller.observed import Observed
from erpsync.controller.status import Outcome, build_status
from erpsync.planning.plan import SchedulePlan, plan_schedule
from tests.support.specs import make_schedule

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
RECONCILED = Outcome("Reconciled")


def _schedule(**spec: Any) -> ErpSyncSchedule:
    return make_schedule("CMiC", namespace="erp", **spec)


def _plan() -> SchedulePlan:
    return plan_schedule(_schedule())  # CMiC: only jobCosts is scheduled (Every2Hours)


def _job(
    name: str,
    *,
    created: datetime,
    condition: str | None,
    completion: datetime | None = None,
    trigger: str = "Scheduled",
) -> dict[str, Any]:
    status: dict[str, Any] = {"startTime": created.strftime("%Y-%m-%dT%H:%M:%SZ")}
    if condition:
        status["conditions"] = [
            {
                "type": condition,
                "status": "True",
                "reason": "BackoffLimitExceeded" if condition == "Failed" else "",
                "lastTransitionTime": "2026-06-01T11:59:00Z",
            }
        ]
    if completion:
        status["completionTime"] = completion.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "metadata": {
            "name": name,
            "creationTimestamp": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "labels": {"erpsync.io/sync": "jobCosts", "erpsync.io/trigger": trigger},
        },
        "status": status,
    }


def _pod(job: str, *, summary: dict[str, Any] | None = None, waiting: str | None = None) -> dict[str, Any]:
    state: dict[str, Any] = {}
    if summary is not None:
        state = {"terminated": {"exitCode": 2, "message": json.dumps(summary)}}
    if waiting:
        state = {"waiting": {"reason": waiting, "message": 'secret "e" not found'}}
    return {
        "metadata": {"name": f"{job}-x", "creationTimestamp": "2026-06-01T11:00:00Z"},
        "status": {"containerStatuses": [{"name": "worker", "state": state}]},
    }


def _conditions(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in status["conditions"]}


def _build(
    observed: Observed,
    outcome: Outcome = RECONCILED,
    previous: dict[str, Any] | None = None,
    plan: SchedulePlan | None = None,
    now: datetime = NOW,
) -> dict[str, Any]:
    return build_status(
        generation=3,
        plan=plan if plan is not None else _plan(),
        observed=observed,
        outcome=outcome,
        previous=read_status(previous),
        handled_sync_now=None,
        now=now,
    ).as_json()


def _observed(
    jobs: list[dict[str, Any]] | None = None,
    pods: dict[str, list[dict[str, Any]]] | None = None,
    created: datetime = NOW - timedelta(hours=1),
) -> Observed:
    cron_job = {
        "metadata": {"name": "acme-job-costs", "creationTimestamp": created.strftime("%Y-%m-%dT%H:%M:%SZ")},
        "status": {},
    }
    return Observed(
        cron_jobs={"acme-job-costs": cron_job}, jobs_by_sync={"jobCosts": jobs or []}, pods_by_job=pods or {}
    )


def test_reconciled_is_ready_with_observed_generation_and_per_sync_status() -> None:
    status = _build(_observed())
    conditions = _conditions(status)
    assert status["observedGeneration"] == 3
    assert conditions["Ready"]["status"] == "True"
    assert "Reconciling" not in conditions and "Stalled" not in conditions
    assert conditions["Healthy"]["status"] == "True"
    job_costs = status["syncs"]["jobCosts"]
    assert job_costs["cronJob"] == "acme-job-costs" and job_costs["frequency"] == "Every2Hours"
    assert job_costs["nextRunTime"] > "2026-06-01T12:00:00Z"
    assert status["syncs"]["vendors"] == {"frequency": "Never", "timeZone": "UTC", "suspended": False}


def test_stalled_keeps_observed_generation_moving_and_says_why() -> None:
    status = build_status(
        generation=4,
        plan=None,
        observed=Observed(),
        outcome=Outcome("Stalled", "spec.erp: bad"),
        previous=read_status({"syncs": {"jobs": {"frequency": "Hourly"}}}),
        handled_sync_now=None,
        now=NOW,
    ).as_json()
    conditions = _conditions(status)
    assert status["observedGeneration"] == 4
    assert conditions["Ready"]["status"] == "False" and conditions["Stalled"]["message"] == "spec.erp: bad"
    assert status["syncs"] == {"jobs": {"frequency": "Hourly", "suspended": False}}  # as the CRD defaults it


def test_retrying_leaves_ready_unknown_and_the_old_generation() -> None:
    status = _build(_observed(), Outcome("Retrying", "500"), previous={"observedGeneration": 2})
    conditions = _conditions(status)
    assert status["observedGeneration"] == 2
    assert conditions["Ready"]["status"] == "Unknown" and conditions["Reconciling"]["status"] == "True"


def test_failed_run_makes_healthy_false_with_the_workers_summary() -> None:
    job = _job("acme-job-costs-1", created=NOW - timedelta(minutes=30), condition="Failed")
    summary = {
        "sync": "job-costs",
        "result": "PartiallyFailed",
        "read": 10,
        "created": 7,
        "failed": 3,
        "errors": ["cost code 01-100: name is required"],
    }
    status = _build(_observed([job], {"acme-job-costs-1": [_pod("acme-job-costs-1", summary=summary)]}))
    run = status["syncs"]["jobCosts"]["lastRun"]
    assert run["result"] == "PartiallyFailed" and run["counts"]["failed"] == 3
    healthy = _conditions(status)["Healthy"]
    assert healthy["status"] == "False" and "cost code 01-100" in healthy["message"]


def test_a_pod_that_cannot_start_shows_its_reason() -> None:
    job = _job("acme-job-costs-2", created=NOW - timedelta(minutes=3), condition=None)
    status = _build(
        _observed([job], {"acme-job-costs-2": [_pod("acme-job-costs-2", waiting="CreateContainerConfigError")]})
    )
    healthy = _conditions(status)["Healthy"]
    assert healthy["status"] == "False" and "CreateContainerConfigError" in healthy["message"]
    assert status["syncs"]["jobCosts"]["lastRun"]["result"] == "Running"


def test_success_then_overdue() -> None:
    done = _job(
        "acme-job-costs-3",
        created=NOW - timedelta(hours=1),
        condition="Complete",
        completion=NOW - timedelta(minutes=50),
    )
    status = _build(_observed([done]))
    assert _conditions(status)["Healthy"]["status"] == "True"
    assert status["lastSyncTime"] == status["syncs"]["jobCosts"]["lastSuccessfulTime"]
    later = NOW + timedelta(hours=4, minutes=30)  # Every2Hours: overdue after 2 x 2h + 15m
    status = _build(_observed([done]), now=later)
    healthy = _conditions(status)["Healthy"]
    assert healthy["status"] == "False" and healthy["reason"] == "RunOverdue"


def test_nothing_moves_when_nothing_changed() -> None:
    first = _build(_observed())
    again = _build(_observed(), previous=first, now=NOW + timedelta(minutes=5))
    assert again == first  # same transition times, same next run: nothing to write


def test_transition_time_kept_while_status_unchanged() -> None:
    before = merge_conditions([], [Condition("Ready", "True", "Succeeded", "a")], 1, NOW)
    after = merge_conditions(_read(before), [Condition("Ready", "True", "Succeeded", "b")], 2, NOW + timedelta(hours=1))
    assert after[0]["lastTransitionTime"] == before[0]["lastTransitionTime"]
    flipped = merge_conditions(_read(after), [Condition("Ready", "False", "X", "c")], 2, NOW + timedelta(hours=2))
    assert flipped[0]["lastTransitionTime"] == "2026-06-01T14:00:00Z"


def _read(conditions: list[dict[str, Any]]) -> list[StatusCondition]:
    return read_status({"conditions": conditions}).conditions
