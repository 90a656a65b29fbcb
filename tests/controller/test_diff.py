"""The diff of a pass: from the plan and what exists, the CronJobs to create, adopt, repair and delete."""

import copy
from dataclasses import dataclass
from typing import Any

import pytest

from erpsync.controller.diff import Changes, diff
from erpsync.controller.drift import LAST_APPLIED_ANNOTATION, applied_record
from erpsync.controller.observed import Observed


def _planned(name: str, schedule: str = "0 * * * *") -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"erpsync.io/schedule": "acme"}}, "spec": {"schedule": schedule}}


def _as_created(planned: dict[str, Any], **spec: Any) -> dict[str, Any]:
    """The CronJob as the operator created it (its last-applied record), with `spec` edited by hand."""
    existing = copy.deepcopy(planned)
    existing["metadata"]["annotations"] = {LAST_APPLIED_ANNOTATION: applied_record(planned)}
    existing["spec"].update(spec)
    return existing


PLAN = {name: _planned(name) for name in ("acme-vendors", "acme-jobs")}


@dataclass(frozen=True)
class Case:
    ours: dict[str, dict[str, Any]]  # the schedule's CronJobs, by name
    unmanaged: tuple[str, ...] = ()  # CronJobs with the schedule's labels that another controller owns
    orphans: tuple[str, ...] = ()  # CronJobs with the schedule's labels and no controller
    create: tuple[str, ...] = ()
    adopt: tuple[str, ...] = ()
    repair: tuple[str, ...] = ()
    delete: tuple[str, ...] = ()


CASES = {
    "nothing exists: every planned CronJob is created": Case(ours={}, create=("acme-vendors", "acme-jobs")),
    "all in sync: nothing to write": Case(ours={name: _as_created(cron_job) for name, cron_job in PLAN.items()}),
    "a hand-edited CronJob is repaired, only it": Case(
        ours={
            "acme-vendors": _as_created(PLAN["acme-vendors"], schedule="5 5 * * *"),
            "acme-jobs": _as_created(PLAN["acme-jobs"]),
        },
        repair=("acme-vendors",),
    ),
    "a CronJob no longer planned is deleted, a missing one created": Case(
        ours={
            "acme-vendors": _as_created(PLAN["acme-vendors"]),
            "acme-job-costs": _as_created(_planned("acme-job-costs")),
        },
        create=("acme-jobs",),
        delete=("acme-job-costs",),
    ),
    "a planned name another controller holds is left alone": Case(
        ours={"acme-vendors": _as_created(PLAN["acme-vendors"])}, unmanaged=("acme-jobs", "acme-other")
    ),
    # Its create meets a 409 and is read back (reconcile.resolve_conflict), as when the watch does not show it.
    "an orphan holding a planned name is adopted": Case(
        ours={"acme-vendors": _as_created(PLAN["acme-vendors"])},
        orphans=("acme-jobs",),
        create=("acme-jobs",),
        adopt=("acme-jobs",),
    ),
    "an orphan holding no planned name is neither adopted nor deleted": Case(
        ours={name: _as_created(cron_job) for name, cron_job in PLAN.items()}, orphans=("acme-old",)
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_diff(case: Case) -> None:
    observed = Observed(cron_jobs=copy.deepcopy(case.ours), unmanaged_cron_jobs=list(case.unmanaged))
    orphans = [_as_created(_planned(name)) for name in case.orphans]

    changes = diff(PLAN, observed, orphans)

    assert changes.create == case.create
    assert tuple(orphan["metadata"]["name"] for orphan in changes.adopt) == case.adopt
    assert tuple(changes.patch) == case.repair
    assert changes.delete == case.delete
    assert bool(changes) == any((case.create, case.adopt, case.repair, case.delete))


def test_a_repair_patch_puts_back_what_was_edited() -> None:
    ours = {"acme-vendors": _as_created(PLAN["acme-vendors"], schedule="5 5 * * *")}
    changes = diff({"acme-vendors": PLAN["acme-vendors"]}, Observed(cron_jobs=ours), [])
    assert changes.patch["acme-vendors"]["spec"] == {"schedule": "0 * * * *"}


def test_nothing_planned_and_nothing_there_is_no_change() -> None:
    assert diff({}, Observed(), []) == Changes()
    assert not Changes()
