"""Benchmark: sync 10,000 and 100,000 vendors from SQLite into the Procore emulator.

Prints, per size: requests used against the minimum (a token, ceil(N / batch) sync calls and the
reads the run needs: the active and the inactive vendor lists, empty on a first run), records per
second and the worker's peak RSS (it runs as its own process, as in a pod); then the same for a
second run that finds everything unchanged (it reads every vendor and keeps the origin_id index).

    .venv/bin/python bench/worker_vendors.py [--sizes 10000 100000]
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from erpsync_emulators import erp_database
from erpsync_emulators.procore import EmulatorConfig, ProcoreEmulator

COMPANY_ID = 4_500_000_001
BATCH = 1000
PER_PAGE = 1000


def _high_water_kib(pid: int) -> int:
    """The process's peak resident set (VmHWM). Not ru_maxrss of children: Linux carries a forking
    parent's high-water mark across exec into it, and this parent holds the emulator's data."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0  # it has just exited
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _run_worker(env: dict[str, str]) -> dict[str, Any]:
    started = time.monotonic()
    worker = subprocess.Popen(
        [str(Path(sys.executable).with_name("erp-sync-worker")), "run", "vendors"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    peak_kib = 0
    while worker.poll() is None:
        peak_kib = max(peak_kib, _high_water_kib(worker.pid))
        time.sleep(0.02)
    assert worker.stdout is not None
    summary: dict[str, Any] = json.loads(worker.stdout.read().strip().splitlines()[-1])
    return {**summary, "seconds": time.monotonic() - started, "rss_mib": peak_kib / 1024}


def run(size: int, folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    url = f"sqlite:///{folder / f'erp-{size}.db'}"
    data = erp_database.ErpData()
    vendors = (
        {
            "vendor_id": f"V{i:07d}",
            "code": f"C{i}",
            "name": f"Vendor {i}",
            "city": "Chicago",
            "state_code": "IL",
            "country_code": "US",
            "is_active": True,
        }
        for i in range(size)
    )
    data.add("erpsync_vendors", *vendors)
    erp_database.build(url, data).dispose()
    config = EmulatorConfig(clients={"bench": "bench-secret"}, hourly_limit=10_000_000, spike_limit=1_000_000)
    with ProcoreEmulator(config) as procore:
        procore.seed.company("Bench", id=COMPANY_ID)
        env = {
            **os.environ,
            "PROCORE_API_URL": procore.url,
            "PROCORE_LOGIN_URL": procore.url,
            "PROCORE_COMPANY_ID": str(COMPANY_ID),
            "PROCORE_CLIENT_ID": "bench",
            "PROCORE_CLIENT_SECRET": "bench-secret",
            "ERP_DATABASE_URL": url,
            "TERMINATION_MESSAGE_PATH": str(folder / "termination-log"),
        }
        first = _run_worker(env)
        if first["created"] != size:
            raise SystemExit(f"expected {size} created, got {first}")
        again = _run_worker(env)
        if again["unchanged"] != size:
            raise SystemExit(f"expected {size} unchanged, got {again}")
    return first, again


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes:
            first, again = run(size, Path(folder))
            minimum = 1 + math.ceil(size / BATCH) + 2  # token, sync calls, two (empty) vendor lists
            again_minimum = 1 + math.ceil(size / PER_PAGE) + 1  # token, active pages, the inactive list
            over = 100 * (first["requests"] - minimum) / minimum
            print(
                f"{size:>7} vendors, first run: {first['requests']} requests (minimum {minimum}, +{over:.1f}%), "
                f"{first['seconds']:.1f} s, {size / first['seconds']:,.0f} records/s, "
                f"worker peak RSS {first['rss_mib']:.0f} MiB"
            )
            print(
                f"{size:>7} vendors, run again (all unchanged): {again['requests']} requests "
                f"(minimum {again_minimum}), {again['seconds']:.1f} s, worker peak RSS {again['rss_mib']:.0f} MiB"
            )


if __name__ == "__main__":
    main()
