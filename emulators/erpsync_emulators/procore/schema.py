"""Requests checked against Procore's OpenAPI-derived operation schemas (vendored under schemas/).

The real API quietly drops fields it does not know, so a misplaced field (for example `amount` at the
top level of a contract payment) is lost without a word. The emulator is stricter on purpose: an
object whose schema lists its properties accepts no others, at any depth, and the 400 names the
field. Unknown query parameters are refused the same way.

The validator covers the small subset of JSON Schema the operation files use (type, properties,
required, items, enum, pattern, format: date). It is written here rather than taken from jsonschema
because a 1,000-item sync batch must be checked in milliseconds for the benchmarks to measure the
worker, and because its messages name the field path the way a worker's log wants it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

SCHEMA_PACKAGE = "erpsync_emulators.procore"
VENDORED_DIR = "schemas"
# Operations Procore does not publish (partner-only, or missing from the derived set) are described
# by the emulator's own files, kept apart so the vendored copies stay byte-identical to the source.
EMULATOR_ONLY_DIR = "schemas/emulator_only"

_INTEGER = re.compile(r"^-?\d+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

FieldErrors = dict[str, list[str]]


class SchemaViolation(Exception):
    def __init__(self, operation_id: str, errors: FieldErrors) -> None:
        super().__init__(f"request does not match {operation_id}: {errors}")
        self.operation_id = operation_id
        self.errors = errors


@dataclass(frozen=True)
class Parameter:
    name: str  # without a trailing "[]": `filters[id]` and `filters[id][]` are the same parameter
    location: str
    required: bool
    schema: dict[str, Any]


def _canonical_name(name: str) -> str:
    return name[:-2] if name.endswith("[]") else name


# The schema keywords the vendored files use. A schema with any other keyword is refused when loaded,
# so that a refreshed schema cannot silently be checked less than it says.
SUPPORTED_KEYWORDS = frozenset(
    {"type", "description", "format", "enum", "items", "properties", "pattern", "required", "default"}
)


def _check_supported(schema: Any, where: str) -> None:
    if not isinstance(schema, dict):
        raise ValueError(f"{where}: a schema must be an object")
    unsupported = set(schema) - SUPPORTED_KEYWORDS
    if unsupported:
        raise ValueError(f"{where}: unsupported schema keywords {sorted(unsupported)}")
    for name, sub in schema.get("properties", {}).items():
        _check_supported(sub, f"{where}.{name}")
    if "items" in schema:
        _check_supported(schema["items"], f"{where}[]")


def _json_path(parts: list[str | int]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(body)"


def _has_type(value: Any, kind: str) -> bool:
    # bool is an int in Python but not in JSON; numbers with decimals arrive as Decimal, never float.
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | Decimal) and not isinstance(value, bool)
    expected = {"string": str, "boolean": bool, "object": dict, "array": list, "null": type(None)}.get(kind)
    return expected is not None and isinstance(value, expected)


def _is_date(value: str) -> bool:
    if not _DATE.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _validate(schema: dict[str, Any], value: Any, where: list[str | int], errors: FieldErrors) -> None:
    """Check a JSON value against the schema subset above, collecting messages by field path."""

    def problem(message: str, at: list[str | int] = where) -> None:
        errors.setdefault(_json_path(at), []).append(message)

    kind = schema.get("type")
    if kind is not None and not _has_type(value, kind):
        problem(f"must be of type {kind}")
        return
    if "enum" in schema and value not in schema["enum"]:
        problem(f"must be one of {', '.join(str(option) for option in schema['enum'] if option is not None)}")
    if isinstance(value, str):
        if schema.get("format") == "date" and not _is_date(value):
            problem("must be a date (YYYY-MM-DD)")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            problem(f"must match {schema['pattern']}")
    elif isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                problem("is required", [*where, name])
        listed: dict[str, Any] = schema.get("properties", {})
        level = _json_path(where) if where else "the top level of the body"
        for name, item in value.items():
            if name in listed:
                _validate(listed[name], item, [*where, name], errors)
            elif listed:
                # The real API would drop the field without a word; refusing it names the mistake.
                problem(f"is not a field of this operation at {level}", [*where, name])
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            _validate(schema["items"], item, [*where, index], errors)


class OperationSchema:
    """One operation's parameters and request body, as published, with validation."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.operation_id: str = document["operationId"]
        self.method: str = document["method"]
        self.path: str = document["path"]
        self.parameters = {
            _canonical_name(raw["name"]): Parameter(
                name=_canonical_name(raw["name"]),
                location=raw.get("in", "query"),
                required=bool(raw.get("required", False)),
                schema=raw.get("schema", {}),
            )
            for raw in document.get("parameters", [])
        }
        request_body = document.get("requestBody")
        self.body_required = bool(request_body and request_body.get("required"))
        self.body_schema: dict[str, Any] | None = request_body.get("schema") if request_body else None
        if self.body_schema is not None:
            _check_supported(self.body_schema, f"{self.operation_id} body")
        for parameter in self.parameters.values():
            _check_supported(parameter.schema, f"{self.operation_id} parameter {parameter.name}")

    def _violation(self, errors: FieldErrors) -> SchemaViolation:
        return SchemaViolation(self.operation_id, errors)

    def parse_query(self, pairs: list[tuple[str, str]]) -> dict[str, Any]:
        """Check query parameters against the schema and convert them to their declared types."""
        errors: FieldErrors = {}
        raw: dict[str, list[str]] = {}
        for name, value in pairs:
            raw.setdefault(_canonical_name(name), []).append(value)
        parsed: dict[str, Any] = {}
        for name, values in raw.items():
            parameter = self.parameters.get(name)
            if parameter is None or parameter.location != "query":
                errors.setdefault(name, []).append("is not a query parameter of this operation")
                continue
            try:
                parsed[name] = self._convert(parameter, values)
            except ValueError as problem:
                errors.setdefault(name, []).append(str(problem))
        for parameter in self.parameters.values():
            if parameter.location == "query" and parameter.required and parameter.name not in raw:
                errors.setdefault(parameter.name, []).append("is required")
        if errors:
            raise self._violation(errors)
        return parsed

    def parse_path(self, raw: dict[str, str]) -> dict[str, Any]:
        errors: FieldErrors = {}
        parsed: dict[str, Any] = {}
        for name, value in raw.items():
            parameter = self.parameters.get(name) or Parameter(name, "path", True, {"type": "string"})
            try:
                parsed[name] = self._convert(parameter, [value])
            except ValueError as problem:
                errors[name] = [str(problem)]
        if errors:
            raise self._violation(errors)
        return parsed

    def check_body(self, body: Any) -> None:
        if self.body_schema is None:
            return
        errors: FieldErrors = {}
        _validate(self.body_schema, body, [], errors)
        if errors:
            raise self._violation(errors)

    @staticmethod
    def _convert(parameter: Parameter, values: list[str]) -> Any:
        schema = parameter.schema
        kind = schema.get("type", "string")
        if kind == "array":
            item_schema = schema.get("items", {})
            items: list[Any] = []
            for value in values:
                # Both `filters[id][]=1&filters[id][]=2` and `filters[id]=1,2` are seen in the wild.
                items.extend(_convert_scalar(item_schema, part) for part in value.split(","))
            return items
        if len(values) != 1:
            raise ValueError("is given more than once")
        return _convert_scalar(schema, values[0])


def _convert_scalar(schema: dict[str, Any], value: str) -> Any:
    kind = schema.get("type", "string")
    converted: Any
    if kind == "integer":
        if not _INTEGER.match(value):
            raise ValueError(f"must be an integer, got {value!r}")
        converted = int(value)
    elif kind == "boolean":
        if value not in ("true", "false"):
            raise ValueError(f"must be true or false, got {value!r}")
        converted = value == "true"
    else:
        converted = value
        if schema.get("format") == "date" and not _is_date(value):
            raise ValueError(f"must be a date (YYYY-MM-DD), got {value!r}")
    enum = schema.get("enum")
    if enum is not None and converted not in enum:
        raise ValueError(f"must be one of {', '.join(str(option) for option in enum if option is not None)}")
    return converted


@cache
def load_operation(operation_id: str) -> OperationSchema:
    """The vendored schema of an operation, or the emulator's own for unpublished operations."""
    package = resources.files(SCHEMA_PACKAGE)
    for folder in (VENDORED_DIR, EMULATOR_ONLY_DIR):
        candidate = package.joinpath(folder, f"{operation_id}.json")
        if candidate.is_file():
            document = json.loads(candidate.read_text(encoding="utf-8"))
            return OperationSchema(document)
    raise LookupError(f"no schema for operation {operation_id}")
