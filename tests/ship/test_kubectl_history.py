"""`kubectl erpsync history`, as users run it (the console script, and through the real kubectl), against the
real API server with the real operator keeping each sync's history and counters."""

import json
import re

from tests.operator.conftest import Cluster, example, job_condition, kubelet_reports, run_job, terminated, wait_for
from tests.ship.test_kubectl_plugin import ok, one_line_error, plugin, table

SYNCS = ["vendors", "jobs", "jobCosts", "invoicePayments"]
JOB = "granite-cmic-job-costs-29000001"
SUMMARY = {"sync": "job-costs", "result": "Succeeded", "read": 12, "created": 2, "updated": 1, "failed": 0}


def _counted(cluster: Cluster) -> bool:
    runs: dict[str, int] | None = cluster.schedule("granite-cmic")["status"]["syncs"]["jobCosts"].get("runs")
    return runs == {"succeeded": 1, "partiallyFailed": 0, "failed": 0}


def test_history_of_a_schedule_and_of_one_sync(cluster: Cluster) -> None:
    kubeconfig = cluster.operator.kubeconfig
    cluster.apply(example("cmic"))  # jobCosts scheduled; the other syncs run on demand only
    wait_for("Ready", lambda: cluster.ready("granite-cmic"))

    # Before any run: the counters at zero, and a word on stderr instead of an empty table of runs.
    empty = plugin(kubeconfig, "history", "granite-cmic")
    assert empty.returncode == 0 and empty.stderr == "No runs recorded yet.\n"
    assert table(empty.stdout) == [
        ["SYNC", "SUCCEEDED", "PARTIALLY FAILED", "FAILED"],
        *([sync, "0", "0", "0"] for sync in SYNCS),
    ]

    job = run_job(cluster, "granite-cmic-job-costs", "29000001")
    kubelet_reports(cluster, job, "Succeeded", terminated(0, "Completed", json.dumps(SUMMARY)))
    wait_for("the Job controller: Complete", lambda: job_condition(cluster, job, "Complete"))
    wait_for("the run counted", lambda: _counted(cluster))

    rows = json.loads(ok(plugin(kubeconfig, "history", "granite-cmic", "-o", "json")))
    assert [(row["namespace"], row["schedule"], row["sync"]) for row in rows] == [
        (cluster.namespace, "granite-cmic", sync) for sync in SYNCS
    ]
    job_costs = rows[2]
    assert job_costs["runs"] == {"succeeded": 1, "partiallyFailed": 0, "failed": 0}
    (run,) = job_costs["history"]
    stored = cluster.schedule("granite-cmic")["status"]["syncs"]["jobCosts"]["history"][0]
    assert run == stored  # the stored entry, as the API server keeps it
    assert (run["jobName"], run["trigger"], run["result"]) == (JOB, "Scheduled", "Succeeded")
    assert [row["history"] for row in rows if row["sync"] != "jobCosts"] == [[], [], []]

    runs_table, totals_table = ok(
        plugin(kubeconfig, "history", "granite-cmic", "--sync", "jobCosts", kubectl=True)
    ).split("\n\n")
    header, line = table(runs_table)
    assert "  ".join(header) == "SYNC  JOB  TRIGGER  RESULT  STARTED  DURATION  READ  CREATED  UPDATED  FAILED  MESSAGE"
    assert line[:4] == ["jobCosts", JOB, "Scheduled", "Succeeded"]
    assert re.fullmatch(r"\d+[sm] ago", line[4]) and re.fullmatch(r"\d+[sm]", line[5]), line
    assert line[6:] == ["12", "2", "1", "0", "-"]
    assert table(totals_table) == [["SYNC", "SUCCEEDED", "PARTIALLY FAILED", "FAILED"], ["jobCosts", "1", "0", "0"]]


def test_history_errors_are_one_line(cluster: Cluster) -> None:
    kubeconfig = cluster.operator.kubeconfig
    assert one_line_error(plugin(kubeconfig, "history", "nope")) == (
        f'error: erpsyncschedules.erpsync.io "nope" not found in namespace "{cluster.namespace}"'
    )
    cluster.apply(example("cmic"))
    assert one_line_error(plugin(kubeconfig, "history", "granite-cmic", "--sync", "vendor"), 2) == (
        'error: unknown sync "vendor"; the syncs are: vendors, jobs, jobCosts, invoicePayments'
    )
