"""Request accounting: a bounded log and counters by verb and resource.

KMock keeps every request forever and scans that list on each new request, so a long run slows down
linearly (measured: 114 creates/s at first, 13/s after 600 objects). The emulator keeps only the requests
in flight in KMock's list and records the rest here, in a fixed-size deque: the cost per request is flat.
"""

from __future__ import annotations

import collections
import time
from typing import Any

import attrs


@attrs.frozen
class LoggedRequest:
    seq: int
    time: float
    method: str
    path: str  # with the query string
    verb: str  # get, list, watch, create, update, patch, delete, deletecollection; "nonresource" otherwise
    resource: str  # "cronjobs.batch", "erpsyncschedules.erpsync.io/status", "pods"; "" for non-resource
    namespace: str | None
    name: str | None
    status: int
    duration: float


def k8s_verb(method: str, has_name: bool, watch: bool) -> str:
    """The RBAC-style verb of a resource request."""
    if method == "GET":
        return "watch" if watch else "get" if has_name else "list"
    if method == "POST":
        return "create"
    if method == "PUT":
        return "update"
    if method == "PATCH":
        return "patch"
    if method == "DELETE":
        return "delete" if has_name else "deletecollection"
    return method.lower()


@attrs.define
class RequestStats:
    log_size: int = 1_000
    seq: int = 0
    log: collections.deque[LoggedRequest] = attrs.field(init=False)
    counters: collections.Counter[tuple[str, str]] = attrs.field(factory=collections.Counter)
    statuses: collections.Counter[int] = attrs.field(factory=collections.Counter)

    def __attrs_post_init__(self) -> None:
        self.log = collections.deque(maxlen=self.log_size)

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def record(self, entry: LoggedRequest) -> None:
        self.log.append(entry)
        self.counters[entry.verb, entry.resource] += 1
        self.statuses[entry.status] += 1

    def reset(self) -> None:
        self.log.clear()
        self.counters.clear()
        self.statuses.clear()

    def snapshot(self) -> dict[str, Any]:
        by_verb: collections.Counter[str] = collections.Counter()
        for (verb, _), count in self.counters.items():
            by_verb[verb] += count
        return {
            "requests": self.seq,
            "byVerb": dict(sorted(by_verb.items())),
            "byVerbAndResource": {f"{verb} {res}".strip(): n for (verb, res), n in sorted(self.counters.items())},
            "byStatus": {str(code): n for code, n in sorted(self.statuses.items())},
        }


def now() -> float:
    return time.monotonic()
