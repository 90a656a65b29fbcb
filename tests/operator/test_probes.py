"""The operator's liveness endpoint and Prometheus metrics (unit tests: tests/controller/test_metrics.py)."""

import json

import pytest

from erpsync_testbed.control_plane import free_port
from tests.operator.conftest import (
    Cluster,
    http_get,
    job_condition,
    kubelet_reports,
    run_job,
    terminated,
    wait_for,
)

LIVENESS_PORT, METRICS_PORT = free_port(), free_port()


@pytest.mark.operator_args(
    "--liveness", f"http://127.0.0.1:{LIVENESS_PORT}/healthz", "--metrics-port", str(METRICS_PORT)
)
def test_liveness_and_metrics(cluster: Cluster) -> None:
    wait_for("liveness answers", lambda: http_get(f"http://127.0.0.1:{LIVENESS_PORT}/healthz"))
    cluster.apply_ready("generic")

    def reconciled() -> str | None:
        text = http_get(f"http://127.0.0.1:{METRICS_PORT}/metrics")
        return text if text and 'erpsync_reconciles_total{outcome="Reconciled"}' in text else None

    metrics = wait_for("metrics", reconciled)
    assert "erpsync_managed_cronjobs 4.0" in metrics
    assert "erpsync_reconcile_duration_seconds_count" in metrics


def _metrics(port: int) -> dict[str, float]:
    """The operator's samples, by their exposition line's name and labels."""
    text = http_get(f"http://127.0.0.1:{port}/metrics") or ""
    samples = (line.rsplit(" ", 1) for line in text.splitlines() if line.startswith("erpsync_"))
    return {series: float(value) for series, value in samples}


def _sync_series(name: str, sync: str, **labels: str) -> str:
    """A series as the exposition writes it (labels sorted by name)."""
    every = {"namespace": "{ns}", "schedule": "granite-cmic", "sync": sync, **labels}
    return name + "{" + ",".join(f'{key}="{every[key]}"' for key in sorted(every)) + "}"


RUN_METRICS_PORT = free_port()


@pytest.mark.operator_args("--metrics-port", str(RUN_METRICS_PORT))
def test_sync_metrics_follow_runs_and_go_with_the_schedule(cluster: Cluster) -> None:
    cluster.apply_ready("cmic")  # jobCosts only, Every2Hours

    def series(name: str, **labels: str) -> str:
        return _sync_series(name, "jobCosts", **labels).replace("{ns}", cluster.namespace)

    summary = {"sync": "job-costs", "result": "PartiallyFailed", "read": 12, "created": 2, "updated": 1}
    summary |= {"unchanged": 6, "skipped": 0, "failed": 3, "errors": ["cost code 01-100: name is missing"]}
    failed = run_job(cluster, "granite-cmic-job-costs", "29000001", backoff_limit=0)
    kubelet_reports(cluster, failed, "Failed", terminated(2, "Error", json.dumps(summary)))
    wait_for("Failed", lambda: job_condition(cluster, failed, "Failed"))
    wait_for(
        "the failure in the metrics",
        lambda: _metrics(RUN_METRICS_PORT).get(series("erpsync_sync_last_result", result="PartiallyFailed")) == 1,
    )
    after_failure = _metrics(RUN_METRICS_PORT)
    assert after_failure[series("erpsync_sync_last_result", result="Succeeded")] == 0
    assert after_failure[series("erpsync_sync_runs_total", result="PartiallyFailed")] == 1
    assert after_failure[series("erpsync_sync_runs_total", result="Succeeded")] == 0
    assert after_failure[series("erpsync_sync_records_total", outcome="failed")] == 3
    assert after_failure[series("erpsync_sync_period_seconds")] == 7200
    assert series("erpsync_sync_last_success_timestamp_seconds") not in after_failure

    succeeded = run_job(cluster, "granite-cmic-job-costs", "29000002")
    kubelet_reports(cluster, succeeded, "Succeeded", terminated(0, "Completed", json.dumps(summary | ok)))
    wait_for("Complete", lambda: job_condition(cluster, succeeded, "Complete"))
    wait_for(
        "the success in the metrics",
        lambda: _metrics(RUN_METRICS_PORT).get(series("erpsync_sync_last_result", result="Succeeded")) == 1,
    )
    now = _metrics(RUN_METRICS_PORT)
    assert now[series("erpsync_sync_last_result", result="PartiallyFailed")] == 0  # the failure reads 0 now
    assert now[series("erpsync_sync_runs_total", result="Succeeded")] == 1
    assert now[series("erpsync_sync_runs_total", result="PartiallyFailed")] == 1  # counted once
    assert now[series("erpsync_sync_records_total", outcome="created")] == 4
    assert now[series("erpsync_sync_last_success_timestamp_seconds")] > 0

    # A restart counts nothing again: the stored status already holds both runs.
    cluster.operator.stop()
    cluster.operator.start()
    wait_for(
        "the restarted operator's metrics",
        lambda: _metrics(RUN_METRICS_PORT).get(series("erpsync_sync_last_result", result="Succeeded")) == 1,
    )
    restarted = _metrics(RUN_METRICS_PORT)
    assert restarted[series("erpsync_sync_runs_total", result="Succeeded")] == 0, restarted
    assert restarted[series("erpsync_sync_runs_total", result="PartiallyFailed")] == 0, restarted

    cluster.call("DELETE", cluster.path("erpsyncschedules", "granite-cmic"))
    wait_for(
        "no series of the deleted schedule",
        lambda: not any('schedule="granite-cmic"' in name for name in _metrics(RUN_METRICS_PORT)),
    )


ok = {"result": "Succeeded", "failed": 0, "errors": []}
HEALTH_METRICS_PORT = free_port()


@pytest.mark.fault_proxy
@pytest.mark.operator_args("--metrics-port", str(HEALTH_METRICS_PORT))
def test_the_operators_own_health(cluster: Cluster) -> None:
    assert cluster.proxy is not None
    cluster.apply_ready("cmic")
    before = _metrics(HEALTH_METRICS_PORT)
    assert before["erpsync_queue_depth"] == 0 and before["erpsync_queue_retries"] == 0
    assert before["erpsync_reconcile_errors_total"] == 0
    assert cluster.proxy.drop_watches() > 0
    wait_for(
        "watch restarts counted",
        lambda: _metrics(HEALTH_METRICS_PORT).get('erpsync_watch_restarts_total{resource="erpsyncschedules"}', 0) >= 1,
    )
    cluster.proxy.inject_fault("patch", "erpsyncschedules/status", 500, count=2)
    cluster.patch_spec("granite-cmic", {"suspend": True})
    wait_for("reconcile errors counted", lambda: _metrics(HEALTH_METRICS_PORT)["erpsync_reconcile_errors_total"] >= 1)
    wait_for("Ready again", lambda: cluster.ready("granite-cmic"))
