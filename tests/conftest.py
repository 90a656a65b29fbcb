"""The real control plane shared by the end-to-end tests: one per test session, a namespace per test.

Started on first use only, so a run of the unit tests alone never pays for it. Missing binaries are
an error, not a skip: `.ci/kube.sh` builds them (make test runs it first).
"""

import itertools
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from erpsync_testbed import ControlPlane

REPO = Path(__file__).resolve().parents[1]
CRD_FILE = REPO / "crds" / "erpsyncschedules.erpsync.io.yaml"
_namespaces = itertools.count(1)


@pytest.fixture(scope="session")
def control_plane() -> Iterator[ControlPlane]:
    with ControlPlane() as started:
        yield started


@pytest.fixture(scope="session")
def crd_established(control_plane: ControlPlane) -> ControlPlane:
    """The CRD applied with kubectl's default (client and server) validation, Established and served."""
    control_plane.kubectl("apply", "-f", str(CRD_FILE))
    control_plane.kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd/erpsyncschedules.erpsync.io")
    # Discovery can lag behind Established, and kopf and kubectl resolve the kind through it.
    deadline = time.monotonic() + 30
    while control_plane.kubectl("get", "erpsyncschedules", "-A", check=False).returncode != 0:
        assert time.monotonic() < deadline, "erpsyncschedules never appeared in discovery"
        time.sleep(0.2)
    return control_plane


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
