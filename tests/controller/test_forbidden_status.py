"""A pass refused with 403 stalls the schedule for the generation it observed (reason Forbidden), and the next
allowed pass clears it (pure: build_status)."""

from datetime import UTC, datetime, timedelta
from typing import Any

from erpsync.api.models import ErpSyncScheduleStatus, read_status
from erpsync.controller.observed import Observed
from erpsync.controller.status import Outcome
from erpsync.planning.plan import plan_schedule
from tests.support.specs import make_schedule
from tests.support.status import status_json

NOW = datetime.now(UTC)
REFUSED = (
    'creating CronJob acme-vendors: 403 Forbidden: cronjobs.batch is forbidden: User "erp-sync" cannot create '
    'resource "cronjobs" in API group "batch" in the namespace "erp"'
)


def _status(outcome: Outcome, previous: ErpSyncScheduleStatus, now: datetime) -> dict[str, Any]:
    plan = plan_schedule(make_schedule("CMiC", namespace="erp"))
    return status_json(plan, Observed(), outcome=outcome, previous=previous, generation=3, now=now)


def test_forbidden_stalls_for_the_observed_generation_until_a_pass_is_allowed() -> None:
    stalled = _status(Outcome("Forbidden", REFUSED), read_status({"observedGeneration": 2}), NOW)
    conditions = {item["type"]: item for item in stalled["conditions"]}
    assert list(conditions) == ["Ready", "Stalled", "Healthy"]
    for kind, value in (("Ready", "False"), ("Stalled", "True")):
        assert (conditions[kind]["status"], conditions[kind]["reason"]) == (value, "Forbidden")
        assert conditions[kind]["message"] == REFUSED
    assert stalled["observedGeneration"] == 3  # kstatus: Failed for this generation, not still in progress

    allowed = _status(Outcome("Reconciled"), read_status(stalled), NOW + timedelta(seconds=5))
    conditions = {item["type"]: item for item in allowed["conditions"]}
    assert list(conditions) == ["Ready", "Healthy"]
    assert (conditions["Ready"]["status"], conditions["Ready"]["reason"]) == ("True", "Succeeded")
