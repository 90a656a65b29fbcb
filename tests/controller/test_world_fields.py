"""The World keeps only what the operator reads, and what it keeps drives every decision as the object
the API server sent would: the diff (drift repair of a hand-edited field the operator manages included)
and the status built from CronJobs, Jobs and Pods."""

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from erpsync.controller.diff import Changes, diff
from erpsync.controller.drift import LAST_APPLIED_ANNOTATION, applied_record, repair_patch
from erpsync.controller.observed import Observed
from erpsync.controller.world import World
from erpsync.planning.plan import SchedulePlan, plan_schedule
from tests.support.specs import schedule, validated
from tests.support.status import status_json

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SCHEDULE = {
    **schedule("Generic", namespace="erp"),
    "status": {"observedGeneration": 1},
}
SCHEDULE["metadata"] = {**SCHEDULE["metadata"], "uid": "uid-acme", "generation": 1, "resourceVersion": "10"}
PLAN: SchedulePlan = plan_schedule(validated(SCHEDULE))
PLANNED = {p.cron_job_name: p.cron_job for p in PLAN.syncs if p.cron_job_name and p.cron_job}
MANAGED_FIELDS = [{"manager": "erp-sync", "operation": "Update", "fieldsV1": {"f:spec": {"f:schedule": {}}}}]


def _container(cron_job: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = cron_job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    return container


def _served(planned: dict[str, Any], version: int = 20) -> dict[str, Any]:
    """A CronJob as the API server returns it: the operator's record and owner, server defaults, bookkeeping."""
    cron_job = copy.deepcopy(planned)
    cron_job["metadata"].update(
        namespace="erp",
        uid=f"uid-{planned['metadata']['name']}",
        resourceVersion=str(version),
        generation=1,
        creationTimestamp="2026-06-01T00:00:00Z",
        annotations={LAST_APPLIED_ANNOTATION: applied_record(planned), "team": "finance"},
        ownerReferences=[{"kind": "ErpSyncSchedule", "name": "acme", "uid": "uid-acme", "controller": True}],
        managedFields=MANAGED_FIELDS,
    )
    pod = cron_job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    pod.update(dnsPolicy="ClusterFirst", schedulerName="default-scheduler", terminationGracePeriodSeconds=30)
    _container(cron_job).update(terminationMessagePath="/dev/termination-log", imagePullPolicy="IfNotPresent")
    cron_job["status"] = {
        "active": [{"kind": "Job", "name": "x", "uid": "u"}],
        "lastScheduleTime": "2026-06-01T11:00:00Z",
        "lastSuccessfulTime": "2026-06-01T11:02:00Z",
    }
    return cron_job


def _suspend(c: dict[str, Any]) -> None:
    c["spec"]["suspend"] = not c["spec"]["suspend"]


def _orphan(c: dict[str, Any]) -> None:
    del c["metadata"]["ownerReferences"]


def _drop_env(c: dict[str, Any]) -> None:
    _container(c)["env"].pop()


def _add_container(c: dict[str, Any]) -> None:
    c["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "x"})


def _stale_record(c: dict[str, Any]) -> None:
    """The record and the CronJob hold a field the plan no longer sets: a repair removes it."""
    c["spec"]["jobTemplate"]["spec"]["ttlSecondsAfterFinished"] = 100
    c["metadata"]["annotations"][LAST_APPLIED_ANNOTATION] = applied_record(c)


EDITS: dict[str, Callable[[dict[str, Any]], None]] = {
    "nobody edited it": lambda c: None,
    "suspend flipped by hand": _suspend,
    "schedule edited": lambda c: c["spec"].update(schedule="1 2 3 4 5"),
    "image edited": lambda c: _container(c).update(image="evil/worker:latest"),
    "an env var removed": _drop_env,
    "a container added": _add_container,
    "a managed label removed": lambda c: c["metadata"]["labels"].pop("app.kubernetes.io/part-of"),
    "a managed field removed": lambda c: c["spec"].pop("concurrencyPolicy"),
    "a defaulted field changed (not managed)": lambda c: _container(c).update(imagePullPolicy="Always"),
    "a field added by hand (not managed)": lambda c: c["spec"].update(startingDeadlineSeconds=5),
    "the record edited into junk": lambda c: c["metadata"]["annotations"].update({LAST_APPLIED_ANNOTATION: "{"}),
    "the record gone": lambda c: c["metadata"]["annotations"].pop(LAST_APPLIED_ANNOTATION),
    "a field the plan no longer sets": _stale_record,
    "an orphan, to adopt": _orphan,
}


def _decisions(changes: Changes) -> dict[str, Any]:
    """What a pass does with a diff (an orphan by the patch that adopts it)."""
    adopt = {o["metadata"]["name"]: repair_patch(o, PLANNED[o["metadata"]["name"]]) for o in changes.adopt}
    return {"create": changes.create, "adopt": adopt, "patch": dict(changes.patch), "delete": changes.delete}


def _status(observed: Observed) -> dict[str, Any]:
    return status_json(PLAN, observed, previous=SCHEDULE["status"], now=NOW)


@pytest.mark.parametrize("edit", EDITS.values(), ids=EDITS.keys())
def test_a_stored_cron_job_drives_the_diff_and_status_as_the_one_served(
    edit: Callable[[dict[str, Any]], None],
) -> None:
    served = {name: _served(planned) for name, planned in PLANNED.items()}
    edit(served["acme-vendors"])
    world = World()
    world.apply("schedules", "ADDED", copy.deepcopy(SCHEDULE))
    for cron_job in served.values():
        world.apply("cronjobs", "ADDED", copy.deepcopy(cron_job))
    stored, orphans = world.observe(SCHEDULE)

    owned = {name: c for name, c in served.items() if c["metadata"].get("ownerReferences")}
    sent = Observed(cron_jobs=owned)
    served_orphans = [c for c in served.values() if not c["metadata"].get("ownerReferences")]
    assert _decisions(diff(PLANNED, stored, orphans)) == _decisions(diff(PLANNED, sent, served_orphans))
    assert _status(stored) == _status(sent)


def test_drift_of_a_managed_field_is_still_repaired_from_what_is_stored() -> None:
    cron_job = _served(PLANNED["acme-vendors"])
    _suspend(cron_job)
    world = World()
    world.apply("schedules", "ADDED", copy.deepcopy(SCHEDULE))
    world.apply("cronjobs", "ADDED", cron_job)
    observed, _ = world.observe(SCHEDULE)
    patch = diff(PLANNED, observed, ()).patch["acme-vendors"]
    assert patch["spec"] == {"suspend": PLANNED["acme-vendors"]["spec"]["suspend"]}


def test_an_unedited_cron_job_is_stored_without_what_is_never_read() -> None:
    served = _served(PLANNED["acme-vendors"])
    world = World()
    world.apply("cronjobs", "ADDED", copy.deepcopy(served))
    world.apply("cronjobs", "ADDED", _served(PLANNED["acme-jobs"]))
    kept = world.get("cronjobs", ("erp", "acme-vendors"))
    assert kept is not None
    assert "managedFields" not in kept["metadata"] and "generation" not in kept["metadata"]
    assert kept["metadata"]["annotations"] == {LAST_APPLIED_ANNOTATION: applied_record(PLANNED["acme-vendors"])}
    assert kept["spec"] == PLANNED["acme-vendors"]["spec"]  # the managed fields, the defaults dropped
    assert kept["status"] == {"lastScheduleTime": "2026-06-01T11:00:00Z", "lastSuccessfulTime": "2026-06-01T11:02:00Z"}
    # The second of a kind costs what differs from the first: its spec is the record's, not stored twice.
    assert len(world.objects["cronjobs"][("erp", "acme-jobs")].data) < len(str(served)) // 10


def _job(name: str, sync: str, status: dict[str, Any]) -> dict[str, Any]:
    labels = {"erpsync.io/schedule": "acme", "erpsync.io/sync": sync, "erpsync.io/trigger": "Scheduled"}
    return {
        "metadata": {
            "name": name,
            "namespace": "erp",
            "resourceVersion": "30",
            "creationTimestamp": "2026-06-01T11:00:00Z",
            "labels": labels,
            "managedFields": MANAGED_FIELDS,
        },
        "spec": copy.deepcopy(PLANNED["acme-vendors"]["spec"]["jobTemplate"]["spec"]),
        "status": status,
    }


def _pod(job: str, state: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {
            "name": f"{job}-pod",
            "namespace": "erp",
            "resourceVersion": "40",
            "creationTimestamp": "2026-06-01T11:00:01Z",
            "labels": {"erpsync.io/schedule": "acme", "job-name": job},
            "ownerReferences": [{"kind": "Job", "name": job, "controller": True}],
        },
        "spec": copy.deepcopy(PLANNED["acme-vendors"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]),
        "status": {
            "phase": "Failed",
            "containerStatuses": [{"name": "worker", "image": "w", "restartCount": 0, "ready": False, "state": state}],
        },
    }


def test_stored_jobs_and_pods_give_the_same_runs_and_health() -> None:
    failed_at = {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached"}
    summary = '{"result": "PartiallyFailed", "created": 3, "failed": 1, "errors": ["vendor 7 refused"]}'
    jobs = [
        _job("acme-vendors-1", "vendors", {"startTime": "2026-06-01T11:00:00Z", "active": 1, "ready": 0}),
        _job(
            "acme-jobs-1",
            "jobs",
            {"startTime": "2026-06-01T11:00:00Z", "completionTime": "2026-06-01T11:01:00Z", "conditions": [failed_at]},
        ),
    ]
    pods = [
        _pod("acme-vendors-1", {"waiting": {"reason": "CreateContainerConfigError", "message": "no secret"}}),
        _pod("acme-jobs-1", {"terminated": {"exitCode": 2, "reason": "Error", "message": summary}}),
    ]
    world = World()
    world.apply("schedules", "ADDED", copy.deepcopy(SCHEDULE))
    for cron_job in PLANNED.values():
        world.apply("cronjobs", "ADDED", _served(cron_job))
    for job in jobs:
        world.apply("jobs", "ADDED", copy.deepcopy(job))
    for pod in pods:
        world.apply("pods", "ADDED", copy.deepcopy(pod))
    stored, _ = world.observe(SCHEDULE)
    sent = Observed(
        cron_jobs={name: _served(c) for name, c in PLANNED.items()},
        jobs_by_sync={"jobs": [jobs[1]], "vendors": [jobs[0]]},
        pods_by_job={"acme-vendors-1": [pods[0]], "acme-jobs-1": [pods[1]]},
    )
    status = _status(stored)
    assert status == _status(sent)
    assert status["syncs"]["jobs"]["lastRun"]["result"] == "PartiallyFailed"  # the summary was read
    assert "CreateContainerConfigError" in status["syncs"]["vendors"]["lastRun"]["message"]
