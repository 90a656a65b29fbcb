"""Staged records: the integrator stages ERP vendors and jobs; the accounting approver (an admin action)
imports them, which links the record and raises `create_*_in_procore`."""

from __future__ import annotations

from typing import Any

import pytest

from erpsync_emulators.procore import ProcoreEmulator

from .conftest import COMPANY_ID, ProcoreClient

STAGED = f"/rest/v1.0/companies/{COMPANY_ID}/staged_records"


def stage(client: ProcoreClient, *updates: dict[str, Any]) -> dict[str, Any]:
    answer = client.patch(f"{STAGED}/sync", {"updates": list(updates)})
    assert answer.status == 200, answer.body
    body: dict[str, Any] = answer.body
    return body


def test_staged_vendor_is_approved_into_the_directory(emulator: ProcoreEmulator, client: ProcoreClient) -> None:
    vendor = {"item_type": "vendor", "origin_id": "V100", "origin_code": "ACME", "data": {"name": "Acme Steel"}}
    staged = stage(client, vendor)["entities"][0]
    assert (staged["status"], staged["item_id"]) == ("staged", None)
    assert stage(client, {**vendor, "data": {"name": "Acme Steel Inc"}})["entities"][0]["id"] == staged["id"]

    admin = ProcoreClient(emulator.url, None, None)
    approved = admin.post(f"/_emulator/staged_records/{staged['id']}/approve", {})
    assert approved.status == 201, approved.body
    item = approved.body["item"]
    assert (item["name"], item["origin_id"], item["origin_code"]) == ("Acme Steel Inc", "V100", "ACME")
    request = approved.body["erp_request"]
    assert request["request_name"] == "create_vendor_in_procore"
    assert request["request_data"] == {
        "vendor": {
            "id": item["id"],
            "name": "Acme Steel Inc",
            "origin_id": "V100",
            "origin_code": "ACME",
            "origin_data": None,
        },
        "company_id": COMPANY_ID,
    }
    listed = client.get(STAGED, {"filters[status]": "imported"}).body
    assert [(record["id"], record["item_id"]) for record in listed] == [(staged["id"], item["id"])]
    vendors = client.get("/rest/v1.0/vendors", {"company_id": COMPANY_ID, "filters[origin_id]": "V100"}).body
    assert [vendor["id"] for vendor in vendors] == [item["id"]]
    again = admin.post(f"/_emulator/staged_records/{staged['id']}/approve", {})
    assert (again.status, again.body["errors"]) == (400, f"staged record {staged['id']} is imported, not staged")


def test_a_staged_job_raises_create_job_in_procore(emulator: ProcoreEmulator, client: ProcoreClient) -> None:
    created = client.post(STAGED, {"item_type": "project", "origin_id": "J1", "data": {"name": "Tower"}})
    assert created.status == 201
    assert client.post(STAGED, {"item_type": "project", "origin_id": "J1"}).status == 422
    # The same origin_id under another item type is another record.
    assert client.post(STAGED, {"item_type": "vendor", "origin_id": "J1", "data": {"name": "J"}}).status == 201
    emulator.erp.approve(created.body["id"])
    with emulator.lock:
        requests = [
            (request.fields["request_name"], request.fields["request_data"]) for request in emulator.state.erp_requests
        ]
        project = emulator.state.projects.find_by_origin_id(COMPANY_ID, "J1")
    assert project is not None
    assert requests == [
        (
            "create_job_in_procore",
            {
                "project": {
                    "id": project.id,
                    "name": "Tower",
                    "origin_id": "J1",
                    "origin_code": None,
                    "origin_data": None,
                },
                "company_id": COMPANY_ID,
            },
        )
    ]


@pytest.mark.parametrize(
    ("item", "field"),
    [
        (
            {"item_type": "sub_job", "origin_id": "S1", "data": {"project_origin_id": "nowhere"}},
            "data.project_origin_id",
        ),
        (
            {"item_type": "commitment_change_order", "origin_id": "CO1", "data": {"project_origin_id": "J1"}},
            "data.commitment_origin_id",
        ),
        ({"item_type": "line_item", "origin_id": "L1", "parent_origin_id": "C404"}, "parent_id"),
    ],
)
def test_staged_records_refused_as_the_documentation_says(
    emulator: ProcoreEmulator, client: ProcoreClient, item: dict[str, Any], field: str
) -> None:
    emulator.seed.project(COMPANY_ID, "Tower", origin_id="J1")
    errors = stage(client, item)["errors"]
    assert [sorted(error["errors"]) for error in errors] == [[field]]


def test_children_name_their_parent_by_origin_id(emulator: ProcoreEmulator, client: ProcoreClient) -> None:
    emulator.seed.project(COMPANY_ID, "Tower", origin_id="J1")
    contract = {"item_type": "work_order_contract", "origin_id": "C1", "data": {"project_origin_id": "J1"}}
    line = {"item_type": "line_item", "origin_id": "C1-1", "parent_origin_id": "C1", "data": {"amount": "10.00"}}
    parent, child = stage(client, contract, line)["entities"]
    assert child["parent_id"] == parent["id"]


@pytest.mark.parametrize(
    "item",
    [
        {"item_type": "customer", "origin_id": "X"},
        {"item_type": "vendor"},
        {"item_type": "vendor", "origin_id": "V", "owner": "me"},
    ],
)
def test_staged_record_bodies_must_match_the_schema(client: ProcoreClient, item: dict[str, Any]) -> None:
    assert client.patch(f"{STAGED}/sync", {"updates": [item]}).status == 400


def test_approving_an_unemulated_item_type_is_refused(emulator: ProcoreEmulator) -> None:
    record = emulator.seed.staged_record(COMPANY_ID, "prime_contract", "P1", data={"project_origin_id": "J1"})
    with pytest.raises(ValueError, match="approving a staged prime_contract is not emulated"):
        emulator.erp.approve(record.id)
