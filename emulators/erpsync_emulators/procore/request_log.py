"""What the emulator was asked, for assertions and benchmarks, in bounded memory.

Counts are keyed by method and route template (`GET /rest/v1.0/companies/{company_id}/vendors/inactive`),
not by the concrete path, so their number is bounded by the routes; only the last few requests are kept
in full.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import asdict, dataclass
from typing import Any

UNMATCHED_ROUTE = "(no route)"


@dataclass(frozen=True)
class LoggedRequest:
    at: float
    method: str
    path: str
    route: str
    status: int  # 0 when the emulator answered nothing (hang, dropped connection)


class RequestLog:
    def __init__(self, keep_recent: int) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._statuses: Counter[int] = Counter()
        self._recent: deque[LoggedRequest] = deque(maxlen=keep_recent)
        self._total = 0

    def record(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._counts[f"{entry.method} {entry.route}"] += 1
            self._statuses[entry.status] += 1
            self._recent.append(entry)
            self._total += 1

    @property
    def total(self) -> int:
        with self._lock:
            return self._total

    def count(self, method: str, route: str) -> int:
        """Requests seen for a method and route template, e.g. count("PATCH", "/rest/v1.0/vendors/sync")."""
        with self._lock:
            return self._counts[f"{method.upper()} {route}"]

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def recent(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._recent)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": self._total,
                "by_route": dict(self._counts),
                "by_status": {str(status): count for status, count in sorted(self._statuses.items())},
                "recent": [asdict(entry) for entry in self._recent],
            }

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()
            self._statuses.clear()
            self._recent.clear()
            self._total = 0
