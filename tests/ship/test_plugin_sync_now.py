"""`kubectl erpsync sync-now` when things go wrong, and `--wait` and `--cancel`: the console script against the
real API server and the real operator. The test plays the kubelet (the runs' Pods report as a kubelet would,
and the real Job controller decides). A hung or failing API server is the fault-injecting proxy of
erpsync_testbed in front of the real one (a healthy server will not answer 503, or hang, on cue).
"""

import json
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from erpsync_testbed.control_plane import kubeconfig as kubeconfig_document
from erpsync_testbed.fault_proxy import FaultProxy
from tests.operator.conftest import Cluster, example, job_condition, kubelet_reports, terminated, wait_for
from tests.ship.test_kubectl_plugin import (
    annotation,
    background,
    jobs_of,
    ok,
    one_line_error,
    plugin,
    ready,
    table,
    token_of,
)


def _finish(process: subprocess.Popen[str], timeout: float = 90) -> tuple[int, str, str]:
    stdout, stderr = process.communicate(timeout=timeout)
    assert "Traceback" not in stderr, stderr
    return process.returncode, stdout, stderr


def _summary(result: str, **counts: int) -> str:
    """The worker's summary: every count, 0 unless given."""
    zero = dict.fromkeys(("read", "created", "updated", "unchanged", "skipped", "failed"), 0)
    return json.dumps({"sync": "x", "result": result, **zero, **counts, "errors": []})


def _annotation(cluster: Cluster, name: str) -> str | None:
    return annotation(cluster, name, "erpsync.io/sync-now")


def _generic_without_retries(cluster: Cluster) -> None:
    body = example("generic")
    body["spec"]["worker"] = {"backoffLimit": 0}  # a failed Pod fails its Job at once (no retry Pod)
    cluster.apply(body)
    ready(cluster, "acme-generic")


def _started(cluster: Cluster, count: int) -> dict[str, dict[str, Any]]:
    """The on-demand Jobs, once `count` exist: Job name -> Job."""

    def jobs() -> dict[str, dict[str, Any]] | None:
        found = {
            name: job
            for name, job in cluster.jobs("acme-generic").items()
            if job["metadata"]["labels"].get("erpsync.io/trigger") == "OnDemand"
        }
        return found if len(found) == count else None

    return wait_for(f"{count} on-demand Jobs", jobs)


def _finish_run(cluster: Cluster, job: dict[str, Any], result: str, exit_code: int, **counts: int) -> None:
    succeeded = exit_code == 0
    state = terminated(exit_code, "Completed" if succeeded else "Error", _summary(result, **counts))
    kubelet_reports(cluster, job, "Succeeded" if succeeded else "Failed", state)
    wait_for("the Job finished", lambda: job_condition(cluster, job, "Complete" if succeeded else "Failed"))


def test_wait_prints_the_results_and_exits_as_the_worker(cluster: Cluster) -> None:
    kubeconfig = cluster.operator.kubeconfig
    _generic_without_retries(cluster)

    # One run succeeds, one partly fails: exit 2, the worker's own code for PartiallyFailed.
    waiting = background(kubeconfig, "sync-now", "acme-generic", "--sync", "vendors,jobs", "--wait", "--timeout", "60")
    jobs = _started(cluster, 2)
    by_sync = {job["metadata"]["labels"]["erpsync.io/sync"]: job for job in jobs.values()}
    _finish_run(cluster, by_sync["vendors"], "Succeeded", 0, read=3, created=1, unchanged=2)
    time.sleep(1)  # --wait has seen one run finished and still waits for the other
    assert waiting.poll() is None
    _finish_run(cluster, by_sync["jobs"], "PartiallyFailed", 2, read=4, updated=1, failed=3)
    code, stdout, stderr = _finish(waiting)
    assert code == 2, stderr
    vendors, jobs_run = by_sync["vendors"]["metadata"]["name"], by_sync["jobs"]["metadata"]["name"]
    results = table(stdout.split("\n\n")[-1])
    assert "  ".join(results[0]) == "JOB  SYNC  RESULT  READ  CREATED  UPDATED  UNCHANGED  SKIPPED  FAILED  MESSAGE"
    assert results[1] == [vendors, "vendors", "Succeeded", "3", "1", "0", "2", "0", "0", "-"]
    assert results[2][:9] == [jobs_run, "jobs", "PartiallyFailed", "4", "0", "1", "0", "0", "3"]
    assert stderr == f"error: 1 of 2 runs did not succeed: {jobs_run} PartiallyFailed\n"

    # A Failed run wins over a PartiallyFailed one: exit 1.
    waiting = background(kubeconfig, "sync-now", "acme-generic", "--sync", "jobCosts,invoicePayments", "--wait")
    jobs = _started(cluster, 4)
    fresh = {
        job["metadata"]["labels"]["erpsync.io/sync"]: job
        for job in jobs.values()
        if job["metadata"]["name"] not in (vendors, jobs_run)
    }
    _finish_run(cluster, fresh["jobCosts"], "PartiallyFailed", 2, failed=1)
    _finish_run(cluster, fresh["invoicePayments"], "Failed", 1)
    code, _, stderr = _finish(waiting)
    assert code == 1, stderr
    assert "2 of 2 runs did not succeed" in stderr and "Failed" in stderr

    # All Succeeded: exit 0.
    waiting = background(kubeconfig, "sync-now", "acme-generic", "--sync", "vendors", "--wait")
    jobs = _started(cluster, 5)
    (newest,) = [
        job
        for name, job in jobs.items()
        if name not in (vendors, jobs_run) and job["metadata"]["labels"]["erpsync.io/sync"] == "vendors"
    ]
    _finish_run(cluster, newest, "Succeeded", 0, read=1, unchanged=1)
    code, stdout, stderr = _finish(waiting)
    assert (code, stderr) == (0, "")
    assert table(stdout.split("\n\n")[-1])[1][:3] == [newest["metadata"]["name"], "vendors", "Succeeded"]


def test_a_timed_out_or_interrupted_request_is_withdrawn(cluster: Cluster) -> None:
    kubeconfig = cluster.operator.kubeconfig
    _generic_without_retries(cluster)
    cluster.operator.stop()  # nobody handles the request

    started = time.monotonic()
    timed_out = plugin(kubeconfig, "sync-now", "acme-generic", "--timeout", "2")
    token = token_of(timed_out.stdout, cluster.namespace)
    assert timed_out.returncode == 1 and time.monotonic() - started < 15
    assert timed_out.stderr == (
        f"error: timed out after 2s waiting for the operator to handle sync now {token} on "
        f"{cluster.namespace}/acme-generic: is the operator running and watching namespace {cluster.namespace}?; "
        "the request was withdrawn; nothing was started and nothing will run\n"
    )
    assert _annotation(cluster, "acme-generic") is None

    # Ctrl-C: exit 130, and the request goes too.
    interrupted = background(kubeconfig, "sync-now", "acme-generic")
    assert interrupted.stdout is not None
    token = token_of(interrupted.stdout.readline(), cluster.namespace)
    assert _annotation(cluster, "acme-generic") == token
    interrupted.send_signal(signal.SIGINT)
    code, _, stderr = _finish(interrupted, timeout=30)
    assert code == 130, stderr
    assert stderr == (
        f"error: interrupted before the operator handled sync now {token}; the request was withdrawn; nothing was "
        "started and nothing will run\n"
    )
    assert _annotation(cluster, "acme-generic") is None

    # A request nobody waits for stays, and runs once the operator is back.
    queued = token_of(ok(plugin(kubeconfig, "sync-now", "acme-generic", "--no-wait")), cluster.namespace)
    cluster.operator.start()
    wait_for(
        "the queued request handled",
        lambda: cluster.schedule("acme-generic").get("status", {}).get("lastHandledSyncNow") == queued,
    )
    assert len(jobs_of(cluster, "acme-generic", queued)) == 4


def _stalled(cluster: Cluster, name: str, message: str) -> None:
    """What the operator writes for a generation it refuses (the test writes it: the CRD's rules would refuse
    a spec the operator refuses)."""
    body = cluster.schedule(name)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    condition = {"status": "True", "reason": "InvalidSpec", "message": message, "lastTransitionTime": now}
    status = {
        "observedGeneration": body["metadata"]["generation"],
        "conditions": [{"type": "Stalled", **condition}, {"type": "Ready", **condition, "status": "False"}],
    }
    cluster.call("PATCH", cluster.path("erpsyncschedules", name, "status"), {"status": status})


def test_a_stalled_schedule_fails_at_once(cluster: Cluster) -> None:
    kubeconfig = cluster.operator.kubeconfig
    _generic_without_retries(cluster)
    cluster.operator.stop()
    problem = "spec.syncs.vendors.frequency: Every2Hours is not offered by ViewpointSpectrum"
    _stalled(cluster, "acme-generic", problem)

    started = time.monotonic()
    refused = plugin(kubeconfig, "sync-now", "acme-generic", "--timeout", "60")
    assert refused.returncode == 1 and time.monotonic() - started < 15  # not the whole minute
    assert refused.stderr == (
        f"error: {cluster.namespace}/acme-generic is Stalled ({problem}): the operator starts no sync now until the "
        "spec is valid; the request was withdrawn; nothing was started and nothing will run\n"
    )
    assert _annotation(cluster, "acme-generic") is None


def test_cancel_withdraws_a_pending_request_and_deletes_running_jobs(cluster: Cluster) -> None:
    kubeconfig = cluster.operator.kubeconfig
    namespace = cluster.namespace
    _generic_without_retries(cluster)

    assert one_line_error(plugin(kubeconfig, "sync-now", "acme-generic", "--cancel")) == (
        f"error: nothing to cancel on {namespace}/acme-generic: no sync now is pending and no on-demand run is running"
    )
    assert one_line_error(plugin(kubeconfig, "sync-now", "acme-generic", "--cancel", "--sync", "jobs"), 2).startswith(
        "error: --cancel stops every on-demand run"
    )

    cluster.operator.stop()
    pending = token_of(ok(plugin(kubeconfig, "sync-now", "acme-generic", "--no-wait")), namespace)
    assert ok(plugin(kubeconfig, "sync-now", "acme-generic", "--cancel")) == (
        f"sync now {pending} withdrawn from {namespace}/acme-generic\n"
    )
    assert _annotation(cluster, "acme-generic") is None
    cluster.operator.start()

    output = ok(plugin(kubeconfig, "sync-now", "acme-generic", "--sync", "vendors,jobs"))
    token = token_of(output, namespace)
    started = jobs_of(cluster, "acme-generic", token)
    vendors = next(name for name, sync in started.items() if sync == "vendors")
    _finish_run(cluster, cluster.jobs("acme-generic")[vendors], "Succeeded", 0)  # finished: nothing to stop
    running = next(name for name, sync in started.items() if sync == "jobs")
    assert ok(plugin(kubeconfig, "sync-now", "acme-generic", "--cancel")) == f"job.batch/{running} deleted (jobs)\n"
    wait_for("the cancelled Job gone", lambda: running not in cluster.jobs("acme-generic"))
    assert vendors in cluster.jobs("acme-generic")
    assert one_line_error(plugin(kubeconfig, "sync-now", "acme-generic", "--cancel")).startswith(
        "error: nothing to cancel"
    )
    # The operator does not start the cancelled run again: the request was handled.
    time.sleep(2)
    assert running not in cluster.jobs("acme-generic")


@pytest.fixture
def proxied(cluster: Cluster, tmp_path: Path) -> Iterator[tuple[FaultProxy, Path]]:
    """The fault proxy between the plugin and the API server (the operator talks to the server directly),
    and a kubeconfig that goes through it."""
    control_plane = cluster.control_plane
    certificate, key = control_plane.pki.issue_client("erp-sync-plugin-user", ("system:masters",))
    with FaultProxy(control_plane.server, control_plane.ssl_context(certificate, key)) as proxy:
        path = tmp_path / "proxied" / "kubeconfig"
        path.parent.mkdir()
        path.write_text(yaml.safe_dump(kubeconfig_document(proxy.url, None, {"token": "unused"}, cluster.namespace)))
        yield proxy, path


def test_sync_now_rides_out_503s_and_a_hung_server_is_bounded(
    cluster: Cluster, proxied: tuple[FaultProxy, Path]
) -> None:
    proxy, kubeconfig = proxied
    _generic_without_retries(cluster)

    # 503s while waiting (and on the request itself) are retried until the deadline, not fatal.
    proxy.inject_fault("patch", "erpsyncschedules", 503, count=2)
    proxy.inject_fault("get", "erpsyncschedules", 503, count=4)
    proxy.inject_fault("list", "jobs", 503, count=2)
    output = ok(plugin(kubeconfig, "sync-now", "acme-generic", "--sync", "vendors"))
    assert proxy.pending_faults() == 0
    token = token_of(output, cluster.namespace)
    assert list(jobs_of(cluster, "acme-generic", token).values()) == ["vendors"]

    # sync-now's PATCH is bounded by --timeout; the request, never applied, leaves the earlier one alone.
    proxy.inject_stall("patch", "erpsyncschedules", 30, count=1)
    started = time.monotonic()
    timed_out = plugin(kubeconfig, "sync-now", "acme-generic", "--timeout", "3", "--request-timeout", "0")
    assert time.monotonic() - started < 15
    assert timed_out.returncode == 1 and timed_out.stdout == ""
    assert re.fullmatch(
        rf"error: timed out after 3s sending sync now \S+ to \S+/acme-generic; the annotation already holds another "
        rf"request \({token}\); nothing was started and nothing will run\n",
        timed_out.stderr,
    ), timed_out.stderr
    assert _annotation(cluster, "acme-generic") == token  # the earlier, handled request, untouched

    # A hung server: --request-timeout bounds each request.
    proxy.inject_stall("get", "erpsyncschedules", 30, count=10)
    proxy.inject_stall("list", "erpsyncschedules", 30, count=10)
    started = time.monotonic()
    hung = plugin(kubeconfig, "status", "acme-generic", "--request-timeout", "1s")
    assert time.monotonic() - started < 10
    assert re.fullmatch(
        r"error: the API server at http://127\.0\.0\.1:\d+ did not answer within 1s \(--request-timeout\)",
        one_line_error(hung),
    )


def test_ctrl_c_while_waiting_for_runs_leaves_them_running(cluster: Cluster) -> None:
    kubeconfig = cluster.operator.kubeconfig
    _generic_without_retries(cluster)
    waiting = background(kubeconfig, "sync-now", "acme-generic", "--sync", "vendors", "--wait")
    (job,) = _started(cluster, 1)
    assert waiting.stdout is not None
    assert waiting.stdout.readline().startswith("sync now ")
    assert waiting.stdout.readline().startswith("JOB")  # the Jobs are printed: now it waits for the run
    waiting.send_signal(signal.SIGINT)
    code, _, stderr = _finish(waiting, timeout=30)
    assert code == 130, stderr
    assert stderr == (
        f"error: interrupted; the runs go on: {job} (to stop them: kubectl erpsync sync-now acme-generic "
        f"-n {cluster.namespace} --cancel)\n"
    )
    assert job in cluster.jobs("acme-generic")


def test_runs_still_running_at_the_timeout_are_named_as_such(cluster: Cluster) -> None:
    """The API server answers throughout: the timeout is the runs', not the server's."""
    _generic_without_retries(cluster)
    waiting = background(
        cluster.operator.kubeconfig, "sync-now", "acme-generic", "--sync", "vendors", "--wait", "--timeout", "6"
    )
    (job,) = _started(cluster, 1)
    code, _, stderr = _finish(waiting, timeout=30)
    assert code == 1, stderr
    assert stderr == (
        f"error: timed out after 6s waiting for the runs: still running: {job}; the runs go on: {job} (to stop "
        f"them: kubectl erpsync sync-now acme-generic -n {cluster.namespace} --cancel)\n"
    )
