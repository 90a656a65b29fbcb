"""Drift between a planned object and the one that exists, and the merge patch that repairs it.

The API server fills in defaults the planner never sets (a container's imagePullPolicy, a pod's
dnsPolicy, ...), so "the same" means: every field the planner sets has the planned value. A field
the planner set last time and no longer sets is removed, which needs to know what was set last
time: that is kept on the object in an annotation, as `kubectl apply` does. Fields someone added
by hand that the planner never sets are left alone, as `kubectl apply` leaves them.
"""

import json
from typing import Any, Final

import orjson

LAST_APPLIED_ANNOTATION: Final = "erpsync.io/last-applied"
_MISSING: Final = object()


def covers(actual: object, planned: object) -> bool:
    """Whether `actual` has every field of `planned` with the planned value (lists element-wise)."""
    if isinstance(planned, dict):
        return isinstance(actual, dict) and all(
            covers(actual.get(key, _MISSING), value) for key, value in planned.items()
        )
    if isinstance(planned, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(planned)
            and all(covers(have, want) for have, want in zip(actual, planned, strict=True))
        )
    return actual == planned


def merge_patch(actual: dict[str, Any], planned: dict[str, Any], last_applied: dict[str, Any]) -> dict[str, Any]:
    """A JSON merge patch that makes `actual` cover `planned` and drops what only `last_applied` had.

    Lists are replaced whole (merge-patch semantics), so a list that differs is sent in full.
    """
    patch: dict[str, Any] = {}
    for key, want in planned.items():
        have = actual.get(key, _MISSING)
        if isinstance(want, dict) and isinstance(have, dict):
            previous = last_applied.get(key)
            nested = merge_patch(have, want, previous if isinstance(previous, dict) else {})
            if nested:
                patch[key] = nested
        elif not covers(have, want):
            patch[key] = want
    for key in last_applied:
        if key not in planned and key in actual:
            patch[key] = None
    return patch


def applied_record(planned: dict[str, Any]) -> str:
    """What to remember of a planned object: its labels and spec, as compact, stable JSON."""
    return json.dumps(
        {"labels": planned["metadata"].get("labels", {}), "spec": planned["spec"]},
        sort_keys=True,
        separators=(",", ":"),
    )


def read_applied_record(existing: dict[str, Any]) -> dict[str, Any]:
    text = (existing.get("metadata", {}).get("annotations") or {}).get(LAST_APPLIED_ANNOTATION)
    if not text:
        return {}
    try:
        record = orjson.loads(text)
    except ValueError:
        return {}  # edited by hand into something unreadable: treat as never applied
    return record if isinstance(record, dict) else {}


def repair_patch(existing: dict[str, Any], planned: dict[str, Any]) -> dict[str, Any] | None:
    """The merge patch that brings `existing` back to `planned`, or None when nothing drifted."""
    record = read_applied_record(existing)
    current = {"labels": existing.get("metadata", {}).get("labels") or {}, "spec": existing.get("spec") or {}}
    wanted = {"labels": planned["metadata"].get("labels", {}), "spec": planned["spec"]}
    body = merge_patch(current, wanted, record)
    new_record = applied_record(planned)
    annotations = existing.get("metadata", {}).get("annotations") or {}
    if not body and annotations.get(LAST_APPLIED_ANNOTATION) == new_record:
        return None
    patch: dict[str, Any] = {"metadata": {"annotations": {LAST_APPLIED_ANNOTATION: new_record}}}
    if "labels" in body:
        patch["metadata"]["labels"] = body["labels"]
    if "spec" in body:
        patch["spec"] = body["spec"]
    return patch


def merge_diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The JSON merge patch (RFC 7386) that turns `old` into `new`: nested objects recursively,
    removed keys as null, lists and scalars replaced whole."""
    patch: dict[str, Any] = {}
    for key, value in new.items():
        before = old.get(key, _MISSING)
        if isinstance(value, dict) and isinstance(before, dict):
            nested = merge_diff(before, value)
            if nested:
                patch[key] = nested
        elif before != value:
            patch[key] = value
    for key in old:
        if key not in new:
            patch[key] = None
    return patch
