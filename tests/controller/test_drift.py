"""Drift detection: API-server defaults are not drift; hand edits and planner changes are."""

import copy
import json
from typing import Any

import pytest

from erpsync.controller.drift import (
    LAST_APPLIED_ANNOTATION,
    applied_record,
    covers,
    merge_diff,
    merge_patch,
    repair_patch,
)
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


def _pod_spec(cron_job: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = cron_job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return spec


def test_a_hand_edited_or_removed_label_is_put_back_and_a_label_added_by_hand_is_kept() -> None:
    planned = _planned()
    existing = _as_created(planned)
    labels = existing["metadata"]["labels"]
    labels["erpsync.io/sync"] = "edited"
    del labels["app.kubernetes.io/part-of"]
    labels["team"] = "finance"
    patch = repair_patch(existing, planned)
    assert patch is not None and "spec" not in patch
    assert patch["metadata"]["labels"] == {
        "erpsync.io/sync": planned["metadata"]["labels"]["erpsync.io/sync"],
        "app.kubernetes.io/part-of": "erp-sync-operator",
    }


def test_a_live_object_without_labels_gets_them_all() -> None:
    planned = _planned()
    existing = _as_created(planned)
    existing["metadata"]["labels"] = None
    patch = repair_patch(existing, planned)
    assert patch is not None and patch["metadata"]["labels"] == planned["metadata"]["labels"]


def test_a_planned_sub_object_missing_on_the_live_object_is_sent_whole() -> None:
    planned = _planned()
    existing = _as_created(planned)
    del _pod_spec(existing)["securityContext"]
    patch = repair_patch(existing, planned)
    assert patch is not None and "labels" not in patch["metadata"]
    assert patch["spec"] == {
        "jobTemplate": {"spec": {"template": {"spec": {"securityContext": _pod_spec(planned)["securityContext"]}}}}
    }
    del existing["spec"]
    patch = repair_patch(existing, planned)
    assert patch is not None and patch["spec"] == planned["spec"]


def test_a_missing_or_stale_record_alone_is_rewritten_without_touching_the_object() -> None:
    planned = _planned()
    for record in (None, "{}"):
        existing = _as_created(planned)
        existing["metadata"]["annotations"] = {LAST_APPLIED_ANNOTATION: record} if record else None
        assert repair_patch(existing, planned) == {
            "metadata": {"annotations": {LAST_APPLIED_ANNOTATION: applied_record(planned)}}
        }


@pytest.mark.parametrize("record", ["not json", "[1, 2]", ""])
def test_an_unreadable_record_is_treated_as_never_applied(record: str) -> None:
    before = _planned(worker={"nodeSelector": {"pool": "batch"}})
    existing = _as_created(before)
    existing["metadata"]["annotations"][LAST_APPLIED_ANNOTATION] = record
    patch = repair_patch(existing, _planned())
    assert patch is not None and "spec" not in patch  # the nodeSelector is not known as ours: left alone


def test_covers_compares_every_planned_field() -> None:
    assert covers({"a": {"b": 1, "c": 2}}, {"a": {"b": 1}})
    assert not covers({"a": 1}, {"a": {"b": 1}})
    assert not covers({}, {"a": None})  # absent is not null
    assert covers({"a": [{"x": 1, "y": 2}]}, {"a": [{"x": 1}]})
    assert not covers({"a": [{"x": 2}]}, {"a": [{"x": 1}]})
    assert not covers({"a": "text"}, {"a": ["text"]})
    assert not covers({"a": [1]}, {"a": [1, 2]})


def test_merge_patch_replaces_lists_whole_and_drops_only_what_it_applied() -> None:
    actual = {"list": [1, 2], "kept": 1, "ours": 1, "nested": {"x": 1}}
    planned = {"list": [1, 3], "nested": {"x": 1}}
    assert merge_patch(actual, planned, {"ours": 1, "gone": 1, "nested": "not an object"}) == {
        "list": [1, 3],
        "ours": None,
    }
    assert merge_patch({"a": {"b": 1}}, {"a": {"b": 1}}, {"a": {"b": 1}}) == {}


def test_merge_diff_is_an_rfc_7386_patch() -> None:
    old = {"same": 1, "changed": 1, "removed": 1, "list": [1], "nested": {"same": 1, "changed": 1}, "flat": {"a": 1}}
    new = {"same": 1, "changed": 2, "added": 3, "list": [1, 2], "nested": {"same": 1, "changed": 2}, "flat": 5}
    assert merge_diff(old, new) == {
        "changed": 2,
        "removed": None,
        "added": 3,
        "list": [1, 2],
        "nested": {"changed": 2},
        "flat": 5,
    }
    assert merge_diff(new, new) == {}


def test_the_record_is_compact_json_with_sorted_keys() -> None:
    """The annotation is compared as text: another spelling would rewrite every CronJob once on upgrade."""
    planned = _planned()
    record = {"labels": planned["metadata"]["labels"], "spec": planned["spec"]}
    assert applied_record(planned) == json.dumps(record, sort_keys=True, separators=(",", ":"))


def test_a_planned_object_without_labels_leaves_labels_it_never_set_alone() -> None:
    planned = _planned()
    del planned["metadata"]["labels"]
    existing = _as_created(_planned())
    existing["metadata"]["annotations"] = {}  # the labels were not set by the planner
    patch = repair_patch(existing, planned)
    assert patch is not None and set(patch) == {"metadata"} and set(patch["metadata"]) == {"annotations"}
    assert json.loads(patch["metadata"]["annotations"][LAST_APPLIED_ANNOTATION])["labels"] == {}


def test_a_live_object_without_metadata_is_repaired_whole() -> None:
    planned = _planned()
    patch = repair_patch({"spec": copy.deepcopy(planned["spec"])}, planned)
    assert patch is not None and "spec" not in patch
    assert patch["metadata"]["labels"] == planned["metadata"]["labels"]
