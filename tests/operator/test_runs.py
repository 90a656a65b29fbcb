"""Runs: sync now, and status/health following Jobs and Pods as Kubernetes controllers report them."""

import json
from typing import Any

from tests.operator.conftest import CRONJOBS, JOBS, NAMESPACE, PODS, Cluster, example, wait_for

EVENTS = f"/api/v1/namespaces/{NAMESPACE}/events"


def _run_job(cluster: Cluster, cron_job_name: str, suffix: str) -> dict[str, Any]:
    """A Job as the CronJob controller makes it: the template's labels, owned by the CronJob."""
    cron_job = cluster.call("GET", f"{CRONJOBS}/{cron_job_name}")
    template = cron_job["spec"]["jobTemplate"]
    return cluster.call(
        "POST",
        JOBS,
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": f"{cron_job_name}-{suffix}",
                "labels": template["metadata"]["labels"],
                "ownerReferences": [
                    {
                        "apiVersion": "batch/v1",
                        "kind": "CronJob",
                        "name": cron_job_name,
                        "uid": cron_job["metadata"]["uid"],
                        "controller": True,
                    }
                ],
            },
            "spec": template["spec"],
        },
    )


def _pod(cluster: Cluster, job: dict[str, Any], state: dict[str, Any]) -> None:
    """The Job's Pod, with the container state the kubelet reports."""
    pod_template = job["spec"]["template"]
    pod = cluster.call(
        "POST",
        PODS,
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"{job['metadata']['name']}-p",
                "labels": pod_template["metadata"]["labels"],
                "ownerReferences": [
                    {
                        "apiVersion": "batch/v1",
                        "kind": "Job",
                        "name": job["metadata"]["name"],
                        "uid": job["metadata"]["uid"],
                        "controller": True,
                    }
                ],
            },
            "spec": pod_template["spec"],
        },
    )
    cluster.call(
        "PATCH",
        f"{PODS}/{pod['metadata']['name']}/status",
        {
            "status": {
                "phase": "Pending",
                "containerStatuses": [
                    {"name": "worker", "state": state, "ready": False, "restartCount": 0, "image": "x", "imageID": ""}
                ],
            }
        },
    )


def _finish(cluster: Cluster, job: dict[str, Any], condition: str, reason: str = "") -> None:
    status: dict[str, Any] = {
        "startTime": "2026-11-28T08:00:00Z",
        "conditions": [
            {"type": condition, "status": "True", "reason": reason, "lastTransitionTime": "2026-11-28T08:01:00Z"}
        ],
    }
    if condition == "Complete":
        status["completionTime"] = "2026-11-28T08:01:00Z"
        status["succeeded"] = 1
    else:
        status["failed"] = 1
    cluster.call("PATCH", f"{JOBS}/{job['metadata']['name']}/status", {"status": status})


def _healthy(cluster: Cluster, name: str) -> dict[str, Any] | None:
    return cluster.condition(name, "Healthy")


def test_sync_now_starts_one_job_per_sync_and_a_token_only_once(cluster: Cluster) -> None:
    cluster.apply(example("generic"))
    wait_for("Ready", lambda: cluster.ready("acme-generic"))
    cluster.annotate("acme-generic", {"erpsync.io/sync-now": "2026-11-28T08:00"})
    wait_for(
        "token echoed",
        lambda: cluster.schedule("acme-generic")["status"].get("lastHandledSyncNow") == "2026-11-28T08:00",
    )
    jobs = cluster.jobs("acme-generic")
    assert len(jobs) == 4 and {j["metadata"]["labels"]["erpsync.io/trigger"] for j in jobs.values()} == {"OnDemand"}
    for job in jobs.values():
        owner = job["metadata"]["ownerReferences"][0]
        assert (owner["kind"], owner["name"], owner["controller"]) == ("ErpSyncSchedule", "acme-generic", True)
    # The same token again (re-applied manifests, an operator restart) starts nothing.
    cluster.annotate("acme-generic", {"erpsync.io/sync-now": "2026-11-28T08:00", "unrelated": "x"})
    cluster.operator.stop()
    cluster.operator.start()
    wait_for("Ready after restart", lambda: cluster.ready("acme-generic"))
    assert len(cluster.jobs("acme-generic")) == 4
    # Chosen syncs, a Never sync included (on demand), and a refused name reported in an Event.
    cluster.patch_spec("acme-generic", {"suspend": True})
    cluster.annotate("acme-generic", {"erpsync.io/sync-now": "t2", "erpsync.io/sync-now-syncs": "jobs,bogus"})
    wait_for("t2 handled", lambda: cluster.schedule("acme-generic")["status"].get("lastHandledSyncNow") == "t2")
    assert len(cluster.jobs("acme-generic")) == 5  # runs even while suspended
    events = cluster.call("GET", EVENTS)["items"]
    refused = [e for e in events if e["reason"] == "SyncNowRefused"]
    assert refused and "bogus" in refused[0]["message"] and refused[0]["involvedObject"]["name"] == "acme-generic"


def test_sync_now_runs_a_never_sync_on_demand(cluster: Cluster) -> None:
    cluster.apply(example("sage-intacct"))  # every sync is on demand only
    wait_for("Ready", lambda: cluster.ready("meridian-intacct"))
    assert cluster.cron_jobs("meridian-intacct") == {}
    cluster.annotate("meridian-intacct", {"erpsync.io/sync-now": "t1", "erpsync.io/sync-now-syncs": "vendors"})
    jobs = wait_for("a Job", lambda: cluster.jobs("meridian-intacct"))
    (job,) = jobs.values()
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["erp-sync-worker", "run", "vendors"]


def test_status_and_health_follow_finished_and_failed_runs(cluster: Cluster) -> None:
    cluster.apply(example("cmic"))  # jobCosts only, Every2Hours
    wait_for("Ready", lambda: cluster.ready("granite-cmic"))
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
    first = _run_job(cluster, "granite-cmic-job-costs", "29000001")
    _pod(cluster, first, {"terminated": {"exitCode": 0, "reason": "Completed", "message": json.dumps(summary)}})
    _finish(cluster, first, "Complete")
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
    assert cluster.schedule("granite-cmic")["status"]["lastSyncTime"] == "2026-11-28T08:01:00Z"
    healthy = _healthy(cluster, "granite-cmic")
    assert healthy is not None and healthy["status"] == "True"

    failed = dict(summary, result="PartiallyFailed", failed=3, errors=["cost code 01-100: name is missing"])
    second = _run_job(cluster, "granite-cmic-job-costs", "29000002")
    _pod(cluster, second, {"terminated": {"exitCode": 2, "reason": "Error", "message": json.dumps(failed)}})
    _finish(cluster, second, "Failed", "BackoffLimitExceeded")
    healthy = wait_for(
        "Healthy False", lambda: (h := _healthy(cluster, "granite-cmic")) and h["status"] == "False" and h
    )
    assert "cost code 01-100" in healthy["message"] and healthy["reason"] == "RunFailed"
    events = cluster.call("GET", EVENTS)["items"]
    assert any(e["reason"] == "RunFailed" and "granite-cmic-job-costs-29000002" in e["message"] for e in events)
    ready = cluster.condition("granite-cmic", "Ready")
    assert ready is not None and ready["status"] == "True"  # the schedule is in sync; its runs are unhealthy


def test_a_missing_secret_shows_as_the_pods_reason(cluster: Cluster) -> None:
    cluster.apply(example("cmic"))
    wait_for("Ready", lambda: cluster.ready("granite-cmic"))
    job = _run_job(cluster, "granite-cmic-job-costs", "29000003")
    _pod(
        cluster,
        job,
        {
            "waiting": {
                "reason": "CreateContainerConfigError",
                "message": 'secret "granite-procore-credentials" not found',
            }
        },
    )
    healthy = wait_for(
        "Healthy False", lambda: (h := _healthy(cluster, "granite-cmic")) and h["status"] == "False" and h
    )
    assert "CreateContainerConfigError" in healthy["message"] and "granite-procore-credentials" in healthy["message"]
