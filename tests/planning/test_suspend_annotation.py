"""Who suspends a sync: the spec's two flags and the erpsync.io/suspend annotation, read and planned (pure)."""

from typing import Any

import pytest

from erpsync.api.vocabulary import SYNC_NAMES, SyncName, read_suspend_annotation, suspend_annotation_value
from erpsync.planning.plan import plan_schedule
from tests.planning.builders import ERP_CONNECTOR
from tests.support.specs import make_schedule

EVERY: frozenset[SyncName] = frozenset(SYNC_NAMES)


@pytest.mark.parametrize(
    ("value", "syncs", "unknown"),
    [
        (None, set(), ()),
        ("", set(), ()),
        ("all", EVERY, ()),
        (" vendors , jobCosts ,", {"vendors", "jobCosts"}, ()),
        ("jobs,all", EVERY, ()),
        ("vendor,jobs,true", {"jobs"}, ("vendor", "true")),  # a typo pauses nothing more than it names
        ("ALL", set(), ("ALL",)),
    ],
)
def test_the_annotation_is_read_leniently(value: str | None, syncs: set[str], unknown: tuple[str, ...]) -> None:
    assert read_suspend_annotation(value) == (frozenset(syncs), unknown)


def test_the_annotation_is_written_in_sync_order_and_all_for_every_sync() -> None:
    assert suspend_annotation_value(frozenset()) is None
    assert suspend_annotation_value(frozenset({"invoicePayments", "vendors"})) == "vendors,invoicePayments"
    assert suspend_annotation_value(EVERY) == "all"
    for value in ("all", "jobs,jobCosts"):  # what it writes reads back as what it was given
        syncs, _ = read_suspend_annotation(value)
        assert suspend_annotation_value(syncs) == value


def _suspension(plan_syncs: Any) -> dict[str, tuple[bool, tuple[str, ...], bool | None]]:
    """Per sync: suspended, suspended_by, and the CronJob's own flag (None for Never)."""
    return {
        planned.sync: (
            planned.suspended,
            planned.suspended_by,
            planned.cron_job["spec"]["suspend"] if planned.cron_job else None,
        )
        for planned in plan_syncs
    }


def test_the_annotation_suspends_beside_the_spec_and_each_reason_is_named() -> None:
    schedule = make_schedule(
        suspend=False,
        syncs={"vendors": {"frequency": "Hourly", "suspend": True}, "jobCosts": {"frequency": "Never"}},
    )
    plain = _suspension(plan_schedule(schedule).syncs)
    assert plain == {
        "vendors": (True, ("Sync",), True),
        "jobs": (False, (), False),
        "jobCosts": (False, (), None),
        "invoicePayments": (False, (), False),
    }
    annotated = _suspension(plan_schedule(schedule, suspended_by_annotation=frozenset({"vendors", "jobs"})).syncs)
    assert annotated == {
        "vendors": (True, ("Sync", "Annotation"), True),
        "jobs": (True, ("Annotation",), True),
        "jobCosts": (False, (), None),
        "invoicePayments": (False, (), False),
    }
    whole = make_schedule(suspend=True)
    assert {planned.suspended_by for planned in plan_schedule(whole, suspended_by_annotation=EVERY).syncs} == {
        ("Schedule", "Annotation")
    }


def test_only_the_suspend_flag_differs_with_the_annotation() -> None:
    schedule = make_schedule(procore=ERP_CONNECTOR)
    plain = plan_schedule(schedule).cron_jobs
    annotated = plan_schedule(schedule, suspended_by_annotation=EVERY).cron_jobs
    assert [cron_job["spec"].pop("suspend") for cron_job in plain] == [False] * 4
    assert [cron_job["spec"].pop("suspend") for cron_job in annotated] == [True] * 4
    assert annotated == plain
