"""Pruning and defaulting of custom resources from their CRD's structural schema, as the API server does.

Both change what an operator reads back, so both matter here:

* Pruning: a field the schema does not declare is dropped (unless `x-kubernetes-preserve-unknown-fields`).
  A status field missing from the CRD is silently lost on a cluster; an operator that writes it would
  never see it again and rewrite it forever. Here too, so the test fails instead of the cluster.
* Defaulting: `default:` values are filled in, recursively (a defaulted `{}` gets its own defaults), and a
  `null` in a non-nullable field is dropped first. Our CRD defaults every sync to `{}`, so a schedule
  that names one sync is stored with all four, and `status.observedGeneration` starts at -1.

Validation against the schema (types, enums, CEL) is deliberately not done: see docs/kube-emulator.md.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

Schema = Mapping[str, Any]
_ROOT_KEPT = ("apiVersion", "kind", "metadata")


def _child_schema(schema: Schema, key: str) -> Schema | None:
    properties = schema.get("properties") or {}
    if key in properties:
        child: Schema = properties[key]
        return child
    additional = schema.get("additionalProperties")
    return additional if isinstance(additional, Mapping) else None


def prune(value: Any, schema: Schema | None, *, root: bool = False) -> Any:
    """Drop the fields `schema` does not declare; returns the pruned value (a new object)."""
    if schema is None:
        return value
    if isinstance(value, dict):
        keep_unknown = bool(schema.get("x-kubernetes-preserve-unknown-fields")) or schema.get(
            "additionalProperties"
        ) not in (None, False)
        embedded = root or bool(schema.get("x-kubernetes-embedded-resource"))
        result: dict[str, Any] = {}
        for key, item in value.items():
            child = _child_schema(schema, key)
            if embedded and key in _ROOT_KEPT:
                result[key] = item if key == "metadata" else prune(item, child)
            elif child is not None:
                result[key] = prune(item, child)
            elif keep_unknown:
                result[key] = item
        return result
    if isinstance(value, list):
        items = schema.get("items")
        return [prune(item, items if isinstance(items, Mapping) else None) for item in value]
    return value


def default(value: Any, schema: Schema | None) -> None:
    """Fill in `default:` values, in place, top-down."""
    if schema is None:
        return
    if isinstance(value, dict):
        for key, child in (schema.get("properties") or {}).items():
            if key in value and value[key] is None and not child.get("nullable"):
                del value[key]  # a null in a non-nullable field is pruned before defaulting
            if key not in value and "default" in child:
                value[key] = copy.deepcopy(child["default"])
        for key, item in value.items():
            default(item, _child_schema(schema, key))
    elif isinstance(value, list):
        items = schema.get("items")
        for item in value:
            default(item, items if isinstance(items, Mapping) else None)


def normalise(obj: dict[str, Any], schema: Schema | None) -> dict[str, Any]:
    """Prune, then default: what the server stores (and returns) for a custom resource."""
    if schema is None:
        return obj
    result: dict[str, Any] = prune(obj, schema, root=True)
    default(result, schema)
    return result
