"""Sync now: the `erpsync.io/sync-now` annotation starts one Job per requested sync (pure parts).

The Jobs are built from the same template as the CronJobs, owned by the schedule, and named
from schedule, sync and token, so a retry after a crash meets a 409 instead of a second Job.

A handled token is echoed in status.lastHandledSyncNow, which the CRD bounds (maxLength) while
an annotation is not. A longer token is echoed in a bounded form instead (`echoed_token`), and a
request is pending while the bounded form of its token differs from the echo: the form is the same
in every process, so a restart replays nothing, and it ends in a hash of the whole token, so a new
token that starts as the last one did is still a new request.

The webhook receiver (erpsync.receiver) starts a run for a Procore ERP Request with the token
`erp-request-<id>`: the token alone carries the request's id to the worker (ERPSYNC_ERP_REQUEST_ID), so the
Job's name and the id it works on cannot disagree.
"""

import re
from dataclasses import dataclass
from typing import Any, Final

from erpsync.api.models import ErpSyncSchedule, ErpSyncScheduleStatus
from erpsync.api.profiles import MODES, PROFILES
from erpsync.api.vocabulary import SYNC_NAMES, SyncName
from erpsync.controller.bounds import TRUNCATED, max_length
from erpsync.planning.cron import interval
from erpsync.planning.cronjobs import (
    BUILT_IN_WORKER_DEFAULTS,
    LABEL_TRIGGER,
    WorkerDefaults,
    build_job_template,
    labels,
)
from erpsync.planning.names import on_demand_job_name, stable_hash

SYNC_NOW_ANNOTATION: Final = "erpsync.io/sync-now"
SYNC_NOW_SYNCS_ANNOTATION: Final = "erpsync.io/sync-now-syncs"
ON_DEMAND_DEADLINE_SECONDS: Final = 6 * 3600  # an on-demand run of a Never sync has no interval to bound it
ECHO_LIMIT: Final = max_length(ErpSyncScheduleStatus, "last_handled_sync_now")
_ECHO_HASH_LENGTH: Final = 16  # 64 bits: two tokens an operator is ever sent do not share it
ERP_REQUEST_TOKEN_PREFIX: Final = "erp-request-"
ERP_REQUEST_ID_ENV: Final = "ERPSYNC_ERP_REQUEST_ID"
_ERP_REQUEST_TOKEN: Final = re.compile(re.escape(ERP_REQUEST_TOKEN_PREFIX) + r"([1-9][0-9]{0,18})")


def erp_request_token(request_id: int) -> str:
    """The sync-now token of the run started for the ERP Request `request_id`."""
    return f"{ERP_REQUEST_TOKEN_PREFIX}{request_id}"


def erp_request_of(token: str) -> str | None:
    """The ERP Request id a token was written for (`erp_request_token`), else None."""
    match = _ERP_REQUEST_TOKEN.fullmatch(token)
    return match.group(1) if match else None


def echoed_token(token: str) -> str:
    """What status.lastHandledSyncNow holds once `token` is handled: the token itself when it fits,
    otherwise its start, a truncation marker and a hash of the whole token (exactly ECHO_LIMIT long)."""
    if len(token) <= ECHO_LIMIT:
        return token
    ending = f"{TRUNCATED} sha256:{stable_hash(token)[:_ECHO_HASH_LENGTH]}"
    return token[: ECHO_LIMIT - len(ending)] + ending


@dataclass(frozen=True)
class SyncNowRequest:
    token: str
    syncs: tuple[SyncName, ...]
    refused: tuple[str, ...]  # names that are not syncs of this schedule's profile


def pending_request(
    annotations: dict[str, str], handled: str | None, schedule: ErpSyncSchedule
) -> SyncNowRequest | None:
    """The sync-now request waiting to be handled, if any."""
    token = annotations.get(SYNC_NOW_ANNOTATION, "").strip()
    if not token or echoed_token(token) == handled:
        return None
    spec = schedule.spec
    chosen = annotations.get(SYNC_NOW_SYNCS_ANNOTATION, "").strip()
    if not chosen:
        syncs = tuple(sync for sync in SYNC_NAMES if spec.effective_frequency(sync) != "Never")
        return SyncNowRequest(token, syncs, ())
    wanted = [name.strip() for name in chosen.split(",") if name.strip()]
    accepted = tuple(sync for sync in runnable_syncs(schedule) if sync in wanted)
    refused = tuple(name for name in wanted if name not in accepted)
    return SyncNowRequest(token, accepted, refused)


def runnable_syncs(schedule: ErpSyncSchedule) -> tuple[SyncName, ...]:
    """The syncs a run can be started for: offered by the ERP profile and possible in the Procore mode."""
    spec = schedule.spec
    impossible = MODES[spec.procore.mode].impossible
    return tuple(sync for sync in SYNC_NAMES if sync not in PROFILES[spec.erp].unavailable and sync not in impossible)


def refusal(schedule: ErpSyncSchedule, refused: tuple[str, ...]) -> str:
    """Why a sync-now request names syncs that cannot run: the profile does not offer them, or the mode."""
    spec = schedule.spec
    by_mode = [name for name in refused if name in MODES[spec.procore.mode].impossible]
    by_profile = [name for name in refused if name not in by_mode]
    reasons = [f"{', '.join(by_profile)} not offered by {spec.erp}"] if by_profile else []
    if by_mode:
        reasons.append(f"{', '.join(by_mode)} not possible in {spec.procore.mode} mode")
    return f"{'; '.join(reasons)}; allowed: {', '.join(runnable_syncs(schedule))}"


def build_sync_now_job(
    schedule: ErpSyncSchedule,
    sync: SyncName,
    token: str,
    owner: dict[str, Any],
    defaults: WorkerDefaults = BUILT_IN_WORKER_DEFAULTS,
) -> dict[str, Any]:
    """The Job that runs `sync` once for the sync-now request `token`."""
    spec = schedule.spec
    name = schedule.metadata.name
    period = interval(spec.effective_frequency(sync))
    deadline = int(period.total_seconds()) if period else ON_DEMAND_DEADLINE_SECONDS
    template = build_job_template(spec, name, sync, defaults, deadline)
    if (request_id := erp_request_of(token)) is not None:
        container = template["template"]["spec"]["containers"][0]
        container["env"] = [*container["env"], {"name": ERP_REQUEST_ID_ENV, "value": request_id}]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": on_demand_job_name(name, sync, token),
            "namespace": schedule.metadata.namespace,
            "labels": {**labels(name, sync), LABEL_TRIGGER: "OnDemand"},
            "annotations": {SYNC_NOW_ANNOTATION: token[:253]},
            "ownerReferences": [owner],
        },
        "spec": template,
    }
