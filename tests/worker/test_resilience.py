"""Rate limits, server errors, timeouts and interrupted runs: every record still ends up synced once."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from erpsync_emulators.procore import FaultResponse
from tests.worker.conftest import CLIENT_SECRET, World

WORKER = str(Path(sys.executable).with_name("erp-sync-worker"))


def test_spike_limit_is_respected_by_pacing_not_by_429s(world: World) -> None:
    """50 requests per 10 s: a run needing more paces itself from the headers."""
    for index in range(60):
        world.insert("erpsync_vendors", {"vendor_id": f"X{index}", "name": f"Extra {index}", "is_active": True})
    summary = world.run("vendors", ERPSYNC_BATCH_SIZE="1")
    assert summary.created == 63 and summary.result == "PartiallyFailed"  # V400 and V500 are bad rows
    assert summary.extra["throttledSeconds"] > 0
    assert world.procore.requests.count("PATCH", "/rest/v1.0/vendors/sync") == 64  # V400 fails before sending
    assert world.procore.requests.snapshot()["by_status"].get("429", 0) == 0


@pytest.mark.parametrize(
    "fault", [FaultResponse.TOO_MANY_REQUESTS, FaultResponse.SERVICE_UNAVAILABLE, FaultResponse.INTERNAL_SERVER_ERROR]
)
def test_injected_errors_on_reads_and_syncs_still_sync_everything_once(world: World, fault: FaultResponse) -> None:
    world.procore.inject_fault("GET", "/rest/v1.0/vendors", fault, times=2)
    world.procore.inject_fault("PATCH", "/rest/v1.0/vendors/sync", fault, times=2)
    summary = world.run("vendors")
    assert (summary.created, summary.failed) == (3, 2), summary.as_dict()
    assert len(world.table("vendors")) == 3


def test_a_sync_that_applied_but_answered_500_is_not_doubled(world: World) -> None:
    world.procore.inject_fault(
        "PATCH", "/rest/v1.0/vendors/sync", FaultResponse.INTERNAL_SERVER_ERROR, after_applying=True
    )
    summary = world.run("vendors")
    assert summary.failed == 2 and len(world.table("vendors")) == 3  # upserts by origin_id: a resend is harmless


@pytest.mark.parametrize("fault", [FaultResponse.INTERNAL_SERVER_ERROR, FaultResponse.HANG])
def test_a_payment_post_that_applied_but_was_never_answered_is_not_posted_again(
    world: World, fault: FaultResponse
) -> None:
    world.procore.inject_fault("POST", "/rest/v1.0/contract_payments", fault, after_applying=True, hang_seconds=2)
    summary = world.run("invoice-payments", timeout=0.5)
    assert summary.created == 2, summary.as_dict()
    assert sorted(p["origin_id"] for p in world.table("contract_payments")) == ["PAY-1", "PAY-2"]
    assert world.procore.requests.count("POST", "/rest/v1.0/contract_payments") == 2  # looked, did not post again


def test_a_post_that_failed_before_applying_is_posted_again(world: World) -> None:
    world.procore.inject_fault("POST", "/rest/v1.0/contract_payments", FaultResponse.SERVICE_UNAVAILABLE)
    summary = world.run("invoice-payments")
    assert summary.created == 2 and len(world.table("contract_payments")) == 2


def test_timeouts_on_reads_are_retried(world: World) -> None:
    world.procore.inject_fault("GET", "/rest/v1.0/projects", FaultResponse.HANG, hang_seconds=2)
    summary = world.run("jobs", timeout=0.5)
    assert summary.updated == 1 and summary.fatal is None


def test_an_expired_token_is_renewed_once(world: World) -> None:
    world.run("vendors")
    world.clock.advance(6000)  # past the 5400 s token lifetime, as the worker's own clock also sees it
    assert world.run("vendors").fatal is None


def _worker_env(world: World, tmp_path: Path) -> dict[str, str]:
    # A worker process runs on real time; the emulator's clock moves only when told: open a fresh
    # rate-limit window for each process.
    world.clock.advance(20)
    return {**os.environ, **world.env(), "TERMINATION_MESSAGE_PATH": str(tmp_path / "termination-log")}


def test_a_run_killed_half_way_and_run_again_creates_no_duplicate_and_loses_nothing(
    world: World, tmp_path: Path
) -> None:
    # The second payment's POST is applied, then hangs: the process is killed while waiting for the answer.
    world.procore.inject_fault(
        "POST", "/rest/v1.0/contract_payments", FaultResponse.HANG, after_applying=True, hang_seconds=30
    )
    process = subprocess.Popen(
        [WORKER, "run", "invoice-payments"],
        env=_worker_env(world, tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 20
    while world.procore.requests.count("POST", "/rest/v1.0/contract_payments") < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert len(world.table("contract_payments")) == 1  # applied, never answered
    done = subprocess.run(
        [WORKER, "run", "invoice-payments"],
        env=_worker_env(world, tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert done.returncode == 0, done.stderr
    assert (summary["created"], summary["unchanged"]) == (1, 1)
    assert sorted(p["origin_id"] for p in world.table("contract_payments")) == ["PAY-1", "PAY-2"]


def test_no_secret_in_any_log_line_and_the_summary_in_the_termination_file(world: World, tmp_path: Path) -> None:
    world.procore.inject_fault("PATCH", "/rest/v1.0/vendors/sync", FaultResponse.INTERNAL_SERVER_ERROR, times=1)
    for sync in ("vendors", "jobs", "job-costs", "invoice-payments"):
        done = subprocess.run(
            [WORKER, "run", sync], env=_worker_env(world, tmp_path), capture_output=True, text=True, timeout=60
        )
        output = done.stdout + done.stderr
        assert CLIENT_SECRET not in output and world.erp_url not in output
        token_lines = [line for line in output.splitlines() if "Bearer" in line or "access_token" in line]
        assert token_lines == []
        for line in done.stderr.splitlines():
            json.loads(line)  # structured logs: every line is JSON
        summary = json.loads((tmp_path / "termination-log").read_text())
        assert summary == json.loads(done.stdout.strip().splitlines()[-1])
        assert done.returncode == {"Succeeded": 0, "PartiallyFailed": 2, "Failed": 1}[summary["result"]]


def test_missing_configuration_is_one_line_naming_the_variable_before_any_request(world: World, tmp_path: Path) -> None:
    env = _worker_env(world, tmp_path)
    del env["PROCORE_COMPANY_ID"]
    before = world.procore.requests.total
    done = subprocess.run([WORKER, "run", "vendors"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "PROCORE_COMPANY_ID is not set" in done.stderr
    assert json.loads(done.stdout)["result"] == "Failed"
    assert world.procore.requests.total == before
