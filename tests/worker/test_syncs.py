"""Each sync end to end, against the Procore emulator and a real ERP database; a second run changes nothing."""

from decimal import Decimal

from tests.worker.conftest import World


def test_vendors_sync_creates_reports_bad_rows_and_then_changes_nothing(world: World) -> None:
    summary = world.run("vendors")
    assert (summary.read, summary.created, summary.failed) == (5, 3, 2), summary.as_dict()
    assert summary.result == "PartiallyFailed" and summary.exit_code == 2
    assert any("V400" in error and "name is missing" in error for error in summary.errors)
    assert any("V500" in error and "state_code" in error for error in summary.errors)
    vendors = {v["origin_id"]: v for v in world.table("vendors")}
    assert vendors["V100"]["business_phone"] == "312-555-0100" and vendors["V100"]["email_address"] == "ap@acme.example"
    assert vendors["V300"]["is_active"] is False
    assert "V400" not in vendors and "V500" not in vendors
    again = world.run("vendors")
    assert (again.created, again.updated, again.unchanged, again.failed) == (0, 0, 3, 2), again.as_dict()
    assert (
        world.procore.requests.count("PATCH", "/rest/v1.0/vendors/sync") == 2
    )  # the second run sent only the 2 bad rows


def test_an_erp_change_is_an_update(world: World) -> None:
    world.run("vendors")
    world.execute("UPDATE erpsync_vendors SET city = 'Evanston' WHERE vendor_id = 'V100'")
    summary = world.run("vendors")
    assert (summary.created, summary.updated, summary.unchanged) == (0, 1, 2)
    assert {v["origin_id"]: v for v in world.table("vendors")}["V100"]["city"] == "Evanston"


def test_jobs_sync_updates_linked_projects_and_skips_unlinked(world: World) -> None:
    summary = world.run("jobs")
    assert (summary.updated, summary.skipped, summary.unchanged) == (1, 1, 1), summary.as_dict()
    assert any("J3" in error and "no Procore project" in error for error in summary.errors)
    projects = {p["origin_id"]: p for p in world.table("projects")}
    assert projects["J1"]["name"] == "Riverside Tower" and projects["J1"]["project_number"] == "2026-001"
    assert "J3" not in projects
    again = world.run("jobs")
    assert (again.updated, again.unchanged, again.skipped) == (0, 2, 1)


def test_jobs_sync_creates_projects_when_asked(world: World) -> None:
    summary = world.run("jobs", ERPSYNC_CREATE_PROJECTS="true")
    assert summary.created == 1 and summary.skipped == 0
    assert world.procore.requests.count("POST", "/rest/v1.0/projects") == 1
    assert "J3" in {p["origin_id"] for p in world.table("projects")}
    assert world.run("jobs", ERPSYNC_CREATE_PROJECTS="true").created == 0


def test_job_costs_sync_cost_codes_parents_first_and_job_to_date_costs(world: World) -> None:
    summary = world.run("job-costs")
    assert summary.failed == 0, summary.as_dict()
    standard = {c["code"]: c for c in world.table("standard_cost_codes")}
    assert standard["100"]["parent_id"] == standard["01"]["id"]  # the view's 01-100: Procore adds the prefix
    project_codes = {c["code"]: c for c in world.table("cost_codes") if c.get("origin_id")}
    assert project_codes["300"]["parent_id"] == project_codes["03"]["id"]
    costs = world.table("erp_job_costs")
    assert len(costs) == 1 and Decimal(costs[0]["job_to_date_cost"]) == Decimal("12500.30")
    assert summary.extra["jobCostLinesSent"] == 1
    again = world.run("job-costs")
    assert (again.created, again.updated) == (0, 0) and again.unchanged == 4
    assert len(world.table("erp_job_costs")) == 1


def test_invoice_payments_exactly_once_with_exact_amounts(world: World) -> None:
    summary = world.run("invoice-payments")
    assert (summary.created, summary.skipped, summary.failed) == (2, 1, 0), summary.as_dict()
    payments = {p["origin_id"]: p for p in world.table("contract_payments")}
    assert payments["PAY-1"]["amount"] == "0.30" or Decimal(payments["PAY-1"]["amount"]) == Decimal("0.30")
    assert payments["PAY-1"]["requisition_id"] is not None
    assert payments["PAY-2"]["contract_id"] == world.contracts["C1"]
    again = world.run("invoice-payments")
    assert (again.created, again.unchanged) == (0, 2)
    assert len(world.table("contract_payments")) == 2


def test_dry_run_writes_nothing(world: World) -> None:
    summary = world.run("vendors", dry_run=True)
    # V500's bad state code is Procore's to refuse: a dry run cannot know, and counts it as a create.
    assert summary.created == 4 and summary.failed == 1 and summary.dry_run
    assert world.table("vendors") == []
    assert world.procore.requests.count("PATCH", "/rest/v1.0/vendors/sync") == 0
