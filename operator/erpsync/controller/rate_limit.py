"""A client-side limit on the operator's requests to the API server: a token bucket, as client-go's.

The API server protects itself (API Priority and Fairness queues, then refuses with 429 and
Retry-After), but a good neighbour does not lean on that: like every client-go controller, the operator
sends at most `burst` requests at once and `qps` per second on average (`--qps`, `--burst`; 50 and 100,
kube-controller-manager's defaults since Kubernetes 1.27: controller-runtime's old 20 and 30 would take
40 minutes to create 10,000 schedules' CronJobs, and controller-runtime now leaves the limit off and
relies on API Priority and Fairness, which `--qps 0` does here). A refused request (429) fails its pass,
which the queue retries after 1, 2, 5 s... (queue.py), so a busy server also slows the operator down.

Waits are reservations, as golang.org/x/time/rate's `Wait`: each caller takes the next token, even one
not yet there, and sleeps until it is due; callers are served in order and none is starved.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Final

DEFAULT_QPS: Final = 50.0
DEFAULT_BURST: Final = 100


class TokenBucket:
    """`burst` tokens, refilled at `qps` per second; a request takes one."""

    def __init__(
        self,
        qps: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if qps <= 0 or burst < 1:
            raise ValueError(f"a token bucket needs qps > 0 and burst >= 1, not qps={qps:g}, burst={burst}")
        self.qps = qps
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)  # negative: tokens already promised to waiting callers
        self._updated = clock()

    def reserve(self) -> float:
        """Take the next token: the seconds until it is due (0: now)."""
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._updated) * self.qps)
        self._updated = now
        self._tokens -= 1
        return 0.0 if self._tokens >= 0 else -self._tokens / self.qps

    async def wait(self) -> None:
        """Return when this caller's token is due."""
        delay = self.reserve()
        if delay > 0:
            await self._sleep(delay)
