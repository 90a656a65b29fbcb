"""Children outside the watch: the 409 path that finds and repairs them (the server-side selector of every
list and watch of the children is checked on the real API server: tests/operator/test_relabel.py).

A CronJob whose managed-by label is removed leaves the selector (the watch reports it DELETED), so the
planner wants to create it and the create answers 409 AlreadyExists. The pass then reads it and decides
by its controller reference: repair it, adopt it, or leave it to its owner.
"""

import asyncio
import copy
from collections.abc import Callable
from typing import Any, Final

import kopf
import pytest

from erpsync.api.validation import validate_object
from erpsync.controller.drift import LAST_APPLIED_ANNOTATION, applied_record
from erpsync.controller.kubeapi import ApiError, KubeApi
from erpsync.controller.reconcile import PassResult, Reconciler, resolve_conflict
from erpsync.controller.world import World
from erpsync.planning.plan import plan_schedule
from tests.operator.conftest import example
from tests.support.merge_patch import apply_merge_patch

NAMESPACE: Final = "erp-sync"
SCHEDULE: Final = "acme-generic"
UID: Final = "uid-acme"
VICTIM: Final = "acme-generic-jobs"
MANAGED_BY: Final = "app.kubernetes.io/managed-by"


# The 409 decision -----------------------------------------------------------------------------------


def _schedule() -> dict[str, Any]:
    body = copy.deepcopy(example("generic"))
    body["metadata"].update(namespace=NAMESPACE, uid=UID, generation=1, resourceVersion="1")
    return body


def _owner(uid: str = UID) -> dict[str, Any]:
    return {
        "apiVersion": "erpsync.io/v1alpha1",
        "kind": "ErpSyncSchedule",
        "name": SCHEDULE,
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _planned() -> dict[str, dict[str, Any]]:
    validated = validate_object(_schedule())
    assert validated.schedule is not None
    return {cron_job["metadata"]["name"]: cron_job for cron_job in plan_schedule(validated.schedule).cron_jobs}


def _as_created(manifest: dict[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(manifest)
    body["metadata"]["ownerReferences"] = [_owner()]
    body["metadata"]["annotations"] = {LAST_APPLIED_ANNOTATION: applied_record(manifest)}
    body["metadata"]["uid"] = f"uid-{body['metadata']['name']}"
    return body


def _without(body: dict[str, Any], *labels: str) -> dict[str, Any]:
    body = copy.deepcopy(body)
    for label in labels:
        body["metadata"]["labels"].pop(label)
    return body


def test_the_409_decision_goes_by_the_controller_reference() -> None:
    schedule = _schedule()
    ours = _as_created(_planned()[VICTIM])
    assert resolve_conflict(None, schedule) == "gone"
    assert resolve_conflict(ours, schedule) == "repair"
    assert resolve_conflict(_without(ours, MANAGED_BY, "erpsync.io/schedule"), schedule) == "repair"
    orphan = copy.deepcopy(ours)
    del orphan["metadata"]["ownerReferences"]
    assert resolve_conflict(_without(orphan, MANAGED_BY), schedule) == "adopt"  # still labelled for the schedule
    assert resolve_conflict(_without(orphan, "erpsync.io/schedule"), schedule) == "foreign"  # nothing ties it
    theirs = copy.deepcopy(ours)
    theirs["metadata"]["ownerReferences"] = [{**_owner("uid-other"), "kind": "ConfigMap"}]
    assert resolve_conflict(theirs, schedule) == "foreign"  # whatever its labels say


# The pass, against a fake API server -------------------------------------------------------------------


async def _no_login() -> kopf.ConnectionInfo | None:
    raise AssertionError("the fake API never logs in")


class FakeApi(KubeApi):
    """The API server's CronJobs (by name) and schedule, behind the client's own request()."""

    def __init__(self, schedule: dict[str, Any]) -> None:
        super().__init__(_no_login)
        self.schedule = schedule
        self.cron_jobs: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str]] = []  # (method, CronJob name) of the CronJob calls
        self.deleted_before_read: set[str] = set()  # a 409, then gone when read
        self.version = 100

    def store(self, body: dict[str, Any]) -> dict[str, Any]:
        self.version += 1
        body["metadata"]["resourceVersion"] = str(self.version)
        self.cron_jobs[body["metadata"]["name"]] = body
        return copy.deepcopy(body)

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: object = None,
        content_type: str = "application/json",
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        if path.endswith(f"/erpsyncschedules/{SCHEDULE}/status") and method == "PATCH":
            self.version += 1
            self.schedule = apply_merge_patch(self.schedule, body)
            self.schedule["metadata"]["resourceVersion"] = str(self.version)
            return copy.deepcopy(self.schedule)
        prefix = f"/apis/batch/v1/namespaces/{NAMESPACE}/cronjobs"
        assert path.startswith(prefix), f"unexpected {method} {path}"
        if method == "POST":
            assert isinstance(body, dict)
            name = body["metadata"]["name"]
            self.calls.append((method, name))
            if name in self.cron_jobs:
                raise ApiError(409, "AlreadyExists", f"cronjobs.batch {name!r} already exists")
            return self.store(copy.deepcopy(body))
        name = path.removeprefix(prefix + "/")
        self.calls.append((method, name))
        if method == "GET" and name in self.deleted_before_read:
            self.cron_jobs.pop(name, None)
        if name not in self.cron_jobs:
            raise ApiError(404, "NotFound", f"cronjobs.batch {name!r} not found")
        if method == "GET":
            return copy.deepcopy(self.cron_jobs[name])
        assert method == "PATCH", f"unexpected {method} {path}"
        return self.store(apply_merge_patch(self.cron_jobs[name], body))


Edit = Callable[[FakeApi, World], None]


def _cluster(edit: Edit) -> tuple[Reconciler, FakeApi]:
    """Every planned CronJob created and watched; then `edit` changes the server and the World."""
    schedule = _schedule()
    world = World()
    world.apply("schedules", "ADDED", schedule)
    api = FakeApi(schedule)
    for manifest in _planned().values():
        world.apply_child("cronjobs", "ADDED", api.store(_as_created(manifest)))
    edit(api, world)

    async def emit(*_: Any, **__: Any) -> None:
        return None

    return Reconciler(world, api, emit), api


def _run(reconciler: Reconciler) -> PassResult:
    result = asyncio.run(reconciler.reconcile((NAMESPACE, SCHEDULE)))
    assert result is not None
    return result


def _relabel(api: FakeApi, world: World, labels: dict[str, str | None], watched: bool) -> None:
    """Change the victim's labels on the server; the watch reports it as a real server would."""
    before = copy.deepcopy(api.cron_jobs[VICTIM])
    after = api.store(apply_merge_patch(api.cron_jobs[VICTIM], {"metadata": {"labels": labels}}))
    if watched:  # still matches the selector
        world.apply_child("cronjobs", "MODIFIED", after)
    else:  # left it: DELETED, with the previous content and the new resourceVersion
        before["metadata"]["resourceVersion"] = after["metadata"]["resourceVersion"]
        world.apply_child("cronjobs", "DELETED", before)


def _forget(api: FakeApi, world: World) -> None:
    """The operator restarted: the selector's list never had the victim."""
    world.apply_child("cronjobs", "DELETED", api.cron_jobs[VICTIM])


def _ready(api: FakeApi) -> dict[str, Any]:
    (ready,) = [c for c in api.schedule["status"]["conditions"] if c["type"] == "Ready"]
    return dict(ready)


def _unlabelled_then_restarted(api: FakeApi, world: World) -> None:
    _relabel(api, world, {MANAGED_BY: None}, watched=False)
    _forget(api, world)


RELABELS: Final[dict[str, Edit]] = {
    "managed-by removed": lambda api, world: _relabel(api, world, {MANAGED_BY: None}, watched=False),
    "managed-by changed": lambda api, world: _relabel(api, world, {MANAGED_BY: "someone"}, watched=False),
    "schedule label removed": lambda api, world: _relabel(api, world, {"erpsync.io/schedule": None}, watched=True),
    "managed-by removed, then a restart": _unlabelled_then_restarted,
}


@pytest.mark.parametrize("edit", RELABELS.values(), ids=RELABELS.keys())
def test_a_relabelled_cronjob_is_read_back_after_the_409_and_repaired(edit: Edit) -> None:
    reconciler, api = _cluster(edit)
    uid_before = api.cron_jobs[VICTIM]["metadata"]["uid"]
    result = _run(reconciler)
    assert (result.outcome.state, result.retry) == ("Reconciled", False), result.outcome.message
    assert api.calls == [("POST", VICTIM), ("GET", VICTIM), ("PATCH", VICTIM)]
    repaired = api.cron_jobs[VICTIM]
    assert repaired["metadata"]["labels"] == _planned()[VICTIM]["metadata"]["labels"]
    assert repaired["metadata"]["uid"] == uid_before  # the same object, patched
    observed, _ = reconciler.world.observe(api.schedule)
    assert VICTIM in observed.cron_jobs  # the answer counts as observed
    assert _ready(api)["status"] == "True"
    api.calls.clear()
    assert _run(reconciler).writes == 0  # and then nothing differs
    assert api.calls == []


def test_a_cronjob_already_in_sync_that_the_watch_has_not_shown_is_recorded_without_a_write() -> None:
    reconciler, api = _cluster(_forget)
    result = _run(reconciler)
    assert (result.outcome.state, result.retry) == ("Reconciled", False), result.outcome.message
    assert api.calls == [("POST", VICTIM), ("GET", VICTIM)]
    assert _ready(api)["status"] == "True"


def test_an_orphan_with_the_schedule_label_is_adopted() -> None:
    def orphan(api: FakeApi, world: World) -> None:
        api.cron_jobs[VICTIM]["metadata"].pop("ownerReferences")
        _relabel(api, world, {MANAGED_BY: None}, watched=False)

    reconciler, api = _cluster(orphan)
    result = _run(reconciler)
    assert (result.outcome.state, result.retry) == ("Reconciled", False), result.outcome.message
    assert api.cron_jobs[VICTIM]["metadata"]["ownerReferences"] == [_owner()]
    assert api.cron_jobs[VICTIM]["metadata"]["labels"][MANAGED_BY] == "erp-sync-operator"


def test_someone_elses_cronjob_is_reported_unmanaged_and_then_only_read() -> None:
    def taken(api: FakeApi, world: World) -> None:
        _forget(api, world)
        other = api.cron_jobs[VICTIM]
        other["metadata"]["ownerReferences"] = [{**_owner("uid-other"), "kind": "ConfigMap", "name": "other"}]
        del other["metadata"]["labels"]

    reconciler, api = _cluster(taken)
    result = _run(reconciler)
    assert (result.outcome.state, result.retry) == ("Reconciled", False), result.outcome.message
    assert api.schedule["status"]["unmanagedCronJobs"] == [VICTIM]
    assert "left alone" in _ready(api)["message"]
    assert "labels" not in api.cron_jobs[VICTIM]["metadata"]  # not touched
    api.calls.clear()
    result = _run(reconciler)
    assert (result.writes, api.calls) == (0, [("GET", VICTIM)])  # a read, not a create that fails every pass
    del api.cron_jobs[VICTIM]  # its owner deletes it: the next pass creates ours
    api.calls.clear()
    result = _run(reconciler)
    assert (result.outcome.state, api.calls) == ("Reconciled", [("GET", VICTIM), ("POST", VICTIM)])
    assert "unmanagedCronJobs" not in api.schedule["status"]


def test_a_cronjob_deleted_between_the_409_and_the_read_is_retried() -> None:
    def vanishing(api: FakeApi, world: World) -> None:
        _relabel(api, world, {MANAGED_BY: None}, watched=False)
        api.deleted_before_read.add(VICTIM)

    reconciler, api = _cluster(vanishing)
    result = _run(reconciler)
    assert result.retry is True
    assert f"CronJob {VICTIM} was deleted while being created" in result.outcome.message
    api.deleted_before_read.clear()
    result = _run(reconciler)
    assert (result.outcome.state, result.retry) == ("Reconciled", False), result.outcome.message
    assert api.cron_jobs[VICTIM]["metadata"]["labels"][MANAGED_BY] == "erp-sync-operator"
