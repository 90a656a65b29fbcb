"""The operator's liveness endpoint and Prometheus metrics."""

import socket
import urllib.request

import pytest

from tests.operator.conftest import Cluster, example, wait_for


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


LIVENESS_PORT, METRICS_PORT = _free_port(), _free_port()


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            body: bytes = response.read()
            return body.decode()
    except OSError:
        return None


@pytest.mark.operator_args(
    "--liveness", f"http://127.0.0.1:{LIVENESS_PORT}/healthz", "--metrics-port", str(METRICS_PORT)
)
def test_liveness_and_metrics(cluster: Cluster) -> None:
    wait_for("liveness answers", lambda: _get(f"http://127.0.0.1:{LIVENESS_PORT}/healthz"))
    cluster.apply(example("generic"))
    wait_for("Ready", lambda: cluster.ready("acme-generic"))

    def reconciled() -> str | None:
        text = _get(f"http://127.0.0.1:{METRICS_PORT}/metrics")
        return text if text and 'erpsync_reconciles_total{outcome="Reconciled"}' in text else None

    metrics = wait_for("metrics", reconciled)
    assert "erpsync_managed_cronjobs 4.0" in metrics
    assert "erpsync_reconcile_duration_seconds_count" in metrics
