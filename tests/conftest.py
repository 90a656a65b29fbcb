"""The real control plane shared by the end-to-end tests: one per test session, a namespace per test;
and the built image, for the tests that run it.

Started on first use only, so a run of the unit tests alone never pays for it. Missing binaries or a
missing image are an error, not a skip: `.ci/kube.sh` and `.ci/image.sh` build them (make test runs both).
"""

import itertools
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from erpsync.planning import cron
from erpsync_testbed import ControlPlane, podman
from erpsync_testbed.client import ApiClient

REPO = Path(__file__).resolve().parents[1]
CRD_FILE = REPO / "crds" / "erpsyncschedules.erpsync.io.yaml"
CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/erpsyncschedules.erpsync.io"
_namespaces = itertools.count(1)


@pytest.fixture(autouse=True)
def _next_runs_computed_afresh() -> None:
    """Each test computes its next runs itself instead of reading them from an earlier test's memo (cron's
    lru_cache). mutmut runs every mutant in a process forked after all the tests ran once: without this,
    a mutant of the cron code behind the cache would never run and could not be caught."""
    cron._next_runs.cache_clear()


@pytest.fixture(scope="session")
def image() -> str:
    """The image `make image` built (podman's reference)."""
    if not podman.image_exists():
        pytest.fail(f"the image {podman.IMAGE} is not built: run `make image` (make test does)")
    return podman.IMAGE


@pytest.fixture(scope="session")
def control_plane() -> Iterator[ControlPlane]:
    with ControlPlane(manifests=[CRD_FILE]) as started:
        yield started


@pytest.fixture(scope="session")
def crd_established(control_plane: ControlPlane) -> ControlPlane:
    """The CRD, applied with kubectl's default (client and server) validation by the control plane before
    its controller manager started, Established and in discovery (ControlPlane waits for both), and
    followed by the garbage collector."""
    client = control_plane.client()
    _wait_for_the_garbage_collector(client)
    client.close()
    return control_plane


def _wait_for_the_garbage_collector(client: ApiClient) -> None:
    """Return once the garbage collector follows ownerReferences to ErpSyncSchedules.

    It learns of a new kind from discovery, which it rereads every 30 s: until then, deleting a
    schedule would leave its CronJobs behind for a while. A probe schedule owning a ConfigMap is
    deleted; when the ConfigMap is collected, the collector knows the kind.
    """
    schedules = "/apis/erpsync.io/v1alpha1/namespaces/default/erpsyncschedules"
    body = yaml.safe_load((REPO / "examples" / "generic.yaml").read_text())
    body["metadata"] = {"name": "garbage-collector-probe", "namespace": "default"}
    owner = client.create(schedules, body)
    reference = {key: owner[key] for key in ("apiVersion", "kind")} | {
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
    }
    configmaps = "/api/v1/namespaces/default/configmaps"
    probe = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "gc-probe", "ownerReferences": [reference]}}
    client.create(configmaps, probe)
    client.delete(f"{schedules}/garbage-collector-probe")
    deadline = time.monotonic() + 90
    while client.request("GET", f"{configmaps}/gc-probe").status != 404:
        assert time.monotonic() < deadline, "the garbage collector never collected the probe's ConfigMap"
        time.sleep(0.5)


@pytest.fixture
def namespace(control_plane: ControlPlane, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace, ready for Pods (its `default` ServiceAccount exists); deleted afterwards."""
    # Named after the test (easier to find in logs), unique in the session, a valid DNS label.
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"{slug}-{next(_namespaces)}"
    client = control_plane.client()
    client.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    deadline = time.monotonic() + 30
    while client.request("GET", f"/api/v1/namespaces/{name}/serviceaccounts/default").status != 200:
        assert time.monotonic() < deadline, f"namespace {name} got no default ServiceAccount"
        time.sleep(0.05)
    yield name
    client.delete(f"/api/v1/namespaces/{name}")  # the namespace controller removes the rest, unwatched
    client.close()
