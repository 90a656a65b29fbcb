"""Benchmark: the built image (`make image`) — its size, and the time from `podman run` to the first log line.

Size: the image as podman stores it (uncompressed), the base it is built on, and what the project adds
(the virtualenv and the user). Here the base is the Debian stand-in .ci/image.sh builds for the pinned
python:3.11.17-slim-bookworm, which no registry here can serve; what the project adds is the same on
either base.

Start: for each command, `--runs` times, the wall time from starting `podman run` to the first line the
container prints (stdout or stderr), beside the floor measured in the same run: the same `podman run`
flags printing one line from `python -c` in the same image (podman's own start and the interpreter's).
- worker: `erp-sync-worker run vendors` against the Procore emulator and a SQLite ERP database of the
  demo data; also the time until it exits (the whole run);
- operator: `erp-sync operator` logged in as in a Pod (a ServiceAccount token, the CA and the namespace
  mounted where the kubelet puts them) against the tests' real control plane; also the time until a new
  ErpSyncSchedule is Ready.

    .venv/bin/python bench/image.py [--runs 5]
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from erpsync_emulators import erp_database
from erpsync_emulators.procore import EmulatorConfig, ProcoreEmulator
from erpsync_testbed import ControlPlane, podman

REPO = Path(__file__).resolve().parents[1]
CRD = REPO / "crds" / "erpsyncschedules.erpsync.io.yaml"
COMPANY_ID = 4_500_000_001
CLIENT_ID, CLIENT_SECRET = "bench-client", "bench-secret"


def first_line_and_exit(command: Sequence[str], until: Callable[[], bool] | None = None) -> tuple[float, float]:
    """Seconds from the start of `command` to its first output line, and to its exit (or to `until()`)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert process.stdout is not None
    line = process.stdout.readline()
    first = time.perf_counter() - started
    if not line:
        raise RuntimeError(f"{command[-3:]} printed nothing (exit code {process.wait()})")
    if until is None:
        process.stdout.read()
        process.wait(timeout=300)
    else:
        deadline = time.monotonic() + 120
        while not until():
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{command[-3:]}: the condition did not hold within 120 s")
            time.sleep(0.05)
    done = time.perf_counter() - started
    if until is not None:
        subprocess.run(["podman", "stop", "--time", "20", _name(command)], capture_output=True, check=True)
        process.stdout.read()
        process.wait(timeout=60)
    return first, done


def _name(command: Sequence[str]) -> str:
    return command[list(command).index("--name") + 1]


def describe(label: str, values: Sequence[float]) -> str:
    return (
        f"{label:<34} median {statistics.median(values):6.2f} s  "
        f"(min {min(values):.2f}, max {max(values):.2f}, {len(values)} runs)"
    )


def size_report(image: str) -> list[str]:
    inspected: list[dict[str, Any]] = json.loads(
        subprocess.run(["podman", "image", "inspect", image], capture_output=True, check=True).stdout
    )
    size = int(inspected[0]["Size"])
    base_ref = "docker.io/library/" + next(
        line.split("=", 1)[1]
        for line in (REPO / "Dockerfile").read_text().splitlines()
        if line.startswith("ARG PYTHON_IMAGE=")
    )
    base = json.loads(subprocess.run(["podman", "image", "inspect", base_ref], capture_output=True, check=True).stdout)
    base_size = int(base[0]["Size"])
    venv = podman.run("du", "-sb", "/opt/venv").stdout.split()[0]
    return [
        f"image {image}: {size / 1e6:.1f} MB ({size / 2**20:.1f} MiB), uncompressed",
        f"  base {base_ref} (stand-in): {base_size / 1e6:.1f} MB",
        f"  added by the Dockerfile: {(size - base_size) / 1e6:.1f} MB, of which /opt/venv {int(venv) / 1e6:.1f} MB",
    ]


def worker_runs(runs: int, folder: Path) -> tuple[list[float], list[float], list[float]]:
    config = EmulatorConfig(clients={CLIENT_ID: CLIENT_SECRET}, spike_limit=10_000, hourly_limit=1_000_000)
    folder.mkdir()
    database = folder / "erp.db"
    erp_database.build(f"sqlite:///{database}", erp_database.demo_data()).dispose()
    folder.chmod(0o755)
    database.chmod(0o644)
    floors, firsts, totals = [], [], []
    with ProcoreEmulator(config) as procore:
        procore.seed.company("Bench Construction", id=COMPANY_ID)
        env = {
            "PROCORE_API_URL": procore.url,
            "PROCORE_LOGIN_URL": procore.url,
            "PROCORE_COMPANY_ID": str(COMPANY_ID),
            "PROCORE_CLIENT_ID": CLIENT_ID,
            "PROCORE_CLIENT_SECRET": CLIENT_SECRET,
            "ERP_DATABASE_URL": f"sqlite:///{database}",
        }
        for _ in range(runs):
            floor = podman.run_command("python", "-c", "print('started', flush=True)", host_network=True)
            floors.append(first_line_and_exit(floor)[0])
            worker = podman.run_command(
                "erp-sync-worker",
                "run",
                "vendors",
                env=env,
                volumes=[(folder, f"{folder}:ro")],
                host_network=True,
            )
            first, total = first_line_and_exit(worker)
            firsts.append(first)
            totals.append(total)
    return floors, firsts, totals


def operator_runs(runs: int, folder: Path) -> tuple[list[float], list[float]]:
    firsts, readies = [], []
    with ControlPlane(manifests=[CRD]) as control_plane:
        client = control_plane.client()
        (body,) = yaml.safe_load_all((REPO / "examples" / "generic.yaml").read_text())
        for run in range(runs):
            namespace = f"bench-{run}"
            control_plane.kubectl("create", "namespace", namespace)
            credentials = control_plane.pod_credentials(
                folder / namespace, namespace, "erp-sync-operator", "cluster-admin"
            )
            body["metadata"]["namespace"] = namespace
            control_plane.kubectl("apply", "-f", "-", input=json.dumps(body))
            path = f"/apis/erpsync.io/v1alpha1/namespaces/{namespace}/erpsyncschedules/{body['metadata']['name']}"

            def ready(path: str = path) -> bool:
                conditions = (client.get(path).get("status") or {}).get("conditions") or []
                return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)

            command = podman.operator_in_pod_command(
                control_plane.server,
                credentials,
                *("--namespace", namespace, "--standalone", "--liveness", "", "--metrics-port", "0"),
            )
            first, until_ready = first_line_and_exit(command, until=ready)
            firsts.append(first)
            readies.append(until_ready)
        client.close()
    return firsts, readies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    image = podman.IMAGE
    if not podman.image_exists(image):
        sys.exit(f"the image {image} is not built: make image")
    podman_version = subprocess.run(["podman", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    print(f"{podman_version}, runtime runc, {options.runs} runs per command")
    for line in size_report(image):
        print(line)
    with tempfile.TemporaryDirectory(prefix="erpsync-bench-image-") as scratch:
        floors, worker_first, worker_total = worker_runs(options.runs, Path(scratch) / "worker")
        operator_first, operator_ready = operator_runs(options.runs, Path(scratch) / "operator")
    print("time from `podman run` to the first log line:")
    print(describe("  floor: python -c print", floors))
    print(describe("  erp-sync-worker run vendors", worker_first))
    print(describe("  erp-sync operator", operator_first))
    print("and to the end of the work:")
    print(describe("  worker: the run done (exit)", worker_total))
    print(describe("  operator: a new schedule Ready", operator_ready))


if __name__ == "__main__":
    main()
