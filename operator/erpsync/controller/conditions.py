"""Conditions in the shape kstatus, Flux and `kubectl wait` understand.

`Ready` is always present; `Reconciling` and `Stalled` only while true (abnormal-true polarity, as
Flux does). A condition keeps its lastTransitionTime while its status does not change, so a pass
that finds nothing new writes nothing.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from erpsync.api import models
from erpsync.api.conditions import CONDITION_ORDER
from erpsync.controller.bounds import rfc3339, timestamp

ConditionStatus = Literal["True", "False", "Unknown"]


@dataclass(frozen=True)
class Condition:
    type: str
    status: ConditionStatus
    reason: str
    message: str


def merge_conditions(
    previous: Sequence[models.Condition], current: list[Condition], generation: int, now: datetime
) -> list[dict[str, Any]]:
    """The condition list to write: `current`, keeping lastTransitionTime of unchanged statuses."""
    before = {item.type: item for item in previous}
    order = CONDITION_ORDER
    merged: list[dict[str, Any]] = []
    for condition in sorted(current, key=lambda c: order.index(c.type) if c.type in order else len(order)):
        old = before.get(condition.type)
        # Kept from the previous status, which anyone with write access to status may have edited.
        transition = rfc3339(old.last_transition_time) if old and old.status == condition.status else None
        merged.append(
            {
                "type": condition.type,
                "status": condition.status,
                "reason": condition.reason,
                "message": condition.message,
                "observedGeneration": generation,
                "lastTransitionTime": transition or timestamp(now),
            }
        )
    return merged
