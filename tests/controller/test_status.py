"""Status is rebuilt from the world: conditions, last runs, health, next runs."""

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pytest

from erpsync.api.models import Condition as StatusCondition
from erpsync.api.models import ErpSyncSchedule, LastRun, RunCounts, read_status
from erpsync.controller.conditions import Condition, merge_conditions
from erpsync.controller.observed import Observed
from erpsync.controller.reconcile import finished_runs
from erpsync.controller.runs import Run, read_run
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
    assert status["syncs"]["vendors"] == {"frequency": "Never", "runOn": "Both", "timeZone": "UTC", "suspended": False}


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
    assert [(c["type"], c["status"], c["reason"]) for c in status["conditions"]] == [
        ("Ready", "False", "InvalidSpec"),
        ("Stalled", "True", "InvalidSpec"),
    ]  # no Healthy: without a valid spec nothing says which syncs are enabled
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


# --- the reasons of Ready, Reconciling and Stalled ------------------------------------------------


@pytest.mark.parametrize(("state", "reason"), [("Progressing", "Progressing"), ("Retrying", "ProgressingWithRetry")])
def test_a_pass_in_progress_says_why_in_ready_and_reconciling(
    state: Literal["Progressing", "Retrying"], reason: str
) -> None:
    status = _build(_observed(), Outcome(state, "creating acme-job-costs"), previous={"observedGeneration": 2})
    assert [c["type"] for c in status["conditions"]] == ["Ready", "Reconciling", "Healthy"]
    conditions = _conditions(status)
    for kind, value in (("Ready", "Unknown"), ("Reconciling", "True")):
        assert conditions[kind]["status"] == value
        assert (conditions[kind]["reason"], conditions[kind]["message"]) == (reason, "creating acme-job-costs")
    # The status stays at the generation last handled; each condition says which generation it speaks of.
    assert status["observedGeneration"] == 2
    assert [c["observedGeneration"] for c in status["conditions"]] == [3, 3, 3]


def test_ready_counts_the_cronjobs_and_names_suspended_and_foreign_ones() -> None:
    suspended = {"frequency": "Hourly", "suspend": True}
    plan = plan_schedule(make_schedule(namespace="erp", syncs={"vendors": suspended, "jobs": suspended}))
    observed = Observed(unmanaged_cron_jobs=["zeta-vendors", "alpha-jobs"])
    status = _build(observed, plan=plan)
    ready = _conditions(status)["Ready"]
    assert (ready["status"], ready["reason"]) == ("True", "Succeeded")
    assert ready["message"] == (
        "4 CronJobs in sync; suspended: vendors, jobs; "
        "left alone (another controller owns them): alpha-jobs, zeta-vendors"
    )
    assert status["unmanagedCronJobs"] == ["alpha-jobs", "zeta-vendors"]
    assert _conditions(_build(_observed()))["Ready"]["message"] == "1 CronJob in sync"


def test_a_handled_sync_now_is_echoed() -> None:
    status = build_status(
        generation=3,
        plan=_plan(),
        observed=_observed(),
        outcome=RECONCILED,
        previous=read_status(None),
        handled_sync_now="token-1",
        now=NOW,
    ).as_json()
    assert status["lastHandledSyncNow"] == "token-1"
    assert "lastHandledSyncNow" not in _build(_observed()) and "unmanagedCronJobs" not in _build(_observed())


# --- nextRunTime: kept while still ahead, recomputed when it passed or the schedule changed ----------

NEXT_AFTER_NOW = "2026-06-01T12:20:00Z"  # CMiC's jobCosts runs at 20 0-23/2 (UTC)


def _previous_job_costs(**changes: str) -> dict[str, Any]:
    job_costs = {"frequency": "Every2Hours", "schedule": "20 0-23/2 * * *", "timeZone": "UTC"}
    job_costs.update(changes)
    return {"syncs": {"jobCosts": job_costs}}


def _next_run(previous: dict[str, Any] | None, cron_status: dict[str, Any] | None = None) -> str:
    observed = _observed()
    observed.cron_jobs["acme-job-costs"]["status"] = cron_status or {}
    next_run: str = _build(observed, previous=previous)["syncs"]["jobCosts"]["nextRunTime"]
    return next_run


def test_next_run_is_computed_from_the_schedule() -> None:
    assert _next_run(None) == NEXT_AFTER_NOW
    assert _next_run(_previous_job_costs()) == NEXT_AFTER_NOW


def test_a_next_run_still_ahead_is_kept() -> None:
    ahead = "2026-06-01T14:20:00Z"
    assert _next_run(_previous_job_costs(nextRunTime=ahead)) == ahead
    ran = {"lastScheduleTime": "2026-06-01T10:20:00Z"}
    assert _next_run(_previous_job_costs(nextRunTime=ahead, lastScheduleTime="2026-06-01T10:20:00Z"), ran) == ahead


@pytest.mark.parametrize(
    ("previous", "cron_status"),
    [
        (_previous_job_costs(nextRunTime="2026-06-01T12:00:00Z"), None),  # due now: passed
        (_previous_job_costs(nextRunTime="2026-06-01T14:20:00Z", schedule="20 1-23/2 * * *"), None),
        (_previous_job_costs(nextRunTime="2026-06-01T14:20:00Z", timeZone="Europe/Paris"), None),
        (_previous_job_costs(nextRunTime="2026-06-01T14:20:00Z"), {"lastScheduleTime": "2026-06-01T12:00:00Z"}),
        (_previous_job_costs(nextRunTime="2026-06-01T14:20:00"), None),  # no offset: not a time
    ],
    ids=["passed", "schedule-changed", "time-zone-changed", "the-cronjob-ran", "unreadable"],
)
def test_a_next_run_is_recomputed(previous: dict[str, Any], cron_status: dict[str, Any] | None) -> None:
    assert _next_run(previous, cron_status) == NEXT_AFTER_NOW


def test_a_suspended_sync_has_no_next_run() -> None:
    plan = plan_schedule(_schedule(suspend=True))
    job_costs = _build(_observed(), plan=plan, previous=_previous_job_costs(nextRunTime="2026-06-01T14:20:00Z"))
    assert job_costs["syncs"]["jobCosts"]["suspended"] is True
    suspended = job_costs["syncs"]["jobCosts"]
    assert "nextRunTime" not in suspended
    assert (suspended["schedule"], suspended["cronJob"]) == ("20 0-23/2 * * *", "acme-job-costs")  # kept, not run


# --- times read from the CronJob's own status ------------------------------------------------------


def test_the_cronjobs_own_schedule_and_success_times_are_shown() -> None:
    observed = _observed(created=NOW - timedelta(days=3))
    observed.cron_jobs["acme-job-costs"]["status"] = {
        "lastScheduleTime": "2026-06-01T10:20:00+00:00",
        "lastSuccessfulTime": "2026-06-01T12:25:00+02:00",  # 10:25 UTC
    }
    status = _build(observed)
    job_costs = status["syncs"]["jobCosts"]
    assert (job_costs["lastScheduleTime"], job_costs["lastSuccessfulTime"]) == (
        "2026-06-01T10:20:00Z",
        "2026-06-01T10:25:00Z",
    )
    assert status["lastSyncTime"] == "2026-06-01T10:25:00Z"
    assert _conditions(status)["Healthy"]["status"] == "True"  # created 3 days ago, but it succeeded recently


def test_the_latest_success_wins_compared_as_times() -> None:
    done = _job(
        "acme-job-costs-1", created=NOW - timedelta(hours=2), condition="Complete", completion=NOW - timedelta(hours=1)
    )
    observed = _observed([done])
    observed.cron_jobs["acme-job-costs"]["status"] = {"lastSuccessfulTime": "2026-06-01T12:30:00+02:00"}
    assert _build(observed)["syncs"]["jobCosts"]["lastSuccessfulTime"] == "2026-06-01T11:00:00Z"
    observed.cron_jobs["acme-job-costs"]["status"] = {
        "lastSuccessfulTime": "2026-06-01T11:30:00Z",
        "lastScheduleTime": "soon",
    }
    job_costs = _build(observed)["syncs"]["jobCosts"]
    assert job_costs["lastSuccessfulTime"] == "2026-06-01T11:30:00Z" and "lastScheduleTime" not in job_costs


# --- Healthy: the overdue grace period, several syncs at once ---------------------------------------

GRACE_END = timedelta(hours=4, minutes=15)  # Every2Hours: two periods and 15 minutes


def test_a_run_is_overdue_only_after_two_periods_and_the_grace() -> None:
    created = NOW - timedelta(days=1)
    healthy = _conditions(_build(_observed(created=created), now=created + GRACE_END))["Healthy"]
    assert (healthy["status"], healthy["reason"]) == ("True", "RunsHealthy")
    assert healthy["message"] == "no enabled sync has a failed or overdue run"
    late = _conditions(_build(_observed(created=created), now=created + GRACE_END + timedelta(seconds=1)))["Healthy"]
    assert (late["status"], late["reason"]) == ("False", "RunOverdue")
    assert late["message"] == "jobCosts: overdue, no successful run for 4h (runs Every2Hours)"


def _generic_world(failed: tuple[str, ...], created: datetime) -> tuple[SchedulePlan, Observed]:
    plan = plan_schedule(make_schedule(namespace="erp", syncs={"vendors": {"frequency": "Hourly", "suspend": True}}))
    observed = Observed()
    for planned in plan.syncs:
        if planned.cron_job_name:
            stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ")
            observed.cron_jobs[planned.cron_job_name] = {
                "metadata": {"name": planned.cron_job_name, "creationTimestamp": stamp}
            }
    for sync in failed:
        observed.jobs_by_sync[sync] = [
            _job(f"{sync.lower()}-1", created=NOW - timedelta(minutes=30), condition="Failed")
        ]
    return plan, observed


def test_two_failing_syncs_are_both_named() -> None:
    plan, observed = _generic_world(("jobs", "jobCosts"), created=NOW - timedelta(hours=1))
    healthy = _conditions(_build(observed, plan=plan))["Healthy"]
    assert (healthy["status"], healthy["reason"]) == ("False", "RunFailed")
    first, second = healthy["message"].split("; ")
    assert first.startswith("jobs: ") and second.startswith("jobCosts: ")


def test_a_failed_run_outweighs_an_overdue_one_and_suspended_syncs_do_not_count() -> None:
    plan, observed = _generic_world(("jobs",), created=NOW - timedelta(days=3))  # every sync is overdue
    healthy = _conditions(_build(observed, plan=plan))["Healthy"]
    assert healthy["reason"] == "RunFailed"
    problems = healthy["message"].split("; ")
    assert [problem.split(":")[0] for problem in problems] == ["jobs", "jobCosts", "invoicePayments"]
    assert problems[1:] == [
        "jobCosts: overdue, no successful run for 72h (runs Every2Hours)",
        "invoicePayments: overdue, no successful run for 72h (runs Daily)",
    ]


def test_a_pod_stuck_creating_is_a_problem_after_five_minutes() -> None:
    job = _job("acme-job-costs-4", created=NOW - timedelta(hours=1), condition=None)
    observed = _observed([job], {"acme-job-costs-4": [_pod("acme-job-costs-4", waiting="ContainerCreating")]})
    healthy = _conditions(_build(observed))["Healthy"]  # the pod was created an hour ago
    assert healthy["status"] == "False"
    assert (
        "pod acme-job-costs-4-x still ContainerCreating after 60m (a missing Secret or ConfigMap?)"
        in healthy["message"]
    )


def test_the_previous_status_is_read_in_the_models_shape() -> None:
    jobs = read_status({"syncs": {"jobs": {"frequency": "Hourly"}}}).as_json()["syncs"]["jobs"]
    assert jobs["frequency"] == "Hourly"
    assert "syncs" not in read_status("not a status").as_json()


# --- the last run never goes backwards: the stored status is part of what exists -------------------
# After a restart the watch cache may hold some of a sync's Jobs and Pods but not all yet, and Jobs
# are removed by history limits and TTL: what the world shows then is less than the stored lastRun.

STORED_JOB = "acme-job-costs-2"
STARTED = NOW - timedelta(minutes=30)
SUMMARY = {"sync": "job-costs", "result": "PartiallyFailed", "read": 10, "created": 7, "failed": 3, "errors": ["e1"]}


def _stored_job(condition: str | None = "Failed") -> dict[str, Any]:
    completion = NOW - timedelta(minutes=20) if condition == "Complete" else None
    return _job(STORED_JOB, created=STARTED, condition=condition, completion=completion)


def _older_job() -> dict[str, Any]:
    return _job(
        "acme-job-costs-1", created=NOW - timedelta(hours=2), condition="Complete", completion=NOW - timedelta(hours=1)
    )


def _not_started(job: dict[str, Any]) -> dict[str, Any]:
    del job["status"]["startTime"]
    return job


def _started_at(job: dict[str, Any], moment: datetime) -> dict[str, Any]:
    job["status"]["startTime"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return job


def _full_world(condition: str) -> Observed:
    summary = SUMMARY if condition == "Failed" else {**SUMMARY, "result": "Succeeded", "failed": 0, "errors": []}
    return _observed([_older_job(), _stored_job(condition)], {STORED_JOB: [_pod(STORED_JOB, summary=summary)]})


PARTIAL_WORLDS = {
    "no-job": lambda condition: _observed([]),
    "an-older-job-only": lambda condition: _observed([_older_job()]),
    "an-older-job-not-started": lambda condition: _observed(
        [_not_started(_job("acme-job-costs-0", created=STARTED - timedelta(minutes=1), condition=None))]
    ),
    "the-job-still-running": lambda condition: _observed([_stored_job(None)]),
    "the-job-without-its-pod": lambda condition: _observed([_older_job(), _stored_job(condition)]),
}


@pytest.mark.parametrize("condition", ["Failed", "Complete"])
@pytest.mark.parametrize("world", PARTIAL_WORLDS.values(), ids=PARTIAL_WORLDS.keys())
def test_a_world_that_shows_less_than_the_stored_last_run_changes_nothing(world: Any, condition: str) -> None:
    first = _build(_full_world(condition))
    assert first["syncs"]["jobCosts"]["lastRun"]["jobName"] == STORED_JOB
    assert first["syncs"]["jobCosts"]["lastRun"]["counts"]["created"] == 7
    # The same run, the same problem in Healthy (same message, same transition time), the same last success.
    assert _build(world(condition), previous=first, now=NOW + timedelta(minutes=1)) == first


def _newer_running(name: str = "acme-job-costs-3") -> dict[str, Any]:
    return _job(name, created=NOW - timedelta(minutes=5), condition=None)


NEWER_WORLDS = {
    "a-newer-job": (lambda: [_newer_running()], "acme-job-costs-3", "Running"),
    "a-newer-job-without-the-stored-one": (lambda: [_older_job(), _newer_running()], "acme-job-costs-3", "Running"),
    "a-newer-job-not-started-yet": (lambda: [_not_started(_newer_running())], "acme-job-costs-3", "Running"),
    "a-newer-job-started-before-the-stored-one": (
        lambda: [_stored_job(), _started_at(_newer_running(), STARTED - timedelta(minutes=1))],
        "acme-job-costs-3",
        "Running",
    ),
    "the-stored-job-finished-with-its-summary": (lambda: [_stored_job("Complete")], STORED_JOB, "Succeeded"),
}


@pytest.mark.parametrize(("jobs", "job_name", "result"), NEWER_WORLDS.values(), ids=NEWER_WORLDS.keys())
def test_a_newer_run_replaces_the_stored_one(jobs: Any, job_name: str, result: str) -> None:
    pods = {STORED_JOB: [_pod(STORED_JOB, summary={**SUMMARY, "result": "Succeeded", "failed": 0})]}
    stored = _build(_observed([_stored_job(None)]))  # the stored run: Running, no counts yet
    assert stored["syncs"]["jobCosts"]["lastRun"]["result"] == "Running"
    run = _build(_observed(jobs(), pods), previous=stored)["syncs"]["jobCosts"]["lastRun"]
    assert (run["jobName"], run["result"]) == (job_name, result)


def test_a_finished_run_with_counts_replaces_one_without() -> None:
    stored = _build(_observed([_stored_job()]))  # the pod not seen yet: Failed, no counts
    assert "counts" not in stored["syncs"]["jobCosts"]["lastRun"]
    run = _build(_full_world("Failed"), previous=stored)["syncs"]["jobCosts"]["lastRun"]
    assert (run["result"], run["counts"]["failed"]) == ("PartiallyFailed", 3)


def test_a_stored_run_without_a_start_time_gives_way_to_the_newest_job() -> None:
    stored = _build(_full_world("Failed"))
    del stored["syncs"]["jobCosts"]["lastRun"]["startTime"]
    run = _build(_observed([_older_job()]), previous=stored)["syncs"]["jobCosts"]["lastRun"]
    assert run["jobName"] == "acme-job-costs-1"


def test_a_restart_on_a_partial_world_reports_no_run_again() -> None:
    stored = read_status(_build(_full_world("Failed")))
    passes = [_observed([]), _observed([_stored_job(None)]), _observed([_stored_job()]), _full_world("Failed")]
    for world in passes:
        status = build_status(
            generation=3,
            plan=_plan(),
            observed=world,
            outcome=RECONCILED,
            previous=stored,
            handled_sync_now=None,
            now=NOW,
        )
        assert finished_runs(stored, status) == []
        stored = status


@pytest.mark.parametrize(
    ("condition", "pods"),
    [
        ("Failed", [_pod(STORED_JOB, summary={**SUMMARY, "errors": ["x" * 5000]})]),
        ("Failed", [_pod(STORED_JOB, waiting="ImagePullBackOff")]),
        ("Complete", [_pod(STORED_JOB, summary=SUMMARY)]),
        (None, [_pod(STORED_JOB, waiting="CreateContainerConfigError")]),
        (None, []),
    ],
    ids=["failed-long-error", "failed-pod-problem", "complete-partially-failed", "running-waiting", "running"],
)
def test_a_run_read_back_from_status_has_the_same_problem(condition: str | None, pods: list[dict[str, Any]]) -> None:
    run = read_run(_stored_job(condition), pods, NOW)
    read_back = Run.from_status(LastRun.model_validate(run.as_status()))  # as status stores it
    assert replace(read_back, counts=None) == replace(run, counts=None)  # the same problem, message, times
    assert RunCounts.model_validate(read_back.counts or {}) == RunCounts.model_validate(run.counts or {})
