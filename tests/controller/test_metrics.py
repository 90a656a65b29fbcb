"""The operator's metrics: each sync's series follow its status, runs are counted once, deleted schedules
leave no series. The same against the real operator: tests/operator/test_probes.py."""

import gzip
import socket
import struct
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from erpsync.api.models import ErpSyncScheduleStatus
from erpsync.controller import metrics, metrics_endpoint, sync_series
from erpsync.controller.reconcile import finished_runs
from erpsync.controller.world import World

KEY = ("erp-sync", "acme")


def _schedule(last_run: dict[str, Any] | None, **sync: Any) -> dict[str, Any]:
    status: dict[str, Any] = {"frequency": "Hourly", "schedule": "38 * * * *", "suspended": False, **sync}
    if last_run:
        status["lastRun"] = last_run
    return {
        "metadata": {"namespace": KEY[0], "name": KEY[1], "uid": "u1", "resourceVersion": "1"},
        "status": {"syncs": {"vendors": status}},
    }


def _run(job: str, result: str, **counts: int) -> dict[str, Any]:
    run: dict[str, Any] = {
        "jobName": job,
        "trigger": "Scheduled",
        "result": result,
        "startTime": "2026-06-01T10:00:00Z",
        "completionTime": "2026-06-01T10:00:30Z",
    }
    return {**run, "counts": counts} if counts else run


def _value(name: str, **labels: str) -> float | None:
    """A sample of the exposition /metrics serves, read with prometheus_client's parser."""
    wanted = {"namespace": KEY[0], "schedule": KEY[1], "sync": "vendors", **labels}
    for family in text_string_to_metric_families(_exposition()):
        for sample in family.samples:
            if sample.name == name and sample.labels == wanted:
                return sample.value
    return None


@pytest.fixture(autouse=True)
def _clean() -> None:
    metrics.forget_schedule(KEY)


def _record(world: World, body: dict[str, Any], version: str) -> None:
    body["metadata"]["resourceVersion"] = version
    world.apply("schedules", "MODIFIED", body)
    metrics.record_sync_metrics(world, KEY)


def test_a_success_after_a_failure_clears_the_failure() -> None:
    world = World()
    _record(world, _schedule(_run("acme-vendors-1", "Failed")), "1")
    assert _value("erpsync_sync_last_result", result="Failed") == 1
    assert _value("erpsync_sync_last_result", result="Succeeded") == 0
    _record(world, _schedule(_run("acme-vendors-2", "Succeeded"), lastSuccessfulTime="2026-06-01T10:00:30Z"), "2")
    assert _value("erpsync_sync_last_result", result="Failed") == 0
    assert _value("erpsync_sync_last_result", result="Succeeded") == 1
    assert _value("erpsync_sync_last_success_timestamp_seconds") == 1780308030.0
    assert _value("erpsync_sync_last_duration_seconds") == 30
    assert _value("erpsync_sync_period_seconds") == 3600
    assert _value("erpsync_sync_runs_total", result="Failed") == 0  # counted on transitions, not here


def test_a_suspended_sync_has_no_period_and_a_deleted_schedule_no_series() -> None:
    world = World()
    _record(world, _schedule(_run("acme-vendors-1", "Succeeded")), "1")
    assert _value("erpsync_sync_period_seconds") == 3600
    _record(world, _schedule(_run("acme-vendors-1", "Succeeded"), suspended=True), "2")
    assert _value("erpsync_sync_period_seconds") is None
    finished = finished_runs(ErpSyncScheduleStatus(), ErpSyncScheduleStatus.model_validate(_status("x", "Failed")))
    metrics.count_finished_runs(KEY, finished)
    assert _value("erpsync_sync_runs_total", result="Failed") == 1
    world.apply("schedules", "DELETED", world.schedule(KEY) or {})
    metrics.record_sync_metrics(world, KEY)
    text = _exposition()
    assert 'schedule="acme"' not in text


def _status(job: str, result: str, **counts: int) -> dict[str, Any]:
    return {"syncs": {"vendors": {"frequency": "Hourly", "lastRun": _run(job, result, **counts)}}}


def _exposition() -> str:
    return b"".join(metrics_endpoint.exposition()).decode()


def test_runs_and_records_are_counted_once_per_finished_run() -> None:
    before = ErpSyncScheduleStatus.model_validate(_status("acme-vendors-1", "Running"))
    after = ErpSyncScheduleStatus.model_validate(_status("acme-vendors-1", "PartiallyFailed", created=2, failed=3))
    finished = finished_runs(before, after)
    assert [(sync, run.job_name) for sync, run in finished] == [("vendors", "acme-vendors-1")]
    assert finished_runs(after, after) == []  # the next pass, or after a restart: the stored status shows it
    # The Job's Failed condition seen before its Pod's summary: reported once, not again as PartiallyFailed.
    failed_first = ErpSyncScheduleStatus.model_validate(_status("acme-vendors-1", "Failed"))
    assert finished_runs(failed_first, after) == []
    # A later Job of the same sync is a new run.
    later = ErpSyncScheduleStatus.model_validate(_status("acme-vendors-2", "Failed"))
    assert [run.job_name for _, run in finished_runs(after, later)] == ["acme-vendors-2"]
    metrics.count_finished_runs(KEY, finished)
    assert _value("erpsync_sync_runs_total", result="PartiallyFailed") == 1
    assert _value("erpsync_sync_records_total", outcome="created") == 2
    assert _value("erpsync_sync_records_total", outcome="failed") == 3
    assert _value("erpsync_sync_records_total", outcome="unchanged") is None


def test_watch_requests_after_the_first_of_a_stream_are_restarts() -> None:
    class Resource:
        plural = "widgets"

    calls: list[str] = []
    counted = metrics.count_watch_restarts(lambda **kwargs: calls.append(kwargs["since"]))
    for since in (None, "5", "9"):
        counted(resource=Resource(), namespace="erp-sync", since=since)
    counted(resource=Resource(), namespace="finance", since=None)
    assert calls == [None, "5", "9", None]
    assert metrics.REGISTRY.get_sample_value("erpsync_watch_restarts_total", {"resource": "widgets"}) == 2


def test_the_watch_counter_wraps_kopfs_watch_once() -> None:
    from kopf._cogs.clients import watching

    original = watching.watch_objs
    try:
        metrics.install_watch_counter()
        wrapped = watching.watch_objs
        metrics.install_watch_counter()  # a second call keeps the one wrapper
        assert wrapped is not original and watching.watch_objs is wrapped
    finally:
        watching.watch_objs = original


def test_runs_finished_between_two_passes_are_each_counted() -> None:
    """Two Jobs of one sync that finish before the next pass: the history holds both, lastRun only the newer."""
    before = ErpSyncScheduleStatus.model_validate(_status("acme-vendors-1", "Succeeded"))
    newer, older = _run("acme-vendors-3", "Failed"), _run("acme-vendors-2", "Succeeded")
    after = ErpSyncScheduleStatus.model_validate(
        {
            "syncs": {
                "vendors": {
                    "frequency": "Hourly",
                    "lastRun": newer,
                    "history": [newer, older, _run("acme-vendors-1", "Succeeded")],
                }
            }
        }
    )
    finished = finished_runs(before, after)
    assert [run.job_name for _, run in finished] == ["acme-vendors-2", "acme-vendors-3"]  # oldest first
    assert finished_runs(after, after) == []


def test_a_sync_is_scheduled_since_its_cron_job_was_created_else_since_the_schedule() -> None:
    """What the overdue alert counts from when a sync never succeeded."""
    world = World()
    body = _schedule(None, cronJob="acme-vendors")
    body["metadata"]["creationTimestamp"] = "2026-06-01T09:00:00Z"
    _record(world, body, "1")
    assert _value("erpsync_sync_scheduled_since_timestamp_seconds") == 1780304400.0  # the schedule's
    cron_job = {"metadata": {"namespace": KEY[0], "name": "acme-vendors", "resourceVersion": "2"}}
    cron_job["metadata"]["creationTimestamp"] = "2026-06-01T09:30:00Z"
    world.apply("cronjobs", "ADDED", cron_job)
    _record(world, body, "3")
    assert _value("erpsync_sync_scheduled_since_timestamp_seconds") == 1780306200.0  # its CronJob's
    _record(world, _schedule(None, cronJob="acme-vendors", suspended=True), "4")
    assert _value("erpsync_sync_scheduled_since_timestamp_seconds") is None  # not enabled: never overdue


def test_a_scrape_of_many_schedules_is_streamed_in_pieces_that_parse_as_one_exposition() -> None:
    """The sync series are written a piece at a time (one held at once), each family under one TYPE line."""
    keys = [("erp-sync", f"s{index:04d}") for index in range(2000)] + [('a"b\\c\nd', "odd")]
    try:
        for index, key in enumerate(keys):
            numbers = metrics.SYNC_SERIES.numbers(key, "vendors")
            numbers.period, numbers.last_result = 3600.0, "Failed"
            numbers.records["created"] = float(index)
        pieces = list(metrics.SYNC_SERIES.exposition())
        assert len(pieces) > 10
        assert max(map(len, pieces)) < 2 * sync_series.CHUNK_BYTES
        families = {family.name: family for family in text_string_to_metric_families(b"".join(pieces).decode())}
        assert len(families["erpsync_sync_last_result"].samples) == 4 * len(keys)  # every result, for each
        assert len(families["erpsync_sync_runs"].samples) == 3 * len(keys)  # the finished results, from 0
        created = {sample.labels["schedule"]: sample.value for sample in families["erpsync_sync_records"].samples}
        assert created["s1999"] == 1999 and created["odd"] == 2000
        odd = next(
            sample for sample in families["erpsync_sync_period_seconds"].samples if sample.labels["schedule"] == "odd"
        )
        assert odd.labels["namespace"] == 'a"b\\c\nd' and odd.value == 3600
        only = b"".join(metrics_endpoint.exposition(frozenset({"erpsync_sync_period_seconds"}))).decode()
        assert [family.name for family in text_string_to_metric_families(only)] == ["erpsync_sync_period_seconds"]
    finally:
        for key in keys:
            metrics.forget_schedule(key)


@pytest.fixture
def endpoint() -> Iterator[ThreadingHTTPServer]:
    """The metrics endpoint on a free loopback port, stopped after the test."""
    server = metrics_endpoint.serve(0, "127.0.0.1")
    yield server
    server.shutdown()
    server.server_close()


def _url(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/metrics"


def test_the_endpoint_serves_the_exposition_plain_or_gzipped_and_only_the_names_asked(
    endpoint: ThreadingHTTPServer,
) -> None:
    numbers = metrics.SYNC_SERIES.numbers(KEY, "vendors")
    numbers.period = 3600.0
    with urllib.request.urlopen(_url(endpoint)) as answer:
        assert answer.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        plain = answer.read().decode()
    assert plain == _exposition()
    asked = urllib.request.Request(_url(endpoint), headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(asked) as answer:
        assert answer.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(answer.read()).decode() == plain
    names = "name[]=erpsync_sync_period_seconds&name[]=erpsync_managed_cronjobs"
    with urllib.request.urlopen(f"{_url(endpoint)}?{names}") as answer:
        families = [family.name for family in text_string_to_metric_families(answer.read().decode())]
    assert families == ["erpsync_managed_cronjobs", "erpsync_sync_period_seconds"]


def test_a_scraper_that_sends_nothing_is_dropped(
    endpoint: ThreadingHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metrics_endpoint._MetricsHandler, "timeout", 0.2)
    with socket.create_connection(("127.0.0.1", endpoint.server_address[1]), timeout=5) as silent:
        assert silent.recv(1) == b""  # closed by the server, well before this socket's own 5 s


def test_a_scraper_that_leaves_mid_answer_leaves_no_error_behind(
    endpoint: ThreadingHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = [("erp-sync", f"s{index:04d}") for index in range(3000)]
    for key in keys:
        metrics.SYNC_SERIES.numbers(key, "vendors").period = 3600.0
    errors: list[object] = []
    monkeypatch.setattr(endpoint, "handle_error", lambda request, client_address: errors.append(client_address))
    serving = set(threading.enumerate())  # the server's own thread included
    try:
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", endpoint.server_address[1]), timeout=5) as leaving:
                leaving.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
                assert leaving.recv(64).startswith(b"HTTP/1.0 200")
                leaving.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset, not FIN
        deadline = time.monotonic() + 30
        while set(threading.enumerate()) - serving and time.monotonic() < deadline:
            time.sleep(0.05)  # each answer's thread meets the reset and ends, with or without an error
        assert not set(threading.enumerate()) - serving
        with urllib.request.urlopen(_url(endpoint)) as answer:
            assert b"erpsync_sync_period_seconds" in answer.read()  # and it goes on serving
        assert errors == []
    finally:
        for key in keys:
            metrics.forget_schedule(key)
