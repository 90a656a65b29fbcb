"""Cron schedules for sync frequencies, spread over the clock, and their next run times.

Each frequency runs in evenly spaced slots of local wall-clock time: Hourly 24 a day, Every2Hours
12, Every4Hours 6, Daily 1. The start minute (and the start hour where the period allows) comes
from a stable hash of namespace, name and sync, as Jenkins' `H` does, so a thousand schedules do
not all fire at :00. A Daily sync without `at` runs between 04:00 and 05:59 local time, a window
that no time zone's daylight-saving change touches (they all fall between 21:00 and 03:59).

The cluster's CronJob controller (robfig/cron v3) skips runs that fall in a spring-forward gap and
runs those in a fall-back overlap twice. croniter does the same except that it moves a run in a
gap to the first existing minute after it; `next_runs` drops those, so `plan` shows what the
cluster will do.
"""

from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

from croniter import croniter

from erpsync.api.vocabulary import Frequency

PERIOD_HOURS: Final[dict[Frequency, int]] = {"Hourly": 1, "Every2Hours": 2, "Every4Hours": 4, "Daily": 24}
DAILY_WINDOW_START_HOUR: Final = 4
DAILY_WINDOW_HOURS: Final = 2


def cron_expression(frequency: Frequency, seed: int, at: str | None = None) -> str | None:
    """The cron schedule of a frequency, with its slot chosen by `seed`; None for Never."""
    if frequency == "Never":
        return None
    minute = seed % 60
    spread = seed // 60
    if frequency == "Hourly":
        return f"{minute} * * * *"
    if frequency == "Daily":
        if at is not None:
            hours, minutes = at.split(":")
            return f"{int(minutes)} {int(hours)} * * *"
        return f"{minute} {DAILY_WINDOW_START_HOUR + spread % DAILY_WINDOW_HOURS} * * *"
    period = PERIOD_HOURS[frequency]
    return f"{minute} {spread % period}-23/{period} * * *"


def interval(frequency: Frequency) -> timedelta | None:
    """The time between two runs; None for Never."""
    hours = PERIOD_HOURS.get(frequency)
    return timedelta(hours=hours) if hours else None


def next_runs(schedule: str, time_zone: str, after: datetime, count: int) -> list[datetime]:
    """The next `count` times the cluster will start `schedule` in `time_zone`, strictly after `after`."""
    return list(_next_runs(schedule, time_zone, after.replace(second=0, microsecond=0), count))


@lru_cache(maxsize=16384)
def _next_runs(schedule: str, time_zone: str, minute: datetime, count: int) -> tuple[datetime, ...]:
    """Runs fall on whole minutes, so every time within one minute has the same runs after it: a status
    built for thousands of schedules computes each (expression, zone, minute) once (croniter is slow)."""
    return tuple(run for run, _ in zip(_runs(schedule, time_zone, minute), range(count), strict=False))


def _runs(schedule: str, time_zone: str, after: datetime) -> Iterator[datetime]:
    zone = ZoneInfo(time_zone)
    minute_field, hour_field = schedule.split()[:2]
    iterator = croniter(schedule, after.astimezone(zone))
    while True:
        run: datetime = iterator.get_next(datetime)
        # croniter moves a run that falls in a spring-forward gap to the first minute after it;
        # the CronJob controller skips it. A moved run no longer matches its own fields.
        if _matches(run.minute, minute_field) and _matches(run.hour, hour_field):
            yield run


def _matches(value: int, field: str) -> bool:
    # Only the field forms `cron_expression` writes: "*", "N" and "N-23/S". (croniter.match cannot
    # tell a moved run: it answers True for 03:00 against "30 2 * * *" on a spring-forward day.)
    if field == "*":
        return True
    if "/" in field:
        start, step = field.split("/")
        first = int(start.split("-")[0])
        return value >= first and (value - first) % int(step) == 0
    return value == int(field)
