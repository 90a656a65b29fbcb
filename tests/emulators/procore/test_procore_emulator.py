"""The Procore emulator over real sockets: OAuth, company header, pagination, rate limits, faults,
schema enforcement, the endpoints the workers use, seeding, the request log and the CLI."""

from __future__ import annotations

import http.client
import json
import re
import socket
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from erpsync_emulators.procore import EmulatorConfig, FaultResponse, ManualClock, ProcoreEmulator, SeedError
from erpsync_emulators.procore.handlers import ROUTES
from erpsync_emulators.procore.schema import OperationSchema, load_operation

from .conftest import COMPANY_ID, Answer, EmulatorFactory, ProcoreClient, request_token

REPOSITORY = Path(__file__).resolve().parents[3]
SHARED_SCHEMAS = REPOSITORY.parent / "shared" / "reference" / "procore-openapi"
VENDORED_SCHEMAS = REPOSITORY / "emulators" / "erpsync_emulators" / "procore" / "schemas"

VENDORS = "/rest/v1.0/vendors"
VENDORS_SYNC = "/rest/v1.0/vendors/sync"
PROJECTS = "/rest/v1.0/projects"
PAYMENTS = "/rest/v1.0/contract_payments"
PROJECTS_SYNC = "/rest/v1.0/projects/sync"


def sync_vendors(client: ProcoreClient, *updates: dict[str, Any]) -> Answer:
    return client.patch(VENDORS_SYNC, {"company_id": COMPANY_ID, "updates": list(updates)})


def links(answer: Answer) -> dict[str, str]:
    """rel -> URL from a Link header."""
    return {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', answer.header("Link") or "")}


def error_fields(answer: Answer) -> set[str]:
    errors = answer.body["errors"]
    assert isinstance(errors, dict), answer.body
    return set(errors)


# OAuth


def test_token_is_issued_for_form_encoded_client_credentials(emulator: ProcoreEmulator, clock: ManualClock) -> None:
    answer = request_token(emulator)
    assert answer.status == 200
    assert answer.body["token_type"] == "bearer"
    assert answer.body["expires_in"] == 5400
    assert answer.body["created_at"] == int(clock.now())
    api = ProcoreClient(emulator.url, token=answer.body["access_token"], company_id=COMPANY_ID)
    assert api.get(VENDORS, {"company_id": COMPANY_ID}).status == 200


def test_token_request_with_a_json_body_is_refused(emulator: ProcoreEmulator) -> None:
    body = {"grant_type": "client_credentials", "client_id": "erp-sync-client", "client_secret": "erp-sync-secret"}
    answer = ProcoreClient(emulator.url, None, None).call("POST", "/oauth/token", body=body)
    assert answer.status == 400
    assert answer.body["error"] == "invalid_request"


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "someone-else"}, 401, "invalid_client"),
        ({"grant_type": "authorization_code"}, 400, "unsupported_grant_type"),
        ({"grant_type": "password"}, 400, "invalid_request"),  # not in the schema's enum
        ({"scope": "everything"}, 400, "invalid_request"),  # not a field of the token request
    ],
)
def test_token_request_with_bad_credentials_or_fields_is_refused(
    emulator: ProcoreEmulator, form: dict[str, str], status: int, error: str
) -> None:
    answer = request_token(emulator, **form)
    assert (answer.status, answer.body["error"]) == (status, error)
    assert "access_token" not in answer.body


def test_token_expires_after_expires_in(make_emulator: EmulatorFactory, clock: ManualClock) -> None:
    emulator = make_emulator(token_expires_in=60)
    token = request_token(emulator).body["access_token"]
    api = ProcoreClient(emulator.url, token=token, company_id=COMPANY_ID)
    clock.advance(59)
    assert api.get(VENDORS, {"company_id": COMPANY_ID}).status == 200
    clock.advance(1)
    expired = api.get(VENDORS, {"company_id": COMPANY_ID})
    assert expired.status == 401
    assert expired.body["error_description"] == "The access token expired"


@pytest.mark.parametrize("token", [None, "not-a-token"])
def test_api_call_without_a_valid_token_is_401(emulator: ProcoreEmulator, token: str | None) -> None:
    answer = ProcoreClient(emulator.url, token=token, company_id=COMPANY_ID).get(VENDORS, {"company_id": COMPANY_ID})
    assert answer.status == 401
    assert "invalid_token" in (answer.header("WWW-Authenticate") or "")


def test_expiring_all_tokens_makes_the_next_call_401(emulator: ProcoreEmulator, client: ProcoreClient) -> None:
    emulator.expire_all_tokens()
    assert client.get(VENDORS, {"company_id": COMPANY_ID}).status == 401


# Procore-Company-Id


def test_missing_company_header_is_400_with_procores_message(emulator: ProcoreEmulator) -> None:
    api = ProcoreClient(emulator.url, token=emulator.issue_token(), company_id=None)
    answer = api.get(VENDORS, {"company_id": COMPANY_ID})
    assert answer.status == 400
    assert answer.body["errors"] == "Missing Procore-Company-Id header!"


def test_unknown_company_is_refused(emulator: ProcoreEmulator) -> None:
    api = ProcoreClient(emulator.url, token=emulator.issue_token(), company_id=999)
    assert api.get(VENDORS, {"company_id": 999}).status == 403


def test_company_id_must_match_the_header(emulator: ProcoreEmulator, client: ProcoreClient) -> None:
    other = emulator.seed.company("Other Co")
    assert client.get(VENDORS, {"company_id": other.id}).status == 400
    assert client.patch(VENDORS_SYNC, {"company_id": other.id, "updates": []}).status == 400


# Pagination


def test_pages_carry_total_per_page_and_link_headers(emulator: ProcoreEmulator, client: ProcoreClient) -> None:
    for number in range(5):
        emulator.seed.vendor(COMPANY_ID, f"Vendor {number}")
    first = client.get(VENDORS, {"company_id": COMPANY_ID, "per_page": 2})
    assert (first.header("Total"), first.header("Per-Page")) == ("5", "2")
    assert set(links(first)) == {"first", "next", "last"}
    assert "page=3" in links(first)["last"]

    seen: list[str] = []
    answer = first
    while True:
        seen += [vendor["name"] for vendor in answer.body]
        next_url = links(answer).get("next")
        if next_url is None:
            break
        answer = client.get(next_url.split(str(emulator.port), 1)[1])
    assert seen == [f"Vendor {number}" for number in range(5)]
    assert set(links(answer)) == {"first", "prev", "last"}  # no next on the last page


def test_per_page_is_capped_by_the_server(make_emulator: EmulatorFactory) -> None:
    emulator = make_emulator(max_per_page=3)
    for number in range(4):
        emulator.seed.vendor(COMPANY_ID, f"Vendor {number}")
    client = ProcoreClient(emulator.url, emulator.issue_token(), COMPANY_ID)
    answer = client.get(VENDORS, {"company_id": COMPANY_ID, "per_page": 1000})
    assert answer.header("Per-Page") == "3"
    assert len(answer.body) == 3
    assert "next" in links(answer)


# Rate limits


def remaining(answer: Answer) -> int:
    return int(answer.header("X-Rate-Limit-Remaining") or -1)


def test_spike_window_refuses_with_429_until_it_resets(make_emulator: EmulatorFactory, clock: ManualClock) -> None:
    emulator = make_emulator(spike_limit=3, spike_window_seconds=10)
    client = ProcoreClient(emulator.url, emulator.issue_token(), COMPANY_ID)
    answers = [client.get(VENDORS, {"company_id": COMPANY_ID}) for _ in range(4)]
    assert [answer.status for answer in answers] == [200, 200, 200, 429]
    assert [remaining(answer) for answer in answers] == [2, 1, 0, 0]
    assert answers[3].header("X-Rate-Limit-Limit") == "3"
    assert answers[3].header("X-Rate-Limit-Reset") == str(int(clock.now()) + 10)
    assert answers[3].header("Retry-After") is None  # off unless asked for
    clock.advance(10)
    assert client.get(VENDORS, {"company_id": COMPANY_ID}).status == 200


def test_hourly_window_is_reported_once_it_is_nearer(make_emulator: EmulatorFactory, clock: ManualClock) -> None:
    emulator = make_emulator(hourly_limit=4, spike_limit=3)
    client = ProcoreClient(emulator.url, emulator.issue_token(), COMPANY_ID)
    started = int(clock.now())
    seen: list[tuple[int, str | None, int]] = []
    # Pause a spike window between some requests, so that only the hourly budget keeps shrinking.
    for pause in (0, 10, 0, 10, 10):
        clock.advance(pause)
        answer = client.get(VENDORS, {"company_id": COMPANY_ID})
        seen.append((answer.status, answer.header("X-Rate-Limit-Limit"), remaining(answer)))
    assert seen == [
        (200, "3", 2),  # spike 2 left, hourly 3 left: the spike window is nearer
        (200, "3", 2),  # a new spike window: 2 left; hourly 2 left: a tie reports the spike window
        (200, "3", 1),  # 1 and 1
        (200, "4", 0),  # spike 2 left, hourly 0 left: the hourly window is reported
        (429, "4", 0),  # the spike window would allow it; the hourly one does not
    ]
    refused = client.get(VENDORS, {"company_id": COMPANY_ID})
    assert refused.header("X-Rate-Limit-Reset") == str(started + 3600)
    clock.advance(3600)
    assert client.get(VENDORS, {"company_id": COMPANY_ID}).status == 200


def test_every_request_counts_including_refused_ones(make_emulator: EmulatorFactory) -> None:
    emulator = make_emulator(spike_limit=10)
    authorised = ProcoreClient(emulator.url, emulator.issue_token(), COMPANY_ID)
    unauthorised = ProcoreClient(emulator.url, None, COMPANY_ID)
    statuses = [
        unauthorised.get(VENDORS, {"company_id": COMPANY_ID}).status,
        authorised.get("/rest/v1.0/nowhere").status,
        authorised.get(VENDORS, {"company_id": "not-a-number"}).status,
    ]
    assert statuses == [401, 404, 400]
    assert remaining(authorised.get(VENDORS, {"company_id": COMPANY_ID})) == 10 - 4


def test_companies_have_separate_buckets(make_emulator: EmulatorFactory) -> None:
    emulator = make_emulator(spike_limit=1)
    other = emulator.seed.company("Other Co")
    token = emulator.issue_token()
    assert ProcoreClient(emulator.url, token, COMPANY_ID).get(VENDORS, {"company_id": COMPANY_ID}).status == 200
    assert ProcoreClient(emulator.url, token, other.id).get(VENDORS, {"company_id": other.id}).status == 200


def test_retry_after_can_accompany_429(make_emulator: EmulatorFactory) -> None:
    emulator = make_emulator(spike_limit=1, retry_after_on_429=True)
    client = ProcoreClient(emulator.url, emulator.issue_token(), COMPANY_ID)
    client.get(VENDORS, {"company_id": COMPANY_ID})
    refused = client.get(VENDORS, {"company_id": COMPANY_ID})
    assert refused.status == 429
    assert refused.header("Retry-After") == "10"


# Fault injection


def test_injected_503_carries_retry_after_then_service_resumes(
    emulator: ProcoreEmulator, client: ProcoreClient
) -> None:
    emulator.inject_fault("GET", VENDORS, FaultResponse.SERVICE_UNAVAILABLE, times=2, retry_after_seconds=7)
    answers = [client.get(VENDORS, {"company_id": COMPANY_ID}) for _ in range(3)]
    assert [answer.status for answer in answers] == [503, 503, 200]
    assert answers[0].header("Retry-After") == "7"
    assert answers[0].header("X-Rate-Limit-Remaining") is not None


def test_injected_429_and_500(emulator: ProcoreEmulator, client: ProcoreClient, clock: ManualClock) -> None:
    emulator.inject_fault("GET", VENDORS, FaultResponse.TOO_MANY_REQUESTS, retry_after_seconds=3)
    emulator.inject_fault("GET", VENDORS, FaultResponse.INTERNAL_SERVER_ERROR)
    throttled = client.get(VENDORS, {"company_id": COMPANY_ID})
    assert throttled.status == 429
    assert throttled.header("X-Rate-Limit-Reset") == str(int(clock.now()) + 3)
    assert throttled.header("X-Rate-Limit-Remaining") == "0"
    assert client.get(VENDORS, {"company_id": COMPANY_ID}).status == 500
    assert client.get(VENDORS, {"company_id": COMPANY_ID}).status == 200
    assert [fired.response for fired in emulator.fired_faults()] == ["429", "500"]


def test_faults_match_method_and_path_patterns(emulator: ProcoreEmulator, client: ProcoreClient) -> None:
    emulator.inject_fault("PATCH", "/rest/v1.0/*/sync", FaultResponse.INTERNAL_SERVER_ERROR)
    assert client.get(VENDORS, {"company_id": COMPANY_ID}).status == 200  # GET: not matched
    assert sync_vendors(client, {"origin_id": "V1", "name": "Acme"}).status == 500
    assert sync_vendors(client, {"origin_id": "V1", "name": "Acme"}).status == 200


def test_hang_outlasts_the_client_timeout(emulator: ProcoreEmulator) -> None:
    emulator.inject_fault("GET", VENDORS, FaultResponse.HANG, hang_seconds=5)
    impatient = ProcoreClient(emulator.url, emulator.issue_token(), COMPANY_ID, timeout=0.3)
    with pytest.raises(TimeoutError):
        impatient.get(VENDORS, {"company_id": COMPANY_ID})
    assert impatient.get(VENDORS, {"company_id": COMPANY_ID}).status == 200


def test_dropped_connection_gets_no_answer(emulator: ProcoreEmulator, client: ProcoreClient) -> None:
    emulator.inject_fault("*", VENDORS, FaultResponse.DROP_CONNECTION)
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        client.get(VENDORS, {"company_id": COMPANY_ID})
    assert client.get(VENDORS, {"company_id": COMPANY_ID}).status == 200


def seed_commitment(emulator: ProcoreEmulator) -> tuple[int, int]:
    project = emulator.seed.project(COMPANY_ID, "Tower", origin_id="J1")
    contract = emulator.seed.work_order_contract(project.id, number="SC-1", origin_id="C1")
    return project.id, contract.id


def payment_body(project_id: int, contract_id: int, origin_id: str = "PAY-1", amount: str = "1250.30") -> Any:
    return {
        "project_id": project_id,
        "contract_id": contract_id,
        "contract_payment": {"origin_id": origin_id, "amount": amount, "date": "2026-03-31", "payment_number": 1},
    }


@pytest.mark.parametrize("response", [FaultResponse.INTERNAL_SERVER_ERROR, FaultResponse.HANG])
def test_fault_after_applying_keeps_the_write_the_client_never_saw(
    emulator: ProcoreEmulator, response: FaultResponse
) -> None:
    project_id, contract_id = seed_commitment(emulator)
    emulator.inject_fault("POST", PAYMENTS, response, after_applying=True, hang_seconds=5)
    client = ProcoreClient(emulator.url, emulator.issue_token(), COMPANY_ID, timeout=0.5)
    if response is FaultResponse.HANG:
        with pytest.raises(TimeoutError):
            client.post(PAYMENTS, payment_body(project_id, contract_id))
    else:
        assert client.post(PAYMENTS, payment_body(project_id, contract_id)).status == 500
    listed = client.get(PAYMENTS, {"project_id": project_id, "contract_id": contract_id})
    assert [payment["origin_id"] for payment in listed.body] == ["PAY-1"]
    assert client.post(PAYMENTS, payment_body(project_id, contract_id)).status == 422  # a blind retry is refused


def test_admin_endpoint_arms_lists_and_clears_faults(emulator: ProcoreEmulator, client: ProcoreClient) -> None:
    admin = ProcoreClient(emulator.url, None, None)
    fault = {"method": "GET", "path": VENDORS, "response": "503", "times": 2, "retry_after_seconds": 4}
    assert admin.post("/_emulator/faults", fault).status == 201
    assert admin.post("/_emulator/faults", {"method": "GET", "path": VENDORS, "response": "418"}).status == 400
    assert client.get(VENDORS, {"company_id": COMPANY_ID}).header("Retry-After") == "4"
    listing = admin.get("/_emulator/faults").body
    assert listing["armed"][0]["times"] == 1
    assert listing["fired"] == [{"method": "GET", "path": VENDORS, "response": "503", "after_applying": False}]
    assert admin.call("DELETE", "/_emulator/faults").status == 200
    assert client.get(VENDORS, {"company_id": COMPANY_ID}).status == 200


# Schema enforcement


def _wrong_level_payment() -> dict[str, Any]:
    body: dict[str, Any] = payment_body(1, 2)
    body["amount"] = body["contract_payment"].pop("amount")
    return body


AMOUNT_AS_NUMBER = json.dumps(payment_body(1, 2)).replace('"1250.30"', "1250.30").encode()
VENDOR_BODY = {"company_id": COMPANY_ID, "updates": []}


# (method, path, query, body, the fields the 400 names)
SCHEMA_REFUSALS: list[tuple[str, str, dict[str, Any] | None, Any, set[str]]] = [
    ("GET", PAYMENTS, {"project_id": 1}, None, {"contract_id"}),  # a required parameter missing
    ("GET", PAYMENTS, {"project_id": "one", "contract_id": 2}, None, {"project_id"}),  # of the wrong type
    ("GET", PAYMENTS, {"project_id": 1, "contract_id": 2, "filters[origin_id]": "X"}, None, {"filters[origin_id]"}),
    ("GET", PROJECTS, {"company_id": COMPANY_ID, "filters[by_status]": "all"}, None, {"filters[by_status]"}),  # enum
    ("PATCH", VENDORS_SYNC, None, {**VENDOR_BODY, "company_id": str(COMPANY_ID)}, {"company_id"}),  # not a string
    ("PATCH", VENDORS_SYNC, None, {"updates": []}, {"company_id"}),  # required
    ("PATCH", VENDORS_SYNC, None, {**VENDOR_BODY, "vendors": []}, {"vendors"}),  # an unknown top-level key
    ("PATCH", VENDORS_SYNC, None, {**VENDOR_BODY, "updates": [{"name": "A", "zip": None}]}, {"updates[0].zip"}),
    ("PATCH", VENDORS_SYNC, None, {**VENDOR_BODY, "updates": [{"name": "A", "phone": "1"}]}, {"updates[0].phone"}),
    (
        "PATCH",
        PROJECTS_SYNC,
        None,
        {**VENDOR_BODY, "updates": [{"name": "Tower", "is_active": False}]},
        {"updates[0].is_active"},
    ),
    ("POST", PAYMENTS, None, _wrong_level_payment(), {"amount"}),  # a field at the wrong level
    ("POST", PAYMENTS, None, AMOUNT_AS_NUMBER, {"contract_payment.amount"}),  # amounts are strings
]


@pytest.mark.parametrize(
    ("method", "path", "query", "body", "fields"),
    SCHEMA_REFUSALS,
    ids=[
        f"{method} {path.removesuffix('/sync').rsplit('/', 1)[-1]} {' '.join(sorted(fields))}"
        for method, path, _, _, fields in SCHEMA_REFUSALS
    ],
)
def test_requests_must_match_the_schema(
    client: ProcoreClient, method: str, path: str, query: dict[str, Any] | None, body: Any, fields: set[str]
) -> None:
    raw = body if isinstance(body, bytes) else None
    answer = client.call(method, path, query, None if raw else body, raw_body=raw)
    assert answer.status == 400
    assert error_fields(answer) == fields
    if path == PAYMENTS and method == "POST":
        assert "RestV10ContractPaymentsPost" in answer.body["message"]


def test_json_body_needs_the_json_content_type(client: ProcoreClient) -> None:
    raw = json.dumps({"company_id": COMPANY_ID, "updates": []}).encode()
    assert client.call("PATCH", VENDORS_SYNC, raw_body=raw, content_type="text/plain").status == 400
    assert client.call("PATCH", VENDORS_SYNC, raw_body=b"{not json").status == 400


def test_every_route_has_a_schema_for_its_method_and_path() -> None:
    for route in ROUTES:
        schema = load_operation(route.operation_id)
        assert (schema.method, schema.path) == (route.method, route.template)


def test_schemas_with_keywords_the_validator_does_not_know_are_refused() -> None:
    document = {
        "operationId": "Example",
        "method": "POST",
        "path": "/example",
        "requestBody": {"schema": {"type": "object", "properties": {"a": {"oneOf": [{"type": "string"}]}}}},
    }
    with pytest.raises(ValueError, match="oneOf"):
        OperationSchema(document)


def test_vendored_schemas_equal_the_shared_reference() -> None:
    if not SHARED_SCHEMAS.is_dir():
        pytest.skip(f"{SHARED_SCHEMAS} is not there")
    vendored = sorted(VENDORED_SCHEMAS.glob("*.json"))
    assert len(vendored) >= 18
    for copy in vendored:
        assert copy.read_bytes() == (SHARED_SCHEMAS / copy.name).read_bytes(), copy.name


# Vendors


def test_vendor_sync_creates_updates_and_reports_per_item_errors(client: ProcoreClient) -> None:
    created = sync_vendors(
        client,
        {"origin_id": "V1", "name": "Acme Steel", "state_code": "CA", "country_code": "US"},
        {"origin_id": "V2", "name": "Bad State", "state_code": "ZZ"},
        {"origin_id": "V3", "name": "Bad Country", "country_code": "XX"},
        {"origin_id": "V4"},
        {"id": 12345, "name": "Nobody"},
    )
    assert created.status == 200
    assert [vendor["origin_id"] for vendor in created.body["entities"]] == ["V1"]
    problems = {error.get("origin_id") or error.get("id"): set(error["errors"]) for error in created.body["errors"]}
    assert problems == {"V2": {"state_code"}, "V3": {"country_code"}, "V4": {"name"}, 12345: {"id"}}
    vendor_id = created.body["entities"][0]["id"]
    assert vendor_id > 2**32  # ids are 64-bit

    updated = sync_vendors(client, {"origin_id": "V1", "city": "Oakland"}, {"id": vendor_id, "zip": "94607"})
    assert [vendor["id"] for vendor in updated.body["entities"]] == [vendor_id, vendor_id]
    listed = client.get(VENDORS, {"company_id": COMPANY_ID}).body
    assert [(vendor["name"], vendor["city"], vendor["zip"]) for vendor in listed] == [
        ("Acme Steel", "Oakland", "94607")
    ]


def test_deactivated_vendors_move_to_the_inactive_list(emulator: ProcoreEmulator, client: ProcoreClient) -> None:
    sync_vendors(client, {"origin_id": "V1", "name": "Stays"}, {"origin_id": "V2", "name": "Goes"})
    assert len(client.get(VENDORS, {"company_id": COMPANY_ID}).body) == 2  # a listing before the change
    sync_vendors(client, {"origin_id": "V2", "is_active": False})
    active = client.get(VENDORS, {"company_id": COMPANY_ID}).body
    inactive = client.get(f"/rest/v1.0/companies/{COMPANY_ID}/vendors/inactive").body
    assert [vendor["origin_id"] for vendor in active] == ["V1"]
    assert [vendor["origin_id"] for vendor in inactive] == ["V2"]
    filtered = client.get(VENDORS, {"company_id": COMPANY_ID, "filters[origin_id]": "V2"}).body
    assert filtered == []


def test_sync_batches_are_capped_at_1000(client: ProcoreClient) -> None:
    updates = [{"origin_id": f"V{number}", "name": f"Vendor {number}"} for number in range(1001)]
    answer = sync_vendors(client, *updates)
    assert answer.status == 400
    assert error_fields(answer) == {"updates"}
    assert sync_vendors(client, *updates[:1000]).status == 200


def test_origin_id_cannot_be_taken_from_another_record(client: ProcoreClient) -> None:
    sync_vendors(client, {"origin_id": "V1", "name": "One"}, {"origin_id": "V2", "name": "Two"})
    two = client.get(VENDORS, {"company_id": COMPANY_ID, "filters[origin_id]": "V2"}).body[0]
    answer = sync_vendors(client, {"id": two["id"], "origin_id": "V1"})
    assert answer.body["errors"][0]["errors"] == {"origin_id": ["has already been taken"]}
    renamed = sync_vendors(client, {"id": two["id"], "origin_id": "V2-new"})  # id + origin_id changes it
    assert renamed.body["entities"][0]["origin_id"] == "V2-new"


# Projects


def test_project_list_hides_inactive_unless_asked(emulator: ProcoreEmulator, client: ProcoreClient) -> None:
    emulator.seed.project(COMPANY_ID, "Open", origin_id="J1")
    emulator.seed.project(COMPANY_ID, "Closed", origin_id="J2", active=False)

    def names(**filters: str) -> list[str]:
        return [project["name"] for project in client.get(PROJECTS, {"company_id": COMPANY_ID, **filters}).body]

    assert names() == ["Open"]
    assert names(**{"filters[by_status]": "All"}) == ["Open", "Closed"]
    assert names(**{"filters[by_status]": "Inactive"}) == ["Closed"]
    assert names(**{"filters[by_status]": "All", "filters[origin_id]": "J2"}) == ["Closed"]


def test_project_sync_updates_by_id_and_links_origin_id(emulator: ProcoreEmulator, client: ProcoreClient) -> None:
    project = emulator.seed.project(COMPANY_ID, "Tower")
    answer = client.patch(
        "/rest/v1.0/projects/sync",
        {"company_id": COMPANY_ID, "updates": [{"id": project.id, "origin_id": "J9", "active": False}]},
    )
    assert answer.body["errors"] == []
    assert answer.body["entities"][0]["origin_id"] == "J9"
    assert answer.body["entities"][0]["active"] is False


def test_projects_are_created_one_by_one_with_unique_origin_ids(client: ProcoreClient) -> None:
    body = {"company_id": COMPANY_ID, "project": {"name": "Tower", "project_number": "J-1", "origin_id": "J1"}}
    created = client.post(PROJECTS, body)
    assert created.status == 201
    assert created.body["display_name"] == "J-1 - Tower"
    duplicate = client.post(PROJECTS, body)
    assert duplicate.status == 422
    assert error_fields(duplicate) == {"origin_id"}
    assert client.post(PROJECTS, {"company_id": COMPANY_ID, "project": {"origin_id": "J2"}}).status == 400


def test_numbers_are_never_read_as_floats(client: ProcoreClient) -> None:
    raw = b'{"company_id": %d, "updates": [{"name": "Tower", "total_value": 1234567890.123456789}]}' % COMPANY_ID
    answer = client.call("PATCH", "/rest/v1.0/projects/sync", raw_body=raw)
    assert answer.body["entities"][0]["total_value"] == "1234567890.123456789"


# Cost codes, line item types, ERP job costs


def test_standard_cost_codes_sync_into_the_erp_list(client: ProcoreClient) -> None:
    lists = client.get("/rest/v1.0/standard_cost_code_lists", {"company_id": COMPANY_ID}).body
    erp_list = next(code_list for code_list in lists if code_list["is_erp_list"])
    sync = "/rest/v1.0/standard_cost_codes/sync"
    body = {"company_id": COMPANY_ID, "standard_cost_code_list_id": erp_list["id"]}
    parent = client.patch(sync, {**body, "updates": [{"origin_id": "01", "code": "01", "name": "General"}]})
    parent_id = parent.body["entities"][0]["id"]
    child = client.patch(
        sync,
        {
            **body,
            "updates": [
                {"origin_id": "01-100", "code": "100", "name": "Supervision", "parent_id": parent_id},
                {"origin_id": "02", "code": "02", "name": "Orphan", "parent_id": 1},
                {"origin_id": "03", "name": "No code"},
            ],
        },
    )
    assert child.body["entities"][0]["full_code"] == "01-100"
    assert [set(error["errors"]) for error in child.body["errors"]] == [{"parent_id"}, {"code"}]
    listed = client.get(
        "/rest/v1.0/standard_cost_codes", {"company_id": COMPANY_ID, "standard_cost_code_list_id": erp_list["id"]}
    )
    assert [code["origin_id"] for code in listed.body] == ["01", "01-100"]


def test_project_cost_codes_keep_origin_ids_unique_in_the_company(
    emulator: ProcoreEmulator, client: ProcoreClient
) -> None:
    first = emulator.seed.project(COMPANY_ID, "One")
    second = emulator.seed.project(COMPANY_ID, "Two")
    sync = "/rest/v1.0/cost_codes/sync"
    code = {"origin_id": "J1/01-100", "code": "01-100", "name": "Supervision"}
    assert client.patch(sync, {"updates": [code]}, {"project_id": first.id}).body["errors"] == []
    clash = client.patch(sync, {"updates": [code]}, {"project_id": second.id})
    assert clash.body["errors"][0]["errors"] == {"origin_id": ["has already been taken"]}
    listed = client.get("/rest/v1.0/cost_codes", {"project_id": first.id}).body
    assert [(code["code"], code["project_id"]) for code in listed] == [("01-100", first.id)]
    assert client.get("/rest/v1.0/cost_codes", {"project_id": 42}).status == 404


def test_erp_job_costs_upsert_by_cost_code_and_type(emulator: ProcoreEmulator, client: ProcoreClient) -> None:
    project = emulator.seed.project(COMPANY_ID, "Tower", origin_id="J1")
    cost_code = emulator.seed.cost_code(project.id, "01-100", "Supervision")
    labour = emulator.seed.line_item_type(COMPANY_ID, "Labor", csv_import_code="L")
    types = client.get("/rest/v1.0/line_item_types", {"company_id": COMPANY_ID, "project_id": project.id}).body
    assert [(kind["name"], kind["code"]) for kind in types] == [("Labor", "L")]

    def send(*updates: dict[str, Any], job: str = "J1") -> Answer:
        body = {"company_id": COMPANY_ID, "job_origin_id": job, "updates": list(updates)}
        return client.patch("/rest/v1.0/erp_job_costs/sync", body)

    row = {"cost_code_id": cost_code.id, "line_item_type_id": labour.id, "job_to_date_cost": "0.30"}
    assert send(row).body["entities"][0]["job_to_date_cost"] == "0.30"
    assert send({**row, "job_to_date_cost": "10.00"}).body["errors"] == []
    with emulator.lock:
        assert [record.fields["job_to_date_cost"] for record in emulator.state.erp_job_costs] == ["10.00"]
    assert send({**row, "cost_code_id": 1}).body["errors"][0]["errors"] == {
        "cost_code_id": ["is not a cost code of this project"]
    }
    assert send(row, job="unknown").status == 422
    assert send({**row, "job_to_date_cost": 0.3}).status == 400  # amounts are strings


# Commitments, invoices and payments


def test_commitments_list_origin_ids_and_honour_the_filter_unless_told(
    emulator: ProcoreEmulator, client: ProcoreClient
) -> None:
    project = emulator.seed.project(COMPANY_ID, "Tower", origin_id="J1")
    emulator.seed.work_order_contract(project.id, number="SC-1", origin_id="C1")
    emulator.seed.work_order_contract(project.id, number="SC-2", origin_id="C2")
    emulator.seed.purchase_order_contract(project.id, number="PO-1", origin_id="P1")
    query = {"project_id": project.id, "filters[origin_id]": "C2"}
    subcontracts = client.get("/rest/v1.0/work_order_contracts", query).body
    assert [contract["origin_id"] for contract in subcontracts] == ["C2"]
    orders = client.get("/rest/v1.0/purchase_order_contracts", {"project_id": project.id}).body
    assert [contract["origin_id"] for contract in orders] == ["P1"]

    emulator.config.ignore_commitment_origin_id_filter = True
    unfiltered = client.get("/rest/v1.0/work_order_contracts", query).body
    assert [contract["origin_id"] for contract in unfiltered] == ["C1", "C2"]


def test_requisitions_are_listed_per_project(emulator: ProcoreEmulator, client: ProcoreClient) -> None:
    project_id, contract_id = seed_commitment(emulator)
    emulator.seed.requisition(contract_id, number=1, origin_id="INV-1")
    emulator.seed.requisition(contract_id, number=2, origin_id="INV-2")
    listed = client.get("/rest/v1.0/requisitions", {"project_id": project_id, "filters[origin_id]": "INV-2"}).body
    assert [(invoice["number"], invoice["commitment_id"]) for invoice in listed] == [(2, contract_id)]


def test_contract_payments_are_created_once_per_origin_id(emulator: ProcoreEmulator, client: ProcoreClient) -> None:
    project_id, contract_id = seed_commitment(emulator)
    other_contract = emulator.seed.purchase_order_contract(project_id, number="PO-1", origin_id="P1")
    invoice = emulator.seed.requisition(contract_id, number=1, origin_id="INV-1")
    body = payment_body(project_id, contract_id)
    body["contract_payment"].update(requisition_id=invoice.id, check_number="1001", notes="March")
    created = client.post(PAYMENTS, body)
    assert created.status == 201
    assert created.body["amount"] == "1250.30"
    assert (created.body["contract_id"], created.body["requisition_id"]) == (contract_id, invoice.id)

    listed = client.get(PAYMENTS, {"project_id": project_id, "contract_id": contract_id})
    assert [payment["amount"] for payment in listed.body] == ["1250.30"]
    # origin_id is unique in the company, not only on the contract.
    elsewhere = client.post(PAYMENTS, payment_body(project_id, other_contract.id))
    assert elsewhere.status == 422
    assert error_fields(elsewhere) == {"origin_id"}
    contracts = client.get("/rest/v1.0/work_order_contracts", {"project_id": project_id}).body
    assert contracts[0]["total_payments"] == "1250.30"


@pytest.mark.parametrize(
    ("payment", "status", "field"),
    [
        ({"amount": "ten"}, 422, "amount"),
        ({"amount": ""}, 422, "amount"),
        ({"date": None}, 422, "date"),  # None: leave the field out
        ({"requisition_id": 77}, 422, "requisition_id"),
        ({"payment_number": "1"}, 400, "contract_payment.payment_number"),
        ({"date": "31/03/2026"}, 400, "contract_payment.date"),
    ],
)
def test_contract_payment_validation(
    emulator: ProcoreEmulator, client: ProcoreClient, payment: dict[str, Any], status: int, field: str
) -> None:
    project_id, contract_id = seed_commitment(emulator)
    body = payment_body(project_id, contract_id)
    body["contract_payment"].update(payment)
    body["contract_payment"] = {name: value for name, value in body["contract_payment"].items() if value is not None}
    answer = client.post(PAYMENTS, body)
    assert answer.status == status
    assert field in error_fields(answer)


def test_payments_need_a_contract_of_that_project(emulator: ProcoreEmulator, client: ProcoreClient) -> None:
    _, contract_id = seed_commitment(emulator)
    elsewhere = emulator.seed.project(COMPANY_ID, "Elsewhere")
    assert client.post(PAYMENTS, payment_body(elsewhere.id, contract_id)).status == 404
    assert client.get(PAYMENTS, {"project_id": elsewhere.id, "contract_id": contract_id}).status == 404


# Seeding, the request log, the admin state and the CLI


SEED_YAML = f"""
clients: {{demo-client: demo-secret}}
companies: [{{id: {COMPANY_ID}, name: Demo Construction}}]
vendors: [{{company_id: {COMPANY_ID}, name: Acme Steel, origin_id: V100}}]
projects: [{{id: 4500000100, company_id: {COMPANY_ID}, name: Tower, origin_id: J1}}]
work_order_contracts: [{{id: 4500000200, project_id: 4500000100, number: SC-1, origin_id: C1}}]
contract_payments: [{{contract_id: 4500000200, amount: "99.90", date: "2026-01-31", origin_id: PAY-0}}]
"""


def test_seed_files_in_yaml_and_json(tmp_path: Path, clock: ManualClock) -> None:
    yaml_file = tmp_path / "seed.yaml"
    yaml_file.write_text(SEED_YAML)
    with ProcoreEmulator(clock=clock) as emulator:
        emulator.seed.load_file(yaml_file)
        assert emulator.config.clients["demo-client"] == "demo-secret"
        client = ProcoreClient(emulator.url, emulator.issue_token(), COMPANY_ID)
        payments = client.get(PAYMENTS, {"project_id": 4500000100, "contract_id": 4500000200}).body
        assert [payment["amount"] for payment in payments] == ["99.90"]

    json_file = tmp_path / "seed.json"
    json_file.write_text(json.dumps({"companies": [{"name": "From JSON"}]}))
    with ProcoreEmulator(clock=clock) as emulator:
        emulator.seed.load_file(json_file)
        assert [company.name for company in emulator.state.companies.values()] == ["From JSON"]


def test_a_float_in_a_seed_is_refused(tmp_path: Path) -> None:
    seed_file = tmp_path / "seed.yaml"
    seed_file.write_text(SEED_YAML.replace('amount: "99.90"', "amount: 99.90"))
    with pytest.raises(SeedError, match="float"):
        ProcoreEmulator().seed.load_file(seed_file)


def test_request_log_counts_by_route_and_keeps_few_requests(make_emulator: EmulatorFactory) -> None:
    emulator = make_emulator(request_log_size=2)
    client = ProcoreClient(emulator.url, emulator.issue_token(), COMPANY_ID)
    for _ in range(3):
        client.get(VENDORS, {"company_id": COMPANY_ID})
    client.get(f"/rest/v1.0/companies/{COMPANY_ID}/vendors/inactive")
    assert emulator.requests.count("GET", VENDORS) == 3
    assert emulator.requests.count("GET", "/rest/v1.0/companies/{company_id}/vendors/inactive") == 1
    assert emulator.requests.total == 4
    assert len(emulator.requests.recent()) == 2
    snapshot = ProcoreClient(emulator.url, None, None).get("/_emulator/requests").body
    assert snapshot["by_status"] == {"200": 4}


def test_keep_alive_connection_serves_several_requests(emulator: ProcoreEmulator) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=5)
    headers = {"Authorization": f"Bearer {emulator.issue_token()}", "Procore-Company-Id": str(COMPANY_ID)}
    try:
        for _ in range(3):
            connection.request("GET", f"{VENDORS}?company_id={COMPANY_ID}", headers=headers)
            response = connection.getresponse()
            assert response.status == 200
            assert json.loads(response.read()) == []
    finally:
        connection.close()


def test_admin_state_and_config(emulator: ProcoreEmulator, client: ProcoreClient) -> None:
    admin = ProcoreClient(emulator.url, None, None)
    sync_vendors(client, {"origin_id": "V1", "name": "Acme"})
    assert admin.get("/_emulator/state").body["counts"]["vendors"] == 1
    assert [vendor["origin_id"] for vendor in admin.get("/_emulator/state/vendors").body] == ["V1"]
    assert admin.call("PATCH", "/_emulator/config", body={"spike_limit": 50}).body["spike_limit"] == 50
    assert admin.call("PATCH", "/_emulator/config", body={"spike_limit": "1"}).status == 400
    admin.post("/_emulator/tokens/expire", {})
    assert client.get(VENDORS, {"company_id": COMPANY_ID}).status == 401


def test_cli_serves_a_seed_file(tmp_path: Path) -> None:
    seed_file = tmp_path / "seed.yaml"
    seed_file.write_text(SEED_YAML)
    command = [sys.executable, "-m", "erpsync_emulators.procore", "--port", "0", "--seed-file", str(seed_file)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert url is not None, line
        form = "grant_type=client_credentials&client_id=demo-client&client_secret=demo-secret"
        token_client = ProcoreClient(url.group(0), None, None)
        token = token_client.call(
            "POST", "/oauth/token", raw_body=form.encode(), content_type="application/x-www-form-urlencoded"
        )
        assert token.status == 200, token.body
        api = ProcoreClient(url.group(0), token.body["access_token"], COMPANY_ID)
        vendors = api.get(VENDORS, {"company_id": COMPANY_ID}).body
        assert [vendor["name"] for vendor in vendors] == ["Acme Steel"]
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_hanging_requests_do_not_delay_stop(clock: ManualClock) -> None:
    emulator = ProcoreEmulator(clock=clock).start()
    emulator.seed.company("Acme", id=COMPANY_ID)
    emulator.inject_fault("GET", VENDORS, FaultResponse.HANG, hang_seconds=60)
    client = ProcoreClient(emulator.url, emulator.issue_token(), COMPANY_ID, timeout=0.2)
    with pytest.raises(TimeoutError):
        client.get(VENDORS, {"company_id": COMPANY_ID})
    emulator.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", client.port), timeout=0.5).close()


def test_decimal_amounts_survive_listing(emulator: ProcoreEmulator, client: ProcoreClient) -> None:
    project_id, contract_id = seed_commitment(emulator)
    for number, amount in enumerate(["0.10", "0.20", "1000000000000.01"]):
        assert client.post(PAYMENTS, payment_body(project_id, contract_id, f"PAY-{number}", amount)).status == 201
    listed = client.get(PAYMENTS, {"project_id": project_id, "contract_id": contract_id}).body
    assert sum(Decimal(payment["amount"]) for payment in listed) == Decimal("1000000000000.31")


def test_emulator_config_refuses_unknown_knobs() -> None:
    with pytest.raises(ValueError, match="unknown"):
        EmulatorConfig().update({"no_such_knob": 1})
