"""Every status value the operator writes fits the CRD's own schema of status, whatever the world holds.

The API server refuses a whole status patch when one value breaks the schema, so one hostile value
copied from a Job, a Pod, an annotation or a termination message would make every pass fail. Status
is checked here against the status schema of the committed CRD, with jsonschema: maxLength, maxItems,
enum and required as the server checks them; `format: date-time` with an RFC 3339 check of this
module's own (jsonschema checks date-time only when rfc3339-validator is installed, and it is not);
and integers against int64, the range the server decodes `type: integer` into.
"""

import asyncio
import copy
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Final, Literal

import jsonschema
import pytest
import yaml

from erpsync.api.vocabulary import SyncName
from erpsync.controller.bounds import TRUNCATED, fit_text, rfc3339, timestamp
from erpsync.controller.observed import Observed
from erpsync.controller.reconcile import Reconciler
from erpsync.controller.status import Outcome
from erpsync.controller.sync_now import SYNC_NOW_ANNOTATION, pending_request
from erpsync.controller.world import Kind, World
from erpsync.planning.cronjobs import labels
from erpsync.planning.plan import SchedulePlan, plan_schedule
from tests.support.fake_api import ApiServer
from tests.support.specs import CRD_FILE, schedule, validated
from tests.support.status import status_json

CRD: Final[dict[str, Any]] = yaml.safe_load(CRD_FILE.read_text(encoding="utf-8"))
STATUS_SCHEMA: Final[dict[str, Any]] = CRD["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]
INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
CONDITION_MESSAGE_MAX: Final = STATUS_SCHEMA["properties"]["conditions"]["items"]["properties"]["message"]["maxLength"]
RUN_SCHEMA: Final = STATUS_SCHEMA["properties"]["syncs"]["properties"]["jobCosts"]["properties"]["lastRun"]
RUN_MESSAGE_MAX: Final = RUN_SCHEMA["properties"]["message"]["maxLength"]
TRIGGER_MAX: Final = RUN_SCHEMA["properties"]["trigger"]["maxLength"]
ECHO_MAX: Final = STATUS_SCHEMA["properties"]["lastHandledSyncNow"]["maxLength"]
UNMANAGED_MAX: Final = STATUS_SCHEMA["properties"]["unmanagedCronJobs"]["maxItems"]

# RFC 3339 section 5.6 date-time (what kube-openapi's strfmt accepts as well); field ranges by fromisoformat.
_RFC3339: Final = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
FORMATS: Final = jsonschema.FormatChecker(formats=())


def _is_rfc3339(value: object) -> bool:
    if not isinstance(value, str):
        return True  # format applies to strings only; the type is checked on its own
    if not _RFC3339.fullmatch(value):
        return False
    datetime.fromisoformat(value.upper().replace("Z", "+00:00"))  # ValueError for month 13, hour 25, ...
    return True


FORMATS.checks("date-time", raises=ValueError)(_is_rfc3339)
VALIDATOR: Final = jsonschema.Draft4Validator(STATUS_SCHEMA, format_checker=FORMATS)


def _beyond_int64(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, int) and not isinstance(value, bool) and not INT64_MIN <= value <= INT64_MAX:
        yield f"{path}: {value} is beyond int64"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _beyond_int64(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _beyond_int64(item, f"{path}[{index}]")


def status_problems(status: dict[str, Any]) -> list[str]:
    """Why the API server would refuse `status` (empty when it accepts it)."""
    problems = [
        f"status.{'.'.join(map(str, error.absolute_path))}: {error.message[:200]}"
        for error in VALIDATOR.iter_errors(status)
    ]
    return problems + list(_beyond_int64(status, "status"))


_RUN: Final = {"jobName": "j", "trigger": "Scheduled", "result": "Failed"}


def test_the_status_check_can_fail() -> None:
    assert status_problems({"lastSyncTime": "2026-06-01T12:00:00Z", "lastHandledSyncNow": "☃" * ECHO_MAX}) == []
    planted: list[dict[str, Any]] = [
        {"lastSyncTime": "not-a-time"},
        {"lastSyncTime": "2026-06-01"},
        {"lastSyncTime": "2026-06-01T12:00:00"},  # no offset
        {"lastSyncTime": "2026-13-01T12:00:00Z"},
        {"lastHandledSyncNow": "x" * (ECHO_MAX + 1)},
        {"unmanagedCronJobs": ["a"] * (UNMANAGED_MAX + 1)},
        {"conditions": [{"type": "Ready", "status": "True", "reason": "R", "lastTransitionTime": "yesterday"}]},
        {"syncs": {"vendors": {"frequency": "Weekly"}}},
        {"syncs": {"vendors": {"frequency": "Never", "lastRun": {"jobName": "j", "result": "Failed"}}}},
        {"syncs": {"jobs": {"frequency": "Never", "lastRun": {**_RUN, "trigger": "x" * (TRIGGER_MAX + 1)}}}},
        {"syncs": {"jobs": {"frequency": "Never", "lastRun": {**_RUN, "counts": {"read": 2**63}}}}},
    ]
    assert [len(status_problems(status)) for status in planted] == [1] * len(planted)


# --- Building status from a hostile world ------------------------------------------------------------

NOW: Final = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
RECONCILED: Final = Outcome("Reconciled")
HUGE: Final = "é☃\U0001f600 " + "x" * 100_000  # a 100 KB termination message, unicode first
LONG_TOKEN: Final = "sync-now ☃ " + "t" * 289  # 300 characters
LONG_TRIGGER: Final = "ManualRunByTheOperationsTeam-" + "x" * 34  # a label value of 63 characters


def _schedule(erp: str = "CMiC", annotations: dict[str, str] | None = None) -> dict[str, Any]:
    """The minimal schedule as the API server returns it (uid, generation, resourceVersion)."""
    body = schedule(erp, namespace="erp")
    body["metadata"].update(uid="uid-acme", generation=1, resourceVersion="1", annotations=annotations or {})
    return body


def _plan(erp: str = "CMiC") -> SchedulePlan:
    return plan_schedule(validated(_schedule(erp)))  # CMiC: only jobCosts is scheduled


def _job(
    name: str,
    sync: SyncName = "jobCosts",
    *,
    condition: str | None = None,
    trigger: str = "Scheduled",
    times: dict[str, str] | None = None,
    condition_time: str = "2026-06-01T11:59:00Z",
) -> dict[str, Any]:
    status: dict[str, Any] = {"startTime": "2026-06-01T11:30:00Z", **(times or {})}
    if condition:
        reason = "BackoffLimitExceeded" if condition == "Failed" else ""
        status["conditions"] = [
            {"type": condition, "status": "True", "reason": reason, "lastTransitionTime": condition_time}
        ]
    return {
        "metadata": {
            "name": name,
            "namespace": "erp",
            "resourceVersion": "5",
            "creationTimestamp": "2026-06-01T11:30:00Z",
            "labels": {**labels("acme", sync), "erpsync.io/trigger": trigger},
        },
        "status": status,
    }


def _pod(job: str, *, summary: dict[str, Any] | None = None, waiting: str | None = None) -> dict[str, Any]:
    state: dict[str, Any] = {}
    if summary is not None:
        state = {"terminated": {"exitCode": 1, "message": json.dumps(summary)}}
    if waiting is not None:
        state = {"waiting": {"reason": "CreateContainerConfigError", "message": waiting}}
    return {
        "metadata": {"name": f"{job}-pod", "creationTimestamp": "2026-06-01T11:30:00Z"},
        "status": {"containerStatuses": [{"name": "worker", "state": state}]},
    }


def _build(
    jobs: list[dict[str, Any]] | None = None,
    pods: dict[str, list[dict[str, Any]]] | None = None,
    *,
    erp: str = "CMiC",
    cron_status: dict[str, Any] | None = None,
    previous: dict[str, Any] | None = None,
    outcome: Outcome = RECONCILED,
    handled: str | None = None,
    unmanaged: list[str] | None = None,
) -> dict[str, Any]:
    plan = _plan(erp)
    observed = Observed(
        cron_jobs={
            planned.cron_job_name: {
                "metadata": {"name": planned.cron_job_name, "creationTimestamp": "2026-06-01T11:00:00Z"},
                "status": cron_status or {},
            }
            for planned in plan.syncs
            if planned.cron_job_name
        },
        unmanaged_cron_jobs=unmanaged or [],
    )
    for job in jobs or []:
        observed.jobs_by_sync.setdefault(job["metadata"]["labels"]["erpsync.io/sync"], []).append(job)
    observed.pods_by_job = pods or {}
    return status_json(plan, observed, outcome=outcome, previous=previous, handled_sync_now=handled, now=NOW)


def _conditions(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {condition["type"]: condition for condition in status["conditions"]}


def test_a_sync_now_token_longer_than_the_crd_allows_is_echoed_bounded_and_handled_once() -> None:
    status = _build(handled=LONG_TOKEN)
    assert status_problems(status) == []
    echo = status["lastHandledSyncNow"]
    assert len(echo) == ECHO_MAX and echo.startswith(LONG_TOKEN[:100]) and TRUNCATED in echo
    model = validated(_schedule())
    # What a restarted operator compares the annotation with: the echo, so it replays nothing.
    assert pending_request({SYNC_NOW_ANNOTATION: LONG_TOKEN}, echo, model) is None
    # A new long token that starts as the last one did is still a new request (the echo hashes the whole token).
    request = pending_request({SYNC_NOW_ANNOTATION: LONG_TOKEN[:-1] + "u"}, echo, model)
    assert request is not None and request.token == LONG_TOKEN[:-1] + "u"
    # A pass that handled nothing new passes the echo back in: it is written unchanged.
    assert _build(handled=echo)["lastHandledSyncNow"] == echo
    assert _build(handled="t1")["lastHandledSyncNow"] == "t1"


def test_a_trigger_label_longer_than_the_crd_allows_is_cut_visibly() -> None:
    status = _build([_job("acme-job-costs-1", trigger=LONG_TRIGGER)])
    assert status_problems(status) == []
    trigger = status["syncs"]["jobCosts"]["lastRun"]["trigger"]
    assert len(trigger) == TRIGGER_MAX and trigger == LONG_TRIGGER[: TRIGGER_MAX - 1] + "…"


NOT_RFC3339: Final = [
    "not-a-time",
    "2026-06-01",  # a date
    "2026-06-01T11:45:00",  # no offset: whose local time?
    "2026-06-01T11:45:00 UTC",
    "2026-06-01T25:00:00Z",
    "☃" * 300,
]


@pytest.mark.parametrize("hostile", NOT_RFC3339)
def test_times_copied_from_jobs_and_cron_jobs_that_are_not_rfc3339_are_left_out(hostile: str) -> None:
    times = {"startTime": hostile, "completionTime": hostile}
    status = _build(
        [_job("acme-job-costs-1", condition="Complete", times=times)],
        cron_status={"lastScheduleTime": hostile, "lastSuccessfulTime": hostile},
    )
    assert status_problems(status) == []
    sync = status["syncs"]["jobCosts"]
    assert "startTime" not in sync["lastRun"] and "completionTime" not in sync["lastRun"]
    assert "lastScheduleTime" not in sync and "lastSuccessfulTime" not in sync and "lastSyncTime" not in status
    # A Failed Job without a completion time is dated by its condition, when that is a time.
    failed = _build([_job("acme-job-costs-2", condition="Failed", times=times, condition_time=hostile)])
    assert status_problems(failed) == []
    assert "completionTime" not in failed["syncs"]["jobCosts"]["lastRun"]


def test_times_with_an_offset_are_rewritten_in_utc_and_compared_as_times() -> None:
    # 13:00+02:00 is 11:00Z: earlier than the CronJob's 11:30Z although it sorts later as text.
    done = _job("acme-job-costs-1", condition="Complete", times={"completionTime": "2026-06-01T13:00:00.5+02:00"})
    status = _build(
        [done], cron_status={"lastScheduleTime": "not-a-time", "lastSuccessfulTime": "2026-06-01T11:30:00Z"}
    )
    assert status_problems(status) == []
    assert status["syncs"]["jobCosts"]["lastRun"]["completionTime"] == "2026-06-01T11:00:00Z"
    assert status["syncs"]["jobCosts"]["lastSuccessfulTime"] == "2026-06-01T11:30:00Z"
    assert status["lastSyncTime"] == "2026-06-01T11:30:00Z"


def test_hostile_times_in_the_previous_status_are_not_kept() -> None:
    first = _build()
    previous = copy.deepcopy(first)
    for condition in previous["conditions"]:
        condition["lastTransitionTime"] = "yesterday"
    # A next run without an offset, still ahead: comparing it with an aware time would raise.
    previous["syncs"]["jobCosts"]["nextRunTime"] = "2099-01-01T00:00:00"
    status = _build(previous=previous)
    assert status_problems(status) == []
    assert status["syncs"]["jobCosts"]["nextRunTime"] == first["syncs"]["jobCosts"]["nextRunTime"]
    assert {c["lastTransitionTime"] for c in status["conditions"]} == {"2026-06-01T12:00:00Z"}


def test_a_100_kb_termination_message_is_cut_to_the_crd_limits() -> None:
    summary = {"result": "Failed", "errors": [HUGE], "read": 1}
    status = _build(
        [_job("acme-job-costs-1", condition="Failed")],
        {"acme-job-costs-1": [_pod("acme-job-costs-1", summary=summary)]},
    )
    assert status_problems(status) == []
    message = status["syncs"]["jobCosts"]["lastRun"]["message"]
    assert len(message) == RUN_MESSAGE_MAX and message.startswith("BackoffLimitExceeded: é☃\U0001f600 xxx")
    assert message.endswith(TRUNCATED)
    healthy = _conditions(status)["Healthy"]
    assert healthy["status"] == "False" and healthy["message"].endswith(TRUNCATED)


def test_a_100_kb_waiting_message_is_cut_to_the_crd_limits() -> None:
    status = _build([_job("acme-job-costs-1")], {"acme-job-costs-1": [_pod("acme-job-costs-1", waiting=HUGE)]})
    assert status_problems(status) == []
    assert status["syncs"]["jobCosts"]["lastRun"]["result"] == "Running"
    assert "CreateContainerConfigError" in _conditions(status)["Healthy"]["message"]


def test_the_healthy_condition_names_every_failed_sync_however_long_their_messages() -> None:
    syncs: tuple[SyncName, ...] = ("vendors", "jobs", "jobCosts", "invoicePayments")
    jobs = [_job(f"acme-{sync.lower()}-1", sync, condition="Failed") for sync in syncs]
    pods = {job["metadata"]["name"]: [_pod(job["metadata"]["name"], summary={"errors": [HUGE]})] for job in jobs}
    status = _build(jobs, pods, erp="Generic")
    assert status_problems(status) == []
    message = _conditions(status)["Healthy"]["message"]
    assert all(f"{sync}: Failed: BackoffLimitExceeded" in message for sync in syncs)


def _completed_run(summary: dict[str, Any]) -> dict[str, Any]:
    pods = {"acme-job-costs-1": [_pod("acme-job-costs-1", summary=summary)]}
    status = _build([_job("acme-job-costs-1", condition="Complete")], pods)
    assert status_problems(status) == []
    run: dict[str, Any] = status["syncs"]["jobCosts"]["lastRun"]
    return run


@pytest.mark.parametrize("claimed", ["R" * 100, ["Failed"]], ids=["100-characters", "a-list"])
def test_a_result_that_is_not_the_workers_is_not_believed(claimed: object) -> None:
    assert _completed_run({"result": claimed})["result"] == "Succeeded"  # what the Complete condition says
    assert _completed_run({"result": "PartiallyFailed"})["result"] == "PartiallyFailed"  # the worker's word


def test_counts_beyond_int64_are_clamped() -> None:
    summary = {"result": "Succeeded", "read": 2**70, "created": -(2**70), "updated": 3, "failed": True}
    status = _build(
        [_job("acme-job-costs-1", condition="Complete")],
        {"acme-job-costs-1": [_pod("acme-job-costs-1", summary=summary)]},
    )
    assert status_problems(status) == []
    # A count the summary leaves out is the CRD's default, as the API server stores it (no write on every pass).
    assert status["syncs"]["jobCosts"]["lastRun"]["counts"] == {
        "read": INT64_MAX,
        "created": INT64_MIN,
        "updated": 3,
        "unchanged": 0,
        "skipped": 0,
        "failed": 0,
    }


def test_more_unmanaged_cron_jobs_than_the_crd_allows_are_cut_and_all_named_in_ready() -> None:
    names = [f"acme-other-{index:02}" for index in range(UNMANAGED_MAX + 4)]
    status = _build(unmanaged=names)
    assert status_problems(status) == []
    assert status["unmanagedCronJobs"] == names[:UNMANAGED_MAX]
    assert all(name in _conditions(status)["Ready"]["message"] for name in names)


@pytest.mark.parametrize("state", ["Retrying", "Progressing", "Stalled"])
def test_an_outcome_message_longer_than_a_condition_allows_is_cut(
    state: Literal["Retrying", "Progressing", "Stalled"],
) -> None:
    status = _build(outcome=Outcome(state, HUGE))
    assert status_problems(status) == []
    assert all(len(c["message"]) <= CONDITION_MESSAGE_MAX for c in status["conditions"])
    assert _conditions(status)["Ready"]["message"].endswith(TRUNCATED)


# --- The helpers ---------------------------------------------------------------------------------------


def test_fit_text_cuts_to_the_limit_with_a_marker() -> None:
    assert fit_text("short", 16) == "short"
    assert fit_text("x" * 100, 60) == "x" * (60 - len(TRUNCATED)) + TRUNCATED
    assert fit_text("x" * 100, 16) == "x" * 15 + "…"  # too short for the long marker and the value
    assert fit_text("xyz", 1) == "x"
    assert fit_text(fit_text("☃" * 100, 60), 60) == fit_text("☃" * 100, 60)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-06-01T12:00:00Z", "2026-06-01T12:00:00Z"),
        ("2026-06-01T14:00:00.999999+02:00", "2026-06-01T12:00:00Z"),
        ("0001-01-01T00:00:00+01:00", None),  # before year 1 in UTC
        ("9999-12-31T23:59:59-01:00", None),  # after year 9999 in UTC
        ("2026-06-01T12:00:00", None),
        (None, None),
        (1748779200, None),
    ],
)
def test_rfc3339_rewrites_in_utc_or_gives_none(value: object, expected: str | None) -> None:
    assert rfc3339(value) == expected


def test_timestamp_pads_the_year_to_four_digits() -> None:
    # The timestamp of conditions and Events: strftime("%Y") wrote year 5 as "5".
    assert timestamp(datetime(5, 1, 2, 3, 4, 5, 6, tzinfo=UTC)) == "0005-01-02T03:04:05Z"


# --- The status patch of a whole pass, answered as the API server would ---------------------------------


async def _no_events(*_: Any, **__: Any) -> None:
    return None


def _pass(api: ApiServer, children: list[tuple[Kind, dict[str, Any]]]) -> tuple[str, int]:
    """A reconcile pass of a freshly started operator (its cache filled from the API); its outcome and writes."""
    world = World()
    world.apply("schedules", "ADDED", copy.deepcopy(api.schedule))
    for kind, body in children:
        world.apply(kind, "ADDED", copy.deepcopy(body))
    reconciler = Reconciler(world, api, _no_events, clock=lambda: NOW)
    result = asyncio.run(reconciler.reconcile(("erp", "acme")))
    assert result is not None
    return result.outcome.state, result.writes


def test_a_pass_over_a_hostile_world_writes_a_status_the_api_server_accepts_and_syncs_now_once() -> None:
    api = ApiServer(_schedule(annotations={SYNC_NOW_ANNOTATION: LONG_TOKEN}), status_problems)
    job = _job("acme-job-costs-1", condition="Failed", trigger=LONG_TRIGGER, times={"startTime": "not-a-time"})
    pod = _pod("acme-job-costs-1", summary={"result": "Failed", "errors": [HUGE]})
    pod["metadata"].update(
        namespace="erp",
        resourceVersion="6",
        labels=job["metadata"]["labels"],
        ownerReferences=[{"kind": "Job", "name": "acme-job-costs-1", "controller": True}],
    )
    children: list[tuple[Kind, dict[str, Any]]] = [("jobs", job), ("pods", pod)]

    assert _pass(api, children)[0] == "Reconciled", api.refusals
    assert api.refusals == [] and "patch cronjobs" not in api.calls
    # The sync-now Job of jobCosts, CMiC's only scheduled sync.
    assert [kind for kind, _ in api.created].count("jobs") == 1
    status = api.schedule["status"]
    assert status["lastHandledSyncNow"] != LONG_TOKEN and len(status["lastHandledSyncNow"]) <= ECHO_MAX
    assert status["syncs"]["jobCosts"]["lastRun"]["jobName"] == "acme-job-costs-1"

    # A restarted operator: the same token is not handled again, and nothing is left to write.
    created = len(api.created)
    assert _pass(api, [*children, *api.created]) == ("Reconciled", 0)
    assert len(api.created) == created and api.refusals == []
