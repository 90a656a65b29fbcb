"""Procore's two rate-limit windows (hourly and 10-second spike), one pair per company bucket.

Every request counts, refused ones included. Each answer reports the window most likely to be hit
first, which is the one with fewer requests left; a 429 reports the exceeded window that resets last.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

from .config import EmulatorConfig

# A bucket per distinct Procore-Company-Id value; bounded so a client sending random values cannot
# grow memory without limit.
MAX_BUCKETS = 1000


@dataclass
class Window:
    length_seconds: int
    started_at: float = 0.0
    used: int = 0

    def roll(self, now: float) -> None:
        if self.used == 0 or now >= self.started_at + self.length_seconds:
            self.started_at = now
            self.used = 0

    def reset_at(self) -> int:
        return math.ceil(self.started_at + self.length_seconds)


@dataclass(frozen=True)
class RateLimitStatus:
    allowed: bool
    limit: int
    remaining: int
    reset_at: int

    def headers(self) -> dict[str, str]:
        return {
            "X-Rate-Limit-Limit": str(self.limit),
            "X-Rate-Limit-Remaining": str(self.remaining),
            "X-Rate-Limit-Reset": str(self.reset_at),
        }


@dataclass
class _Bucket:
    hourly: Window
    spike: Window


class RateLimiter:
    def __init__(self, config: EmulatorConfig) -> None:
        self._config = config
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def _bucket(self, key: str) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(Window(self._config.hourly_window_seconds), Window(self._config.spike_window_seconds))
            self._buckets[key] = bucket
            if len(self._buckets) > MAX_BUCKETS:
                self._buckets.popitem(last=False)
        self._buckets.move_to_end(key)
        # Knob changes at run time apply from the next window on.
        bucket.hourly.length_seconds = self._config.hourly_window_seconds
        bucket.spike.length_seconds = self._config.spike_window_seconds
        return bucket

    def record(self, key: str, now: float) -> RateLimitStatus:
        """Count one request in both windows and say whether it is allowed."""
        bucket = self._bucket(key)
        windows = [(bucket.spike, self._config.spike_limit), (bucket.hourly, self._config.hourly_limit)]
        for window, _ in windows:
            window.roll(now)
            window.used += 1
        exceeded = [(window, limit) for window, limit in windows if window.used > limit]
        if exceeded:
            window, limit = max(exceeded, key=lambda pair: pair[0].reset_at())
            return RateLimitStatus(allowed=False, limit=limit, remaining=0, reset_at=window.reset_at())
        # min() keeps the first of equals: on a tie the spike window is reported, as Procore does.
        window, limit = min(windows, key=lambda pair: pair[1] - pair[0].used)
        return RateLimitStatus(allowed=True, limit=limit, remaining=limit - window.used, reset_at=window.reset_at())

    def clear(self) -> None:
        self._buckets.clear()
