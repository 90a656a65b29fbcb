"""`erp-sync-worker check`: every check runs and reports; a failure names what to fix; exit 1 if any failed."""

import httpx
import pytest
from click.testing import CliRunner

from erpsync_worker.cli import main
from erpsync_worker.procore.client import ProcoreError
from tests.worker.conftest import CLIENT_SECRET, World
from tests.worker.test_fidelity import TOKEN, mock_client


def _check(world: World, *args: str, **env: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["check", "--log-format", "text", *args], env=world.env(**env))
    return result.exit_code, result.stdout, result.stderr


def test_a_working_configuration_passes_every_check_of_its_mode(world: World) -> None:
    code, out, err = _check(world)
    assert code == 0 and err == "", err
    for line in (
        "procore token: ok",
        "procore company 4500000001: ok",
        "procore vendors: ok",
        "procore invoice-payments: ok",
        "erp database: ok",
        "erp erpsync_invoice_payments: ok",
        "all checks passed",
    ):
        assert line in out, out
    assert "job-costs" not in out and "erpsync_cost_codes" not in out  # PublicApi mode runs no job costs
    code, out, err = _check(world, "--sync", "job-costs", ERPSYNC_PROCORE_MODE="ErpConnector")
    assert code == 0 and "procore ERP connection: ok" in out and "erp erpsync_cost_codes: ok" in out, err
    assert "erpsync_vendors" not in out  # only the syncs asked for


def test_every_failure_is_reported_with_what_to_fix(world: World) -> None:
    world.execute(
        "DROP TABLE erpsync_cost_codes",
        "DROP TABLE erpsync_job_costs",
        "CREATE TABLE erpsync_job_costs (job_id VARCHAR(20), cost_code VARCHAR(20))",
    )
    code, out, err = _check(world, "--sync", "job-costs,vendors", ERPSYNC_PROCORE_MODE="ErpConnector")
    assert code == 1 and "procore vendors: ok" in out, out
    assert "erp erpsync_cost_codes: view erpsync_cost_codes cannot be read (" in err
    assert "create it with columns job_id, code, name, parent_code" in err
    assert (
        "erp erpsync_job_costs: view erpsync_job_costs lacks columns cost_type, job_to_date_cost, "
        "job_to_date_units, committed_cost, original_estimate, revised_estimate; expected: job_id, cost_code" in err
    )
    assert "2 checks failed" in out
    code, out, err = _check(world, "--sync", "job-costs")
    assert code == 1 and "procore job-costs: not possible in PublicApi mode" in err


def test_credentials_company_and_erp_connection_failures_name_their_fix(world: World) -> None:
    code, out, err = _check(world, PROCORE_CLIENT_SECRET="wrong-secret-value")
    assert code == 1 and "procore token: token request refused: HTTP 401" in err and "credentialsSecretRef" in err
    assert "the other Procore checks need a token" in err and "procore vendors" not in out + err
    assert "erp erpsync_vendors: ok" in out and "1 check failed" in out  # the ERP side is still checked
    assert "wrong-secret-value" not in out + err and CLIENT_SECRET not in out + err
    code, out, err = _check(world, PROCORE_COMPANY_ID="4500000999")
    assert code == 1 and "procore company 4500000999: GET /rest/v1.0/projects: HTTP 403" in err
    assert "install the app in company 4500000999" in err
    # Needs the emulator's ERP connection switch (seed.company(erp_connection=False), issue 11 point 7).
    other = world.procore.seed.company("No ERP Builders", erp_connection=False)
    code, out, err = _check(
        world, "--sync", "vendors", ERPSYNC_PROCORE_MODE="ErpConnector", PROCORE_COMPANY_ID=str(other.id)
    )
    assert code == 1 and "procore ERP connection: GET /rest/v1.0/companies/" in err
    assert "HTTP 403" in err and "the company has no ERP connection" in err


def test_bad_options_are_one_line_errors(world: World) -> None:
    code, _, err = _check(world, "--sync", "vendorz")
    assert code == 1 and err.strip() == (
        "configuration: --sync 'vendorz': unknown sync vendorz; allowed: vendors, jobs, job-costs, invoice-payments"
    )
    code, _, err = _check(world, ERPSYNC_PROCORE_MODE="Partner")
    assert code == 1 and err.startswith("configuration: ERPSYNC_PROCORE_MODE='Partner' is not allowed")


def test_a_check_never_waits_out_a_long_rate_limit() -> None:
    def busy(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json=TOKEN)
        return httpx.Response(429, headers={"Retry-After": "3600"})

    naps: list[float] = []
    client = mock_client(busy, sleep=naps.append, jitter=lambda: 0.0, patience=10.0)
    with pytest.raises(ProcoreError, match="asks to wait 3600 s"):
        client.request("GET", "/rest/v1.0/projects", repeatable=True)
    assert naps == []
