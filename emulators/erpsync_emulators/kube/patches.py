"""Patch formats, chosen by Content-Type as the API server chooses them (KMock ignores Content-Type).

* `application/merge-patch+json`: RFC 7386 (null deletes a key; lists are replaced).
* `application/json-patch+json`: RFC 6902 operations, `test` included.
* `application/strategic-merge-patch+json`: treated as a merge patch, with the strategic directives
  (`$patch`, `$retainKeys`, `$setElementOrder/...`, `$deleteFromPrimitiveList/...`) interpreted or
  dropped. Lists are *replaced*, not merged by their merge keys (a real server merges `containers` or
  `env` by name). The operator uses merge and JSON patches, which are exact here; see the docs.
* `application/apply-patch+yaml` (server-side apply): a merge patch that creates a missing object, without
  field ownership, so a field a manager stops sending is *not* removed as it would be on a real server.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import jsonpointer

MERGE = "application/merge-patch+json"
JSON = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"
SUPPORTED = (JSON, MERGE, STRATEGIC, APPLY)


class PatchError(ValueError):
    """The patch cannot be applied (a failed `test`, a missing path): 422 on a real server."""


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: returns a new document; neither argument is modified."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result: dict[str, Any] = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """A merge patch that understands the strategic directives but replaces lists (see module doc)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "delete":
        return None
    base: dict[str, Any] = copy.deepcopy(target) if isinstance(target, dict) and directive != "replace" else {}
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        base = {key: value for key, value in base.items() if key in retain}
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            if isinstance(base.get(field), list) and isinstance(value, list):
                base[field] = [item for item in base[field] if item not in value]
            continue
        if key.startswith("$"):
            continue  # $setElementOrder/..., $retainKeys, $patch: ordering and bookkeeping only
        if value is None:
            base.pop(key, None)
            continue
        merged = strategic_merge_patch(base.get(key), value)
        if merged is None:
            base.pop(key, None)
        else:
            base[key] = merged
    return base


def json_patch(target: Any, operations: Any) -> Any:
    if not isinstance(operations, list):
        raise PatchError("a JSON patch must be a list of operations")
    try:
        return jsonpatch.JsonPatch(operations).apply(target, in_place=False)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, KeyError, TypeError) as exc:
        raise PatchError(f"the patch cannot be applied: {exc}") from exc


def apply_patch(content_type: str, target: Any, patch: Any) -> Any:
    if content_type == JSON:
        return json_patch(target, patch)
    if not isinstance(patch, dict):
        raise PatchError(f"a {content_type} patch must be a JSON object")
    if content_type == STRATEGIC:
        return strategic_merge_patch(target, patch)
    return merge_patch(target, patch)
