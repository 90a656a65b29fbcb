"""Properties of `validate_object` and of manifest reading, whatever the input.

- No input makes `validate_object` raise: arbitrary JSON-like values (None, booleans, integers huge or
  not, floats including NaN and infinities, unicode strings, lists, dicts, non-string keys) at the top
  level and at every field location of a valid spec.
- Every problem names a field path, and its message names the offending value or what is allowed.
- Typing is strict, as on the API server: `suspend: "yes"`, `companyId: "42"`, `companyId: 42.5` and
  `suspend: 1` are refused (an integral float, `companyId: 42.0`, is an integer to the server: accepted).
- YAML: duplicate keys are refused with a clear error; an unquoted `at: 12:30` (750 to YAML 1.1) is
  refused with a message showing the quoted "12:30"; malformed input only ever raises ManifestError.
"""

import math
import re
import sys
from collections.abc import Iterator
from typing import Any, Final

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from erpsync.api.manifests import ManifestError, load_documents
from erpsync.api.validation import Problem, Validated, show, validate_object
from tests.api.crd_corpus import full_connector_schedule
from tests.support.specs import any_values, locations, loose_json_values, schedule, with_value

FULL: Final = full_connector_schedule()
# The top-level fields and every field location of a valid spec that sets every field.
LOCATIONS: Final = [path for path in locations(FULL) if path[:1] != ("status",)]
PROPERTY_SETTINGS: Final = settings(
    max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


def _nested_lists(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def _recursive_list() -> list[Any]:
    # What PyYAML builds for `&x [*x]`.
    value: list[Any] = []
    value.append(value)
    return value


NASTY_VALUES: Final[dict[str, Any]] = {
    "null": None,
    "true": True,
    "zero": 0,
    "negative": -1,
    "int64-overflow": 2**63,
    "int-2**200": 2**200,
    "int-5000-digits": 10**5000,  # beyond Python's int-to-str limit: str() and json.dumps() raise
    "float": 1.5,
    "float-whole": 42.0,
    "nan": math.nan,
    "infinity": math.inf,
    "-infinity": -math.inf,
    "empty-string": "",
    "unicode": "fréquence ☃ \U0001f600",
    "lone-surrogate": "\ud800",
    "nul-char": "UTC\x00",
    "long-string": "x" * 100_000,
    "empty-list": [],
    "list-of-null": [None],
    "empty-dict": {},
    "dict-of-null": {"a": None},
    "non-string-keys": {1: "a", None: "b", False: "c", (1, 2): "d"},
    "nested-600": _nested_lists(600),
    "nested-5000": _nested_lists(5000),
    "recursive-list": _recursive_list(),
}


@pytest.fixture(autouse=True)
def _python_default_recursion_limit() -> Iterator[None]:
    """Run with Python's default recursion limit, as `erp-sync validate` does.

    A library or test module that raised the limit for the session would hide depth problems.
    """
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    yield
    sys.setrecursionlimit(previous)


def _validate(body: object) -> Validated:
    """validate_object, failing the test with the input when it raises anything."""
    try:
        return validate_object(body)
    except BaseException as error:  # the property under test: nothing escapes
        pytest.fail(f"validate_object raised {type(error).__name__}: {str(error)[:300]}")


# --- No input makes validate_object raise ----------------------------------------------------------


@pytest.mark.parametrize("value", NASTY_VALUES.values(), ids=NASTY_VALUES.keys())
def test_no_value_at_the_top_level_or_any_field_location_raises(value: Any) -> None:
    _validate(value)
    for path in LOCATIONS:
        _validate(with_value(FULL, path, value) if not _is_deep(value) else _placed(FULL, path, value))
    # and as an unknown field of every object
    _validate(_placed(FULL, ("spec", "worker", "extra"), value))


def _is_deep(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and isinstance(value[0], list)


def _placed(body: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    """`with_value` without deep-copying `value` (which cannot be copied when deeply nested or recursive)."""
    result = with_value(body, path, None)
    node: Any = result
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return result


@PROPERTY_SETTINGS
@given(any_values)
def test_no_top_level_value_raises(value: Any) -> None:
    _validate(value)


def test_an_unknown_field_with_an_empty_name_is_named() -> None:
    # JSON allows an empty key; the problem must still point somewhere (the API server says `unknown field ""`).
    problems = _validate({**schedule(), "": 1}).problems
    assert problems
    assert all(problem.field for problem in problems), problems


@PROPERTY_SETTINGS
@given(st.sampled_from(LOCATIONS), any_values)
def test_no_value_at_a_field_location_raises(path: tuple[str | int, ...], value: Any) -> None:
    _validate(with_value(FULL, path, value))


@PROPERTY_SETTINGS
@given(any_values, st.sampled_from([("spec",), ("spec", "syncs", "jobs"), ("spec", "worker"), ("metadata",)]))
def test_no_unknown_field_raises(value: Any, where: tuple[str, ...]) -> None:
    _validate(with_value(FULL, (*where, "extra"), value))


# --- Every problem names the field, and the value or what is allowed ------------------------------


def drop_nulls(value: object) -> object:
    """The body as the models read it: null-valued fields dropped (the API server prunes them)."""
    if isinstance(value, dict):
        return {key: drop_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [drop_nulls(item) for item in value]
    return value


def _lookup(node: object, field: str) -> tuple[bool, object]:
    """(found, value) of the field at `field` (`spec.worker.nodeSelector.kubernetes.io/os`, `a.b[0]`).

    Map keys may contain dots, so the longest key that fits is taken at each level.
    """
    if not field:
        return True, node
    index = re.match(r"\[(\d+)\]", field)
    if index:
        position = int(index.group(1))
        if isinstance(node, list) and position < len(node):
            return _lookup(node[position], field[index.end() :].removeprefix("."))
        return False, None
    if not isinstance(node, dict):
        return False, None
    for key in sorted((k for k in node if isinstance(k, str)), key=len, reverse=True):
        rest = field[len(key) :]
        if field.startswith(key) and (not rest or rest[0] in ".["):
            found, value = _lookup(node[key], rest.removeprefix("."))
            if found:
                return found, value
    return False, None


def problem_defects(body: object, problem: Problem) -> list[str]:
    """What the problem's message fails to say (empty when it names the field and the value or what is allowed)."""
    defects: list[str] = []
    if not problem.field or not problem.message:
        return ["an empty field or message"]
    # The models read the body with its nulls dropped (as the API server prunes them), and show that.
    found, value = _lookup(body, problem.field)
    if not found:
        found, value = _lookup(drop_nulls(body), problem.field)
    says_allowed = "allowed" in problem.message
    if found:
        if show(value) not in problem.message and not says_allowed:
            defects.append(f"names neither the value {show(value)} nor what is allowed")
    elif not (says_allowed or "missing" in problem.message):
        defects.append("names neither that the field is missing nor what is allowed")
    return defects


@pytest.mark.parametrize("value", NASTY_VALUES.values(), ids=NASTY_VALUES.keys())
def test_every_problem_names_the_field_and_the_value_or_what_is_allowed(value: Any) -> None:
    if _is_deep(value) or (isinstance(value, int) and abs(value) > 10**4000):
        pytest.skip("covered by the no-raise test (the value cannot be shown)")
    if isinstance(value, dict) and not all(isinstance(key, str) for key in value):
        pytest.skip("non-string keys have no JSON path; covered by the no-raise test")
    failures: list[str] = []
    for path in LOCATIONS:
        body = with_value(FULL, path, value)
        for problem in _validate(body).problems:
            failures += [f"{problem}: {defect}" for defect in problem_defects(body, problem)]
    assert not failures, "\n".join(sorted(set(failures)))


@PROPERTY_SETTINGS
@given(st.sampled_from(LOCATIONS), loose_json_values)
def test_every_problem_of_a_random_value_names_it(path: tuple[str | int, ...], value: Any) -> None:
    body = with_value(FULL, path, value)
    problems = _validate(body).problems
    failures = [f"{problem}: {defect}" for problem in problems for defect in problem_defects(body, problem)]
    assert not failures, "\n".join(failures)


def test_the_message_property_can_fail() -> None:
    body = schedule(suspend="yes")
    assert problem_defects(body, Problem("spec.suspend", "expected a boolean")) != []
    assert problem_defects(body, Problem("spec.suspend", 'expected a boolean, got the string "yes"')) == []
    assert problem_defects(body, Problem("spec.nothing", "is wrong")) != []


# --- Strict typing ---------------------------------------------------------------------------------

STRICT_CASES: Final = {
    'suspend: "yes"': (("spec", "suspend"), "yes"),
    "suspend: 1": (("spec", "suspend"), 1),
    'suspend: "true"': (("spec", "suspend"), "true"),
    'companyId: "42"': (("spec", "procore", "companyId"), "42"),
    "companyId: 42.5": (("spec", "procore", "companyId"), 42.5),
    "companyId: 1e19": (("spec", "procore", "companyId"), 1e19),
    "companyId: true": (("spec", "procore", "companyId"), True),
    'syncs.vendors.suspend: "no"': (("spec", "syncs", "vendors", "suspend"), "no"),
    "syncs.jobs.createProjects: 0": (("spec", "syncs", "jobs", "createProjects"), 0),
    'worker.backoffLimit: "2"': (("spec", "worker", "backoffLimit"), "2"),
    "worker.backoffLimit: 2.5": (("spec", "worker", "backoffLimit"), 2.5),
    "worker.backoffLimit: true": (("spec", "worker", "backoffLimit"), True),
    "worker.resources.limits.cpu: true": (("spec", "worker", "resources", "limits", "cpu"), True),
    "timeZone: 0": (("spec", "timeZone"), 0),
    "metadata.labels: {app: 1}": (("metadata", "labels"), {"app": 1}),
}


@pytest.mark.parametrize("case", STRICT_CASES.values(), ids=STRICT_CASES.keys())
def test_strict_typing(case: tuple[tuple[str, ...], Any]) -> None:
    path, value = case
    problems = _validate(with_value(schedule(), path, value)).problems
    field = ".".join(path)
    assert [p.field for p in problems if p.field.startswith(field)], f"{field}={value!r} was accepted: {problems}"
    assert all(show(value) in p.message or "allowed" in p.message for p in problems if p.field == field)


def test_the_untyped_spellings_are_accepted() -> None:
    body = schedule(suspend=True, procore={"companyId": 42, "credentialsSecretRef": {"name": "procore"}})
    assert _validate(body).problems == ()


# --- YAML ------------------------------------------------------------------------------------------

HEAD: Final = """\
apiVersion: erpsync.io/v1alpha1
kind: ErpSyncSchedule
metadata:
  name: acme
spec:
  erp: Generic
  procore:
    companyId: 42
    credentialsSecretRef:
      name: procore-credentials
  erpConnection:
    secretRef:
      name: erp-database
"""


def _only_document(text: str) -> object:
    documents = load_documents(text, "acme.yaml")
    assert len(documents) == 1
    return documents[0].body


def test_the_yaml_head_is_valid() -> None:
    assert _validate(_only_document(HEAD)).problems == ()


@pytest.mark.parametrize(
    "text",
    [
        HEAD + "  erp: Xero\n",
        HEAD.replace("    companyId: 42\n", "    companyId: 42\n    companyId: 43\n"),
        HEAD + "metadata:\n  name: other\n",
    ],
    ids=["spec.erp", "spec.procore.companyId", "metadata"],
)
def test_duplicate_keys_are_refused_with_a_clear_error(text: str) -> None:
    with pytest.raises(ManifestError) as raised:
        load_documents(text, "acme.yaml")
    message = str(raised.value)
    assert "acme.yaml" in message
    assert "duplicate key" in message
    assert re.search(r"line \d+", message), message


@pytest.mark.parametrize(
    ("written", "said"),
    [("12:30", ['"12:30"']), ("9:05", ['"09:05"']), ("23:59", ['"23:59"']), ("24:00", ["1440", '"HH:MM"'])],
    ids=["quoted-time", "quoted-time-padded", "quoted-time-last-minute", "beyond-the-day-a-number"],
)
def test_an_unquoted_at_is_refused_with_the_quoted_time(written: str, said: list[str]) -> None:
    text = HEAD + f"  syncs:\n    invoicePayments:\n      frequency: Daily\n      at: {written}\n"
    problems = _validate(_only_document(text)).problems
    assert [p.field for p in problems] == ["spec.syncs.invoicePayments.at"]
    assert all(words in problems[0].message for words in said), problems[0].message


@pytest.mark.parametrize("written", ['"12:30"', "'12:30'", "04:30", "00:05"])
def test_a_quoted_at_is_accepted(written: str) -> None:
    # YAML 1.1's base-60 integers start with 1-9: an unquoted 04:30 or 00:05 stays a string.
    text = HEAD + f"  syncs:\n    invoicePayments:\n      frequency: Daily\n      at: {written}\n"
    assert _validate(_only_document(text)).problems == ()


MALFORMED_YAML: Final = {
    "unclosed-flow": HEAD + "  syncs: {vendors: [\n",
    "tab-indentation": HEAD + "\tsuspend: true\n",
    "recursive-mapping": HEAD + "  worker: &w\n    extra: *w\n",
    "integer-of-5000-digits": HEAD.replace("companyId: 42", "companyId: " + "9" * 5000),
    "nested-1000-deep": HEAD + "  syncs: " + "[" * 1000 + "]" * 1000 + "\n",
}


@pytest.mark.parametrize("text", MALFORMED_YAML.values(), ids=MALFORMED_YAML.keys())
def test_malformed_yaml_raises_only_manifest_error(text: str) -> None:
    try:
        documents = load_documents(text, "acme.yaml")
    except ManifestError as error:
        assert "acme.yaml" in str(error)
        return
    except BaseException as error:  # the property under test: nothing but ManifestError escapes
        pytest.fail(f"load_documents raised {type(error).__name__}: {str(error)[:200]}")
    for document in documents:
        _validate(document.body)


def test_a_recursive_yaml_alias_in_the_spec_is_refused_by_the_loader() -> None:
    # PyYAML would build a list that contains itself for `&x [*x]` (kubectl's decoder refuses such
    # input): the loader refuses it before it is built. validate_object still survives such a value
    # (NASTY_VALUES["recursive-list"]).
    with pytest.raises(ManifestError, match=r"^acme\.yaml: line \d+: recursive alias \*x: "):
        load_documents(HEAD + "  worker:\n    tolerations: &x [*x]\n", "acme.yaml")
