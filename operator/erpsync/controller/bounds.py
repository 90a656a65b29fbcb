"""Status values bounded by the CRD's own schema of status.

The API server refuses a whole status patch when one value breaks the schema, so a single value
copied from the world (a Job's label, a termination message, an annotation) that is too long or not
a time would make every pass fail. Every limit here is read from the status models, through the
same generated schema the CRD carries; none is repeated as a number.
"""

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any, Final

from pydantic import BaseModel

from erpsync.api.crd import status_schema
from erpsync.api.models import INT64_MAX, INT64_MIN

TRUNCATED: Final = "… [truncated]"
# A field too short to show TRUNCATED and some of the value keeps most of its room for the value.
_SHORT_TRUNCATED: Final = "…"
_DROPPED: Final = object()


def max_length(model: type[BaseModel], field: str) -> int:
    """The maxLength a status model declares for `field` (its Python name)."""
    for constraint in model.model_fields[field].metadata:
        limit = getattr(constraint, "max_length", None)
        if isinstance(limit, int):
            return limit
    raise LookupError(f"{model.__name__}.{field} declares no max_length")


def fit_text(text: str, limit: int) -> str:
    """`text` when it fits `limit` characters (as the API server counts them: code points); otherwise
    cut, ending in a visible marker, to exactly `limit`."""
    if len(text) <= limit:
        return text
    marker = TRUNCATED if limit >= 4 * len(TRUNCATED) else _SHORT_TRUNCATED
    if limit <= len(marker):
        return text[:limit]
    return text[: limit - len(marker)] + marker


def parse_time(text: object) -> datetime | None:
    """A time with a UTC offset, as Kubernetes writes them (text, or a datetime read by the models); None
    for anything else.

    A time without an offset is refused rather than guessed: it would be read as the operator's
    local time, and compared with an aware time it raises.
    """
    if isinstance(text, datetime):
        return text if text.utcoffset() is not None else None
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None else None


def timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with a Z, as Kubernetes writes times (printer columns render it as an age).

    `isoformat` pads the year to four digits where `strftime("%Y")` does not (year 5 is "5").
    Raises OverflowError for an aware time whose UTC form is outside years 1-9999.
    """
    return moment.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def rfc3339(value: object) -> str | None:
    """`value` (text or datetime) as an RFC 3339 UTC time; None when it is not a time with an offset."""
    moment = parse_time(value)
    if moment is None:
        return None
    try:
        return timestamp(moment)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        return None


@cache
def _status_schema() -> Mapping[str, Any]:
    return status_schema()


def bounded_status(status: dict[str, Any]) -> dict[str, Any]:
    """`status` made valid against the CRD's schema of status, value by value.

    Strings too long are cut with a marker; times are re-written as RFC 3339 or dropped; integers
    are clamped into their range (at most int64's); a value of the wrong type, outside its enum or
    not matching its pattern is dropped, and so is an object that loses a required field by that;
    lists and maps keep their first maxItems/maxProperties entries.
    """
    bounded = _fit(status, _status_schema())
    return bounded if isinstance(bounded, dict) else {}


def _fit(value: Any, schema: Mapping[str, Any]) -> Any:
    kind = schema.get("type")
    if kind == "string":
        return _fit_string(value, schema)
    if kind == "integer":
        return _fit_integer(value, schema)
    if kind == "boolean":
        return value if isinstance(value, bool) else _DROPPED
    if kind == "array":
        return _fit_array(value, schema)
    if kind == "object":
        return _fit_object(value, schema)
    return value  # no type (int-or-string, preserved unknown fields): nothing the status writes


def _fit_string(value: Any, schema: Mapping[str, Any]) -> Any:
    if not isinstance(value, str):
        return _DROPPED
    if schema.get("format") == "date-time":
        time = rfc3339(value)
        return _DROPPED if time is None else time
    if "maxLength" in schema:
        value = fit_text(value, schema["maxLength"])
    if "enum" in schema and value not in schema["enum"]:
        return _DROPPED
    if "pattern" in schema and not re.search(schema["pattern"], value):
        return _DROPPED  # a cut value may no longer match; no other value is known to
    if len(value) < schema.get("minLength", 0):
        return _DROPPED
    return value


def _fit_integer(value: Any, schema: Mapping[str, Any]) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        return _DROPPED
    low = max(schema.get("minimum", INT64_MIN), INT64_MIN)
    high = min(schema.get("maximum", INT64_MAX), INT64_MAX)
    return min(max(value, low), high)


def _fit_array(value: Any, schema: Mapping[str, Any]) -> Any:
    if not isinstance(value, list):
        return _DROPPED
    items = schema.get("items") or {}
    fitted = [item for item in (_fit(item, items) for item in value) if item is not _DROPPED]
    return fitted[: schema.get("maxItems", len(fitted))]


def _fit_object(value: Any, schema: Mapping[str, Any]) -> Any:
    if not isinstance(value, dict):
        return _DROPPED
    properties: Mapping[str, Any] = schema.get("properties") or {}
    additional = schema.get("additionalProperties")
    fitted: dict[str, Any] = {}
    for key, item in value.items():
        if key in properties:
            item = _fit(item, properties[key])
        elif isinstance(additional, Mapping):
            item = _fit(item, additional)
        # other keys: kopf's records where unknown fields are preserved, pruned by the server elsewhere
        if item is not _DROPPED:
            fitted[key] = item
    if any(key not in fitted for key in schema.get("required", ())):
        return _DROPPED
    if "maxProperties" in schema:
        fitted = dict(list(fitted.items())[: schema["maxProperties"]])
    return fitted
