"""What a delivery asks for: the body read with bounds, and the syncs a request starts on a schedule."""

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from erpsync.api.vocabulary import WORKER_SYNC_ARGUMENT
from erpsync.receiver.deliveries import (
    EVENT_SYNCS,
    MAX_BODY_BYTES,
    MAX_DEPTH,
    Delivery,
    InvalidDelivery,
    company_of,
    read_delivery,
    request_syncs,
)
from erpsync_worker.procore.erp_requests import REQUEST_NAMES

REPO = Path(__file__).resolve().parents[2]
# The v2.0 body of reference §1.2.
BODY: dict[str, Any] = {
    "id": 123456789,
    "ulid": "01J0000000000000000000000",
    "timestamp": "2026-05-01T12:00:00.000000Z",
    "metadata": {"source_user_id": 55, "source_company_id": 7, "source_project_id": None},
    "user_id": 55,
    "company_id": 7,
    "project_id": None,
    "api_version": "v2.0",
    "event_type": "create",
    "resource_name": "ERP Requests",
    "resource_id": 4242,
}


def _schedule(**changes: Any) -> dict[str, Any]:
    schedule: dict[str, Any] = yaml.safe_load((REPO / "examples" / "generic.yaml").read_text())
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = schedule["spec"]
        for key in parents:
            node = node.setdefault(key, {})
        if value is None:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return schedule


def test_a_v2_body_names_company_and_request() -> None:
    assert read_delivery(json.dumps(BODY).encode()) == Delivery(7, 4242, None)
    v4 = {**BODY, "company_id": "7", "resource_id": "4242", "request_name": "sync_vendors"}
    assert read_delivery(json.dumps(v4).encode()) == Delivery(7, 4242, "sync_vendors")


@pytest.mark.parametrize("change", [{"resource_name": "Projects"}, {"event_type": "update"}])
def test_another_resource_or_event_type_is_no_request(change: dict[str, str]) -> None:
    assert read_delivery(json.dumps({**BODY, **change}).encode()) == Delivery(7, None, None)


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"{", "body: not JSON"),
        (b"\xff\xfe", "body: not JSON"),
        (b"[1]", "body: a JSON list is not allowed"),
        (json.dumps({**BODY, "company_id": True}).encode(), "company_id: true is not allowed; allowed: a positive"),
        (json.dumps({**BODY, "resource_id": -1}).encode(), "resource_id: -1 is not allowed"),
        (json.dumps({**BODY, "resource_id": "4x"}).encode(), 'resource_id: "4x" is not allowed'),
        (json.dumps({k: v for k, v in BODY.items() if k != "company_id"}).encode(), "company_id: null"),
        (json.dumps({**BODY, "x": [[[[[[[[[1]]]]]]]]]}).encode(), f"at most {MAX_DEPTH} levels"),
        (b"[" * 100_000, "body:"),
        (b" " * (MAX_BODY_BYTES + 1), f"at most {MAX_BODY_BYTES} bytes"),
    ],
)
def test_a_bad_body_is_refused_in_one_line_naming_the_field(raw: bytes, words: str) -> None:
    with pytest.raises(InvalidDelivery) as refused:
        read_delivery(raw)
    assert words in str(refused.value) and "\n" not in str(refused.value)


def test_a_request_starts_the_syncs_that_run_on_requests() -> None:
    schedule = _schedule()  # vendors Both, jobs Schedule, jobCosts and invoicePayments the mode's default (Both)
    assert company_of(schedule) == 562949953421312
    assert request_syncs(schedule, None) == ("vendors", "jobCosts", "invoicePayments")
    assert request_syncs(schedule, "sync_vendors") == ("vendors",)
    assert request_syncs(schedule, "sync_contract_payments") == ("invoicePayments",)
    assert request_syncs(schedule, "sync_jobs") == ()  # jobs runs on its schedule only
    assert request_syncs(schedule, "create_budget") == ()  # no sync of ours does that event's work
    only_requests = _schedule(syncs__jobs__runOn="ErpRequests", syncs__jobs__frequency=None)
    assert request_syncs(only_requests, "sync_jobs") == ("jobs",)


def test_a_public_api_or_invalid_schedule_starts_nothing() -> None:
    assert request_syncs(_schedule(procore__mode=None, syncs__vendors__runOn=None), None) == ()
    invalid = copy.deepcopy(_schedule())
    invalid["spec"]["erp"] = "Nope"
    assert request_syncs(invalid, None) == ()
    assert company_of({"spec": {"procore": {"companyId": "7"}}}) is None


def test_each_event_starts_the_sync_whose_worker_handles_it() -> None:
    """The receiver starts one sync per request: a sync whose worker does not handle the event would find the
    request is another sync's (ForAnotherSync) and leave it open, so the two maps must be the same."""
    handled = {event: sync for sync, events in REQUEST_NAMES.items() for event in events}
    assert {event: WORKER_SYNC_ARGUMENT[sync] for event, sync in EVENT_SYNCS.items()} == handled
