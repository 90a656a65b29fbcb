"""`erp-sync validate|plan|render` on hostile or mistaken input: every refusal names the file (or
flag), the value and what is allowed; nothing raises through to the user; every input is bounded."""

import re
import time
import tracemalloc
from pathlib import Path
from typing import Final

import pytest
import yaml
from click.testing import CliRunner, Result

from erpsync.api import manifests
from erpsync.api.models import ResourceRequirements
from erpsync.cli import main
from erpsync.planning.cronjobs import WorkerDefaults
from tests.support.specs import EXAMPLES, schedule

VALID: Final = yaml.safe_dump(schedule(name="fine", namespace="tenant-a"), sort_keys=False)
INVALID: Final = yaml.safe_dump(
    schedule(name="bad", namespace="tenant-a", syncs={"jobs": {"frequency": "Weekly"}}), sort_keys=False
)


def invoke(*arguments: str, stdin: bytes | str | None = None) -> Result:
    # catch_exceptions=False: an exception (a traceback for the user) fails the test.
    return CliRunner().invoke(main, list(arguments), input=stdin, catch_exceptions=False)


def put(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# --- 8: non-UTF-8 files -----------------------------------------------------------------------

NOT_UTF8: Final = {
    "latin-1": "metadata:\n  name: caf\u00e9\n".encode("latin-1"),
    "utf-16": VALID.encode("utf-16"),
    "binary": bytes(range(256)) * 4,
}


@pytest.mark.parametrize("data", NOT_UTF8.values(), ids=NOT_UTF8.keys())
def test_a_file_that_is_not_utf8_is_refused_and_the_others_are_still_checked(tmp_path: Path, data: bytes) -> None:
    alone = put(tmp_path / "alone.yaml", data)
    result = invoke("validate", "-f", str(alone))
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert re.fullmatch(rf"{re.escape(str(alone))}: not UTF-8 text \(byte \d+ cannot be decoded\)", line), line

    folder = tmp_path / "folder"
    encoded = put(folder / "a-encoded.yaml", data)
    invalid = put(folder / "b-invalid.yaml", INVALID)
    put(folder / "c-valid.yaml", VALID)
    result = invoke("validate", "-f", str(folder))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"{encoded}: not UTF-8 text"), lines
    assert [line for line in lines[1:] if line.startswith(f"{invalid}: tenant-a/bad: spec.syncs.jobs.frequency")]
    for command in ("plan", "render"):
        refused = invoke(command, "-f", str(encoded))
        assert refused.exit_code == 1 and refused.stderr.startswith(f"{encoded}: not UTF-8 text")


def test_stdin_that_is_not_utf8_is_refused() -> None:
    result = invoke("validate", "-f", "-", stdin=NOT_UTF8["latin-1"])
    assert result.exit_code == 1
    assert result.stderr.startswith("-: not UTF-8 text")


REFUSED_FILES: Final = {
    "larger-than-the-bound": (
        "# " + "x" * manifests.MAX_FILE_BYTES + "\n",
        [f"larger than {manifests.MAX_FILE_BYTES} bytes; allowed: at most {manifests.MAX_FILE_BYTES} bytes"],
    ),
    "a-list-as-a-key": (
        "[a]: 1\n",
        [
            "not valid YAML: line 1, column 1: a mapping key must be a scalar (a string, number or boolean), "
            "not a list or object"
        ],
    ),
    "documents-that-are-not-objects": (
        f"- 1\n---\n42\n---\n{VALID}---\nkind: List\nitems: [42, null]\n---\n# empty\n",
        [
            "document 1: expected an object (a Kubernetes manifest), got a list of 1 item(s)",
            "document 2: expected an object (a Kubernetes manifest), got the number 42",
            "document 4: items[0]: expected an object (a Kubernetes manifest), got the number 42",
            "document 4: items[1]: expected an object (a Kubernetes manifest), got null",
        ],
    ),
    "list-items-not-a-list": (
        "kind: List\nitems: nope\n",
        ['document 1: items: expected a list of objects, got the string "nope"'],
    ),
}


@pytest.mark.parametrize(("content", "problems"), REFUSED_FILES.values(), ids=REFUSED_FILES.keys())
def test_a_file_that_cannot_be_read_as_manifests_is_refused_in_one_line_per_problem(
    tmp_path: Path, content: str, problems: list[str]
) -> None:
    path = put(tmp_path / "refused.yaml", content)
    result = invoke("validate", "-f", str(path))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"{path}: {problem}" for problem in problems]


# --- 9: --now out of range --------------------------------------------------------------------


@pytest.mark.parametrize("now", ["9999-12-31T23:59:00Z", "9998-12-31T23:59:59-14:00", "0001-01-01T00:00:00+01:00"])
def test_plan_refuses_a_now_out_of_range(now: str) -> None:
    result = invoke("plan", "-f", str(EXAMPLES), "--now", now)
    assert result.exit_code == 2
    assert "--now" in result.stderr and repr(now) in result.stderr and "out of range; allowed: from" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("now", ["9998-12-31T23:59:59Z", "1970-01-01T00:00:00Z"])
def test_plan_accepts_the_ends_of_the_range(now: str) -> None:
    result = invoke("plan", "-f", str(EXAMPLES), "--now", now, "-o", "json")
    assert result.exit_code == 0, result.stderr


# --- 11: duplicate keys are decided on YAML's scalars ------------------------------------------

CONFIG_MAP: Final = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n"


def test_yes_and_1_are_two_keys_not_a_duplicate(tmp_path: Path) -> None:
    path = put(tmp_path / "keys.yaml", f"{VALID}---\n{CONFIG_MAP}  yes: 1\n  1: 2\n")
    result = invoke("validate", "-f", str(path))
    assert result.exit_code == 0, result.stderr
    bodies = [document.body for document in manifests.load_documents(path.read_text(), "keys.yaml")]
    # Read, not refused (Python's dict then holds one entry for the two keys, as True == 1 there).
    assert [body for body in bodies if isinstance(body, dict) and body.get("kind") == "ConfigMap"]


@pytest.mark.parametrize(
    ("first", "second"), [("1", "0x1"), ("yes", "true"), (".nan", ".NaN"), ("a", '"a"'), ("1.0", "1.00")]
)
def test_keys_that_yaml_types_alike_are_duplicates(tmp_path: Path, first: str, second: str) -> None:
    path = put(tmp_path / "keys.yaml", f"{VALID}---\n{CONFIG_MAP}  {first}: 1\n  {second}: 2\n")
    result = invoke("validate", "-f", str(path))
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert (
        line.startswith(f"{path}: not valid YAML: line {VALID.count(chr(10)) + 7}, column 3: ")
        and f"duplicate key {second.strip(chr(34))}" in line
    )


# --- 10: documents that are not objects; the worker image flag ----------------------------------


def invoke_with_bad_flag(command: str, flag: str, value: str, monkeypatch: pytest.MonkeyPatch) -> Result:
    """`render -f EXAMPLES` or `operator -A` with `flag value`; the operator starting fails the test."""
    from erpsync.controller import runner

    def never_run(**_: object) -> None:
        raise AssertionError(f"the operator started with a bad {flag}")

    monkeypatch.setattr(runner, "run_operator", never_run)
    arguments = ["-f", str(EXAMPLES)] if command == "render" else ["-A"]
    return invoke(command, *arguments, flag, value)


@pytest.mark.parametrize("image", ["", "registry.example.com/worker:1\n", "a\nb", " worker", "Upper/Case:1", "x" * 513])
@pytest.mark.parametrize("command", ["render", "operator"])
def test_a_bad_worker_image_is_refused(command: str, image: str, monkeypatch: pytest.MonkeyPatch) -> None:
    result = invoke_with_bad_flag(command, "--worker-image", image, monkeypatch)
    assert result.exit_code == 2
    assert "--worker-image" in result.stderr and "is not a container image reference; allowed:" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("image", "shown"),
    [
        ("registry.example.com/worker:1\n", r'"registry.example.com/worker:1\n"'),
        ("a\nb", r'"a\nb"'),
        (" worker", '" worker"'),
        ("worker\t", r'"worker\t"'),
        ("worker\x00", r'"worker\u0000"'),
        ("worker\u2028", r'"worker\u2028"'),  # a line separator is shown escaped: the problem stays one line
        ("worker\u0085", r'"worker\u0085"'),
    ],
)
def test_a_spec_worker_image_with_whitespace_or_control_characters_is_refused(
    tmp_path: Path, image: str, shown: str
) -> None:
    body = schedule(name="fine", namespace="tenant-a", worker={"image": image})
    path = put(tmp_path / "image.yaml", yaml.safe_dump(body, sort_keys=False))
    for command in ("validate", "plan", "render"):
        result = invoke(command, "-f", str(path))
        assert result.exit_code == 1
        assert result.stderr.splitlines() == [
            f"{path}: tenant-a/fine: spec.worker.image: {shown} is not a container image reference "
            "(printable ASCII, no spaces or control characters, such as registry.example.com/team/worker:1.2)"
        ]
        assert result.stdout == ""


@pytest.mark.parametrize(
    "image", ["worker", "registry.example.com:5000/team/worker:1.2", "ghcr.io/a/b@sha256:" + "0" * 64, "localhost/w"]
)
def test_a_good_worker_image_is_used(image: str) -> None:
    result = invoke("render", "-f", str(EXAMPLES / "generic.yaml"), "--worker-image", image)
    assert result.exit_code == 0, result.stderr
    assert f"image: {image}\n" in result.stdout


# --- 6: the workers' default resources (--worker-resources) -----------------------------------------

PLATFORM_RESOURCES: Final = '{"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": 2, "memory": "2Gi"}}'


def test_worker_resources_are_the_default_of_schedules_without_their_own(tmp_path: Path) -> None:
    own = {"requests": {"memory": "1Gi"}}
    put(tmp_path / "a.yaml", VALID)
    put(tmp_path / "b.yaml", yaml.safe_dump(schedule(name="own", namespace="tenant-a", worker={"resources": own})))
    result = invoke("render", "-f", str(tmp_path), "--worker-resources", PLATFORM_RESOURCES)
    assert result.exit_code == 0, result.stderr
    resources = {
        cron_job["metadata"]["labels"]["erpsync.io/schedule"]: cron_job["spec"]["jobTemplate"]["spec"]["template"][
            "spec"
        ]["containers"][0]["resources"]
        for cron_job in yaml.safe_load_all(result.stdout)
    }
    assert resources == {"fine": yaml.safe_load(PLATFORM_RESOURCES), "own": own}


def test_the_operator_plans_with_its_worker_resources(monkeypatch: pytest.MonkeyPatch) -> None:
    from erpsync.controller import runner

    started: dict[str, object] = {}
    monkeypatch.setattr(runner, "run_operator", lambda **arguments: started.update(arguments))
    result = invoke(
        "operator", "-A", "--worker-resources", PLATFORM_RESOURCES, "--worker-image", "registry.example/w:1"
    )
    assert result.exit_code == 0, result.stderr
    assert started["worker_defaults"] == WorkerDefaults(
        "registry.example/w:1", ResourceRequirements.model_validate(yaml.safe_load(PLATFORM_RESOURCES))
    )
    invoke("operator", "-A")
    assert started["worker_defaults"] == WorkerDefaults()  # the built-in image and resources


BAD_RESOURCES: Final = {
    "": "not JSON: Expecting value: line 1 column 1 (char 0)",
    "{requests: {}}": "not JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
    "[]": "expected an object, got []",
    "null": "expected an object, got null",
    '{"limits": {"cpu": "lots"}}': 'limits.cpu: "lots" is not a Kubernetes quantity, such as 500m, 1, "2Gi"',
    '{"limits": {"cpu": 0.5}}': 'limits.cpu: expected a Kubernetes quantity (an integer or a string such as "500m"), '
    "got the number 0.5",
    '{"limit": {"cpu": "1"}}': 'limit: unknown field "limit"; allowed: limits, requests',
    '{"requests": ["cpu"]}': 'requests: expected an object, got the list ["cpu"]',
    "[" * 100_000: "not JSON: nested too deeply",
}


@pytest.mark.parametrize(("value", "problem"), BAD_RESOURCES.items(), ids=[v[:30] for v in BAD_RESOURCES])
@pytest.mark.parametrize("command", ["render", "operator"])
def test_bad_worker_resources_are_refused(
    command: str, value: str, problem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = invoke_with_bad_flag(command, "--worker-resources", value, monkeypatch)
    assert result.exit_code == 2
    shown = repr(value if len(value) <= 100 else value[:100] + "...")
    assert result.stderr.splitlines()[-1] == (
        f"Error: Invalid value for '--worker-resources': {shown} is refused: {problem}; allowed: a JSON object "
        "with the fields of spec.worker.resources, limits and requests, each a map of at most 16 Kubernetes "
        'quantities, such as {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": '
        '"512Mi"}}'
    )
    assert "Traceback" not in result.output
    assert result.stdout == ""


# --- 7: YAML bombs, the C loader --------------------------------------------------------------


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    lines = ["  worker:", "    tolerations:", "    - &a0 {key: k, operator: Exists}"]
    lines += [f"    - &a{level} [" + ", ".join([f"*a{level - 1}"] * width) + "]" for level in range(1, levels + 1)]
    return VALID.split("  syncs:")[0] + "\n".join(lines) + "\n"


def test_a_yaml_bomb_is_refused_quickly_and_in_little_memory(tmp_path: Path) -> None:
    bomb = put(tmp_path / "bomb.yaml", billion_laughs())
    assert bomb.stat().st_size < 1000
    tracemalloc.start()
    started = time.monotonic()
    try:
        result = invoke("validate", "-f", str(bomb))
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.exit_code == 1
    # Refused at the anchor whose expansion passes the bound (the values before it count too): &a5.
    line = 1 + next(index for index, text in enumerate(bomb.read_text().splitlines()) if "&a5 [" in text)
    assert result.stderr.splitlines() == [
        f"{bomb}: line {line}: too large: more than {manifests.MAX_NODES} values (aliases expanded); "
        f"allowed: at most {manifests.MAX_NODES}"
    ]
    assert elapsed < 2 and peak < 200 * 1024 * 1024, (elapsed, peak)


def test_a_megabyte_of_values_is_answered_quickly(tmp_path: Path) -> None:
    items = "    - {key: k, operator: Exists}\n" * 30_000
    big = put(tmp_path / "big.yaml", VALID.split("  syncs:")[0] + "  worker:\n    tolerations:\n" + items)
    started = time.monotonic()
    result = invoke("validate", "-f", str(big))
    assert time.monotonic() - started < 2
    assert result.exit_code == 1 and "too large: more than" in result.stderr


def test_aliases_within_the_bound_are_read(tmp_path: Path) -> None:
    path = put(tmp_path / "alias.yaml", billion_laughs(levels=1, width=3))
    result = invoke("validate", "-f", str(path))
    assert "too large" not in result.stderr
    [document] = manifests.read_manifests([path])
    assert document.body["spec"]["worker"]["tolerations"][1] == [{"key": "k", "operator": "Exists"}] * 3  # type: ignore[index]


RECURSIVE_ALIASES: Final = {
    "list": "    tolerations: &x [*x]\n",
    "mapping": "    nodeSelector: &a {k: *a}\n",
    "deeper": "    tolerations: &t\n    - key: k\n      value: [1, [*t]]\n",
}


@pytest.mark.parametrize("command", ["validate", "plan", "render"])
@pytest.mark.parametrize("worker", RECURSIVE_ALIASES.values(), ids=RECURSIVE_ALIASES.keys())
def test_a_recursive_alias_is_refused_quickly(tmp_path: Path, command: str, worker: str) -> None:
    # PyYAML builds a value that contains itself; nothing after the loader can show or check that.
    path = put(tmp_path / "a-recursive.yaml", VALID.split("  syncs:")[0] + "  worker:\n" + worker)
    put(tmp_path / "b-other.yaml", INVALID)  # still checked
    alias_line = VALID.split("  syncs:")[0].count("\n") + 1 + worker.count("\n")
    started = time.monotonic()
    result = invoke(command, "-f", str(tmp_path))
    assert time.monotonic() - started < 2
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    anchor = worker.split("&")[1][0]
    assert lines[0] == (
        f"{path}: line {alias_line}: recursive alias *{anchor}: an alias refers to the node that contains it; "
        "allowed: aliases to nodes that end before them"
    )
    assert lines[1].startswith(f"{tmp_path / 'b-other.yaml'}: tenant-a/bad: ")
    assert result.stdout == ""


def test_an_alias_to_a_complete_sibling_is_not_recursive(tmp_path: Path) -> None:
    path = put(tmp_path / "sibling.yaml", f"{CONFIG_MAP}  a: &a x\n  b: *a\n  c: &c [*a]\n  d: [*c, *c]\n")
    [document] = manifests.read_manifests([path])
    assert document.body["data"] == {"a": "x", "b": "x", "c": ["x"], "d": [["x"], ["x"]]}  # type: ignore[index]


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML without libyaml")
def test_the_c_loader_and_dumper_are_used() -> None:
    assert issubclass(manifests._StrictLoader, yaml.CSafeLoader)
    assert manifests._BaseDumper is yaml.CSafeDumper


# --- 12: validate as a CI gate ----------------------------------------------------------------


def test_a_missing_path_is_an_error(tmp_path: Path) -> None:
    put(tmp_path / "valid.yaml", VALID)
    result = invoke("validate", "-f", str(tmp_path / "missing"), "-f", str(tmp_path), "--allow-empty")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"{tmp_path / 'missing'}: no such file or directory"]


NO_SCHEDULE: Final = "error: no ErpSyncSchedule found in the given files; give --allow-empty to accept that"
OTHER_KIND: Final = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"


@pytest.mark.parametrize("command", ["validate", "plan", "render"])
@pytest.mark.parametrize(
    ("content", "given"),
    [(None, "folder"), (OTHER_KIND, "folder"), (OTHER_KIND, "file"), ("# nothing\n---\n", "file")],
    ids=["empty-folder", "folder-without-schedule", "file-without-schedule", "empty-file"],
)
def test_input_without_schedules_fails_unless_allowed(
    tmp_path: Path, command: str, content: str | None, given: str
) -> None:
    # validate, plan and render are all CI gates: none of them passes having read nothing.
    if content is not None:
        put(tmp_path / "manifests.yaml", content)
    path = str(tmp_path / "manifests.yaml" if given == "file" else tmp_path)
    result = invoke(command, "-f", path)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [NO_SCHEDULE]
    assert result.stdout == ""
    allowed = invoke(command, "-f", path, "--allow-empty", *(["-o", "json"] if command == "plan" else []))
    assert allowed.exit_code == 0, allowed.stderr
    assert allowed.stderr.splitlines() == (["0 ErpSyncSchedule(s) valid"] if command == "validate" else [])
    assert allowed.stdout == {"validate": "", "plan": "[]\n", "render": ""}[command]


def test_recursive_reads_subdirectories(tmp_path: Path) -> None:
    put(tmp_path / "top.yaml", VALID)
    nested = put(tmp_path / "a" / "b" / "nested.yaml", INVALID)
    flat = invoke("validate", "-f", str(tmp_path))
    assert flat.exit_code == 0 and "1 ErpSyncSchedule(s) valid" in flat.stderr
    for flag in ("-R", "--recursive"):
        deep = invoke("validate", "-f", str(tmp_path), flag)
        assert deep.exit_code == 1
        assert [line.split(": ")[0] for line in deep.stderr.splitlines()] == [str(nested)]
    assert invoke("plan", "-R", "-f", str(tmp_path)).exit_code == 1
    assert invoke("render", "-R", "-f", str(tmp_path)).exit_code == 1


def test_a_syntax_error_does_not_hide_the_other_files_problems(tmp_path: Path) -> None:
    broken = put(tmp_path / "a-broken.yaml", "spec: [\n")
    invalid = put(tmp_path / "b-invalid.yaml", INVALID)
    result = invoke("validate", "-f", str(tmp_path))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"{broken}: not valid YAML: line 2, column 1: ")
    assert lines[1].startswith(f"{invalid}: tenant-a/bad: spec.syncs.jobs.frequency: ")
    assert len(lines) == 2


def test_the_same_namespace_and_name_in_two_files_is_an_error(tmp_path: Path) -> None:
    first = put(tmp_path / "first.yaml", VALID)
    second = put(tmp_path / "second.yaml", VALID)
    put(tmp_path / "other-namespace.yaml", VALID.replace("namespace: tenant-a", "namespace: tenant-b"))
    result = invoke("validate", "-f", str(tmp_path))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{second}: tenant-a/fine: metadata.name: fine in namespace tenant-a is also defined in {first} "
        "(document 1); allowed: one ErpSyncSchedule per namespace and name"
    ]
    assert invoke("render", "-f", str(tmp_path)).exit_code == 1
