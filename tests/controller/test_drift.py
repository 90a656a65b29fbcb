"""Drift detection: API-server defaults are not drift; hand edits and planner changes are."""

import copy
import json
from typing import Any

from erpsync.controller.drift import LAST_APPLIED_ANNOTATION, applied_record, covers, merge_patch, repair_patch
from erpsync.planning.plan import plan_schedule
from tests.support.specs import make_schedule


def _planned(**spec_overrides: Any) -> dict[str, Any]:
    return plan_schedule(make_schedule(namespace="erp", **spec_overrides)).cron_jobs[0]


def _as_created(planned: dict[str, Any]) -> dict[str, Any]:
    """The CronJob as the API server stores it: our annotation plus server defaults."""
    existing = copy.deepcopy(planned)
    existing["metadata"]["annotations"] = {LAST_APPLIED_ANNOTATION: applied_record(planned)}
    existing["metadata"]["uid"] = "u-1"
    pod = existing["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    pod["dnsPolicy"] = "ClusterFirst"
    pod["schedulerName"] = "default-scheduler"
    pod["containers"][0]["imagePullPolicy"] = "IfNotPresent"
    pod["containers"][0].setdefault("resources", {})  # the server fills in an absent one
    existing["status"] = {"lastScheduleTime": "2026-01-01T00:00:00Z"}
    return existing


def test_server_defaults_are_not_drift() -> None:
    planned = _planned()
    assert repair_patch(_as_created(planned), planned) is None


def test_a_hand_edited_field_is_put_back() -> None:
    planned = _planned()
    existing = _as_created(planned)
    existing["spec"]["schedule"] = "0 0 * * *"
    existing["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"].pop()
    patch = repair_patch(existing, planned)
    assert patch is not None
    assert patch["spec"]["schedule"] == planned["spec"]["schedule"]
    containers = patch["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert containers == planned["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]


def test_a_field_the_planner_no_longer_sets_is_removed() -> None:
    before = _planned(worker={"nodeSelector": {"pool": "batch"}})
    after = _planned()
    existing = _as_created(before)
    patch = repair_patch(existing, after)
    assert patch is not None
    assert patch["spec"]["jobTemplate"]["spec"]["template"]["spec"]["nodeSelector"] is None
    assert json.loads(patch["metadata"]["annotations"][LAST_APPLIED_ANNOTATION]) == json.loads(applied_record(after))


def test_fields_added_by_hand_that_the_planner_never_sets_are_kept() -> None:
    planned = _planned()
    existing = _as_created(planned)
    existing["spec"]["jobTemplate"]["spec"]["ttlSecondsAfterFinished"] = 60
    assert repair_patch(existing, planned) is None


def test_covers_and_merge_patch() -> None:
    assert covers({"a": 1, "b": 2}, {"a": 1})
    assert not covers({"a": [1, 2]}, {"a": [1]})
    assert merge_patch({"a": {"x": 1, "y": 2}}, {"a": {"x": 3}}, {"a": {"x": 1, "y": 2}}) == {"a": {"x": 3, "y": None}}
