"""`erp-sync webhooks` end to end: the receiver as its own process, with the chart's RBAC as its identity (a
client-certificate user bound to the chart's ClusterRole, so the audit log tells its calls), beside the real
operator on the real control plane. Deliveries are POSTed as Procore sends them (reference §1.2)."""

import copy
import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest

from erpsync_testbed import audit
from erpsync_testbed.control_plane import free_port, kubeconfig
from erpsync_testbed.fault_proxy import FaultProxy
from tests.operator.conftest import Cluster, example, is_ready, wait_for
from tests.receiver.test_deliveries import BODY
from tests.ship.helm import Helm, of_kind
from tests.ship.test_chart import OPERATOR_BINARY

SECRET: Final = "Bearer e2e-0123456789abcdef"
RECEIVER_USER: Final = "erp-sync-webhooks-e2e"
COMPANY: Final = 562949953421312  # examples/generic.yaml: ErpConnector; vendors Both, jobs Schedule


@dataclass
class Receiver:
    url: str
    metrics: str
    process: subprocess.Popen[bytes]
    log: Path

    def deliver(self, request_id: int, authorization: str | None = SECRET) -> tuple[int, float]:
        """POST one delivery: the answer's status and how long it took."""
        body = json.dumps({**BODY, "company_id": COMPANY, "resource_id": request_id}).encode()
        headers = {"Content-Type": "application/json"} | ({"Authorization": authorization} if authorization else {})
        started = time.monotonic()
        try:
            with urllib.request.urlopen(urllib.request.Request(self.url, body, headers), timeout=5) as answer:
                return answer.status, time.monotonic() - started
        except urllib.error.HTTPError as error:
            return error.code, time.monotonic() - started

    def counted(self, outcome: str) -> float:
        text = urllib.request.urlopen(self.metrics, timeout=5).read().decode()
        line = f'erpsync_webhook_deliveries_total{{outcome="{outcome}"}} '
        return next((float(row.removeprefix(line)) for row in text.splitlines() if row.startswith(line)), 0.0)


@pytest.fixture
def receiver_identity(cluster: Cluster, tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """The chart's ClusterRole of the receiver, bound to a client-certificate user: its certificate and key."""
    objects = Helm.make("helm4", tmp_path / "helm").template(
        {"webhooks": {"enabled": True, "authSecret": {"name": "hook"}}}
    )
    (role,) = [o for o in of_kind(objects, "ClusterRole") if o["metadata"]["name"].endswith("-webhooks")]
    name = f"{cluster.namespace}-webhooks"
    roles, bindings = (
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
    )
    cluster.client.create(roles, {**copy.deepcopy(role), "metadata": {"name": name}})
    subject = {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": RECEIVER_USER}
    binding = {
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": [subject],
    }
    cluster.client.create(
        bindings, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", **binding}
    )
    try:
        yield cluster.control_plane.pki.issue_client(RECEIVER_USER)
    finally:
        cluster.client.delete(f"{bindings}/{name}")
        cluster.client.delete(f"{roles}/{name}")


@contextmanager
def running_receiver(cluster: Cluster, config: Path, folder: Path) -> Iterator[Receiver]:
    secret = folder / "authorization"
    secret.write_text(SECRET + "\n")
    port, metrics = free_port(), free_port()
    log = folder / "receiver.log"
    command = [str(OPERATOR_BINARY), "webhooks", "-n", cluster.namespace, "--address", "127.0.0.1", "--port", str(port)]
    command += ["--metrics-port", str(metrics), "--authorization-file", str(secret), "--pending-timeout", "60"]
    with log.open("ab") as output:
        process = subprocess.Popen(
            command, env={"KUBECONFIG": str(config), "PATH": ""}, stdout=output, stderr=subprocess.STDOUT
        )
    receiver = Receiver(f"http://127.0.0.1:{port}/procore/events", f"http://127.0.0.1:{metrics}/metrics", process, log)
    try:
        wait_for("the receiver's /healthz", lambda: _up(f"http://127.0.0.1:{port}/healthz"))
        yield receiver
    finally:
        process.terminate()
        process.wait(timeout=15)
        text = log.read_text()
        assert "Traceback" not in text and SECRET[-10:] not in text, text[-4000:]


def _up(url: str) -> bool | None:
    try:
        return urllib.request.urlopen(url, timeout=1).status == 200 or None
    except OSError:
        return None


def _ready_schedule(cluster: Cluster) -> str:
    cluster.apply(example("generic"))
    name = "acme-generic"
    wait_for("the schedule Ready", lambda: is_ready(cluster.schedule(name)) or None, timeout=60)
    return name


def _runs(cluster: Cluster, name: str) -> dict[str, list[str]]:
    """The on-demand Jobs by token: their syncs."""
    found: dict[str, list[str]] = {}
    for job in cluster.jobs(name).values():
        if job["metadata"]["labels"].get("erpsync.io/trigger") == "OnDemand":
            found.setdefault(job["metadata"]["annotations"]["erpsync.io/sync-now"], []).append(
                job["metadata"]["labels"]["erpsync.io/sync"]
            )
    return {token: sorted(syncs) for token, syncs in found.items()}


def _receiver_calls(cluster: Cluster, since: int) -> list[dict[str, Any]]:
    events, _ = audit.events_since(cluster.control_plane.audit_log, since)
    return [e for e in events if e.get("user", {}).get("username") == RECEIVER_USER]


def test_five_deliveries_start_one_run_and_forged_ones_none(
    cluster: Cluster, receiver_identity: tuple[Path, Path], tmp_path: Path
) -> None:
    name = _ready_schedule(cluster)
    certificate, key = receiver_identity
    config = cluster.control_plane.write_kubeconfig(
        tmp_path / "receiver.kubeconfig",
        {"client-certificate": str(certificate), "client-key": str(key)},
        cluster.namespace,
    )
    mark = audit.end_offset(cluster.control_plane.audit_log)
    with running_receiver(cluster, config, tmp_path) as receiver:
        assert receiver.deliver(31, authorization=None)[0] == 401
        assert receiver.deliver(31, authorization="Bearer forged-0123456789abcdef")[0] == 401
        assert [receiver.deliver(4242)[0] for _ in range(5)] == [202, 200, 200, 200, 200]
        handled = wait_for(
            "the operator to handle the request",
            lambda: (
                (cluster.schedule(name).get("status") or {}).get("lastHandledSyncNow") == "erp-request-4242" or None
            ),
        )
        assert handled
        time.sleep(2)  # what a second start would have written by now
        assert _runs(cluster, name) == {"erp-request-4242": ["invoicePayments", "jobCosts", "vendors"]}
        for job in cluster.jobs(name).values():
            env = {e["name"]: e.get("value") for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
            assert env["ERPSYNC_ERP_REQUEST_ID"] == "4242"
        assert (receiver.counted("unauthorized"), receiver.counted("accepted"), receiver.counted("duplicate")) == (
            2,
            1,
            4,
        )
    calls = _receiver_calls(cluster, mark)
    assert {audit.call_name(e) for e in calls} <= {
        "get erpsyncschedules.erpsync.io",
        "list erpsyncschedules.erpsync.io",
        "patch erpsyncschedules.erpsync.io",
    }
    assert [audit.call_name(e) for e in calls].count("patch erpsyncschedules.erpsync.io") == 1
    assert all(e["responseStatus"]["code"] < 400 for e in calls)
    # The identity's RBAC, asked of the API server: schedules yes, Jobs, status and Secrets no.
    for verb, resource, allowed in (
        ("patch", "erpsyncschedules.erpsync.io", "yes"),
        ("create", "jobs.batch", "no"),
        ("patch", "erpsyncschedules.erpsync.io --subresource=status", "no"),
        ("get", "secrets", "no"),
    ):
        answer = cluster.kubectl(
            "auth", "can-i", verb, *resource.split(), "-n", cluster.namespace, "--as", RECEIVER_USER, check=False
        )
        assert answer.stdout.strip() == allowed, (verb, resource, answer.stdout, answer.stderr)


def test_two_requests_on_one_schedule_run_one_after_the_other_and_a_hung_api_server_delays_no_answer(
    cluster: Cluster, receiver_identity: tuple[Path, Path], tmp_path: Path
) -> None:
    name = _ready_schedule(cluster)
    certificate, key = receiver_identity
    with FaultProxy(cluster.control_plane.server, cluster.control_plane.ssl_context(certificate, key)) as proxy:
        config = tmp_path / "receiver.kubeconfig"
        config.write_text(
            json.dumps(kubeconfig(proxy.url, None, {"token": "unused-behind-the-proxy"}, cluster.namespace))
        )
        with running_receiver(cluster, config, tmp_path) as receiver:
            proxy.inject_stall("list", "erpsyncschedules", seconds=8)
            for request_id in (1, 2):
                status, took = receiver.deliver(request_id)
                assert status == 202 and took < 1.0, (status, took)

            def both() -> dict[str, list[str]] | None:
                found = _runs(cluster, name)
                return found if len(found) == 2 else None

            runs = wait_for("both requests' runs", both, timeout=60)
    assert set(runs) == {"erp-request-1", "erp-request-2"}
    # The operator's creates, in the audit log's order (creationTimestamp has whole seconds only).
    token_of = {
        job["metadata"]["name"]: job["metadata"]["annotations"]["erpsync.io/sync-now"]
        for job in cluster.jobs(name).values()
    }
    created = [e["objectRef"]["name"] for e in cluster.operator_calls() if audit.call_name(e) == "create jobs.batch"]
    tokens = [token_of[job] for job in created if job in token_of]
    assert tokens == ["erp-request-1"] * 3 + ["erp-request-2"] * 3  # every Job of request 1 before any of request 2
    assert (cluster.schedule(name).get("status") or {}).get("lastHandledSyncNow") == "erp-request-2"
