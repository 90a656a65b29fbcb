"""The ERP-only sync endpoints (invoice payments, cost code / cost type assignments) and the rules
every `/sync` shares: batch limit, per-item errors, and one integration per origin_id."""

from __future__ import annotations

from typing import Any

import pytest

from erpsync_emulators.procore import ProcoreEmulator

from .conftest import COMPANY_ID, ProcoreClient

PAYMENTS_SYNC = f"/rest/v1.0/companies/{COMPANY_ID}/invoice_payments/sync"
ASSIGNMENTS_SYNC = "/rest/v1.0/cost_code_line_item_types/sync"


def synced_invoice(emulator: ProcoreEmulator, origin_id: str | None = "INV-1") -> int:
    project = emulator.seed.project(COMPANY_ID, "Tower", origin_id=f"J-{origin_id}")
    contract = emulator.seed.work_order_contract(project.id, number="SC-1")
    fields = {} if origin_id is None else {"origin_id": origin_id}
    return emulator.seed.requisition(contract.id, number=1, **fields).id


def pay(client: ProcoreClient, *updates: dict[str, Any]) -> dict[str, Any]:
    answer = client.patch(PAYMENTS_SYNC, {"company_id": COMPANY_ID, "updates": list(updates)})
    assert answer.status == 200, answer.body
    body: dict[str, Any] = answer.body
    return body


def test_invoice_payments_upsert_by_origin_id_on_synced_invoices(
    emulator: ProcoreEmulator, client: ProcoreClient
) -> None:
    invoice_id = synced_invoice(emulator)
    payment = {
        "invoice_type": "Billings::Requisition",
        "invoice_id": invoice_id,
        "origin_id": "PAY-1",
        "amount": "99.90",
    }
    created = pay(client, payment)["entities"][0]
    assert (created["amount"], created["status"], created["invoice_id"]) == ("99.90", "paid", invoice_id)
    updated = pay(client, {"origin_id": "PAY-1", "status": "voided", "check_number": "1042"})["entities"][0]
    assert (updated["id"], updated["status"], updated["amount"]) == (created["id"], "voided", "99.90")
    with emulator.lock:
        assert len(emulator.state.invoice_payments) == 1


def test_payments_on_invoices_not_synced_are_refused_per_item(emulator: ProcoreEmulator, client: ProcoreClient) -> None:
    unsynced = synced_invoice(emulator, origin_id=None)
    body = pay(
        client,
        {"invoice_type": "Billings::Requisition", "invoice_id": unsynced, "origin_id": "PAY-2"},
        {"origin_id": "PAY-3", "amount": "1.00"},
    )
    assert body["entities"] == []
    assert [error["errors"] for error in body["errors"]] == [
        {"invoice_id": ["is not synced with the ERP (it has no origin_id)"]},
        {"invoice_type": ["can't be blank"], "invoice_id": ["can't be blank"]},
    ]


@pytest.mark.parametrize(
    "item",
    [
        {"invoice_type": "Billings::PrimeContract", "invoice_id": 1},
        {"invoice_type": "Billings::Requisition", "invoice_id": 1, "amount": 9.5},
        {"invoice_type": "Billings::Requisition", "invoice_id": 1, "payment_method": "cash"},
        {"invoice_type": "Billings::Requisition", "invoice_id": 1, "date": "31/01/2026"},
    ],
)
def test_invoice_payment_bodies_must_match_the_schema(client: ProcoreClient, item: dict[str, Any]) -> None:
    assert client.patch(PAYMENTS_SYNC, {"company_id": COMPANY_ID, "updates": [item]}).status == 400


def test_cost_type_assignments_upsert_by_cost_code_and_type(emulator: ProcoreEmulator, client: ProcoreClient) -> None:
    project = emulator.seed.project(COMPANY_ID, "Tower", origin_id="J1")
    code = emulator.seed.cost_code(project.id, "100", "Supervision")
    labour = emulator.seed.line_item_type(COMPANY_ID, "Labor")
    row = {"cost_code_id": code.id, "line_item_type_id": labour.id, "synced": True}
    first = client.patch(ASSIGNMENTS_SYNC, {"updates": [row]}, {"project_id": project.id}).body["entities"][0]
    assert (first["project_id"], first["synced"]) == (project.id, True)
    again = client.patch(
        ASSIGNMENTS_SYNC,
        {"updates": [{**row, "synced": False}, {**row, "cost_code_id": 1}]},
        {"project_id": project.id},
    )
    assert [(entity["id"], entity["synced"]) for entity in again.body["entities"]] == [(first["id"], False)]
    assert again.body["errors"][0]["errors"] == {"cost_code_id": ["is not a cost code of this project"]}
    assert client.patch(ASSIGNMENTS_SYNC, {"updates": [row]}).status == 400  # project_id is required


@pytest.mark.parametrize(
    ("path", "scope", "item"),
    [
        (PAYMENTS_SYNC, {"company_id": COMPANY_ID}, {"origin_id": "P"}),
        ("/rest/v1.0/line_item_types/sync", {"company_id": COMPANY_ID}, {"name": "Labor"}),
        (f"/rest/v1.0/companies/{COMPANY_ID}/staged_records/sync", {}, {"item_type": "vendor", "origin_id": "V"}),
    ],
)
def test_batches_over_1000_items_are_refused(
    client: ProcoreClient, path: str, scope: dict[str, Any], item: dict[str, Any]
) -> None:
    answer = client.patch(path, {**scope, "updates": [item] * 1001})
    assert (answer.status, answer.body["errors"]) == (400, {"updates": ["must not have more than 1000 items"]})


def test_cost_types_take_only_documented_base_types(client: ProcoreClient) -> None:
    item = {"name": "Labor", "csv_import_code": "L", "base_type": "labor", "origin_id": "lab-1"}
    answer = client.patch("/rest/v1.0/line_item_types/sync", {"company_id": COMPANY_ID, "updates": [item]})
    assert answer.status == 400
    assert "updates[0].base_type" in answer.body["errors"]


def test_an_origin_id_owned_by_another_integration_is_refused(emulator: ProcoreEmulator, client: ProcoreClient) -> None:
    emulator.seed.vendor(COMPANY_ID, "Acme", origin_id="V1", origin_owner="procore-sage-connector")
    mine = emulator.seed.vendor(COMPANY_ID, "Beta")
    answer = client.patch(
        "/rest/v1.0/vendors/sync",
        {
            "company_id": COMPANY_ID,
            "updates": [{"origin_id": "V1", "name": "Acme 2"}, {"id": mine.id, "origin_id": "V2"}],
        },
    )
    assert [error["errors"] for error in answer.body["errors"]] == [
        {"origin_id": ["is owned by another integration (procore-sage-connector)"]}
    ]
    with emulator.lock:
        assert mine.origin_owner == "erp-sync-client"  # the OAuth client that wrote V2 now owns it
    other_client = "other-erp-app"
    emulator.config.clients[other_client] = "secret"
    other = ProcoreClient(emulator.url, emulator.issue_token(other_client), COMPANY_ID)
    taken = other.patch(
        "/rest/v1.0/vendors/sync", {"company_id": COMPANY_ID, "updates": [{"origin_id": "V2", "name": "B"}]}
    )
    assert taken.body["errors"][0]["errors"] == {"origin_id": ["is owned by another integration (erp-sync-client)"]}
