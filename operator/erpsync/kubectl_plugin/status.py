"""`kubectl erpsync status`: one row per sync of each schedule, read from the schedule's status (pure).

A status speaks for the generation of the spec in status.observedGeneration. Until the operator has handled
the current generation (kstatus's rule: observedGeneration behind metadata.generation, or not written yet)
the status is stale: what it says is of an older spec, and every row says so.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from erpsync.api.conditions import HEALTHY, READY
from erpsync.api.models import ErpSyncScheduleStatus, LastRun, SyncStatus, read_status
from erpsync.api.vocabulary import SYNC_NAMES
from erpsync.controller.bounds import parse_time, rfc3339


def schedule_status(body: dict[str, Any]) -> ErpSyncScheduleStatus:
    """A schedule's status, read with the operator's model; what has another shape is left out (read_status)."""
    return read_status(body.get("status"))


def condition(body: dict[str, Any], kind: str) -> dict[str, Any] | None:
    """The condition `kind` of a schedule as {status, reason, message}, or None when absent."""
    item = schedule_status(body).condition(kind)
    return {"status": item.status, "reason": item.reason, "message": item.message} if item else None


@dataclass(frozen=True)
class Freshness:
    """Which generation of the spec a schedule is at, and which one its status speaks for."""

    generation: int | None
    observed_generation: int | None  # None: not handled yet (no status, or the CRD's default of -1)

    @property
    def handled(self) -> bool:
        return self.observed_generation is not None

    @property
    def stale(self) -> bool:
        """The status is not (yet) of the current generation."""
        if self.observed_generation is None:
            return True
        return self.generation is not None and self.observed_generation < self.generation

    def as_of(self) -> str:
        """The generation the status is of, as a table cell."""
        if self.observed_generation is None:
            return "- (not handled yet)"
        if self.stale:
            return f"{self.observed_generation} (stale: the spec is at {self.generation})"
        return str(self.observed_generation)

    def lag(self) -> str:
        """Why the status is stale, in a sentence."""
        if self.observed_generation is None:
            return "not handled by the operator yet"
        return (
            f"status is of generation {self.observed_generation}; generation {self.generation} "
            "is not handled by the operator yet"
        )


def freshness(body: dict[str, Any]) -> Freshness:
    generation = (body.get("metadata") or {}).get("generation")
    observed = schedule_status(body).observed_generation  # -1 when there is no status: the CRD's default
    return Freshness(
        generation if isinstance(generation, int) and not isinstance(generation, bool) else None,
        observed if observed >= 0 else None,
    )


def ready_text(body: dict[str, Any]) -> str:
    """The READY cell: the Ready condition, or Unknown while it speaks of an older generation than the spec's."""
    ready, fresh = schedule_status(body).condition(READY), freshness(body)
    if ready is None:
        return "-"
    # The operator may have written conditions of the new generation (Reconciling, a 403) before handling it.
    of_current = fresh.generation is None or (ready.observed_generation or 0) >= fresh.generation
    if fresh.stale and not of_current:
        return f"Unknown (generation {fresh.generation} not yet seen)"
    return condition_text(condition(body, READY))


def health_message(body: dict[str, Any]) -> str:
    """The MESSAGE cell: Ready's message (and Healthy's when not True), after a word on a stale status."""
    ready, healthy = condition(body, READY), condition(body, HEALTHY)
    fresh = freshness(body)
    messages = [str(ready.get("message") or "")] if ready else []
    if healthy and healthy.get("status") != "True" and healthy.get("message"):
        messages.append(str(healthy["message"]))
    said = "; ".join(message for message in messages if message)
    if not fresh.stale:
        return said or "-"
    if not fresh.handled:
        return fresh.lag()
    last = f"last Ready {condition_text(ready)}" + (f": {said}" if said else "") if ready else ""
    return "; ".join(part for part in (fresh.lag(), last) if part)


def status_rows(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of one schedule: one per sync in its status, or one empty row before the operator wrote any."""
    metadata = body["metadata"]
    status = schedule_status(body)
    fresh = freshness(body)
    common = {
        "namespace": metadata.get("namespace"),
        "schedule": metadata["name"],
        "generation": fresh.generation,
        "observedGeneration": fresh.observed_generation,
        "stale": fresh.stale,
    }
    conditions = {"ready": condition(body, READY), "healthy": condition(body, HEALTHY)}
    syncs = [(name, sync) for name in SYNC_NAMES if status.syncs and (sync := status.syncs.get(name))]
    if not syncs:
        return [
            {
                **common,
                "sync": None,
                "frequency": None,
                "cronSchedule": None,
                "cronJob": None,
                "timeZone": None,
                "suspended": bool((body.get("spec") or {}).get("suspend", False)),
                "lastRun": None,
                "lastSuccessfulTime": None,
                "nextRunTime": None,
                **conditions,
            }
        ]
    return [{**common, **_sync_row(name, sync), **conditions} for name, sync in syncs]


def _sync_row(name: str, sync: SyncStatus) -> dict[str, Any]:
    return {
        "sync": name,
        "frequency": sync.frequency,
        "cronSchedule": sync.schedule,
        "cronJob": sync.cron_job,
        "timeZone": sync.time_zone,
        "suspended": sync.suspended,
        "lastRun": _run_row(sync.last_run) if sync.last_run else None,
        "lastSuccessfulTime": rfc3339(sync.last_successful_time),
        "nextRunTime": rfc3339(sync.next_run_time),
    }


def _run_row(run: LastRun) -> dict[str, Any]:
    return {
        "job": run.job_name,
        "trigger": run.trigger,
        "result": run.result,
        "startTime": rfc3339(run.start_time),
        "completionTime": rfc3339(run.completion_time),
    }


def human_duration(delta: timedelta) -> str:
    """A short duration, as kubectl shows ages: 45s, 12m, 5h, 3d."""
    seconds = abs(int(delta.total_seconds()))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 120 * 60:
        return f"{seconds // 60}m"
    if seconds < 48 * 3600:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def ago(value: str | None, now: datetime) -> str:
    moment = parse_time(value)
    return f"{human_duration(now - moment)} ago" if moment else "-"


def next_run(value: str | None, time_zone: str | None, now: datetime) -> str:
    """The next run in the schedule's own time zone (as `erp-sync plan` shows it) and how far ahead."""
    moment = parse_time(value)
    if moment is None:
        return "-"
    try:
        local = moment.astimezone(ZoneInfo(time_zone)) if time_zone else moment
    except (ZoneInfoNotFoundError, ValueError):
        local = moment
    delta = moment - now
    when = f"in {human_duration(delta)}" if delta.total_seconds() >= 0 else f"{human_duration(delta)} overdue"
    return f"{local.isoformat()} ({when})"


def condition_text(item: dict[str, Any] | None) -> str:
    if item is None:
        return "-"
    return f"{item['status']} ({item['reason']})" if item.get("reason") else str(item["status"])
