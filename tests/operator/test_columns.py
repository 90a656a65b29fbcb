"""`kubectl get erpsyncschedules` (the real kubectl, the real API server, the real operator): the columns show
whether the schedule is in place, whether its runs are healthy, what is suspended and when the next sync is."""

import json
import re
from typing import Any

from tests.operator.conftest import Cluster, example, job_condition, kubelet_reports, run_job, terminated, wait_for

COLUMNS = ["NAME", "READY", "HEALTHY", "SUSPENDED", "LAST SYNC", "NEXT SYNC", "AGE"]
WIDE = [*COLUMNS, "ERP", "HEALTH REASON", "HEALTH MESSAGE", "READY MESSAGE"]


def _get(cluster: Cluster, name: str, *wide: str) -> dict[str, str]:
    """The row of `kubectl get erpsyncschedules NAME`, by column header. kubectl aligns each column under its
    header and leaves a cell empty when there is no value (a date column), so cells are cut at the headers."""
    output = cluster.kubectl("get", "erpsyncschedules", name, "-n", cluster.namespace, *wide).stdout
    header, row = output.splitlines()
    names = re.split(r"\s{2,}", header.strip())
    assert names == (WIDE if wide else COLUMNS), output
    starts: list[int] = []
    for column in names:  # in order: "AGE" is also the end of "HEALTH MESSAGE"
        starts.append(header.index(column, starts[-1] + 1 if starts else 0))
    ends = [*starts[1:], None]
    return {column: row[start:end].strip() for column, start, end in zip(names, starts, ends, strict=True)}


def _healthy_false(cluster: Cluster, name: str) -> dict[str, Any] | None:
    healthy = cluster.condition(name, "Healthy")
    return healthy if healthy and healthy["status"] == "False" else None


def test_a_failing_sync_shows_healthy_false_and_its_reason(cluster: Cluster) -> None:
    status = cluster.apply_ready("cmic")["status"]  # jobCosts only, Every2Hours
    row = _get(cluster, "granite-cmic")
    assert (row["NAME"], row["READY"], row["HEALTHY"], row["SUSPENDED"], row["LAST SYNC"]) == (
        "granite-cmic",
        "True",
        "True",
        "false",
        "",  # no sync has succeeded yet: kubectl leaves a date column empty
    )
    assert row["NEXT SYNC"] == status["nextSyncTime"] == status["syncs"]["jobCosts"]["nextRunTime"]
    wide = _get(cluster, "granite-cmic", "-o", "wide")
    assert (wide["ERP"], wide["HEALTH REASON"], wide["READY MESSAGE"]) == ("CMiC", "RunsHealthy", "1 CronJob in sync")
    assert wide["HEALTH MESSAGE"] == "no enabled sync has a failed or overdue run"

    summary = {"sync": "job-costs", "result": "Failed", "read": 0, "errors": ["connection refused by the ERP"]}
    job = run_job(cluster, "granite-cmic-job-costs", "29000001", backoff_limit=0)
    kubelet_reports(cluster, job, "Failed", terminated(1, "Error", json.dumps(summary)))
    wait_for("the Job controller: Failed", lambda: job_condition(cluster, job, "Failed"))
    wait_for("Healthy False", lambda: _healthy_false(cluster, "granite-cmic"))
    row = _get(cluster, "granite-cmic")
    assert (row["READY"], row["HEALTHY"], row["SUSPENDED"]) == ("True", "False", "false")  # in place, but failing
    wide = _get(cluster, "granite-cmic", "-o", "wide")
    assert wide["HEALTH REASON"] == "RunFailed"
    assert (
        wide["HEALTH MESSAGE"].startswith("jobCosts: Failed: ")
        and "connection refused by the ERP" in wide["HEALTH MESSAGE"]
    )


def test_suspended_syncs_and_the_next_sync(cluster: Cluster) -> None:
    body = example("generic")  # four scheduled syncs
    body["spec"]["syncs"]["vendors"] = {**body["spec"]["syncs"].get("vendors", {}), "suspend": True}
    cluster.apply(body)
    status = wait_for("Ready", lambda: cluster.ready("acme-generic"))["status"]
    next_runs = {sync: entry.get("nextRunTime") for sync, entry in status["syncs"].items()}
    assert next_runs["vendors"] is None and len([time for time in next_runs.values() if time]) == 3
    row = _get(cluster, "acme-generic")
    assert row["SUSPENDED"] == "vendors"
    assert row["NEXT SYNC"] == min(time for time in next_runs.values() if time)  # RFC 3339 with Z: ordered as text

    cluster.patch_spec("acme-generic", {"suspend": True})
    wait_for(
        "every sync suspended",
        lambda: (ready := cluster.ready("acme-generic")) and ready["status"].get("suspended") == "true",
    )
    row = _get(cluster, "acme-generic")
    assert (row["READY"], row["SUSPENDED"], row["NEXT SYNC"]) == ("True", "true", "")  # no next sync: an empty cell
