"""Kubernetes Events on a schedule, posted by the operator itself (core/v1 Events).

kopf's own event posting is switched off: it would post an Event for every handler log line.
A failure to post an Event is logged and never fails a reconcile pass.
"""

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

from erpsync.controller.bounds import timestamp
from erpsync.controller.kubeapi import EVENTS, ApiError, KubeApi

COMPONENT: Final = "erp-sync-operator"
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
    def __init__(self, api: KubeApi) -> None:
        self.api = api

    async def __call__(self, event: Event) -> None:
        body = build_event(event, self.api.clock.now())
        try:
            await self.api.create(EVENTS, body["metadata"]["namespace"], body)
        except (ApiError, OSError) as error:
            name = event.involved["metadata"]["name"]
            logger.warning("could not post event %s on %s: %s", event.reason, name, error)
