"""End-to-end fixtures: the Kubernetes API emulator on loopback and the real operator process.

The operator runs as `erp-sync operator` in a subprocess, with a kubeconfig pointing at the
emulator, exactly as it runs from a laptop against a cluster.
"""

import copy
import socket
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from erpsync_emulators.kube import DEFAULT_NAMESPACES, EmulatorServer, load_manifests
from erpsync_emulators.operator_process import OperatorProcess
from tests.emulators.kube.helpers import Http, Kubectl

REPO = Path(__file__).resolve().parents[2]
NAMESPACE = "erp-sync"
GROUP, VERSION, PLURAL = "erpsync.io", "v1alpha1", "erpsyncschedules"
T = TypeVar("T")


def wait_for(what: str, check: Callable[[], T | None], timeout: float = 20.0, interval: float = 0.05) -> T:
    """Poll until `check` returns something truthy; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def free_port() -> int:
    """A loopback port nothing listens on now (for an operator's liveness or metrics endpoint)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def http_get(url: str) -> str | None:
    """The body of a GET, or None while nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            body: bytes = response.read()
            return body.decode()
    except OSError:
        return None


SCHEDULES = f"/apis/{GROUP}/{VERSION}/namespaces/{NAMESPACE}/{PLURAL}"
CRONJOBS = f"/apis/batch/v1/namespaces/{NAMESPACE}/cronjobs"
JOBS = f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs"
PODS = f"/api/v1/namespaces/{NAMESPACE}/pods"
CONFIGMAPS = f"/api/v1/namespaces/{NAMESPACE}/configmaps"
MERGE = "application/merge-patch+json"


def example(name: str) -> dict[str, Any]:
    (body,) = yaml.safe_load_all((REPO / "examples" / f"{name}.yaml").read_text())
    return dict(body)


# The operator process of a test (the shared runner; tests kill and restart it).
Operator = OperatorProcess
TEST_WORKER_IMAGE = ("--worker-image", "registry.example/erp-sync:test")


class ApiError(AssertionError):
    def __init__(self, status: int, data: Any) -> None:
        super().__init__(f"HTTP {status}: {data}")
        self.status = status


@dataclass
class Cluster:
    """The emulated cluster, driven over HTTP like any client; objects are plain JSON dicts."""

    server: EmulatorServer
    http: Http
    kubectl: Kubectl
    operator: Operator

    def call(self, method: str, path: str, body: Any = None, content_type: str = MERGE) -> dict[str, Any]:
        reply = (
            self.http.request(method, path, body, content_type)
            if method == "PATCH"
            else self.http.request(method, path, body)
        )
        if reply.status >= 400:
            raise ApiError(reply.status, reply.data)
        data: dict[str, Any] = reply.data or {}
        return data

    def apply(self, body: dict[str, Any]) -> dict[str, Any]:
        body = copy.deepcopy(body)
        body["metadata"]["namespace"] = NAMESPACE
        return self.call("POST", SCHEDULES, body)

    def schedule(self, name: str) -> dict[str, Any]:
        return self.call("GET", f"{SCHEDULES}/{name}")

    def patch_spec(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        return self.call("PATCH", f"{SCHEDULES}/{name}", {"spec": spec})

    def annotate(self, name: str, annotations: dict[str, str]) -> None:
        self.call("PATCH", f"{SCHEDULES}/{name}", {"metadata": {"annotations": annotations}})

    def _list(self, path: str, selector: str) -> dict[str, dict[str, Any]]:
        items = self.call("GET", f"{path}?labelSelector={urllib.parse.quote(selector)}")["items"]
        return {item["metadata"]["name"]: item for item in items}

    def cron_jobs(self, schedule: str | None = None) -> dict[str, dict[str, Any]]:
        selector = f"erpsync.io/schedule={schedule}" if schedule else "app.kubernetes.io/managed-by=erp-sync-operator"
        return self._list(CRONJOBS, selector)

    def jobs(self, schedule: str) -> dict[str, dict[str, Any]]:
        return self._list(JOBS, f"erpsync.io/schedule={schedule}")

    def condition(self, name: str, kind: str) -> dict[str, Any] | None:
        status = self.schedule(name).get("status") or {}
        return next((c for c in status.get("conditions") or [] if c["type"] == kind), None)

    def ready(self, name: str) -> dict[str, Any] | None:
        """The schedule when Ready=True for its current generation."""
        body = self.schedule(name)
        status = body.get("status") or {}
        ready = next((c for c in status.get("conditions") or [] if c["type"] == "Ready"), None)
        current = status.get("observedGeneration") == body["metadata"]["generation"]
        return body if ready and ready["status"] == "True" and current else None

    def writes(self) -> dict[str, int]:
        counts: dict[str, int] = self.server.request_counts()["byVerbAndResource"]
        return {
            key: count
            for key, count in counts.items()
            if key.split()[0] in ("create", "update", "patch", "delete", "deletecollection")
        }


@pytest.fixture(scope="session")
def crd() -> dict[str, Any]:
    (doc,) = load_manifests(REPO / "crds" / "erpsyncschedules.erpsync.io.yaml")
    return doc


@pytest.fixture
def cluster(crd: dict[str, Any], tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Cluster]:
    with EmulatorServer(crds=[crd], seed_namespaces=(*DEFAULT_NAMESPACES, NAMESPACE), bookmark_interval=1.0) as server:
        kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig", namespace=NAMESPACE)
        marker = request.node.get_closest_marker("operator_args")
        args = tuple(marker.args) if marker else ("--resync-interval", "300")
        operator = Operator(kubeconfig, tmp_path / "operator.log", NAMESPACE, (*TEST_WORKER_IMAGE, *args))
        http = Http(server.url)
        cluster = Cluster(server, http, Kubectl(kubeconfig, tmp_path / "kubectl-cache"), operator)
        operator.start()
        try:
            yield cluster
        finally:
            operator.stop()
            http.close()
            log = operator.output()
            assert "Traceback" not in log, f"the operator hit an error:\n{log[-4000:]}"
            assert server.unexpected_errors() == [], "the emulator hit an internal error"
