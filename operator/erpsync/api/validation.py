"""Validation of ErpSyncSchedule objects, with problems a person can act on.

Every problem names the field by its full path (`spec.syncs.vendors.frequency`), the value, and
what is allowed. The rules are the models' (and, the same rules, the CRD's); this module only reads
objects the way the API server does (nulls of non-nullable fields dropped, apiVersion/kind checked)
and words pydantic's errors. No input makes it raise anything but a returned problem.
"""

import json
from dataclasses import dataclass
from types import UnionType
from typing import Annotated, Any, Final, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from erpsync.api.models import (
    DAILY_TIME_PATTERN,
    DNS_LABEL_PATTERN,
    DNS_SUBDOMAIN_PATTERN,
    HTTP_URL_PATTERN,
    IMAGE_PATTERN,
    QUANTITY_PATTERN,
    ErpSyncSchedule,
    ResourceRequirements,
)
from erpsync.api.vocabulary import API_GROUP, API_VERSION, KIND

API_VERSION_STRING: Final = f"{API_GROUP}/{API_VERSION}"
TOP_LEVEL_FIELDS: Final = frozenset({"apiVersion", "kind", "metadata", "spec", "status"})

_PATTERN_MEANING: Final = {
    DNS_SUBDOMAIN_PATTERN: "a DNS subdomain name (lowercase letters, digits, '-' and '.', "
    "starting and ending with a letter or digit)",
    DNS_LABEL_PATTERN: "a DNS label (lowercase letters, digits and '-', starting and ending with a letter or digit)",
    DAILY_TIME_PATTERN: 'a 24-hour local time "HH:MM", such as "04:30"',
    HTTP_URL_PATTERN: "an http:// or https:// URL",
    QUANTITY_PATTERN: 'a Kubernetes quantity, such as 500m, 1, "2Gi"',
    IMAGE_PATTERN: "a container image reference (printable ASCII, no spaces or control characters, "
    "such as registry.example.com/team/worker:1.2)",
}
_TYPE_NAMES: Final = {
    "string_type": "a string",
    "int_type": "an integer",
    "bool_type": "a boolean (true or false)",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "dict_type": "an object",
    "list_type": "a list",
    "literal_error": "one of the allowed values",
    "quantity_type": 'a Kubernetes quantity (an integer or a string such as "500m")',
}


@dataclass(frozen=True, order=True)
class Problem:
    """One reason an object is refused: the field's full path and a message."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass(frozen=True)
class Validated:
    """The result of validating one object: the model when valid, the problems otherwise."""

    namespace: str
    name: str
    schedule: ErpSyncSchedule | None
    problems: tuple[Problem, ...]


def show(value: object) -> str:
    """A value as the user wrote it (JSON-like), cut to a readable length. JSON escapes the ASCII
    control characters; the other characters that do not print (U+2028, which ends a line to many
    readers, U+0085, U+00A0) are escaped the same way, so a problem stays one visible line."""
    try:
        text = json.dumps(value, default=str, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):  # a 5,000-digit integer, a self-nested list
        return f"<{type(value).__name__}>"
    text = "".join(char if char.isprintable() else _escaped(char) for char in text)
    return text if len(text) <= 80 else text[:77] + "..."


def _escaped(char: str) -> str:
    return f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else f"\\U{ord(char):08x}"


def is_schedule(body: object) -> bool:
    """Whether a manifest document is meant for this API: kind ErpSyncSchedule, or any apiVersion of
    the erpsync.io group (so a misspelt kind is refused, not skipped). Other documents are not ours."""
    if not isinstance(body, dict):
        return False
    api_version = body.get("apiVersion")
    return body.get("kind") == KIND or (isinstance(api_version, str) and api_version.split("/")[0] == API_GROUP)


def validate_object(body: object) -> Validated:
    """Validate one ErpSyncSchedule object (a mapping as read from YAML or JSON)."""
    namespace, name = _identity(body)
    if not isinstance(body, dict):
        return Validated(namespace, name, None, (Problem("(document)", f"expected an object, got {show(body)}"),))
    problems: list[Problem] = []
    if body.get("apiVersion") != API_VERSION_STRING:
        problems.append(
            Problem("apiVersion", f"{show(body.get('apiVersion'))} is not served; allowed: {API_VERSION_STRING}")
        )
    if body.get("kind") != KIND:
        problems.append(Problem("kind", f"{show(body.get('kind'))} is not served; allowed: {KIND}"))
    for key in body:
        if key not in TOP_LEVEL_FIELDS:
            allowed = ", ".join(sorted(TOP_LEVEL_FIELDS))
            problems.append(Problem(_path((key,)), f"unknown field {show(key)}; allowed: {allowed}"))
    # Nulls of known fields mean "not set" (the API server prunes them); the models do the same below.
    known = {k: v for k, v in body.items() if k in TOP_LEVEL_FIELDS and k != "status" and v is not None}
    known["apiVersion"], known["kind"] = API_VERSION_STRING, KIND
    try:
        schedule = ErpSyncSchedule.model_validate(known)
    except ValidationError as error:
        problems.extend(_problems_of(error))
        schedule = None
    except (TypeError, ValueError, RecursionError) as error:  # input pydantic cannot even walk
        problems.append(Problem("(document)", f"cannot be read: {type(error).__name__}"))
        schedule = None
    if problems:
        return Validated(namespace, name, None, tuple(sorted(set(problems))))
    return Validated(namespace, name, schedule, ())


_WORKER_RESOURCES: Final = ("spec", "worker", "resources")


def validate_resources(value: object) -> tuple[ResourceRequirements | None, tuple[Problem, ...]]:
    """`value` (as read from JSON) judged as spec.worker.resources is: the model, or the problems,
    each naming its field within `value` (`limits.cpu`; "" for `value` itself)."""
    if not isinstance(value, dict):
        return None, (Problem("", f"expected an object, got {show(value)}"),)
    try:
        return ResourceRequirements.model_validate(value), ()
    except ValidationError as error:
        return None, tuple(sorted(set(_problems_of(error, _WORKER_RESOURCES))))


def _identity(body: object) -> tuple[str, str]:
    metadata = body.get("metadata") if isinstance(body, dict) else None
    if not isinstance(metadata, dict):
        return "default", "(unnamed)"
    namespace = metadata.get("namespace")
    name = metadata.get("name")
    return (
        namespace if isinstance(namespace, str) and namespace else "default",
        name if isinstance(name, str) and name else "(unnamed)",
    )


def _path(loc: tuple[int | str, ...]) -> str:
    """`spec.syncs.vendors.frequency`, `spec.worker.tolerations[0].key`: the API server's form."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or '""'  # an empty top-level key still needs a visible name


def _problems_of(error: ValidationError, root: tuple[str, ...] = ()) -> list[Problem]:
    """The problems of a validation of ErpSyncSchedule, or of a model of its part at `root` such as
    spec.worker.resources (then each field is named within that part)."""
    problems: list[Problem] = []
    for detail in error.errors(include_url=False):
        loc, in_union = _without_union_tags(root + tuple(detail["loc"]))
        kind = detail["type"]
        ctx: dict[str, Any] = detail.get("ctx") or {}
        if kind == "erp_profile":
            problems.extend(Problem(_path(loc + sub_loc), message) for sub_loc, message in ctx["problems"])
            continue
        if in_union:
            # An int-or-string quantity reports one error per branch; say it once. A string is refused by
            # the integer branch for its type only, anything else by the string branch for its type only:
            # the other branch's error says what is wrong.
            if kind == ("int_type" if isinstance(detail["input"], str) else "string_type"):
                continue
            if kind == "int_type":
                kind = "quantity_type"
        problems.append(Problem(_path(loc[len(root) :]), _message(kind, detail["input"], ctx, detail["msg"], loc)))
    return problems


def _without_union_tags(loc: tuple[int | str, ...]) -> tuple[tuple[int | str, ...], bool]:
    """`loc` without the segments pydantic inserts to name the branch of a union (`int`,
    `constrained-str`, `function-before[...]`), and whether it had one.

    A tag is told from a field or map key of the same name by where it is: it is the segment right
    after a location whose declared type is a union, found by walking the models along `loc`. The
    unions of the models (an int-or-string quantity) have scalar branches, so nothing is walked beyond.
    """
    kept: list[int | str] = []
    annotation: Any = ErpSyncSchedule
    tagged = False
    parts = iter(loc)
    for part in parts:
        kept.append(part)
        annotation = _child_annotation(annotation, part)
        if _is_union(annotation) and next(parts, None) is not None:
            tagged = True
            annotation = None
    return tuple(kept), tagged


def _message(kind: str, value: Any, ctx: dict[str, Any], fallback: str, loc: tuple[int | str, ...]) -> str:
    shown = show(value)
    if kind == "missing":
        allowed = _allowed_values(_annotation_at(loc))
        return "required field is missing" + (f"; allowed: {allowed}" if allowed else "")
    if kind == "extra_forbidden":
        known = _field_names_at(loc[:-1])
        return f"unknown field {show(loc[-1])}" + (f"; allowed: {', '.join(known)}" if known else "")
    if kind == "literal_error":
        return f"{shown} is not allowed; allowed: {ctx['expected'].replace(chr(39), '')}"
    if kind == "string_pattern_mismatch":
        meaning = _PATTERN_MEANING.get(ctx["pattern"], f"valid: must match {ctx['pattern']}")
        return f"{shown} is not {meaning}"
    if kind == "string_type" and loc and loc[-1] == "at" and type(value) is int:
        return _sexagesimal_message(value)
    if kind == "int_type" and type(value) is float and value.is_integer():
        # Whole, but beyond what the API server reads as an integer when written as a float.
        return (
            f"expected an integer, got the number {shown}, too large to be read as an integer when written "
            "with a fraction or an exponent; allowed: the integer written in digits"
        )
    if kind in _TYPE_NAMES:
        return f"expected {_TYPE_NAMES[kind]}, got {_kind_of(value)} {shown}"
    if kind in _BOUNDS:
        comparison, key = _BOUNDS[kind]
        size = "small" if comparison.startswith(">") else "large"
        return f"{shown} is too {size}; allowed: {comparison} {ctx.get(key)}"
    if kind in _LENGTHS:
        limit, key, unit = _LENGTHS[kind]
        return f"{shown} is too {'long' if limit == 'most' else 'short'}; allowed: at {limit} {ctx.get(key)} {unit}"
    if kind == "time_zone":
        return fallback
    return f"{shown}: {fallback}"


_BOUNDS: Final = {
    "greater_than_equal": (">=", "ge"),
    "greater_than": (">", "gt"),
    "less_than_equal": ("<=", "le"),
    "less_than": ("<", "lt"),
}
_LENGTHS: Final = {
    "string_too_long": ("most", "max_length", "characters"),
    "too_long": ("most", "max_length", "items"),
    "string_too_short": ("least", "min_length", "characters"),
    "too_short": ("least", "min_length", "items"),
}


def _sexagesimal_message(value: int) -> str:
    # YAML 1.1 (PyYAML, and so many tools) reads an unquoted 12:30 as the base-60 number 750.
    if 0 <= value < 24 * 60:
        hours, minutes = divmod(value, 60)
        return (
            f"got the number {value} (YAML 1.1 reads an unquoted {hours}:{minutes:02d} as {value}); "
            f'allowed: a quoted "HH:MM" string, such as at: "{hours:02d}:{minutes:02d}"'
        )
    return f'got the number {show(value)}; allowed: a quoted "HH:MM" string, such as at: "04:30"'


def _unwrap(annotation: Any) -> Any:
    """The type behind `Annotated[...]` and `X | None`."""
    while True:
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
        elif get_origin(annotation) in (Union, UnionType) and type(None) in get_args(annotation):
            members = [member for member in get_args(annotation) if member is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _annotation_at(loc: tuple[int | str, ...]) -> Any:
    """The declared type of the field at `loc` (aliases, as in error locations), or None."""
    annotation: Any = ErpSyncSchedule
    for part in loc:
        annotation = _child_annotation(annotation, part)
    return _unwrap(annotation)


def _child_annotation(annotation: Any, part: int | str) -> Any:
    """The declared type of field, map key or list index `part` of a value of type `annotation`, or None."""
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        fields = {info.alias or name: info for name, info in annotation.model_fields.items()}
        return fields[part].annotation if isinstance(part, str) and part in fields else None
    if get_origin(annotation) in (list, dict):
        return get_args(annotation)[-1]
    return None


def _is_union(annotation: Any) -> bool:
    """Whether `annotation` is a union of several types (beside None), whose errors pydantic tags by branch."""
    annotation = _unwrap(annotation)
    return get_origin(annotation) in (Union, UnionType) and len(get_args(annotation)) > 1


def _field_names_at(loc: tuple[int | str, ...]) -> list[str]:
    model = _annotation_at(loc)
    return _field_names_of(model) if isinstance(model, type) and issubclass(model, BaseModel) else []


def _allowed_values(annotation: Any) -> str:
    if get_origin(annotation) is Literal:
        return ", ".join(str(value) for value in get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"an object with fields {', '.join(_field_names_of(annotation))}"
    return _SCALAR_NAMES.get(annotation, "")


_SCALAR_NAMES: Final[dict[object, str]] = {int: "an integer", str: "a string", bool: "true or false"}


def _field_names_of(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def _kind_of(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "the boolean"
    if isinstance(value, int | float):
        return "the number"
    if isinstance(value, str):
        return "the string"
    if isinstance(value, list):
        return "the list"
    if isinstance(value, dict):
        return "the object"
    return f"a {type(value).__name__}"
