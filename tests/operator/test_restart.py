"""A restart with nothing changed writes nothing, and what changed while the operator was down is repaired.

The passes of a start wait for the children's initial lists (handlers.list_and_watch): a pass that ran
before the CronJobs' list would find its CronJobs missing and create them, each create answered 409.
"""

import json
import time
from typing import Any

import pytest

from erpsync_testbed import audit
from erpsync_testbed.control_plane import free_port
from tests.operator.conftest import WRITE_VERBS, Cluster, apply_many, http_get, wait_for

SCHEDULES = 40


def _suspend_all(cluster: Cluster, names: list[str]) -> None:
    """Suspended syncs have no next-run time: no status change comes from the clock during the test."""
    for name in names:
        cluster.patch_spec(name, {"suspend": True})


def _conflicts(calls: list[dict[str, Any]]) -> list[str]:
    return [
        audit.call_name(call) for call in calls if call["verb"] in WRITE_VERBS and call["responseStatus"]["code"] == 409
    ]


def test_a_restart_writes_only_what_changed_while_the_operator_was_down(cluster: Cluster) -> None:
    names = apply_many(cluster, SCHEDULES)
    _suspend_all(cluster, names)
    wait_for("all Ready", lambda: cluster.all_ready(names), timeout=120)
    wait_for(
        "every CronJob suspended",
        lambda: all(c["spec"].get("suspend") for c in cluster.cron_jobs().values()) or None,
        timeout=60,
    )
    time.sleep(1.5)  # the echoes of its last writes
    cluster.operator.stop()
    victim = next(iter(cluster.cron_jobs(names[-1])))  # a real change while it is down
    cluster.call("DELETE", cluster.path("cronjobs", victim))
    wait_for("the CronJob gone", lambda: victim not in cluster.cron_jobs() or None)

    cluster.mark_calls()
    cluster.operator.start()
    wait_for("the deleted CronJob created again", lambda: victim in cluster.cron_jobs() or None, timeout=60)
    time.sleep(3)  # every schedule's first pass is done by now (40 passes, none writing)
    calls = cluster.operator_calls()
    writes = {key: count for key, count in cluster.writes().items() if "events" not in key}
    assert writes == {"create cronjobs.batch": 1}, writes
    assert _conflicts(calls) == []
    assert "no pass before it succeeds" not in cluster.operator.output()  # the initial lists succeeded at once


LIVENESS_PORT = free_port()


@pytest.mark.fault_proxy
@pytest.mark.operator_args("--liveness", f"http://127.0.0.1:{LIVENESS_PORT}/healthz")
def test_a_failing_initial_list_is_retried_and_no_pass_runs_before_it_succeeds(cluster: Cluster) -> None:
    assert cluster.proxy is not None
    names = apply_many(cluster, 3)
    _suspend_all(cluster, names)
    wait_for("all Ready", lambda: cluster.all_ready(names), timeout=60)
    time.sleep(1.5)  # the echoes of its last writes
    cluster.operator.stop()
    victim = next(iter(cluster.cron_jobs(names[0])))
    cluster.call("DELETE", cluster.path("cronjobs", victim))
    cluster.proxy.inject_fault("list", "cronjobs", 500, count=2)

    cluster.mark_calls()
    cluster.operator.start()
    wait_for("the failed list logged", lambda: "no pass before it succeeds" in cluster.operator.output() or None)
    wait_for("the deleted CronJob created again", lambda: victim in cluster.cron_jobs() or None, timeout=60)
    assert cluster.proxy.pending_faults() == 0
    time.sleep(2)  # every schedule's first pass is done by now
    writes = {key: count for key, count in cluster.writes().items() if "events" not in key}
    assert writes == {"create cronjobs.batch": 1}, writes
    assert _conflicts(cluster.operator_calls()) == []

    def probes() -> dict[str, Any] | None:
        answer = http_get(f"http://127.0.0.1:{LIVENESS_PORT}/healthz")
        return json.loads(answer) if answer else None

    wait_for("the probe to say the lists are in", lambda: (probes() or {}).get("children_listed") or None, timeout=30)
