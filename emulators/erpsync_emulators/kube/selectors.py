"""Label selectors (equality and set-based) and field selectors, parsed as the API server parses them.

KMock ignores `labelSelector` and `fieldSelector` and returns everything, which lets an operator that forgets
to filter its children pass. Here both filter lists and watches, and a malformed selector is a 400.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from erpsync_emulators.kube import validation

_SET_RE = re.compile(r"^(?P<key>[^\s!=()]+)\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)$")
_EQ_RE = re.compile(r"^(?P<key>[^\s!=()]+)\s*(?P<op>==|!=|=)\s*(?P<value>[^\s!=(),]*)$")


class SelectorError(ValueError):
    """The selector cannot be parsed; the API server answers 400 BadRequest."""


@attrs.frozen
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!"
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "=":
            return present and value in self.values
        if self.op == "in":
            return present and value in self.values
        if self.op == "!=":
            # Kubernetes: `k!=v` also selects objects without the label k.
            return not present or value not in self.values
        if self.op == "notin":
            return not present or value not in self.values
        if self.op == "exists":
            return present
        return not present  # "!"


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside `(...)`: `a in (x,y),b` has two requirements."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise SelectorError(f"unable to parse requirement: unbalanced ')' in {text!r}")
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if depth:
        raise SelectorError(f"unable to parse requirement: unbalanced '(' in {text!r}")
    parts.append("".join(current))
    return parts


def _check_key(key: str) -> str:
    problem = validation.label_key_problem(key)
    if problem:
        raise SelectorError(f"unable to parse requirement: invalid label key {key!r}: {problem}")
    return key


def _check_value(value: str) -> str:
    problem = validation.label_value_problem(value)
    if problem:
        raise SelectorError(f"unable to parse requirement: invalid label value {value!r}: {problem}")
    return value


@attrs.frozen
class LabelSelector:
    requirements: tuple[Requirement, ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> LabelSelector:
        if not text or not text.strip():
            return cls()
        requirements: list[Requirement] = []
        for raw in _split_top_level(text):
            part = raw.strip()
            if not part:
                raise SelectorError(f"unable to parse requirement: empty requirement in {text!r}")
            if match := _SET_RE.match(part):
                values = [v.strip() for v in match["values"].split(",")]
                if any(not value for value in values):
                    raise SelectorError(
                        f"unable to parse requirement: for 'in', 'notin' operators, empty values: {part!r}"
                    )
                checked = frozenset(_check_value(v) for v in values)
                requirements.append(Requirement(_check_key(match["key"]), match["op"], checked))
            elif match := _EQ_RE.match(part):
                op = "!=" if match["op"] == "!=" else "="
                value = _check_value(match["value"])
                requirements.append(Requirement(_check_key(match["key"]), op, frozenset({value})))
            elif part.startswith("!"):
                requirements.append(Requirement(_check_key(part[1:].strip()), "!"))
            else:
                requirements.append(Requirement(_check_key(part), "exists"))
        return cls(tuple(requirements))

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        labels = labels or {}
        return all(req.matches(labels) for req in self.requirements)

    def indexable(self) -> list[tuple[str, frozenset[str]]]:
        """The requirements a label index can answer (`k=v`, `k in (...)`): label and accepted values."""
        return [(req.key, req.values) for req in self.requirements if req.op in ("=", "in")]


def _path_getter(path: str) -> Callable[[Mapping[str, Any]], str | None]:
    keys = path.split(".")

    def get(obj: Mapping[str, Any]) -> str | None:
        value: Any = obj
        for key in keys:
            if not isinstance(value, Mapping):
                return None
            value = value.get(key)
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return get


# Fields every resource supports, and the extra ones some built-ins register (the ones kubectl and
# controllers use). Custom resources support only metadata.name and metadata.namespace.
_COMMON_FIELDS = ("metadata.name", "metadata.namespace")
_EXTRA_FIELDS: dict[tuple[str, str], tuple[str, ...]] = {
    ("", "events"): (
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    ),
    ("", "pods"): (
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    ),
    ("", "namespaces"): ("status.phase",),
    ("", "secrets"): ("type",),
    ("batch", "jobs"): ("status.successful",),
}


@attrs.frozen
class FieldRequirement:
    path: str
    negated: bool
    value: str
    getter: Callable[[Mapping[str, Any]], str | None] = attrs.field(eq=False, repr=False)

    def matches(self, obj: Mapping[str, Any]) -> bool:
        actual = self.getter(obj)
        if self.path == "source" and actual is None:
            actual = _path_getter("source.component")(obj)
        equal = (actual or "") == self.value
        return not equal if self.negated else equal


@attrs.frozen
class FieldSelector:
    requirements: tuple[FieldRequirement, ...] = ()

    @classmethod
    def parse(cls, text: str | None, group: str, plural: str) -> FieldSelector:
        if not text or not text.strip():
            return cls()
        supported = _COMMON_FIELDS + _EXTRA_FIELDS.get((group, plural), ())
        requirements: list[FieldRequirement] = []
        for raw in text.split(","):
            part = raw.strip()
            match = _EQ_RE.match(part) if part else None
            if not match:
                raise SelectorError(f"invalid selector: {text!r}; can't understand {part!r}")
            if match["key"] not in supported:
                raise SelectorError(f"field label not supported: {match['key']}")
            requirements.append(
                FieldRequirement(match["key"], match["op"] == "!=", match["value"], _path_getter(match["key"]))
            )
        return cls(tuple(requirements))

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return all(req.matches(obj) for req in self.requirements)

    def pinned(self, path: str) -> str | None:
        """The value a `path=value` requirement pins (used to narrow a watch on metadata.name)."""
        for req in self.requirements:
            if req.path == path and not req.negated:
                return req.value
        return None
