"""RFC 7386 JSON merge patch, applied as the API server applies it: for the tests' in-memory API servers."""

import copy
from typing import Any


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """`target` with `patch` merged in: objects merge key by key, null removes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result
