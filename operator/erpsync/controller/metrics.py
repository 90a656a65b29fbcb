"""Prometheus metrics of the operator, served on their own port, and their recording after each pass."""

from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from erpsync.controller.bounds import parse_time
from erpsync.controller.reconcile import Reconciler
from erpsync.controller.status import previous_status
from erpsync.controller.world import ScheduleKey, World

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


async def measured_reconcile(reconciler: Reconciler, key: ScheduleKey) -> bool:
    """One pass of `key`, recorded; True when it must be retried (the queue's work function)."""
    try:
        result = await reconciler.reconcile(key)
    except Exception:
        RECONCILE_ERRORS.inc()
        raise
    if result is None:
        return False
    RECONCILES.labels(result.outcome.state).inc()
    RECONCILE_SECONDS.observe(result.seconds)
    WRITES.inc(result.writes)
    if result.retry:
        RECONCILE_ERRORS.inc()
    record_sync_metrics(reconciler.world, key)
    return result.retry


def record_sync_metrics(world: World, key: ScheduleKey) -> None:
    """The managed CronJobs, and the result and duration of each sync's last run, from the status."""
    MANAGED_CRONJOBS.set(len(world.objects["cronjobs"]))
    body = world.schedule(key)
    for sync, status in (previous_status((body or {}).get("status")).get("syncs") or {}).items():
        run = status.get("lastRun") or {}
        if not run:
            continue
        SYNC_LAST_RESULT.labels(key[0], key[1], sync, run.get("result", "")).set(1)
        start, end = parse_time(run.get("startTime")), parse_time(run.get("completionTime"))
        if start and end:
            SYNC_LAST_DURATION.labels(key[0], key[1], sync).set((end - start).total_seconds())
