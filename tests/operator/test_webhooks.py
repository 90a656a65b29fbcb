"""`erp-sync webhooks` end to end: the receiver as its own process, with the chart's RBAC as its identity (a
client-certificate user bound to the chart's ClusterRole, so the audit log tells its calls), beside the real
operator on the real control plane. Deliveries are POSTed as Procore sends them (reference §1.2); with a Procore
credential, the receiver reads each request's event from the Procore emulator."""

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

from erpsync_emulators.procore import EmulatorConfig, ProcoreEmulator
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
PROCORE_CLIENT: Final = ("erp-sync-webhooks-e2e", "c0ffee5ecret-9f8e7d6c5b4a3210")  # the receiver's credential


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

    def counted(self, outcome: str, metric: str = "erpsync_webhook_deliveries_total") -> float:
        text = urllib.request.urlopen(self.metrics, timeout=5).read().decode()
        line = f'{metric}{{outcome="{outcome}"}} '
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
def running_receiver(
    cluster: Cluster, config: Path, folder: Path, environment: dict[str, str] | None = None
) -> Iterator[Receiver]:
    secret = folder / "authorization"
    secret.write_text(SECRET + "\n")
    port, metrics = free_port(), free_port()
    log = folder / "receiver.log"
    command = [str(OPERATOR_BINARY), "webhooks", "-n", cluster.namespace, "--address", "127.0.0.1", "--port", str(port)]
    command += ["--metrics-port", str(metrics), "--authorization-file", str(secret), "--pending-timeout", "60"]
    with log.open("ab") as output:
        process = subprocess.Popen(
            command,
            env={"KUBECONFIG": str(config), "PATH": "", **(environment or {})},
            stdout=output,
            stderr=subprocess.STDOUT,
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


def _receiver_kubeconfig(cluster: Cluster, identity: tuple[Path, Path], folder: Path) -> Path:
    """A kubeconfig of the receiver's user (receiver_identity), straight to the API server."""
    certificate, key = identity
    return cluster.control_plane.write_kubeconfig(
        folder / "receiver.kubeconfig",
        {"client-certificate": str(certificate), "client-key": str(key)},
        cluster.namespace,
    )


def test_five_deliveries_start_one_run_and_forged_ones_none(
    cluster: Cluster, receiver_identity: tuple[Path, Path], tmp_path: Path
) -> None:
    name = _ready_schedule(cluster)
    config = _receiver_kubeconfig(cluster, receiver_identity, tmp_path)
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
    # Without a Procore credential, the receiver says once at start that requests are not read.
    assert receiver.log.read_text().count("no Procore credential") == 1
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


def _ready_schedule_with_two_syncs_on_requests(cluster: Cluster) -> str:
    """vendors and jobs run on ERP Requests only; job costs and payments are off."""
    schedule = example("generic")
    name = schedule["metadata"]["name"] = "two-on-requests"
    schedule["spec"]["syncs"] = {
        "vendors": {"runOn": "ErpRequests"},
        "jobs": {"runOn": "ErpRequests"},
        **{sync: {"frequency": "Never", "runOn": "Schedule"} for sync in ("jobCosts", "invoicePayments")},
    }
    cluster.apply(schedule)
    wait_for("the schedule Ready", lambda: is_ready(cluster.schedule(name)) or None, timeout=60)
    return name


def test_with_a_procore_credential_a_request_starts_one_run_of_its_own_sync(
    cluster: Cluster, receiver_identity: tuple[Path, Path], tmp_path: Path
) -> None:
    name = _ready_schedule_with_two_syncs_on_requests(cluster)
    config = _receiver_kubeconfig(cluster, receiver_identity, tmp_path)
    client_id, client_secret = PROCORE_CLIENT
    with ProcoreEmulator(EmulatorConfig(clients={client_id: client_secret})) as procore:
        procore.seed.company("Acme Construction", id=COMPANY)
        vendors = procore.erp.raise_request(COMPANY, "sync_vendors")  # "Refresh Vendors List"
        jobs = procore.erp.raise_request(COMPANY, "sync_jobs")  # "Refresh Job List"
        environment = {
            "PROCORE_API_URL": procore.url,
            "PROCORE_LOGIN_URL": procore.url,
            "PROCORE_CLIENT_ID": client_id,
            "PROCORE_CLIENT_SECRET": client_secret,
        }

        def handled(request_id: int) -> bool | None:
            status = cluster.schedule(name).get("status") or {}
            return status.get("lastHandledSyncNow") == f"erp-request-{request_id}" or None

        with running_receiver(cluster, config, tmp_path, environment) as receiver:
            assert [receiver.deliver(vendors.id)[0] for _ in range(5)] == [202, 200, 200, 200, 200]
            wait_for("the operator to handle the vendors request", lambda: handled(vendors.id))
            assert receiver.deliver(jobs.id)[0] == 202
            wait_for("the operator to handle the jobs request", lambda: handled(jobs.id))
            time.sleep(2)  # what a second start would have written by now
            assert _runs(cluster, name) == {
                f"erp-request-{vendors.id}": ["vendors"],
                f"erp-request-{jobs.id}": ["jobs"],
            }
            read = receiver.counted("read", "erpsync_webhook_request_reads_total")
            assert (read, receiver.counted("unresolved", "erpsync_webhook_request_reads_total")) == (2, 0)
        assert procore.requests.count("GET", "/rest/v1.0/companies/{company_id}/erp_requests/{id}") == 2
        with procore.lock:
            tokens = list(procore.app.tokens._tokens)  # every token issued to the receiver
    log = receiver.log.read_text()
    assert tokens and "is sync_vendors" in log, log[-3000:]
    for secret in (client_secret, *tokens):
        assert secret[:8] not in log and secret[-8:] not in log, log[-3000:]
