"""The periodic resync: every schedule is reconciled again once per period, even without an event.

A pass is level-based, so a resync repairs whatever a missed watch event left behind. It is the
operator's own task rather than a kopf timer: kopf's timers add a finalizer (see handlers.py).
"""

import asyncio
import random

from erpsync.controller.state import OperatorState


async def resync(state: OperatorState) -> None:
    """Every schedule is reconciled again once per resync period, spread over the period."""
    period = state.config.resync_seconds
    await asyncio.sleep(period * random.uniform(0.5, 1.0))  # spreads load; not security
    while True:
        keys = state.world.schedule_keys()
        step = period / max(len(keys), 1)
        for key in keys:
            state.enqueue(key)
            await asyncio.sleep(step)
        if not keys:
            await asyncio.sleep(period)
