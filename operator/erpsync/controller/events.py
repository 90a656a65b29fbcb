"""Kubernetes Events on a schedule, posted by the operator itself (core/v1 Events).

kopf's own event posting is switched off: it would post an Event for every handler log line.
Events are posted in the background, as client-go's EventRecorder does: a pass hands its Events over and
goes on (waiting for each cost every pass a round trip: a third of a new schedule's time to Ready). An
Event is best-effort: one the API server refuses is logged, one that finds the backlog full is dropped
(logged), and neither ever fails a pass.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

from erpsync.controller.bounds import timestamp
from erpsync.controller.kubeapi import EVENTS, ApiError, KubeApi

COMPONENT: Final = "erp-sync-operator"
BACKLOG: Final = 1000  # Events waiting to be posted (client-go's broadcaster queue length); more are dropped
SENDERS: Final = 4  # Events posted at once
DRAIN_SECONDS: Final = 5.0  # how long a stopping operator waits for the backlog to be posted
logger = logging.getLogger("erpsync.operator")

EventType = Literal["Normal", "Warning"]


@dataclass(frozen=True)
class Event:
    """An Event to post on `involved`; its `annotations` go on the Event itself, for programs to select on."""

    involved: dict[str, Any]
    type: EventType
    reason: str
    message: str
    annotations: Mapping[str, str] = field(default_factory=dict)


EventSink = Callable[[Event], Awaitable[None]]


def build_event(event: Event, now: datetime) -> dict[str, Any]:
    involved = event.involved
    metadata = involved["metadata"]
    moment = timestamp(now)
    own = {"generateName": f"{metadata['name'][:200]}.", "namespace": metadata["namespace"]}
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {**own, "annotations": dict(event.annotations)} if event.annotations else own,
        "involvedObject": {
            "apiVersion": involved.get("apiVersion"),
            "kind": involved.get("kind"),
            "name": metadata["name"],
            "namespace": metadata["namespace"],
            "uid": metadata.get("uid"),
        },
        "type": event.type,
        "reason": event.reason,
        "message": event.message[:1024],
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "reportingInstance": COMPONENT,
        "firstTimestamp": moment,
        "lastTimestamp": moment,
        "count": 1,
    }


class EventPoster:
    """The operator's EventSink: stamps an Event when it is emitted and posts it from a background task."""

    def __init__(self, api: KubeApi) -> None:
        self.api = api
        self._backlog: asyncio.Queue[dict[str, Any]] = asyncio.Queue(BACKLOG)
        self._senders: list[asyncio.Task[None]] = []

    async def __call__(self, event: Event) -> None:
        if not self._senders:  # started by the first Event, in the operator's event loop
            self._senders = [asyncio.create_task(self._send(), name=f"event-sender-{i}") for i in range(SENDERS)]
        body = build_event(event, self.api.clock.now())
        try:
            self._backlog.put_nowait(body)
        except asyncio.QueueFull:
            logger.warning("dropped event %s on %s: %d events wait already", event.reason, _name(body), BACKLOG)

    async def _send(self) -> None:
        while True:
            body = await self._backlog.get()
            try:
                await self.api.create(EVENTS, body["metadata"]["namespace"], body)
            except (ApiError, OSError, TimeoutError) as error:
                logger.warning("could not post event %s on %s: %s", body["reason"], _name(body), error)
            finally:
                self._backlog.task_done()

    async def stop(self) -> None:
        """Posts what waits (for DRAIN_SECONDS at most), then stops the senders."""
        if self._senders:
            try:
                await asyncio.wait_for(self._backlog.join(), DRAIN_SECONDS)
            except TimeoutError:
                logger.warning("stopping with %d events not posted", self._backlog.qsize())
        for sender in self._senders:
            sender.cancel()
        await asyncio.gather(*self._senders, return_exceptions=True)
        self._senders = []


def _name(body: dict[str, Any]) -> str:
    return str(body["involvedObject"]["name"])
