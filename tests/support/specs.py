"""ErpSyncSchedule bodies for the tests: the minimal valid one, path edits and hypothesis strategies."""

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from hypothesis import strategies as st

from erpsync.api.models import ErpSyncSchedule
from erpsync.api.profiles import PROFILES
from erpsync.api.validation import validate_object
from erpsync.api.vocabulary import ERP_NAMES, SYNC_NAMES, ErpName

REPOSITORY: Final = Path(__file__).resolve().parents[2]
CRD_FILE: Final = REPOSITORY / "crds" / "erpsyncschedules.erpsync.io.yaml"
EXAMPLES: Final = REPOSITORY / "examples"

FieldPath = tuple[str | int, ...]


def schedule(erp: str = "Generic", *, name: str = "acme", namespace: str = "erp-sync", **spec: Any) -> dict[str, Any]:
    """A minimal valid ErpSyncSchedule (the one builder of the tests); `spec` keys are merged into its spec."""
    body: dict[str, Any] = {
        "apiVersion": "erpsync.io/v1alpha1",
        "kind": "ErpSyncSchedule",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "erp": erp,
            # ErpConnector: every sync of the profile can be scheduled (PublicApi, the default, has no job costs)
            "procore": {
                "companyId": 42,
                "credentialsSecretRef": {"name": "procore-credentials"},
                "mode": "ErpConnector",
            },
            "erpConnection": {"secretRef": {"name": "erp-database"}},
        },
    }
    body["spec"].update(copy.deepcopy(spec))
    return body


def validated(body: object) -> ErpSyncSchedule:
    """`body` through the same validation as `erp-sync validate` and the operator; fails the test when invalid."""
    result = validate_object(body)
    assert result.schedule is not None, [str(problem) for problem in result.problems]
    return result.schedule


def make_schedule(erp: str = "Generic", **fields: Any) -> ErpSyncSchedule:
    """`schedule(...)`, validated."""
    return validated(schedule(erp, **fields))


def full_schedule(erp: ErpName = "Generic") -> dict[str, Any]:
    """A valid schedule that sets every field of the spec (so every field location exists)."""
    syncs: dict[str, Any] = {}
    for sync in SYNC_NAMES:
        offer = PROFILES[erp].offer(sync)
        settings: dict[str, Any] = {"frequency": offer.default, "suspend": False, "runOn": "Both"}
        if offer.default == "Daily":
            settings["at"] = "05:30"
        syncs[sync] = settings
    syncs["jobs"]["createProjects"] = False  # True is refused in ErpConnector mode: new jobs are staged there
    syncs["jobCosts"]["costCodes"] = "Standard"
    return schedule(
        erp,
        timeZone="Europe/Paris",
        suspend=False,
        procore={
            "companyId": 562949953421312,
            "environment": "Sandbox",
            "apiUrl": "https://sandbox.procore.com",
            "loginUrl": "https://login-sandbox.procore.com",
            "credentialsSecretRef": {"name": "procore-credentials"},
            "mode": "ErpConnector",
        },
        erpConnection={"secretRef": {"name": "erp-database"}, "queriesConfigMapRef": {"name": "erp-queries"}},
        syncs=syncs,
        worker={
            "image": "ghcr.io/acme/erp-sync-worker:1.0",
            "imagePullPolicy": "IfNotPresent",
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": 1, "memory": "1Gi"}},
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "tolerations": [
                {"key": "dedicated", "operator": "Equal", "value": "erp", "effect": "NoSchedule"},
                {"operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            ],
            "concurrencyPolicy": "Replace",
            "startingDeadlineSeconds": 300,
            "activeDeadlineSeconds": 3600,
            "backoffLimit": 1,
            "successfulJobsHistoryLimit": 5,
            "failedJobsHistoryLimit": 5,
        },
    )


def with_value(body: dict[str, Any], path: FieldPath, value: Any) -> dict[str, Any]:
    """A copy of `body` with `value` at `path` (missing objects on the way are created)."""
    result = copy.deepcopy(body)
    node: Any = result
    for part in path[:-1]:
        if isinstance(node, dict) and not isinstance(node.get(part), dict | list):
            node[part] = {}
        node = node[part]
    node[path[-1]] = copy.deepcopy(value)
    return result


def without(body: dict[str, Any], path: FieldPath) -> dict[str, Any]:
    """A copy of `body` without the field at `path`."""
    result = copy.deepcopy(body)
    node: Any = result
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    return result


def locations(value: Any, path: FieldPath = ()) -> Iterator[FieldPath]:
    """Every field location (dict key or list index) inside `value`, depth first."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key)
            yield from locations(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*path, index)
            yield from locations(item, (*path, index))


def object_locations(value: Any, path: FieldPath = ()) -> Iterator[FieldPath]:
    """Every location of an object (dict) inside `value`, `value` itself included."""
    if isinstance(value, dict):
        yield path
        for key, item in value.items():
            yield from object_locations(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from object_locations(item, (*path, index))


# --- hypothesis strategies -------------------------------------------------------------------------

# Values that mean something somewhere in the spec, so that mutations often land near the valid space.
MEANINGFUL_STRINGS: Final = (
    "Hourly",
    "Every2Hours",
    "Every4Hours",
    "Daily",
    "Never",
    "hourly",
    "Generic",
    "ViewpointSpectrum",
    "UTC",
    "Europe/Paris",
    "Factory",
    "12:30",
    "7:30",
    "24:00",
    "500m",
    "1Gi",
    "yes",
    "true",
    "42",
    "procore-credentials",
    "Bad_Name",
    "https://api.procore.com",
    "Standard",
    "Forbid",
    "",
)

json_scalars: Final = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.integers(min_value=-5, max_value=200),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(MEANINGFUL_STRINGS),
    st.text(max_size=12),
)

# Values the API server could receive (JSON: string keys, no NaN or infinity).
json_values: Final = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(
            st.one_of(st.sampled_from(("name", "frequency", "at", "suspend")), st.text(max_size=8)),
            children,
            max_size=3,
        ),
    ),
    max_leaves=6,
)

# JSON-like values with string keys, NaN, infinities and integers of any size included.
loose_json_values: Final = st.recursive(
    st.one_of(json_scalars, st.floats(), st.integers(), st.text()),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(min_size=1, max_size=8), children, max_size=4)
    ),
    max_leaves=8,
)

# Anything JSON-like and then some: non-finite floats, huge integers, non-string keys (YAML allows them).
any_values: Final = st.recursive(
    st.one_of(
        json_scalars,
        st.floats(),
        st.integers(),
        st.text(),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=8), st.integers(), st.booleans(), st.none()), children, max_size=4),
    ),
    max_leaves=8,
)


@st.composite
def valid_schedules(draw: st.DrawFn) -> dict[str, Any]:
    """A valid schedule: any profile, any offered frequency (or none) per sync, `at` only when Daily."""
    erp: ErpName = draw(st.sampled_from(ERP_NAMES))
    body = full_schedule(erp) if draw(st.booleans()) else schedule(erp)
    syncs: dict[str, Any] = {}
    for sync in SYNC_NAMES:
        offer = PROFILES[erp].offer(sync)
        frequency = draw(st.one_of(st.none(), st.sampled_from(offer.frequencies)))
        settings: dict[str, Any] = {} if frequency is None else {"frequency": frequency}
        if (frequency or offer.default) == "Daily" and draw(st.booleans()):
            settings["at"] = f"{draw(st.integers(0, 23)):02d}:{draw(st.integers(0, 59)):02d}"
        if draw(st.booleans()):
            syncs[sync] = settings
    body["spec"]["syncs"] = syncs
    body["spec"]["timeZone"] = draw(st.sampled_from(("UTC", "America/New_York", "Asia/Kolkata", "Etc/GMT+5")))
    return body


@st.composite
def mutated_schedules(draw: st.DrawFn) -> dict[str, Any]:
    """A valid schedule with one to three edits of its spec: a value replaced, a field removed or an
    unknown field added."""
    body = draw(valid_schedules())
    for _ in range(draw(st.sampled_from((1, 1, 1, 2, 3)))):
        operation = draw(st.sampled_from(("replace", "replace", "remove", "add")))
        if not isinstance(body.get("spec"), dict):
            break
        if operation == "add":
            where = draw(st.sampled_from([("spec", *path) for path in object_locations(body["spec"])]))
            key = draw(
                st.one_of(
                    st.sampled_from(("extra", "Frequency", "time_zone", "at", "name")), st.text(min_size=1, max_size=8)
                )
            )
            body = with_value(body, (*where, key), draw(st.one_of(st.none(), json_values)))
            continue
        spots = [("spec", *path) for path in locations(body["spec"])] or [("spec",)]
        where = draw(st.sampled_from(spots))
        if operation == "remove":
            body = without(body, where)
        else:
            body = with_value(body, where, draw(st.one_of(st.none(), st.sampled_from(MEANINGFUL_STRINGS), json_values)))
    return body
