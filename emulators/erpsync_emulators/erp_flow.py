"""Procore's ERP flow once, on loopback: ERP Request -> webhook -> `erp-sync webhooks` -> on-demand Job -> worker.

Shared by `make demo` (`--part erp-flow`) and its end-to-end test (tests/operator/test_erp_flow.py). The pieces
are the real ones: the Procore emulator delivers its webhook to a real `erp-sync webhooks` process, which patches
the schedule's sync-now annotation; the real operator creates the on-demand Job. There is no kubelet, so `run_job`
plays it: it runs the Job's container command on this machine with the Job's environment, the Secret volumes
written out to files as the kubelet would mount them.
"""

import base64
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

from erpsync_emulators import erp_database
from erpsync_emulators.procore import ProcoreEmulator
from erpsync_testbed.client import ApiClient
from erpsync_testbed.control_plane import free_port

COMPANY_ID: Final = 4_500_000_001
SCHEDULE: Final = "demo-erp-connector"
CLIENT_ID, CLIENT_SECRET = "demo-erp-client", "demo-erp-secret"
# The hook's Authorization value, which the receiver compares with (at least 16 characters).
AUTHORIZATION: Final = "Bearer demo-erp-flow-0123456789abcdef"
PROCORE_SECRET, ERP_SECRET = "demo-procore-credentials", "demo-erp-database"
SYNC_NOW_ANNOTATION: Final = "erpsync.io/sync-now"
RECEIVER_COMMAND: Final = str(Path(sys.executable).with_name("erp-sync"))
T = TypeVar("T")


def wait_for(what: str, check: Callable[[], T | None], timeout: float = 60.0) -> T:
    """Poll `check` until it returns something truthy; a one-line error naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


def build_erp_database(url: str) -> None:
    """The demo ERP data without its vendor that has no name, so the vendor request closes as a success."""
    data = erp_database.demo_data()
    data.rows["erpsync_vendors"] = [row for row in data.rows["erpsync_vendors"] if row.get("name")]
    erp_database.build(url, data).dispose()


def seed_procore(procore: ProcoreEmulator, receiver_url: str) -> None:
    """A company with an ERP connection, a linked project, and the hook that delivers its ERP Requests."""
    company = procore.seed.company("Demo Construction", id=COMPANY_ID)
    procore.seed.line_item_type(company.id, "Labor", csv_import_code="L")
    procore.seed.project(company.id, "Riverside Tower", origin_id="J1", project_number="2026-001")
    procore.seed.webhook_hook(company.id, receiver_url, authorization=AUTHORIZATION)


def cluster_objects(namespace: str, procore_url: str, erp_url: str) -> list[tuple[str, dict[str, Any]]]:
    """The Secrets and the ErpConnector schedule whose vendors sync runs on ERP Requests only: (API path, body)."""

    def secret(name: str, data: dict[str, str]) -> tuple[str, dict[str, Any]]:
        body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "stringData": data}
        return f"/api/v1/namespaces/{namespace}/secrets", body

    schedule = {
        "apiVersion": "erpsync.io/v1alpha1",
        "kind": "ErpSyncSchedule",
        "metadata": {"name": SCHEDULE},
        "spec": {
            "erp": "Generic",
            "timeZone": "America/Chicago",
            "procore": {
                "companyId": COMPANY_ID,
                "mode": "ErpConnector",
                "apiUrl": procore_url,
                "loginUrl": procore_url,
                "credentialsSecretRef": {"name": PROCORE_SECRET},
            },
            "erpConnection": {"secretRef": {"name": ERP_SECRET}},
            "syncs": {
                "vendors": {"runOn": "ErpRequests"},
                # The other syncs stay off, so each request starts exactly one Job.
                **{
                    sync: {"frequency": "Never", "runOn": "Schedule"}
                    for sync in ("jobs", "jobCosts", "invoicePayments")
                },
            },
        },
    }
    return [
        secret(PROCORE_SECRET, {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}),
        secret(ERP_SECRET, {"url": erp_url}),
        (f"/apis/erpsync.io/v1alpha1/namespaces/{namespace}/erpsyncschedules", schedule),
    ]


@dataclass
class Receiver:
    """`erp-sync webhooks` as a child process."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path


@contextmanager
def running_receiver(kubeconfig: Path, namespace: str, folder: Path) -> Iterator[Receiver]:
    secret = folder / "hook-authorization"
    secret.write_text(AUTHORIZATION + "\n")
    secret.chmod(0o600)
    port = free_port()
    log = folder / "receiver.log"
    command = [RECEIVER_COMMAND, "webhooks", "-n", namespace, "--address", "127.0.0.1", "--port", str(port)]
    command += ["--metrics-port", "0", "--authorization-file", str(secret), "--pending-timeout", "120"]
    with log.open("ab") as output:
        process = subprocess.Popen(
            command, env={**os.environ, "KUBECONFIG": str(kubeconfig)}, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        wait_for("the receiver's /healthz", lambda: _answers(f"http://127.0.0.1:{port}/healthz"), timeout=30)
        yield Receiver(f"http://127.0.0.1:{port}/procore/events", process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _answers(url: str) -> bool | None:
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:
            return answer.status == 200 or None
    except OSError:
        return None


def on_demand_jobs(client: ApiClient, namespace: str, request_id: int) -> list[dict[str, Any]]:
    """The on-demand Jobs the operator made for the ERP Request `request_id` (its token `erp-request-<id>`)."""
    selector = f"erpsync.io/schedule={SCHEDULE}"
    items: list[dict[str, Any]] = client.get(f"/apis/batch/v1/namespaces/{namespace}/jobs?labelSelector={selector}")[
        "items"
    ]
    token = f"erp-request-{request_id}"
    return [job for job in items if (job["metadata"].get("annotations") or {}).get(SYNC_NOW_ANNOTATION) == token]


def await_job(client: ApiClient, namespace: str, request_id: int, timeout: float = 60.0) -> dict[str, Any]:
    """The request's one Job, once the operator has created it."""
    jobs = wait_for(
        f"the on-demand Job of ERP Request {request_id}",
        lambda: on_demand_jobs(client, namespace, request_id),
        timeout,
    )
    return jobs[0]


def run_job(client: ApiClient, namespace: str, job: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Play the kubelet: run the Job's container command here, with its environment and its Secret volumes
    written to files; the worker's summary (its last stdout line) with its exit code."""
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    secrets = {v["name"]: v["secret"]["secretName"] for v in pod.get("volumes", []) if "secret" in v}
    mounted: dict[str, str] = {}  # the container's mount path -> the folder here
    for mount in container.get("volumeMounts", []):
        if mount["name"] in secrets:
            local = folder / job["metadata"]["name"] / mount["name"]
            local.mkdir(parents=True, exist_ok=True)
            secret = client.get(f"/api/v1/namespaces/{namespace}/secrets/{secrets[mount['name']]}")
            for key, value in (secret.get("data") or {}).items():
                (local / key).write_bytes(base64.b64decode(value))
            mounted[mount["mountPath"]] = str(local)
    env = {item["name"]: mounted.get(item.get("value", ""), item.get("value", "")) for item in container["env"]}
    env |= {"PATH": os.environ.get("PATH", ""), "TERMINATION_MESSAGE_PATH": str(folder / "termination-log")}
    command = [str(Path(sys.executable).with_name(container["command"][0])), *container["command"][1:]]
    done = subprocess.run(
        [*command, *container.get("args", []), "--log-format", "text"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    if not lines:
        raise RuntimeError(f"{' '.join(container['command'])} printed no summary (exit {done.returncode})")
    summary: dict[str, Any] = json.loads(lines[-1])
    summary["exitCode"] = done.returncode
    return summary


def request_as_procore_shows(procore: ProcoreEmulator, request_id: int) -> tuple[str, list[str]]:
    """The ERP Request's status and messages: its detail's, or `no detail` for an event Procore gives none."""
    with procore.lock:
        details = [d.fields for d in procore.state.erp_request_details if d.fields["erp_request_id"] == request_id]
    if not details:
        return "no detail", []
    (detail,) = details
    return str(detail["status"]), [str(message) for message in detail["messages"]]


def deliveries_of(procore: ProcoreEmulator, request_id: int) -> list[dict[str, Any]]:
    """The webhook deliveries of the ERP Request (id, status, attempts)."""
    with procore.lock:
        return [
            dict(d.fields, id=d.id)
            for d in procore.state.webhook_deliveries
            if d.fields["event"]["resource_id"] == request_id
        ]
