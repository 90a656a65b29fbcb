"""What a pass writes: for a new generation the CronJob writes and then one status write, at the end
(Ready, the CronJobs it created known from the create answers: k + 1 writes for a new schedule with k
scheduled syncs); Reconciling only when a pass cannot finish; nothing at all once nothing differs. Events
are counted apart. An API server stand-in answers as the real one does (tests/operator has the end-to-end
count on the real one)."""

import asyncio
import copy
from typing import Any

from erpsync.controller.events import Event
from erpsync.controller.reconcile import PassResult, Reconciler
from erpsync.controller.world import World
from tests.support.fake_api import ApiServer
from tests.support.merge_patch import apply_merge_patch
from tests.support.specs import schedule

NAMESPACE = "erp"
KEY = (NAMESPACE, "acme")
# Generic: four scheduled syncs, so four CronJobs.
CRON_JOBS = ("acme-vendors", "acme-jobs", "acme-job-costs", "acme-invoice-payments")


class Operator:
    """A reconciler over a World filled as the watches fill it, and the Events it posts."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.api = ApiServer(body)
        self.world = World()
        self.world.apply("schedules", "ADDED", copy.deepcopy(body))
        self.events: list[Event] = []
        self.reconciler = Reconciler(self.world, self.api, self._emit)

    async def _emit(self, event: Event) -> None:
        self.events.append(event)

    def edit_spec(self, spec: dict[str, Any]) -> None:
        """A new generation, as `kubectl apply` makes one, seen by the watch."""
        body = copy.deepcopy(self.api.schedule)
        body["spec"] = apply_merge_patch(body["spec"], spec)
        body["metadata"].update(generation=body["metadata"]["generation"] + 1, resourceVersion="900")
        self.api.schedule = body
        self.world.apply("schedules", "MODIFIED", copy.deepcopy(body))

    def reconcile(self) -> PassResult:
        self.api.calls.clear()
        self.api.status_patches.clear()
        result = asyncio.run(self.reconciler.reconcile(KEY))
        assert result is not None
        return result

    def condition(self, kind: str) -> dict[str, Any] | None:
        conditions = self.api.schedule["status"].get("conditions") or []
        return next((c for c in conditions if c["type"] == kind), None)


def _new_schedule() -> dict[str, Any]:
    """A Generic schedule just created: the CRD's default status, generation 1."""
    body = schedule("Generic", namespace=NAMESPACE)
    body["metadata"].update(uid="uid-acme", generation=1, resourceVersion="10")
    body["status"] = {"observedGeneration": -1}
    return body


def test_a_new_schedule_is_ready_after_its_cron_jobs_and_one_status_write() -> None:
    operator = Operator(_new_schedule())
    result = operator.reconcile()

    assert result.outcome.state == "Reconciled"
    assert (result.writes, result.retry) == (len(CRON_JOBS) + 1, False)
    # No status before the CronJobs: the one status write comes last and says Ready for generation 1.
    assert operator.api.calls == ["create cronjobs"] * len(CRON_JOBS) + ["patch status"]
    assert sorted(operator.api.cron_jobs) == sorted(CRON_JOBS)
    [written] = operator.api.status_patches
    assert written["observedGeneration"] == 1
    ready = operator.condition("Ready")
    assert ready is not None and (ready["status"], ready["reason"]) == ("True", "Succeeded")
    assert operator.condition("Reconciling") is None
    assert [(e.reason, e.type) for e in operator.events] == [("CronJobsCreated", "Normal")]


def test_a_pass_that_finds_nothing_to_change_writes_nothing() -> None:
    operator = Operator(_new_schedule())
    operator.reconcile()
    # The World holds what the pass wrote (write-through): the watch's echoes would tell it nothing new.
    again = operator.reconcile()
    assert (again.outcome.state, again.writes, operator.api.calls) == ("Reconciled", 0, [])


def test_reconciling_is_written_only_by_a_pass_that_cannot_finish() -> None:
    operator = Operator(_new_schedule())
    operator.api.failing = {"acme-job-costs"}
    failed = operator.reconcile()

    assert (failed.outcome.state, failed.retry) == ("Retrying", True)
    assert operator.api.calls == ["create cronjobs"] * len(CRON_JOBS) + ["patch status"]
    assert failed.writes == len(CRON_JOBS) - 1 + 1  # the three created and the status
    reconciling = operator.condition("Reconciling")
    assert reconciling is not None and reconciling["reason"] == "ProgressingWithRetry"
    assert "creating CronJob acme-job-costs: 500 InternalError" in reconciling["message"]
    ready = operator.condition("Ready")
    assert ready is not None and ready["status"] == "Unknown"
    # Not handled: kstatus keeps reading the schedule as in progress.
    assert operator.api.schedule["status"]["observedGeneration"] == -1

    operator.api.failing.clear()
    retried = operator.reconcile()
    assert (retried.outcome.state, retried.writes) == ("Reconciled", 2)
    assert operator.api.calls == ["create cronjobs", "patch status"]
    assert operator.api.schedule["status"]["observedGeneration"] == 1
    assert operator.condition("Reconciling") is None


def test_a_new_generation_is_applied_then_written_once() -> None:
    operator = Operator(_new_schedule())
    operator.reconcile()
    operator.edit_spec({"syncs": {"vendors": {"suspend": True}}})
    result = operator.reconcile()

    assert (result.outcome.state, result.writes) == ("Reconciled", 2)
    assert operator.api.calls == ["patch cronjobs", "patch status"]
    assert operator.api.cron_jobs["acme-vendors"]["spec"]["suspend"] is True
    assert operator.api.schedule["status"]["observedGeneration"] == 2
    assert operator.events[-1].reason == "CronJobsUpdated"
