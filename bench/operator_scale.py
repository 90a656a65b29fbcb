"""Benchmark: N ErpSyncSchedules (four enabled syncs each) reconciled by the operator on a real API server.

The control plane is the tests' (etcd, kube-apiserver and kube-controller-manager v1.37, built by
.ci/kube.sh) on loopback; its CronJob controller is left out, so that no scheduled run starts Jobs in
the middle of the measurement. Prints seconds until all are Ready, the operator's API requests by verb
(from the API server's audit log: the operator has an identity of its own), its writes per schedule
(schedules, CronJobs and Jobs; Events apart), its writes during an idle period with no spec change,
run or resync due, its peak RSS, and, timed in the same run against the same server, a plain client
sending the same minimal writes (the schedule, 4 CronJobs and 2 status patches per schedule).

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
from erpsync_emulators.operator_process import OperatorProcess
from erpsync_testbed import ControlPlane, audit
from erpsync_testbed.control_plane import CONTROLLERS

REPO = Path(__file__).resolve().parents[1]
NAMESPACE = "erp-sync"
PLAIN_NAMESPACE = "erp-sync-plain"
OPERATOR_USER = "erp-sync-operator-bench"
WRITE_VERBS = ("create", "update", "patch", "delete")
CONCURRENCY = 8  # the operator's reconcile workers


def schedules_path(namespace: str) -> str:
    return f"/apis/erpsync.io/v1alpha1/namespaces/{namespace}/erpsyncschedules"


SCHEDULES = schedules_path(NAMESPACE)


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
    """The benchmark's own calls, as the admin (the audit log tells them from the operator's)."""

    def __init__(self, control_plane: ControlPlane) -> None:
        self.url = control_plane.server
        context = control_plane.client().context
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY, ssl=context))

    async def call(self, method: str, path: str, body: object = None, content_type: str = "application/json") -> Any:
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


def operator_counts(control_plane: ControlPlane, since: int) -> tuple[Counter[str], int]:
    """The operator's requests by "verb resource" after byte `since` of the audit log, and the offset after them."""
    events, offset = audit.events_since(control_plane.audit_log, since)
    mine = (event for event in events if event.get("user", {}).get("username") == OPERATOR_USER)
    return Counter(audit.call_name(event) for event in mine), offset


async def run_operator(control_plane: ControlPlane, count: int, idle: float, folder: Path) -> dict[str, Any]:
    certificate, key = control_plane.pki.issue_client(OPERATOR_USER, ("system:masters",))
    user = {"client-certificate": str(certificate), "client-key": str(key)}
    kubeconfig = control_plane.write_kubeconfig(folder / "kubeconfig", user, NAMESPACE)
    operator = OperatorProcess(
        kubeconfig, folder / "operator.log", NAMESPACE, ("--log-format", "text", "--resync-interval", "3600")
    ).start()
    client = Client(control_plane)
    try:
        await asyncio.sleep(3)  # the operator starts its watches
        mark = audit.end_offset(control_plane.audit_log)
        started = time.monotonic()
        await gather_limited([client.call("POST", SCHEDULES, schedule(i)) for i in range(count)])
        peak = 0.0
        while True:
            peak = max(peak, high_water_mib(operator.pid))
            listing = await client.call("GET", SCHEDULES)
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
        busy, mark = operator_counts(control_plane, mark)
        await asyncio.sleep(idle)
        idle_counts, _ = operator_counts(control_plane, mark)
        peak = max(peak, high_water_mib(operator.pid))
    finally:
        await client.close()
        operator.stop()
    return {"seconds": seconds, "busy": busy, "idle": idle_counts, "peak_mib": peak}


async def run_plain_client(control_plane: ControlPlane, count: int) -> float:
    """The same minimal writes without the operator: create the schedule, 4 CronJobs, patch status twice."""
    client = Client(control_plane)
    schedules = schedules_path(PLAIN_NAMESPACE)
    cron_jobs_path = f"/apis/batch/v1/namespaces/{PLAIN_NAMESPACE}/cronjobs"
    manifests = []
    for index in range(count):
        body = schedule(index)
        body["metadata"]["namespace"] = PLAIN_NAMESPACE
        validated = validate_object(body)
        assert validated.schedule is not None
        manifests.append((body, plan_schedule(validated.schedule).cron_jobs))
    started = time.monotonic()

    async def one(body: dict[str, Any], cron_jobs: list[dict[str, Any]]) -> None:
        created = await client.call("POST", schedules, body)
        owner = {
            "apiVersion": "erpsync.io/v1alpha1",
            "kind": "ErpSyncSchedule",
            "name": body["metadata"]["name"],
            "uid": created["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
        status_path = f"{schedules}/{body['metadata']['name']}/status"
        await client.call("PATCH", status_path, {"status": {"observedGeneration": 0}}, "application/merge-patch+json")
        for cron_job in cron_jobs:
            cron_job["metadata"]["ownerReferences"] = [owner]
            cron_job["metadata"]["namespace"] = PLAIN_NAMESPACE
            await client.call("POST", cron_jobs_path, cron_job)
        await client.call("PATCH", status_path, {"status": {"observedGeneration": 1}}, "application/merge-patch+json")

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
    crd = REPO / "crds" / "erpsyncschedules.erpsync.io.yaml"
    no_cron_jobs_run = [c for c in CONTROLLERS if c != "cronjob-controller"]
    with (
        tempfile.TemporaryDirectory() as folder,
        ControlPlane(manifests=[crd], controllers=no_cron_jobs_run) as control_plane,
    ):
        for namespace in (NAMESPACE, PLAIN_NAMESPACE):
            control_plane.kubectl("create", "namespace", namespace)
        result = await run_operator(control_plane, args.schedules, args.idle, Path(folder))
        plain = await run_plain_client(control_plane, args.schedules)
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
