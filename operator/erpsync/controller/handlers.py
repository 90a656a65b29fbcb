"""kopf wiring: thin handlers that feed the watch cache and queue reconcile passes.

The schedules and their children (CronJobs, Jobs, Pods) are listed and watched by the operator itself
(list_and_watch, watches.py), one event at a time, the children with the managed-by selector on the server;
kopf runs the process (login, startup and cleanup, probes) and, with its peering only, watches the schedules.

Only raw `on.event` handlers are used: kopf's create/update handlers write progress annotations
and its timers, daemons and non-optional delete handlers add a finalizer (a deletion could then
hang while the operator is down). The periodic resync is the operator's own task instead (resync.py).
What the handlers share is the `OperatorState` (state.py) of the `OperatorConfig` (config.py); each
pass is recorded in the metrics by the queue's work function (metrics.py).

With leader election (leader.py) every replica watches, so a standby's cache is warm, but only the
leader has a queue: a standby makes no pass, no write and posts no Event. A leader that loses its
lease exits at once, non-zero (the Deployment restarts it as a standby); one stopped on purpose
releases the lease after its last pass, so the standby takes over within a retry period.
"""

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from typing import Any, Final, cast

import aiohttp
import kopf

from erpsync.api.vocabulary import API_GROUP, API_VERSION, PLURAL
from erpsync.controller import metrics, metrics_endpoint, watches
from erpsync.controller.events import EventPoster
from erpsync.controller.in_cluster import login_in_cluster
from erpsync.controller.kopf_storage import NoDiffBase, NoProgress
from erpsync.controller.kubeapi import SCHEDULES, ApiError, KubeApi, Resource
from erpsync.controller.leader import ApiLeaseClient, LeaderElector
from erpsync.controller.queue import RETRY_DELAYS, ReconcileQueue
from erpsync.controller.rate_limit import TokenBucket
from erpsync.controller.reconcile import Reconciler
from erpsync.controller.resync import resync
from erpsync.controller.state import OperatorState
from erpsync.controller.world import Kind, object_key
from erpsync.planning.cronjobs import MANAGED_BY

MANAGED_SELECTOR: Final = f"app.kubernetes.io/managed-by={MANAGED_BY}"
# The children the operator lists and watches itself (watches.py), as (group, version, plural); the
# plural is also the World's name of the kind.
CHILD_RESOURCES: Final[tuple[tuple[str, str, Kind], ...]] = (
    ("batch", "v1", "cronjobs"),
    ("batch", "v1", "jobs"),
    ("", "v1", "pods"),
)
# The exit code of a leader that lost its lease (client-go's convention: stop, and let the Pod restart).
LOST_LEASE_EXIT_CODE: Final = 3
LIST_PAGE_SIZE: Final = 100  # objects per page of the initial lists: a page at a time in memory
# How long kopf keeps an object's worker (and with it the last raw event, the full body) after its last
# event; kopf's default is 5 s. Every schedule of a burst of writes or of a list is held that long.
WORKER_IDLE_SECONDS: Final = 0.1
logger = logging.getLogger("erpsync.operator")


def _login(state: OperatorState) -> kopf.ConnectionInfo | None:
    assert state.settings is not None
    # In a pod: the service account. Elsewhere: the kubeconfig ($KUBECONFIG or ~/.kube/config).
    return login_in_cluster(state.settings) or kopf.login_with_kubeconfig(settings=state.settings)


def _login_namespace(state: OperatorState) -> str:
    """The namespace the operator logged in with: its Pod's (the service account's), else the kubeconfig
    context's, else `default` as kubectl has it."""
    info = _login(state)
    return (info.default_namespace if info is not None else None) or "default"


async def _list_pages(
    api: KubeApi, resource: Resource, namespace: str | None, selector: str
) -> AsyncIterator[tuple[list[dict[str, Any]], str]]:
    """The objects of `resource` in `namespace` (None: every namespace) that `selector` selects (none: all), a
    page at a time, with the list's resourceVersion: the objects as sent are large (managedFields, Pod specs),
    and only one page of them is held at once."""
    params = {"limit": str(LIST_PAGE_SIZE), **({"labelSelector": selector} if selector else {})}
    while True:
        answer = await api.request("GET", resource.path(namespace), params=params)
        metadata = answer.get("metadata") or {}
        yield answer.get("items") or [], str(metadata.get("resourceVersion") or "")
        token = metadata.get("continue")
        if not token:
            return
        params = {**params, "continue": token}


@dataclass(frozen=True)
class _Watched:
    """What the operator lists and watches: a resource, in one namespace or all, with its selector, each event
    handed to `on_event` (the World's kind of the resource is `kind`)."""

    resource: Resource
    kind: Kind
    namespace: str | None
    selector: str
    on_event: watches.WatchEvent


async def _list_into_world(state: OperatorState, watched: _Watched) -> str:
    """List into the World (each object an ADDED event, what the World holds there and the list lacks a DELETED
    one), retried with the queue's backoff until it succeeds. The list's resourceVersion (its watch's start)."""
    assert state.api is not None
    failures = 0
    while True:
        try:
            listed: set[tuple[str, str]] = set()
            list_version = ""
            pages = _list_pages(state.api, watched.resource, watched.namespace, watched.selector)
            async for page, page_version in pages:
                for body in page:
                    watched.on_event("ADDED", body)
                listed.update(object_key(body) for body in page)
                list_version = page_version
            for namespace, name in state.world.unlisted(watched.kind, watched.namespace, listed):
                watched.on_event("DELETED", {"metadata": {"namespace": namespace, "name": name}})
            return list_version
        except (ApiError, aiohttp.ClientError, TimeoutError) as error:
            delay = RETRY_DELAYS[min(failures, len(RETRY_DELAYS) - 1)]
            failures += 1
            where = f"in {watched.namespace}" if watched.namespace else "in every namespace"
            logger.warning(
                "listing %s %s: %s; no pass before it succeeds, retrying in %gs", watched.kind, where, error, delay
            )
            await asyncio.sleep(delay)  # then the list again from its start (pages applied stay)


def _child_event(state: OperatorState, kind: Kind) -> watches.WatchEvent:
    def on_event(event_type: str, body: dict[str, Any]) -> None:
        for key in state.world.apply_child(kind, event_type, body):
            state.enqueue(key)

    return on_event


def _schedule_event(state: OperatorState, reconcilers: list[Reconciler]) -> watches.WatchEvent:
    def on_event(event_type: str, body: dict[str, Any]) -> None:
        key = object_key(body)
        if state.world.apply("schedules", event_type, body) and event_type != "DELETED":
            state.enqueue(key)
        elif state.world.schedule(key) is None:
            metrics.forget_schedule(key)  # deleted: its metrics series go with it
            for reconciler in reconcilers:
                reconciler.forget(key)

    return on_event


async def list_and_watch(state: OperatorState, reconcilers: list[Reconciler]) -> None:
    """Fill the World with the schedules, CronJobs, Jobs and Pods that exist, before the first pass; then watch
    them (watches.py): the children with the managed-by selector, so the server sends only the operator's own
    (an object whose label is removed leaves the selector and arrives DELETED; the next pass repairs it).

    A pass that ran before the CronJobs' list would find its CronJobs missing and create them again, each
    create answered 409 (a restart with nothing changed made a write per CronJob). A failing list is retried
    with the queue's backoff, and no pass runs until every list succeeded (the `children_listed` probe is
    false meanwhile). Each list's watch starts from the list's resourceVersion once all are in, so no event
    between a list and its watch is missed. With kopf's peering the schedules are kopf's (its peering pauses
    kopf's watchers): only the children are listed here."""
    assert state.api is not None
    api = state.api
    namespaces = state.config.namespaces or (None,)
    watched = [
        _Watched(Resource(group, version, plural), plural, namespace, MANAGED_SELECTOR, _child_event(state, plural))
        for group, version, plural in CHILD_RESOURCES
        for namespace in namespaces
    ]
    if not state.config.peering:
        on_schedule = _schedule_event(state, reconcilers)
        watched += [_Watched(SCHEDULES, "schedules", namespace, "", on_schedule) for namespace in namespaces]
    started = [(each, await _list_into_world(state, each)) for each in watched]
    for each, listed_version in started:
        relist = partial(_list_into_world, state, each)
        watch = watches.follow(api, each.resource, each.namespace, listed_version, each.selector, each.on_event, relist)
        state.tasks.append(asyncio.create_task(watch, name=f"watch {each.resource.plural}"))


def start_reconciling(state: OperatorState, reconciler: Reconciler) -> None:
    """The queue, its workers and the periodic resync; a pass for every schedule already in the cache
    (the children's lists are in it by now; the schedules' watch adds the others as it lists them)."""
    state.queue = ReconcileQueue(lambda key: metrics.measured_reconcile(reconciler, key), workers=state.config.workers)
    metrics.watch_queue(state.queue)
    state.queue.start()
    for key in state.world.schedule_keys():
        state.queue.add(key)
    state.tasks.append(asyncio.create_task(resync(state), name="resync"))
    metrics.LEADER.set(1)


async def reconcile_once_listed(state: OperatorState, listed: "asyncio.Task[None]", reconciler: Reconciler) -> None:
    """Without leader election: the queue starts once the children's initial lists are in the cache."""
    await listed
    start_reconciling(state, reconciler)


async def lead(
    state: OperatorState, elector: LeaderElector, listed: "asyncio.Task[None]", reconciler: Reconciler
) -> None:
    """Stand by until this process holds the lease, reconcile while it keeps it, exit once it cannot.
    A standby that takes over is a restart with a warm cache: no pass before the children's lists."""
    await elector.acquire()
    await listed
    start_reconciling(state, reconciler)
    await elector.hold()
    metrics.LEADER.set(0)
    logger.error(
        "leader election: the lease %s was not renewed for %gs: another replica may take it; exiting at once "
        "(code %d) so that two operators never act together",
        elector.where,
        elector.election.renew_deadline,
        LOST_LEASE_EXIT_CODE,
    )
    logging.shutdown()  # flush the logs: nothing else runs after this
    os._exit(LOST_LEASE_EXIT_CODE)  # no cleanup: a pass in flight must not go on writing


def build_registry(state: OperatorState) -> kopf.OperatorRegistry:
    """The operator's handlers, bound to `state` (no module-level registration: importable freely)."""
    registry = kopf.OperatorRegistry()
    electors: list[LeaderElector] = []  # the one candidate, once startup made it
    reconcilers: list[Reconciler] = []  # the one reconciler, once startup made it
    listings: list[asyncio.Task[None]] = []  # the initial lists (list_and_watch)
    lease_apis: list[KubeApi] = []  # its client

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
        settings.queueing.idle_timeout = WORKER_IDLE_SECONDS
        settings.watching.chunk_size = LIST_PAGE_SIZE  # with peering, kopf's list of the schedules: by pages too
        settings.networking.request_timeout = 30

        async def relogin() -> kopf.ConnectionInfo | None:
            return _login(state)

        limit = TokenBucket(state.config.qps, state.config.burst) if state.config.qps > 0 else None
        state.api = state.api or KubeApi(relogin, rate_limit=limit)
        state.events = EventPoster(state.api)
        # The cluster's clock, not this process's (server_clock.py): read once before the first pass.
        try:
            await state.api.request("GET", "/version")
        except (ApiError, aiohttp.ClientError, TimeoutError) as error:
            logger.warning("reading the API server's clock: %s; the local clock stands until an answer", error)
        reconciler = Reconciler(
            state.world,
            state.api,
            state.events,
            state.config.worker_defaults,
            clock=state.api.clock.now,
            run_history=state.config.run_history,
        )
        reconcilers.append(reconciler)
        if state.config.metrics_port:  # on every replica: a standby's erpsync_leader is 0
            metrics_endpoint.serve(state.config.metrics_port)
        # Started now, beside the watches kopf starts once this handler returns.
        listed = asyncio.create_task(list_and_watch(state, reconcilers), name="initial lists")
        listings.append(listed)
        state.tasks.append(listed)
        election = state.config.leader_election
        if election is None:
            state.tasks.append(
                asyncio.create_task(reconcile_once_listed(state, listed, reconciler), name="start reconciling")
            )
            return
        # The Lease has a client of its own, outside --qps: a backlog of passes must not delay a renewal
        # past the renew deadline (controller-runtime gives leader election its own client too).
        lease_api = KubeApi(relogin)
        lease_apis.append(lease_api)
        elector = LeaderElector(
            ApiLeaseClient(lease_api, election.namespace or _login_namespace(state), election.name),
            election,
            wall_clock=state.api.clock.now,
        )
        electors.append(elector)
        # The watches start once this handler returns, on every replica: the standby's cache fills up.
        state.tasks.append(asyncio.create_task(lead(state, elector, listed, reconciler), name="leader election"))

    @kopf.on.cleanup(registry=registry)
    async def cleanup(**_: Any) -> None:
        for task in state.tasks:
            task.cancel()
        await asyncio.gather(*state.tasks, return_exceptions=True)
        if state.queue is not None:
            await state.queue.stop()
        if state.events is not None:  # the Events of the last passes, before the lease and the client go
            await state.events.stop()
        for elector in electors:  # after the last pass: the next leader starts once this one has stopped
            await elector.release()
        for lease_api in lease_apis:
            await lease_api.close()
        if state.api is not None:
            await state.api.close()

    @kopf.on.probe(registry=registry, id="schedules")
    def schedules_known(**_: Any) -> int:
        return len(state.world.schedule_keys())

    @kopf.on.probe(registry=registry, id="children_listed")
    def children_listed(**_: Any) -> bool:
        """False until the initial lists are in the cache: no pass runs before (list_and_watch)."""
        return bool(listings) and listings[0].done() and not listings[0].cancelled()

    if state.config.peering:  # kopf's peering pauses kopf's watchers: the schedules are kopf's then
        on_schedule = _schedule_event(state, reconcilers)

        @kopf.on.event(API_GROUP, API_VERSION, PLURAL, registry=registry)
        async def schedule_event(event: kopf.RawEvent, **_: Any) -> None:  # async: no thread hop per event
            on_schedule(str(event.get("type") or ""), cast(dict[str, Any], event["object"]))

    return registry
