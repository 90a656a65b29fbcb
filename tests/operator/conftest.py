"""End-to-end fixtures: the real control plane, a namespace per test, and the real operator process.

The operator runs as `erp-sync operator` in a subprocess with a kubeconfig of its own identity (a
client certificate, so the API server's audit log tells its calls from the test's), exactly as it runs
from a laptop against a cluster. Tests marked `fault_proxy` put the fault-injecting proxy between the
operator and the API server, for what a healthy server will not do on cue (409s, 500s, dropped watches).
"""

import contextlib
import copy
import subprocess
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TypeVar

import pytest
import yaml

from erpsync_emulators.operator_process import OperatorProcess
from erpsync_testbed import ControlPlane, audit
from erpsync_testbed.client import MERGE_PATCH, ApiClient
from erpsync_testbed.control_plane import kubeconfig
from erpsync_testbed.fault_proxy import FaultProxy

REPO = Path(__file__).resolve().parents[2]
GROUP, VERSION, PLURAL = "erpsync.io", "v1alpha1", "erpsyncschedules"
OPERATOR_USER: Final = "erp-sync-operator-e2e"
WRITE_VERBS: Final = ("create", "update", "patch", "delete", "deletecollection")
T = TypeVar("T")


def wait_for(what: str, check: Callable[[], T | None], timeout: float = 30.0, interval: float = 0.1) -> T:
    """Poll until `check` returns something truthy; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def http_get(url: str) -> str | None:
    """The body of a GET, or None while nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            body: bytes = response.read()
            return body.decode()
    except OSError:
        return None


def is_ready(schedule: dict[str, Any]) -> bool:
    """Ready=True, for the schedule's current generation."""
    status = schedule.get("status") or {}
    ready = next((c for c in status.get("conditions") or [] if c["type"] == "Ready"), None)
    current = status.get("observedGeneration") == schedule["metadata"]["generation"]
    return bool(ready and ready["status"] == "True" and current)


def example(name: str) -> dict[str, Any]:
    (body,) = yaml.safe_load_all((REPO / "examples" / f"{name}.yaml").read_text())
    return dict(body)


# One example per ERP profile, in turn: applied many at once, they exercise every profile.
EXAMPLES: Final = ("generic", "quickbooks-desktop", "xero", "netsuite", "viewpoint-spectrum", "cmic", "sage-intacct")


def apply_many(cluster: "Cluster", count: int) -> list[str]:
    """Applies `count` schedules named tenant-000..., the examples in turn; their names."""
    names = []
    for index in range(count):
        body = copy.deepcopy(example(EXAMPLES[index % len(EXAMPLES)]))
        body["metadata"]["name"] = f"tenant-{index:03d}"
        cluster.apply(body)
        names.append(body["metadata"]["name"])
    return names


# The operator process of a test (the shared runner; tests kill and restart it).
Operator = OperatorProcess
TEST_WORKER_IMAGE = ("--worker-image", "registry.example/erp-sync:test")
_RESOURCES: Final = {
    PLURAL: f"/apis/{GROUP}/{VERSION}",
    "cronjobs": "/apis/batch/v1",
    "jobs": "/apis/batch/v1",
    "pods": "/api/v1",
    "configmaps": "/api/v1",
    "events": "/api/v1",
    "secrets": "/api/v1",
}


@dataclass
class Cluster:
    """The test's namespace on the real control plane, driven over HTTP like any client (admin)."""

    control_plane: ControlPlane
    namespace: str
    client: ApiClient
    operator: Operator
    proxy: FaultProxy | None = None
    _audit_mark: int = field(default=0)  # a byte offset in the audit log

    def path(self, plural: str, name: str | None = None, subresource: str | None = None) -> str:
        path = f"{_RESOURCES[plural]}/namespaces/{self.namespace}/{plural}"
        if name is not None:
            path += f"/{name}"
        if subresource is not None:
            path += f"/{subresource}"
        return path

    def kubectl(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.control_plane.kubectl(*args, input=input, check=check)

    def call(self, method: str, path: str, body: Any = None, content_type: str = MERGE_PATCH) -> dict[str, Any]:
        return self.client.call(method, path, body, content_type if method == "PATCH" else "application/json")

    def apply(self, body: dict[str, Any]) -> dict[str, Any]:
        body = copy.deepcopy(body)
        body["metadata"]["namespace"] = self.namespace
        return self.call("POST", self.path(PLURAL), body)

    def apply_ready(self, example_name: str) -> dict[str, Any]:
        """The example applied, once the operator reports it Ready: the schedule as read then."""
        name = self.apply(example(example_name))["metadata"]["name"]
        return wait_for(f"{name} Ready", lambda: self.ready(name))

    def schedule(self, name: str) -> dict[str, Any]:
        return self.call("GET", self.path(PLURAL, name))

    def patch_spec(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        return self.call("PATCH", self.path(PLURAL, name), {"spec": spec})

    def annotate(self, name: str, annotations: dict[str, str]) -> None:
        self.call("PATCH", self.path(PLURAL, name), {"metadata": {"annotations": annotations}})

    def _list(self, plural: str, selector: str) -> dict[str, dict[str, Any]]:
        items = self.call("GET", f"{self.path(plural)}?labelSelector={urllib.parse.quote(selector)}")["items"]
        return {item["metadata"]["name"]: item for item in items}

    def cron_jobs(self, schedule: str | None = None) -> dict[str, dict[str, Any]]:
        selector = f"erpsync.io/schedule={schedule}" if schedule else "app.kubernetes.io/managed-by=erp-sync-operator"
        return self._list("cronjobs", selector)

    def jobs(self, schedule: str) -> dict[str, dict[str, Any]]:
        return self._list("jobs", f"erpsync.io/schedule={schedule}")

    def pods(self, schedule: str) -> dict[str, dict[str, Any]]:
        return self._list("pods", f"erpsync.io/schedule={schedule}")

    def events(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.call("GET", self.path("events"))["items"]
        return items

    def server_now(self) -> datetime:
        """The API server's clock (from its answers' Date header), which the operator counts with."""
        self.client.request("GET", "/version")
        return self.client.clock.now()

    def condition(self, name: str, kind: str) -> dict[str, Any] | None:
        status = self.schedule(name).get("status") or {}
        return next((c for c in status.get("conditions") or [] if c["type"] == kind), None)

    def ready(self, name: str) -> dict[str, Any] | None:
        """The schedule when Ready=True for its current generation."""
        body = self.schedule(name)
        return body if is_ready(body) else None

    def all_ready(self, names: list[str]) -> bool:
        return all(self.ready(name) for name in names)

    # The operator's own calls, from the API server's audit log ---------------------------------

    def operator_calls(self) -> list[dict[str, Any]]:
        """The audit events of the operator's requests since the last `mark_calls()`."""
        events, _ = audit.events_since(self.control_plane.audit_log, self._audit_mark)
        return [e for e in events if e.get("user", {}).get("username") == OPERATOR_USER]

    def mark_calls(self) -> None:
        self._audit_mark = audit.end_offset(self.control_plane.audit_log)

    def writes(self) -> dict[str, int]:
        """The operator's writes since the last mark, counted by "verb resource.group[/subresource]"."""
        return dict(Counter(audit.call_name(e) for e in self.operator_calls() if e["verb"] in WRITE_VERBS))


@pytest.fixture
def cluster(
    crd_established: ControlPlane, namespace: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Cluster]:
    control_plane = crd_established
    marker = request.node.get_closest_marker("operator_args")
    args = tuple(marker.args) if marker else ("--resync-interval", "300")
    proxied = request.node.get_closest_marker("fault_proxy") is not None
    with _operator_kubeconfig(control_plane, tmp_path / "operator.kubeconfig", namespace, proxied) as (path, proxy):
        operator = Operator(path, tmp_path / "operator.log", namespace, (*TEST_WORKER_IMAGE, *args))
        cluster = Cluster(control_plane, namespace, control_plane.client(), operator, proxy)
        cluster.mark_calls()
        operator.start()
        try:
            yield cluster
        finally:
            operator.stop()
            cluster.client.close()
            log = operator.output()
            assert "Traceback" not in log, f"the operator hit an error:\n{log[-4000:]}"


@contextlib.contextmanager
def _operator_kubeconfig(
    control_plane: ControlPlane, path: Path, namespace: str, proxied: bool
) -> Iterator[tuple[Path, FaultProxy | None]]:
    """The operator's kubeconfig: straight to the API server, or through a fault proxy (`fault_proxy` marker)."""
    certificate, key = control_plane.pki.issue_client(OPERATOR_USER, ("system:masters",))
    if not proxied:
        user = {"client-certificate": str(certificate), "client-key": str(key)}
        yield control_plane.write_kubeconfig(path, user, namespace), None
        return
    with FaultProxy(control_plane.server, control_plane.ssl_context(certificate, key)) as proxy:
        config = kubeconfig(proxy.url, None, {"token": "unused-behind-the-proxy"}, namespace)
        path.write_text(yaml.safe_dump(config))
        yield path, proxy


# Runs, without a kubelet: the test plays the kubelet, the real Job controller decides ------------


def run_job(cluster: Cluster, cron_job_name: str, suffix: str, backoff_limit: int | None = None) -> dict[str, Any]:
    """A Job as the CronJob controller makes it: the template's labels and spec, owned by the CronJob."""
    cron_job = cluster.call("GET", cluster.path("cronjobs", cron_job_name))
    template = cron_job["spec"]["jobTemplate"]
    spec = dict(template["spec"])
    if backoff_limit is not None:
        spec["backoffLimit"] = backoff_limit  # no retry Pod after a failure (the controller waits 10 s first)
    return cluster.call(
        "POST",
        cluster.path("jobs"),
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": f"{cron_job_name}-{suffix}",
                "labels": template["metadata"]["labels"],
                "ownerReferences": [
                    {
                        "apiVersion": "batch/v1",
                        "kind": "CronJob",
                        "name": cron_job_name,
                        "uid": cron_job["metadata"]["uid"],
                        "controller": True,
                    }
                ],
            },
            "spec": spec,
        },
    )


def pod_of(cluster: Cluster, job: dict[str, Any]) -> dict[str, Any]:
    """The Pod the real Job controller made for `job`."""
    selector = f"batch.kubernetes.io/job-name={job['metadata']['name']}"

    def pods() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = cluster.call("GET", f"{cluster.path('pods')}?labelSelector={selector}")["items"]
        return items

    (pod,) = wait_for(f"the Pod of {job['metadata']['name']}", pods)
    return pod


def kubelet_reports(cluster: Cluster, job: dict[str, Any], phase: str, state: dict[str, Any]) -> None:
    """What the kubelet would write for the Job's Pod: its phase and its one container's state."""
    pod = pod_of(cluster, job)
    container = pod["spec"]["containers"][0]["name"]
    cluster.call(
        "PATCH",
        cluster.path("pods", pod["metadata"]["name"], "status"),
        {
            "status": {
                "phase": phase,
                "containerStatuses": [
                    {
                        "name": container,
                        "state": state,
                        "ready": False,
                        "restartCount": 0,
                        "image": pod["spec"]["containers"][0]["image"],
                        "imageID": "",
                    }
                ],
            }
        },
    )


def terminated(exit_code: int, reason: str, message: str) -> dict[str, Any]:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "terminated": {
            "exitCode": exit_code,
            "reason": reason,
            "message": message,
            "startedAt": now,
            "finishedAt": now,
        }
    }


def job_condition(cluster: Cluster, job: dict[str, Any], kind: str) -> dict[str, Any] | None:
    """The Job once the Job controller has set condition `kind` (Complete, Failed) on it."""
    current = cluster.call("GET", cluster.path("jobs", job["metadata"]["name"]))
    conditions = (current.get("status") or {}).get("conditions") or []
    return current if any(c["type"] == kind and c["status"] == "True" for c in conditions) else None
