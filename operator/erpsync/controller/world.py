"""What the operator knows of the cluster: an in-memory copy of the objects it watches.

Fed by kopf's raw watch events (and by the answers to the operator's own writes), like an
informer cache, so a reconcile pass reads no list from the API. An event whose resourceVersion
was already seen is dropped: watch restarts re-send every object as ADDED.

Objects are kept as compact JSON (managedFields dropped) and decoded when a pass reads them: a
CronJob as nested Python dicts takes several times its JSON size, and thousands of them are kept.
"""

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal

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


@dataclass(frozen=True)
class _Stored:
    version: int | None
    data: bytes

    @classmethod
    def pack(cls, body: dict[str, Any]) -> "_Stored":
        metadata = body.get("metadata", {})
        if "managedFields" in metadata:  # server-side-apply bookkeeping: large, and never read here
            body = {**body, "metadata": {k: v for k, v in metadata.items() if k != "managedFields"}}
        return cls(_version(body), json.dumps(body, separators=(",", ":")).encode())

    def unpack(self) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(self.data)
        return body


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

    def apply(self, kind: Kind, event_type: str | None, body: dict[str, Any]) -> bool:
        """Record a watch event; False when it tells nothing new (an echo or a replay)."""
        metadata = body.get("metadata", {})
        key = (str(metadata.get("namespace", "")), str(metadata.get("name", "")))
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
        store[key] = _Stored.pack(body)
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
        metadata = body.get("metadata", {})
        key = (str(metadata.get("namespace", "")), str(metadata.get("name", "")))
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
        return stored.unpack() if stored is not None else None

    def schedule(self, key: ScheduleKey) -> dict[str, Any] | None:
        return self.get("schedules", key)

    def schedule_keys(self) -> list[ScheduleKey]:
        return list(self.objects["schedules"])

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
