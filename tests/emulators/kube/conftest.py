from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes.client
import pytest

from erpsync_emulators.kube import DEFAULT_NAMESPACES, EmulatorServer, load_manifests
from tests.emulators.kube.helpers import Http, Kubectl

REPO = Path(__file__).resolve().parents[3]
CRD_PATH = REPO / "crds" / "erpsyncschedules.erpsync.io.yaml"


@pytest.fixture(scope="session")
def crd() -> dict[str, Any]:
    (doc,) = load_manifests(CRD_PATH)
    return doc


@pytest.fixture
def server(crd: dict[str, Any]) -> Iterator[EmulatorServer]:
    """A fresh emulator per test (it starts in a few milliseconds), with our CRD and a namespace `erp`."""
    with EmulatorServer(crds=[crd], seed_namespaces=(*DEFAULT_NAMESPACES, "erp"), bookmark_interval=0.2) as srv:
        yield srv
        assert srv.unexpected_errors() == [], "the emulator hit an internal error"


@pytest.fixture
def http(server: EmulatorServer) -> Iterator[Http]:
    client = Http(server.url)
    yield client
    client.close()


@pytest.fixture
def kubectl(server: EmulatorServer, tmp_path: Path) -> Kubectl:
    return Kubectl(server.write_kubeconfig(tmp_path / "kubeconfig"), tmp_path / "kubectl-cache")


@pytest.fixture
def k8s(server: EmulatorServer) -> Iterator[kubernetes.client.ApiClient]:
    config = kubernetes.client.Configuration()
    config.host = server.url
    with kubernetes.client.ApiClient(config) as client:
        yield client
