"""Prometheus metrics of the operator, served on their own port."""

from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

REGISTRY: Final = CollectorRegistry(auto_describe=True)

RECONCILES: Final = Counter("erpsync_reconciles_total", "Reconcile passes, by outcome.", ["outcome"], registry=REGISTRY)
RECONCILE_ERRORS: Final = Counter("erpsync_reconcile_errors_total", "Reconcile passes that failed.", registry=REGISTRY)
RECONCILE_SECONDS: Final = Histogram(
    "erpsync_reconcile_duration_seconds", "Duration of reconcile passes.", registry=REGISTRY
)
WRITES: Final = Counter(
    "erpsync_api_writes_total", "Writes to the Kubernetes API made by reconcile passes.", registry=REGISTRY
)
MANAGED_CRONJOBS: Final = Gauge("erpsync_managed_cronjobs", "CronJobs the operator manages.", registry=REGISTRY)
SYNC_LAST_RESULT: Final = Gauge(
    "erpsync_sync_last_result",
    "1 for the result of the last run of each sync (labels say which).",
    ["namespace", "schedule", "sync", "result"],
    registry=REGISTRY,
)
SYNC_LAST_DURATION: Final = Gauge(
    "erpsync_sync_last_duration_seconds",
    "Duration of the last finished run of each sync.",
    ["namespace", "schedule", "sync"],
    registry=REGISTRY,
)


def serve(port: int, address: str = "0.0.0.0") -> None:  # a pod serves metrics on all its addresses
    start_http_server(port, addr=address, registry=REGISTRY)
