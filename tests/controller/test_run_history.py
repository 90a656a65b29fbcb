"""Each sync's run history and its counters since creation, and the top-level values `kubectl get` shows.

The history is rebuilt from the Jobs seen and the stored history; the counters advance once per finished
Job: a run seen Running then finished counts once, an operator restart (a fresh build from the stored
status read back) counts nothing again, and a Job that disappears stays counted.
"""

import json
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import pytest

from erpsync.api.models import HISTORY_MESSAGE_LIMIT, RUN_HISTORY_MAX
from erpsync.controller.bounds import TRUNCATED
from erpsync.controller.observed import Observed
from erpsync.controller.status import Outcome, suspended_column
from erpsync.planning.plan import SchedulePlan, plan_schedule
from tests.controller.test_status_bounds import status_problems
from tests.support.specs import make_schedule
from tests.support.status import status_json

NOW: Final = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CRON_JOB: Final = "acme-job-costs"
SUCCEEDED: Final = {"sync": "job-costs", "result": "Succeeded", "read": 12, "created": 2, "updated": 1, "failed": 0}


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _job(
    number: int, *, started: datetime, finished: str | None = None, took: timedelta = timedelta(minutes=3)
) -> dict[str, Any]:
    """Job `acme-job-costs-<number>`, started at `started`; `finished`: its Complete or Failed condition."""
    status: dict[str, Any] = {"startTime": _stamp(started)}
    if finished:
        done = _stamp(started + took)
        reason = "BackoffLimitExceeded" if finished == "Failed" else ""
        status["conditions"] = [{"type": finished, "status": "True", "reason": reason, "lastTransitionTime": done}]
        if finished == "Complete":
            status["completionTime"] = done
    return {
        "metadata": {
            "name": f"{CRON_JOB}-{number}",
            "creationTimestamp": _stamp(started),
            "labels": {"erpsync.io/sync": "jobCosts", "erpsync.io/trigger": "Scheduled"},
        },
        "status": status,
    }


def _pod(summary: dict[str, Any]) -> dict[str, Any]:
    terminated = {
        "terminated": {"exitCode": 0 if summary["result"] == "Succeeded" else 2, "message": json.dumps(summary)}
    }
    return {
        "metadata": {"name": "pod", "creationTimestamp": "2026-06-01T00:00:00Z"},
        "status": {"containerStatuses": [{"name": "worker", "state": terminated}]},
    }


class Operator:
    """The status builder pass after pass, each pass reading back the status the previous one wrote, as
    the operator does; `restart()` forgets everything but the stored status."""

    def __init__(self, run_history: int = 5, plan: SchedulePlan | None = None) -> None:
        self.run_history = run_history
        self.plan = plan or plan_schedule(make_schedule("CMiC", namespace="erp"))  # jobCosts, Every2Hours
        self.stored: dict[str, Any] | None = None

    def sees(
        self, jobs: list[dict[str, Any]], pods: dict[str, dict[str, Any]] | None = None, now: datetime = NOW
    ) -> dict[str, Any]:
        observed = Observed(
            cron_jobs={CRON_JOB: {"metadata": {"name": CRON_JOB, "creationTimestamp": "2026-06-01T00:00:00Z"}}},
            jobs_by_sync={"jobCosts": jobs},
            pods_by_job={name: [pod] for name, pod in (pods or {}).items()},
        )
        status = status_json(self.plan, observed, previous=self.stored, now=now, run_history=self.run_history)
        assert status_problems(status) == []  # what the API server accepts
        self.stored = json.loads(json.dumps(status))  # as stored: JSON, read back by the next pass
        return status

    def job_costs(self) -> dict[str, Any]:
        assert self.stored is not None
        job_costs: dict[str, Any] = self.stored["syncs"]["jobCosts"]
        return job_costs

    def history(self) -> list[tuple[str, str]]:
        return [(entry["jobName"], entry["result"]) for entry in self.job_costs().get("history", [])]

    def totals(self) -> dict[str, int]:
        runs: dict[str, int] = self.job_costs().get("runs", {"succeeded": 0, "partiallyFailed": 0, "failed": 0})
        return runs


def _hourly(count: int, finished: str = "Complete") -> list[dict[str, Any]]:
    """`count` finished Jobs an hour apart, the newest started half an hour ago."""
    return [
        _job(n, started=NOW - timedelta(minutes=30) - timedelta(hours=count - n), finished=finished)
        for n in range(1, count + 1)
    ]


def test_the_history_keeps_the_last_runs_newest_first_with_what_they_did() -> None:
    operator = Operator(run_history=3)
    jobs = [*_hourly(4), _job(5, started=NOW - timedelta(minutes=2))]
    pods = {f"{CRON_JOB}-4": _pod(SUCCEEDED)}
    operator.sees(jobs, pods)
    assert operator.history() == [
        (f"{CRON_JOB}-5", "Running"),
        (f"{CRON_JOB}-4", "Succeeded"),
        (f"{CRON_JOB}-3", "Succeeded"),
    ]
    running, done, _ = operator.job_costs()["history"]
    assert "durationSeconds" not in running and "completionTime" not in running
    assert done == {
        "jobName": f"{CRON_JOB}-4",
        "trigger": "Scheduled",
        "startTime": _stamp(NOW - timedelta(minutes=30)),
        "completionTime": _stamp(NOW - timedelta(minutes=27)),
        "result": "Succeeded",
        "durationSeconds": 180,
        "counts": {"read": 12, "created": 2, "updated": 1, "unchanged": 0, "skipped": 0, "failed": 0},
    }
    # Four finished Jobs seen at once: all four counted, though the history keeps three runs.
    assert operator.totals() == {"succeeded": 4, "partiallyFailed": 0, "failed": 0}


def test_a_run_seen_running_then_finished_counts_once_and_a_restart_counts_nothing_again() -> None:
    operator = Operator()
    started = NOW - timedelta(minutes=10)
    operator.sees([_job(1, started=started)])
    assert operator.history() == [(f"{CRON_JOB}-1", "Running")] and "runs" not in operator.job_costs()
    # The Job controller sees the Pod fail before the Pod's summary is read: Failed first, then refined.
    operator.sees([_job(1, started=started, finished="Failed")])
    assert operator.totals() == {"succeeded": 0, "partiallyFailed": 0, "failed": 1}
    partial = {**SUCCEEDED, "result": "PartiallyFailed", "failed": 3}
    operator.sees([_job(1, started=started, finished="Failed")], {f"{CRON_JOB}-1": _pod(partial)})
    assert operator.totals() == {"succeeded": 0, "partiallyFailed": 1, "failed": 0}  # moved, not counted twice
    settled = operator.stored
    # A restart: a fresh pass on the stored status, whatever the watch cache shows yet, changes nothing.
    for world in ([], [_job(1, started=started)], [_job(1, started=started, finished="Failed")]):
        restarted = Operator()
        restarted.stored = settled
        assert restarted.sees(world) == settled
    # A second run finishes; the first one's Job is deleted (history limits): it stays, and stays counted.
    operator.sees([_job(2, started=NOW - timedelta(minutes=4), finished="Complete")])
    assert operator.history() == [(f"{CRON_JOB}-2", "Succeeded"), (f"{CRON_JOB}-1", "PartiallyFailed")]
    assert operator.totals() == {"succeeded": 1, "partiallyFailed": 1, "failed": 0}
    assert operator.sees([], now=NOW + timedelta(minutes=1)) == operator.sees([], now=NOW + timedelta(minutes=2))


def test_a_job_that_fell_off_the_history_is_not_counted_again() -> None:
    operator = Operator(run_history=2)
    operator.sees(_hourly(3))
    assert operator.history() == [(f"{CRON_JOB}-3", "Succeeded"), (f"{CRON_JOB}-2", "Succeeded")]
    assert operator.totals() == {"succeeded": 3, "partiallyFailed": 0, "failed": 0}
    # Job 1 is still there (the CronJob keeps three): older than the whole stored history, it is left out.
    operator.sees(_hourly(3), now=NOW + timedelta(minutes=1))
    assert operator.totals() == {"succeeded": 3, "partiallyFailed": 0, "failed": 0}
    newer = _job(4, started=NOW, finished="Failed")
    operator.sees([*_hourly(3), newer], now=NOW + timedelta(minutes=5))
    assert operator.history() == [(f"{CRON_JOB}-4", "Failed"), (f"{CRON_JOB}-3", "Succeeded")]
    assert operator.totals() == {"succeeded": 3, "partiallyFailed": 0, "failed": 1}


def test_a_job_that_started_before_a_newer_one_was_seen_still_enters_the_history() -> None:
    operator = Operator()
    operator.sees(_hourly(3)[::2])  # jobs 1 and 3: the watch shows job 2 a moment later
    operator.sees(_hourly(3))
    assert [name for name, _ in operator.history()] == [f"{CRON_JOB}-3", f"{CRON_JOB}-2", f"{CRON_JOB}-1"]
    assert operator.totals() == {"succeeded": 3, "partiallyFailed": 0, "failed": 0}


def test_a_not_started_job_waits_outside_the_history() -> None:
    operator = Operator()
    job = _job(1, started=NOW)
    del job["status"]["startTime"]
    operator.sees([job])
    assert "history" not in operator.job_costs()


def test_history_messages_are_cut_and_the_history_is_bounded() -> None:
    operator = Operator(run_history=RUN_HISTORY_MAX)
    failed = {**SUCCEEDED, "result": "Failed", "errors": ["é☃" + "x" * 10_000]}
    jobs = _hourly(RUN_HISTORY_MAX + 5, finished="Failed")
    operator.sees(jobs, {job["metadata"]["name"]: _pod(failed) for job in jobs})
    history = operator.job_costs()["history"]
    assert len(history) == RUN_HISTORY_MAX
    assert all(len(entry["message"]) == HISTORY_MESSAGE_LIMIT for entry in history)
    assert history[0]["message"].startswith("BackoffLimitExceeded: é☃x") and history[0]["message"].endswith(TRUNCATED)
    assert len(operator.job_costs()["lastRun"]["message"]) > HISTORY_MESSAGE_LIMIT  # lastRun keeps its own limit
    assert operator.totals()["failed"] == RUN_HISTORY_MAX + 5


def test_a_stalled_generation_keeps_the_history_and_the_counters() -> None:
    operator = Operator()
    operator.sees(_hourly(2))
    stalled = status_json(
        None, Observed(), outcome=Outcome("Stalled", "spec.erp: bad"), previous=operator.stored, generation=2, now=NOW
    )
    assert stalled["syncs"]["jobCosts"]["history"] == operator.job_costs()["history"]
    assert stalled["syncs"]["jobCosts"]["runs"] == {"succeeded": 2, "partiallyFailed": 0, "failed": 0}


# --- the values of the SUSPENDED and NEXT SYNC columns --------------------------------------------


def _generic(**syncs: Any) -> Operator:
    return Operator(plan=plan_schedule(make_schedule(namespace="erp", syncs=syncs)))  # Generic: four syncs scheduled


@pytest.mark.parametrize(
    ("syncs", "spec_suspend", "column"),
    [
        ({}, False, "false"),
        ({"vendors": {"suspend": True}}, False, "vendors"),
        ({"vendors": {"suspend": True}, "jobCosts": {"suspend": True}}, False, "vendors,jobCosts"),
        ({}, True, "true"),
        ({"jobs": {"frequency": "Never"}, "vendors": {"suspend": True}}, False, "vendors"),  # Never: not scheduled
        (
            {
                "jobs": {"frequency": "Never"},
                **{sync: {"suspend": True} for sync in ("vendors", "jobCosts", "invoicePayments")},
            },
            False,
            "true",
        ),
    ],
    ids=["none", "one", "two", "all", "a-never-sync-is-not-counted", "all-scheduled-beside-a-never-sync"],
)
def test_suspended_reads_false_true_or_the_suspended_syncs(
    syncs: dict[str, Any], spec_suspend: bool, column: str
) -> None:
    plan = plan_schedule(make_schedule(namespace="erp", syncs=syncs, suspend=spec_suspend))
    status = Operator(plan=plan).sees([])
    assert status["suspended"] == column


def test_suspended_of_a_schedule_with_no_scheduled_sync() -> None:
    never = {"frequency": "Never", "suspended": False}
    assert suspended_column({"vendors": never, "jobs": never}) == "false"
    assert suspended_column({"vendors": {**never, "suspended": True}, "jobs": {**never, "suspended": True}}) == "true"


def test_next_sync_is_the_earliest_next_run_of_the_syncs_not_suspended() -> None:
    status = _generic().sees([])
    next_runs = {sync: entry["nextRunTime"] for sync, entry in status["syncs"].items()}
    assert len(next_runs) == 4 and status["nextSyncTime"] == min(next_runs.values())  # all RFC 3339 Z, same width
    earliest = min(next_runs, key=lambda sync: next_runs[sync])
    without = _generic(**{earliest: {"suspend": True}}).sees([])
    assert without["nextSyncTime"] == min(time for sync, time in next_runs.items() if sync != earliest)
    assert without["nextSyncTime"] > status["nextSyncTime"]
    assert "nextSyncTime" not in Operator(plan=plan_schedule(make_schedule(namespace="erp", suspend=True))).sees([])
