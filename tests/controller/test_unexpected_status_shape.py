"""A previous status of a shape the CRD would refuse (written around it) is rebuilt, not crashed on.

The CRD makes `status.syncs` an object of objects; a status written around the schema (another client
before the CRD was applied, a schema-less restore) can hold a list there. Every pass read it, failed
with AttributeError, and was retried forever: the schedule was never reconciled again.
"""

from typing import Any

import pytest

from erpsync.api.models import ErpSyncSchedule, read_status
from tests.controller.test_status_bounds import _build, _pass, _schedule, status_problems
from tests.support.fake_api import ApiServer
from tests.support.specs import schedule as spec_schedule

SHAPES: dict[str, Any] = {
    "syncs-list": {"syncs": [{"jobCosts": {"lastRun": {"result": "Failed"}}}]},
    "syncs-string": {"syncs": "jobCosts"},
    "sync-entry-list": {"syncs": {"jobCosts": ["not", "an", "object"]}},
    "last-run-string": {"syncs": {"jobCosts": {"lastRun": "Failed"}}},
    "conditions-of-strings": {"conditions": ["Ready", 7], "observedGeneration": 1},
    "conditions-object": {"conditions": {"type": "Ready"}},
    "generation-text": {"observedGeneration": "seven", "lastHandledSyncNow": {"token": 1}},
    "status-list": ["Ready"],
    "status-string": "Ready",
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_pass_over_a_status_of_another_shape_rebuilds_it(shape: str) -> None:
    schedule = _schedule()
    schedule["status"] = SHAPES[shape]
    api = ApiServer(schedule, status_problems)

    assert _pass(api, [])[0] == "Reconciled", api.refusals
    status = api.schedule["status"]
    assert isinstance(status["syncs"], dict) and isinstance(status["syncs"]["jobCosts"], dict)
    assert status["observedGeneration"] == 1
    assert {condition["type"] for condition in status["conditions"]} >= {"Ready", "Healthy"}
    # Rebuilt: the next pass reads it as its own and has nothing to write.
    assert _pass(api, api.created) == ("Reconciled", 0), api.refusals


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_build_status_reads_any_previous_shape_as_no_previous_status(shape: str) -> None:
    previous = SHAPES[shape]
    rebuilt = _build(previous=previous if isinstance(previous, dict) else None)
    assert rebuilt["syncs"] == _build()["syncs"]


def test_read_status_keeps_what_fits_the_model_and_leaves_out_the_rest() -> None:
    run = {"jobName": "acme-job-costs-1", "trigger": "Scheduled", "result": "Succeeded"}
    ready = {
        "type": "Ready",
        "status": "True",
        "reason": "Succeeded",
        "message": "",
        "lastTransitionTime": "2026-06-01T12:00:00Z",
    }
    raw: dict[str, Any] = {
        "syncs": {
            "jobCosts": {"frequency": "Hourly", "lastRun": run, "nextRunTime": "2026-06-01T14:00:00Z"},
            "vendors": "x",
            "jobs": {"lastRun": run},  # no frequency: not a sync status
            "invoicePayments": {"frequency": "Daily", "lastRun": {"result": "Failed"}},  # a lastRun without a Job
        },
        "conditions": [ready, "Healthy", {"type": "Stalled"}],
        "observedGeneration": 3,
        "lastHandledSyncNow": "t1",
        "kopf": {"dummy": "kept"},
    }
    assert read_status(raw).as_json() == {
        "syncs": {
            "jobCosts": {
                "frequency": "Hourly",
                "suspended": False,
                "lastRun": run,
                "nextRunTime": raw["syncs"]["jobCosts"]["nextRunTime"],
            },
            "invoicePayments": {"frequency": "Daily", "suspended": False},
        },
        "conditions": [ready],
        "observedGeneration": 3,
        "lastHandledSyncNow": "t1",
        "kopf": {"dummy": "kept"},
    }
    nothing = {"observedGeneration": -1, "conditions": []}
    assert read_status({"observedGeneration": "seven", "lastHandledSyncNow": 5}).as_json() == nothing
    assert read_status(None).as_json() == nothing and read_status(["x"]).as_json() == nothing
    assert raw["syncs"]["vendors"] == "x"  # what it reads is left as it was


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_schedule_with_a_status_of_another_shape_is_read_not_refused(shape: str) -> None:
    body = {**spec_schedule(), "status": SHAPES[shape]}
    status = ErpSyncSchedule.model_validate(body).status
    assert status is not None and status.as_json()["observedGeneration"] in (-1, 1)
