"""What the operator knows of the cluster: an in-memory copy of the objects it watches.

Fed by kopf's raw watch events (and by the answers to the operator's own writes), like an
informer cache, so a reconcile pass reads no list from the API. An event whose resourceVersion
was already seen is dropped: watch restarts re-send every object as ADDED.

Only the fields the operator reads are kept (KEPT_FIELDS; a CronJob's spec as far as its last-applied
record goes, and not at all when it is that record), as compact JSON deflated against the first object
stored of its kind, and decoded when a pass reads them: tens of thousands of children are kept, and what
the API server sends of each (managedFields, the pod template twice, defaults, Pod specs) is mostly
never read. A CronJob costs about 150 bytes of data instead of 6.5 KB.
"""

import sys
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import orjson

from erpsync.controller.drift import LAST_APPLIED_ANNOTATION, read_applied_record
from erpsync.controller.observed import Observed
from erpsync.planning.cronjobs import LABEL_SCHEDULE, LABEL_SYNC
from erpsync.planning.names import label_value

Kind = Literal["schedules", "cronjobs", "jobs", "pods"]
ScheduleKey = tuple[str, str]  # (namespace, name)


def _version(body: dict[str, Any]) -> int | None:
    try:
        return int(body.get("metadata", {}).get("resourceVersion"))
    except (TypeError, ValueError):
        return None


def object_key(body: dict[str, Any]) -> tuple[str, str]:
    """(namespace, name); the namespace interned: thousands of keys share a few namespaces."""
    metadata = body.get("metadata", {})
    return sys.intern(str(metadata.get("namespace", ""))), str(metadata.get("name", ""))


def controller_of(body: dict[str, Any]) -> dict[str, Any] | None:
    for reference in body.get("metadata", {}).get("ownerReferences") or []:
        if reference.get("controller"):
            return dict(reference)
    return None


Ownership = Literal["ours", "orphan", "foreign"]


def ownership(body: dict[str, Any], schedule_uid: str | None) -> Ownership:
    """Whose a child is, by its controller reference: the schedule's, nobody's, or another's."""
    owner = controller_of(body)
    if owner is None:
        return "orphan"
    return "ours" if owner.get("uid") == schedule_uid else "foreign"


# What the operator reads of each kind, by path (True: the whole value; a list's items are kept alike):
# reconcile.py, diff.py and drift.py read CronJobs, status.py, runs.py and metrics.py CronJobs, Jobs and
# Pods, world.py itself the labels and owners. A CronJob's spec is kept as far as its last-applied record
# goes (_spec_to_keep). Schedules are kept whole but for what only the API server and kubectl read.
Fields = dict[str, "Fields | bool"]
_CHILD_METADATA: Final[Fields] = {
    "name": True,
    "namespace": True,
    "resourceVersion": True,
    "creationTimestamp": True,
    "labels": True,
    "ownerReferences": True,
}
KEPT_FIELDS: Final[dict[Kind, Fields]] = {
    "cronjobs": {
        "metadata": {**_CHILD_METADATA, "annotations": {LAST_APPLIED_ANNOTATION: True}},
        "spec": True,  # pruned by _spec_to_keep
        "status": {"lastScheduleTime": True, "lastSuccessfulTime": True},
    },
    "jobs": {
        "metadata": _CHILD_METADATA,
        "status": {
            "startTime": True,
            "completionTime": True,
            "conditions": {"type": True, "status": True, "reason": True, "lastTransitionTime": True},
        },
    },
    "pods": {
        "metadata": _CHILD_METADATA,
        "status": {
            "containerStatuses": {
                "state": {"terminated": {"message": True}, "waiting": {"reason": True, "message": True}}
            }
        },
    },
}
# Of a schedule: server-side-apply's bookkeeping, and `kubectl apply`'s copy of the whole manifest.
_SCHEDULE_METADATA_DROPPED: Final = frozenset({"managedFields"})
_SCHEDULE_ANNOTATIONS_DROPPED: Final = frozenset({"kubectl.kubernetes.io/last-applied-configuration"})


def _keep(value: object, fields: "Fields | bool") -> object:
    """`value` with only `fields` (a value of another shape than expected is kept as it is: the readers
    decide what to make of it, as they would of the object as sent)."""
    if isinstance(fields, bool):
        return value
    if isinstance(value, dict):
        return {key: _keep(value[key], inner) for key, inner in fields.items() if key in value}
    if isinstance(value, list):
        return [_keep(item, fields) for item in value]
    return value


def _prune(actual: object, record: object) -> object:
    """`actual` with only the fields `record` has, lists item by item when as long (one that is not keeps
    all its items: it differs from the record whatever they hold)."""
    if isinstance(actual, dict) and isinstance(record, dict):
        return {key: _prune(actual[key], record[key]) for key in record if key in actual}
    if isinstance(actual, list) and isinstance(record, list) and len(actual) == len(record):
        return [_prune(have, want) for have, want in zip(actual, record, strict=True)]
    return actual


def _spec_to_keep(cron_job: dict[str, Any]) -> tuple[object, bool]:
    """What to keep of a CronJob's spec, and whether that is exactly its last-applied record's spec.

    Drift repair (drift.repair_patch) compares the fields the plan sets and removes the ones the record
    has and the plan no longer sets; the plan sets what the record holds (both are the planner's), so
    the fields outside the record, which the API server defaults or someone added by hand, are never
    read. When what is left is the record itself, as for every CronJob nobody edited, the spec is not
    stored twice: it is read back from the record. Without a readable record (an orphan, an annotation
    edited into something else) the whole spec is kept."""
    spec = cron_job.get("spec")
    recorded = read_applied_record(cron_job).get("spec")
    if not isinstance(recorded, dict):
        return spec, False
    kept = _prune(spec, recorded)
    return kept, kept == recorded


def kept_fields(kind: Kind, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """What the World keeps of an object, and whether a CronJob's spec is left to its last-applied record."""
    if kind == "schedules":
        metadata = {k: v for k, v in (body.get("metadata") or {}).items() if k not in _SCHEDULE_METADATA_DROPPED}
        annotations = metadata.get("annotations")
        if isinstance(annotations, dict) and not _SCHEDULE_ANNOTATIONS_DROPPED.isdisjoint(annotations):
            metadata["annotations"] = {k: v for k, v in annotations.items() if k not in _SCHEDULE_ANNOTATIONS_DROPPED}
        return {**body, "metadata": metadata}, False
    kept = _keep(body, KEPT_FIELDS[kind])
    assert isinstance(kept, dict)
    if kind != "cronjobs" or "spec" not in body:
        return kept, False
    spec, in_record = _spec_to_keep(body)
    if in_record:
        del kept["spec"]
    else:
        kept["spec"] = spec
    return kept, in_record


class _Deflater:
    """Compact JSON deflated against a preset dictionary: the first object stored of the kind. Objects of
    one kind share most of their text (field names, labels, the worker's pod template), so each costs
    little more than what differs from the first. The dictionary never changes: what was deflated with it
    inflates with it."""

    def __init__(self) -> None:
        self.dictionary: bytes | None = None

    def deflate(self, text: bytes) -> bytes:
        if self.dictionary is None:
            self.dictionary = text[-32768:]  # deflate's window: the end of a dictionary is what it uses
        deflater = zlib.compressobj(6, zdict=self.dictionary)
        return deflater.compress(text) + deflater.flush()

    def inflate(self, data: bytes) -> bytes:
        assert self.dictionary is not None  # set by the first deflate
        return zlib.decompressobj(zdict=self.dictionary).decompress(data)


@dataclass(frozen=True, slots=True)
class _Stored:
    version: int | None
    data: bytes  # the kept fields (kept_fields), deflated
    spec_in_record: bool  # a CronJob whose spec is read back from its last-applied record


@dataclass
class World:
    objects: dict[Kind, dict[tuple[str, str], _Stored]] = field(default_factory=lambda: defaultdict(dict))
    # schedule names by (namespace, label value of the name): children carry the label value
    _by_label: dict[tuple[str, str], str] = field(default_factory=dict)
    # children of each schedule, by (namespace, schedule label value): kind -> names
    children: dict[tuple[str, str], dict[Kind, set[str]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(set))
    )
    # the group each child is linked under now: its labels can change (or vanish) between events, and
    # a DELETED event may carry either the last state or the one before it, so the body of an event
    # cannot say where the child was linked
    _linked: dict[Kind, dict[tuple[str, str], tuple[str, str]]] = field(default_factory=lambda: defaultdict(dict))
    # CronJobs outside the watch (no managed-by label) that answered a create with 409 and belong to
    # someone else: a pass checks them with a GET instead of trying to create them on every pass
    foreign_cron_jobs: set[tuple[str, str]] = field(default_factory=set)
    _deflaters: dict[Kind, _Deflater] = field(default_factory=lambda: defaultdict(_Deflater))

    def unlisted(self, kind: Kind, namespace: str | None, listed: set[tuple[str, str]]) -> list[tuple[str, str]]:
        """What the World holds of `kind` in `namespace` (None: every namespace) and a complete list of it
        lacks: deleted while no watch ran (a list again after 410 Gone)."""
        return [key for key in self.objects[kind] if (namespace is None or key[0] == namespace) and key not in listed]

    def apply(self, kind: Kind, event_type: str | None, body: dict[str, Any]) -> bool:
        """Record a watch event; False when it tells nothing new (an echo or a replay)."""
        key = object_key(body)
        store = self.objects[kind]
        if kind == "cronjobs":
            self.foreign_cron_jobs.discard(key)  # in the watch now: observe() tells whose it is
        known = store.get(key)
        version, known_version = _version(body), known.version if known is not None else None
        older = version is not None and known_version is not None and version < known_version
        if event_type == "DELETED":
            if older:
                # e.g. "left the selector" arriving after the write-through of the repair that
                # brought it back: the object is there
                return False
            existed = store.pop(key, None) is not None
            if kind == "schedules":
                self._by_label.pop((key[0], label_value(key[1])), None)
            else:
                self._unlink(kind, key)
            return existed
        if older or (version is not None and version == known_version):
            return False
        kept, spec_in_record = kept_fields(kind, body)
        text = orjson.dumps(kept)
        store[key] = _Stored(version, self._deflaters[kind].deflate(text), spec_in_record)
        if kind == "schedules":
            self._by_label[(key[0], label_value(key[1]))] = key[1]
        else:
            self._link(kind, key, body)
        return True

    def _group(self, body: dict[str, Any]) -> tuple[str, str] | None:
        metadata = body.get("metadata", {})
        schedule = (metadata.get("labels") or {}).get(LABEL_SCHEDULE)
        return (str(metadata.get("namespace", "")), schedule) if schedule else None

    def apply_child(self, kind: Kind, event_type: str | None, body: dict[str, Any]) -> list[ScheduleKey]:
        """Record a watch event of a CronJob, Job or Pod; the schedules it concerns (none when it tells
        nothing new). A relabelled child concerns the schedule it left as well as the one it joined."""
        key = object_key(body)
        before = self._linked[kind].get(key)
        if not self.apply(kind, event_type, body):
            return []
        after = self._linked[kind].get(key)
        owners = [self._schedule_of(group) for group in dict.fromkeys((before, after)) if group is not None]
        return [owner for owner in owners if owner is not None]

    def _link(self, kind: Kind, key: tuple[str, str], body: dict[str, Any]) -> None:
        group = self._group(body)
        if self._linked[kind].get(key) == group:
            return
        self._unlink(kind, key)
        if group is not None:
            self.children[group][kind].add(key[1])
            self._linked[kind][key] = group

    def _unlink(self, kind: Kind, key: tuple[str, str]) -> None:
        group = self._linked[kind].pop(key, None)
        if group is None or group not in self.children:
            return
        names = self.children[group]
        names[kind].discard(key[1])
        if not names[kind]:
            del names[kind]
        if not names:
            del self.children[group]  # a schedule label that no child carries any more: nothing to keep

    def get(self, kind: Kind, key: tuple[str, str]) -> dict[str, Any] | None:
        stored = self.objects[kind].get(key)
        if stored is None:
            return None
        body: dict[str, Any] = orjson.loads(self._deflaters[kind].inflate(stored.data))
        if stored.spec_in_record:
            body["spec"] = read_applied_record(body)["spec"]
        return body

    def schedule(self, key: ScheduleKey) -> dict[str, Any] | None:
        return self.get("schedules", key)

    def schedule_keys(self) -> list[ScheduleKey]:
        return list(self.objects["schedules"])

    def versions(self, key: ScheduleKey) -> tuple[object, ...] | None:
        """The resourceVersions of a schedule and of the children a pass of it reads, without decoding
        any: the same value means the same objects. None when one has no version (nothing to compare)."""
        stored = self.objects["schedules"].get(key)
        if stored is None or stored.version is None:
            return None
        versions: list[object] = [stored.version]
        for kind, names in self.children.get((key[0], label_value(key[1])), {}).items():
            store = self.objects[kind]
            for name in sorted(names):
                child = store.get((key[0], name))
                if child is None or child.version is None:
                    return None
                versions += (kind, name, child.version)
        return tuple(versions)

    def _schedule_of(self, group: tuple[str, str]) -> ScheduleKey | None:
        name = self._by_label.get(group)
        return (group[0], name) if name is not None else None

    def observe(self, schedule: dict[str, Any]) -> tuple[Observed, list[dict[str, Any]]]:
        """What exists for a schedule, and the CronJobs with its labels and no controller (to adopt)."""
        metadata = schedule["metadata"]
        namespace, uid = metadata["namespace"], metadata.get("uid")
        names = self.children.get((namespace, label_value(metadata["name"])), {})
        observed = Observed()
        orphans: list[dict[str, Any]] = []
        for name in sorted(names.get("cronjobs", ())):
            cron_job = self.get("cronjobs", (namespace, name))
            if cron_job is None:
                continue
            whose = ownership(cron_job, uid)
            if whose == "orphan":
                orphans.append(cron_job)
            elif whose == "ours":
                observed.cron_jobs[name] = cron_job
            else:
                observed.unmanaged_cron_jobs.append(name)
        for name in sorted(names.get("jobs", ())):
            job = self.get("jobs", (namespace, name))
            if job is not None:
                sync = (job["metadata"].get("labels") or {}).get(LABEL_SYNC, "")
                observed.jobs_by_sync.setdefault(sync, []).append(job)
        for name in sorted(names.get("pods", ())):
            pod = self.get("pods", (namespace, name))
            owner = controller_of(pod) if pod else None
            if pod is not None and owner is not None and owner.get("kind") == "Job":
                observed.pods_by_job.setdefault(str(owner.get("name")), []).append(pod)
        return observed, orphans
