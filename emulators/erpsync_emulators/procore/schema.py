"""Requests checked against Procore's OpenAPI-derived operation schemas (vendored under schemas/).

The real API quietly drops fields it does not know, so a misplaced field (for example `amount` at the
top level of a contract payment) is lost without a word. The emulator is stricter on purpose: an
object whose schema lists its properties accepts no others, at any depth, and the 400 names the
field. Unknown query parameters are refused the same way.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft7Validator, FormatChecker
from jsonschema.exceptions import ValidationError

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


def _forbid_unlisted_properties(schema: Any) -> Any:
    """Make every object schema that lists properties refuse others (OpenAPI leaves them open)."""
    if isinstance(schema, dict):
        strict = {key: _forbid_unlisted_properties(value) for key, value in schema.items() if key != "properties"}
        if "properties" in schema:
            strict["properties"] = {
                name: _forbid_unlisted_properties(sub) for name, sub in schema["properties"].items()
            }
            strict.setdefault("additionalProperties", False)
        return strict
    if isinstance(schema, list):
        return [_forbid_unlisted_properties(item) for item in schema]
    return schema


def _json_path(parts: list[str | int]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(body)"


def _describe(error: ValidationError) -> list[tuple[str, str]]:
    """Turn one jsonschema error into (field path, message) pairs that name the offending field."""
    where: list[str | int] = list(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        listed = set(error.schema.get("properties", {}))
        level = _json_path(where) if where else "the top level of the body"
        return [
            (_json_path([*where, key]), f"is not a field of this operation at {level}")
            for key in error.instance
            if key not in listed
        ]
    if error.validator == "required" and isinstance(error.instance, dict):
        return [
            (_json_path([*where, key]), "is required") for key in error.validator_value if key not in error.instance
        ]
    if error.validator == "type":
        return [(_json_path(where), f"must be of type {error.validator_value}")]
    return [(_json_path(where), error.message)]


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
        self.body_content_type: str | None = request_body.get("contentType") if request_body else None
        self.body_schema: dict[str, Any] | None = request_body.get("schema") if request_body else None
        self._body_validator = (
            Draft7Validator(_forbid_unlisted_properties(self.body_schema), format_checker=FormatChecker(["date"]))
            if self.body_schema is not None
            else None
        )

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
        if self._body_validator is None:
            return
        errors: FieldErrors = {}
        for error in sorted(self._body_validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path))):
            for path, message in _describe(error):
                errors.setdefault(path, []).append(message)
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
        if schema.get("format") == "date" and not _DATE.match(value):
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
            return OperationSchema(copy.deepcopy(document))
    raise LookupError(f"no schema for operation {operation_id}")
