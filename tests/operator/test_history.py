"""Each sync's run history and its counters, end to end: runs played through the real Job controller (no
kubelet: the test writes the Pod's status), the operator restarted, a Job deleted."""

import json
import time
from typing import Any

import pytest

from tests.operator.conftest import Cluster, job_condition, kubelet_reports, run_job, terminated, wait_for

CRON_JOB = "granite-cmic-job-costs"
SUMMARY = {"sync": "job-costs", "result": "Succeeded", "read": 12, "created": 2, "updated": 1, "failed": 0}


def _job_costs(cluster: Cluster) -> dict[str, Any]:
    job_costs: dict[str, Any] = cluster.schedule("granite-cmic")["status"]["syncs"]["jobCosts"]
    return job_costs


def _history(cluster: Cluster) -> list[tuple[str, str]]:
    return [(entry["jobName"], entry["result"]) for entry in _job_costs(cluster).get("history", [])]


def _shows(cluster: Cluster, history: list[tuple[str, str]], runs: dict[str, int]) -> bool:
    job_costs = _job_costs(cluster)
    seen = [(entry["jobName"], entry["result"]) for entry in job_costs.get("history", [])]
    return seen == history and job_costs.get("runs") == runs


def _finish(cluster: Cluster, job: dict[str, Any], summary: dict[str, Any]) -> None:
    succeeded = summary["result"] == "Succeeded"
    kubelet_reports(
        cluster,
        job,
        "Succeeded" if succeeded else "Failed",
        terminated(0 if succeeded else 2, "Completed" if succeeded else "Error", json.dumps(summary)),
    )
    wait_for("the Job controller", lambda: job_condition(cluster, job, "Complete" if succeeded else "Failed"))


@pytest.mark.operator_args("--run-history", "2", "--resync-interval", "1")
def test_history_and_counters_count_each_job_once_across_restarts_and_deletions(cluster: Cluster) -> None:
    cluster.apply_ready("cmic")  # jobCosts only
    first, second, third = (f"{CRON_JOB}-2900000{n}" for n in (1, 2, 3))

    job = run_job(cluster, CRON_JOB, "29000001")
    wait_for("the first run, running", lambda: _history(cluster) == [(first, "Running")])
    _finish(cluster, job, SUMMARY)
    counted = {"succeeded": 1, "partiallyFailed": 0, "failed": 0}
    wait_for("the first run counted", lambda: _shows(cluster, [(first, "Succeeded")], counted))
    (entry,) = _job_costs(cluster)["history"]
    assert entry["trigger"] == "Scheduled" and entry["durationSeconds"] >= 0
    assert entry["counts"]["read"] == 12 and entry["counts"]["created"] == 2

    failing = run_job(cluster, CRON_JOB, "29000002", backoff_limit=0)
    _finish(cluster, failing, {**SUMMARY, "result": "PartiallyFailed", "failed": 3, "errors": ["cost code 01"]})
    counted = {"succeeded": 1, "partiallyFailed": 1, "failed": 0}
    wait_for(
        "the second run counted",
        lambda: _shows(cluster, [(second, "PartiallyFailed"), (first, "Succeeded")], counted),
    )
    running = run_job(cluster, CRON_JOB, "29000003")
    # --run-history 2: the first run leaves the history, and stays counted.
    wait_for(
        "the third run, running",
        lambda: _shows(cluster, [(third, "Running"), (second, "PartiallyFailed")], counted),
    )
    settled = _job_costs(cluster)

    # A restart reads the stored status back: nothing is counted again, nothing is written.
    cluster.operator.stop()
    cluster.mark_calls()
    cluster.operator.start()
    wait_for(
        "the restarted operator watching schedules",
        lambda: any("erpsyncschedules" in str(call.get("requestURI")) for call in cluster.operator_calls()),
    )
    time.sleep(3)  # passes of its own start, then resyncs every second
    assert {key: n for key, n in cluster.writes().items() if "erpsyncschedules" in key} == {}
    assert _job_costs(cluster) == settled

    # The failed Job is deleted (as failedJobsHistoryLimit would): its run stays in history and counted.
    cluster.call("DELETE", cluster.path("jobs", second))
    wait_for("the Job gone", lambda: second not in cluster.jobs("granite-cmic"))
    time.sleep(2)
    assert _job_costs(cluster) == settled

    _finish(cluster, running, SUMMARY)
    counted = {"succeeded": 2, "partiallyFailed": 1, "failed": 0}
    wait_for(
        "the third run counted", lambda: _shows(cluster, [(third, "Succeeded"), (second, "PartiallyFailed")], counted)
    )
