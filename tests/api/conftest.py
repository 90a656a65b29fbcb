"""The real API server for the tests of the API: one namespace and one keep-alive connection for the session.

Used by test_crd_server_parity and test_integral_floats; started on first use only, so the offline
tests of this folder never pay for the control plane.
"""

from collections.abc import Iterator
from typing import Final

import pytest

from erpsync_testbed import ControlPlane
from erpsync_testbed.client import ApiClient

PARITY_NAMESPACE: Final = "crd-server-parity"


@pytest.fixture(scope="session")
def api(crd_established: ControlPlane) -> Iterator[ApiClient]:
    client = crd_established.client()
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": PARITY_NAMESPACE}}
    client.create("/api/v1/namespaces", namespace)
    yield client
    client.delete(f"/api/v1/namespaces/{PARITY_NAMESPACE}")
    client.close()
