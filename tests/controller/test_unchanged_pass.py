"""A pass whose inputs have not changed since a pass that found nothing to do is skipped (a full resync
of an unchanged cluster is cheap), and only then: a changed schedule or child, or the clock reaching a
moment that changes status, gets a full pass that repairs and writes as before. The initial lists of a
start are applied to the World without undoing a deletion a watch reported meanwhile."""

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from erpsync.api.models import ErpSyncScheduleStatus, read_status
from erpsync.api.validation import validate_object
from erpsync.controller import reconcile
from erpsync.controller.observed import Observed
from erpsync.controller.status import OVERDUE_GRACE, next_status_change
from erpsync.controller.world import World
from erpsync.planning.cronjobs import BUILT_IN_WORKER_DEFAULTS
from erpsync.planning.plan import SchedulePlan, plan_schedule
from tests.controller.test_pass_writes import KEY, Operator, _new_schedule
from tests.support.specs import schedule, validated
from tests.support.status import status_json

NOW = datetime.now(UTC).replace(microsecond=0)


class CountedValidation:
    """validate_object, counted: a full pass validates the schedule, a skipped one does not."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        monkeypatch.setattr(reconcile, "validate_object", self)

    def __call__(self, body: dict[str, Any]) -> Any:
        self.calls += 1
        return validate_object(body)


def _settled(monkeypatch: pytest.MonkeyPatch) -> tuple[Operator, CountedValidation]:
    """A schedule whose CronJobs and status are written, and a pass since that found nothing to do."""
    operator = Operator(_new_schedule())
    operator.reconciler.clock = lambda: NOW
    assert operator.reconcile().writes == 5
    assert operator.reconcile().writes == 0
    return operator, CountedValidation(monkeypatch)


def test_a_pass_after_one_that_found_nothing_to_do_is_skipped_while_nothing_changed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    operator, validation = _settled(monkeypatch)
    skipped = operator.reconcile()
    assert (skipped.outcome.state, skipped.writes, skipped.retry, operator.api.calls) == ("Reconciled", 0, False, [])
    assert validation.calls == 0


def test_a_changed_child_gets_a_full_pass_that_repairs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    operator, validation = _settled(monkeypatch)
    edited = copy.deepcopy(operator.api.cron_jobs["acme-vendors"])
    edited["spec"]["schedule"] = "5 5 * * *"  # a hand edit, seen by the watch
    edited["metadata"]["resourceVersion"] = "5000"
    operator.world.apply("cronjobs", "MODIFIED", edited)
    repaired = operator.reconcile()
    assert validation.calls == 1
    assert (repaired.writes, operator.api.calls) == (1, ["patch cronjobs"])
    assert operator.events[-1].reason == "CronJobsRepaired"


def test_a_changed_schedule_gets_a_full_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    operator, validation = _settled(monkeypatch)
    operator.edit_spec({"syncs": {"vendors": {"suspend": True}}})
    assert operator.reconcile().writes == 2
    assert validation.calls == 1


def test_a_next_run_time_that_passed_gets_a_full_pass_and_a_new_status(monkeypatch: pytest.MonkeyPatch) -> None:
    operator, validation = _settled(monkeypatch)
    syncs = operator.api.schedule["status"]["syncs"]
    earliest = min(datetime.fromisoformat(sync["nextRunTime"]) for sync in syncs.values() if "nextRunTime" in sync)
    operator.reconciler.clock = lambda: earliest - timedelta(seconds=1)
    assert operator.reconcile().writes == 0
    assert validation.calls == 0  # still ahead
    operator.reconciler.clock = lambda: earliest + timedelta(seconds=1)
    result = operator.reconcile()
    assert validation.calls == 1
    assert (result.writes, operator.api.calls) == (1, ["patch status"])
    [patch] = operator.api.status_patches
    assert datetime.fromisoformat(patch["nextSyncTime"]) > earliest


def test_a_forgotten_schedule_gets_a_full_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    operator, validation = _settled(monkeypatch)
    operator.reconciler.forget(KEY)  # as for a deleted schedule: nothing of its last pass is kept
    assert operator.reconcile().writes == 0
    assert validation.calls == 1


# next_status_change: the moments the clock changes status ---------------------------------------------


def _plan(**spec: Any) -> SchedulePlan:
    return plan_schedule(validated(schedule("Generic", **spec)), BUILT_IN_WORKER_DEFAULTS, frozenset())


def _status(syncs: dict[str, dict[str, Any]]) -> ErpSyncScheduleStatus:
    return ErpSyncScheduleStatus.model_validate({"observedGeneration": 1, "syncs": syncs})


def _at(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_a_pod_waiting_to_start_or_a_stalled_schedule() -> None:
    plan = _plan()
    observed = Observed()
    observed.pods_by_job["acme-vendors-1"] = [
        {"metadata": {"name": "p"}, "status": {"containerStatuses": [{"state": {"waiting": {"reason": "Pending"}}}]}}
    ]
    assert next_status_change(plan, _status({}), observed, NOW) is None  # "stuck" any moment: no memo
    assert next_status_change(None, _status({}), Observed(), NOW) == datetime.max.replace(tzinfo=UTC)
    # A Pod as the API server shows it first (no status yet), a container without a state: not waiting.
    observed.pods_by_job["acme-vendors-1"] = [{"metadata": {"name": "p"}}, {"status": {"containerStatuses": [{}]}}]
    assert next_status_change(plan, _status({}), observed, NOW) is not None


# A fixed moment (the status is a function of it), so the scenarios' next runs come in a known order: jobs
# runs at :41, jobCosts at :33 of odd hours, invoicePayments at 05:24 (the names' spread of "acme").
AT = datetime(2026, 6, 1, 12, 0, 30, tzinfo=UTC)
HOURLY = {"frequency": "Hourly"}
SUSPENDED = {"frequency": "Hourly", "suspend": True}
NEVER = {"frequency": "Never"}
LONG_AGO = timedelta(days=30)


@pytest.mark.parametrize(
    ("syncs", "succeeded", "created"),
    [
        # Overdue at 12:15:30, behind a sync that is never scheduled.
        ({"vendors": NEVER, "jobs": HOURLY}, {"jobs": timedelta(hours=2)}, {}),
        # Never succeeded: overdue counts from its CronJob's creation.
        ({"vendors": HOURLY}, {"vendors": None}, {"vendors": timedelta(hours=2)}),
        # A CronJob not created yet has nothing to count from; the next sync's overdue moment still counts.
        (
            {"vendors": HOURLY, "jobs": HOURLY},
            {"vendors": None, "jobs": timedelta(hours=2, minutes=10)},
            {"vendors": None},
        ),
        # Overdue long ago and suspended, its next hour at 12:01:30: suspended syncs are not judged.
        ({"jobs": SUSPENDED}, {"jobs": None}, {"jobs": timedelta(days=10, minutes=59)}),
        # Overdue at this very moment: a second later the status says so.
        ({"jobs": HOURLY}, {"jobs": timedelta(hours=2) + OVERDUE_GRACE}, {}),
        # Overdue for hours already: the message counts one more hour at 12:20:30.
        ({"jobs": HOURLY}, {"jobs": timedelta(hours=4, minutes=40)}, {}),
        # Nothing scheduled: nothing ever changes with the clock.
        ({sync: NEVER for sync in ("vendors", "jobs", "jobCosts", "invoicePayments")}, {}, {}),
    ],
    ids=[
        "behind-a-never-sync",
        "never-succeeded",
        "cronjob-not-created",
        "suspended",
        "at-the-moment",
        "hours",
        "never",
    ],
)
def test_the_status_stays_the_same_until_the_moment_and_changes_after_it(
    syncs: dict[str, dict[str, Any]], succeeded: dict[str, timedelta | None], created: dict[str, timedelta | None]
) -> None:
    """What the skipped passes rely on: build_status, given the same world at any moment before
    next_status_change, builds the status it built at `AT`; a second after that moment, another one.
    A sync last succeeded a minute ago and its CronJob was created long ago unless the case says how long
    ago (None: never, or not created)."""
    plan = _plan(syncs=syncs)
    observed = Observed()
    for planned in plan.syncs:
        age = created.get(planned.sync, LONG_AGO)
        if planned.cron_job_name and planned.cron_job and age is not None:
            success = succeeded.get(planned.sync, timedelta(minutes=1))
            times = {"lastSuccessfulTime": _at(AT - success)} if success is not None else {}
            observed.cron_jobs[planned.cron_job_name] = {
                "metadata": {"name": planned.cron_job_name, "creationTimestamp": _at(AT - age)},
                "spec": {"suspend": planned.cron_job["spec"]["suspend"]},
                "status": times,
            }
    stored = status_json(plan, observed, now=AT)
    assert status_json(plan, observed, now=AT, previous=stored) == stored  # settled
    moment = next_status_change(plan, read_status(stored), observed, AT)
    assert moment is not None and moment >= AT
    if moment == datetime.max.replace(tzinfo=UTC):
        assert status_json(plan, observed, now=AT + timedelta(days=400), previous=stored) == stored
        return
    for before in (AT, AT + (moment - AT) / 2, moment - timedelta(seconds=1)):
        if before >= AT:
            assert status_json(plan, observed, now=before, previous=stored) == stored, before
    assert status_json(plan, observed, now=moment + timedelta(seconds=1), previous=stored) != stored


# The initial lists -------------------------------------------------------------------------------------


def _cron_job(name: str, version: int) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "namespace": KEY[0],
            "resourceVersion": str(version),
            "labels": {"erpsync.io/schedule": KEY[1]},
            "ownerReferences": [{"kind": "ErpSyncSchedule", "name": KEY[1], "uid": "uid-acme", "controller": True}],
        },
        "spec": {"schedule": "0 1 * * *"},
    }


def test_what_a_list_again_lacks_is_what_was_deleted_meanwhile() -> None:
    world = World()
    world.apply("schedules", "ADDED", _new_schedule())
    for cron_job in (_cron_job("acme-jobs", 20), _cron_job("acme-vendors", 21)):
        world.apply("cronjobs", "ADDED", cron_job)
    assert world.apply("cronjobs", "ADDED", _cron_job("acme-vendors", 21)) is False  # the watch's replay
    # acme-jobs was deleted while no watch ran (410 Gone): the new list lacks it.
    assert world.unlisted("cronjobs", "elsewhere", set()) == []  # another namespace's list
    assert world.unlisted("cronjobs", None, {(KEY[0], "acme-vendors")}) == [(KEY[0], "acme-jobs")]
    assert world.unlisted("cronjobs", KEY[0], {(KEY[0], "acme-vendors"), (KEY[0], "acme-jobs")}) == []
    assert world.unlisted("schedules", None, set()) == [KEY]


def test_versions_follow_the_schedule_and_its_children() -> None:
    world = World()
    world.apply("schedules", "ADDED", _new_schedule())
    world.apply("cronjobs", "ADDED", _cron_job("acme-jobs", 20))
    before = world.versions(KEY)
    assert before is not None and world.versions(KEY) == before
    world.apply("cronjobs", "MODIFIED", _cron_job("acme-jobs", 21))
    assert world.versions(KEY) != before
    assert world.versions(("erp", "unknown")) is None
