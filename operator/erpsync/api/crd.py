"""Generation of the ErpSyncSchedule CustomResourceDefinition from the pydantic models.

The models are the source of truth; this module turns their JSON schema into a structural
OpenAPI v3 schema (refs inlined, `anyOf [T, null]` collapsed, no `additionalProperties: false`,
titles dropped), adds the CRD-only parts (CEL rules for the ERP profiles, printer columns, status
subresource) and returns a plain dict that `erp-sync crd` prints. The same input always gives a
byte-identical CRD: the time-zone enum comes from the pinned tzdata package.
"""

import json
from collections.abc import Sequence
from typing import Any, Final

from pydantic import BaseModel

from erpsync import __version__
from erpsync.api.manifests import dump_documents
from erpsync.api.models import INT64_MAX, INT64_MIN, ErpSyncScheduleSpec, ErpSyncScheduleStatus
from erpsync.api.profiles import (
    APPROVED_SYNCS,
    MODES,
    PROFILES,
    REQUESTS_ONLY_FREQUENCY_REASON,
    STAGED_JOBS_REASON,
    approval_refusal_reason,
    mode_refusal_reason,
    refusal_reason,
    run_on_refusal_reason,
)
from erpsync.api.vocabulary import (
    API_GROUP,
    API_VERSION,
    CATEGORY,
    ERP_NAMES,
    KIND,
    PLURAL,
    PROCORE_MODES,
    SHORT_NAME,
    SINGULAR,
    SYNC_NAMES,
    ProcoreMode,
    SyncName,
)

CRD_NAME: Final = f"{PLURAL}.{API_GROUP}"
# Keys a structural schema may not carry (pydantic emits some of them).
_DROPPED_KEYS: Final = frozenset({"title", "$defs", "discriminator", "examples"})
_READY: Final = '.status.conditions[?(@.type=="Ready")]'
_HEALTHY: Final = '.status.conditions[?(@.type=="Healthy")]'
# kube-apiserver reads `maximum` and `minimum` as float64, exact for integers up to 2**53 - 1 only:
# 9223372036854775807 reads as 2**63, which 1.29-1.35 convert back to -2**63 (so every value is out
# of range and the CRD's own defaults are refused) and 1.36 refuses outright.
FLOAT64_EXACT_INTEGER_MAX: Final = 2**53 - 1
# Bounds the server's `type: integer` (int64) enforces by itself: left out of the CRD, kept in the models.
_IMPLIED_BOUNDS: Final = {"maximum": INT64_MAX, "minimum": INT64_MIN}


def build_crd() -> dict[str, Any]:
    """The CustomResourceDefinition of ErpSyncSchedule."""
    spec_schema = structural_schema(ErpSyncScheduleSpec)
    spec_schema["x-kubernetes-validations"] = profile_rules()
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": CRD_NAME,
            "labels": {
                "app.kubernetes.io/name": "erp-sync-operator",
                "app.kubernetes.io/part-of": "erp-sync-operator",
                "app.kubernetes.io/version": __version__,
            },
        },
        "spec": {
            "group": API_GROUP,
            "names": {
                "kind": KIND,
                "listKind": f"{KIND}List",
                "plural": PLURAL,
                "singular": SINGULAR,
                "shortNames": [SHORT_NAME],
                "categories": [CATEGORY],
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": API_VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": printer_columns(),
                    "schema": {
                        "openAPIV3Schema": {
                            "description": "ErpSyncSchedule declares how often each sync between an ERP "
                            "and Procore runs; the erp-sync operator runs them as CronJobs.",
                            "type": "object",
                            "required": ["spec"],
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": spec_schema,
                                "status": status_schema(),
                            },
                        }
                    },
                }
            ],
        },
    }


def status_schema() -> dict[str, Any]:
    """The CRD's schema of status: what the operator's status writes must fit."""
    schema = structural_schema(ErpSyncScheduleStatus)
    schema["default"] = {"observedGeneration": -1}
    # The operator framework (kopf) keeps its own records in status; pruning them loses its state.
    schema["x-kubernetes-preserve-unknown-fields"] = True
    conditions = schema["properties"]["conditions"]
    conditions["x-kubernetes-list-type"] = "map"
    conditions["x-kubernetes-list-map-keys"] = ["type"]
    return schema


def printer_columns() -> list[dict[str, Any]]:
    """`kubectl get erpsyncschedules`, as a CronJob's columns answer "is it running, and when next?"; `-o wide`
    adds the ERP and why the schedule is or is not healthy."""
    return [
        {"name": "Ready", "type": "string", "jsonPath": f"{_READY}.status"},
        {
            "name": "Healthy",
            "type": "string",
            "jsonPath": f"{_HEALTHY}.status",
            "description": "False when an enabled sync's last run failed or is overdue.",
        },
        {
            "name": "Suspended",
            "type": "string",
            "jsonPath": ".status.suspended",
            "description": "false, true, or the names of the suspended syncs.",
        },
        {"name": "Last Sync", "type": "date", "jsonPath": ".status.lastSyncTime"},
        # A string, not a date: kubectl shows a date as an age, and a time ahead as <invalid>.
        {"name": "Next Sync", "type": "string", "jsonPath": ".status.nextSyncTime"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
        {"name": "ERP", "type": "string", "jsonPath": ".spec.erp", "priority": 1},
        {"name": "Health Reason", "type": "string", "jsonPath": f"{_HEALTHY}.reason", "priority": 1},
        {"name": "Health Message", "type": "string", "jsonPath": f"{_HEALTHY}.message", "priority": 1},
        {"name": "Ready Message", "type": "string", "jsonPath": f"{_READY}.message", "priority": 1},
    ]


def structural_schema(model: type[BaseModel]) -> dict[str, Any]:
    """A model's JSON schema, rewritten into a Kubernetes structural schema."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    definitions = raw.get("$defs", {})
    return _structural(raw, definitions)


def render_crd() -> str:
    """The CRD as the YAML committed in crds/ (what `erp-sync crd` prints)."""
    return dump_documents([build_crd()])


def _structural(node: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    node = dict(node)
    if "anyOf" in node and not node.get("x-kubernetes-int-or-string"):
        # `T | None`: the field is optional; an absent field and a null one mean the same here.
        branches = [branch for branch in node.pop("anyOf") if branch != {"type": "null"}]
        if len(branches) != 1:
            raise ValueError(f"a union of {branches} has no structural schema; use WithJsonSchema")
        node = {**branches[0], **node}
        if node.get("default", ...) is None:
            del node["default"]
    if "$ref" in node:
        target = definitions[node.pop("$ref").rsplit("/", 1)[-1]]
        node = {**target, **node}  # the field's own description and default win over the model's
    result: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED_KEYS:
            continue
        if key == "additionalProperties":
            if isinstance(value, dict) and "properties" not in node:
                result[key] = _structural(value, definitions)
            continue  # `false` (extra="forbid") and `true` (extra="allow") are not structural
        if key == "properties":
            result[key] = {name: _structural(prop, definitions) for name, prop in value.items()}
        elif key == "items":
            result[key] = _structural(value, definitions)
        elif key == "const":
            result["enum"] = [value]
        elif key in _IMPLIED_BOUNDS:
            if _bound_in_crd(key, value):
                result[key] = value
        else:
            result[key] = value
    if result.get("type") == "object":
        # pydantic words a map's size bound as a length when the map has a before-validator.
        for length, size in (("maxLength", "maxProperties"), ("minLength", "minProperties")):
            if length in result:
                result[size] = result.pop(length)
        if "properties" in result:
            _default_nested_objects(result, node.get("properties", {}))
    return result


def _bound_in_crd(key: str, value: Any) -> bool:
    """Whether the bound goes into the CRD: False for one int64 implies; an error for one float64 cannot hold."""
    if not isinstance(value, int) or abs(value) <= FLOAT64_EXACT_INTEGER_MAX:
        return True
    implied = _IMPLIED_BOUNDS[key]
    if (key == "maximum" and value >= implied) or (key == "minimum" and value <= implied):
        return False
    raise ValueError(
        f"{key} {value} has no exact float64 form, which kube-apiserver reads bounds as; "
        f"use a bound within ±{FLOAT64_EXACT_INTEGER_MAX} or the int64 limit"
    )


def _default_nested_objects(result: dict[str, Any], source_properties: dict[str, Any]) -> None:
    # A nested model that is neither required nor optional (`T | None`) has a default_factory in
    # the models: default it to {} so the API server fills in its fields' defaults, as the models do.
    required = set(result.get("required", ()))
    for name, prop in result["properties"].items():
        optional = "anyOf" in source_properties.get(name, {})
        if (
            name not in required
            and not optional
            and "default" not in prop
            and prop.get("type") == "object"
            and "properties" in prop
            and not prop.get("required")  # a default must itself be valid
        ):
            prop["default"] = {}


def _cel_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid CEL string literal for these values


def _cel_list(values: Sequence[str]) -> str:
    return "[" + ", ".join(map(_cel_string, values)) + "]"


def _cel_map(mapping: dict[str, str | list[str]]) -> str:
    entries = ", ".join(
        f"{_cel_string(key)}: "
        + (_cel_string(value) if isinstance(value, str) else "[" + ", ".join(map(_cel_string, value)) + "]")
        for key, value in mapping.items()
    )
    return "{" + entries + "}"


def profile_rules() -> list[dict[str, str]]:
    """CEL rules, on spec, for what depends on the ERP profile and the Procore mode (the models'
    `profile_problems`)."""
    rules: list[dict[str, str]] = []
    for sync in SYNC_NAMES:
        rules.append(_frequency_rule(sync))
    for sync in SYNC_NAMES:
        rules.append(_at_rule(sync))
    rules += [_mode_frequency_rule(sync) for sync in SYNC_NAMES if _modes_without(sync)]
    rules += [_run_on_rule(sync) for sync in SYNC_NAMES]
    rules += [_requests_only_frequency_rule(sync) for sync in SYNC_NAMES]
    rules.append(_create_projects_rule())
    rules += [_approval_rule(sync) for sync in APPROVED_SYNCS]
    return rules


def _modes_without(sync: SyncName) -> list[ProcoreMode]:
    """The Procore modes that cannot do `sync`."""
    return [mode for mode in PROCORE_MODES if sync in MODES[mode].impossible]


def _mode_frequency_rule(sync: SyncName) -> dict[str, str]:
    modes = _modes_without(sync)
    field = f"self.syncs.{sync}.frequency"
    reasons = _cel_map({mode: mode_refusal_reason(mode, sync) for mode in modes})
    return {
        "rule": f'{_guard(sync, "frequency")} || {field} == "Never" || !(self.procore.mode in {_cel_list(modes)})',
        "message": f"the {sync} sync is not possible in this Procore mode",
        "messageExpression": f"{field} + {reasons}[self.procore.mode]",
        "fieldPath": f".syncs.{sync}.frequency",
        "reason": "FieldValueForbidden",
    }


def _run_on_rule(sync: SyncName) -> dict[str, str]:
    modes = [mode for mode in PROCORE_MODES if MODES[mode].no_requests_because]
    field = f"self.syncs.{sync}.runOn"
    reasons = _cel_map({mode: run_on_refusal_reason(mode) for mode in modes})
    return {
        "rule": f'{_guard(sync, "runOn")} || {field} == "Schedule" || !(self.procore.mode in {_cel_list(modes)})',
        "message": f"syncs.{sync}.runOn needs ERP Requests, which this Procore mode does not have",
        "messageExpression": f"{field} + {reasons}[self.procore.mode]",
        "fieldPath": f".syncs.{sync}.runOn",
        "reason": "FieldValueForbidden",
    }


def _requests_only_frequency_rule(sync: SyncName) -> dict[str, str]:
    field = f"self.syncs.{sync}.frequency"
    return {
        "rule": f'{_guard(sync, "frequency")} || {field} == "Never" || !has(self.syncs.{sync}.runOn) || '
        f'self.syncs.{sync}.runOn != "ErpRequests"',
        "message": f"syncs.{sync}.frequency is not used with runOn ErpRequests",
        "messageExpression": f"{field} + {_cel_string(REQUESTS_ONLY_FREQUENCY_REASON)}",
        "fieldPath": f".syncs.{sync}.frequency",
        "reason": "FieldValueForbidden",
    }


def _create_projects_rule() -> dict[str, str]:
    return {
        "rule": f"{_guard('jobs', 'createProjects')} || !self.syncs.jobs.createProjects || "
        'self.procore.mode != "ErpConnector"',
        "message": "createProjects" + STAGED_JOBS_REASON,
        "messageExpression": _cel_string("true" + STAGED_JOBS_REASON),
        "fieldPath": ".syncs.jobs.createProjects",
        "reason": "FieldValueForbidden",
    }


def _approval_rule(sync: SyncName) -> dict[str, str]:
    modes = [mode for mode in PROCORE_MODES if MODES[mode].no_approval_because]
    field = f"self.syncs.{sync}.approval"
    reasons = _cel_map({mode: approval_refusal_reason(mode) for mode in modes})
    return {
        "rule": f"{_guard(sync, 'approval')} || !(self.procore.mode in {_cel_list(modes)})",
        "message": f"syncs.{sync}.approval needs staged records, which this Procore mode does not have",
        "messageExpression": f"{field} + {reasons}[self.procore.mode]",
        "fieldPath": f".syncs.{sync}.approval",
        "reason": "FieldValueForbidden",
    }


def _guard(sync: SyncName, leaf: str) -> str:
    # One level at a time: on the API server `has(self.a.b)` is an error when `a` is absent.
    return f"!has(self.syncs) || !has(self.syncs.{sync}) || !has(self.syncs.{sync}.{leaf})"


def _frequency_rule(sync: SyncName) -> dict[str, str]:
    allowed = _cel_map({erp: list(PROFILES[erp].offer(sync).frequencies) for erp in ERP_NAMES})
    # The refused value, then profiles.py's wording: the same message as `erp-sync validate`.
    reasons = _cel_map({erp: refusal_reason(erp, sync) for erp in ERP_NAMES})
    field = f"self.syncs.{sync}.frequency"
    return {
        "rule": f"{_guard(sync, 'frequency')} || {field} in {allowed}[self.erp]",
        "message": f"the {sync} frequency is not offered by this ERP profile",
        "messageExpression": f"{field} + {reasons}[self.erp]",
        "fieldPath": f".syncs.{sync}.frequency",
        "reason": "FieldValueInvalid",
    }


def _at_rule(sync: SyncName) -> dict[str, str]:
    # The default frequency (the models' `default_frequency`): Never on ERP Requests only or in a mode that
    # cannot do the sync (no mode defaults runOn to ErpRequests, so only a runOn the spec sets can be it).
    defaults = _cel_map({erp: PROFILES[erp].offer(sync).default for erp in ERP_NAMES})
    never = f'(has(self.syncs.{sync}.runOn) && self.syncs.{sync}.runOn == "ErpRequests")'
    if modes := _modes_without(sync):
        never += f" || self.procore.mode in {_cel_list(modes)}"
    default = f'(({never}) ? "Never" : {defaults}[self.erp])'
    effective = f"(has(self.syncs.{sync}.frequency) ? self.syncs.{sync}.frequency : {default})"
    return {
        "rule": f'{_guard(sync, "at")} || {effective} == "Daily"',
        "message": f"syncs.{sync}.at is only allowed when the frequency is Daily",
        "messageExpression": f'self.syncs.{sync}.at + " is only allowed when the frequency is Daily; '
        f'the frequency is " + {effective}',
        "fieldPath": f".syncs.{sync}.at",
        "reason": "FieldValueForbidden",
    }
