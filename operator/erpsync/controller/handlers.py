"""kopf wiring: thin handlers that feed the watch cache and queue reconcile passes.

Only raw `on.event` handlers are used: kopf's create/update handlers write progress annotations
and its timers, daemons and non-optional delete handlers add a finalizer (a deletion could then
hang while the operator is down). The periodic resync is the operator's own task instead (resync.py).
What the handlers share is the `OperatorState` (state.py) of the `OperatorConfig` (config.py); each
pass is recorded in the metrics by the queue's work function (metrics.py).
"""

import asyncio
import logging
from typing import Any, Final, cast

import aiohttp
import kopf

from erpsync.api.vocabulary import API_GROUP, API_VERSION, PLURAL
from erpsync.controller import metrics
from erpsync.controller.events import EventPoster
from erpsync.controller.in_cluster import login_in_cluster
from erpsync.controller.kopf_storage import NoDiffBase, NoProgress
from erpsync.controller.kubeapi import ApiError, KubeApi
from erpsync.controller.queue import ReconcileQueue
from erpsync.controller.reconcile import Reconciler
from erpsync.controller.resync import resync
from erpsync.controller.state import OperatorState
from erpsync.controller.world import Kind
from erpsync.planning.cronjobs import MANAGED_BY

MANAGED_SELECTOR: Final = f"app.kubernetes.io/managed-by={MANAGED_BY}"
# The children the operator watches, as (group, version, plural): kopf's selector keys (the plural is
# also the World's name of the kind). Three parts pin the exact resource: "pods" alone would also match
# pods.metrics.k8s.io, and one string with slashes ("batch/v1/cronjobs") is read by kopf as a single
# name that no resource has.
CHILD_RESOURCES: Final[tuple[tuple[str, str, Kind], ...]] = (
    ("batch", "v1", "cronjobs"),
    ("batch", "v1", "jobs"),
    ("", "v1", "pods"),
)
logger = logging.getLogger("erpsync.operator")


def _login(state: OperatorState) -> kopf.ConnectionInfo | None:
    assert state.settings is not None
    # In a pod: the service account. Elsewhere: the kubeconfig ($KUBECONFIG or ~/.kube/config).
    return login_in_cluster(state.settings) or kopf.login_with_kubeconfig(settings=state.settings)


def select_managed_children(settings: kopf.OperatorSettings) -> None:
    """Have the API server filter the children's lists and watches to the operator's own objects.

    A handler's `labels=` is applied in the process, after every Pod, Job and CronJob in reach has
    been streamed in. With a selector the server sends only the managed ones, and an object that
    stops matching (its managed-by label removed or changed) arrives as DELETED, so the next pass
    finds its CronJob missing and repairs it (see the 409 path in reconcile.py).
    """
    for group, version, plural in CHILD_RESOURCES:
        settings.watching.label_selectors[group, version, plural] = MANAGED_SELECTOR


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
        select_managed_children(settings)  # before the watches start: kopf starts them after startup
        settings.networking.request_timeout = 30

        async def relogin() -> kopf.ConnectionInfo | None:
            return _login(state)

        state.api = state.api or KubeApi(relogin)
        state.events = EventPoster(state.api)
        # The cluster's clock, not this process's (server_clock.py): read once before the first pass.
        try:
            await state.api.request("GET", "/version")
        except (ApiError, aiohttp.ClientError, TimeoutError) as error:
            logger.warning("reading the API server's clock: %s; the local clock stands until an answer", error)
        reconciler = Reconciler(
            state.world, state.api, state.events, state.config.worker_defaults, clock=state.api.clock.now
        )
        state.queue = ReconcileQueue(
            lambda key: metrics.measured_reconcile(reconciler, key), workers=state.config.workers
        )
        metrics.watch_queue(state.queue)
        state.queue.start()
        state.tasks.append(asyncio.create_task(resync(state), name="resync"))
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
            state.enqueue(key)
        elif state.world.schedule(key) is None:
            metrics.forget_schedule(key)  # deleted: its metrics series go with it

    def child_event(kind: Kind) -> Any:
        async def handler(event: kopf.RawEvent, **_: Any) -> None:
            body = cast(dict[str, Any], event["object"])
            for key in state.world.apply_child(kind, str(event.get("type") or ""), body):
                state.enqueue(key)

        handler.__name__ = f"{kind}_event"
        return handler

    # No in-process `labels=` filter: the server-side selector (select_managed_children) already sends
    # only managed objects, and a filter here could only ever drop the one event that does not carry
    # the label: the DELETED of an object whose label was removed, when the server sends its new state.
    for group, version, plural in CHILD_RESOURCES:
        kopf.on.event(group, version, plural, registry=registry)(child_event(plural))
    return registry
