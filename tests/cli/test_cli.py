"""The `erp-sync` command: validate, plan, render and crd, through the real console script where it
matters (exit codes, stdin, byte-exact output) and click's runner elsewhere."""

import json
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import pytest
import yaml
from click.testing import CliRunner, Result

from erpsync.cli import main
from erpsync.planning.cron import next_runs
from erpsync.planning.cronjobs import DEFAULT_WORKER_IMAGE
from erpsync.planning.plan import plan_schedule
from tests.planning.builders import ERP_SYNC, example_files, load_schedules
from tests.support.specs import CRD_FILE, EXAMPLES, REPOSITORY, schedule

PLAN_KEYS: Final = ["namespace", "name", "sync", "frequency", "schedule", "timeZone", "cronJob", "nextRuns"]
TABLE_COLUMNS: Final = ["NAMESPACE", "NAME", "SYNC", "FREQUENCY", "SCHEDULE", "TIMEZONE", "CRONJOB", "NEXT RUNS"]
PROBLEM_LINE: Final = re.compile(
    r"^(?P<file>[^:]+): (?P<namespace>[^/: ]+)/(?P<name>[^/: ]+): (?P<field>[^: ]+): (?P<message>.+)$"
)
NOW: Final = "2026-03-08T06:00:00Z"  # 01:00 EST in New York, an hour before the clocks go forward


def erp_sync(*arguments: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a user runs it."""
    return subprocess.run(
        [str(ERP_SYNC), *arguments], input=stdin, capture_output=True, text=True, cwd=REPOSITORY, timeout=60
    )


def invoke(*arguments: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, list(arguments), input=stdin, catch_exceptions=False)


def write(path: Path, *bodies: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump_all(list(bodies), sort_keys=False), encoding="utf-8")
    return path


def spectrum_with_every_two_hours() -> dict[str, Any]:
    body = schedule(
        name="ridge", namespace="tenant-a", erp="ViewpointSpectrum", syncs={"vendors": {"frequency": "Every2Hours"}}
    )
    return body


needs_script = pytest.mark.skipif(not ERP_SYNC.exists(), reason="the erp-sync console script is not installed")


# --- validate -------------------------------------------------------------------------------


@needs_script
def test_validate_examples_exits_0() -> None:
    completed = erp_sync("validate", "-f", str(EXAMPLES))
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == ""
    assert f"{len(example_files())} ErpSyncSchedule(s) valid" in completed.stderr
    assert not any(PROBLEM_LINE.match(line) for line in completed.stderr.splitlines())


@needs_script
def test_validate_bad_file_exits_1_with_one_line_per_problem(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.yaml", spectrum_with_every_two_hours())
    completed = erp_sync("validate", "-f", str(bad))
    assert completed.returncode == 1
    assert completed.stderr.splitlines() == [
        f"{bad}: tenant-a/ridge: spec.syncs.vendors.frequency: Every2Hours is not offered by ViewpointSpectrum; "
        "allowed: Hourly, Every4Hours, Daily, Never"
    ]
    assert completed.stdout == ""


def test_validate_names_every_problem_with_its_full_path(tmp_path: Path) -> None:
    valid = schedule(name="fine", namespace="tenant-a")
    several = schedule(
        name="several", namespace="tenant-b", timeZone="Mars/Olympus_Mons", syncs={"jobs": {"at": "25:00"}}
    )
    several["spec"]["procore"]["companyId"] = "42"
    several["spec"]["procore"]["bogus"] = True
    del several["spec"]["erpConnection"]
    path = write(tmp_path / "several.yaml", valid, several)
    result = invoke("validate", "-f", str(path))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    parsed = [PROBLEM_LINE.match(line) for line in lines]
    assert all(parsed), lines
    assert {(m["file"], m["namespace"], m["name"]) for m in parsed if m} == {(str(path), "tenant-b", "several")}
    fields = {m["field"] for m in parsed if m}
    assert fields == {
        "spec.timeZone",
        "spec.procore.companyId",
        "spec.procore.bogus",
        "spec.erpConnection",
        "spec.syncs.jobs.at",
    }, lines
    by_field = {m["field"]: m["message"] for m in parsed if m}
    assert "Mars/Olympus_Mons" in by_field["spec.timeZone"]
    assert '"42"' in by_field["spec.procore.companyId"] and "integer" in by_field["spec.procore.companyId"]
    assert '"25:00"' in by_field["spec.syncs.jobs.at"] and "HH:MM" in by_field["spec.syncs.jobs.at"]


def test_validate_refuses_at_on_a_frequency_other_than_daily(tmp_path: Path) -> None:
    path = write(tmp_path / "at.yaml", schedule(name="clock", namespace="tenant-c", syncs={"jobs": {"at": "04:30"}}))
    result = invoke("validate", "-f", str(path))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{path}: tenant-c/clock: spec.syncs.jobs.at: "
        "04:30 is only allowed when the frequency is Daily; the frequency is Hourly"
    ]


def test_validate_explains_an_unquoted_time(tmp_path: Path) -> None:
    path = tmp_path / "at.yaml"
    text = yaml.safe_dump(schedule(name="clock", syncs={"invoicePayments": {"frequency": "Daily", "at": "X"}}))
    path.write_text(text.replace("at: X", "at: 12:30"), encoding="utf-8")
    result = invoke("validate", "-f", str(path))
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    match = PROBLEM_LINE.match(line)
    assert match and match["field"] == "spec.syncs.invoicePayments.at"
    assert "750" in match["message"] and '"12:30"' in match["message"]


def test_validate_f_is_repeatable_and_takes_directories(tmp_path: Path) -> None:
    first = write(tmp_path / "first.yaml", spectrum_with_every_two_hours())
    second_body = spectrum_with_every_two_hours()
    second_body["metadata"]["name"] = "second"
    second = write(tmp_path / "second.yaml", second_body)
    result = invoke("validate", "-f", str(EXAMPLES), "-f", str(first), "-f", str(second))
    assert result.exit_code == 1
    assert [line.split(": ")[0] for line in result.stderr.splitlines()] == [str(first), str(second)]
    directory = invoke("validate", "-f", str(tmp_path))
    assert directory.exit_code == 1
    assert {line.split(": ")[1] for line in directory.stderr.splitlines()} == {"tenant-a/ridge", "tenant-a/second"}
    ok = invoke("validate", "-f", str(EXAMPLES / "xero.yaml"), "-f", str(EXAMPLES / "cmic.yaml"))
    assert ok.exit_code == 0
    assert "2 ErpSyncSchedule(s) valid" in ok.stderr


@needs_script
def test_validate_reads_stdin() -> None:
    good = (EXAMPLES / "generic.yaml").read_text(encoding="utf-8")
    completed = erp_sync("validate", "-f", "-", stdin=good)
    assert completed.returncode == 0, completed.stderr
    bad = yaml.safe_dump(spectrum_with_every_two_hours())
    completed = erp_sync("validate", "-f", "-", stdin=f"{good}\n---\n{bad}")
    assert completed.returncode == 1
    [line] = completed.stderr.splitlines()
    assert line.startswith("-: tenant-a/ridge: spec.syncs.vendors.frequency: Every2Hours is not offered")


def test_validate_refuses_unreadable_input(tmp_path: Path) -> None:
    missing = invoke("validate", "-f", str(tmp_path / "missing.yaml"))
    assert missing.exit_code == 1 and "missing.yaml" in missing.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("spec: [\n", encoding="utf-8")
    result = invoke("validate", "-f", str(broken))
    assert result.exit_code == 1 and "broken.yaml" in result.stderr


# --- plan -----------------------------------------------------------------------------------


def plan_json(*arguments: str) -> list[dict[str, Any]]:
    result = invoke("plan", *arguments, "-o", "json")
    assert result.exit_code == 0, result.stderr
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def test_plan_json_has_exactly_the_documented_keys() -> None:
    rows = plan_json("-f", str(EXAMPLES), "--now", NOW)
    assert isinstance(rows, list) and len(rows) == 4 * len(example_files())
    for row in rows:
        assert list(row) == PLAN_KEYS
        if row["frequency"] == "Never":
            assert row["schedule"] is None and row["cronJob"] is None and row["nextRuns"] == []
        else:
            assert isinstance(row["schedule"], str) and isinstance(row["cronJob"], str)
            assert len(row["nextRuns"]) == 3
    assert {row["frequency"] for row in rows} == {"Hourly", "Every2Hours", "Every4Hours", "Daily", "Never"}


def test_plan_json_matches_the_planner() -> None:
    rows = plan_json("-f", str(EXAMPLES), "--now", NOW)
    expected = [
        (
            plan.namespace,
            plan.name,
            planned.sync,
            planned.frequency,
            planned.schedule,
            planned.time_zone,
            planned.cron_job_name,
        )
        for path in example_files()
        for schedule in load_schedules(path)
        for plan in [plan_schedule(schedule)]
        for planned in plan.syncs
    ]
    assert [tuple(row[key] for key in PLAN_KEYS[:-1]) for row in rows] == expected


def test_plan_next_runs_are_iso_8601_with_offset_and_follow_now() -> None:
    now = datetime.fromisoformat(NOW)
    for row in plan_json("-f", str(EXAMPLES), "--now", NOW):
        runs = [datetime.fromisoformat(text) for text in row["nextRuns"]]
        assert all(run.utcoffset() is not None for run in runs)
        assert all(text[-6] in "+-" and text[-3] == ":" for text in row["nextRuns"]), row["nextRuns"]
        assert all(run > now for run in runs) and runs == sorted(runs)
        if row["schedule"]:
            assert runs == next_runs(row["schedule"], row["timeZone"], now, 3)
            assert all(run.utcoffset() == run.astimezone(_zone(row["timeZone"])).utcoffset() for run in runs)


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def test_plan_shows_the_spring_forward_gap() -> None:
    rows = plan_json("-f", str(EXAMPLES / "quickbooks-desktop.yaml"), "--now", NOW)
    vendors = next(row for row in rows if row["sync"] == "vendors")
    assert vendors["schedule"] == "25 * * * *" and vendors["timeZone"] == "America/New_York"
    assert vendors["nextRuns"] == [
        "2026-03-08T01:25:00-05:00",
        "2026-03-08T03:25:00-04:00",
        "2026-03-08T04:25:00-04:00",
    ]


def test_plan_respects_now() -> None:
    later = datetime.fromisoformat(NOW) + timedelta(days=40, minutes=7)
    first = plan_json("-f", str(EXAMPLES), "--now", NOW)
    second = plan_json("-f", str(EXAMPLES), "--now", later.isoformat())
    assert [row["nextRuns"] for row in first] != [row["nextRuns"] for row in second]
    for row in second:
        assert all(datetime.fromisoformat(run) > later for run in row["nextRuns"])
    # A time without an offset is read as UTC.
    naive = plan_json("-f", str(EXAMPLES), "--now", "2026-03-08T06:00:00")
    assert naive == first
    offset = plan_json("-f", str(EXAMPLES), "--now", "2026-03-08T01:00:00-05:00")
    assert offset == first


def test_plan_without_now_uses_the_clock() -> None:
    before = datetime.now(UTC)
    for row in plan_json("-f", str(EXAMPLES / "generic.yaml")):
        runs = [datetime.fromisoformat(run) for run in row["nextRuns"]]
        assert before < runs[0] <= before + timedelta(days=1, minutes=1), row
        assert runs[-1] <= before + timedelta(days=3, minutes=1), row


def test_plan_refuses_a_bad_now() -> None:
    result = invoke("plan", "-f", str(EXAMPLES), "--now", "next tuesday")
    assert result.exit_code == 2
    assert "--now" in result.stderr and "ISO 8601" in result.stderr


def test_plan_refuses_invalid_schedules(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.yaml", spectrum_with_every_two_hours())
    result = invoke("plan", "-f", str(bad), "-o", "json")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "spec.syncs.vendors.frequency" in result.stderr


def test_plan_table_has_the_columns() -> None:
    result = invoke("plan", "-f", str(EXAMPLES), "--now", NOW)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == [word for column in TABLE_COLUMNS for word in column.split()]
    assert len(lines) == 1 + 4 * len(example_files())
    rows = plan_json("-f", str(EXAMPLES), "--now", NOW)
    for line, row in zip(lines[1:], rows, strict=True):
        cells = line.split()
        assert cells[:4] == [row["namespace"], row["name"], row["sync"], row["frequency"]]
        if row["schedule"]:
            assert row["schedule"] in line and row["cronJob"] in line and row["timeZone"] in line
            assert all(run in line for run in row["nextRuns"])
        else:
            assert cells[4:] == ["-", row["timeZone"], "-", "-"]


# --- render ---------------------------------------------------------------------------------


def rendered(*arguments: str) -> list[dict[str, Any]]:
    result = invoke("render", *arguments)
    assert result.exit_code == 0, result.stderr
    documents: list[dict[str, Any]] = [doc for doc in yaml.safe_load_all(result.stdout) if doc is not None]
    return documents


def test_render_prints_exactly_the_planned_cron_jobs() -> None:
    expected = [
        cron_job
        for path in example_files()
        for schedule in load_schedules(path)
        for cron_job in plan_schedule(schedule).cron_jobs
    ]
    assert rendered("-f", str(EXAMPLES)) == expected
    assert all(doc["kind"] == "CronJob" and doc["apiVersion"] == "batch/v1" for doc in expected)


@needs_script
def test_render_output_is_multi_document_yaml_without_anchors() -> None:
    completed = erp_sync("render", "-f", str(EXAMPLES))
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("---\n")
    assert "&id" not in completed.stdout and "*id" not in completed.stdout
    assert completed.stdout.count("\n---\n") + 1 == sum(
        len(plan_schedule(schedule).cron_jobs) for path in example_files() for schedule in load_schedules(path)
    )


def test_render_worker_image_applies_unless_the_spec_names_one(tmp_path: Path) -> None:
    own = schedule(name="own-image", worker={"image": "registry.example.com/own:1"})
    default = schedule(name="default-image")
    path = write(tmp_path / "two.yaml", own, default)

    def images(documents: list[dict[str, Any]]) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for doc in documents:
            containers = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
            found.setdefault(doc["metadata"]["labels"]["erpsync.io/schedule"], set()).update(
                container["image"] for container in containers
            )
        return found

    assert images(rendered("-f", str(path), "--worker-image", "registry.example.com/operator-default:2")) == {
        "own-image": {"registry.example.com/own:1"},
        "default-image": {"registry.example.com/operator-default:2"},
    }
    assert images(rendered("-f", str(path))) == {
        "own-image": {"registry.example.com/own:1"},
        "default-image": {DEFAULT_WORKER_IMAGE},
    }


def test_render_of_a_schedule_without_cron_jobs_prints_nothing() -> None:
    result = invoke("render", "-f", str(EXAMPLES / "sage-intacct.yaml"))
    assert result.exit_code == 0
    assert result.stdout == ""


def test_render_refuses_invalid_schedules(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.yaml", schedule(name="good"), spectrum_with_every_two_hours())
    result = invoke("render", "-f", str(bad))
    assert result.exit_code == 1
    assert result.stdout == ""  # nothing half-rendered


# --- crd ------------------------------------------------------------------------------------


@needs_script
def test_crd_prints_the_committed_file() -> None:
    completed = erp_sync("crd")
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == CRD_FILE.read_text(encoding="utf-8")


@pytest.mark.parametrize("kind", ["ErpSyncSchedules", "ErpSyncschedule", None], ids=["plural", "case", "missing"])
def test_validate_refuses_a_document_of_our_api_with_another_kind(tmp_path: Path, kind: str | None) -> None:
    # A manifest meant as an ErpSyncSchedule whose kind is misspelt (or missing) must not pass a CI
    # check: the API server would refuse it ("no matches for kind"), kubectl too.
    body = schedule(name="typo", namespace="tenant-d")
    if kind is None:
        del body["kind"]
    else:
        body["kind"] = kind
    path = write(tmp_path / "typo.yaml", body)
    result = invoke("validate", "-f", str(path))
    assert result.exit_code == 1, f"exit {result.exit_code}; stderr: {result.stderr!r}"
    matches = [PROBLEM_LINE.match(line) for line in result.stderr.splitlines()]
    assert any(match and match["field"] == "kind" for match in matches), result.stderr
