"""Each sync in ErpConnector mode against the Procore emulator and the ERP database: staging, ERP
Requests closed once, and a run that crashes mid-way then reruns without staging or closing twice."""

from typing import Any

import pytest

from erpsync_emulators.procore import FaultResponse
from erpsync_worker.config import ConfigError
from erpsync_worker.summary import Summary
from tests.worker.conftest import COMPANY_ID, World


def run(world: World, sync: str, **env: str) -> Summary:
    return world.run(sync, False, 5.0, ERPSYNC_PROCORE_MODE="ErpConnector", **env)


def _details(world: World) -> dict[int, dict[str, Any]]:
    return {detail["erp_request_id"]: detail for detail in world.table("erp_request_details")}


def _staged(world: World) -> dict[str, str]:
    return {record["origin_id"]: record["item_type"] for record in world.table("staged_records")}


@pytest.mark.parametrize(
    ("sync", "request_name", "counts", "staged", "status"),
    [
        # V400 has no name (failed); V100, V200, V300 and V500 wait for approval; nothing is created.
        (
            "vendors",
            "sync_vendors",
            {"failed": 1, "created": 0, "staged": 4},
            {"V100", "V200", "V300", "V500"},
            "failed",
        ),
        # J1 is updated, J2 unchanged, J3 (no project) staged.
        ("jobs", "sync_jobs", {"updated": 1, "unchanged": 1, "staged": 1}, {"J3"}, "success"),
        (
            "job-costs",
            "sync_standard_cost_codes",
            {"failed": 0, "assignmentsSent": 1, "jobCostLinesSent": 1},
            set(),
            "success",
        ),
        # PAY-1 is on the exported invoice INV-1; PAY-2 has no invoice, PAY-3 no linked job.
        ("invoice-payments", "sync_contract_payments", {"skipped": 2, "invoicePaymentsSent": 1}, set(), "success"),
    ],
)
def test_each_sync_handles_its_request_and_closes_it(
    world: World, sync: str, request_name: str, counts: dict[str, int], staged: set[str], status: str
) -> None:
    request = world.procore.erp.raise_request(COMPANY_ID, request_name)
    summary = run(world, sync, ERPSYNC_ERP_REQUEST_ID=str(request.id))
    found = summary.as_dict()
    assert {name: found[name] for name in counts} == counts, found
    assert set(_staged(world)) == staged and found["requestsClosed"] == 1
    detail = _details(world)[request.id]
    assert detail["status"] == status and detail["messages"][0].startswith(f"{sync}: ")
    assert "V100" not in {vendor.get("origin_id") for vendor in world.table("vendors")}  # staged, never created
    again = run(world, sync)  # a scheduled run: no open request left, nothing staged again
    assert (again.extra["requestsClosed"], again.extra.get("staged", 0)) == (0, 0), again.as_dict()


def test_job_costs_sync_cost_types_and_assignments_before_job_costs(world: World) -> None:
    world.insert("erpsync_job_costs", {"job_id": "J1", "cost_code": "03", "cost_type": "M", "job_to_date_cost": "1"})
    summary = run(world, "job-costs")
    types = {t["origin_id"]: t for t in world.table("line_item_types") if t.get("origin_id")}
    assert types["type/L"]["name"] == "Labor" and types["type/M"]["name"] == "M"  # L linked, M created
    assert (summary.extra["assignmentsSent"], summary.extra["jobCostLinesSent"]) == (2, 2), summary.as_dict()
    assert run(world, "job-costs").extra.get("assignmentsSent") == 2  # no read exists: sent again, upserted
    assert len(world.table("cost_code_line_item_types")) == 2 and len(world.table("line_item_types")) == 2
    assignments = {(a["cost_code_id"], a["line_item_type_id"]) for a in world.table("cost_code_line_item_types")}
    assert assignments == {(cost["cost_code_id"], cost["line_item_type_id"]) for cost in world.table("erp_job_costs")}
    assert all(a["synced"] for a in world.table("cost_code_line_item_types"))
    log = [entry.path for entry in world.procore.requests.recent() if entry.method == "PATCH"]
    order = [
        "/rest/v1.0/line_item_types/sync",
        "/rest/v1.0/cost_code_line_item_types/sync",
        "/rest/v1.0/erp_job_costs/sync",
    ]
    assert [log.index(path) for path in order] == sorted(log.index(path) for path in order)


def test_invoice_payments_are_keyed_by_the_exported_invoice(world: World) -> None:
    run(world, "invoice-payments")
    (payment,) = world.table("invoice_payments")
    assert (payment["origin_id"], payment["invoice_type"], payment["amount"]) == (
        "PAY-1",
        "Billings::Requisition",
        "0.30",
    )
    assert world.table("contract_payments") == []


def test_approval_comes_back_as_a_request_and_the_approved_vendor_is_then_updated(world: World) -> None:
    run(world, "vendors")
    staged_id = next(r["id"] for r in world.table("staged_records") if r["origin_id"] == "V100")
    _, imported = world.procore.erp.approve(staged_id)
    summary = run(world, "vendors", ERPSYNC_ERP_REQUEST_ID=str(imported.id))
    # V100 is now linked and as the ERP has it; V200, V300 and V500 still wait; V400 has no name.
    assert (summary.unchanged, summary.failed, summary.extra.get("staged", 0)) == (4, 1, 0), summary.as_dict()
    assert summary.extra["requestsClosed"] == 0  # create_vendor_in_procore has no detail to close
    assert world.procore.requests.count("PATCH", "/rest/v1.0/companies/{company_id}/staged_records/sync") == 1


def test_automatic_approval_writes_new_vendors_and_jobs_directly(world: World) -> None:
    vendors = run(world, "vendors", ERPSYNC_VENDORS_APPROVAL="Automatic")
    jobs = run(world, "jobs", ERPSYNC_JOBS_APPROVAL="Automatic")
    assert (vendors.created, jobs.created) == (3, 1) and _staged(world) == {}
    assert {"V100", "J3"} <= {r["origin_id"] for r in world.table("vendors") + world.table("projects")}


def test_a_scheduled_run_closes_every_open_request_of_its_sync_only(world: World) -> None:
    mine = [world.procore.erp.raise_request(COMPANY_ID, "sync_jobs") for _ in range(2)]
    other = world.procore.erp.raise_request(COMPANY_ID, "sync_vendors")
    summary = run(world, "jobs")
    assert summary.extra["requestsClosed"] == 2
    statuses = {request: detail["status"] for request, detail in _details(world).items()}
    assert [statuses[request.id] for request in mine] == ["success", "success"]
    assert statuses[other.id] == "in_progress"


def test_a_run_started_for_another_syncs_request_does_nothing_and_succeeds(world: World) -> None:
    """The receiver starts every sync that runs on ERP Requests (a delivery does not name the event): the jobs
    run started for a sync_vendors request leaves it to the vendors run, without failing."""
    request = world.procore.erp.raise_request(COMPANY_ID, "sync_vendors")
    summary = run(world, "jobs", ERPSYNC_ERP_REQUEST_ID=str(request.id))
    assert summary.fatal is None and summary.failed == 0 and summary.read == 0
    assert summary.extra["erpRequests"] == 0
    assert _details(world)[request.id]["status"] == "in_progress"


@pytest.mark.parametrize(
    ("path", "times", "after_applying"),
    [
        # The worker dies after staging, before closing: every try to close fails.
        ("/rest/v1.0/companies/*/erp_request_details/*", 6, False),
        # The close went through but its answer was lost: the retry is told "already closed".
        ("/rest/v1.0/companies/*/erp_request_details/*", 1, True),
        # Staging went through but its answers were lost until the run gave up.
        ("/rest/v1.0/companies/*/staged_records/sync", 6, True),
    ],
)
def test_a_crash_mid_run_then_a_rerun_stages_nothing_twice_and_closes_once(
    world: World, path: str, times: int, after_applying: bool
) -> None:
    request = world.procore.erp.raise_request(COMPANY_ID, "sync_vendors")
    world.procore.inject_fault(
        "PATCH", path, FaultResponse.INTERNAL_SERVER_ERROR, times=times, after_applying=after_applying
    )
    first = run(world, "vendors", ERPSYNC_ERP_REQUEST_ID=str(request.id))
    rerun = run(world, "vendors", ERPSYNC_ERP_REQUEST_ID=str(request.id))
    assert sorted(_staged(world)) == ["V100", "V200", "V300", "V500"]
    assert len(world.table("staged_records")) == 4 and rerun.extra.get("staged", 0) == 0, rerun.as_dict()
    assert first.extra["requestsClosed"] + rerun.extra["requestsClosed"] == 1, (first.as_dict(), rerun.as_dict())
    assert _details(world)[request.id]["status"] == "failed"  # V400 has no name
    assert rerun.fatal is None


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "ERPSYNC_VENDORS_APPROVAL",
            "Manual",
            "ERPSYNC_VENDORS_APPROVAL='Manual' is not allowed; allowed: Required, Automatic",
        ),
        (
            "ERPSYNC_JOBS_APPROVAL",
            "automatic",
            "ERPSYNC_JOBS_APPROVAL='automatic' is not allowed; allowed: Required, Automatic",
        ),
        ("ERPSYNC_ERP_REQUEST_ID", "r-12", "ERPSYNC_ERP_REQUEST_ID='r-12' is not an integer"),
    ],
)
def test_a_bad_connector_setting_is_one_line_naming_it(world: World, variable: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        world.config(**{variable: value})
    assert str(refused.value) == message
