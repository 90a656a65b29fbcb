"""A work queue of schedules to reconcile: coalescing, one pass per schedule at a time, retries.

Many watch events for one schedule (its CronJobs, Jobs and Pods all change) become one pass; a
schedule whose pass failed comes back after a growing delay.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Final, Generic, TypeVar

Key = TypeVar("Key")
RETRY_DELAYS: Final = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
# Passes at once (`erp-sync operator --workers`). A pass mostly waits for the API server (its CronJob
# writes, then its status write), so more passes than cores keep the server busy; --qps/--burst and the
# API server's fairness bound what they send.
DEFAULT_WORKERS: Final = 8
logger = logging.getLogger(__name__)


class ReconcileQueue(Generic[Key]):
    def __init__(self, work: Callable[[Key], Awaitable[bool]], workers: int = DEFAULT_WORKERS) -> None:
        """`work(key)` returns True when the key must be retried later."""
        self._work = work
        self._workers = workers
        self._queue: asyncio.Queue[Key] = asyncio.Queue()
        self._queued: set[Key] = set()
        self._active: set[Key] = set()
        self._again: set[Key] = set()
        self._failures: dict[Key, int] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._timers: dict[Key, asyncio.TimerHandle] = {}

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._worker(), name=f"reconcile-worker-{i}") for i in range(self._workers)]

    async def stop(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def depth(self) -> int:
        """Keys waiting for a pass (erpsync_queue_depth)."""
        return len(self._queued)

    @property
    def retrying(self) -> int:
        """Keys whose pass failed, waiting for their retry (erpsync_queue_retries)."""
        return len(self._timers)

    def add(self, key: Key) -> None:
        if key in self._active:
            self._again.add(key)  # it changed during its own pass: one more pass afterwards
        elif key not in self._queued:
            self._queued.add(key)
            self._queue.put_nowait(key)

    def add_later(self, key: Key, delay: float) -> None:
        if key in self._timers:
            return
        loop = asyncio.get_running_loop()
        self._timers[key] = loop.call_later(delay, self._fire, key)

    def _fire(self, key: Key) -> None:
        self._timers.pop(key, None)
        self.add(key)

    async def _worker(self) -> None:
        while True:
            key = await self._queue.get()
            self._queued.discard(key)
            self._active.add(key)
            try:
                retry = await self._work(key)
            except Exception:
                logger.exception("reconciling %s failed", key)
                retry = True
            finally:
                self._active.discard(key)
            if retry:
                failures = self._failures.get(key, 0)
                self._failures[key] = failures + 1
                self.add_later(key, RETRY_DELAYS[min(failures, len(RETRY_DELAYS) - 1)])
            else:
                self._failures.pop(key, None)
            if key in self._again:
                self._again.discard(key)
                self.add(key)
