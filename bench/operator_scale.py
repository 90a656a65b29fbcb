"""Benchmark: N ErpSyncSchedules (four enabled syncs each) reconciled by the operator on the emulated API.

Prints seconds until all are Ready, the operator's API requests by verb, its writes per schedule
(schedules, CronJobs and Jobs; Events apart), its writes during an idle period with no spec change,
run or resync due, its peak RSS, and, timed in the same run, a plain client sending the same minimal
writes (4 CronJobs and 2 status patches per schedule) to the same emulator.

    .venv/bin/python bench/operator_scale.py [--schedules 1000] [--idle 60]
"""

import argparse
import asyncio
import json
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from erpsync.api.validation import validate_object
from erpsync.planning.plan import plan_schedule
from erpsync_emulators.kube import DEFAULT_NAMESPACES, EmulatorServer, load_manifests
from erpsync_emulators.operator_process import OperatorProcess

REPO = Path(__file__).resolve().parents[1]
NAMESPACE = "erp-sync"
SCHEDULES = f"/apis/erpsync.io/v1alpha1/namespaces/{NAMESPACE}/erpsyncschedules"
CRONJOBS = f"/apis/batch/v1/namespaces/{NAMESPACE}/cronjobs"
WRITE_VERBS = ("create", "update", "patch", "delete")
CONCURRENCY = 8  # the operator's reconcile workers


def schedule(index: int) -> dict[str, Any]:
    return {
        "apiVersion": "erpsync.io/v1alpha1",
        "kind": "ErpSyncSchedule",
        "metadata": {"name": f"tenant-{index:05d}", "namespace": NAMESPACE},
        "spec": {
            "erp": "Generic",
            "timeZone": "America/Chicago",
            "procore": {"companyId": 1000 + index, "credentialsSecretRef": {"name": f"procore-{index}"}},
            "erpConnection": {"secretRef": {"name": f"erp-{index}"}},
            "syncs": {
                "vendors": {"frequency": "Hourly"},
                "jobs": {"frequency": "Every2Hours"},
                "jobCosts": {"frequency": "Every4Hours"},
                "invoicePayments": {"frequency": "Daily"},
            },
        },
    }


def high_water_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Client:
    """The benchmark's own calls, counted so they can be told apart from the operator's."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.calls: Counter[str] = Counter()
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY))

    async def call(
        self, verb: str, method: str, path: str, body: object = None, content_type: str = "application/json"
    ) -> Any:
        self.calls[verb] += 1
        async with self.session.request(
            method, self.url + path, json=body, headers={"Content-Type": content_type}
        ) as response:
            data = await response.json(content_type=None)
            if response.status >= 400:
                raise RuntimeError(f"{method} {path}: {response.status} {data}")
            return data

    async def close(self) -> None:
        await self.session.close()


async def gather_limited(coroutines: list[Any]) -> None:
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def run(coroutine: Any) -> None:
        async with semaphore:
            await coroutine

    await asyncio.gather(*(run(c) for c in coroutines))


def operator_counts(server: EmulatorServer, ours: Counter[str]) -> Counter[str]:
    """Requests by verb and resource, minus the benchmark's own."""
    counts = Counter(server.request_counts()["byVerbAndResource"])
    counts.subtract(ours)
    return +counts


async def run_operator(server: EmulatorServer, count: int, idle: float, folder: Path) -> dict[str, Any]:
    kubeconfig = server.write_kubeconfig(folder / "kubeconfig", namespace=NAMESPACE)
    operator = OperatorProcess(
        kubeconfig, folder / "operator.log", NAMESPACE, ("--log-format", "text", "--resync-interval", "3600")
    ).start()
    client = Client(server.url)
    try:
        await asyncio.sleep(2)  # the operator starts its watches
        server.reset_counters()
        started = time.monotonic()
        await gather_limited(
            [client.call("create erpsyncschedules.erpsync.io", "POST", SCHEDULES, schedule(i)) for i in range(count)]
        )
        peak = 0.0
        while True:
            peak = max(peak, high_water_mib(operator.pid))
            listing = await client.call("list erpsyncschedules.erpsync.io", "GET", SCHEDULES)
            ready = sum(
                1
                for item in listing["items"]
                if any(
                    c["type"] == "Ready" and c["status"] == "True" for c in item.get("status", {}).get("conditions", [])
                )
                and item["status"].get("observedGeneration") == item["metadata"]["generation"]
            )
            if ready == count:
                break
            if time.monotonic() - started > 1800:
                raise SystemExit(f"only {ready} of {count} Ready after 30 minutes")
            await asyncio.sleep(0.5)
        seconds = time.monotonic() - started
        await asyncio.sleep(2)  # the echoes of the last writes
        busy = operator_counts(server, client.calls)
        server.reset_counters()
        client.calls.clear()
        await asyncio.sleep(idle)
        idle_counts = operator_counts(server, client.calls)
        peak = max(peak, high_water_mib(operator.pid))
    finally:
        await client.close()
        operator.stop()
    return {"seconds": seconds, "busy": busy, "idle": idle_counts, "peak_mib": peak}


async def run_plain_client(server: EmulatorServer, count: int) -> float:
    """The same minimal writes without the operator: create the schedule, 4 CronJobs, patch status twice."""
    client = Client(server.url)
    manifests = []
    for index in range(count):
        body = schedule(index)
        body["metadata"]["name"] = f"plain-{index:05d}"
        validated = validate_object(body)
        assert validated.schedule is not None
        manifests.append((body, plan_schedule(validated.schedule).cron_jobs))
    started = time.monotonic()

    async def one(body: dict[str, Any], cron_jobs: list[dict[str, Any]]) -> None:
        created = await client.call("create", "POST", SCHEDULES, body)
        owner = {
            "apiVersion": "erpsync.io/v1alpha1",
            "kind": "ErpSyncSchedule",
            "name": body["metadata"]["name"],
            "uid": created["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
        status_path = f"{SCHEDULES}/{body['metadata']['name']}/status"
        await client.call(
            "patch", "PATCH", status_path, {"status": {"observedGeneration": 0}}, "application/merge-patch+json"
        )
        for cron_job in cron_jobs:
            cron_job["metadata"]["ownerReferences"] = [owner]
            await client.call("create", "POST", CRONJOBS, cron_job)
        await client.call(
            "patch", "PATCH", status_path, {"status": {"observedGeneration": 1}}, "application/merge-patch+json"
        )

    try:
        await gather_limited([one(body, cron_jobs) for body, cron_jobs in manifests])
    finally:
        await client.close()
    return time.monotonic() - started


def by_verb(counts: Counter[str]) -> dict[str, int]:
    verbs: Counter[str] = Counter()
    for key, value in counts.items():
        verbs[key.split()[0]] += value
    return dict(sorted(verbs.items()))


def _resource(key: str) -> str:
    """`patch erpsyncschedules.erpsync.io/status` -> `erpsyncschedules`; `create cronjobs.batch` -> `cronjobs`."""
    return key.split()[1].split("/")[0].split(".")[0]


def writes(counts: Counter[str], events: bool) -> int:
    return sum(value for key, value in counts.items() if key.split()[0] in WRITE_VERBS and ("events" in key) == events)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schedules", type=int, default=1000)
    parser.add_argument("--idle", type=float, default=60.0, help="seconds of the idle period")
    args = parser.parse_args()
    (crd,) = load_manifests(REPO / "crds" / "erpsyncschedules.erpsync.io.yaml")
    with (
        tempfile.TemporaryDirectory() as folder,
        EmulatorServer(crds=[crd], seed_namespaces=(*DEFAULT_NAMESPACES, NAMESPACE)) as server,
    ):
        result = await run_operator(server, args.schedules, args.idle, Path(folder))
        with EmulatorServer(crds=[crd], seed_namespaces=(*DEFAULT_NAMESPACES, NAMESPACE)) as fresh:
            plain = await run_plain_client(fresh, args.schedules)
    count = args.schedules
    busy = result["busy"]
    per_kind = {
        kind: sum(v for k, v in busy.items() if k.split()[0] in WRITE_VERBS and _resource(k) == kind) / count
        for kind in ("erpsyncschedules", "cronjobs", "jobs")
    }
    print(f"schedules:                      {count} (4 enabled syncs each)")
    print(f"all Ready after:                {result['seconds']:.1f} s")
    print(f"operator requests by verb:      {json.dumps(by_verb(busy))}")
    print(
        f"operator writes per schedule:   {writes(busy, events=False) / count:.2f} "
        f"(schedules {per_kind['erpsyncschedules']:.2f}, CronJobs {per_kind['cronjobs']:.2f}, "
        f"Jobs {per_kind['jobs']:.2f}; aim <= 6)"
    )
    print(f"events per schedule:            {writes(busy, events=True) / count:.2f}")
    print(
        f"writes in {args.idle:.0f} s idle:            {writes(result['idle'], False) + writes(result['idle'], True)} "
        f"(requests: {json.dumps(by_verb(result['idle']))})"
    )
    print(f"operator peak RSS:              {result['peak_mib']:.0f} MiB")
    print(f"plain client, same writes:      {plain:.1f} s (operator / plain: {result['seconds'] / plain:.2f}x)")


if __name__ == "__main__":
    asyncio.run(main())
