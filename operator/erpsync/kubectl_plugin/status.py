"""`kubectl erpsync status`: one row per sync of each schedule, read from the schedule's status (pure)."""

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from erpsync.api.vocabulary import SYNC_NAMES
from erpsync.controller.bounds import parse_time


def condition(body: dict[str, Any], kind: str) -> dict[str, Any] | None:
    """The condition `kind` of a schedule as {status, reason, message}, or None when absent."""
    for item in (body.get("status") or {}).get("conditions") or []:
        if item.get("type") == kind:
            return {key: item.get(key) for key in ("status", "reason", "message")}
    return None


def status_rows(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of one schedule: one per sync in its status, or one empty row before the operator wrote any."""
    metadata = body["metadata"]
    status = body.get("status") or {}
    syncs: dict[str, Any] = status.get("syncs") or {}
    common = {"namespace": metadata.get("namespace"), "schedule": metadata["name"]}
    conditions = {"ready": condition(body, "Ready"), "healthy": condition(body, "Healthy")}
    names = [name for name in SYNC_NAMES if name in syncs] + sorted(set(syncs) - set(SYNC_NAMES))
    if not names:
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
    rows = []
    for name in names:
        sync = syncs[name] or {}
        run = sync.get("lastRun")
        rows.append(
            {
                **common,
                "sync": name,
                "frequency": sync.get("frequency"),
                "cronSchedule": sync.get("schedule"),
                "timeZone": sync.get("timeZone"),
                "suspended": bool(sync.get("suspended", False)),
                "lastRun": {
                    "job": run.get("jobName"),
                    "trigger": run.get("trigger"),
                    "result": run.get("result"),
                    "startTime": run.get("startTime"),
                    "completionTime": run.get("completionTime"),
                }
                if run
                else None,
                "nextRunTime": sync.get("nextRunTime"),
                **conditions,
            }
        )
    return rows


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
