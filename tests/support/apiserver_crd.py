"""Judge a custom resource against a CRD the way kube-apiserver does on create.

The steps and their order are those of apiextensions-apiserver (k8s.io/apiextensions-apiserver,
`pkg/apiserver/customresource_handler.go` `unstructuredSchemaCoercer.apply`, then the defaulter and
`pkg/registry/customresource/strategy.go`):

1. apiVersion and kind must name the CRD's kind and one of its served versions.
2. Unknown fields are pruned and, as under kubectl's default strict field validation
   (`fieldValidation=Strict`), each one refuses the request: any key that is not in `properties`,
   unless the node has an `additionalProperties` schema or `x-kubernetes-preserve-unknown-fields`.
   `metadata` is checked against the fields of ObjectMeta, as the server's ObjectMeta decoding does.
3. Nulls of non-nullable fields without a default are pruned (`PruneNonNullableNullsWithoutDefaults`).
4. Defaults are applied exactly like `structuraldefaulting.Default`: at each object node the defaults
   of absent (or non-nullable null) properties are set first, then every child is defaulted, the
   just-set ones included (so a default `{}` gets its own children's defaults).
5. On create with the status subresource enabled, `status` is dropped (`PrepareForCreate`).
6. ObjectMeta is validated (name, namespace, labels, annotations), then the object against the
   openAPIV3Schema (with `jsonschema`, Draft 4 semantics, `x-kubernetes-*` keys removed,
   `x-kubernetes-int-or-string` as integer-or-string, patterns with RE2 semantics). Numbers are read
   as the server reads them: a number written with a fraction or an exponent is a float64, and a
   float64 with no fractional part and a magnitude below 2**53 is an integer to `type: integer`
   (kube-openapi's IsFloat64AJSONInteger), so `42.0` and `1e2` are integers and `1.5` and `1e19` are
   not; ObjectMeta's integers are Go int64 fields, which take such a float below 2**63.
7. Unless a schema error is "blocking" (`hasBlockingErr`: a type, required, enum, maxLength or
   maxItems/maxProperties violation), every `x-kubernetes-validations` rule is evaluated with celpy
   at every node that carries rules and is present, `self` bound to that node's value. A rule that is
   false fails at the node's path plus its `fieldPath`, with its evaluated `messageExpression`
   (falling back to `message`); a rule whose evaluation errors fails at the node's path, as the API
   server refuses such objects too. Transition rules (`oldSelf`) are skipped, as on create.

Known differences from the real server, none of which matter for the schemas tested here:
`format` is not checked (only status uses it, and status is dropped on create; a float within a
relative 1e-15 of an integer, such as 1e15 + 0.5, passes the server's `type: integer` and is refused by
its integer format check with no field: here the type refuses it); CEL is cel-python's,
where `has(self.a.b)` with `a` absent is false rather than an error (tests check statically that rules
guard `has()` one level at a time), and Kubernetes-only CEL functions are missing; paths name map keys
with a dot (`spec.worker.nodeSelector.disk`) as the models do, where the server writes `[disk]`; and
the server stops at the first stage that fails (an unknown field refuses the request before
validation runs), while this evaluator reports every stage, so a caller sees every problem.
"""

import copy
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Final, NamedTuple

import celpy
import jsonschema
import yaml
from celpy.adapter import json_to_cel

JSON = Any  # a JSON-like value: None, bool, int, float, str, list of JSON, dict of str to JSON

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
# A float64 with no fractional part is an integer to `type: integer` below this magnitude (kube-openapi's
# IsFloat64AJSONInteger: float64 is exact up to 2**53 - 1), and to an int64 field of ObjectMeta below 2**63.
SCHEMA_INTEGRAL_FLOAT_BOUND: Final = 2**53
GO_INT64_INTEGRAL_FLOAT_BOUND: Final = 2**63

# Field paths of the error types that make the server skip the CEL rules (strategy.go hasBlockingErr).
TYPE_INVALID: Final = "FieldValueTypeInvalid"
REQUIRED: Final = "FieldValueRequired"
NOT_SUPPORTED: Final = "FieldValueNotSupported"
TOO_LONG: Final = "FieldValueTooLong"
TOO_MANY: Final = "FieldValueTooMany"
INVALID: Final = "FieldValueInvalid"
BLOCKING: Final = frozenset({TYPE_INVALID, REQUIRED, NOT_SUPPORTED, TOO_LONG, TOO_MANY})
NOT_CHECKED: Final = (
    "some validation rules were not checked because the object was invalid; "
    "correct the existing errors to complete validation"
)

# The JSON names of metav1.ObjectMeta: anything else in metadata is an unknown field.
OBJECT_META_FIELDS: Final = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    }
)
_META_STRINGS: Final = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "creationTimestamp",
        "deletionTimestamp",
    }
)
_META_INTEGERS: Final = frozenset({"generation", "deletionGracePeriodSeconds"})
_META_LISTS: Final = frozenset({"ownerReferences", "finalizers", "managedFields"})
_DNS1123_SUBDOMAIN: Final = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DNS1123_LABEL: Final = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_QUALIFIED_NAME_PART: Final = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_ANNOTATIONS_MAX_BYTES: Final = 256 * 1024


class Failure(NamedTuple):
    """One reason the API server refuses the object: a field path and a message."""

    path: str
    message: str


@dataclass(frozen=True)
class _Found:
    path: str
    message: str
    type: str

    def failure(self) -> Failure:
        return Failure(self.path, self.message)


@dataclass(frozen=True)
class Evaluation:
    """Everything the evaluator found, by stage, and the object as it was validated."""

    type_meta: tuple[Failure, ...]
    unknown_fields: tuple[Failure, ...]
    metadata: tuple[Failure, ...]
    schema: tuple[Failure, ...]
    rules: tuple[Failure, ...]
    rules_checked: bool
    defaulted: JSON = field(repr=False)

    @property
    def failures(self) -> list[Failure]:
        return [*self.type_meta, *self.unknown_fields, *self.metadata, *self.schema, *self.rules]

    @property
    def allowed(self) -> bool:
        return not self.failures

    @property
    def paths(self) -> set[str]:
        return {failure.path for failure in self.failures}


def child_path(path: str, key: str | int) -> str:
    """`spec` + `syncs` -> `spec.syncs`; `spec.worker.tolerations` + 0 -> `spec.worker.tolerations[0]`."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _shown(value: JSON) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _go_type(value: JSON) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


# --- RE2 patterns --------------------------------------------------------------------------------

_RE2_CLASS_ESCAPES: Final = {"s": "\\t\\n\\f\\r ", "d": "0-9", "w": "0-9A-Za-z_"}


@cache
def re2_pattern(pattern: str) -> re.Pattern[str]:
    """A Python regex that matches what Go's RE2 matches for `pattern` (as the API server reads it).

    RE2's `$` (without the m flag) matches only at the very end of the text, where Python's also
    matches before a final newline; RE2's `\\s`, `\\d` and `\\w` are ASCII only.
    """
    out: list[str] = []
    in_class = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            escaped = pattern[index + 1]
            index += 2
            if escaped in _RE2_CLASS_ESCAPES:
                chars = _RE2_CLASS_ESCAPES[escaped]
                out.append(chars if in_class else f"[{chars}]")
            elif escaped.upper() in _RE2_CLASS_ESCAPES and escaped.isupper():
                if in_class:
                    raise ValueError(f"negated class escape \\{escaped} inside a class is not supported: {pattern}")
                out.append(f"[^{_RE2_CLASS_ESCAPES[escaped.lower()]}]")
            else:
                out.append("\\" + escaped)
            continue
        if in_class:
            if char == "]":
                in_class = False
        elif char == "[":
            in_class = True
            out.append(char)
            index += 1
            # A `]` or `^]` right after the opening bracket is a literal.
            if pattern.startswith("^", index):
                out.append("^")
                index += 1
            if pattern.startswith("]", index):
                out.append("\\]")
                index += 1
            continue
        elif char == "$":
            out.append(r"\Z")
            index += 1
            continue
        out.append(char)
        index += 1
    return re.compile("".join(out))


def _re2_pattern_keyword(
    validator: Any, pattern: str, instance: JSON, schema: Mapping[str, Any]
) -> Iterator[jsonschema.ValidationError]:
    if isinstance(instance, str) and not re2_pattern(pattern).search(instance):
        yield jsonschema.ValidationError(f"{_shown(instance)} does not match {pattern!r}")


def is_integer(value: JSON, integral_float_bound: int = SCHEMA_INTEGRAL_FLOAT_BOUND) -> bool:
    """Whether the server reads `value` as an integer: an int, or a float with no fractional part and a
    magnitude below `integral_float_bound` (the JSON number 42.0 is a float64 with an integral value)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and value.is_integer() and -integral_float_bound < value < integral_float_bound


def _is_schema_integer(_checker: Any, instance: JSON) -> bool:
    return is_integer(instance)


# Draft 4's `integer` takes no float; the server's takes integral ones (step 6).
_TYPE_CHECKER: Final[Any] = jsonschema.Draft4Validator.TYPE_CHECKER.redefine("integer", _is_schema_integer)
_Validator: Final[Any] = jsonschema.validators.extend(
    jsonschema.Draft4Validator, {"pattern": _re2_pattern_keyword}, type_checker=_TYPE_CHECKER
)


# --- Schema helpers ------------------------------------------------------------------------------


def _is_int_or_string(schema: Mapping[str, Any]) -> bool:
    return bool(schema.get("x-kubernetes-int-or-string"))


def _preserves_unknown(schema: Mapping[str, Any]) -> bool:
    return bool(schema.get("x-kubernetes-preserve-unknown-fields"))


def _properties(schema: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if schema is None:
        return {}
    properties: Mapping[str, Any] = schema.get("properties") or {}
    return properties


def _additional(schema: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if schema is None:
        return None
    additional = schema.get("additionalProperties")
    return additional if isinstance(additional, Mapping) else None


def _items(schema: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if schema is None:
        return None
    items = schema.get("items")
    return items if isinstance(items, Mapping) else None


def _field_schema(key: str, schema: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """getSchemaForField: the property's schema, else the additionalProperties schema."""
    properties = _properties(schema)
    if key in properties:
        sub: Mapping[str, Any] = properties[key]
        return sub
    return _additional(schema)


def to_json_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The openAPIV3Schema as a Draft 4 JSON schema: x-kubernetes-* dropped, int-or-string as anyOf."""
    result: dict[str, Any] = {}
    for key, value in schema.items():
        if key.startswith("x-kubernetes-") or key == "nullable":
            continue
        if key in ("properties", "patternProperties", "definitions"):
            result[key] = {name: to_json_schema(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(value, Mapping):
            result[key] = to_json_schema(value)
        elif key in ("anyOf", "allOf", "oneOf"):
            result[key] = [to_json_schema(sub) for sub in value]
        else:
            result[key] = copy.deepcopy(value)
    if _is_int_or_string(schema):
        result.pop("type", None)
        if "anyOf" not in result:
            result["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if schema.get("nullable") and "type" in result:
        result["type"] = [result["type"], "null"]
        if "enum" in result:
            result["enum"] = [*result["enum"], None]
    return result


# --- The steps -----------------------------------------------------------------------------------


def prune_unknown_fields(value: JSON, schema: Mapping[str, Any] | None, path: str) -> list[Failure]:
    """Remove the fields the schema does not know, returning one failure per removed field."""
    found: list[Failure] = []
    if schema is None:
        return found
    if isinstance(value, dict):
        properties = _properties(schema)
        additional = _additional(schema)
        for key in list(value):
            sub_path = child_path(path, str(key))
            if key in properties:
                found += prune_unknown_fields(value[key], properties[key], sub_path)
            elif additional is not None:
                found += prune_unknown_fields(value[key], additional, sub_path)
            elif not _preserves_unknown(schema):
                found.append(Failure(sub_path, f'unknown field "{sub_path}"'))
                del value[key]
    elif isinstance(value, list):
        items = _items(schema)
        for index, item in enumerate(value):
            found += prune_unknown_fields(item, items, child_path(path, index))
    return found


def prune_non_nullable_nulls(value: JSON, schema: Mapping[str, Any] | None) -> None:
    """PruneNonNullableNullsWithoutDefaults: drop nulls of fields that are not nullable and have no default."""
    if isinstance(value, dict):
        for key in list(value):
            sub = _field_schema(key, schema)
            if value[key] is None and sub is not None and not sub.get("nullable") and "default" not in sub:
                del value[key]
            else:
                prune_non_nullable_nulls(value[key], sub)
    elif isinstance(value, list):
        items = _items(schema)
        for item in value:
            prune_non_nullable_nulls(item, items)


def apply_defaults(value: JSON, schema: Mapping[str, Any] | None) -> None:
    """structuraldefaulting.Default: set the defaults of absent properties, then default every child."""
    if schema is None:
        return
    if isinstance(value, dict):
        for key, sub in _properties(schema).items():
            if "default" not in sub:
                continue
            if key not in value or (value[key] is None and not sub.get("nullable")):
                value[key] = copy.deepcopy(sub["default"])
        for key, item in value.items():
            properties = _properties(schema)
            if key in properties:
                apply_defaults(item, properties[key])
            else:
                apply_defaults(item, _additional(schema))
    elif isinstance(value, list):
        items = _items(schema)
        for item in value:
            apply_defaults(item, items)


def _out_of_int64(value: JSON, path: str) -> Iterator[_Found]:
    # The server decodes an integer beyond int64 as a float, which `type: integer` refuses.
    if isinstance(value, bool):
        return
    if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        yield _Found(path, f"Invalid value: {value}: must be of type integer (out of the int64 range)", TYPE_INVALID)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _out_of_int64(item, child_path(path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _out_of_int64(item, child_path(path, index))


def _qualified_name_problem(key: str) -> str | None:
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _DNS1123_SUBDOMAIN.fullmatch(prefix)):
        return "prefix part must be a DNS-1123 subdomain"
    if not name or len(name) > 63 or not _QUALIFIED_NAME_PART.fullmatch(name):
        return "name part must consist of alphanumeric characters, '-', '_' or '.', at most 63 characters"
    return None


def _string_map(value: JSON, path: str) -> Iterator[_Found]:
    if not isinstance(value, dict):
        yield _Found(path, f"Invalid value: {_shown(value)}: must be of type object", TYPE_INVALID)
        return
    for key, item in value.items():
        if not isinstance(item, str):
            yield _Found(child_path(path, key), f"Invalid value: {_shown(item)}: must be of type string", TYPE_INVALID)


def validate_object_meta(metadata: JSON, namespaced: bool) -> list[_Found]:
    """What the server's ObjectMeta decoding and ValidateObjectMetaAccessor refuse on create."""
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        return [_Found("metadata", f"Invalid value: {_shown(metadata)}: must be of type object", TYPE_INVALID)]
    found: list[_Found] = []
    for key, value in metadata.items():
        path = child_path("metadata", key)
        if value is None:
            continue
        if key in _META_STRINGS and not isinstance(value, str):
            found.append(_Found(path, f"Invalid value: {_shown(value)}: must be of type string", TYPE_INVALID))
        elif key in _META_INTEGERS and not is_integer(value, GO_INT64_INTEGRAL_FLOAT_BOUND):
            found.append(_Found(path, f"Invalid value: {_shown(value)}: must be of type integer", TYPE_INVALID))
        elif key in _META_LISTS and not isinstance(value, list):
            found.append(_Found(path, f"Invalid value: {_shown(value)}: must be of type array", TYPE_INVALID))
        elif key in ("labels", "annotations"):
            found += _string_map(value, path)
    if found:
        return found
    name = metadata.get("name") or ""
    if not name and not metadata.get("generateName"):
        found.append(_Found("metadata.name", "Required value: name or generateName is required", REQUIRED))
    elif name and (len(name) > 253 or not _DNS1123_SUBDOMAIN.fullmatch(name)):
        found.append(_Found("metadata.name", f"Invalid value: {_shown(name)}: must be a DNS-1123 subdomain", INVALID))
    namespace = metadata.get("namespace") or ""
    if namespace and not namespaced:
        found.append(_Found("metadata.namespace", "Forbidden: not allowed on this type", INVALID))
    elif namespace and (len(namespace) > 63 or not _DNS1123_LABEL.fullmatch(namespace)):
        found.append(
            _Found("metadata.namespace", f"Invalid value: {_shown(namespace)}: must be a DNS-1123 label", INVALID)
        )
    for key, value in (metadata.get("labels") or {}).items():
        path = child_path("metadata.labels", key)
        problem = _qualified_name_problem(key)
        if problem:
            found.append(_Found(path, f"Invalid value: {_shown(key)}: {problem}", INVALID))
        if value and (len(value) > 63 or not _QUALIFIED_NAME_PART.fullmatch(value)):
            found.append(_Found(path, f"Invalid value: {_shown(value)}: must be a valid label value", INVALID))
    annotations = metadata.get("annotations") or {}
    for key in annotations:
        problem = _qualified_name_problem(key)
        if problem:
            found.append(
                _Found(child_path("metadata.annotations", key), f"Invalid value: {_shown(key)}: {problem}", INVALID)
            )
    if sum(len(k.encode()) + len(v.encode()) for k, v in annotations.items()) > _ANNOTATIONS_MAX_BYTES:
        found.append(_Found("metadata.annotations", "Too long: must have at most 262144 bytes", TOO_LONG))
    return found


def _schema_failures(error: Any) -> Iterator[_Found]:
    path = ""
    for part in error.absolute_path:
        path = child_path(path, part)
    keyword = error.validator
    instance = error.instance
    if keyword == "required":
        for name in error.validator_value:
            if isinstance(instance, dict) and name not in instance:
                yield _Found(child_path(path, name), "Required value", REQUIRED)
        return
    if keyword == "type" or (keyword == "anyOf" and _is_type_union(error.validator_value)):
        expected = error.validator_value
        if keyword == "anyOf":
            expected = ",".join(branch["type"] for branch in error.validator_value)
        yield _Found(
            path,
            f'Invalid value: "{_go_type(instance)}": {path} in body must be of type {expected}: "{_go_type(instance)}"',
            TYPE_INVALID,
        )
        return
    if keyword == "enum":
        supported = ", ".join(_shown(value) for value in error.validator_value)
        if len(error.validator_value) > 12:
            supported = ", ".join(_shown(value) for value in error.validator_value[:12]) + ", ..."
        yield _Found(path, f"Unsupported value: {_shown(instance)}: supported values: {supported}", NOT_SUPPORTED)
        return
    if keyword == "maxLength":
        yield _Found(path, f"Too long: may not be more than {error.validator_value} bytes", TOO_LONG)
        return
    if keyword in ("maxItems", "maxProperties"):
        yield _Found(path, f"Too many: {len(instance)}: must have at most {error.validator_value} items", TOO_MANY)
        return
    yield _Found(path, f"Invalid value: {_shown(instance)}: {error.message}", INVALID)


def _is_type_union(branches: Any) -> bool:
    return isinstance(branches, list) and all(isinstance(b, Mapping) and set(b) == {"type"} for b in branches)


# --- CEL -----------------------------------------------------------------------------------------


def parse_field_path(field_path: str) -> list[str | int]:
    """A rule's fieldPath (`.a.b`, `.a['x.y']`, `.list[0]`) as path parts."""
    parts: list[str | int] = []
    index = 0
    token = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\['((?:[^'\\]|\\.)*)'\]|\[([0-9]+)\]")
    while index < len(field_path):
        match = token.match(field_path, index)
        if not match:
            raise ValueError(f"cannot parse fieldPath {field_path!r} at {index}")
        name, quoted, number = match.groups()
        parts.append(name if name is not None else (quoted if quoted is not None else int(number)))
        index = match.end()
    return parts


class CelRules:
    """Compiled CEL programs, one per expression text, shared by all evaluations."""

    def __init__(self) -> None:
        self._env: Any = celpy.Environment()
        self._programs: dict[str, Any] = {}

    def program(self, expression: str) -> Any:
        if expression not in self._programs:
            self._programs[expression] = self._env.program(self._env.compile(expression))
        return self._programs[expression]

    def evaluate(self, expression: str, activation: Mapping[str, Any]) -> Any:
        """The value of `expression`; a CEL evaluation error is raised as celpy's CELEvalError."""
        result = self.program(expression).evaluate(dict(activation))
        if isinstance(result, celpy.evaluation.CELEvalError):
            raise result
        return result

    def check_node(self, value: JSON, rules: list[Mapping[str, Any]], path: str) -> list[Failure]:
        failures: list[Failure] = []
        activation = {"self": json_to_cel(value)}
        for rule in rules:
            expression = str(rule["rule"])
            if re.search(r"\boldSelf\b", expression):
                continue  # a transition rule: not evaluated on create
            try:
                result = self.evaluate(expression, activation)
            except Exception as error:  # any evaluation error refuses the object, as on the API server
                failures.append(Failure(path, f'Invalid value: "object": {error} evaluating rule: {expression}'))
                continue
            if not isinstance(result, celpy.celtypes.BoolType):
                failures.append(
                    Failure(path, f'Invalid value: "object": rule did not evaluate to a bool: {expression}')
                )
                continue
            if result:
                continue
            target = path
            if rule.get("fieldPath"):
                for part in parse_field_path(str(rule["fieldPath"])):
                    target = child_path(target, part)
            failures.append(Failure(target, self._message(rule, activation)))
        return failures

    def _message(self, rule: Mapping[str, Any], activation: Mapping[str, Any]) -> str:
        fallback = str(rule.get("message") or f"failed rule: {rule['rule']}")
        expression = rule.get("messageExpression")
        if not expression:
            return fallback
        try:
            message = self.evaluate(str(expression), activation)
        except Exception:
            return fallback  # the server logs the error and uses `message`
        if not isinstance(message, str) or not message.strip() or "\n" in message:
            return fallback
        return str(message)

    def check_tree(self, value: JSON, schema: Mapping[str, Any] | None, path: str) -> list[Failure]:
        """Evaluate the rules of every node that carries rules and is present in `value`."""
        if schema is None:
            return []
        failures: list[Failure] = []
        rules = schema.get("x-kubernetes-validations")
        if rules:
            failures += self.check_node(value, list(rules), path)
        if isinstance(value, dict):
            properties = _properties(schema)
            for key, item in value.items():
                sub = properties[key] if key in properties else _additional(schema)
                failures += self.check_tree(item, sub, child_path(path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                failures += self.check_tree(item, _items(schema), child_path(path, index))
        return failures


# --- The evaluator -------------------------------------------------------------------------------


class CrdEvaluator:
    """Judges custom resources against one version of a CRD, as the API server does on create."""

    def __init__(self, crd: Mapping[str, Any], version: str | None = None) -> None:
        spec = crd["spec"]
        served = [v for v in spec["versions"] if v.get("served")]
        chosen = [v for v in served if v["name"] == version] if version else [v for v in served if v.get("storage")]
        if not chosen:
            raise ValueError(f"the CRD serves no version {version!r}")
        self.group: str = spec["group"]
        self.kind: str = spec["names"]["kind"]
        self.version: str = chosen[0]["name"]
        self.namespaced = spec.get("scope", "Namespaced") == "Namespaced"
        self.status_subresource = "status" in (chosen[0].get("subresources") or {})
        self.schema: Mapping[str, Any] = chosen[0]["schema"]["openAPIV3Schema"]
        self._validator: Any = _Validator(to_json_schema(self.schema))
        self.cel = CelRules()
        self._has_rules = "x-kubernetes-validations" in json.dumps(self.schema)

    @classmethod
    def from_file(cls, path: Path, version: str | None = None) -> "CrdEvaluator":
        crd = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(crd, dict):
            raise ValueError(f"{path} is not a CRD")
        return cls(crd, version)

    def evaluate(self, body: JSON) -> list[Failure]:
        """Every reason the API server refuses `body`, as (field path, message); empty when accepted."""
        return self.evaluate_detailed(body).failures

    def evaluate_detailed(self, body: JSON) -> Evaluation:
        if not isinstance(body, dict):
            failure = Failure("(document)", f"Invalid value: {_shown(body)}: must be an object")
            return Evaluation((failure,), (), (), (), (), False, body)
        obj: dict[str, Any] = copy.deepcopy(body)
        type_meta = self._type_meta(obj)

        # Decoding: prune (and report) unknown fields, metadata's against ObjectMeta, then nulls.
        metadata = obj.pop("metadata", None)
        unknown = prune_unknown_fields(obj, self.schema, "")
        if isinstance(metadata, dict):
            for key in [key for key in metadata if key not in OBJECT_META_FIELDS]:
                unknown.append(Failure(f"metadata.{key}", f'unknown field "metadata.{key}"'))
                del metadata[key]
        prune_non_nullable_nulls(obj, self.schema)
        apply_defaults(obj, self.schema)
        if self.status_subresource:
            obj.pop("status", None)  # PrepareForCreate drops it; status is written through /status
        meta_found = validate_object_meta(metadata, self.namespaced)
        if metadata is not None:
            obj["metadata"] = metadata

        schema_found = list(_out_of_int64(obj, ""))
        for error in self._validator.iter_errors(obj):
            schema_found += _schema_failures(error)
        blocking = any(found.type in BLOCKING for found in [*meta_found, *schema_found])
        rules: list[Failure] = []
        if self._has_rules:
            if blocking:
                rules.append(Failure("", NOT_CHECKED))
            else:
                rules = self.cel.check_tree(obj, self.schema, "")
        return Evaluation(
            type_meta=tuple(type_meta),
            unknown_fields=tuple(unknown),
            metadata=tuple(found.failure() for found in meta_found),
            schema=tuple(dict.fromkeys(found.failure() for found in schema_found)),
            rules=tuple(rules),
            rules_checked=self._has_rules and not blocking,
            defaulted=obj,
        )

    def _type_meta(self, obj: Mapping[str, Any]) -> list[Failure]:
        failures: list[Failure] = []
        expected = f"{self.group}/{self.version}"
        if obj.get("apiVersion") != expected:
            failures.append(
                Failure("apiVersion", f"Invalid value: {_shown(obj.get('apiVersion'))}: must be {expected}")
            )
        if obj.get("kind") != self.kind:
            failures.append(Failure("kind", f"Invalid value: {_shown(obj.get('kind'))}: must be {self.kind}"))
        return failures


def schema_failures(schema: Mapping[str, Any], value: JSON, path: str = "") -> list[Failure]:
    """Plain openAPIV3Schema validation of `value` against `schema` (no pruning, defaulting or rules).

    This is what the API server's CRD validation does to each `default` (ValidateDefaults).
    """
    validator = _Validator(to_json_schema(schema))
    found: list[Failure] = []
    for error in validator.iter_errors(value):
        for item in _schema_failures(error):
            found.append(Failure(child_path(path, item.path) if item.path else path, item.message))
    return found
