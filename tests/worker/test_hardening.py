"""Hardening: secrets in URL errors, token retries, row errors naming their row, duplicate keys, money bounds."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from erpsync_emulators.procore import FaultResponse
from erpsync_worker.erp.connector import ErpError, SqlConnector
from erpsync_worker.logs import Redactor
from tests.worker.conftest import World

WORKER = str(Path(sys.executable).with_name("erp-sync-worker"))
UNENCODED = "postgresql+psycopg://erpsync:Erp#P@ss:w0rd/%?@127.0.0.1:55999/erp"
ODBC = "Pwd=Hunter2Secret;Server=tcp:db,1433;Uid=erp"
PASSWORD_PIECES = ("Erp#P", "w0rd", "Hunter2", "Pwd=", "Server=tcp")


def _no_piece_of_a_password(text: str) -> None:
    for piece in PASSWORD_PIECES:
        assert piece not in text, text


# --- 1, 2: a database URL that cannot be parsed ---------------------------------------------------


def test_an_unencoded_password_fails_the_run_clearly_and_quotes_nothing_of_it(world: World, tmp_path: Path) -> None:
    summary = world.run("vendors", ERP_DATABASE_URL=UNENCODED, TERMINATION_MESSAGE_PATH=str(tmp_path / "t"))
    assert summary.result == "Failed"
    fatal = summary.fatal or ""
    assert "cannot be parsed (scheme 'postgresql+psycopg')" in fatal and "URL-encode" in fatal, fatal
    assert "user:password@host:port/database" in fatal and "***" not in fatal  # the hint survives redaction
    assert "internal error" not in fatal
    _no_piece_of_a_password(summary.to_json())


def test_check_on_an_unencoded_password_says_what_is_wrong_without_a_traceback(world: World) -> None:
    env = {**world.env(ERP_DATABASE_URL=UNENCODED), **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"}}
    done = subprocess.run([WORKER, "check"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "erp database: the ERP database URL cannot be parsed" in done.stderr, (
        done.stderr
    )
    assert "procore token: ok" in done.stdout
    _no_piece_of_a_password(done.stdout + done.stderr)


@pytest.mark.parametrize("url", [ODBC, "Hunter2Secret:x@db/erp", "hunter2secret://u:p@db/erp"])
def test_a_url_error_quotes_at_most_a_recognised_scheme(url: str) -> None:
    with pytest.raises(ErpError) as caught:
        SqlConnector(url)
    message = str(caught.value)
    assert "no recognised dialect+driver:// scheme" in message, message
    assert "Hunter2" not in message and "hunter2" not in message and "Pwd" not in message


def test_redaction_covers_password_fragments_and_any_url_userinfo() -> None:
    redactor = Redactor([UNENCODED, ODBC])
    text = redactor.redact(
        "ValueError: invalid literal for int() with base 10: 'w0rd'; password 'Erp#P'; ODBC Hunter2Secret; "
        "also mysql://bob:S3kr1t@db/x and https://user:tok@example.com/a; reading erpsync_vendors"
    )
    _no_piece_of_a_password(text)
    assert "S3kr1t" not in text and "tok@" not in text and "bob" not in text
    assert "mysql://***@db/x" in text and "erpsync_vendors" in text  # the user name alone is not a fragment


# --- 13: the token request follows the API's retry policy -----------------------------------------


@pytest.mark.parametrize(
    "fault", [FaultResponse.TOO_MANY_REQUESTS, FaultResponse.SERVICE_UNAVAILABLE, FaultResponse.INTERNAL_SERVER_ERROR]
)
def test_a_token_request_answered_429_or_5xx_is_retried(world: World, fault: FaultResponse) -> None:
    world.procore.inject_fault("POST", "/oauth/token", fault, times=2)
    summary = world.run("vendors")
    assert summary.fatal is None and summary.created == 3, summary.as_dict()
    assert world.procore.requests.count("POST", "/oauth/token") == 3


def test_a_token_request_that_times_out_is_retried(world: World) -> None:
    world.procore.inject_fault("POST", "/oauth/token", FaultResponse.HANG, hang_seconds=2)
    summary = world.run("vendors", timeout=0.5)
    assert summary.fatal is None and summary.created == 3, summary.as_dict()


def test_a_refused_token_request_is_not_retried(world: World) -> None:
    summary = world.run("vendors", PROCORE_CLIENT_SECRET="wrong-secret")
    assert summary.result == "Failed" and "HTTP 401" in (summary.fatal or "")
    assert world.procore.requests.count("POST", "/oauth/token") == 1
    assert "wrong-secret" not in json.dumps(summary.as_dict())


# --- 15: a row error names the view, the row's key and the column ---------------------------------

_VENDOR_COLUMNS = "NULL AS address, NULL AS city, NULL AS state_code, NULL AS zip, NULL AS country_code, NULL AS phone"


def _vendor_query(tmp_path: Path, *rows: tuple[str, str, str]) -> str:
    """A queries file whose erpsync_vendors holds exactly these (vendor_id, name, is_active) rows."""
    selects = " UNION ALL ".join(
        f"SELECT '{vendor}' AS vendor_id, '{vendor}' AS code, '{name}' AS name, {_VENDOR_COLUMNS}, "
        f"NULL AS email, '{active}' AS is_active"
        for vendor, name, active in rows
    )
    path = tmp_path / "queries.yaml"
    path.write_text(f"erpsync_vendors: |\n  {selects}\n")
    return str(path)


def test_a_bad_boolean_names_the_view_the_key_and_the_column(world: World, tmp_path: Path) -> None:
    queries = _vendor_query(tmp_path, ("V1", "Good", "Y"), ("V9", "Bad", "maybe"))
    summary = world.run("vendors", ERP_QUERIES_FILE=queries)
    assert (summary.created, summary.failed) == (1, 1), summary.as_dict()
    [error] = summary.errors
    assert error.startswith("erpsync_vendors row 2 (vendor_id='V9'): is_active='maybe' is not a boolean"), error
    assert "allowed:" in error


def test_every_view_names_its_key_in_row_errors() -> None:
    from erpsync_worker.erp.rows import ROW_NUMBER, RowError
    from erpsync_worker.syncs import invoice_payments, jobs

    with pytest.raises(RowError, match=r"^erpsync_jobs row 3 \(job_id='J7'\): is_active='perhaps' is not a boolean"):
        jobs.payload({"job_id": "J7", "name": "x", "is_active": "perhaps", ROW_NUMBER: 3})
    with pytest.raises(
        RowError, match=r"^erpsync_invoice_payments row 1 \(payment_id='P1'\): amount='abc' is not a decimal"
    ):
        invoice_payments.payment_fields({"payment_id": "P1", "amount": "abc", ROW_NUMBER: 1})
    with pytest.raises(RowError, match=r"^erpsync_jobs row 2 \(job_id missing\): job_id is missing"):
        jobs.payload({"job_id": None, "name": "x", ROW_NUMBER: 2})


# --- 14: duplicate keys ---------------------------------------------------------------------------


def test_duplicate_keys_are_reported_once_one_row_wins_and_counts_stay_right(world: World, tmp_path: Path) -> None:
    # The same rows in two physical orders: the same row wins either way.
    for order, rows in enumerate(
        [
            (("V1", "Zeta Supply", "Y"), ("V1", "Alpha Supply", "Y"), ("V2", "Other", "Y")),
            (("V2", "Other", "Y"), ("V1", "Alpha Supply", "Y"), ("V1", "Zeta Supply", "Y")),
        ]
    ):
        queries = _vendor_query(tmp_path, *rows)
        summary = world.run("vendors", ERP_QUERIES_FILE=queries)
        expected = (2, 0, 0, 1) if order == 0 else (0, 0, 2, 1)
        assert (summary.created, summary.updated, summary.unchanged, summary.failed) == expected, summary.as_dict()
        [error] = summary.errors
        assert error.startswith("erpsync_vendors (vendor_id='V1'): 2 rows have this key; row 1 is used"), error
        assert world.procore.requests.count("PATCH", "/rest/v1.0/vendors/sync") == 1  # the second run sent nothing
        assert {v["origin_id"]: v["name"] for v in world.table("vendors")}["V1"] == "Alpha Supply"


# --- 5: money -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("1E+1000000", "is out of range; allowed: less than 10^13"),
        ("1E+999999999", "is out of range; allowed: less than 10^13"),
        ("-1E+999999999", "is out of range"),
        ("10000000000000", "is out of range"),
        (1e300, "is out of range"),
        ("1" * 1_000_000, "is too long for an amount (at most 64 characters)"),
        ("NaN", "is not a decimal amount"),
    ],
)
def test_amounts_procore_cannot_store_are_refused_per_row_at_once(value: object, problem: str) -> None:
    import time

    from erpsync_worker.erp.rows import ROW_NUMBER, RowError
    from erpsync_worker.syncs import invoice_payments

    started = time.monotonic()
    with pytest.raises(RowError) as caught:
        invoice_payments.payment_fields({"payment_id": "P1", "amount": value, ROW_NUMBER: 4})
    assert time.monotonic() - started < 0.5
    message = str(caught.value)
    assert message.startswith("erpsync_invoice_payments row 4 (payment_id='P1'): amount=") and problem in message
    assert len(message) < 300


def test_amounts_round_half_up_to_cents_and_negative_is_refused_for_payments_only() -> None:
    from decimal import Decimal

    from erpsync_worker.erp.rows import RowError, money
    from erpsync_worker.syncs import invoice_payments

    assert money({"a": "9999999999999.994"}, "a", "w") == Decimal("9999999999999.99")
    assert money({"a": "10.005"}, "a", "w") == Decimal("10.01")
    assert money({"a": "1E-999999999"}, "a", "w") == Decimal("0.00")
    assert str(money({"a": "-0.001"}, "a", "w")) == "0.00"
    assert money({"a": "-5.5"}, "a", "w") == Decimal("-5.50")  # a job cost credit
    assert money({"a": "1.23456"}, "a", "w", places=4) == Decimal("1.2346")
    with pytest.raises(RowError, match=r"amount='-5\.00' is negative; allowed: 0 or more"):
        invoice_payments.payment_fields({"payment_id": "P1", "amount": "-5.00"})


def test_a_many_decimal_amount_is_sent_rounded_and_a_rerun_reports_no_difference(world: World) -> None:
    from datetime import date

    world.insert(
        "erpsync_invoice_payments",
        {
            "payment_id": "PAY-9",
            "job_id": "J1",
            "commitment_id": "C1",
            "amount": "12.345",
            "paid_on": date(2026, 1, 15),
        },
    )
    first = world.run("invoice-payments")
    assert first.created == 3 and first.failed == 0, first.errors
    assert {p["origin_id"]: p for p in world.table("contract_payments")}["PAY-9"]["amount"] == "12.35"
    again = world.run("invoice-payments")
    assert (again.created, again.unchanged, again.skipped) == (0, 3, 1), again.as_dict()
