"""kopf wiring: thin handlers that feed the watch cache and queue reconcile passes.

Only raw `on.event` handlers are used: kopf's create/update handlers write progress annotations
and its timers, daemons and non-optional delete handlers add a finalizer (a deletion could then
hang while the operator is down). The periodic resync is the operator's own task instead.
"""

import asyncio
import logging
import random
from dataclasses import dataclass, field
from typing import Any, Final, cast

import kopf

from erpsync.api.vocabulary import API_GROUP, API_VERSION, PLURAL
from erpsync.controller import metrics
from erpsync.controller.events import EventPoster
from erpsync.controller.kopf_storage import NoDiffBase, NoProgress
from erpsync.controller.kubeapi import KubeApi
from erpsync.controller.queue import ReconcileQueue
from erpsync.controller.reconcile import Reconciler
from erpsync.controller.runs import parse_time
from erpsync.controller.world import Kind, ScheduleKey, World
from erpsync.planning.cronjobs import MANAGED_BY
from erpsync.planning.plan import DEFAULT_WORKER_IMAGE

MANAGED: Final = {"app.kubernetes.io/managed-by": MANAGED_BY}
logger = logging.getLogger("erpsync.operator")


@dataclass
class OperatorConfig:
    worker_image: str = DEFAULT_WORKER_IMAGE
    resync_seconds: float = 300.0
    workers: int = 8
    metrics_port: int = 0  # 0: no metrics server


@dataclass
class OperatorState:
    config: OperatorConfig
    world: World = field(default_factory=World)
    api: KubeApi | None = None
    queue: ReconcileQueue[ScheduleKey] | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    settings: kopf.OperatorSettings | None = None
    events: EventPoster | None = None


def _login(state: OperatorState) -> kopf.ConnectionInfo | None:
    assert state.settings is not None
    # In a pod: the service account. Elsewhere: the kubeconfig ($KUBECONFIG or ~/.kube/config).
    return kopf.login_with_service_account(settings=state.settings) or kopf.login_with_kubeconfig(
        settings=state.settings
    )


def build_registry(state: OperatorState) -> kopf.OperatorRegistry:
    """The operator's handlers, bound to `state` (no module-level registration: importable freely)."""
    registry = kopf.OperatorRegistry()

    @kopf.on.login(registry=registry)
    def login(settings: kopf.OperatorSettings, **_: Any) -> kopf.ConnectionInfo | None:
        state.settings = settings
        info = _login(state)
        if info is not None and state.api is not None:
            state.api.use(info)
        return info

    @kopf.on.startup(registry=registry)
    async def startup(settings: kopf.OperatorSettings, **_: Any) -> None:
        state.settings = settings
        settings.persistence.finalizer = "erpsync.io/finalizer"  # never added: no handler needs one
        settings.posting.enabled = False  # the operator posts its own Events (events.py)
        settings.persistence.diffbase_storage = NoDiffBase()
        settings.persistence.progress_storage = NoProgress()
        settings.watching.connect_timeout = 10
        settings.networking.request_timeout = 30

        async def relogin() -> kopf.ConnectionInfo | None:
            return _login(state)

        state.api = state.api or KubeApi(relogin)
        state.events = EventPoster(state.api)
        reconciler = Reconciler(state.world, state.api, state.events, state.config.worker_image)
        state.queue = ReconcileQueue(lambda key: _reconcile(reconciler, key), workers=state.config.workers)
        state.queue.start()
        state.tasks.append(asyncio.create_task(_resync(state), name="resync"))
        if state.config.metrics_port:
            metrics.serve(state.config.metrics_port)

    @kopf.on.cleanup(registry=registry)
    async def cleanup(**_: Any) -> None:
        for task in state.tasks:
            task.cancel()
        await asyncio.gather(*state.tasks, return_exceptions=True)
        if state.queue is not None:
            await state.queue.stop()
        if state.api is not None:
            await state.api.close()

    @kopf.on.probe(registry=registry, id="schedules")
    def schedules_known(**_: Any) -> int:
        return len(state.world.schedule_keys())

    @kopf.on.event(API_GROUP, API_VERSION, PLURAL, registry=registry)
    async def schedule_event(event: kopf.RawEvent, **_: Any) -> None:  # async: no thread hop per event
        body = cast(dict[str, Any], event["object"])
        metadata = body.get("metadata", {})
        key = (str(metadata.get("namespace")), str(metadata.get("name")))
        if state.world.apply("schedules", str(event.get("type") or ""), body) and event.get("type") != "DELETED":
            _enqueue(state, key)

    def child_event(kind: Kind) -> Any:
        async def handler(event: kopf.RawEvent, **_: Any) -> None:
            body = cast(dict[str, Any], event["object"])
            if state.world.apply(kind, str(event.get("type") or ""), body):
                key = state.world.owner_schedule(body)
                if key is not None:
                    _enqueue(state, key)

        handler.__name__ = f"{kind}_event"
        return handler

    kopf.on.event("batch", "v1", "cronjobs", labels=MANAGED, registry=registry)(child_event("cronjobs"))
    kopf.on.event("batch", "v1", "jobs", labels=MANAGED, registry=registry)(child_event("jobs"))
    kopf.on.event("", "v1", "pods", labels=MANAGED, registry=registry)(child_event("pods"))
    return registry


def _enqueue(state: OperatorState, key: ScheduleKey) -> None:
    if state.queue is not None:
        state.queue.add(key)


async def _reconcile(reconciler: Reconciler, key: ScheduleKey) -> bool:
    try:
        result = await reconciler.reconcile(key)
    except Exception:
        metrics.RECONCILE_ERRORS.inc()
        raise
    if result is None:
        return False
    metrics.RECONCILES.labels(result.outcome.state).inc()
    metrics.RECONCILE_SECONDS.observe(result.seconds)
    metrics.WRITES.inc(result.writes)
    if result.retry:
        metrics.RECONCILE_ERRORS.inc()
    _record_sync_metrics(reconciler.world, key)
    return result.retry


def _record_sync_metrics(world: World, key: ScheduleKey) -> None:
    metrics.MANAGED_CRONJOBS.set(len(world.objects["cronjobs"]))
    body = world.schedule(key)
    for sync, status in ((body or {}).get("status", {}).get("syncs") or {}).items():
        run = status.get("lastRun") or {}
        if not run:
            continue
        metrics.SYNC_LAST_RESULT.labels(key[0], key[1], sync, run.get("result", "")).set(1)
        start, end = parse_time(run.get("startTime")), parse_time(run.get("completionTime"))
        if start and end:
            metrics.SYNC_LAST_DURATION.labels(key[0], key[1], sync).set((end - start).total_seconds())


async def _resync(state: OperatorState) -> None:
    """Every schedule is reconciled again once per resync period, spread over the period."""
    period = state.config.resync_seconds
    await asyncio.sleep(period * random.uniform(0.5, 1.0))  # spreads load; not security
    while True:
        keys = state.world.schedule_keys()
        step = period / max(len(keys), 1)
        for key in keys:
            _enqueue(state, key)
            await asyncio.sleep(step)
        if not keys:
            await asyncio.sleep(period)
