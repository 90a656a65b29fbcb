"""The condition list written to status: a fixed order, the generation it speaks of, and transition times
that move only when a condition's status does."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from erpsync.api import models
from erpsync.controller.conditions import Condition, merge_conditions

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
EARLIER = NOW - timedelta(hours=3)


def _stored(kind: str, status: str, when: datetime) -> models.Condition:
    return models.Condition(type=kind, status=status, reason="Before", message="before", last_transition_time=when)


def test_conditions_come_in_a_fixed_order_with_unknown_types_last() -> None:
    current = [
        Condition("Custom", "True", "Mine", "m"),
        Condition("Healthy", "True", "RunsHealthy", "h"),
        Condition("Stalled", "True", "InvalidSpec", "s"),
        Condition("Ready", "False", "InvalidSpec", "r"),
    ]
    merged = merge_conditions([], current, 7, NOW)
    assert [item["type"] for item in merged] == ["Ready", "Stalled", "Healthy", "Custom"]
    assert merged[0] == {
        "type": "Ready",
        "status": "False",
        "reason": "InvalidSpec",
        "message": "r",
        "observedGeneration": 7,
        "lastTransitionTime": "2026-06-01T12:00:00Z",
    }


def test_a_transition_time_is_kept_only_while_the_status_is_the_same() -> None:
    previous = [_stored("Ready", "True", EARLIER), _stored("Healthy", "True", EARLIER)]
    current = [Condition("Ready", "True", "Succeeded", "new words"), Condition("Healthy", "False", "RunFailed", "x")]
    ready, healthy = merge_conditions(previous, current, 2, NOW)
    assert (ready["lastTransitionTime"], ready["message"], ready["reason"]) == (
        "2026-06-01T09:00:00Z",
        "new words",
        "Succeeded",
    )
    assert healthy["lastTransitionTime"] == "2026-06-01T12:00:00Z"


def test_a_transition_time_is_never_borrowed_from_another_condition() -> None:
    (stalled,) = merge_conditions([_stored("Ready", "True", EARLIER)], [Condition("Stalled", "True", "X", "")], 2, NOW)
    assert stalled["lastTransitionTime"] == "2026-06-01T12:00:00Z"


def test_a_stored_time_in_another_zone_is_written_in_utc_and_one_without_an_offset_is_replaced() -> None:
    paris = EARLIER.astimezone(ZoneInfo("Europe/Paris"))
    (kept,) = merge_conditions([_stored("Ready", "True", paris)], [Condition("Ready", "True", "S", "")], 2, NOW)
    assert kept["lastTransitionTime"] == "2026-06-01T09:00:00Z"
    naive = EARLIER.replace(tzinfo=None)
    (replaced,) = merge_conditions([_stored("Ready", "True", naive)], [Condition("Ready", "True", "S", "")], 2, NOW)
    assert replaced["lastTransitionTime"] == "2026-06-01T12:00:00Z"
