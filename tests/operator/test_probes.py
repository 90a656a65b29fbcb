"""The operator's liveness endpoint and Prometheus metrics."""

import pytest

from erpsync_testbed.control_plane import free_port
from tests.operator.conftest import Cluster, example, http_get, wait_for

LIVENESS_PORT, METRICS_PORT = free_port(), free_port()


@pytest.mark.operator_args(
    "--liveness", f"http://127.0.0.1:{LIVENESS_PORT}/healthz", "--metrics-port", str(METRICS_PORT)
)
def test_liveness_and_metrics(cluster: Cluster) -> None:
    wait_for("liveness answers", lambda: http_get(f"http://127.0.0.1:{LIVENESS_PORT}/healthz"))
    cluster.apply(example("generic"))
    wait_for("Ready", lambda: cluster.ready("acme-generic"))

    def reconciled() -> str | None:
        text = http_get(f"http://127.0.0.1:{METRICS_PORT}/metrics")
        return text if text and 'erpsync_reconciles_total{outcome="Reconciled"}' in text else None

    metrics = wait_for("metrics", reconciled)
    assert "erpsync_managed_cronjobs 4.0" in metrics
    assert "erpsync_reconcile_duration_seconds_count" in metrics
