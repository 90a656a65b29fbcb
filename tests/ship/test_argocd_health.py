"""The Argo CD health check for ErpSyncSchedule, run by a real Lua interpreter the way Argo CD runs it.

Argo CD (util/lua/lua.go) runs a custom health script in gopher-lua, a Lua 5.1, with only the base,
package and table libraries unless `useOpenLibs` is set: it sets the live object as the global
`obj` (a table converted from its JSON), runs the script's chunk and reads `status` and `message`
from the table the chunk returns. Here the chunk runs in lupa's Lua 5.1 with the same globals and
without the string library (gopher-lua gives strings no methods without it), so a script that
would fail in Argo CD fails here.
"""

import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest
import yaml

ROOT: Final = Path(__file__).resolve().parents[2]
CUSTOMIZATION: Final = ROOT / "gitops" / "argocd" / "erpsync.io" / "ErpSyncSchedule"
SCRIPT: Final = CUSTOMIZATION / "health.lua"
HEALTH_TESTS: Final = CUSTOMIZATION / "health_test.yaml"
GITOPS_DOC: Final = ROOT / "docs" / "gitops.md"
CONFIG_MAP_KEY: Final = "resource.customizations.health.erpsync.io_ErpSyncSchedule"
# lupa has no type information; its Lua 5.1 module, the version gopher-lua implements.
LUA51: Final[Any] = importlib.import_module("lupa.lua51")
# gitops-engine's health codes; anything else Argo CD turns into Unknown ("invalid health status").
VALID_STATUSES: Final = frozenset({"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"})

# gopher-lua's base library (OpenBase) and package library (OpenPackage), as Argo CD opens them.
_SANDBOX: Final = """
local script, obj = ...
local env = {}
for _, name in ipairs({
  "assert", "collectgarbage", "dofile", "error", "getfenv", "getmetatable", "ipairs", "load",
  "loadfile", "loadstring", "module", "next", "pairs", "pcall", "print", "rawequal", "rawget",
  "rawset", "require", "select", "setfenv", "setmetatable", "tonumber", "tostring", "type",
  "unpack", "xpcall", "_VERSION",
}) do
  env[name] = _G[name]
end
env._G = env
env.package = package
env.table = {}
for name, fn in pairs(table) do
  env.table[name] = fn
end
env.obj = obj
-- gopher-lua gives strings their metatable (s:sub(), s:find()) only with the string library.
debug.setmetatable("", nil)
local chunk, err = loadstring(script, "=health.lua")
if not chunk then
  error(err, 0)
end
setfenv(chunk, env)
return chunk()
"""


@dataclass(frozen=True)
class Health:
    status: str
    message: str | None


def _to_lua(lua: Any, value: object, path: str = "obj") -> object:
    """Argo CD's decodeValue: objects and arrays become tables (arrays 1-based), null becomes nil."""
    if isinstance(value, Mapping):
        table = lua.table()
        for key, item in value.items():
            assert isinstance(key, str), f"{path}: non-string key {key!r}"
            table[key] = _to_lua(lua, item, f"{path}.{key}")
        return table
    if isinstance(value, list):
        table = lua.table()
        for index, item in enumerate(value):
            table[index + 1] = _to_lua(lua, item, f"{path}[{index}]")
        return table
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise AssertionError(f"{path}: {type(value).__name__} is not a JSON value (quote timestamps in fixtures)")


def run_health(obj: Mapping[str, Any] | None, script: str | None = None) -> Health:
    """Run the health script on `obj` as Argo CD does; a Lua error propagates as lupa's LuaError."""
    lua = LUA51.LuaRuntime(register_eval=False, register_builtins=False)
    sandbox = lua.execute(f"return function(...) {_SANDBOX} end")
    returned = sandbox(SCRIPT.read_text() if script is None else script, _to_lua(lua, obj))
    kind = LUA51.lua_type(returned)
    assert kind == "table", f"expect table output from Lua script, not {kind}"
    status, message = returned["status"], returned["message"]
    assert isinstance(status, str) and status in VALID_STATUSES, f"Lua returned an invalid health status: {status!r}"
    assert message is None or isinstance(message, str), f"message is a {type(message).__name__}"
    return Health(status, message)


def load_object(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text())
    assert isinstance(loaded, dict)
    return loaded


def _health_tests() -> list[dict[str, Any]]:
    loaded = yaml.safe_load(HEALTH_TESTS.read_text())
    assert isinstance(loaded, dict) and set(loaded) == {"tests"}
    tests = loaded["tests"]
    assert isinstance(tests, list) and tests
    return tests


HEALTH_TEST_CASES: Final = _health_tests()


@pytest.mark.parametrize("case", HEALTH_TEST_CASES, ids=[str(case["inputPath"]) for case in HEALTH_TEST_CASES])
def test_health_test_yaml_case(case: dict[str, Any]) -> None:
    assert set(case) == {"healthStatus", "inputPath"}
    assert set(case["healthStatus"]) == {"status", "message"}
    fixture = load_object(CUSTOMIZATION / case["inputPath"])
    assert fixture["apiVersion"] == "erpsync.io/v1alpha1" and fixture["kind"] == "ErpSyncSchedule"
    assert run_health(fixture) == Health(case["healthStatus"]["status"], case["healthStatus"]["message"])


def test_every_fixture_is_a_case_and_every_branch_is_covered() -> None:
    used = {case["inputPath"] for case in HEALTH_TEST_CASES}
    present = {f"testdata/{path.name}" for path in (CUSTOMIZATION / "testdata").glob("*.yaml")}
    assert used == present
    assert {case["healthStatus"]["status"] for case in HEALTH_TEST_CASES} == {
        "Healthy",
        "Progressing",
        "Degraded",
        "Suspended",
    }


def test_fixture_conditions_are_complete_metav1_conditions() -> None:
    reasons: set[str] = set()
    for path in sorted((CUSTOMIZATION / "testdata").glob("*.yaml")):
        for condition in (load_object(path).get("status") or {}).get("conditions") or []:
            assert set(condition) == {"type", "status", "reason", "message", "observedGeneration", "lastTransitionTime"}
            assert condition["type"] in {"Ready", "Reconciling", "Stalled", "Healthy"}, path.name
            assert condition["status"] in {"True", "False", "Unknown"}, path.name
            reasons.add(condition["reason"])
    assert reasons >= {
        "Succeeded",
        "Progressing",
        "ProgressingWithRetry",
        "InvalidSpec",
        "Forbidden",
        "RunsHealthy",
        "RunFailed",
        "RunOverdue",
    }


def _condition(type_: str, status: str, reason: str, message: str, generation: int = 3) -> dict[str, Any]:
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
        "lastTransitionTime": "2026-06-01T12:00:00Z",
    }


_MISSING: Final = object()


def _with(fixture: str, changes: Mapping[str, object]) -> dict[str, Any]:
    """testdata/<fixture>.yaml with each dotted path (list items by index) set to its value; `_MISSING` removes it."""
    body = load_object(CUSTOMIZATION / "testdata" / f"{fixture}.yaml")
    for path, value in changes.items():
        *parents, last = path.split(".")
        node: Any = body
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        elif value is _MISSING:
            node.pop(last, None)
        else:
            node[last] = value
    return body


def _healthy_with_conditions(*conditions: object) -> dict[str, Any]:
    return _with("healthy", {"status.conditions": list(conditions)})


NO_CONDITIONS: Final = Health(
    "Progressing", "Waiting for the erp-sync operator to handle this schedule (no status conditions yet)"
)
IN_SYNC: Final = Health("Healthy", "4 CronJobs in sync")


def _waiting_for(generation: int, observed: int | None = None) -> Health:
    seen = "no status.observedGeneration yet" if observed is None else f"status is for generation {observed}"
    return Health("Progressing", f"Waiting for the erp-sync operator to handle generation {generation} ({seen})")


TRICKY: Final[list[tuple[str, dict[str, Any] | None, Health]]] = [
    ("obj is nil", None, NO_CONDITIONS),
    ("empty object", {}, NO_CONDITIONS),
    ("no metadata, spec or status", {"apiVersion": "erpsync.io/v1alpha1", "kind": "ErpSyncSchedule"}, NO_CONDITIONS),
    ("no spec", _with("healthy", {"spec": _MISSING}), IN_SYNC),
    ("spec.suspend false", _with("healthy", {"spec.suspend": False}), IN_SYNC),
    ("spec.suspend a string", _with("healthy", {"spec.suspend": "true"}), IN_SYNC),
    ("no metadata", _with("healthy", {"metadata": _MISSING}), IN_SYNC),
    ("generation missing", _with("healthy", {"metadata.generation": _MISSING}), IN_SYNC),
    (
        "generation missing, status default",
        _with("healthy", {"metadata.generation": _MISSING, "status": {"observedGeneration": -1}}),
        NO_CONDITIONS,
    ),
    ("status empty", _with("healthy", {"status": {}}), NO_CONDITIONS),
    ("status not an object", _with("healthy", {"status": "Ready"}), NO_CONDITIONS),
    ("conditions an empty list", _healthy_with_conditions(), NO_CONDITIONS),
    ("conditions missing", _with("healthy", {"status.conditions": _MISSING}), NO_CONDITIONS),
    ("conditions null", _with("healthy", {"status.conditions": None}), NO_CONDITIONS),
    ("conditions a map", _with("healthy", {"status.conditions": {"Ready": "True"}}), NO_CONDITIONS),
    ("conditions without type", _healthy_with_conditions({}, "Ready", 7, {"status": "True"}), NO_CONDITIONS),
    ("observedGeneration missing", _with("healthy", {"status.observedGeneration": _MISSING}), _waiting_for(3)),
    ("observedGeneration -1 with conditions", _with("healthy", {"status.observedGeneration": -1}), _waiting_for(3)),
    ("observedGeneration not a number", _with("healthy", {"status.observedGeneration": "three"}), _waiting_for(3)),
    ("observedGeneration ahead of generation", _with("healthy", {"status.observedGeneration": 4}), IN_SYNC),
    ("Ready with only a type", _healthy_with_conditions({"type": "Ready"}), Health("Degraded", "Ready is not set")),
    (
        "Ready True without message",
        _healthy_with_conditions({"type": "Ready", "status": "True", "reason": "Succeeded"}),
        Health("Healthy", "Ready is True (reason Succeeded)"),
    ),
    (
        "Ready message not a string",
        _healthy_with_conditions({"type": "Ready", "status": "True", "message": 4}),
        Health("Healthy", "4"),
    ),
    (
        "Ready message a table",
        _healthy_with_conditions({"type": "Ready", "status": "True", "message": {"a": 1}}),
        Health("Healthy", "Ready is True"),
    ),
    (
        "Ready missing",
        _healthy_with_conditions(_condition("Healthy", "True", "RunsHealthy", "no failed run")),
        Health("Degraded", "No Ready condition in status"),
    ),
    (
        "Ready Unknown without Reconciling",
        _healthy_with_conditions(_condition("Ready", "Unknown", "Progressing", "applying generation 3")),
        Health("Degraded", "applying generation 3"),
    ),
    ("Healthy Unknown does not degrade", _with("healthy", {"status.conditions.1.status": "Unknown"}), IN_SYNC),
    (
        "Stalled False is ignored",
        _healthy_with_conditions(
            _condition("Ready", "True", "Succeeded", "4 CronJobs in sync"), _condition("Stalled", "False", "x", "y")
        ),
        IN_SYNC,
    ),
    (
        "first condition of a type wins",
        _healthy_with_conditions(
            _condition("Ready", "True", "Succeeded", "first"), _condition("Ready", "False", "Failed", "second")
        ),
        Health("Healthy", "first"),
    ),
    (
        "Stalled without message",
        _healthy_with_conditions({"type": "Stalled", "status": "True", "reason": "InvalidSpec"}),
        Health("Degraded", "Stalled is True (reason InvalidSpec)"),
    ),
    (
        "Reconciling without reason",
        _healthy_with_conditions({"type": "Reconciling", "status": "True", "message": "applying"}),
        Health("Progressing", "Reconciling: applying"),
    ),
]

EVERY_SYNC_SUSPENDED: Final = (
    "Every scheduled sync is suspended (vendors, jobs, jobCosts, invoicePayments); their CronJobs are kept with "
    "suspend: true"
)
RETRY_MESSAGE: Final = (
    "patch CronJob erp-sync/acme-generic-vendors: 503 Service Unavailable: the server is currently unable to handle "
    "the request"
)
ALL_SUSPENDED_IN_SYNC: Final = Health(
    "Healthy", "4 CronJobs in sync; suspended: vendors, jobs, jobCosts, invoicePayments"
)

# The generation first; then, for the observed generation: Stalled, Suspended, Reconciling, Ready, Healthy.
PRECEDENCE: Final[list[tuple[str, dict[str, Any], Health]]] = [
    (
        "a lagging generation before Stalled (a fixed spec)",
        _with("stalled", {"metadata.generation": 6}),
        _waiting_for(6, 5),
    ),
    ("a lagging generation before Suspended", _with("suspended", {"metadata.generation": 3}), _waiting_for(3, 2)),
    (
        "a lagging generation before Healthy=False",
        _with("run-overdue", {"status.observedGeneration": _MISSING}),
        _waiting_for(3),
    ),
    ("a lagging generation before Ready=True", _with("healthy", {"metadata.generation": 9}), _waiting_for(9, 3)),
    (
        "the Reconciling of an older generation is not this one's",
        _with("reconciling-retry", {"metadata.generation": 4, "status.conditions.1.observedGeneration": 3}),
        _waiting_for(4, 3),
    ),
    (
        "Stalled before Suspended",
        _with(
            "suspended",
            {"status.conditions.1": _condition("Stalled", "True", "Forbidden", "creating CronJob x: 403 Forbidden", 2)},
        ),
        Health("Degraded", "creating CronJob x: 403 Forbidden"),
    ),
    (
        "Suspended before Reconciling",
        _with(
            "suspended",
            {"status.conditions.1": _condition("Reconciling", "True", "ProgressingWithRetry", "retrying", 2)},
        ),
        Health("Suspended", EVERY_SYNC_SUSPENDED),
    ),
    (
        "spec.suspend alone is not Suspended: status says what took effect",
        _with("healthy", {"spec.suspend": True}),
        IN_SYNC,
    ),
    (
        "one scheduled sync not suspended is not Suspended",
        _with("suspended", {"status.syncs.jobs.suspended": False}),
        ALL_SUSPENDED_IN_SYNC,
    ),
    (
        "a sync that is Never does not count",
        _with("suspended", {"status.syncs.jobs.suspended": False, "status.syncs.jobs.schedule": _MISSING}),
        Health(
            "Suspended",
            "Every scheduled sync is suspended (vendors, jobCosts, invoicePayments); their CronJobs are kept with "
            "suspend: true",
        ),
    ),
    (
        "no scheduled sync is not Suspended",
        _with("suspended", {"status.syncs": {"vendors": {"frequency": "Never", "suspended": True}}}),
        ALL_SUSPENDED_IN_SYNC,
    ),
    (
        "Reconciling before Healthy=False",
        _with(
            "reconciling-retry",
            {
                "status.conditions.2": _condition(
                    "Healthy", "False", "RunFailed", "vendors: Failed: BackoffLimitExceeded"
                )
            },
        ),
        Health("Progressing", f"ProgressingWithRetry: {RETRY_MESSAGE}"),
    ),
    (
        "Ready not True before Healthy=False",
        _with(
            "ready-false",
            {
                "status.conditions": [
                    _condition("Ready", "False", "Failed", "quota exceeded"),
                    _condition("Healthy", "False", "RunFailed", "vendors: Failed"),
                ]
            },
        ),
        Health("Degraded", "quota exceeded"),
    ),
    (
        "Reconciling before Ready=True",
        _healthy_with_conditions(
            _condition("Ready", "True", "Succeeded", "4 CronJobs in sync"),
            _condition("Reconciling", "True", "Progressing", "repairing drift"),
        ),
        Health("Progressing", "Progressing: repairing drift"),
    ),
]


@pytest.mark.parametrize(
    ("obj", "expected"), [(o, e) for _, o, e in TRICKY + PRECEDENCE], ids=[n for n, _, _ in TRICKY + PRECEDENCE]
)
def test_tricky_inputs_and_first_match_wins(obj: dict[str, Any] | None, expected: Health) -> None:
    assert run_health(obj) == expected


@pytest.mark.parametrize(
    "script",
    [
        'return {status = string.upper("healthy")}',
        'local s = "Healthy"; return {status = s:sub(1)}',
        "return {status = os.date()}",
        'io.write("x"); return {status = "Healthy"}',
        "return {status = tostring(math.floor(1))}",
        "return {status = obj.status.phase}",
    ],
)
def test_sandbox_refuses_what_argo_cd_refuses(script: str) -> None:
    with pytest.raises(LUA51.LuaError):
        run_health({"apiVersion": "erpsync.io/v1alpha1"}, script)


def test_sandbox_runs_what_argo_cd_runs() -> None:
    script = 'local t = {}; table.insert(t, obj.kind); return {status = "Healthy", message = tostring(#t) .. t[1]}'
    assert run_health({"kind": "ErpSyncSchedule"}, script) == Health("Healthy", "1ErpSyncSchedule")


def test_script_names_no_library_argo_cd_leaves_out() -> None:
    code = "\n".join(line.split("--", 1)[0] for line in SCRIPT.read_text().splitlines())
    assert not re.search(r"\b(string|math|os|io|debug|coroutine|utf8)\s*\.", code)
    assert not re.search(r"[\w\)\]\"']\s*:\s*[A-Za-z_]\w*\s*\(", code), "string methods need the string library"


def test_docs_config_map_carries_the_script() -> None:
    """docs/gitops.md's argocd-cm snippet holds health.lua verbatim."""
    blocks = re.findall(r"```yaml\n(.*?)```", GITOPS_DOC.read_text(), flags=re.DOTALL)
    config_maps = [
        document
        for block in blocks
        for document in yaml.safe_load_all(block)
        if isinstance(document, dict) and document.get("kind") == "ConfigMap"
    ]
    scripts = [cm["data"][CONFIG_MAP_KEY] for cm in config_maps if CONFIG_MAP_KEY in (cm.get("data") or {})]
    assert len(scripts) == 1
    assert config_maps[0]["metadata"]["name"] == "argocd-cm"
    assert scripts[0] == SCRIPT.read_text()
