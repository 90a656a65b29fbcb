"""Kubernetes Events on a schedule, posted by the operator itself (core/v1 Events).

kopf's own event posting is switched off: it would post an Event for every handler log line.
A failure to post an Event is logged and never fails a reconcile pass.
"""

import logging
from datetime import datetime
from typing import Any, Final, Literal

from erpsync.controller.bounds import timestamp
from erpsync.controller.kubeapi import ApiError, KubeApi, Resource

EVENTS: Final = Resource("", "v1", "events")
COMPONENT: Final = "erp-sync-operator"
logger = logging.getLogger("erpsync.operator")

EventType = Literal["Normal", "Warning"]


def build_event(involved: dict[str, Any], type_: EventType, reason: str, message: str, now: datetime) -> dict[str, Any]:
    metadata = involved["metadata"]
    moment = timestamp(now)
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{metadata['name'][:200]}.", "namespace": metadata["namespace"]},
        "involvedObject": {
            "apiVersion": involved.get("apiVersion"),
            "kind": involved.get("kind"),
            "name": metadata["name"],
            "namespace": metadata["namespace"],
            "uid": metadata.get("uid"),
        },
        "type": type_,
        "reason": reason,
        "message": message[:1024],
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

    async def __call__(self, involved: dict[str, Any], type_: EventType, reason: str, message: str) -> None:
        body = build_event(involved, type_, reason, message, self.api.clock.now())
        try:
            await self.api.create(EVENTS, body["metadata"]["namespace"], body)
        except (ApiError, OSError) as error:
            logger.warning("could not post event %s on %s: %s", reason, involved["metadata"]["name"], error)
