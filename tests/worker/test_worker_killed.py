"""A worker killed mid-run (SIGKILL: no cleanup, no summary) and run again, in ErpConnector mode: the real
`erp-sync-worker run vendors` process against the Procore emulator, which holds one request unanswered after
applying it, so the kill lands while the worker waits for an answer to a write Procore has already made."""

import fnmatch
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from erpsync_emulators.procore import FaultResponse
from tests.operator.conftest import wait_for
from tests.worker.conftest import COMPANY_ID, World

WORKER = str(Path(sys.executable).with_name("erp-sync-worker"))
CLOSE_ROUTE = "/rest/v1.0/companies/{company_id}/erp_request_details/{id}"
HUNG = 0  # what the emulator's request log records for a request it never answered


@pytest.mark.parametrize(
    ("path", "close_statuses"),
    [
        # Killed after Procore staged the vendors, before the request was closed: the rerun closes it.
        ("/rest/v1.0/companies/*/staged_records/sync", [200]),
        # Killed after Procore closed the request, before the worker heard so: the rerun finds it closed.
        ("/rest/v1.0/companies/*/erp_request_details/*", [HUNG]),
    ],
)
def test_a_worker_killed_mid_run_and_rerun_stages_nothing_twice_and_closes_the_request_once(
    world: World, tmp_path: Path, path: str, close_statuses: list[int]
) -> None:
    request = world.procore.erp.raise_request(COMPANY_ID, "sync_vendors")
    world.procore.inject_fault("PATCH", path, FaultResponse.HANG, after_applying=True, hang_seconds=20)
    env = world.env(ERPSYNC_PROCORE_MODE="ErpConnector", ERPSYNC_ERP_REQUEST_ID=str(request.id))
    env |= {"PATH": os.environ.get("PATH", ""), "TERMINATION_MESSAGE_PATH": str(tmp_path / "termination-log")}
    command = [WORKER, "run", "vendors", "--log-format", "text"]
    killed = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(
            "the worker to wait on its unanswered write",
            lambda: any(
                entry.status == HUNG and entry.method == "PATCH" and fnmatch.fnmatchcase(entry.path, path)
                for entry in world.procore.requests.recent()
            ),
        )
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=10)
    assert killed.returncode == -signal.SIGKILL
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    summary = json.loads(rerun.stdout.strip().splitlines()[-1])
    assert summary.get("staged", 0) == 0 and summary["failed"] == 1, summary  # V400 has no name
    staged = sorted(record["origin_id"] for record in world.table("staged_records"))
    assert staged == ["V100", "V200", "V300", "V500"]  # each once
    (detail,) = [d for d in world.table("erp_request_details") if d["erp_request_id"] == request.id]
    assert detail["status"] == "failed" and detail["messages"][0].startswith("vendors: "), detail
    closes = [entry.status for entry in world.procore.requests.recent() if entry.route == CLOSE_ROUTE]
    assert closes == close_statuses  # Procore applied exactly one close
    assert "Traceback" not in rerun.stderr, rerun.stderr[-3000:]
