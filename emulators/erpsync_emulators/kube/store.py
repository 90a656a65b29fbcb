"""The object store: live objects, one global resourceVersion, a bounded event journal, watch subscribers.

Every committed change takes the next resourceVersion (a global counter, sent as a string as etcd's
revision is) and produces exactly one event. The journal keeps the recent events of each resource so a
watch can resume from a known resourceVersion; older than the journal keeps, it gets 410 Gone, as from a
real server whose watch cache moved on.

Everything runs on the emulator's event loop, and no method awaits, so each change (and each
"snapshot + subscribe" of a starting watch) is atomic. Stored dicts are never mutated after they are
stored: callers copy before changing, so events and history can share them.

KMock's `objects` array is kept in step (with a bounded history per object) so tests can still assert
with `emulator.objects[resource, namespace, name]`; it is a mirror, not the source of truth.
"""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import Iterable, Iterator
from typing import Any, Literal

import attrs
import kmock

Obj = dict[str, Any]
Key = tuple[str | None, str]  # (namespace, name); namespace None for cluster-scoped objects
EventType = Literal["ADDED", "MODIFIED", "DELETED"]


@attrs.frozen
class Event:
    rv: int
    type: EventType
    obj: Obj
    old: Obj | None  # the previous state for MODIFIED and DELETED: selectors need both sides


@attrs.frozen
class Drop:
    """Put into a subscriber's queue to end its watch stream (fault injection)."""

    abrupt: bool


@attrs.define(eq=False)
class Subscription:
    resource: kmock.resource
    queue: asyncio.Queue[Event | Drop] = attrs.field(factory=asyncio.Queue)


def key_of(obj: Obj) -> Key:
    meta = obj["metadata"]
    return (meta.get("namespace"), meta["name"])


@attrs.define
class Store:
    mirror: kmock.ObjectsArray
    journal_size: int = 10_000  # events kept per resource for resuming watches
    history_size: int = 8  # versions kept per object in the KMock mirror
    rv: int = 0
    _live: dict[kmock.resource, dict[Key, Obj]] = attrs.field(factory=dict)
    _uids: dict[str, tuple[kmock.resource, Key]] = attrs.field(factory=dict)
    _journal: dict[kmock.resource, list[Event]] = attrs.field(factory=dict)
    _floor: dict[kmock.resource, int] = attrs.field(factory=dict)  # events at or below were trimmed
    _subscribers: dict[kmock.resource, set[Subscription]] = attrs.field(factory=dict)
    # Indexes, so that an operator listing its children by label, or the garbage collector looking for
    # the dependents of a removed owner, does not scan thousands of objects per request.
    _dependents: dict[str, set[tuple[kmock.resource, Key]]] = attrs.field(factory=dict)  # by owner uid
    _labels: dict[kmock.resource, dict[tuple[str, str], set[Key]]] = attrs.field(factory=dict)

    # Reading -----------------------------------------------------------------------------------------

    def get(self, resource: kmock.resource, key: Key) -> Obj | None:
        return self._live.get(resource, {}).get(key)

    def objects_of(
        self,
        resource: kmock.resource,
        namespace: str | None = None,
        labels: Iterable[tuple[str, Iterable[str]]] = (),
    ) -> list[Obj]:
        """Objects sorted by namespace and name, narrowed to those with one of the values of each label
        in `labels` (a pre-filter from the label index; the caller still applies the full selector)."""
        objects = self._live.get(resource, {})
        candidates: Iterable[Key] = objects
        index = self._labels.get(resource, {})
        for label, values in labels:
            matching = set().union(*(index.get((label, value), set()) for value in values))
            candidates = matching if candidates is objects else set(candidates) & matching
        keys = sorted(
            (k for k in candidates if namespace is None or k[0] == namespace), key=lambda k: (k[0] or "", k[1])
        )
        return [objects[k] for k in keys]

    def dependents(self, uid: str) -> list[tuple[kmock.resource, Key]]:
        return sorted(self._dependents.get(uid, ()), key=lambda dep: (str(dep[0]), dep[1][0] or "", dep[1][1]))

    def by_uid(self, uid: str) -> tuple[kmock.resource, Obj] | None:
        found = self._uids.get(uid)
        if found is None:
            return None
        resource, key = found
        obj = self.get(resource, key)
        return (resource, obj) if obj is not None else None

    def resources(self) -> list[kmock.resource]:
        return [resource for resource, objects in self._live.items() if objects]

    def all_objects(self) -> Iterator[tuple[kmock.resource, Obj]]:
        for resource, objects in list(self._live.items()):
            for obj in list(objects.values()):
                yield resource, obj

    # Writing -----------------------------------------------------------------------------------------

    def _stamp(self, obj: Obj) -> int:
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        return self.rv

    def _index(self, resource: kmock.resource, key: Key, obj: Obj, add: bool) -> None:
        meta = obj["metadata"]
        for ref in meta.get("ownerReferences") or ():
            dependents = self._dependents.setdefault(str(ref.get("uid")), set())
            if add:
                dependents.add((resource, key))
            else:
                dependents.discard((resource, key))
                if not dependents:
                    del self._dependents[str(ref.get("uid"))]
        index = self._labels.setdefault(resource, {})
        for label in (meta.get("labels") or {}).items():
            keys = index.setdefault(label, set())
            if add:
                keys.add(key)
            else:
                keys.discard(key)
                if not keys:
                    del index[label]

    def insert(self, resource: kmock.resource, obj: Obj) -> Obj:
        rv = self._stamp(obj)
        key = key_of(obj)
        self._live.setdefault(resource, {})[key] = obj
        self._index(resource, key, obj, add=True)
        self._uids[obj["metadata"]["uid"]] = (resource, key)
        mirror_key = (resource, key[0], key[1])
        if mirror_key in self.mirror:
            self.mirror[mirror_key].create(obj)
        else:
            self.mirror[mirror_key] = obj
        self._publish(resource, Event(rv, "ADDED", obj, None))
        return obj

    def replace(self, resource: kmock.resource, obj: Obj) -> Obj:
        key = key_of(obj)
        old = self._live[resource][key]
        rv = self._stamp(obj)
        self._live[resource][key] = obj
        self._index(resource, key, old, add=False)
        self._index(resource, key, obj, add=True)
        history = self.mirror[resource, key[0], key[1]].history
        history.append(obj)
        if len(history) > self.history_size:
            del history[: len(history) - self.history_size]
        self._publish(resource, Event(rv, "MODIFIED", obj, old))
        return obj

    def remove(self, resource: kmock.resource, key: Key, final: Obj | None = None) -> Obj:
        """Remove an object; `final` is its last state when the removing write also changed it."""
        old = self._live[resource].pop(key)
        self._index(resource, key, old, add=False)
        final = {**(final or old), "metadata": dict((final or old)["metadata"])}
        rv = self._stamp(final)  # a real server's DELETED event carries the deletion's resourceVersion
        self._uids.pop(old["metadata"]["uid"], None)
        self.mirror[resource, key[0], key[1]].delete()
        self._publish(resource, Event(rv, "DELETED", final, old))
        return final

    def drop_resource(self, resource: kmock.resource) -> None:
        """Forget a resource whose CRD was deleted (after its objects were removed with events)."""
        self._live.pop(resource, None)
        self._labels.pop(resource, None)
        self.drop_watches(resource)

    # Events and watches ------------------------------------------------------------------------------

    def _publish(self, resource: kmock.resource, event: Event) -> None:
        journal = self._journal.setdefault(resource, [])
        journal.append(event)
        if len(journal) > 2 * self.journal_size:  # trim in halves: appends stay O(1) amortised
            cut = len(journal) - self.journal_size
            self._floor[resource] = journal[cut - 1].rv
            del journal[:cut]
        for subscription in self._subscribers.get(resource, ()):
            subscription.queue.put_nowait(event)

    def subscribe(self, resource: kmock.resource) -> Subscription:
        subscription = Subscription(resource)
        self._subscribers.setdefault(resource, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.get(subscription.resource, set()).discard(subscription)

    def events_since(self, resource: kmock.resource, since: int) -> list[Event] | None:
        """Events after `since`, or None when some of them were already trimmed (410 Gone)."""
        if since < self._floor.get(resource, 0):
            return None
        journal = self._journal.get(resource, [])
        start = bisect.bisect_right(journal, since, key=lambda event: event.rv)
        return journal[start:]

    def oldest_rv(self, resource: kmock.resource) -> int:
        return self._floor.get(resource, 0) + 1

    def watch_count(self) -> int:
        return sum(len(subs) for subs in self._subscribers.values())

    def drop_watches(self, resource: kmock.resource | None = None, abrupt: bool = False) -> int:
        dropped = 0
        for res, subscriptions in self._subscribers.items():
            if resource is None or res == resource:
                for subscription in subscriptions:
                    subscription.queue.put_nowait(Drop(abrupt))
                    dropped += 1
        return dropped
