"""Faults a test (or the demo, through the admin endpoint) arms for the next matching requests."""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class FaultResponse(StrEnum):
    TOO_MANY_REQUESTS = "429"
    SERVICE_UNAVAILABLE = "503"
    INTERNAL_SERVER_ERROR = "500"
    # Hold the request without answering for `hang_seconds`, then close the connection: a client
    # whose timeout is shorter sees a timeout.
    HANG = "hang"
    # Close the connection at once without answering.
    DROP_CONNECTION = "drop"


@dataclass
class Fault:
    """Answer the next `times` requests matching `method` and `path` with `response`.

    `path` is a path without query string; shell-style wildcards (`/rest/v1.0/*/sync`) are allowed,
    and `method` may be `*`. With `after_applying`, the request is processed first (the write
    happens) and only the answer is replaced: a POST that succeeded server-side but that the client
    never saw succeed.
    """

    method: str
    path: str
    response: FaultResponse
    times: int = 1
    after_applying: bool = False
    retry_after_seconds: int = 1
    hang_seconds: float = 30.0

    def __post_init__(self) -> None:
        self.method = self.method.upper()
        self.response = FaultResponse(self.response)
        if self.times < 1:
            raise ValueError("times must be at least 1")
        if self.retry_after_seconds < 0 or self.hang_seconds < 0:
            raise ValueError("retry_after_seconds and hang_seconds must not be negative")

    def matches(self, method: str, path: str) -> bool:
        return (self.method in ("*", method.upper())) and fnmatch.fnmatchcase(path, self.path)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "response": str(self.response)}

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Fault:
        allowed = {"method", "path", "response", "times", "after_applying", "retry_after_seconds", "hang_seconds"}
        unknown = set(document) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        return cls(**document)


@dataclass(frozen=True)
class FiredFault:
    method: str
    path: str
    response: FaultResponse
    after_applying: bool


class FaultInjector:
    def __init__(self) -> None:
        self._armed: list[Fault] = []
        self._fired: list[FiredFault] = []
        self._lock = threading.Lock()

    def arm(self, fault: Fault) -> Fault:
        with self._lock:
            self._armed.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The first armed fault matching this request, counted as used once."""
        with self._lock:
            for fault in self._armed:
                if fault.matches(method, path):
                    fault.times -= 1
                    if fault.times == 0:
                        self._armed.remove(fault)
                    self._fired.append(FiredFault(method, path, fault.response, fault.after_applying))
                    # Bounded: only the most recent firings are kept for inspection.
                    del self._fired[:-1000]
                    return fault
        return None

    def armed(self) -> list[Fault]:
        with self._lock:
            return list(self._armed)

    def fired(self) -> list[FiredFault]:
        with self._lock:
            return list(self._fired)

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()
            self._fired.clear()
