"""Each sync's Prometheus series, held as plain numbers and turned into samples when scraped.

prometheus_client keeps an object of about 700 bytes for every labelled series; with two dozen series per
schedule (four syncs: runs by result, the last result, period, scheduled since...) labelled metrics cost
about 20 KB per schedule, 200 MB at 10,000 schedules, more than everything else the operator holds. Here a
sync's series are one small object of numbers, and the collector makes the families at each scrape from
them, as kube-state-metrics makes its series from its store.

The metrics server scrapes from its own thread while passes update the numbers: the collector reads a copy
of each dict (taken whole, under the GIL) and at worst mixes the numbers of two consecutive passes of one
sync in one scrape.
"""

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from erpsync.controller.world import ScheduleKey

SYNC_LABELS: Final = ["namespace", "schedule", "sync"]
LAST_RESULT: Final = "1 for the result of the last run of each sync, 0 for the other results."
RUNS: Final = "Finished runs of each sync, by result (counted once, when the operator first sees the run finished)."
RECORDS: Final = "Records handled by the finished runs of each sync (the sync is the kind of record), by outcome."


@dataclass(slots=True)
class SyncNumbers:
    """What the series of one sync show; None: no series."""

    created: float  # when the sync's series appeared: the counters' `_created`
    last_result: str | None = None
    last_duration: float | None = None
    last_success: float | None = None
    period: float | None = None
    scheduled_since: float | None = None
    runs: dict[str, float] = field(default_factory=dict)  # finished runs by result
    records: dict[str, float] = field(default_factory=dict)  # records of finished runs by outcome


# The gauges with one series per sync: name, documentation, the number shown.
GAUGES: Final[tuple[tuple[str, str, Callable[["SyncNumbers"], float | None]], ...]] = (
    (
        "erpsync_sync_last_duration_seconds",
        "Duration of the last finished run of each sync.",
        lambda numbers: numbers.last_duration,
    ),
    (
        "erpsync_sync_last_success_timestamp_seconds",
        "When the last successful run of each sync completed (Unix time).",
        lambda numbers: numbers.last_success,
    ),
    (
        "erpsync_sync_period_seconds",
        "Time between two scheduled runs of each enabled sync (not suspended, not Never).",
        lambda numbers: numbers.period,
    ),
    (
        "erpsync_sync_scheduled_since_timestamp_seconds",
        "When each enabled sync's CronJob was created (Unix time; the schedule's creation while it has none): "
        "how long a sync that never succeeded has been due (the ErpSyncSyncOverdue alert).",
        lambda numbers: numbers.scheduled_since,
    ),
)


class SyncSeries(Collector):
    """The series of every sync of every schedule (metrics.py documents each one)."""

    def __init__(self, results: tuple[str, ...]) -> None:
        self.results = results  # erpsync_sync_last_result has a series for each, and the runs count from 0
        self._syncs: dict[ScheduleKey, dict[str, SyncNumbers]] = {}

    def numbers(self, key: ScheduleKey, sync: str) -> SyncNumbers:
        """The numbers of a sync, its run counters at zero when new (increase() then sees the first run)."""
        syncs = self._syncs.setdefault(key, {})
        found = syncs.get(sync)
        if found is None:
            found = syncs[sync] = SyncNumbers(time.time(), runs=dict.fromkeys(self.results, 0.0))
        return found

    def keep_only(self, key: ScheduleKey, syncs: Iterable[str]) -> None:
        """Drop the series of the syncs of `key` not in `syncs` (no longer in its status)."""
        known = self._syncs.get(key, {})
        for gone in set(known) - set(syncs):
            del known[gone]

    def forget(self, key: ScheduleKey) -> None:
        self._syncs.pop(key, None)

    def collect(self) -> Iterable[Metric]:
        last_result = GaugeMetricFamily("erpsync_sync_last_result", LAST_RESULT, labels=[*SYNC_LABELS, "result"])
        gauges = [
            (GaugeMetricFamily(name, documentation, labels=SYNC_LABELS), read) for name, documentation, read in GAUGES
        ]
        runs = CounterMetricFamily("erpsync_sync_runs", RUNS, labels=[*SYNC_LABELS, "result"])
        records = CounterMetricFamily("erpsync_sync_records", RECORDS, labels=[*SYNC_LABELS, "outcome"])
        for (namespace, schedule), syncs in list(self._syncs.items()):
            for sync, numbers in list(syncs.items()):
                labels = [namespace, schedule, sync]
                if numbers.last_result:
                    for result in dict.fromkeys((*self.results, numbers.last_result)):
                        last_result.add_metric([*labels, result], 1.0 if result == numbers.last_result else 0.0)
                for gauge, read in gauges:
                    if (value := read(numbers)) is not None:
                        gauge.add_metric(labels, value)
                for counter, counts in ((runs, numbers.runs), (records, numbers.records)):
                    for label, count in list(counts.items()):
                        counter.add_metric([*labels, label], count, created=numbers.created)
        return [last_result, *(gauge for gauge, _ in gauges), runs, records]
