"""What a webhook delivery asks for (pure): the delivery read with bounds, and the syncs it starts where.

Procore's body names the company and the ERP Request (`resource_id`), never the request's event (reference
§1.2): the event is in the request. The receiver reads it from Procore when it has a credential
(procore_requests.py) and starts the one sync `EVENT_SYNCS` gives it; a body that names the event
(`request_name`) needs no read. Without the event (no credential, or the read failed) a delivery starts every
sync of the company's schedules that runs on ERP Requests, and the worker of each sync the request is not for
leaves it alone.
"""

import json
from dataclasses import dataclass
from typing import Any, Final

from erpsync.api.profiles import PROFILES
from erpsync.api.validation import validate_object
from erpsync.api.vocabulary import SYNC_NAMES, RunOn, SyncName

MAX_BODY_BYTES: Final = 64 * 1024  # Procore's bodies are well under 1 KiB
MAX_DEPTH: Final = 8  # the v2.0 body nests twice (metadata)
ERP_REQUESTS: Final = "ERP Requests"
ERP_CONNECTOR: Final = "ErpConnector"
RUN_ON_REQUESTS: Final[tuple[RunOn, ...]] = ("ErpRequests", "Both")
# The events each sync's worker handles (sync-jobs/erpsync_worker/procore/erp_requests.py REQUEST_NAMES, kept
# equal by tests/receiver/test_deliveries.py): a request of any other event starts nothing, since a worker
# started for it would find the request is not its own.
EVENT_SYNCS: Final[dict[str, SyncName]] = {
    "sync_vendors": "vendors",
    "create_vendor_in_procore": "vendors",
    "sync_jobs": "jobs",
    "create_job_in_procore": "jobs",
    "sync_standard_cost_codes": "jobCosts",
    "sync_single_job": "jobCosts",
    "sync_contract_payments": "invoicePayments",
}


class InvalidDelivery(ValueError):
    """The body is not a delivery we can read; the message names the field, the value and what is allowed."""


@dataclass(frozen=True)
class Delivery:
    company_id: int
    request_id: int | None  # None: not an ERP Request (another resource or event type): nothing to start
    event: str | None  # the ERP Request's event when the body names it


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(item) for item in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(item) for item in value), default=0)
    return 0


def _identifier(body: dict[str, Any], field: str) -> int:
    """A positive id: a JSON integer (v2.0) or a string of digits (v4.0 hooks send string ids)."""
    value = body.get(field)
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise InvalidDelivery(f"{field}: {_shown(value)} is not allowed; allowed: a positive integer id")
    return value


def _shown(value: object) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def read_delivery(raw: bytes) -> Delivery:
    """The delivery in a webhook body, bounded in size and depth."""
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidDelivery(f"body: {len(raw)} bytes is not allowed; allowed: at most {MAX_BODY_BYTES} bytes")
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidDelivery("body: not JSON; allowed: a JSON object in UTF-8") from None
    except RecursionError:
        raise InvalidDelivery(f"body: nested too deep; allowed: at most {MAX_DEPTH} levels") from None
    if not isinstance(body, dict):
        raise InvalidDelivery(f"body: a JSON {type(body).__name__} is not allowed; allowed: a JSON object")
    if _depth(body) > MAX_DEPTH:
        raise InvalidDelivery(f"body: nested too deep; allowed: at most {MAX_DEPTH} levels")
    company_id = _identifier(body, "company_id")
    resource = body.get("resource_name", body.get("resource_type"))
    event_type = body.get("event_type", body.get("reason"))
    if resource != ERP_REQUESTS or event_type != "create":
        return Delivery(company_id, None, None)
    event = body.get("request_name")
    return Delivery(company_id, _identifier(body, "resource_id"), event if isinstance(event, str) else None)


def _field(value: object, *path: str) -> object:
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def company_of(schedule: dict[str, Any]) -> int | None:
    """The Procore company a schedule (a raw object) syncs."""
    company = _field(schedule, "spec", "procore", "companyId")
    return company if isinstance(company, int) and not isinstance(company, bool) else None


def request_syncs(schedule: dict[str, Any], event: str | None) -> tuple[SyncName, ...]:
    """The syncs of `schedule` (a raw object) that an ERP Request of `event` (None: not named) starts: none unless
    the schedule is valid and in ErpConnector mode; those its profile offers whose runOn (the spec's, or the mode's
    default) is ErpRequests or Both."""
    spec = validated.schedule.spec if (validated := validate_object(schedule)).schedule else None
    if spec is None or spec.procore.mode != ERP_CONNECTOR:
        return ()
    offered = PROFILES[spec.erp].unavailable
    on_requests = tuple(
        sync for sync in SYNC_NAMES if sync not in offered and spec.effective_run_on(sync) in RUN_ON_REQUESTS
    )
    return for_event(on_requests, event)


def for_event(syncs: tuple[SyncName, ...], event: str | None) -> tuple[SyncName, ...]:
    """Of `syncs`, the one whose worker handles `event` (none when the event is no sync's); all when the event is
    not known."""
    if event is None:
        return syncs
    return tuple(sync for sync in syncs if sync == EVENT_SYNCS.get(event))
