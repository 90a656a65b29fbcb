"""The status of an ErpSyncSchedule, rebuilt from the world on every pass (a pure function).

Inputs are what exists (CronJobs, Jobs, Pods), the plan, and how the pass went; the previous
status is read only to keep what must not move by itself: lastTransitionTime of unchanged
conditions, a next-run time that is still ahead, the last handled sync-now token, a sync's last
run and last success, which never go backwards (runs.known_run: the watch cache may not hold every
Job yet, and Jobs are removed by history limits and TTL), and a sync's run history and its counters
since creation, advanced once per finished Job (runs.run_history, runs.advance_totals).

Every value is bounded by the CRD's schema of status (bounds.py) before it is returned as the model the
CRD is generated from (ErpSyncScheduleStatus): the API server refuses a whole status patch for one
value that breaks it.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from erpsync.api.conditions import (
    FORBIDDEN,
    HEALTHY,
    INVALID_SPEC,
    PROGRESSING,
    PROGRESSING_WITH_RETRY,
    READY,
    RECONCILING,
    RUN_FAILED,
    RUN_OVERDUE,
    RUNS_HEALTHY,
    STALLED,
    SUCCEEDED,
)
from erpsync.api.models import DEFAULT_RUN_HISTORY, ErpSyncScheduleStatus, SyncStatus
from erpsync.api.vocabulary import SYNC_NAMES
from erpsync.controller.bounds import bounded_status, parse_time, rfc3339, timestamp
from erpsync.controller.conditions import Condition, merge_conditions
from erpsync.controller.observed import Observed
from erpsync.controller.runs import Run, advance_totals, known_run, last_success, run_history
from erpsync.controller.sync_now import echoed_token
from erpsync.planning.cron import interval, next_runs
from erpsync.planning.plan import PlannedSync, SchedulePlan

OVERDUE_GRACE: Final = timedelta(minutes=15)


@dataclass(frozen=True)
class Outcome:
    """How a reconcile pass went. Forbidden: the API server refused the operator a call it needs (403); the
    pass is retried, but retrying alone cannot fix it, so it stalls the schedule until the permission is back."""

    state: Literal["Reconciled", "Progressing", "Retrying", "Stalled", "Forbidden"]
    message: str = ""


def _sync_status(
    planned: PlannedSync, observed: Observed, previous: SyncStatus | None, now: datetime, history_limit: int
) -> tuple[dict[str, Any], Run | None]:
    jobs = observed.jobs_by_sync.get(planned.sync, [])
    run = known_run(jobs, observed.pods_by_job, previous.last_run if previous else None, now)
    cron_job = observed.cron_jobs.get(planned.cron_job_name or "") if planned.cron_job_name else None
    cron_status = _cron_job_times((cron_job or {}).get("status") or {})
    status: dict[str, Any] = {
        "frequency": planned.frequency,
        "runOn": planned.run_on,
        "timeZone": planned.time_zone,
        "suspended": _suspended_in_effect(planned, cron_job),
    }
    if planned.suspended_by:
        status["suspendedBy"] = list(planned.suspended_by)
    if planned.schedule:
        status["schedule"] = planned.schedule
        status["cronJob"] = planned.cron_job_name
        next_run = _next_run(planned, previous, cron_status, now)
        if next_run:
            status["nextRunTime"] = next_run
    status.update(cron_status)
    # The stored time too: the Jobs that show it may be gone (history limits, TTL) or not seen yet.
    success = _latest(
        cron_status.get("lastSuccessfulTime"), last_success(jobs), previous.last_successful_time if previous else None
    )
    if success:
        status["lastSuccessfulTime"] = success
    if run:
        status["lastRun"] = run.as_status()
    stored_history = (previous.history if previous else None) or []
    history = run_history(jobs, observed.pods_by_job, stored_history, now)
    if history[:history_limit]:
        status["history"] = [entry.as_history_status() for entry in history[:history_limit]]
    totals = advance_totals(previous.runs if previous else None, stored_history, history)
    if any(totals.values()):
        status["runs"] = totals
    return status, run


def _suspended_in_effect(planned: PlannedSync, cron_job: dict[str, Any] | None) -> bool:
    """What took effect: the CronJob's own suspend flag (a patch that failed leaves it as it was), the plan's
    when there is no CronJob to carry one (Never, or not created yet)."""
    flag = ((cron_job or {}).get("spec") or {}).get("suspend")
    return flag if isinstance(flag, bool) else planned.suspended


def _cron_job_times(cron_status: dict[str, Any]) -> dict[str, str]:
    """The CronJob's lastScheduleTime and lastSuccessfulTime, as RFC 3339 (a time that is not one is left out)."""
    times = {key: rfc3339(cron_status.get(key)) for key in ("lastScheduleTime", "lastSuccessfulTime")}
    return {key: time for key, time in times.items() if time}


def _moments(times: Iterable[object]) -> list[datetime]:
    """The times that are RFC 3339, as times (compared as times rather than as text)."""
    return [moment for moment in map(parse_time, map(rfc3339, times)) if moment is not None]


def _latest(*times: object) -> str | None:
    """The latest of the times; None when none is RFC 3339."""
    moments = _moments(times)
    return timestamp(max(moments)) if moments else None


def _earliest(times: Iterable[object]) -> str | None:
    """The earliest of the times (suspended syncs have none); None when none is RFC 3339."""
    moments = _moments(times)
    return timestamp(min(moments)) if moments else None


def suspended_column(syncs: dict[str, Any]) -> str:
    """status.suspended, for `kubectl get`: "false", "true", or the suspended syncs' names ("vendors,jobs").

    Of the syncs that are scheduled (a Never sync runs on demand only, suspended or not); a schedule
    without one reads "true" only when all its syncs are suspended (spec.suspend)."""
    entries = {name: sync for name, sync in syncs.items() if isinstance(sync, dict)}
    scheduled = {name: sync for name, sync in entries.items() if sync.get("schedule")} or entries
    suspended = [name for name, sync in scheduled.items() if sync.get("suspended") is True]
    if not suspended:
        return "false"
    if len(suspended) == len(scheduled):
        return "true"
    return ",".join(suspended)


def _next_run(
    planned: PlannedSync, previous: SyncStatus | None, cron_status: dict[str, Any], now: datetime
) -> str | None:
    if planned.suspended or not planned.schedule:
        return None
    if previous is None:
        kept = kept_time = None
    else:
        kept = rfc3339(previous.next_run_time)  # None for a time without an offset
        kept_time = parse_time(kept)
    unchanged = (
        previous is not None
        and previous.schedule == planned.schedule
        and previous.time_zone == planned.time_zone
        and rfc3339(previous.last_schedule_time) == cron_status.get("lastScheduleTime")
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
        reason = RUN_FAILED if any(": overdue" not in problem for problem in problems) else RUN_OVERDUE
        return Condition(HEALTHY, "False", reason, "; ".join(problems))
    return Condition(HEALTHY, "True", RUNS_HEALTHY, "no enabled sync has a failed or overdue run")


_HOUR: Final = timedelta(hours=1)


def next_status_change(
    plan: SchedulePlan | None, status: ErpSyncScheduleStatus, observed: Observed, now: datetime
) -> datetime | None:
    """The earliest moment at which build_status, given the same world, may build another status than
    `status` (built at `now`): a next-run time that passes, a sync that turns overdue or whose overdue
    message counts one more hour. None when the clock may change it at any moment (a Pod waiting to start
    is called stuck after a while): no moment to rely on. A moment too early only costs a pass."""
    if plan is None:
        return datetime.max.replace(tzinfo=now.tzinfo)  # Stalled: nothing in it moves with the clock
    for pods in observed.pods_by_job.values():
        for pod in pods:
            for container in pod.get("status", {}).get("containerStatuses") or []:
                if container.get("state", {}).get("waiting"):
                    return None
    moments: list[datetime] = []
    syncs = status.syncs
    for planned in plan.syncs:
        entry = syncs.get(planned.sync) if syncs else None
        next_run = parse_time(entry.next_run_time) if entry else None
        if next_run:
            moments.append(next_run)
        period = interval(planned.frequency)
        if not planned.schedule or planned.suspended or not period:
            continue
        cron_job = observed.cron_jobs.get(planned.cron_job_name or "")
        since = parse_time(entry.last_successful_time if entry else None) or parse_time(
            (cron_job or {}).get("metadata", {}).get("creationTimestamp")
        )
        if since is None:
            continue
        overdue = since + 2 * period + OVERDUE_GRACE
        # Overdue: its message counts the hours since the last success (_health). Overdue only once past
        # that moment (_health compares with >), so a moment equal to now is still ahead.
        moments.append(overdue if overdue >= now else since + ((now - since) // _HOUR + 1) * _HOUR)
    return min(moments, default=datetime.max.replace(tzinfo=now.tzinfo))


def build_status(
    *,
    generation: int,
    plan: SchedulePlan | None,
    observed: Observed,
    outcome: Outcome,
    previous: ErpSyncScheduleStatus,
    handled_sync_now: str | None,
    now: datetime,
    run_history: int = DEFAULT_RUN_HISTORY,
) -> ErpSyncScheduleStatus:
    """The status to write. `plan` is None when the current generation is invalid (Stalled). `previous`
    is the stored status as read_status reads it; `run_history` is how many runs each sync's history keeps."""
    previous_syncs = previous.syncs
    syncs: dict[str, Any] = {}
    runs: dict[str, Run | None] = {}
    if plan is not None:
        for planned in plan.syncs:
            previous_sync = previous_syncs.get(planned.sync) if previous_syncs else None
            syncs[planned.sync], runs[planned.sync] = _sync_status(planned, observed, previous_sync, now, run_history)
    elif previous_syncs is not None:
        syncs = {name: value for name, value in previous_syncs.as_json().items() if name in SYNC_NAMES}
    conditions = _conditions(plan, observed, outcome, syncs, runs, now)
    # Forbidden counts as handled, as Stalled does: kstatus reads a Stalled schedule as Failed only for the
    # observed generation, and a missing permission is as final as an invalid spec until someone acts.
    handled = ("Reconciled", "Stalled", "Forbidden")
    handled_generation = generation if outcome.state in handled else previous.observed_generation
    status: dict[str, Any] = {
        "observedGeneration": handled_generation,
        "conditions": merge_conditions(previous.conditions, conditions, generation, now),
        "syncs": syncs,
    }
    last_sync = _latest(*(sync.get("lastSuccessfulTime") for sync in syncs.values() if isinstance(sync, dict)))
    if last_sync:
        status["lastSyncTime"] = last_sync
    next_sync = _earliest(sync.get("nextRunTime") for sync in syncs.values() if isinstance(sync, dict))
    if next_sync:
        status["nextSyncTime"] = next_sync
    if syncs:
        status["suspended"] = suspended_column(syncs)
    if handled_sync_now:
        status["lastHandledSyncNow"] = echoed_token(handled_sync_now)
    if observed.unmanaged_cron_jobs:
        # More than the CRD's maxItems are cut by bounded_status; the Ready message names them all.
        status["unmanagedCronJobs"] = sorted(observed.unmanaged_cron_jobs)
    return ErpSyncScheduleStatus.model_validate(bounded_status(status))


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
            Condition(READY, "False", INVALID_SPEC, outcome.message),
            Condition(STALLED, "True", INVALID_SPEC, outcome.message),
        ]
    elif outcome.state == "Forbidden":
        conditions += [
            Condition(READY, "False", FORBIDDEN, outcome.message),
            Condition(STALLED, "True", FORBIDDEN, outcome.message),
        ]
    elif outcome.state in ("Progressing", "Retrying"):
        reason = PROGRESSING if outcome.state == "Progressing" else PROGRESSING_WITH_RETRY
        conditions += [
            Condition(READY, "Unknown", reason, outcome.message),
            Condition(RECONCILING, "True", reason, outcome.message),
        ]
    else:
        conditions.append(Condition(READY, "True", SUCCEEDED, _ready_message(plan, observed)))
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
