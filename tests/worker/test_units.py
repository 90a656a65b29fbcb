"""The worker's parts on their own: configuration, the summary, redaction, the token's host.

Throttling is in test_throttle.py, the rows of the ERP's views in test_rows.py."""

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from erpsync_emulators.procore import FaultResponse
from erpsync_worker.config import ConfigError, load_config
from erpsync_worker.logs import Redactor
from erpsync_worker.procore.client import ProcoreClient, ProcoreError
from erpsync_worker.summary import TERMINATION_MESSAGE_LIMIT, Summary
from tests.worker.conftest import World

BASE = {
    "PROCORE_API_URL": "http://127.0.0.1:1",
    "PROCORE_LOGIN_URL": "http://127.0.0.1:1",
    "PROCORE_COMPANY_ID": "42",
    "PROCORE_CLIENT_ID": "id",
    "PROCORE_CLIENT_SECRET": "secret",
    "ERP_DATABASE_URL": "sqlite://",
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"PROCORE_API_URL": ""}, "PROCORE_API_URL is not set"),
        ({"PROCORE_LOGIN_URL": "ftp://x"}, "PROCORE_LOGIN_URL='ftp://x' is not an http:// or https:// URL"),
        ({"PROCORE_COMPANY_ID": "abc"}, "PROCORE_COMPANY_ID='abc' is not an integer"),
        ({"PROCORE_COMPANY_ID": "0"}, "PROCORE_COMPANY_ID=0 is out of range"),
        ({"PROCORE_CLIENT_SECRET": ""}, "PROCORE_CREDENTIALS_DIR"),
        ({"ERP_DATABASE_URL": ""}, "ERP_CREDENTIALS_DIR"),
        ({"ERPSYNC_COST_CODES": "All"}, "ERPSYNC_COST_CODES='All' is not allowed"),
        ({"ERPSYNC_CREATE_PROJECTS": "yes"}, "ERPSYNC_CREATE_PROJECTS='yes' is not allowed; allowed: true, false"),
        ({"ERPSYNC_BATCH_SIZE": "5000"}, "ERPSYNC_BATCH_SIZE=5000 is out of range; allowed: 1 to 1000"),
        ({"ERP_QUERIES_FILE": "/nonexistent.yaml"}, "ERP_QUERIES_FILE='/nonexistent.yaml' is not a readable file"),
    ],
)
def test_every_configuration_error_names_its_variable(change: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("?", r"\?")):
        load_config({**BASE, **change})


def test_credentials_come_from_the_mounted_secret_files(tmp_path: Path) -> None:
    (tmp_path / "procore").mkdir()
    (tmp_path / "procore" / "client_id").write_text("file-id\n")
    (tmp_path / "procore" / "client_secret").write_text("file-secret")
    (tmp_path / "erp").mkdir()
    (tmp_path / "erp" / "url").write_text("sqlite:///erp.db")
    env = {**BASE, "PROCORE_CREDENTIALS_DIR": str(tmp_path / "procore"), "ERP_CREDENTIALS_DIR": str(tmp_path / "erp")}
    config = load_config(env)
    assert (config.client_id.value, config.client_secret.value) == ("file-id", "file-secret")
    assert config.database_url.value == "sqlite:///erp.db"
    assert "file-secret" not in repr(config) and str(config.client_secret) == "***"


def test_the_summary_fits_the_termination_message_by_dropping_errors() -> None:
    summary = Summary(sync="vendors", failed=500)
    for index in range(500):
        summary.errors.append(f"vendor V{index}: " + "x" * 250)  # bypass the cap on purpose
    line = summary.to_json()
    assert len(line.encode()) <= TERMINATION_MESSAGE_LIMIT
    data = json.loads(line)
    assert data["errorsTruncated"] is True and data["failed"] == 500 and data["result"] == "PartiallyFailed"


def test_the_worker_starts_without_pydantic() -> None:
    """The worker shares the run counts and the vocabulary of the API, not its pydantic models: pydantic
    alone is some 9 MiB more in every worker pod (docs/benchmarks.md, "Worker: vendors")."""
    script = "import sys, erpsync_worker.cli; print(sorted({m.split('.')[0] for m in sys.modules} & {'pydantic'}))"
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_redaction_replaces_secrets_in_messages_and_tracebacks() -> None:
    redactor = Redactor(["s3cr3t-value"])
    record = logging.makeLogRecord({"msg": "token %s", "args": ("s3cr3t-value",)})
    try:
        raise ValueError("s3cr3t-value leaked")
    except ValueError:
        record.exc_info = sys.exc_info()
    redactor.filter(record)
    assert "s3cr3t-value" not in record.getMessage() and "s3cr3t-value" not in (record.exc_text or "")


def test_the_token_is_never_sent_to_another_host(world: World) -> None:
    client = ProcoreClient(world.config())
    with pytest.raises(ProcoreError, match="refusing to send the token to another host"):
        client.request("GET", "http://198.51.100.7/rest/v1.0/vendors", repeatable=True)
    assert world.procore.requests.total == 0
    client.close()


def test_a_non_repeatable_request_is_not_resent_after_a_server_error(world: World) -> None:
    world.procore.inject_fault("POST", "/rest/v1.0/projects", FaultResponse.INTERNAL_SERVER_ERROR)
    client = ProcoreClient(world.config(), sleep=lambda _: None)
    with pytest.raises(ProcoreError, match="outcome unknown"):
        client.post("/rest/v1.0/projects", {"company_id": 1, "project": {"name": "x"}})
    assert world.procore.requests.count("POST", "/rest/v1.0/projects") == 1
    client.close()


def test_check_says_what_failed(world: World, tmp_path: Path) -> None:
    worker = str(Path(sys.executable).with_name("erp-sync-worker"))
    good = subprocess.run([worker, "check"], env=world.env(), capture_output=True, text=True, timeout=60)
    assert good.returncode == 0 and "procore token: ok" in good.stdout and "erp database: ok" in good.stdout
    bad = subprocess.run(
        [worker, "check"],
        env=world.env(PROCORE_CLIENT_SECRET="wrong", ERP_DATABASE_URL=f"sqlite:///{tmp_path}/no/such/dir/x.db"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1
    assert (
        "procore token: token request refused: HTTP 401" in bad.stderr
        and "erp database: the ERP database cannot be opened" in bad.stderr
    )
    assert "wrong" not in bad.stderr


def test_a_queries_file_replaces_a_view(world: World, tmp_path: Path) -> None:
    world.execute(
        "CREATE TABLE ap_vendor (vendor VARCHAR(20), title VARCHAR(80), status CHAR(1))",
        "INSERT INTO ap_vendor VALUES ('Q1', 'Query Vendor', 'A'), ('Q2', 'Gone', 'I')",
    )
    queries = tmp_path / "queries.yaml"
    queries.write_text(
        "erpsync_vendors: |\n"
        "  SELECT vendor AS vendor_id, vendor AS code, title AS name, NULL AS address, NULL AS city,\n"
        "         NULL AS state_code, NULL AS zip, NULL AS country_code, NULL AS phone, NULL AS email,\n"
        "         status = 'A' AS is_active\n"
        "  FROM ap_vendor\n"
    )
    summary = world.run("vendors", ERP_QUERIES_FILE=str(queries))
    assert (summary.read, summary.created, summary.failed) == (2, 2, 0), summary.as_dict()
    vendors = {v["origin_id"]: v for v in world.table("vendors")}
    assert vendors["Q1"]["name"] == "Query Vendor" and vendors["Q2"]["is_active"] is False
    bad = tmp_path / "bad.yaml"
    bad.write_text("erpsync_vendorz: SELECT 1\n")
    failed = world.run("vendors", ERP_QUERIES_FILE=str(bad))
    assert failed.result == "Failed" and "unknown view erpsync_vendorz" in (failed.fatal or "")
