"""What the running operator holds between handler calls: the watch cache, the API client, the queue.

One `OperatorState` per process, made by runner.py and bound to the handlers by
`handlers.build_registry`; the startup handler fills in what needs kopf's settings or a running loop.
"""

import asyncio
from dataclasses import dataclass, field

import kopf

from erpsync.controller.config import OperatorConfig
from erpsync.controller.events import EventPoster
from erpsync.controller.kubeapi import KubeApi
from erpsync.controller.queue import ReconcileQueue
from erpsync.controller.world import ScheduleKey, World


@dataclass
class OperatorState:
    config: OperatorConfig
    world: World = field(default_factory=World)
    api: KubeApi | None = None
    queue: ReconcileQueue[ScheduleKey] | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    settings: kopf.OperatorSettings | None = None
    events: EventPoster | None = None

    def enqueue(self, key: ScheduleKey) -> None:
        """Ask for a pass of the schedule `key` (nothing before the queue has started)."""
        if self.queue is not None:
            self.queue.add(key)
