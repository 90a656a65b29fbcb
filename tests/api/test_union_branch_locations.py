"""Problems name the field, even a field or map key named like one of pydantic's union-branch tags.

Pydantic puts a segment naming the branch (`int`, `constrained-str`, `function-before[...]`) into the
location of each error of a union, the int-or-string quantity here. `validate_object` drops that
segment, and only that one: a field or map key called `int`, `str` or `constrained-str` stays in the
path, as the API server names it (`spec.int: unknown field`).
"""

import re
from typing import Any, Final

import pytest
from pydantic import ValidationError

from erpsync.api.models import LABEL_KEY_PATTERN, ErpSyncSchedule
from erpsync.api.validation import validate_object
from tests.support.specs import schedule, with_value


def _quantity_branch_tags() -> frozenset[str]:
    """The segments pydantic names the branches of a quantity with, read from a refused quantity."""
    body = with_value(schedule(), ("spec", "worker", "resources", "limits", "cpu"), True)
    with pytest.raises(ValidationError) as raised:
        ErpSyncSchedule.model_validate(body)
    return frozenset(str(error["loc"][-1]) for error in raised.value.errors())


BRANCH_TAGS: Final = _quantity_branch_tags()
# The names of the branch tags of pydantic versions past and present, and of the ones in use.
NAMES: Final = sorted({"int", "str", "constrained-str", *BRANCH_TAGS})


def test_a_quantity_has_two_branch_tags() -> None:
    assert len(BRANCH_TAGS) == 2, BRANCH_TAGS


def _fields(body: dict[str, Any]) -> list[str]:
    return [problem.field for problem in validate_object(body).problems]


@pytest.mark.parametrize("name", NAMES)
def test_an_unknown_field_named_like_a_branch_is_named(name: str) -> None:
    assert _fields(with_value(schedule(), ("spec", name), 1)) == [f"spec.{name}"]
    assert _fields(schedule(syncs={"vendors": {name: 1}})) == [f"spec.syncs.vendors.{name}"]
    assert _fields(schedule(worker={"resources": {name: {}}})) == [f"spec.worker.resources.{name}"]
    assert _fields(schedule(worker={"tolerations": [{name: 1}]})) == [f"spec.worker.tolerations[0].{name}"]
    assert _fields(with_value(schedule(), ("metadata", name), "x")) == [f"metadata.{name}"]


def test_the_unknown_field_message_names_it_and_what_is_allowed() -> None:
    (problem,) = validate_object(schedule(int=1)).problems
    assert str(problem) == (
        'spec.int: unknown field "int"; allowed: erp, procore, erpConnection, timeZone, suspend, syncs, worker'
    )


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    "value", ["abc", 1.5, True, 2**63, [], {}], ids=["bad-string", "fraction", "bool", "int64-overflow", "list", "dict"]
)
def test_a_bad_quantity_under_a_key_named_like_a_branch_is_named_once(name: str, value: Any) -> None:
    # The quantity's own branch tag comes after the key and is dropped; the key is kept.
    body = schedule(worker={"resources": {"limits": {name: value}}})
    assert _fields(body) == [f"spec.worker.resources.limits.{name}"]


@pytest.mark.parametrize("name", NAMES)
def test_a_good_quantity_under_a_key_named_like_a_branch_is_accepted(name: str) -> None:
    body = schedule(worker={"resources": {"requests": {name: "500m"}, "limits": {name: 2}}})
    assert validate_object(body).problems == ()


@pytest.mark.parametrize("name", NAMES)
def test_a_map_entry_named_like_a_branch_is_named(name: str) -> None:
    assert _fields(schedule(worker={"nodeSelector": {name: 1}})) == [f"spec.worker.nodeSelector.{name}"]
    if re.fullmatch(LABEL_KEY_PATTERN, name):  # else its key is refused as well
        assert _fields(with_value(schedule(), ("metadata", "labels", name), 1)) == [f"metadata.labels.{name}"]


QUANTITY_PROBLEMS: Final = {
    "abc": '"abc" is not a Kubernetes quantity, such as 500m, 1, "2Gi"',
    "x" * 65: f"{'x' * 65!r} is too long; allowed: at most 64 characters".replace("'", '"'),
    2.5: 'expected a Kubernetes quantity (an integer or a string such as "500m"), got the number 2.5',
    True: 'expected a Kubernetes quantity (an integer or a string such as "500m"), got the boolean true',
    2**63: "9223372036854775808 is too large; allowed: <= 9223372036854775807",
    -(2**63) - 1: "-9223372036854775809 is too small; allowed: >= -9223372036854775808",
}


@pytest.mark.parametrize(("value", "message"), QUANTITY_PROBLEMS.items(), ids=[str(v)[:8] for v in QUANTITY_PROBLEMS])
def test_a_bad_quantity_is_one_problem_of_the_branch_that_fits_the_value(value: Any, message: str) -> None:
    # Both branches refuse; the string's error is said for a string, the integer's for anything else.
    problems = validate_object(schedule(worker={"resources": {"limits": {"cpu": value}}})).problems
    assert [str(problem) for problem in problems] == [f"spec.worker.resources.limits.cpu: {message}"]
