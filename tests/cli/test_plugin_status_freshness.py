"""`kubectl erpsync status` reads a status as stale while it is of an older generation than the spec (pure)."""

from typing import Any

import pytest

from erpsync.kubectl_plugin.status import Freshness, freshness, health_message, ready_text, status_rows

READY_OF_1 = {
    "type": "Ready",
    "status": "True",
    "reason": "Succeeded",
    "message": "4 CronJobs in sync",
    "observedGeneration": 1,
    "lastTransitionTime": "2026-06-01T12:00:00Z",
}


def _schedule(generation: int | None, status: dict[str, Any] | None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "acme", "namespace": "erp-sync"}
    if generation is not None:
        metadata["generation"] = generation
    body: dict[str, Any] = {"metadata": metadata, "spec": {}}
    if status is not None:
        body["status"] = status
    return body


@pytest.mark.parametrize(
    ("generation", "status", "expected", "stale"),
    [
        (1, None, Freshness(1, None), True),
        (1, {"observedGeneration": -1}, Freshness(1, None), True),
        (2, {"observedGeneration": 1}, Freshness(2, 1), True),
        (2, {"observedGeneration": 2}, Freshness(2, 2), False),
        (2, {"observedGeneration": 3}, Freshness(2, 3), False),
        (None, {"observedGeneration": 1}, Freshness(None, 1), False),
        (2, {"observedGeneration": "one"}, Freshness(2, None), True),
    ],
)
def test_freshness(generation: int | None, status: dict[str, Any] | None, expected: Freshness, stale: bool) -> None:
    fresh = freshness(_schedule(generation, status))
    assert fresh == expected
    assert fresh.stale is stale


def test_a_ready_of_an_older_generation_reads_unknown() -> None:
    body = _schedule(2, {"observedGeneration": 1, "conditions": [READY_OF_1]})
    assert ready_text(body) == "Unknown (generation 2 not yet seen)"
    assert health_message(body) == (
        "status is of generation 1; generation 2 is not handled by the operator yet; "
        "last Ready True (Succeeded): 4 CronJobs in sync"
    )
    assert freshness(body).as_of() == "1 (stale: the spec is at 2)"
    current = _schedule(1, {"observedGeneration": 1, "conditions": [READY_OF_1]})
    assert (ready_text(current), health_message(current), freshness(current).as_of()) == (
        "True (Succeeded)",
        "4 CronJobs in sync",
        "1",
    )


def test_a_ready_written_for_the_new_generation_is_shown_as_it_is() -> None:
    """The operator writes Reconciling (and Ready Unknown) of a generation before it has handled it."""
    retrying = {**READY_OF_1, "status": "Unknown", "reason": "ProgressingWithRetry", "message": "creating CronJob x"}
    body = _schedule(2, {"observedGeneration": 1, "conditions": [{**retrying, "observedGeneration": 2}]})
    assert ready_text(body) == "Unknown (ProgressingWithRetry)"
    assert health_message(body).endswith("last Ready Unknown (ProgressingWithRetry): creating CronJob x")


def test_not_handled_yet() -> None:
    body = _schedule(1, {"observedGeneration": -1})
    assert (ready_text(body), health_message(body), freshness(body).as_of()) == (
        "-",
        "not handled by the operator yet",
        "- (not handled yet)",
    )


def test_rows_carry_the_generations() -> None:
    sync = {"frequency": "Hourly", "timeZone": "UTC", "suspended": False, "schedule": "5 * * * *", "cronJob": "acme-v"}
    body = _schedule(2, {"observedGeneration": 1, "conditions": [READY_OF_1], "syncs": {"vendors": sync}})
    [row] = status_rows(body)
    assert (row["generation"], row["observedGeneration"], row["stale"], row["cronJob"]) == (2, 1, True, "acme-v")
    [row] = status_rows(_schedule(3, None))
    assert (row["generation"], row["observedGeneration"], row["stale"], row["sync"]) == (3, None, True, None)
