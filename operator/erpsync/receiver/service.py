"""The receiver's process: the HTTP endpoint that answers first, and the tasks that act after.

The handler authenticates, reads and deduplicates a delivery, puts it in a bounded inbox and answers, all
without a call to the API server or Procore, so Procore's 5-second timeout is never at risk. A dispatcher finds
the company's schedules and, with a Procore credential, reads the request's event to start its one sync; one
task per schedule writes the sync-now annotations one request at a time, each after the operator has echoed
the previous token in status.lastHandledSyncNow.
"""

import asyncio
import hmac
import itertools
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from functools import partial
from typing import Any, Final, TypeVar

import aiohttp
import click
import kopf
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, start_http_server

from erpsync.controller.in_cluster import login_in_cluster
from erpsync.controller.kubeapi import SCHEDULES, ApiError, KubeApi
from erpsync.controller.sync_now import (
    SYNC_NOW_ANNOTATION,
    SYNC_NOW_SYNCS_ANNOTATION,
    echoed_token,
    erp_request_token,
)
from erpsync.receiver.deliveries import (
    MAX_BODY_BYTES,
    Delivery,
    InvalidDelivery,
    company_of,
    for_event,
    read_delivery,
    request_syncs,
)
from erpsync.receiver.procore_requests import (
    InvalidProcoreSetting,
    ProcoreRequests,
    RequestNotRead,
    credential_from_environment,
)

log = logging.getLogger("erpsync.receiver")
T = TypeVar("T")

REGISTRY: Final = CollectorRegistry(auto_describe=True)
DELIVERIES: Final = Counter(
    "erpsync_webhook_deliveries_total",
    "Webhook deliveries, by outcome: accepted, unauthorized, invalid, ignored, duplicate, overflow.",
    ["outcome"],
    registry=REGISTRY,
)
REQUEST_RUNS: Final = Counter(
    "erpsync_webhook_runs_total",
    "ERP Requests per schedule, by outcome: started, duplicate, ignored, overflow, abandoned, failed.",
    ["outcome"],
    registry=REGISTRY,
)
REQUEST_READS: Final = Counter(
    "erpsync_webhook_request_reads_total",
    "ERP Requests whose event was read from Procore, by outcome: read, unresolved (not read: every sync on "
    "requests started).",
    ["outcome"],
    registry=REGISTRY,
)
NO_CREDENTIAL_WARNING: Final = (
    "no Procore credential (PROCORE_CREDENTIALS_DIR, or PROCORE_CLIENT_ID and PROCORE_CLIENT_SECRET): a request's "
    "event cannot be read, so a schedule with several syncs on ERP Requests starts one run per such sync for each "
    "request (docs/webhooks.md)"
)
# What a call may meet that a later try may not: an unreachable or overloaded API server (5xx, 429).
FAILURES: Final = (ApiError, OSError, TimeoutError, aiohttp.ClientError)
RETRY_DELAYS: Final = (1.0, 2.0, 5.0, 10.0, 30.0)  # then every 30 s, within ReceiverConfig.pending_timeout
INBOX_SIZE: Final = 1000  # deliveries accepted and not yet dispatched
SCHEDULE_QUEUE_SIZE: Final = 100  # requests waiting for one schedule
SEEN_SIZE: Final = 10_000  # ERP Requests remembered, to recognise redeliveries without a call


@dataclass(frozen=True)
class ReceiverConfig:
    authorization: str  # the hook's Authorization header value
    namespaces: tuple[str, ...]  # empty: every namespace
    pending_timeout: float = 600.0  # how long a request waits for the operator to handle the one before it
    poll_interval: float = 1.0


@dataclass(frozen=True)
class _Work:
    namespace: str
    name: str
    token: str
    syncs: tuple[str, ...]


class Receiver:
    """The endpoint and its workers; `app()` is the aiohttp application."""

    def __init__(self, config: ReceiverConfig, api: KubeApi, requests: ProcoreRequests | None = None) -> None:
        self.config = config
        self.api = api
        self.requests = requests  # None: no Procore credential, a request's event is not read
        self._expected = config.authorization.encode()
        self._seen: OrderedDict[tuple[int, int], None] = OrderedDict()
        self._inbox: asyncio.Queue[Delivery] = asyncio.Queue(INBOX_SIZE)
        self._schedules: dict[tuple[str, str], asyncio.Queue[_Work]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def app(self, path: str) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_post(path, self.deliver)
        app.router.add_get("/healthz", self.healthz)
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)
        return app

    async def healthz(self, _: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def deliver(self, request: web.Request) -> web.Response:
        """Answer within milliseconds: no call to the API server happens here."""
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, self._expected):
            DELIVERIES.labels("unauthorized").inc()
            log.warning("delivery refused: missing or wrong Authorization header (from %s)", request.remote)
            return web.json_response({"error": "unauthorized"}, status=401)
        try:
            delivery = read_delivery(await request.read())
        except web.HTTPRequestEntityTooLarge:
            DELIVERIES.labels("invalid").inc()
            log.warning("delivery refused: body: more than %s bytes", MAX_BODY_BYTES)
            return web.json_response({"error": f"body: at most {MAX_BODY_BYTES} bytes allowed"}, status=413)
        except InvalidDelivery as error:
            DELIVERIES.labels("invalid").inc()
            log.warning("delivery refused: %s", error)
            return web.json_response({"error": str(error)}, status=400)
        if delivery.request_id is None:
            DELIVERIES.labels("ignored").inc()
            log.info("delivery ignored: company %s, not an ERP Request create", delivery.company_id)
            return web.json_response({"outcome": "ignored"})
        key = (delivery.company_id, delivery.request_id)
        if key in self._seen:
            self._seen.move_to_end(key)
            DELIVERIES.labels("duplicate").inc()
            log.info("ERP Request %s of company %s: a redelivery, nothing new", key[1], key[0])
            return web.json_response({"outcome": "duplicate"})
        try:
            self._inbox.put_nowait(delivery)
        except asyncio.QueueFull:
            DELIVERIES.labels("overflow").inc()
            log.error("ERP Request %s of company %s: inbox full, left open in Procore", key[1], key[0])
            return web.json_response({"outcome": "overflow"}, status=202)
        self._seen[key] = None
        if len(self._seen) > SEEN_SIZE:
            self._seen.popitem(last=False)
        DELIVERIES.labels("accepted").inc()
        return web.json_response({"outcome": "accepted"}, status=202)

    async def _start(self, _: web.Application) -> None:
        self._spawn(self._dispatch())

    async def _stop(self, _: web.Application) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.api.close()
        if self.requests is not None:
            await self.requests.close()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _dispatch(self) -> None:
        while True:
            delivery = await self._inbox.get()
            try:
                await self._route(delivery)
            except FAILURES as error:  # a listing failed: the request stays open
                REQUEST_RUNS.labels("failed").inc()
                self._forget(delivery)
                log.error("ERP Request %s: schedules not read (%s); left open in Procore", delivery.request_id, error)

    def _forget(self, delivery: Delivery) -> None:
        """A request not started is not a duplicate: a redelivery may try again."""
        if delivery.request_id is not None:
            self._seen.pop((delivery.company_id, delivery.request_id), None)

    async def _route(self, delivery: Delivery) -> None:
        assert delivery.request_id is not None
        listed = await self._retrying(self._list_schedules)
        schedules = [(s, request_syncs(s, None)) for s in listed if company_of(s) == delivery.company_id]
        event = delivery.event
        if event is None and any(on_requests for _, on_requests in schedules):
            event = await self._read_event(delivery.company_id, delivery.request_id)
        token = erp_request_token(delivery.request_id)
        started = False
        for schedule, on_requests in schedules:
            meta = schedule["metadata"]
            syncs = for_event(on_requests, event)
            if not syncs:
                REQUEST_RUNS.labels("ignored").inc()
                log.info(
                    "ERP Request %s (%s): %s/%s runs no sync for it on ERP Requests",
                    delivery.request_id,
                    event or "event not read",
                    meta["namespace"],
                    meta["name"],
                )
                continue
            work = _Work(meta["namespace"], meta["name"], token, syncs)
            queue = self._schedules.get((work.namespace, work.name))
            if queue is None:
                queue = self._schedules[(work.namespace, work.name)] = asyncio.Queue(SCHEDULE_QUEUE_SIZE)
                self._spawn(self._serve_schedule(queue))
            try:
                queue.put_nowait(work)
                started = True
            except asyncio.QueueFull:
                REQUEST_RUNS.labels("overflow").inc()
                log.error(
                    "ERP Request %s: %s/%s has %s requests waiting; left open in Procore",
                    delivery.request_id,
                    work.namespace,
                    work.name,
                    SCHEDULE_QUEUE_SIZE,
                )
        if not schedules:
            REQUEST_RUNS.labels("ignored").inc()
            log.info("ERP Request %s: no schedule syncs company %s", delivery.request_id, delivery.company_id)
        if not started:
            self._forget(delivery)

    async def _read_event(self, company_id: int, request_id: int) -> str | None:
        """The request's event, read from Procore; None without a credential or when the read fails (then every
        sync on requests starts, and each worker whose sync the request is not for leaves it alone)."""
        if self.requests is None:
            return None
        try:
            event = await self.requests.event_of(company_id, request_id)
        except Exception as error:  # whatever failed (a bug included), the request starts the old way: never lost
            REQUEST_READS.labels("unresolved").inc()
            log.warning(
                "ERP Request %s of company %s: its event was not read from Procore (%s); starting every sync "
                "that runs on ERP Requests",
                request_id,
                company_id,
                error if isinstance(error, RequestNotRead) else type(error).__name__,
            )
            return None
        REQUEST_READS.labels("read").inc()
        log.info("ERP Request %s of company %s is %s", request_id, company_id, event)
        return event

    async def _retrying(self, call: Callable[[], Awaitable[T]]) -> T:
        """`call`, tried again after a transient failure until `pending_timeout` has passed: an accepted request
        is not lost to a restart of the API server."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.pending_timeout
        for attempt in itertools.count():
            try:
                return await call()
            except FAILURES as error:
                delay = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)]
                permanent = isinstance(error, ApiError) and error.status < 500 and error.status != 429
                if permanent or loop.time() + delay > deadline:
                    raise
                log.warning("the API server failed (%s); trying again in %.0f s", error, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _list_schedules(self) -> list[dict[str, Any]]:
        if not self.config.namespaces:
            return await self.api.list(SCHEDULES, None)
        found: list[dict[str, Any]] = []
        for namespace in self.config.namespaces:
            found += await self.api.list(SCHEDULES, namespace)
        return found

    async def _serve_schedule(self, queue: "asyncio.Queue[_Work]") -> None:
        while True:
            work = await queue.get()
            try:
                outcome = await self._start_run(work)
            except FAILURES as error:
                outcome = "failed"
                log.error(
                    "ERP Request %s on %s/%s not started (%s); left open in Procore",
                    work.token,
                    work.namespace,
                    work.name,
                    error,
                )
            REQUEST_RUNS.labels(outcome).inc()

    async def _start_run(self, work: _Work) -> str:
        """Write the request's token once the schedule holds no other pending one; the outcome for the metric."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.pending_timeout
        while True:
            schedule = await self._retrying(partial(self.api.get, SCHEDULES, work.namespace, work.name))
            meta = schedule.get("metadata") or {}
            current = str((meta.get("annotations") or {}).get(SYNC_NOW_ANNOTATION, "")).strip()
            handled = (schedule.get("status") or {}).get("lastHandledSyncNow")
            if current == work.token or handled == echoed_token(work.token):
                log.info("ERP Request %s on %s/%s: already started", work.token, work.namespace, work.name)
                return "duplicate"
            if not current or echoed_token(current) == handled:
                patch = {
                    "metadata": {
                        "resourceVersion": meta.get("resourceVersion"),
                        "annotations": {
                            SYNC_NOW_ANNOTATION: work.token,
                            SYNC_NOW_SYNCS_ANNOTATION: ",".join(work.syncs),
                        },
                    }
                }
                try:
                    await self._retrying(partial(self.api.merge_patch, SCHEDULES, work.namespace, work.name, patch))
                except ApiError as error:
                    if error.status != 409:  # 409: another writer came first; read again
                        raise
                    continue
                log.info(
                    "ERP Request %s on %s/%s: started %s", work.token, work.namespace, work.name, ",".join(work.syncs)
                )
                return "started"
            if loop.time() >= deadline:
                log.error(
                    "ERP Request %s on %s/%s: %s still pending after %.0f s; left open in Procore",
                    work.token,
                    work.namespace,
                    work.name,
                    current,
                    self.config.pending_timeout,
                )
                return "abandoned"
            await asyncio.sleep(self.config.poll_interval)


async def _login() -> kopf.ConnectionInfo | None:
    settings = kopf.OperatorSettings()
    return login_in_cluster(settings) or kopf.login_with_kubeconfig(settings=settings)


def run_receiver(config: ReceiverConfig, address: str, port: int, path: str, metrics_port: int) -> None:
    """Serve deliveries on `address:port` at `path` until stopped (SIGTERM, SIGINT); the Procore credential, if
    any, from the environment (`credential_from_environment`)."""
    try:
        credential = credential_from_environment()
    except InvalidProcoreSetting as error:
        raise click.UsageError(str(error)) from None
    if credential is None:
        log.warning(NO_CREDENTIAL_WARNING)
    else:
        log.info("ERP Requests are read from %s", credential.api_url)
    if metrics_port:
        start_http_server(metrics_port, registry=REGISTRY)
    requests = ProcoreRequests(credential) if credential is not None else None
    receiver = Receiver(config, KubeApi(_login, user_agent="erp-sync-webhooks"), requests)
    web.run_app(receiver.app(path), host=address, port=port, print=None, access_log=None)
