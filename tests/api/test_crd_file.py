"""The committed CRD, offline: generated, structural, bounded, with RE2 patterns and guarded `has()`.

Each check is a function returning the defects it finds, so the `..._can_fail` tests below can
prove on planted defects that the checks are not vacuous. What only the API server can judge (its
rules compile, its defaults validate, its CEL verdicts and messages) test_crd_server_parity proves
against a real kube-apiserver.
"""

import re
from collections.abc import Iterator, Mapping
from importlib import metadata, resources
from pathlib import Path
from typing import Any, Final

import pytest
import yaml
from pydantic import BaseModel, Field

from erpsync.api.crd import build_crd, render_crd, structural_schema
from erpsync.api.models import INT64_MAX, INT64_MIN
from tests.support.specs import CRD_FILE, EXAMPLES, REPOSITORY

CRD_TEXT: Final = CRD_FILE.read_text(encoding="utf-8")
CRD: Final[dict[str, Any]] = yaml.safe_load(CRD_TEXT)
VERSION: Final[dict[str, Any]] = CRD["spec"]["versions"][0]
ROOT: Final[dict[str, Any]] = VERSION["schema"]["openAPIV3Schema"]
SPEC: Final[dict[str, Any]] = ROOT["properties"]["spec"]
STATUS: Final[dict[str, Any]] = ROOT["properties"]["status"]
TZDATA_VERSION: Final = "2026.6"

Node = tuple[str, Mapping[str, Any]]


def nodes(schema: Mapping[str, Any], path: str = "") -> Iterator[Node]:
    """Every schema node reachable through properties, items and additionalProperties, with its path."""
    yield path, schema
    for name, sub in (schema.get("properties") or {}).items():
        yield from nodes(sub, f"{path}.properties[{name}]")
    if isinstance(schema.get("items"), Mapping):
        yield from nodes(schema["items"], f"{path}.items")
    if isinstance(schema.get("additionalProperties"), Mapping):
        yield from nodes(schema["additionalProperties"], f"{path}.additionalProperties")


def _int_or_string_branches(schema: Mapping[str, Any]) -> bool:
    return schema.get("anyOf") == [{"type": "integer"}, {"type": "string"}]


def test_the_committed_crd_is_the_generated_one() -> None:
    assert render_crd() == CRD_TEXT, f"{CRD_FILE.name} is out of date with the models: run `make crd` and commit it"


# --- Structural schema ------------------------------------------------------------------------------

FORBIDDEN_KEYS: Final = frozenset(
    {
        "$ref",
        "definitions",
        "dependencies",
        "deprecated",
        "discriminator",
        "id",
        "patternProperties",
        "readOnly",
        "writeOnly",
        "xml",
        "title",
        "additionalItems",
        "$schema",
    }
)


def structural_defects(schema: Mapping[str, Any]) -> list[str]:
    defects: list[str] = []
    for path, node in nodes(schema):
        where = path or "(root)"
        int_or_string = bool(node.get("x-kubernetes-int-or-string"))
        if "type" not in node and not int_or_string and not node.get("x-kubernetes-preserve-unknown-fields"):
            defects.append(f"{where}: no type")
        if int_or_string and ("type" in node or not _int_or_string_branches(node)):
            defects.append(f"{where}: int-or-string needs anyOf [integer, string] and no type")
        if "anyOf" in node and not int_or_string:
            defects.append(f"{where}: anyOf outside an int-or-string node")
        if node.get("type") == "array" and not isinstance(node.get("items"), Mapping):
            defects.append(f"{where}: an array without an items schema")
        if "additionalProperties" in node:
            if "properties" in node:
                defects.append(f"{where}: additionalProperties beside properties")
            if not isinstance(node["additionalProperties"], Mapping):
                defects.append(
                    f"{where}: additionalProperties: {node['additionalProperties']} (only a schema is structural)"
                )
        for key in sorted(FORBIDDEN_KEYS & set(node)):
            defects.append(f"{where}: forbidden key {key}")
        if node.get("uniqueItems") is True:
            defects.append(f"{where}: uniqueItems: true")
        if node.get("type") == "null":
            defects.append(f"{where}: type null")
    return defects


def test_the_schema_is_structural() -> None:
    assert structural_defects(ROOT) == []


def test_the_structural_check_can_fail() -> None:
    planted = {
        "type": "object",
        "properties": {
            "a": {"properties": {}},
            "b": {"type": "object", "properties": {"c": {"type": "string"}}, "additionalProperties": False},
            "d": {"type": "string", "title": "D"},
            "e": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
            "f": {"x-kubernetes-int-or-string": True},
            "g": {"type": "object", "$ref": "#/definitions/x"},
        },
    }
    assert len(structural_defects(planted)) == 7


# --- Patterns and CEL -------------------------------------------------------------------------------

LOOKAROUND: Final = re.compile(r"\(\?<?[=!]")
BACKREFERENCE: Final = re.compile(r"\\[1-9]|\(\?P=|\\k<|\\g<")


def pattern_defects(schema: Mapping[str, Any]) -> list[str]:
    defects: list[str] = []
    for path, node in nodes(schema):
        pattern = node.get("pattern")
        if pattern is None:
            continue
        try:
            re.compile(pattern)
        except re.error as error:
            defects.append(f"{path}: {pattern!r} does not compile: {error}")
        if LOOKAROUND.search(pattern):
            defects.append(f"{path}: {pattern!r} has a lookaround (RE2 has none)")
        if BACKREFERENCE.search(pattern):
            defects.append(f"{path}: {pattern!r} has a backreference (RE2 has none)")
    return defects


def test_every_pattern_compiles_and_is_re2() -> None:
    assert pattern_defects(ROOT) == []
    assert sum(1 for _, node in nodes(ROOT) if "pattern" in node) >= 5  # the check saw the patterns


def test_the_pattern_check_can_fail() -> None:
    planted = {
        "type": "object",
        "properties": {
            "a": {"type": "string", "pattern": "^(?!x)a$"},
            "b": {"type": "string", "pattern": "(?<=a)b"},
            "c": {"type": "string", "pattern": r"(a)\1"},
            "d": {"type": "string", "pattern": "(unclosed"},
        },
    }
    assert len(pattern_defects(planted)) == 4


HAS_CALL: Final = re.compile(r"has\(\s*self((?:\.[A-Za-z_][A-Za-z0-9_]*)+)\s*\)")


def has_guard_defects(text: str, established: str = "") -> list[str]:
    """`has(self.a.b.c)` must follow `has(self.a)` and `has(self.a.b)` (earlier in the text, or in `established`).

    On the API server `has(self.a.b)` is an error when `a` is absent, which refuses the object.
    """
    defects: list[str] = []
    for match in HAS_CALL.finditer(text):
        names = match.group(1).lstrip(".").split(".")
        before = established + " " + text[: match.start()]
        for depth in range(1, len(names)):
            prefix = "self." + ".".join(names[:depth])
            if not re.search(rf"has\(\s*{re.escape(prefix)}\s*\)", before):
                defects.append(f"has(self.{'.'.join(names)}) without a preceding has({prefix})")
    return defects


def test_has_is_guarded_one_level_at_a_time() -> None:
    defects: list[str] = []
    for _, node in nodes(ROOT):
        for rule in node.get("x-kubernetes-validations") or ():
            defects += has_guard_defects(rule["rule"])
            # A messageExpression runs only when its rule is false; the rule's guards hold there.
            defects += has_guard_defects(rule.get("messageExpression", ""), established=rule["rule"])
    assert defects == []


def test_the_has_guard_check_can_fail() -> None:
    assert has_guard_defects("has(self.a.b.c)") == [
        "has(self.a.b.c) without a preceding has(self.a)",
        "has(self.a.b.c) without a preceding has(self.a.b)",
    ]
    assert has_guard_defects("has(self.a.b) || has(self.a)") == ["has(self.a.b) without a preceding has(self.a)"]
    assert has_guard_defects("!has(self.a) || !has(self.a.b) || has(self.a.b.c)") == []
    assert has_guard_defects("has(self.a.b)", established="!has(self.a)") == []


# --- Numeric bounds ---------------------------------------------------------------------------------

# kube-apiserver reads maximum and minimum as float64 (exact for integers up to 2**53 - 1): the int64
# limit 9223372036854775807 reads as 2**63, which 1.29-1.35 turn into -2**63 and 1.36 refuses.
FLOAT64_EXACT_INTEGER_MAX: Final = 2**53 - 1
CHART_CRD_FILE: Final = REPOSITORY / "charts" / "erp-sync-operator" / "crds" / CRD_FILE.name
_SUBSCHEMA_LISTS: Final = ("anyOf", "allOf", "oneOf")


def every_schema(schema: Mapping[str, Any], path: str = "") -> Iterator[Node]:
    """Every schema node, with its path: `nodes` plus the branches of anyOf, allOf, oneOf and not."""
    yield path, schema
    children: list[tuple[str, Any]] = [
        *((f"{path}.properties[{name}]", sub) for name, sub in (schema.get("properties") or {}).items()),
        (f"{path}.items", schema.get("items")),
        (f"{path}.additionalProperties", schema.get("additionalProperties")),
        (f"{path}.not", schema.get("not")),
        *(
            (f"{path}.{key}[{index}]", sub)
            for key in _SUBSCHEMA_LISTS
            for index, sub in enumerate(schema.get(key) or ())
        ),
    ]
    for where, sub in children:
        if isinstance(sub, Mapping):
            yield from every_schema(sub, where)


def numeric_bound_defects(schema: Mapping[str, Any]) -> list[str]:
    """Every maximum and minimum must be an integer the API server reads exactly (|value| <= 2**53 - 1)."""
    defects: list[str] = []
    for path, node in every_schema(schema):
        for key in ("maximum", "minimum"):
            if key not in node:
                continue
            value = node[key]
            if isinstance(value, bool) or not isinstance(value, int):
                defects.append(f"{path or '(root)'}.{key}: {value!r} is not an integer")
            elif abs(value) > FLOAT64_EXACT_INTEGER_MAX:
                defects.append(f"{path or '(root)'}.{key}: {value} is not exact as a float64")
    return defects


@pytest.mark.parametrize("path", [CRD_FILE, CHART_CRD_FILE], ids=["crds", "chart"])
def test_every_numeric_bound_of_the_committed_crds_is_exact_as_a_float64(path: Path) -> None:
    crd = yaml.safe_load(path.read_text(encoding="utf-8"))
    root = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert numeric_bound_defects(root) == []
    assert sum(1 for _, node in every_schema(root) for key in ("maximum", "minimum") if key in node) >= 8


def test_every_numeric_bound_of_the_generated_crd_is_exact_as_a_float64() -> None:
    assert numeric_bound_defects(build_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]) == []


def test_the_numeric_bound_check_can_fail() -> None:
    planted = {
        "type": "object",
        "properties": {
            "a": {"type": "integer", "maximum": 2**63 - 1, "minimum": -(2**63 - 1)},
            "b": {"type": "array", "items": {"type": "integer", "maximum": 2**53}},
            "c": {"type": "number", "minimum": 0.5},
            "d": {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer", "maximum": 1e300}]},
            "e": {"type": "integer", "maximum": 2**53 - 1, "minimum": -(2**53 - 1)},  # exact: fine
        },
    }
    assert len(numeric_bound_defects(planted)) == 5


class _Bounded(BaseModel):
    int64: int = Field(ge=INT64_MIN, le=INT64_MAX)
    positive: int = Field(ge=1, le=INT64_MAX)
    exact: int = Field(ge=-(2**53 - 1), le=2**53 - 1)


class _Inexact(BaseModel):
    huge: int = Field(le=2**60)


def test_bounds_int64_implies_are_left_out_and_inexact_ones_refused() -> None:
    properties = structural_schema(_Bounded)["properties"]
    assert properties["int64"] == {"type": "integer"}
    assert properties["positive"] == {"type": "integer", "minimum": 1}
    assert properties["exact"] == {"type": "integer", "minimum": -(2**53 - 1), "maximum": 2**53 - 1}
    # A bound between 2**53 and the int64 limits would silently change on the server: refused, not dropped.
    with pytest.raises(ValueError, match="no exact float64 form"):
        structural_schema(_Inexact)


# --- Bounds for the CEL cost estimate -------------------------------------------------------------


def bound_defects(schema: Mapping[str, Any]) -> list[str]:
    defects: list[str] = []
    for path, node in nodes(schema):
        is_string = node.get("type") == "string" or bool(node.get("x-kubernetes-int-or-string"))
        if is_string and "maxLength" not in node and "enum" not in node:
            defects.append(f"{path}: a string without maxLength or enum")
        if node.get("type") == "array" and "maxItems" not in node:
            defects.append(f"{path}: an array without maxItems")
        if isinstance(node.get("additionalProperties"), Mapping) and "maxProperties" not in node:
            defects.append(f"{path}: a map without maxProperties")
    return defects


def test_every_string_list_and_map_of_the_spec_is_bounded() -> None:
    assert bound_defects(SPEC) == []


def test_the_bound_check_can_fail() -> None:
    planted = {
        "type": "object",
        "properties": {
            "a": {"type": "string"},
            "b": {"type": "array", "items": {"type": "string", "enum": ["x"]}},
            "c": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 1}},
            "d": {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]},
        },
    }
    assert len(bound_defects(planted)) == 4


# --- Status, printer columns, names -----------------------------------------------------------------


def test_status_defaults_and_keeps_unknown_fields() -> None:
    assert STATUS["default"] == {"observedGeneration": -1}
    assert STATUS["x-kubernetes-preserve-unknown-fields"] is True
    assert VERSION["subresources"] == {"status": {}}


def test_printer_columns() -> None:
    columns = {column["name"]: column for column in VERSION["additionalPrinterColumns"]}
    assert list(columns) == [
        "Ready",
        "Healthy",
        "Suspended",
        "Last Sync",
        "Next Sync",
        "Age",
        "ERP",
        "Health Reason",
        "Health Message",
        "Ready Message",
    ]
    assert [column.get("priority", 0) for column in columns.values()] == [0, 0, 0, 0, 0, 0, 1, 1, 1, 1]
    healthy = '.status.conditions[?(@.type=="Healthy")]'
    assert columns["ERP"]["jsonPath"] == ".spec.erp"
    assert columns["Ready"]["jsonPath"] == '.status.conditions[?(@.type=="Ready")].status'
    assert columns["Ready Message"]["jsonPath"] == '.status.conditions[?(@.type=="Ready")].message'
    assert columns["Healthy"]["jsonPath"] == f"{healthy}.status"
    assert columns["Health Reason"]["jsonPath"] == f"{healthy}.reason"
    assert columns["Health Message"]["jsonPath"] == f"{healthy}.message"
    assert columns["Suspended"]["jsonPath"] == ".status.suspended"
    assert (columns["Last Sync"]["jsonPath"], columns["Last Sync"]["type"]) == (".status.lastSyncTime", "date")
    # A time ahead as a date column reads "<invalid>" in kubectl: the next sync is shown as the time itself.
    assert (columns["Next Sync"]["jsonPath"], columns["Next Sync"]["type"]) == (".status.nextSyncTime", "string")
    assert (columns["Age"]["jsonPath"], columns["Age"]["type"]) == (".metadata.creationTimestamp", "date")


def test_names() -> None:
    names = CRD["spec"]["names"]
    assert CRD["metadata"]["name"] == "erpsyncschedules.erpsync.io"
    assert (names["kind"], names["plural"], names["singular"]) == (
        "ErpSyncSchedule",
        "erpsyncschedules",
        "erpsyncschedule",
    )
    assert names["shortNames"] == ["erpsync"]
    assert names["categories"] == ["erpsync"]
    assert CRD["spec"]["scope"] == "Namespaced"
    assert [(v["name"], v["served"], v["storage"]) for v in CRD["spec"]["versions"]] == [("v1alpha1", True, True)]


# --- Time zones -----------------------------------------------------------------------------------


def _tzdata_zone_files() -> set[str]:
    """Every TZif file of the installed tzdata package, as a zone name (read independently of the product)."""
    names: set[str] = set()

    def walk(directory: Any, prefix: str) -> None:
        for entry in directory.iterdir():
            if entry.is_dir():
                walk(entry, f"{prefix}{entry.name}/")
            elif not entry.name.startswith("__"):
                with entry.open("rb") as handle:
                    if handle.read(4) == b"TZif":
                        names.add(prefix + entry.name)

    walk(resources.files("tzdata").joinpath("zoneinfo"), "")
    return names


def test_the_time_zone_enum_is_the_zone_list_of_the_pinned_tzdata() -> None:
    assert metadata.version("tzdata") == TZDATA_VERSION
    listed = set(resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8").split())
    assert listed == _tzdata_zone_files()
    enum = SPEC["properties"]["timeZone"]["enum"]
    assert enum == sorted(enum) and len(enum) == len(set(enum))
    # "Factory" is tzdata's "no zone configured" placeholder, deliberately left out.
    assert set(enum) == listed - {"Factory"}


# --- Examples ---------------------------------------------------------------------------------------

EXAMPLE_FILES: Final = sorted(EXAMPLES.glob("*.yaml"))


def test_there_is_one_example_per_profile() -> None:
    erps = sorted(yaml.safe_load(path.read_text(encoding="utf-8"))["spec"]["erp"] for path in EXAMPLE_FILES)
    assert erps == sorted(SPEC["properties"]["erp"]["enum"])
