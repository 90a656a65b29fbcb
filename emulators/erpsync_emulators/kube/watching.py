"""Watch streams with the semantics clients rely on.

* Initial events: with no `resourceVersion` (or "0"), ADDED for every matching object; with a known
  resourceVersion, only the changes after it (from the store's journal), or an ERROR 410 when too old.
* Selectors apply to the stream as on a real server: an object modified *into* the selector arrives as
  ADDED, one modified *out of* it as DELETED.
* BOOKMARK events when `allowWatchBookmarks=true`: one after the initial events (annotated
  `k8s.io/initial-events-end` when `sendInitialEvents=true` asked for it) and then periodically, only when
  nothing is pending, so a bookmark never claims a resourceVersion whose event has not been sent yet.
* `timeoutSeconds` ends the stream; so do `drop_watches()` (fault injection) and a closed connection.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import attrs

from erpsync_emulators.kube import errors
from erpsync_emulators.kube.discovery import ResourceMeta
from erpsync_emulators.kube.selectors import FieldSelector, LabelSelector
from erpsync_emulators.kube.store import Drop, Event, Obj, Store

# How often an idle stream checks that its client is still connected.
_LIVENESS_TICK = 1.0


@attrs.frozen
class WatchFilter:
    namespace: str | None
    name: str | None  # a watch on /.../plural/NAME
    labels: LabelSelector
    fields: FieldSelector

    def matches(self, obj: Obj) -> bool:
        meta = obj.get("metadata", {})
        if self.namespace is not None and meta.get("namespace") != self.namespace:
            return False
        if self.name is not None and meta.get("name") != self.name:
            return False
        return self.labels.matches(meta.get("labels")) and self.fields.matches(obj)

    def translate(self, event: Event) -> tuple[str, Obj] | None:
        """The event this watcher sees, if any, after its selectors."""
        now = self.matches(event.obj)
        if event.type == "ADDED":
            return ("ADDED", event.obj) if now else None
        before = event.old is not None and self.matches(event.old)
        if event.type == "DELETED":
            return ("DELETED", event.obj) if before else None
        if before and now:
            return ("MODIFIED", event.obj)
        if now:
            return ("ADDED", event.obj)
        if before:
            return ("DELETED", event.obj)
        return None


@attrs.frozen
class WatchOptions:
    since: int | None  # None: start with the current objects (ADDED); else resume after this version
    bookmarks: bool
    send_initial_events: bool
    timeout: float | None
    bookmark_interval: float


def _error_event(error: errors.ApiError) -> dict[str, Any]:
    return {"type": "ERROR", "object": error.status_body()}


async def watch_stream(
    store: Store,
    meta: ResourceMeta,
    flt: WatchFilter,
    options: WatchOptions,
    connected: Callable[[], bool],
    abort: Callable[[], None],
) -> AsyncIterator[Any]:
    """Yields the JSON-lines payloads of one watch request (KMock renders dicts as JSON lines)."""
    yield b""  # KMock sends the headers on the first chunk: let the client see the stream has started

    # Snapshot and subscription are taken together without awaiting: nothing can fall between them.
    subscription = store.subscribe(meta.resource)
    try:
        if options.since is None:
            initial = [("ADDED", obj) for obj in store.objects_of(meta.resource, flt.namespace) if flt.matches(obj)]
        else:
            events = store.events_since(meta.resource, options.since)
            if events is None:
                yield _error_event(errors.gone(options.since, store.oldest_rv(meta.resource)))
                return
            initial = [seen for event in events if (seen := flt.translate(event)) is not None]
        initial_rv = store.rv
        for kind, obj in initial:
            yield {"type": kind, "object": obj}
        if options.bookmarks:
            yield _bookmark(meta, initial_rv, initial_end=options.send_initial_events)

        deadline = time.monotonic() + options.timeout if options.timeout else None
        last_bookmark = time.monotonic()
        while True:
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return
            wait = _LIVENESS_TICK
            if options.bookmarks:
                wait = min(wait, max(0.0, last_bookmark + options.bookmark_interval - now))
            if deadline is not None:
                wait = min(wait, deadline - now)
            try:
                item = await asyncio.wait_for(subscription.queue.get(), timeout=max(wait, 0.001))
            except TimeoutError:
                if not connected():
                    return
                due = options.bookmarks and time.monotonic() - last_bookmark >= options.bookmark_interval
                if due and subscription.queue.empty():
                    last_bookmark = time.monotonic()
                    yield _bookmark(meta, store.rv, initial_end=False)
                continue
            if isinstance(item, Drop):
                if item.abrupt:
                    abort()
                return
            if item.rv <= initial_rv:
                continue  # already covered by the initial events
            seen = flt.translate(item)
            if seen is not None:
                yield {"type": seen[0], "object": seen[1]}
    finally:
        store.unsubscribe(subscription)


def _bookmark(meta: ResourceMeta, rv: int, initial_end: bool) -> dict[str, Any]:
    metadata: dict[str, Any] = {"resourceVersion": str(rv)}
    if initial_end:
        metadata["annotations"] = {"k8s.io/initial-events-end": "true"}
    return {"type": "BOOKMARK", "object": {"kind": meta.kind, "apiVersion": meta.api_version, "metadata": metadata}}
