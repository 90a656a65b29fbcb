"""Pacing requests by Procore's rate-limit headers, before the budget runs out.

Procore reports, on every answer, the window most likely to be hit first (a 10-second spike
window or the hourly one): its limit, what remains and when it resets. When little remains, the
remaining requests are spread over the time left in the window instead of hitting a 429.
After a 429 the wait gets a random extra (up to a fifth of it, at most 2 s), as Procore asks:
clients throttled together would otherwise all come back at the same instant.
"""

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

SLOW_DOWN_BELOW: Final = 0.2  # fraction of the window's budget left at which pacing starts
JITTER_FRACTION: Final = 0.2  # of a 429's wait, at most, added at random
JITTER_CAP: Final = 2.0  # seconds


@dataclass
class Throttle:
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    jitter: Callable[[], float] = random.random  # in [0, 1)
    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None
    slept: float = field(default=0.0)

    def observe(self, headers: Mapping[str, str]) -> None:
        try:
            if "X-Rate-Limit-Limit" in headers:
                self.limit = int(headers["X-Rate-Limit-Limit"])
            if "X-Rate-Limit-Remaining" in headers:
                self.remaining = int(headers["X-Rate-Limit-Remaining"])
            if "X-Rate-Limit-Reset" in headers:
                self.reset_at = float(headers["X-Rate-Limit-Reset"])
        except ValueError:
            pass  # a malformed header: keep pacing by what we knew

    def before_request(self) -> None:
        if self.remaining is None or self.reset_at is None or not self.limit:
            return
        left = self.reset_at - self.clock()
        if left <= 0:
            self.remaining = None  # the window has reset
            return
        if self.remaining <= 0:
            self._wait(left + 0.05)
            self.remaining = None
        elif self.remaining < self.limit * SLOW_DOWN_BELOW:
            self._wait(left / (self.remaining + 1))

    def wait_until_reset(self, retry_after: float | None) -> None:
        """After a 429: Retry-After when given, else until the window resets; plus jitter."""
        if retry_after is not None:
            wait = retry_after
        elif self.reset_at is not None:
            wait = max(self.reset_at - self.clock(), 0.0) + 0.05
        else:
            wait = 1.0
        self._wait(wait + self.jitter() * min(JITTER_CAP, wait * JITTER_FRACTION))
        self.remaining = None

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self.slept += seconds
            self.sleep(seconds)
