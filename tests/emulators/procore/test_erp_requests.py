"""ERP Requests and Request Details: raised by the admin actions that stand for Procore users, read and
closed out by the integrator; refused for a company without ERP Integrations."""

from __future__ import annotations

from typing import Any

import pytest

from erpsync_emulators.procore import ProcoreEmulator

from .conftest import COMPANY_ID, EmulatorFactory, ProcoreClient

COMPANY = f"/rest/v1.0/companies/{COMPANY_ID}"


def raise_request(emulator: ProcoreEmulator, name: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    answer = ProcoreClient(emulator.url, None, None).post(
        "/_emulator/erp_requests", {"company_id": COMPANY_ID, "request_name": name, "request_data": data or {}}
    )
    assert answer.status == 201, answer.body
    body: dict[str, Any] = answer.body
    return body


def test_a_request_is_read_with_its_detail_and_closed_once(emulator: ProcoreEmulator, client: ProcoreClient) -> None:
    raised = raise_request(emulator, "sync_vendors")
    shown = client.get(f"{COMPANY}/erp_requests/{raised['id']}").body
    assert {key: shown[key] for key in ("request_name", "company_id", "integration_app_name")} == {
        "request_name": "sync_vendors",
        "company_id": COMPANY_ID,
        "integration_app_name": "erp-sync",
    }
    detail_id = shown["request_data"]["request_detail_id"]
    listed = client.get(f"{COMPANY}/erp_requests", {"filters[open]": "true"}).body
    assert [request["id"] for request in listed] == [raised["id"]]

    close = {"request_detail": {"status": "failed", "messages": ["vendor code is not unique"]}}
    closed = client.patch(f"{COMPANY}/erp_request_details/{detail_id}", close)
    assert (closed.status, closed.body["status"], closed.body["messages"]) == (
        200,
        "failed",
        close["request_detail"]["messages"],
    )
    assert client.get(f"{COMPANY}/erp_requests", {"filters[open]": "true"}).body == []
    again = client.patch(f"{COMPANY}/erp_request_details/{detail_id}", {"request_detail": {"status": "success"}})
    assert again.status == 422
    assert again.body["errors"] == {"status": [f"request detail {detail_id} is already closed (failed)"]}


@pytest.mark.parametrize(
    ("name", "data", "where"),
    [
        ("sync_jobs", {}, "request_data"),
        ("create_or_update_job", {"id": "J1"}, "root"),
        ("create_standard_cost_codes", {"standard_cost_codes": [{"code": "01"}, {"code": "02"}]}, "items"),
        ("sync_single_job", {"id": "J1"}, "none"),  # the periodic timer event carries no detail
    ],
)
def test_the_request_detail_id_sits_where_the_dictionary_puts_it(
    emulator: ProcoreEmulator, client: ProcoreClient, name: str, data: dict[str, Any], where: str
) -> None:
    shown = client.get(f"{COMPANY}/erp_requests/{raise_request(emulator, name, data)['id']}").body
    found = {
        "request_data": [shown["request_data"].get("request_detail_id")],
        "root": [shown.get("request_detail_id")],
        "items": [item.get("request_detail_id") for item in shown["request_data"].get("standard_cost_codes", [])],
        "none": [],
    }
    with emulator.lock:
        details = [detail.id for detail in emulator.state.erp_request_details]
    assert details == found[where]
    assert len(details) == {"items": 2, "none": 0}.get(where, 1)


def test_bulk_close_reports_per_item_errors(emulator: ProcoreEmulator, client: ProcoreClient) -> None:
    first, second = (raise_request(emulator, "sync_jobs")["request_data"]["request_detail_id"] for _ in range(2))
    updates = [{"id": first, "status": "success"}, {"id": second, "status": "failed", "messages": ["job code taken"]}]
    assert client.patch(f"{COMPANY}/erp_request_details/sync", {"updates": updates}).body["errors"] == []
    again = client.patch(f"{COMPANY}/erp_request_details/sync", {"updates": [*updates, {"id": 1, "status": "success"}]})
    assert [sorted(error["errors"]) for error in again.body["errors"]] == [["status"], ["status"], ["id"]]


@pytest.mark.parametrize(
    "body",
    [
        {"request_detail": {"status": "in_progress"}},
        {"status": "success"},
        {"request_detail": {"status": "success", "messages": "x"}},
    ],
)
def test_close_out_bodies_must_match_the_schema(emulator: ProcoreEmulator, client: ProcoreClient, body: Any) -> None:
    detail_id = raise_request(emulator, "sync_vendors")["request_data"]["request_detail_id"]
    assert client.patch(f"{COMPANY}/erp_request_details/{detail_id}", body).status == 400


def test_erp_endpoints_refuse_a_company_without_erp_integrations(make_emulator: EmulatorFactory) -> None:
    emulator = make_emulator()
    emulator.seed.company("No ERP", id=COMPANY_ID + 1, erp_connection=False)
    other = ProcoreClient(emulator.url, emulator.issue_token(), COMPANY_ID + 1)
    company = f"/rest/v1.0/companies/{COMPANY_ID + 1}"
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", f"{company}/erp_requests", None),
        ("PATCH", f"{company}/staged_records/sync", {"updates": []}),
        ("PATCH", f"{company}/invoice_payments/sync", {"company_id": COMPANY_ID + 1, "updates": []}),
        ("PATCH", "/rest/v1.0/erp_job_costs/sync", {"company_id": COMPANY_ID + 1, "job_origin_id": "J", "updates": []}),
    ]
    for method, path, body in calls:
        answer = other.call(method, path, body=body)
        assert (answer.status, answer.body) == (403, {"errors": "ERP Integrations is not enabled for this company"})
    admin = ProcoreClient(emulator.url, None, None)
    refused = admin.post("/_emulator/erp_requests", {"company_id": COMPANY_ID + 1, "request_name": "sync_vendors"})
    assert (refused.status, refused.body["errors"]) == (400, f"company {COMPANY_ID + 1} has no ERP connection")


def test_unknown_request_names_and_fields_are_refused(emulator: ProcoreEmulator) -> None:
    admin = ProcoreClient(emulator.url, None, None)
    unknown = admin.post("/_emulator/erp_requests", {"company_id": COMPANY_ID, "request_name": "sync_everything"})
    assert (unknown.status, unknown.body["errors"]) == (
        400,
        "request_name 'sync_everything' is not an event of Procore's ERP events dictionary",
    )
    extra = admin.post("/_emulator/erp_requests", {"company_id": COMPANY_ID, "request_name": "sync_jobs", "when": 1})
    assert (extra.status, extra.body["errors"]) == (400, "unknown fields: when")


def test_a_request_of_another_company_is_not_found(emulator: ProcoreEmulator, client: ProcoreClient) -> None:
    raised = raise_request(emulator, "sync_vendors")
    assert client.get(f"{COMPANY}/erp_requests/{raised['id'] + 1000}").status == 404
    assert client.get(f"/rest/v1.0/companies/{COMPANY_ID + 5}/erp_requests/{raised['id']}").status == 400
