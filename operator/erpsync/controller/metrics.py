"""Prometheus metrics of the operator, served on their own port, and their recording after each pass.

Per sync, gauges mirror the status the pass just wrote (last result, last success, duration, period);
counters count the runs the operator saw finish, once per run: a run is counted by the pass whose
status write first shows it finished (as its RunFailed Event is posted), never again after a
restart, since the stored status already shows it. Every series of a schedule is removed when the
schedule is deleted, and those of a sync when it leaves the status. Names and meanings:
docs/operator.md, "Metrics"; the chart's alerts and dashboard use only `METRIC_NAMES`.
"""

from collections.abc import Callable, Iterable
from typing import Any, Final

from kopf._cogs.clients import watching  # kopf offers no hook on watch (re)starts
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from erpsync.api.models import LastRun, RunCounts, read_status
from erpsync.api.vocabulary import SYNC_NAMES, WORKER_RESULTS
from erpsync.controller.bounds import parse_time
from erpsync.controller.queue import ReconcileQueue
from erpsync.controller.reconcile import Reconciler
from erpsync.controller.sync_series import SyncSeries
from erpsync.controller.world import ScheduleKey, World
from erpsync.planning.cron import interval

REGISTRY: Final = CollectorRegistry(auto_describe=True)
# The results a run can have (runs.read_run): erpsync_sync_last_result has one series for each, 1 for the
# current one and 0 for the others, so that a failure followed by a success reads 0 for the failure.
RESULTS: Final = ("Running", *WORKER_RESULTS)
FINISHED_RESULTS: Final = WORKER_RESULTS  # erpsync_sync_runs_total counts finished runs: from 0 for each of these
# The outcomes of records in the worker's summary (RunCounts without `read`).
RECORD_OUTCOMES: Final = tuple(
    info.alias or name for name, info in RunCounts.model_fields.items() if (info.alias or name) != "read"
)

RECONCILES: Final = Counter("erpsync_reconciles_total", "Reconcile passes, by outcome.", ["outcome"], registry=REGISTRY)
RECONCILE_ERRORS: Final = Counter("erpsync_reconcile_errors_total", "Reconcile passes that failed.", registry=REGISTRY)
RECONCILE_SECONDS: Final = Histogram(
    "erpsync_reconcile_duration_seconds", "Duration of reconcile passes.", registry=REGISTRY
)
WRITES: Final = Counter(
    "erpsync_api_writes_total", "Writes to the Kubernetes API made by reconcile passes.", registry=REGISTRY
)
MANAGED_CRONJOBS: Final = Gauge("erpsync_managed_cronjobs", "CronJobs the operator manages.", registry=REGISTRY)
QUEUE_DEPTH: Final = Gauge(
    "erpsync_queue_depth",
    "Schedules waiting for a reconcile pass (not counting those waiting to retry).",
    registry=REGISTRY,
)
QUEUE_RETRIES: Final = Gauge(
    "erpsync_queue_retries", "Schedules whose pass failed, waiting for their retry.", registry=REGISTRY
)
LEADER: Final = Gauge(
    "erpsync_leader",
    "1 while this replica reconciles (it holds the leader-election Lease, or runs without leader election), "
    "0 while it stands by.",
    registry=REGISTRY,
)
WATCH_RESTARTS: Final = Counter(
    "erpsync_watch_restarts_total",
    "Watch requests after the first of each watch stream (the API server ends watches every few minutes; "
    "a fast rate means dropped watches).",
    ["resource"],
    registry=REGISTRY,
)
# Each sync's series (erpsync_sync_*): plain numbers, written as text when scraped (sync_series.py), after
# the registry's (metrics_endpoint.py).
SYNC_SERIES: Final = SyncSeries(RESULTS, FINISHED_RESULTS)
# The names of the series each kind of metric exposes (counters and histograms add suffixes).
_SUFFIXES: Final = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def exported_names() -> frozenset[str]:
    """The names of the series the operator exports: all the chart's alerts and dashboard may use."""
    registered = (family.name + suffix for family in REGISTRY.collect() for suffix in _SUFFIXES.get(family.type, ("",)))
    return frozenset(registered) | SYNC_SERIES.names()


def watch_queue(queue: ReconcileQueue[Any]) -> None:
    """Queue depth and retries, read when scraped."""
    QUEUE_DEPTH.set_function(lambda: queue.depth)
    QUEUE_RETRIES.set_function(lambda: queue.retrying)


async def measured_reconcile(reconciler: Reconciler, key: ScheduleKey) -> bool:
    """One pass of `key`, recorded; True when it must be retried (the queue's work function)."""
    try:
        result = await reconciler.reconcile(key)
    except Exception:
        RECONCILE_ERRORS.inc()
        raise
    if result is None:
        record_sync_metrics(reconciler.world, key)  # gone: its series go too
        return False
    RECONCILES.labels(result.outcome.state).inc()
    RECONCILE_SECONDS.observe(result.seconds)
    WRITES.inc(result.writes)
    if result.retry:
        RECONCILE_ERRORS.inc()
    if not result.skipped:  # a skipped pass: the same status, the same CronJobs, the same gauges
        record_sync_metrics(reconciler.world, key)
    count_finished_runs(key, result.finished_runs)
    return result.retry


def count_finished_runs(key: ScheduleKey, finished: Iterable[tuple[str, LastRun]]) -> None:
    """Runs and records of the runs a pass saw finish (each reported once, by the status write that first
    shows it finished)."""
    for sync, run in finished:
        numbers = SYNC_SERIES.numbers(key, sync)
        numbers.runs[run.result] = numbers.runs.get(run.result, 0.0) + 1
        counts = run.counts.as_json() if run.counts else {}
        for outcome in RECORD_OUTCOMES:
            if counts.get(outcome):
                numbers.records[outcome] = numbers.records.get(outcome, 0.0) + counts[outcome]


def record_sync_metrics(world: World, key: ScheduleKey) -> None:
    """The managed CronJobs, and each sync's gauges from the schedule's status; a schedule that is gone
    loses every series."""
    MANAGED_CRONJOBS.set(len(world.objects["cronjobs"]))
    body = world.schedule(key)
    if body is None:
        forget_schedule(key)
        return
    stored = read_status(body.get("status")).syncs
    syncs = {sync: entry for sync in SYNC_NAMES if stored and (entry := stored.get(sync))}
    SYNC_SERIES.keep_only(key, syncs)  # a sync no longer in status (another ERP profile) loses its series
    for sync, status in syncs.items():
        numbers = SYNC_SERIES.numbers(key, sync)
        run = status.last_run
        numbers.last_result = run.result if run and isinstance(run.result, str) and run.result else None
        numbers.last_duration = _duration(run)
        success = parse_time(status.last_successful_time)
        numbers.last_success = success.timestamp() if success else None
        period = interval(status.frequency) if status.schedule and not status.suspended else None
        numbers.period = period.total_seconds() if period else None
        numbers.scheduled_since = _scheduled_since(world, body, status.cron_job) if period else None


def _scheduled_since(world: World, schedule: dict[str, Any], cron_job: str | None) -> float | None:
    """The creation time of the sync's CronJob, else of the schedule (its CronJob not seen yet)."""
    metadata = schedule.get("metadata") or {}
    body = world.get("cronjobs", (str(metadata.get("namespace")), cron_job)) if cron_job else None
    created = parse_time(((body or {}).get("metadata") or {}).get("creationTimestamp"))
    created = created or parse_time(metadata.get("creationTimestamp"))
    return created.timestamp() if created else None


def forget_schedule(key: ScheduleKey) -> None:
    """Remove every series of a deleted schedule."""
    SYNC_SERIES.forget(key)


def _duration(run: LastRun | None) -> float | None:
    start, end = (parse_time(run.start_time), parse_time(run.completion_time)) if run else (None, None)
    return (end - start).total_seconds() if start and end else None


def install_watch_counter() -> None:
    """Count kopf's watch requests, before kopf starts watching (once per process)."""
    if not getattr(watching.watch_objs, "counted", False):
        watching.watch_objs = count_watch_restarts(watching.watch_objs)


def count_watch_restarts(watch: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap kopf's watch request (kopf offers no hook): each call after the first of a stream is a restart."""
    started: set[tuple[str, object]] = set()

    def counted(*args: Any, resource: Any, namespace: Any, **kwargs: Any) -> Any:
        stream = (str(resource.plural), namespace)
        counter = WATCH_RESTARTS.labels(stream[0])
        if stream in started:
            counter.inc()
        started.add(stream)
        return watch(*args, resource=resource, namespace=namespace, **kwargs)

    counted.counted = True  # type: ignore[attr-defined]
    return counted
