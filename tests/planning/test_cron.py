"""Cron schedules of the planner: runs per day, even spacing, daylight-saving days and the Daily window.

Runs are counted with the cron library (croniter) and with `next_runs`, which shows what the
cluster's CronJob controller (robfig/cron v3) does: on a spring-forward day it skips runs in the
gap; on a fall-back day it runs those in the repeated hour twice.
"""

import itertools
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from importlib import resources
from typing import Final
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter

from erpsync.api.timezones import zone_names
from erpsync.api.vocabulary import FREQUENCIES, SYNC_NAMES, Frequency
from erpsync.planning.cron import cron_expression, interval, next_runs
from erpsync.planning.names import stable_int
from erpsync.planning.plan import plan_schedule
from tests.support.specs import make_schedule

RUNS_PER_DAY: Final[dict[Frequency, int]] = {"Hourly": 24, "Every2Hours": 12, "Every4Hours": 6, "Daily": 1}
PERIOD: Final[dict[Frequency, timedelta]] = {
    "Hourly": timedelta(hours=1),
    "Every2Hours": timedelta(hours=2),
    "Every4Hours": timedelta(hours=4),
    "Daily": timedelta(days=1),
}
SCHEDULED: Final[tuple[Frequency, ...]] = ("Hourly", "Every2Hours", "Every4Hours", "Daily")

# seed % 60 is the minute and seed // 60 picks the hour slot (mod 2 or 4): range(240) is every
# (minute, hour slot) pair. Add seeds the planner really computes from schedule names.
SEEDS: Final[tuple[int, ...]] = (
    *range(240),
    *(stable_int("erp-sync", f"customer-{i}", sync) for i in range(15) for sync in SYNC_NAMES),
)
# Half-hour, quarter-hour and southern-hemisphere zones, on days without a change of offset.
ORDINARY_DAYS: Final = (
    ("UTC", date(2026, 1, 20)),
    ("America/New_York", date(2026, 7, 14)),  # summer time
    ("Australia/Sydney", date(2026, 1, 20)),  # summer time, southern hemisphere
    ("Asia/Kathmandu", date(2026, 7, 14)),  # a +05:45 zone
    ("Pacific/Chatham", date(2026, 7, 14)),  # a +12:45 zone with daylight saving
)


def slots(frequency: Frequency) -> dict[str, int]:
    """Every distinct schedule the seeds give for a frequency, with one seed that gives it."""
    found: dict[str, int] = {}
    for seed in SEEDS:
        found.setdefault(expression(frequency, seed), seed)
    return found


def local_day(zone: str, day: date) -> tuple[datetime, datetime]:
    """The first instant of `day` in `zone` and the first instant of the next day."""
    tz = ZoneInfo(zone)
    return datetime.combine(day, time(0), tz), datetime.combine(day + timedelta(days=1), time(0), tz)


@cache
def croniter_runs(schedule: str, zone: str, day: date) -> list[datetime]:
    """The runs croniter gives for a local day (the cron library itself, no filtering)."""
    start, end = local_day(zone, day)
    iterator = croniter(schedule, start - timedelta(seconds=1))
    runs: list[datetime] = []
    while (run := iterator.get_next(datetime)) < end:
        runs.append(run)
    return runs


def cluster_runs(schedule: str, zone: str, day: date) -> list[datetime]:
    """The runs `next_runs` (what `plan` shows, and the cluster does) gives for a local day."""
    start, end = local_day(zone, day)
    hour_field = schedule.split()[1]
    at_most = 26 if hour_field == "*" else 24 // int(hour_field.split("/")[1]) + 2 if "/" in hour_field else 3
    return [run for run in next_runs(schedule, zone, start - timedelta(seconds=1), at_most) if run < end]


def is_ordinary(zone: str, day: date) -> bool:
    start, end = local_day(zone, day)
    # In UTC: between two datetimes of the same zone, `-` gives the wall-clock difference.
    return end.astimezone(UTC) - start.astimezone(UTC) == timedelta(days=1)


def expression(frequency: Frequency, seed: int) -> str:
    schedule = cron_expression(frequency, seed)
    assert schedule is not None
    return schedule


def test_the_seeds_give_every_slot() -> None:
    assert [len(slots(frequency)) for frequency in SCHEDULED] == [60, 120, 240, 120]


@pytest.mark.parametrize("frequency", SCHEDULED)
@pytest.mark.parametrize(("zone", "day"), ORDINARY_DAYS)
def test_runs_per_ordinary_day_counted_with_croniter(frequency: Frequency, zone: str, day: date) -> None:
    assert is_ordinary(zone, day), f"{day} is a daylight-saving change day in {zone}: pick another"
    for schedule, seed in slots(frequency).items():
        runs = croniter_runs(schedule, zone, day)
        assert len(runs) == RUNS_PER_DAY[frequency], (frequency, seed, schedule, zone, day, runs)
        assert cluster_runs(schedule, zone, day) == runs, (schedule, zone, day)


@pytest.mark.parametrize("frequency", SCHEDULED)
def test_slots_are_evenly_spaced_and_stay_on_the_seeds_minute(frequency: Frequency) -> None:
    period = PERIOD[frequency]
    count = 2 * RUNS_PER_DAY[frequency] + 1  # across midnight: the spacing must hold there too
    after = datetime(2026, 7, 13, 12, 7, tzinfo=UTC)
    for zone in ("UTC", "America/New_York"):
        for schedule, seed in slots(frequency).items():
            runs = next_runs(schedule, zone, after, count)
            assert len(runs) == count
            assert all(later - earlier == period for earlier, later in itertools.pairwise(runs)), (
                schedule,
                zone,
                runs,
            )
            assert {run.astimezone(ZoneInfo(zone)).minute for run in runs} == {seed % 60}


@pytest.mark.parametrize("frequency", ["Every2Hours", "Every4Hours"])
def test_hour_slots_cover_the_whole_day(frequency: Frequency) -> None:
    # 0-23/2 and 1-23/2 both give 12 runs; 0..3-23/4 each give 6: no slot is shorter at the day's end.
    per_day = RUNS_PER_DAY[frequency]
    hours = {
        run.hour for seed in range(240) for run in croniter_runs(expression(frequency, seed), "UTC", date(2026, 7, 14))
    }
    assert hours == set(range(24))
    for seed in range(240):
        slot_hours = [run.hour for run in croniter_runs(expression(frequency, seed), "UTC", date(2026, 7, 14))]
        assert len(slot_hours) == per_day
        assert slot_hours[0] < 24 // per_day


def test_daily_without_at_falls_in_the_night_window() -> None:
    for seed in SEEDS:
        runs = croniter_runs(expression("Daily", seed), "UTC", date(2026, 7, 14))
        assert len(runs) == 1
        assert time(4, 0) <= runs[0].time() <= time(5, 59), (seed, runs)
    used_hours = {croniter_runs(expression("Daily", seed), "UTC", date(2026, 7, 14))[0].hour for seed in SEEDS}
    assert used_hours == {4, 5}


@pytest.mark.parametrize("at", ["00:00", "06:15", "12:30", "18:30", "23:59"])
def test_daily_at_runs_at_that_local_time(at: str) -> None:
    schedule = cron_expression("Daily", 12345, at)
    assert schedule is not None
    for zone in ("America/Chicago", "Australia/Sydney"):
        runs = next_runs(schedule, zone, datetime(2026, 7, 1, tzinfo=UTC), 5)
        assert [run.astimezone(ZoneInfo(zone)).strftime("%H:%M") for run in runs] == [at] * 5
        assert all(later - earlier == timedelta(days=1) for earlier, later in itertools.pairwise(runs))


def test_never_gives_no_schedule() -> None:
    for seed in (0, 59, 60, 2**63):
        assert cron_expression("Never", seed) is None
    assert interval("Never") is None
    never = {"frequency": "Never"}
    schedule = make_schedule(syncs={"vendors": never, "jobs": never, "jobCosts": never, "invoicePayments": never})
    plan = plan_schedule(schedule)
    assert plan.cron_jobs == []
    assert [(p.frequency, p.schedule, p.cron_job_name, p.cron_job) for p in plan.syncs] == [
        ("Never", None, None, None)
    ] * 4
    assert set(FREQUENCIES) == {*SCHEDULED, "Never"}


# --- Daylight-saving change days -------------------------------------------------------------

NEW_YORK: Final = "America/New_York"
SYDNEY: Final = "Australia/Sydney"
NY_SPRING_FORWARD: Final = date(2026, 3, 8)  # 02:00 EST -> 03:00 EDT: 02:00-02:59 does not exist
NY_FALL_BACK: Final = date(2026, 11, 1)  # 02:00 EDT -> 01:00 EST: 01:00-01:59 happens twice
SYDNEY_FALL_BACK: Final = date(2026, 4, 5)  # 03:00 AEDT -> 02:00 AEST: 02:00-02:59 happens twice
SYDNEY_SPRING_FORWARD: Final = date(2026, 10, 4)  # 02:00 AEST -> 03:00 AEDT: 02:00-02:59 does not exist


@pytest.mark.parametrize(
    ("zone", "day"),
    [
        (NEW_YORK, NY_SPRING_FORWARD),
        (NEW_YORK, NY_FALL_BACK),
        (SYDNEY, SYDNEY_FALL_BACK),
        (SYDNEY, SYDNEY_SPRING_FORWARD),
    ],
)
def test_the_pinned_days_are_change_days(zone: str, day: date) -> None:
    assert not is_ordinary(zone, day)


# Observed with robfig/cron v3.0.1 (which the Kubernetes CronJob controller calls) for New York;
# Sydney follows the same rule (gap skipped, repeated hour run twice) with its change at 02:00/03:00.
CLUSTER_RUNS_ON_CHANGE_DAYS: Final = [
    (NEW_YORK, NY_SPRING_FORWARD, "30 * * * *", 23),
    (NEW_YORK, NY_SPRING_FORWARD, "30 1-23/2 * * *", 12),
    (NEW_YORK, NY_SPRING_FORWARD, "30 0-23/2 * * *", 11),
    (NEW_YORK, NY_SPRING_FORWARD, "30 2 * * *", 0),
    (NEW_YORK, NY_SPRING_FORWARD, "30 1 * * *", 1),
    (NEW_YORK, NY_FALL_BACK, "30 * * * *", 25),
    (NEW_YORK, NY_FALL_BACK, "30 1-23/2 * * *", 13),
    (NEW_YORK, NY_FALL_BACK, "30 0-23/2 * * *", 12),
    (NEW_YORK, NY_FALL_BACK, "30 1 * * *", 2),
    (NEW_YORK, NY_FALL_BACK, "30 2 * * *", 1),
    (SYDNEY, SYDNEY_FALL_BACK, "30 * * * *", 25),
    (SYDNEY, SYDNEY_FALL_BACK, "30 0-23/2 * * *", 13),
    (SYDNEY, SYDNEY_FALL_BACK, "30 1-23/2 * * *", 12),
    (SYDNEY, SYDNEY_FALL_BACK, "30 2 * * *", 2),
    (SYDNEY, SYDNEY_SPRING_FORWARD, "30 * * * *", 23),
    (SYDNEY, SYDNEY_SPRING_FORWARD, "30 0-23/2 * * *", 11),
    (SYDNEY, SYDNEY_SPRING_FORWARD, "30 1-23/2 * * *", 12),
    (SYDNEY, SYDNEY_SPRING_FORWARD, "30 2 * * *", 0),
]


@pytest.mark.parametrize(("zone", "day", "schedule", "runs"), CLUSTER_RUNS_ON_CHANGE_DAYS)
def test_runs_on_change_days_match_the_cluster(zone: str, day: date, schedule: str, runs: int) -> None:
    assert len(cluster_runs(schedule, zone, day)) == runs


def test_new_york_spring_forward_skips_the_gap() -> None:
    runs = cluster_runs("30 * * * *", NEW_YORK, NY_SPRING_FORWARD)
    local = [run.astimezone(ZoneInfo(NEW_YORK)).strftime("%H:%M%z") for run in runs]
    assert local[:3] == ["00:30-0500", "01:30-0500", "03:30-0400"]
    assert all(run.hour != 2 for run in runs)


def test_new_york_fall_back_runs_the_repeated_hour_twice() -> None:
    runs = cluster_runs("30 1 * * *", NEW_YORK, NY_FALL_BACK)
    assert [run.astimezone(UTC).isoformat() for run in runs] == [
        "2026-11-01T05:30:00+00:00",
        "2026-11-01T06:30:00+00:00",
    ]
    # Asked from inside the repeated hour, the next run is the second 01:30.
    inside = datetime(2026, 11, 1, 5, 45, tzinfo=UTC)  # 01:45 EDT
    assert next_runs("30 1 * * *", NEW_YORK, inside, 1)[0].isoformat() == "2026-11-01T01:30:00-05:00"


def test_croniter_alone_moves_a_run_out_of_the_gap() -> None:
    # Why `next_runs` filters: croniter 7 moves 02:30 to 03:00 on a spring-forward day, the cluster
    # skips it. If croniter ever changes this, `next_runs` must be re-checked.
    moved = croniter_runs("30 2 * * *", NEW_YORK, NY_SPRING_FORWARD)
    assert [run.strftime("%H:%M") for run in moved] == ["03:00"]
    assert cluster_runs("30 2 * * *", NEW_YORK, NY_SPRING_FORWARD) == []


def _expected_on_change_day(frequency: Frequency, seed: int, gap_hour: int | None, repeated_hour: int | None) -> int:
    """Runs of the planner's slot on a change day: one fewer if its hours include the gap, one more
    if they include the repeated hour."""
    schedule = expression(frequency, seed)
    hours = {run.hour for run in croniter_runs(schedule, "UTC", date(2026, 7, 14))}
    return RUNS_PER_DAY[frequency] - (gap_hour in hours) + (repeated_hour in hours)


@pytest.mark.parametrize(
    ("zone", "day", "gap_hour", "repeated_hour"),
    [
        (NEW_YORK, NY_SPRING_FORWARD, 2, None),
        (NEW_YORK, NY_FALL_BACK, None, 1),
        (SYDNEY, SYDNEY_FALL_BACK, None, 2),
        (SYDNEY, SYDNEY_SPRING_FORWARD, 2, None),
    ],
)
@pytest.mark.parametrize("frequency", SCHEDULED)
def test_planner_slots_on_change_days(
    frequency: Frequency, zone: str, day: date, gap_hour: int | None, repeated_hour: int | None
) -> None:
    counts: set[int] = set()
    for schedule, seed in slots(frequency).items():
        runs = len(cluster_runs(schedule, zone, day))
        assert runs == _expected_on_change_day(frequency, seed, gap_hour, repeated_hour), (frequency, schedule)
        counts.add(runs)
    change = 1 if repeated_hour is not None else -1
    expected: dict[Frequency, set[int]] = {
        "Hourly": {24 + change},  # every hourly slot meets the changed hour
        "Every2Hours": {12, 12 + change},  # half of the slots do
        "Every4Hours": {6, 6 + change},  # a quarter do
        "Daily": {1},  # the 04:00-05:59 window is never touched
    }
    assert counts == expected[frequency]


# --- No zone changes its offset between 04:00 and 05:59 local time ----------------------------

WINDOW_START: Final = time(4, 0)
WINDOW_END: Final = time(6, 0)  # exclusive
SCAN_FROM: Final = datetime(2025, 1, 1, tzinfo=UTC) - timedelta(days=2)
SCAN_TO: Final = datetime(2028, 1, 1, tzinfo=UTC) + timedelta(days=2)
SCAN_STEP: Final = timedelta(hours=3)  # no zone changes its offset twice within 3 hours


def pinned_zone(name: str) -> ZoneInfo:
    """The zone from the pinned tzdata package (not the machine's /usr/share/zoneinfo)."""
    with resources.files("tzdata.zoneinfo").joinpath(*name.split("/")).open("rb") as file:
        return ZoneInfo.from_file(file, key=name)


def transitions(zone: ZoneInfo) -> Iterator[tuple[datetime, timedelta, timedelta]]:
    """(instant, offset before, offset after) of every change of UTC offset in the scanned years."""
    previous_instant = SCAN_FROM
    previous = previous_instant.astimezone(zone).utcoffset()
    instant = SCAN_FROM
    while instant < SCAN_TO:
        instant += SCAN_STEP
        offset = instant.astimezone(zone).utcoffset()
        if offset != previous:
            low, high = previous_instant, instant  # offset(low) == previous, offset(high) == offset
            while high - low > timedelta(seconds=1):
                middle = low + timedelta(seconds=(high - low) // timedelta(seconds=2))  # whole seconds
                if middle.astimezone(zone).utcoffset() == previous:
                    low = middle
                else:
                    high = middle
            assert previous is not None and offset is not None
            yield high, previous, offset
        previous_instant, previous = instant, offset


def touched_wall_clock(instant: datetime, before: timedelta, after: timedelta) -> tuple[datetime, datetime]:
    """The local wall-clock times skipped (spring forward) or repeated (fall back), as [start, end)."""
    utc = instant.replace(tzinfo=None)
    first, second = utc + before, utc + after
    return min(first, second), max(first, second)


def touches_window(start: datetime, end: datetime) -> bool:
    day = start.date() - timedelta(days=1)
    while day <= end.date():
        window_start, window_end = datetime.combine(day, WINDOW_START), datetime.combine(day, WINDOW_END)
        if start < window_end and window_start < end:
            return True
        day += timedelta(days=1)
    return False


def test_touches_window_can_tell() -> None:
    assert touches_window(datetime(2026, 3, 8, 4, 0), datetime(2026, 3, 8, 5, 0))
    assert touches_window(datetime(2026, 3, 8, 5, 59), datetime(2026, 3, 8, 7, 0))
    assert not touches_window(datetime(2026, 3, 8, 3, 0), datetime(2026, 3, 8, 4, 0))
    assert not touches_window(datetime(2026, 3, 8, 6, 0), datetime(2026, 3, 8, 7, 0))
    # New York's spring forward is found and lands outside the window.
    found = list(transitions(pinned_zone(NEW_YORK)))
    assert len(found) == 6
    assert touched_wall_clock(*found[2]) == (datetime(2026, 3, 8, 2, 0), datetime(2026, 3, 8, 3, 0))


def test_no_zone_changes_its_offset_in_the_daily_window() -> None:
    names = zone_names()
    assert len(names) > 500
    offenders: list[str] = []
    changes = 0
    for name in names:
        for instant, before, after in transitions(pinned_zone(name)):
            start, end = touched_wall_clock(instant, before, after)
            changes += 1
            if touches_window(start, end):
                offenders.append(f"{name}: {start:%Y-%m-%d %H:%M} to {end:%H:%M}")
    assert changes > 400, "the scan found too few changes of offset to be believed"
    assert offenders == []
