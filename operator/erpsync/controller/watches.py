"""The operator's own watches of the schedules and of their children (CronJobs, Jobs, Pods), fed straight
into the World.

Why not kopf's watches: kopf hands each event to a task of the object's own, which holds the
body until after the object's last event, and hands its initial list over faster than those tasks consume
it: a restart held most of the listed objects as sent at once (at 3,000 schedules their 12,000 CronJobs,
13 KB of JSON each, far more as Python objects: 272 MiB). Here each event is decoded, applied to the World
and dropped before the next is read, with no task per object. The list is `handlers.list_and_watch`'s, a
page at a time, and the watch goes on from its resourceVersion, as client-go's reflector does; a watch too
old to resume (410 Gone) lists again, and what the new list lacks was deleted meanwhile.
"""

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, Final

import aiohttp

from erpsync.controller.kubeapi import ApiError, KubeApi, Resource
from erpsync.controller.metrics import WATCH_RESTARTS
from erpsync.controller.queue import RETRY_DELAYS

# client-go's reflector asks the server to end each watch after 5 to 10 minutes (random: spread out).
WATCH_SECONDS: Final = (300, 600)
GONE: Final = 410  # the version asked for is older than what the server still has
logger = logging.getLogger("erpsync.operator")

WatchEvent = Callable[[str, dict[str, Any]], None]  # (watch event type, object)
Relist = Callable[[], Awaitable[str]]  # list again into the World; the new list's resourceVersion


async def follow(
    api: KubeApi,
    resource: Resource,
    namespace: str | None,
    version: str,
    selector: str,
    on_event: WatchEvent,
    relist: Relist,
) -> None:
    """Watch `resource` in `namespace` (None: every namespace; `selector`: a label selector, or none) from
    `version` for ever, handing each event to `on_event`; a dropped watch resumes from the last version seen,
    after a growing delay when it failed."""
    failures = 0
    where = f"in {namespace}" if namespace else "in every namespace"
    while True:
        seconds = random.randint(*WATCH_SECONDS)  # a spread, not a secret
        try:
            options = {"allowWatchBookmarks": "true", **({"labelSelector": selector} if selector else {})}
            async for event in api.watch(resource, namespace, version, seconds, **options):
                body = event["object"]
                version = str((body.get("metadata") or {}).get("resourceVersion") or version)
                if event.get("type") != "BOOKMARK":  # a bookmark only moves the version on
                    on_event(str(event.get("type")), body)
                failures = 0
        except ApiError as error:
            if error.status == GONE:
                logger.info("watching %s %s: %s; listing them again", resource.plural, where, error)
                version = await relist()
            else:
                failures = await _back_off(resource, where, error, failures)
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            failures = await _back_off(resource, where, error, failures)
        WATCH_RESTARTS.labels(resource.plural).inc()


async def _back_off(resource: Resource, where: str, error: Exception, failures: int) -> int:
    delay = RETRY_DELAYS[min(failures, len(RETRY_DELAYS) - 1)]
    logger.warning("watching %s %s: %s; again in %gs", resource.plural, where, error or type(error).__name__, delay)
    await asyncio.sleep(delay)
    return failures + 1
