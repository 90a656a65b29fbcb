"""The CRD evaluator itself: each API-server behaviour it imitates, on small planted CRDs."""

from typing import Any, Final

import pytest

from tests.support.apiserver_crd import (
    NOT_CHECKED,
    CrdEvaluator,
    Failure,
    apply_defaults,
    parse_field_path,
    prune_non_nullable_nulls,
    re2_pattern,
)


def crd(spec: dict[str, Any], status: dict[str, Any] | None = None) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": spec,
    }
    if status is not None:
        properties["status"] = status
    return {
        "spec": {
            "group": "example.io",
            "names": {"kind": "Thing", "plural": "things"},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": properties}},
                }
            ],
        }
    }


def thing(spec: Any, **top: Any) -> dict[str, Any]:
    return {"apiVersion": "example.io/v1", "kind": "Thing", "metadata": {"name": "a"}, "spec": spec, **top}


OBJECT: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "mode": {"type": "string", "enum": ["On", "Off"], "default": "On"},
        "inner": {
            "type": "object",
            "default": {},
            "properties": {
                "count": {"type": "integer", "default": 3, "minimum": 0},
                "name": {"type": "string", "maxLength": 5},
                "maybe": {"type": "string", "nullable": True},
            },
        },
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        "items": {"type": "array", "items": {"type": "object", "properties": {"key": {"type": "string"}}}},
        "size": {
            "x-kubernetes-int-or-string": True,
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "pattern": "^[0-9]+[a-z]?$",
        },
        "ref": {"type": "string", "pattern": "^[a-z]+$"},
        "url": {"type": "string", "pattern": r"^https://[^\s]+$"},
    },
}
EVALUATOR: Final = CrdEvaluator(crd(OBJECT, status={"type": "object", "properties": {"n": {"type": "integer"}}}))


# --- Defaults and nulls -----------------------------------------------------------------------------


def test_a_default_object_gets_its_childrens_defaults() -> None:
    value: dict[str, Any] = {}
    apply_defaults(value, OBJECT)
    assert value == {"mode": "On", "inner": {"count": 3}}


def test_a_non_nullable_null_with_a_default_is_defaulted_and_one_without_is_pruned() -> None:
    value: dict[str, Any] = {"mode": None, "inner": {"name": None, "maybe": None}, "labels": {"a": None}}
    prune_non_nullable_nulls(value, OBJECT)
    apply_defaults(value, OBJECT)
    assert value == {"mode": "On", "inner": {"count": 3, "maybe": None}, "labels": {}}


def test_the_evaluator_validates_the_defaulted_object() -> None:
    evaluation = EVALUATOR.evaluate_detailed(thing({"inner": None}))
    assert evaluation.allowed
    assert evaluation.defaulted["spec"] == {"mode": "On", "inner": {"count": 3}}


# --- Unknown fields ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "path"),
    [
        ({"extra": 1}, "spec.extra"),
        ({"extra": None}, "spec.extra"),  # pruning comes before null pruning
        ({"inner": {"extra": "x"}}, "spec.inner.extra"),
        ({"items": [{"key": "a"}, {"key": "b", "extra": 1}]}, "spec.items[1].extra"),
        ({"mode": {"extra": 1}}, "spec.mode.extra"),  # an object where a string is expected
    ],
)
def test_unknown_fields_are_refused(spec: dict[str, Any], path: str) -> None:
    assert Failure(path, f'unknown field "{path}"') in EVALUATOR.evaluate(thing(spec))


def test_maps_and_preserved_objects_keep_their_fields() -> None:
    assert EVALUATOR.evaluate(thing({"labels": {"any": "x"}, "free": {"any": {"thing": 1}}})) == []


def test_metadata_is_checked_against_object_meta() -> None:
    body = thing({})
    body["metadata"] = {"name": "a", "namespace": "ns", "labels": {"app": "x"}, "extra": 1}
    assert EVALUATOR.evaluate(body) == [Failure("metadata.extra", 'unknown field "metadata.extra"')]
    body["metadata"] = {"name": "Not_A_Name"}
    assert [f.path for f in EVALUATOR.evaluate(body)] == ["metadata.name"]
    body["metadata"] = {"namespace": "ns"}
    assert [f.path for f in EVALUATOR.evaluate(body)] == ["metadata.name"]


def test_type_meta_must_name_the_kind_and_a_served_version() -> None:
    assert [f.path for f in EVALUATOR.evaluate(thing({}, kind="Other"))] == ["kind"]
    assert [f.path for f in EVALUATOR.evaluate(thing({}, apiVersion="example.io/v2"))] == ["apiVersion"]


def test_status_is_dropped_on_create_after_decoding() -> None:
    # Its values are not validated on create; its unknown fields were already refused by the decoder.
    assert EVALUATOR.evaluate(thing({}, status={"n": "not a number"})) == []
    assert EVALUATOR.evaluate(thing({}, status={"extra": 1})) == [
        Failure("status.extra", 'unknown field "status.extra"')
    ]


# --- Schema validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "path"),
    [
        ({"mode": "Maybe"}, "spec.mode"),
        ({"inner": {"count": -1}}, "spec.inner.count"),
        ({"inner": {"count": 1.5}}, "spec.inner.count"),  # a fraction is not an integer
        ({"inner": {"count": 2.0**53}}, "spec.inner.count"),  # nor a float beyond float64's exact integers
        ({"inner": {"count": True}}, "spec.inner.count"),
        ({"inner": {"count": 2**63}}, "spec.inner.count"),  # beyond int64
        ({"inner": {"name": "toolong"}}, "spec.inner.name"),
        ({"labels": {"a": 1}}, "spec.labels.a"),
        ({"size": 1.5}, "spec.size"),
        ({"size": True}, "spec.size"),
        ({"size": "1.5"}, "spec.size"),
        ({"ref": "abc\n"}, "spec.ref"),  # RE2's $ is the end of the text
        ({"url": "https://a\tb"}, "spec.url"),
        ("not an object", "spec"),
    ],
)
def test_schema_refusals(spec: Any, path: str) -> None:
    assert path in {failure.path for failure in EVALUATOR.evaluate(thing(spec))}


@pytest.mark.parametrize(
    "spec",
    [
        {"size": 10},
        {"size": "10k"},
        {"url": "https://a\u00a0b"},
        {"inner": {"maybe": None}},
        {"inner": {"count": 1.0}},  # an integral float is an integer to the server (not to Draft 4)
        {"size": 10.0},
    ],
)
def test_schema_acceptances(spec: dict[str, Any]) -> None:
    assert EVALUATOR.evaluate(thing(spec)) == []


def test_required_fields_are_reported_at_their_own_path() -> None:
    evaluator = CrdEvaluator(crd({"type": "object", "required": ["a", "b"], "properties": {"a": {"type": "string"}}}))
    assert evaluator.evaluate(thing({"b": None})) == [
        Failure("spec.b", 'unknown field "spec.b"'),
        Failure("spec.a", "Required value"),
        Failure("spec.b", "Required value"),
    ]


def test_re2_patterns() -> None:
    assert re2_pattern("^a$").search("a") and not re2_pattern("^a$").search("a\n")
    assert not re2_pattern(r"^\s$").search("\u00a0") and re2_pattern(r"^[^\s]$").search("\u00a0")
    assert re2_pattern(r"^[\d]+$").search("12") and not re2_pattern(r"^\d$").search("\u0663")
    assert re2_pattern("^[$]$").search("$")


# --- CEL rules --------------------------------------------------------------------------------------

RULED: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "low": {"type": "integer"},
        "high": {"type": "integer"},
        "mode": {"type": "string", "enum": ["On", "Off"]},
        "name": {"type": "string", "maxLength": 10},
        "ports": {
            "type": "array",
            "maxItems": 4,
            "items": {
                "type": "object",
                "properties": {"port": {"type": "integer"}},
                "x-kubernetes-validations": [{"rule": "self.port > 0", "message": "port must be positive"}],
            },
        },
    },
    "x-kubernetes-validations": [
        {
            "rule": "!has(self.low) || !has(self.high) || self.low <= self.high",
            "message": "low must not exceed high",
            "messageExpression": "string(self.low) + ' exceeds ' + string(self.high)",
            "fieldPath": ".low",
        },
        {
            "rule": "!has(self.name) || self.name != 'bad'",
            "messageExpression": "self.nothing + 'x'",
            "message": "no bad",
        },
        {"rule": "!has(self.mode) || {'On': true}[self.mode]", "message": "mode must be On"},
    ],
}
CEL: Final = CrdEvaluator(crd(RULED))


def test_a_false_rule_fails_at_its_field_path_with_its_message_expression() -> None:
    evaluation = CEL.evaluate_detailed(thing({"low": 5, "high": 2}))
    assert evaluation.rules == (Failure("spec.low", "5 exceeds 2"),)


def test_a_failing_message_expression_falls_back_to_the_message() -> None:
    assert CEL.evaluate(thing({"name": "bad"})) == [Failure("spec", "no bad")]


def test_an_evaluation_error_is_a_failure() -> None:
    failures = CEL.evaluate(thing({"mode": "Off"}))
    assert [failure.path for failure in failures] == ["spec"]
    assert "evaluating rule" in failures[0].message


def test_rules_of_list_items_run_on_each_item() -> None:
    assert CEL.evaluate(thing({"ports": [{"port": 1}, {"port": 0}]})) == [
        Failure("spec.ports[1]", "port must be positive")
    ]


def test_rules_are_skipped_after_a_blocking_error_but_not_after_others() -> None:
    blocked = CEL.evaluate_detailed(thing({"low": 5, "high": 2, "name": "x" * 11}))  # maxLength: blocking
    assert not blocked.rules_checked and blocked.rules == (Failure("", NOT_CHECKED),)
    evaluator = CrdEvaluator(
        crd({**RULED, "properties": {**RULED["properties"], "name": {"type": "string", "pattern": "^a$"}}})
    )
    checked = evaluator.evaluate_detailed(thing({"low": 5, "high": 2, "name": "b"}))  # pattern: not blocking
    assert checked.rules_checked and checked.rules == (Failure("spec.low", "5 exceeds 2"),)


def test_field_paths() -> None:
    assert parse_field_path(".a.b") == ["a", "b"]
    assert parse_field_path(".a['x.y'][0]") == ["a", "x.y", 0]
    with pytest.raises(ValueError, match="cannot parse"):
        parse_field_path("a.b")
