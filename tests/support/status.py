"""build_status as a pass calls it, for the status tests: the previous status read as a pass reads it, as JSON."""

from datetime import datetime
from typing import Any, Final

from erpsync.api.models import ErpSyncScheduleStatus, read_status
from erpsync.controller.observed import Observed
from erpsync.controller.status import Outcome, build_status
from erpsync.planning.plan import SchedulePlan

RECONCILED: Final = Outcome("Reconciled")


def status_json(
    plan: SchedulePlan | None,
    observed: Observed,
    *,
    now: datetime,
    previous: object = None,
    outcome: Outcome = RECONCILED,
    generation: int = 1,
    handled_sync_now: str | None = None,
    **options: Any,
) -> dict[str, Any]:
    """The status a pass writes; `previous` is the stored status (raw, or already read)."""
    return build_status(
        generation=generation,
        plan=plan,
        observed=observed,
        outcome=outcome,
        previous=previous if isinstance(previous, ErpSyncScheduleStatus) else read_status(previous),
        handled_sync_now=handled_sync_now,
        now=now,
        **options,
    ).as_json()
