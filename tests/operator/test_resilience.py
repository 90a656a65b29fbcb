"""Crashes, API errors and dropped watches converge; a reconcile that finds nothing to change writes nothing."""

import re
import time
from functools import partial

import pytest

from tests.operator.conftest import Cluster, apply_many, wait_for


def _exists(cluster: Cluster, schedule: str, cron_job: str) -> bool:
    return cron_job in cluster.cron_jobs(schedule)


def _assert_converged(cluster: Cluster, names: list[str]) -> None:
    cron_jobs = cluster.cron_jobs()
    expected = set()
    for name in names:
        status = cluster.schedule(name)["status"]
        expected |= {sync["cronJob"] for sync in status["syncs"].values() if sync.get("cronJob")}
    assert set(cron_jobs) == expected  # none missing, none extra
    for cron_job in cron_jobs.values():  # no orphans: each owned by its schedule
        (owner,) = cron_job["metadata"]["ownerReferences"]
        assert owner["controller"] is True and owner["name"] == cron_job["metadata"]["labels"]["erpsync.io/schedule"]


def test_the_operator_killed_mid_reconcile_converges_after_a_restart(cluster: Cluster) -> None:
    names = apply_many(cluster, 30)
    wait_for("some CronJobs", lambda: len(cluster.cron_jobs()) >= 5)
    cluster.operator.kill()  # SIGKILL, mid-way through the 30 schedules
    assert not cluster.all_ready(names)
    cluster.operator.start()
    wait_for("all Ready", lambda: cluster.all_ready(names), timeout=60)
    _assert_converged(cluster, names)


@pytest.mark.parametrize(
    ("verb", "resource", "status"),
    [
        ("create", "cronjobs", 409),
        ("create", "cronjobs", 500),
        ("patch", "erpsyncschedules/status", 500),
        ("patch", "erpsyncschedules/status", 409),
    ],
)
@pytest.mark.fault_proxy
def test_injected_api_errors_converge(cluster: Cluster, verb: str, resource: str, status: int) -> None:
    assert cluster.proxy is not None
    cluster.proxy.inject_fault(verb, resource, status, count=3)
    names = apply_many(cluster, 3)
    wait_for("all Ready", lambda: cluster.all_ready(names), timeout=60)
    assert cluster.proxy.pending_faults() == 0  # the operator met every injected error
    # ...and said so in its log, not in status alone (a refused write could otherwise go unseen).
    assert re.search(rf"reconciling {cluster.namespace}/tenant-\d+: .+; retrying", cluster.operator.output())
    _assert_converged(cluster, names)


@pytest.mark.fault_proxy
def test_dropped_watch_streams_converge(cluster: Cluster) -> None:
    assert cluster.proxy is not None
    names = apply_many(cluster, 3)
    wait_for("Ready", lambda: cluster.all_ready(names))
    for abrupt in (False, True):
        assert cluster.proxy.drop_watches(abrupt=abrupt) > 0
        victim = next(iter(cluster.cron_jobs(names[0])))
        cluster.call("DELETE", cluster.path("cronjobs", victim))
        wait_for("restored after the watch came back", partial(_exists, cluster, names[0], victim), timeout=30)
    _assert_converged(cluster, names)


@pytest.mark.operator_args("--resync-interval", "1")
def test_writes_are_economical_and_an_idle_period_writes_nothing(cluster: Cluster) -> None:
    cluster.mark_calls()
    cluster.apply_ready("generic")  # four enabled syncs
    time.sleep(1.5)  # let the events of its own writes come back
    writes = cluster.writes()  # the operator's only: the audit log tells its identity from the test's
    ours = {key: count for key, count in writes.items() if "events" not in key}
    # k + 1: the 4 CronJobs and one status write (Ready, the CronJobs known from the create answers).
    assert ours == {"create cronjobs.batch": 4, "patch erpsyncschedules.erpsync.io/status": 1}, ours
    cluster.mark_calls()
    time.sleep(4)  # several resync periods with no spec change, no run
    assert cluster.writes() == {}, "an idle resync wrote something"
