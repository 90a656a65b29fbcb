"""Integral floats are integers, as to the API server: `companyId: 42.0` is the integer 42.

JSON has one number type. kube-apiserver decodes a number written with a fraction or an exponent
(42.0, 1e2) as a float64, and its schema validation takes one with no fractional part for a `type:
integer` while float64 is exact (magnitude below 2**53, kube-openapi's IsFloat64AJSONInteger); it
stores the integer. ObjectMeta's integers are Go int64 fields, which take such a float below 2**63.
Fractions, larger floats, strings ("42") and booleans stay refused. Each case is judged by the models
(`Integer`, `OptionalInteger`, `ObjectMetaInteger` in models.py) and by a real kube-apiserver (a
server-side dry-run create, test_crd_server_parity's machinery): both must read the number so.
"""

import math
from typing import Any, Final

import pytest

from erpsync.api.validation import validate_object
from erpsync_testbed.client import ApiClient
from tests.api.crd_corpus import full_connector_schedule
from tests.api.test_crd_server_parity import ServerVerdict, dry_run_create, read_verdict
from tests.support.specs import FieldPath, locations, schedule, with_value

FULL: Final = full_connector_schedule()


def _at(value: Any, path: FieldPath) -> Any:
    for part in path:
        value = value[part]
    return value


def server_reads(api: ApiClient, body: dict[str, Any]) -> ServerVerdict:
    """The real server's verdict on creating `body` (dry run)."""
    return read_verdict(dry_run_create(api, body))


def stored(server: ServerVerdict, path: FieldPath) -> Any:
    """The value the server stored at `path` (it sets `metadata.generation` itself: not a spec value)."""
    assert server.accepted, server.describe()
    assert server.created is not None
    return _at(server.created, path)


# Every integer of a spec that sets every field: the integer fields and the int-or-string quantities.
INTEGER_LOCATIONS: Final = [path for path in locations(FULL) if type(_at(FULL, path)) is int and path[:1] == ("spec",)]


def test_the_integer_locations_cover_every_kind_of_integer_field() -> None:
    names = {str(path[-1]) for path in INTEGER_LOCATIONS}
    assert names == {
        "companyId",
        "cpu",  # an int-or-string quantity
        "tolerationSeconds",  # optional, in a list
        "startingDeadlineSeconds",
        "activeDeadlineSeconds",  # optional, with a minimum
        "backoffLimit",
        "successfulJobsHistoryLimit",
        "failedJobsHistoryLimit",
    }


COMPANY_ID: Final = ("spec", "procore", "companyId")
BACKOFF_LIMIT: Final = ("spec", "worker", "backoffLimit")
TOLERATING: Final = schedule(worker={"tolerations": [{"operator": "Exists"}]})
TOLERATION_SECONDS: Final = ("spec", "worker", "tolerations", 0, "tolerationSeconds")
CPU: Final = ("spec", "worker", "resources", "limits", "cpu")
GENERATION: Final = ("metadata", "generation")
EXACT_MAX: Final = 2**53 - 1  # the largest integral float64 whose neighbours are integers too

ACCEPTED: Final[dict[str, tuple[dict[str, Any], FieldPath, float, int]]] = {
    # Every integer location of FULL, written as a float.
    **{".".join(map(str, path)): (FULL, path, float(_at(FULL, path)), _at(FULL, path)) for path in INTEGER_LOCATIONS},
    "companyId: 42.0": (schedule(), COMPANY_ID, 42.0, 42),
    "companyId: 4.2e1": (schedule(), COMPANY_ID, 4.2e1, 42),
    "companyId: 2**53 - 1 as a float": (schedule(), COMPANY_ID, float(EXACT_MAX), EXACT_MAX),
    "backoffLimit: 1e2": (schedule(), BACKOFF_LIMIT, 1e2, 100),
    "backoffLimit: -0.0": (schedule(), BACKOFF_LIMIT, -0.0, 0),
    "tolerationSeconds: -3.0": (TOLERATING, TOLERATION_SECONDS, -3.0, -3),
    "tolerationSeconds: -(2**53 - 1) as a float": (TOLERATING, TOLERATION_SECONDS, -float(EXACT_MAX), -EXACT_MAX),
    "cpu: 2.0": (schedule(), CPU, 2.0, 2),
    "cpu: 1e15": (schedule(), CPU, 1e15, 10**15),
    "metadata.generation: 1.0": (schedule(), GENERATION, 1.0, 1),
    "metadata.generation: 1e18": (schedule(), GENERATION, 1e18, 10**18),
}


@pytest.mark.parametrize("case", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_an_integral_float_is_accepted(api: ApiClient, case: tuple[dict[str, Any], FieldPath, float, int]) -> None:
    base, path, value, integer = case
    body = with_value(base, path, value)
    validated = validate_object(body)
    assert validated.problems == ()
    assert validated.schedule is not None
    read = _at(validated.schedule.model_dump(mode="json", by_alias=True, exclude_none=True), path)
    assert type(read) is int and read == integer
    kept = stored(server_reads(api, body), path)
    if path[0] == "spec":  # the server sets metadata.generation itself on create
        assert type(kept) is int and kept == integer


REFUSED: Final[dict[str, tuple[dict[str, Any], FieldPath, Any]]] = {
    "companyId: 42.5": (schedule(), COMPANY_ID, 42.5),
    "companyId: 2**53 as a float": (schedule(), COMPANY_ID, float(2**53)),
    "companyId: 1e19": (schedule(), COMPANY_ID, 1e19),
    "companyId: 1e300": (schedule(), COMPANY_ID, 1e300),
    "companyId: nan": (schedule(), COMPANY_ID, math.nan),
    "companyId: inf": (schedule(), COMPANY_ID, math.inf),
    "companyId: 0.0 (below the minimum)": (schedule(), COMPANY_ID, 0.0),
    'companyId: "42"': (schedule(), COMPANY_ID, "42"),
    'companyId: "42.0"': (schedule(), COMPANY_ID, "42.0"),
    "companyId: true": (schedule(), COMPANY_ID, True),
    "backoffLimit: 101.0 (above the maximum)": (schedule(), BACKOFF_LIMIT, 101.0),
    "backoffLimit: 1.5": (schedule(), BACKOFF_LIMIT, 1.5),
    "tolerationSeconds: -(2**53) as a float": (TOLERATING, TOLERATION_SECONDS, -float(2**53)),
    "cpu: 2.5": (schedule(), CPU, 2.5),
    "cpu: 1e19": (schedule(), CPU, 1e19),
    "cpu: 2**63": (schedule(), CPU, 2**63),
    "cpu: false": (schedule(), CPU, False),
    "metadata.generation: 1.5": (schedule(), GENERATION, 1.5),
    "metadata.generation: 2**63 as a float": (schedule(), GENERATION, float(2**63)),
    "metadata.generation: -(2**63) as a float": (schedule(), GENERATION, -float(2**63)),
    "metadata.generation: 2**63": (schedule(), GENERATION, 2**63),
    'metadata.generation: "1"': (schedule(), GENERATION, "1"),
}


@pytest.mark.parametrize("case", REFUSED.values(), ids=REFUSED.keys())
def test_a_fraction_a_large_float_a_string_or_a_boolean_is_refused(
    api: ApiClient, case: tuple[dict[str, Any], FieldPath, Any]
) -> None:
    base, path, value = case
    body = with_value(base, path, value)
    field = ".".join(str(part) for part in path).replace(".0.", "[0].")
    assert [problem.field for problem in validate_object(body).problems] == [field]
    if not (isinstance(value, float) and not math.isfinite(value)):  # JSON has no NaN or infinity
        server = server_reads(api, body)
        assert field in server.fields, server.describe()


def test_a_whole_float_too_large_for_an_integer_says_to_write_the_digits() -> None:
    (problem,) = validate_object(with_value(schedule(), COMPANY_ID, 1e19)).problems
    assert problem.message.startswith("expected an integer, got the number 1e+19")
    assert "allowed: the integer written in digits" in problem.message
    (fraction,) = validate_object(with_value(schedule(), COMPANY_ID, 42.5)).problems
    assert fraction.message == "expected an integer, got the number 42.5"
