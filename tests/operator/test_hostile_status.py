"""Whatever the world holds, the status the operator writes is one the real API server accepts.

A real API server refuses a whole status patch when one value breaks the CRD's schema, so a single
oversized token, label or termination message would stop every later status write of the schedule.
"""

import json

from erpsync.controller.sync_now import echoed_token
from tests.operator.conftest import Cluster, job_condition, kubelet_reports, run_job, terminated, wait_for

SCHEDULE = "granite-cmic"  # jobCosts only


def test_a_300_character_sync_now_token_is_handled_once_and_echoed_within_the_crds_limit(cluster: Cluster) -> None:
    cluster.apply_ready("cmic")
    token = "t" * 150 + "é" * 150  # past lastHandledSyncNow's maxLength (253), and not ASCII
    cluster.annotate(SCHEDULE, {"erpsync.io/sync-now": token})
    echoed = wait_for(
        "the token echoed",
        lambda: (handled := cluster.schedule(SCHEDULE)["status"].get("lastHandledSyncNow")) != token and handled,
    )
    assert echoed == echoed_token(token) and len(echoed) == 253
    assert len(cluster.jobs(SCHEDULE)) == 1
    cluster.operator.stop()
    cluster.operator.start()
    wait_for("Ready after a restart", lambda: cluster.ready(SCHEDULE))
    assert len(cluster.jobs(SCHEDULE)) == 1  # nothing replayed


def test_a_run_with_an_oversized_trigger_and_termination_message_is_reported(cluster: Cluster) -> None:
    cluster.apply_ready("cmic")
    job = run_job(cluster, f"{SCHEDULE}-job-costs", "29000009", backoff_limit=0)
    long_trigger = "T" * 63  # a valid label value, past lastRun.trigger's maxLength (16)
    cluster.call(
        "PATCH",
        cluster.path("jobs", job["metadata"]["name"]),
        {"metadata": {"labels": {"erpsync.io/trigger": long_trigger}}},
    )
    message = json.dumps({"result": "Failed", "errors": ["x" * 100_000]})  # past every message's maxLength
    kubelet_reports(cluster, job, "Failed", terminated(1, "Error", message))
    wait_for("the Job controller: Failed", lambda: job_condition(cluster, job, "Failed"))

    def reported() -> dict[str, object] | None:
        run = cluster.schedule(SCHEDULE)["status"]["syncs"]["jobCosts"].get("lastRun") or {}
        return run if run.get("jobName") == job["metadata"]["name"] and run.get("result") == "Failed" else None

    run = wait_for("the failed run in status", reported)
    assert str(run["trigger"]).startswith("T") and len(str(run["trigger"])) <= 16
    healthy = cluster.condition(SCHEDULE, "Healthy")
    assert healthy is not None and healthy["status"] == "False" and len(healthy["message"]) <= 32768
    assert "Invalid" not in cluster.operator.output()  # no status patch was refused on the way
