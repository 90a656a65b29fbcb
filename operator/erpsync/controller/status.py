"""The status of an ErpSyncSchedule, rebuilt from the world on every pass (a pure function).

Inputs are what exists (CronJobs, Jobs, Pods), the plan, and how the pass went; the previous
status is read only to keep what must not move by itself: lastTransitionTime of unchanged
conditions, a next-run time that is still ahead, and the last handled sync-now token.

Every value is bounded by the CRD's schema of status before it is returned (bounds.py): the API
server refuses a whole status patch for one value that breaks it.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from erpsync.api.vocabulary import SYNC_NAMES
from erpsync.controller.bounds import bounded_status, parse_time, rfc3339, timestamp
from erpsync.controller.conditions import (
    HEALTHY,
    READY,
    RECONCILING,
    STALLED,
    Condition,
    merge_conditions,
)
from erpsync.controller.runs import Run, last_success, latest_run
from erpsync.controller.sync_now import echoed_token
from erpsync.planning.cron import interval, next_runs
from erpsync.planning.plan import PlannedSync, SchedulePlan

OVERDUE_GRACE: Final = timedelta(minutes=15)


@dataclass(frozen=True)
class Outcome:
    """How a reconcile pass went."""

    state: Literal["Reconciled", "Progressing", "Retrying", "Stalled"]
    message: str = ""


@dataclass
class Observed:
    """What exists for one schedule."""

    cron_jobs: dict[str, dict[str, Any]] = field(default_factory=dict)  # managed, by name
    unmanaged_cron_jobs: list[str] = field(default_factory=list)
    jobs_by_sync: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    pods_by_job: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def previous_status(raw: object) -> dict[str, Any]:
    """The previous status in the shape this module reads; what has another shape is left out, to be rebuilt.

    The CRD's schema makes status an object with `syncs` an object of objects, but a status can be
    written around it (another client before the schema was applied, a schema-less restore): one
    `syncs` list or string condition must not crash every pass, forever. Kept: `syncs` entries that are
    objects (their `lastRun` only if an object), conditions that are objects, an integer
    observedGeneration, a string lastHandledSyncNow; other keys as they are.
    """
    if not isinstance(raw, dict):
        return {}
    status = dict(raw)
    syncs = status.pop("syncs", None)
    if isinstance(syncs, dict):
        status["syncs"] = {
            name: _previous_sync(entry)
            for name, entry in syncs.items()
            if isinstance(name, str) and isinstance(entry, dict)
        }
    conditions = status.pop("conditions", None)
    if isinstance(conditions, list):
        status["conditions"] = [condition for condition in conditions if isinstance(condition, dict)]
    generation = status.pop("observedGeneration", None)
    if isinstance(generation, int) and not isinstance(generation, bool):
        status["observedGeneration"] = generation
    handled = status.pop("lastHandledSyncNow", None)
    if isinstance(handled, str):
        status["lastHandledSyncNow"] = handled
    return status


def _previous_sync(entry: dict[str, Any]) -> dict[str, Any]:
    sync = dict(entry)
    if not isinstance(sync.get("lastRun"), dict):
        sync.pop("lastRun", None)
    return sync


def _sync_status(
    planned: PlannedSync, observed: Observed, previous: dict[str, Any], now: datetime
) -> tuple[dict[str, Any], Run | None]:
    jobs = observed.jobs_by_sync.get(planned.sync, [])
    run = latest_run(jobs, observed.pods_by_job, now)
    cron_job = observed.cron_jobs.get(planned.cron_job_name or "") if planned.cron_job_name else None
    cron_status = _cron_job_times((cron_job or {}).get("status") or {})
    status: dict[str, Any] = {
        "frequency": planned.frequency,
        "timeZone": planned.time_zone,
        "suspended": planned.suspended,
    }
    if planned.schedule:
        status["schedule"] = planned.schedule
        status["cronJob"] = planned.cron_job_name
        next_run = _next_run(planned, previous, cron_status, now)
        if next_run:
            status["nextRunTime"] = next_run
    status.update(cron_status)
    success = _latest(cron_status.get("lastSuccessfulTime"), last_success(jobs))
    if success:
        status["lastSuccessfulTime"] = success
    if run:
        status["lastRun"] = run.as_status()
    return status, run


def _cron_job_times(cron_status: dict[str, Any]) -> dict[str, str]:
    """The CronJob's lastScheduleTime and lastSuccessfulTime, as RFC 3339 (a time that is not one is left out)."""
    times = {key: rfc3339(cron_status.get(key)) for key in ("lastScheduleTime", "lastSuccessfulTime")}
    return {key: time for key, time in times.items() if time}


def _latest(*times: object) -> str | None:
    """The latest of the times, compared as times rather than as text; None when none is RFC 3339."""
    moments = [moment for moment in map(parse_time, map(rfc3339, times)) if moment is not None]
    return timestamp(max(moments)) if moments else None


def _next_run(planned: PlannedSync, previous: dict[str, Any], cron_status: dict[str, Any], now: datetime) -> str | None:
    if planned.suspended or not planned.schedule:
        return None
    kept = rfc3339(previous.get("nextRunTime"))  # the previous status is not trusted to hold a time
    kept_time = parse_time(kept)
    unchanged = (
        previous.get("schedule") == planned.schedule
        and previous.get("timeZone") == planned.time_zone
        and rfc3339(previous.get("lastScheduleTime")) == cron_status.get("lastScheduleTime")
    )
    if kept and kept_time and unchanged and kept_time > now:
        return kept  # still ahead: not refreshed by the clock alone
    runs = next_runs(planned.schedule, planned.time_zone, now, 1)
    return timestamp(runs[0]) if runs else None


def _health(
    plan_syncs: tuple[PlannedSync, ...],
    statuses: dict[str, dict[str, Any]],
    runs: dict[str, Run | None],
    observed: Observed,
    now: datetime,
) -> Condition:
    problems: list[str] = []
    for planned in plan_syncs:
        if not planned.schedule or planned.suspended:
            continue  # only enabled syncs count
        run = runs.get(planned.sync)
        if run and run.problem:
            problems.append(f"{planned.sync}: {run.problem}")
            continue
        period = interval(planned.frequency)
        cron_job = observed.cron_jobs.get(planned.cron_job_name or "")
        since = parse_time(statuses[planned.sync].get("lastSuccessfulTime")) or parse_time(
            (cron_job or {}).get("metadata", {}).get("creationTimestamp")
        )
        if period and since and now - since > 2 * period + OVERDUE_GRACE:
            hours = int((now - since).total_seconds() // 3600)
            problems.append(f"{planned.sync}: overdue, no successful run for {hours}h (runs {planned.frequency})")
    if problems:
        reason = "RunFailed" if any(": overdue" not in problem for problem in problems) else "RunOverdue"
        return Condition(HEALTHY, "False", reason, "; ".join(problems))
    return Condition(HEALTHY, "True", "RunsHealthy", "no enabled sync has a failed or overdue run")


def build_status(
    *,
    generation: int,
    plan: SchedulePlan | None,
    observed: Observed,
    outcome: Outcome,
    previous: dict[str, Any],
    handled_sync_now: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The status to write. `plan` is None when the current generation is invalid (Stalled). `previous`
    may have any shape (previous_status)."""
    previous = previous_status(previous)
    previous_syncs: dict[str, Any] = previous.get("syncs") or {}
    syncs: dict[str, Any] = {}
    runs: dict[str, Run | None] = {}
    if plan is not None:
        for planned in plan.syncs:
            syncs[planned.sync], runs[planned.sync] = _sync_status(
                planned, observed, previous_syncs.get(planned.sync) or {}, now
            )
    else:
        syncs = {name: value for name, value in previous_syncs.items() if name in SYNC_NAMES}
    conditions = _conditions(plan, observed, outcome, syncs, runs, now)
    handled_generation = (
        generation if outcome.state in ("Reconciled", "Stalled") else int(previous.get("observedGeneration", -1))
    )
    status: dict[str, Any] = {
        "observedGeneration": handled_generation,
        "conditions": merge_conditions(previous.get("conditions") or [], conditions, generation, now),
        "syncs": syncs,
    }
    last_sync = _latest(*(sync.get("lastSuccessfulTime") for sync in syncs.values() if isinstance(sync, dict)))
    if last_sync:
        status["lastSyncTime"] = last_sync
    if handled_sync_now:
        status["lastHandledSyncNow"] = echoed_token(handled_sync_now)
    if observed.unmanaged_cron_jobs:
        # More than the CRD's maxItems are cut by bounded_status; the Ready message names them all.
        status["unmanagedCronJobs"] = sorted(observed.unmanaged_cron_jobs)
    return bounded_status(status)


def _conditions(
    plan: SchedulePlan | None,
    observed: Observed,
    outcome: Outcome,
    syncs: dict[str, Any],
    runs: dict[str, Run | None],
    now: datetime,
) -> list[Condition]:
    conditions: list[Condition] = []
    if outcome.state == "Stalled":
        conditions += [
            Condition(READY, "False", "InvalidSpec", outcome.message),
            Condition(STALLED, "True", "InvalidSpec", outcome.message),
        ]
    elif outcome.state in ("Progressing", "Retrying"):
        reason = "Progressing" if outcome.state == "Progressing" else "ProgressingWithRetry"
        conditions += [
            Condition(READY, "Unknown", reason, outcome.message),
            Condition(RECONCILING, "True", reason, outcome.message),
        ]
    else:
        conditions.append(Condition(READY, "True", "Succeeded", _ready_message(plan, observed)))
    if plan is not None:
        conditions.append(_health(plan.syncs, syncs, runs, observed, now))
    return conditions


def _ready_message(plan: SchedulePlan | None, observed: Observed) -> str:
    scheduled = [p for p in plan.syncs if p.schedule] if plan else []
    message = f"{len(scheduled)} CronJob{'s' if len(scheduled) != 1 else ''} in sync"
    suspended = [p.sync for p in scheduled if p.suspended]
    if suspended:
        message += f"; suspended: {', '.join(suspended)}"
    if observed.unmanaged_cron_jobs:
        message += f"; left alone (another controller owns them): {', '.join(sorted(observed.unmanaged_cron_jobs))}"
    return message
