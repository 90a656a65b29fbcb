"""Runs: sync now, and status/health following Jobs and Pods as the real Job controller reports them.

No kubelet runs here: a test plays the kubelet by writing the Pod's status (phase, container state,
termination message) through the API, and the real Job controller decides the Job's outcome.
"""

import json
from typing import Any

from tests.operator.conftest import Cluster, job_condition, kubelet_reports, run_job, terminated, wait_for


def _healthy(cluster: Cluster, name: str) -> dict[str, Any] | None:
    return cluster.condition(name, "Healthy")


def test_sync_now_starts_one_job_per_sync_and_a_token_only_once(cluster: Cluster) -> None:
    cluster.apply_ready("generic")
    cluster.annotate("acme-generic", {"erpsync.io/sync-now": "first-request"})
    wait_for(
        "token echoed",
        lambda: cluster.schedule("acme-generic")["status"].get("lastHandledSyncNow") == "first-request",
    )
    jobs = cluster.jobs("acme-generic")
    assert len(jobs) == 4 and {j["metadata"]["labels"]["erpsync.io/trigger"] for j in jobs.values()} == {"OnDemand"}
    for job in jobs.values():
        owner = job["metadata"]["ownerReferences"][0]
        assert (owner["kind"], owner["name"], owner["controller"]) == ("ErpSyncSchedule", "acme-generic", True)
    # The same token again (re-applied manifests, an operator restart) starts nothing.
    cluster.annotate("acme-generic", {"erpsync.io/sync-now": "first-request", "unrelated": "x"})
    cluster.operator.stop()
    cluster.operator.start()
    wait_for("Ready after restart", lambda: cluster.ready("acme-generic"))
    assert len(cluster.jobs("acme-generic")) == 4
    # Chosen syncs, a Never sync included (on demand), and a refused name reported in an Event.
    cluster.patch_spec("acme-generic", {"suspend": True})
    cluster.annotate("acme-generic", {"erpsync.io/sync-now": "t2", "erpsync.io/sync-now-syncs": "jobs,bogus"})
    wait_for("t2 handled", lambda: cluster.schedule("acme-generic")["status"].get("lastHandledSyncNow") == "t2")
    assert len(cluster.jobs("acme-generic")) == 5  # runs even while suspended
    refused = wait_for(
        "a SyncNowRefused Event", lambda: [e for e in cluster.events() if e["reason"] == "SyncNowRefused"]
    )
    assert refused and "bogus" in refused[0]["message"] and refused[0]["involvedObject"]["name"] == "acme-generic"


def test_sync_now_runs_a_never_sync_on_demand(cluster: Cluster) -> None:
    cluster.apply_ready("sage-intacct")  # every sync is on demand only
    assert cluster.cron_jobs("meridian-intacct") == {}
    cluster.annotate("meridian-intacct", {"erpsync.io/sync-now": "t1", "erpsync.io/sync-now-syncs": "vendors"})
    jobs = wait_for("a Job", lambda: cluster.jobs("meridian-intacct"))
    (job,) = jobs.values()
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["erp-sync-worker", "run", "vendors"]


def test_status_and_health_follow_finished_and_failed_runs(cluster: Cluster) -> None:
    cluster.apply_ready("cmic")  # jobCosts only, Every2Hours
    summary = {
        "sync": "job-costs",
        "result": "Succeeded",
        "read": 12,
        "created": 2,
        "updated": 1,
        "unchanged": 9,
        "skipped": 0,
        "failed": 0,
        "errors": [],
        "requests": 7,
        "durationSeconds": 3.2,
    }
    first = run_job(cluster, "granite-cmic-job-costs", "29000001")
    kubelet_reports(cluster, first, "Succeeded", terminated(0, "Completed", json.dumps(summary)))
    completed = wait_for("the Job controller: Complete", lambda: job_condition(cluster, first, "Complete"))
    run = wait_for(
        "lastRun Succeeded",
        lambda: (
            (s := cluster.schedule("granite-cmic")["status"]["syncs"]["jobCosts"].get("lastRun"))
            and s.get("result") == "Succeeded"
            and s
        ),
    )
    assert run["jobName"] == "granite-cmic-job-costs-29000001" and run["trigger"] == "Scheduled"
    assert run["counts"]["created"] == 2 and run["counts"]["unchanged"] == 9
    assert cluster.schedule("granite-cmic")["status"]["lastSyncTime"] == completed["status"]["completionTime"]
    healthy = _healthy(cluster, "granite-cmic")
    assert healthy is not None and healthy["status"] == "True"

    failed = dict(summary, result="PartiallyFailed", failed=3, errors=["cost code 01-100: name is missing"])
    second = run_job(cluster, "granite-cmic-job-costs", "29000002", backoff_limit=0)
    kubelet_reports(cluster, second, "Failed", terminated(2, "Error", json.dumps(failed)))
    wait_for("the Job controller: Failed", lambda: job_condition(cluster, second, "Failed"))
    healthy = wait_for(
        "Healthy False", lambda: (h := _healthy(cluster, "granite-cmic")) and h["status"] == "False" and h
    )
    assert "cost code 01-100" in healthy["message"] and healthy["reason"] == "RunFailed"
    # The Event may follow the status write that showed Healthy=False: wait for it rather than race it.
    wait_for(
        "a RunFailed Event naming the Job",
        lambda: any(
            e["reason"] == "RunFailed" and "granite-cmic-job-costs-29000002" in e["message"] for e in cluster.events()
        ),
    )
    ready = cluster.condition("granite-cmic", "Ready")
    assert ready is not None and ready["status"] == "True"  # the schedule is in sync; its runs are unhealthy


def test_a_missing_secret_shows_as_the_pods_reason(cluster: Cluster) -> None:
    cluster.apply_ready("cmic")
    job = run_job(cluster, "granite-cmic-job-costs", "29000003")
    waiting = {"reason": "CreateContainerConfigError", "message": 'secret "granite-procore-credentials" not found'}
    kubelet_reports(cluster, job, "Pending", {"waiting": waiting})
    healthy = wait_for(
        "Healthy False", lambda: (h := _healthy(cluster, "granite-cmic")) and h["status"] == "False" and h
    )
    assert "CreateContainerConfigError" in healthy["message"] and "granite-procore-credentials" in healthy["message"]
