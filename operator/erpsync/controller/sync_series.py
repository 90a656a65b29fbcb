"""Each sync's Prometheus series, held as plain numbers and written as exposition text when scraped, in pieces.

prometheus_client keeps an object of about 700 bytes for every labelled series; with two dozen series per
schedule (four syncs: runs by result, the last result, period, scheduled since...) labelled metrics cost
about 20 KB per schedule, 200 MB at 10,000 schedules, more than everything else the operator holds. Here a
sync's series are one small object of numbers. A custom collector that made prometheus_client's samples from
them at each scrape still built the whole scrape as objects first: at 10,000 schedules 200 MiB and 3.4 s of
CPU a scrape (the peak memory of a restart was a scrape; docs/benchmarks.md). `exposition` writes the text
itself, family by family, in pieces of about 64 KiB, as kube-state-metrics writes its series from its store.

The metrics server scrapes from its own thread while passes update the numbers: each dict is copied whole
(under the GIL) before it is read, and a scrape at worst mixes the numbers of two consecutive passes of one
sync.
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Final

from prometheus_client.utils import floatToGoString

from erpsync.controller.world import ScheduleKey

# A float as Prometheus writes it ("3600.0", "1.7e+09", "+Inf"): prometheus_client's own function, untyped there.
_number: Final[Callable[[float], str]] = floatToGoString
CHUNK_BYTES: Final = 65536  # the exposition's pieces: one is held at a time
LAST_RESULT: Final = "1 for the result of the last run of each sync, 0 for the other results."
RUNS: Final = "Finished runs of each sync, by result (counted once, when the operator first sees the run finished)."
RECORDS: Final = "Records handled by the finished runs of each sync (the sync is the kind of record), by outcome."


@dataclass(slots=True)
class SyncNumbers:
    """What the series of one sync show; None: no series."""

    last_result: str | None = None
    last_duration: float | None = None
    last_success: float | None = None
    period: float | None = None
    scheduled_since: float | None = None
    runs: dict[str, float] = field(default_factory=dict)  # finished runs by result
    records: dict[str, float] = field(default_factory=dict)  # records of finished runs by outcome


# The samples of one family for one sync: (the value of the family's own label, or "" without one; value).
Samples = Callable[[SyncNumbers, tuple[str, ...]], Iterable[tuple[str, float]]]


@dataclass(frozen=True)
class Family:
    """One metric with a series per sync (or per sync and `label`)."""

    name: str
    kind: str  # "gauge" or "counter"
    documentation: str
    label: str  # the label beside namespace, schedule and sync; "" for none
    samples: Samples


def _gauge(read: Callable[[SyncNumbers], float | None]) -> Samples:
    def samples(numbers: SyncNumbers, _: tuple[str, ...]) -> Iterable[tuple[str, float]]:
        value = read(numbers)
        return () if value is None else (("", value),)

    return samples


def _last_result(numbers: SyncNumbers, results: tuple[str, ...]) -> Iterable[tuple[str, float]]:
    last = numbers.last_result
    if not last:
        return ()
    return ((result, 1.0 if result == last else 0.0) for result in dict.fromkeys((*results, last)))


FAMILIES: Final = (
    Family("erpsync_sync_last_result", "gauge", LAST_RESULT, "result", _last_result),
    Family(
        "erpsync_sync_last_duration_seconds",
        "gauge",
        "Duration of the last finished run of each sync.",
        "",
        _gauge(lambda numbers: numbers.last_duration),
    ),
    Family(
        "erpsync_sync_last_success_timestamp_seconds",
        "gauge",
        "When the last successful run of each sync completed (Unix time).",
        "",
        _gauge(lambda numbers: numbers.last_success),
    ),
    Family(
        "erpsync_sync_period_seconds",
        "gauge",
        "Time between two scheduled runs of each enabled sync (not suspended, not Never).",
        "",
        _gauge(lambda numbers: numbers.period),
    ),
    Family(
        "erpsync_sync_scheduled_since_timestamp_seconds",
        "gauge",
        "When each enabled sync's CronJob was created (Unix time; the schedule's creation while it has none): "
        "how long a sync that never succeeded has been due (the ErpSyncSyncOverdue alert).",
        "",
        _gauge(lambda numbers: numbers.scheduled_since),
    ),
    Family("erpsync_sync_runs_total", "counter", RUNS, "result", lambda numbers, _: list(numbers.runs.items())),
    Family(
        "erpsync_sync_records_total", "counter", RECORDS, "outcome", lambda numbers, _: list(numbers.records.items())
    ),
)


def _label_value(value: str) -> str:
    """Escaped as the text format asks (names are DNS labels: nothing to escape, in practice)."""
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _lines(family: Family, namespace: str, schedule: str, sync: str, samples: Iterable[tuple[str, float]]) -> str:
    """The family's lines for one sync, labels in name order as prometheus_client writes them: a family's own
    label ("outcome", "result") sorts between namespace and schedule."""
    before = f'{family.name}{{namespace="{_label_value(namespace)}",'
    after = f'schedule="{_label_value(schedule)}",sync="{_label_value(sync)}"}} '
    if family.label:
        own = f'{family.label}="'
        return "".join(f'{before}{own}{_label_value(label)}",{after}{_number(value)}\n' for label, value in samples)
    return "".join(f"{before}{after}{_number(value)}\n" for _, value in samples)


class SyncSeries:
    """The series of every sync of every schedule (metrics.py documents each one)."""

    def __init__(self, results: tuple[str, ...], finished: tuple[str, ...]) -> None:
        self.results = results  # erpsync_sync_last_result has a series for each
        self.finished = finished  # the results of a finished run: its run counters start at 0 for each
        self._syncs: dict[ScheduleKey, dict[str, SyncNumbers]] = {}

    def numbers(self, key: ScheduleKey, sync: str) -> SyncNumbers:
        """The numbers of a sync, its run counters at zero when new (increase() then sees the first run)."""
        syncs = self._syncs.setdefault(key, {})
        found = syncs.get(sync)
        if found is None:
            found = syncs[sync] = SyncNumbers(runs=dict.fromkeys(self.finished, 0.0))
        return found

    def keep_only(self, key: ScheduleKey, syncs: Iterable[str]) -> None:
        """Drop the series of the syncs of `key` not in `syncs` (no longer in its status)."""
        known = self._syncs.get(key, {})
        for gone in set(known) - set(syncs):
            del known[gone]

    def forget(self, key: ScheduleKey) -> None:
        self._syncs.pop(key, None)

    def names(self) -> frozenset[str]:
        return frozenset(family.name for family in FAMILIES)

    def exposition(self, names: frozenset[str] | None = None) -> Iterator[bytes]:
        """The text exposition (format 0.0.4) of the families in `names` (None: all), in pieces of about
        CHUNK_BYTES; the schedules as they are when the scrape starts."""
        schedules = list(self._syncs.items())
        for family in FAMILIES:
            if names is not None and family.name not in names:
                continue
            piece = [f"# HELP {family.name} {family.documentation}\n# TYPE {family.name} {family.kind}\n"]
            size = len(piece[0])
            for (namespace, schedule), syncs in schedules:
                for sync, numbers in list(syncs.items()):
                    text = _lines(family, namespace, schedule, sync, family.samples(numbers, self.results))
                    piece.append(text)
                    size += len(text)
                if size >= CHUNK_BYTES:
                    yield "".join(piece).encode()
                    piece, size = [], 0
            if piece:
                yield "".join(piece).encode()
