"""`kubectl erpsync status`: one row per sync of each schedule, read from the schedule's status (pure)."""

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


def status_rows(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of one schedule: one per sync in its status, or one empty row before the operator wrote any."""
    metadata = body["metadata"]
    status = schedule_status(body)
    common = {"namespace": metadata.get("namespace"), "schedule": metadata["name"]}
    conditions = {"ready": condition(body, READY), "healthy": condition(body, HEALTHY)}
    syncs = [(name, sync) for name in SYNC_NAMES if status.syncs and (sync := status.syncs.get(name))]
    if not syncs:
        return [
            {
                **common,
                "sync": None,
                "frequency": None,
                "cronSchedule": None,
                "timeZone": None,
                "suspended": bool((body.get("spec") or {}).get("suspend", False)),
                "lastRun": None,
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
        "timeZone": sync.time_zone,
        "suspended": sync.suspended,
        "lastRun": _run_row(sync.last_run) if sync.last_run else None,
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
