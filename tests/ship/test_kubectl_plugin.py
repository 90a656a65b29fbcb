"""The kubectl plugin, as users run it: the console script `kubectl-erpsync`, and `kubectl erpsync`
through the real kubectl (which finds plugins on PATH), against the real API server with the real
operator running.
"""

import json
import os
import re
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from erpsync_testbed import kube_binaries
from tests.operator.conftest import REPO, Cluster, example, wait_for

BIN = Path(sys.executable).parent
PLUGIN = str(BIN / "kubectl-erpsync")
ERP_SYNC = str(BIN / "erp-sync")
SYNCS = ["vendors", "jobs", "jobCosts", "invoicePayments"]


def plugin(
    kubeconfig: Path, *args: str, kubectl: bool = False, timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    """`kubectl-erpsync ARGS`, or `kubectl erpsync ARGS`, with KUBECONFIG set as a user has it."""
    command = [kube_binaries()["kubectl"], "erpsync", *args] if kubectl else [PLUGIN, *args]
    result = subprocess.run(command, env=plugin_env(kubeconfig), capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def plugin_env(kubeconfig: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("KUBERNETES_", "KUBECONFIG"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"  # where kubectl finds the plugin
    env["HOME"] = str(kubeconfig.parent)  # the test's own folder: no ~/.kube/config to fall back on
    env["KUBECONFIG"] = str(kubeconfig)
    return env


def background(kubeconfig: Path, *args: str) -> subprocess.Popen[str]:
    """`kubectl-erpsync ARGS` started, not waited for (as plugin() runs it), hearing SIGINT as a terminal's
    Ctrl-C even when the tests run in a background job of a shell, which starts them with SIGINT ignored (and
    a process inherits that: Python then installs no KeyboardInterrupt handler)."""
    pipe, env = subprocess.PIPE, plugin_env(kubeconfig)
    return subprocess.Popen(
        [PLUGIN, *args],
        env=env,
        stdout=pipe,
        stderr=pipe,
        text=True,
        start_new_session=True,
        preexec_fn=_default_sigint,  # resets one signal disposition before exec, nothing else
    )


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr}"
    return result.stdout


def one_line_error(result: subprocess.CompletedProcess[str], code: int = 1) -> str:
    """The error a failed command printed: exactly one line on stderr, nothing on stdout, exit `code`."""
    assert result.returncode == code, f"exit {result.returncode}: {result.stdout}{result.stderr}"
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def table(text: str) -> list[list[str]]:
    """The rows of a table the plugin printed (cells are separated by two spaces or more)."""
    return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines() if line.strip()]


def ready(cluster: Cluster, name: str) -> dict[str, Any]:
    return wait_for(f"{name} Ready", lambda: cluster.ready(name))


def annotation(cluster: Cluster, schedule: str, key: str) -> str | None:
    value: str | None = (cluster.schedule(schedule)["metadata"].get("annotations") or {}).get(key)
    return value


def token_of(output: str, namespace: str) -> str:
    match = re.match(r"sync now (\S+) requested on " + namespace, output)
    assert match, output
    return match.group(1)


def jobs_of(cluster: Cluster, schedule: str, token: str) -> dict[str, str]:
    """The on-demand Jobs of a sync-now token: Job name -> sync."""
    return {
        name: job["metadata"]["labels"]["erpsync.io/sync"]
        for name, job in cluster.jobs(schedule).items()
        if job["metadata"]["labels"].get("erpsync.io/trigger") == "OnDemand"
        and job["metadata"].get("annotations", {}).get("erpsync.io/sync-now") == token
    }


def plan_rows(name: str, namespace: str, folder: Path, now: datetime) -> dict[str, dict[str, Any]]:
    """`erp-sync plan` of an example as applied in `namespace` (the namespace is part of the slot's seed)."""
    body = example(name)
    body["metadata"]["namespace"] = namespace
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(body))
    command = [ERP_SYNC, "plan", "-f", str(path), "-o", "json", "--now", now.strftime("%Y-%m-%dT%H:%M:%SZ")]
    result = subprocess.run(command, capture_output=True, text=True)
    return {row["sync"]: row for row in json.loads(ok(result))}


def test_status_rows_and_conditions(cluster: Cluster, tmp_path: Path) -> None:
    kubeconfig = cluster.operator.kubeconfig
    cluster.apply(example("generic"))
    ready(cluster, "acme-generic")
    now = cluster.server_now()  # the operator's next runs count from the cluster's clock
    planned = plan_rows("generic", cluster.namespace, tmp_path, now)

    rows = json.loads(ok(plugin(kubeconfig, "status", "-o", "json")))
    assert [(row["schedule"], row["sync"]) for row in rows] == [("acme-generic", sync) for sync in SYNCS]
    for row in rows:
        plan = planned[row["sync"]]
        assert (row["namespace"], row["frequency"], row["cronSchedule"], row["timeZone"]) == (
            cluster.namespace,
            plan["frequency"],
            plan["schedule"],
            "America/Chicago",
        )
        assert row["suspended"] is False and row["lastRun"] is None
        next_run = datetime.fromisoformat(row["nextRunTime"].replace("Z", "+00:00"))
        assert next_run > now and next_run in [datetime.fromisoformat(run) for run in plan["nextRuns"][:2]]
        assert row["ready"] == {"status": "True", "reason": "Succeeded", "message": "4 CronJobs in sync"}
        assert row["healthy"]["status"] == "True"

    # The table, through kubectl, for one schedule named on the command line.
    syncs_table, health_table = ok(plugin(kubeconfig, "status", "acme-generic", kubectl=True)).split("\n\n")
    header, *lines = table(syncs_table)
    assert (
        "  ".join(header)
        == "SCHEDULE  SYNC  FREQUENCY  CRON SCHEDULE  TIMEZONE  SUSPENDED  LAST RUN  TRIGGER  RESULT  WHEN  NEXT RUN"
    )
    by_sync = {line[1]: line for line in lines}
    assert list(by_sync) == SYNCS
    vendors = planned["vendors"]
    assert by_sync["vendors"][:5] == ["acme-generic", "vendors", "Hourly", vendors["schedule"], "America/Chicago"]
    assert by_sync["vendors"][5:10] == ["false", "-", "-", "-", "-"]  # not suspended, no run yet
    assert re.fullmatch(r"\S+[-+]0[56]:00 \(in \d+[smh]\)", by_sync["vendors"][10]), by_sync["vendors"]
    assert table(health_table) == [
        ["SCHEDULE", "READY", "HEALTHY", "MESSAGE"],
        ["acme-generic", "True (Succeeded)", "True (RunsHealthy)", "4 CronJobs in sync"],
    ]

    # -n and -A: a schedule in a namespace the operator does not watch has no status yet.
    unwatched = f"{cluster.namespace}-unwatched"
    cluster.kubectl("create", "namespace", unwatched)
    other = example("generic")
    other["metadata"].update(name="elsewhere", namespace=unwatched)
    cluster.call("POST", f"/apis/erpsync.io/v1alpha1/namespaces/{unwatched}/erpsyncschedules", other)
    everywhere = json.loads(ok(plugin(kubeconfig, "status", "-A", "-o", "json")))
    ours = (cluster.namespace, unwatched)  # other tests' namespaces may still be going away
    assert [(row["namespace"], row["schedule"], row["sync"]) for row in everywhere if row["namespace"] in ours] == [
        *((cluster.namespace, "acme-generic", sync) for sync in SYNCS),
        (unwatched, "elsewhere", None),
    ]
    assert next(row for row in everywhere if row["namespace"] == unwatched)["ready"] is None
    not_handled = ["elsewhere", "-", "-", "not handled by the operator yet"]
    assert table(ok(plugin(kubeconfig, "status", "-n", unwatched)))[-1] == not_handled
    cluster.call("DELETE", f"/api/v1/namespaces/{unwatched}")


def test_sync_now_all_syncs_then_chosen_ones(cluster: Cluster) -> None:
    kubeconfig = cluster.operator.kubeconfig
    cluster.apply(example("generic"))
    ready(cluster, "acme-generic")

    output = ok(plugin(kubeconfig, "sync-now", "acme-generic", kubectl=True))
    token = token_of(output, cluster.namespace)
    started = jobs_of(cluster, "acme-generic", token)
    assert sorted(started.values()) == sorted(SYNCS)
    assert all(name in output for name in started)
    assert cluster.schedule("acme-generic")["status"]["lastHandledSyncNow"] == token

    output = ok(plugin(kubeconfig, "sync-now", "acme-generic", "--sync", "jobCosts", "--sync", "vendors"))
    chosen = token_of(output, cluster.namespace)
    assert chosen != token
    started = jobs_of(cluster, "acme-generic", chosen)
    assert sorted(started.values()) == ["jobCosts", "vendors"]
    assert [line[0] for line in table(output)[2:]] == sorted(started, key=lambda name: SYNCS.index(started[name]))
    annotations = cluster.schedule("acme-generic")["metadata"]["annotations"]
    assert annotations["erpsync.io/sync-now-syncs"] == "vendors,jobCosts"

    # Without --sync, the earlier choice must not linger: every sync runs again.
    again = token_of(ok(plugin(kubeconfig, "sync-now", "acme-generic")), cluster.namespace)
    assert sorted(jobs_of(cluster, "acme-generic", again).values()) == sorted(SYNCS)
    assert "erpsync.io/sync-now-syncs" not in cluster.schedule("acme-generic")["metadata"]["annotations"]


def test_sync_now_refused_names_timeout_and_no_wait(cluster: Cluster) -> None:
    kubeconfig = cluster.operator.kubeconfig
    cluster.apply(example("viewpoint-spectrum"))
    ready(cluster, "ridge-spectrum")

    # ViewpointSpectrum has no invoicePayments sync: the operator refuses it and runs the rest.
    refused = plugin(kubeconfig, "sync-now", "ridge-spectrum", "--sync", "vendors,invoicePayments")
    assert refused.returncode == 1, refused
    token = token_of(refused.stdout, cluster.namespace)
    assert list(jobs_of(cluster, "ridge-spectrum", token).values()) == ["vendors"]
    assert refused.stderr.splitlines() == [
        f"error: the operator refused: sync now {token}: invoicePayments not offered by ViewpointSpectrum; "
        "allowed: vendors, jobs, jobCosts"
    ]

    cluster.operator.stop()
    timed_out = plugin(kubeconfig, "sync-now", "ridge-spectrum", "--timeout", "1")
    assert timed_out.returncode == 1
    late = token_of(timed_out.stdout, cluster.namespace)
    assert timed_out.stderr.startswith(f"error: timed out after 1s waiting for the operator to handle sync now {late}")
    assert len(timed_out.stderr.splitlines()) == 1

    queued = token_of(ok(plugin(kubeconfig, "sync-now", "ridge-spectrum", "--no-wait")), cluster.namespace)
    assert cluster.schedule("ridge-spectrum")["metadata"]["annotations"]["erpsync.io/sync-now"] == queued


def suspended(cluster: Cluster, schedule: str) -> dict[str, bool]:
    return {
        job["metadata"]["labels"]["erpsync.io/sync"]: job["spec"]["suspend"]
        for job in cluster.cron_jobs(schedule).values()
    }


def test_suspend_and_resume_a_schedule_and_one_sync(cluster: Cluster) -> None:
    kubeconfig = cluster.operator.kubeconfig
    cluster.apply(example("generic"))
    ready(cluster, "acme-generic")
    assert suspended(cluster, "acme-generic") == dict.fromkeys(SYNCS, False)

    output = ok(plugin(kubeconfig, "suspend", "acme-generic"))
    assert output == "erpsyncschedule.erpsync.io/acme-generic suspended (in effect)\n"
    assert cluster.schedule("acme-generic")["metadata"]["annotations"]["erpsync.io/suspend"] == "all"
    wait_for("every CronJob suspended", lambda: suspended(cluster, "acme-generic") == dict.fromkeys(SYNCS, True))

    ok(plugin(kubeconfig, "resume", "acme-generic", kubectl=True))
    wait_for("every CronJob resumed", lambda: suspended(cluster, "acme-generic") == dict.fromkeys(SYNCS, False))

    output = ok(plugin(kubeconfig, "suspend", "acme-generic", "--sync", "vendors", kubectl=True))
    assert output == "erpsyncschedule.erpsync.io/acme-generic suspended: vendors (in effect)\n"
    only_vendors = {**dict.fromkeys(SYNCS, False), "vendors": True}
    wait_for("the vendors CronJob suspended", lambda: suspended(cluster, "acme-generic") == only_vendors)
    ready(cluster, "acme-generic")
    rows = json.loads(ok(plugin(kubeconfig, "status", "acme-generic", "-o", "json")))
    assert {row["sync"]: row["suspended"] for row in rows} == only_vendors
    assert {row["sync"] for row in rows if row["nextRunTime"] is None} == {"vendors"}

    ok(plugin(kubeconfig, "resume", "acme-generic", "--sync", "vendors"))
    wait_for(
        "the vendors CronJob resumed",
        lambda: suspended(cluster, "acme-generic") == dict.fromkeys(SYNCS, False),
    )
    assert "erpsync.io/suspend" not in (cluster.schedule("acme-generic")["metadata"].get("annotations") or {})


def test_plan_is_erp_sync_plan(tmp_path: Path) -> None:
    arguments = ["plan", "-f", str(REPO / "examples"), "--now", "2026-06-01T12:00:00Z"]
    expected = subprocess.run([ERP_SYNC, *arguments], capture_output=True, text=True)
    assert "acme-generic" in ok(expected) and len(expected.stdout.splitlines()) == 1 + 7 * 4
    no_cluster = tmp_path / "no-kubeconfig"  # plan needs none
    assert ok(plugin(no_cluster, *arguments, kubectl=True)) == expected.stdout
    as_json = subprocess.run([ERP_SYNC, *arguments, "-o", "json"], capture_output=True, text=True)
    assert ok(plugin(no_cluster, *arguments, "-o", "json")) == ok(as_json)


def test_errors_are_one_line(cluster: Cluster, tmp_path: Path) -> None:
    kubeconfig = cluster.operator.kubeconfig
    unknown_schedule = f'error: erpsyncschedules.erpsync.io "nope" not found in namespace "{cluster.namespace}"'
    for arguments in (["status", "nope"], ["sync-now", "nope"], ["resume", "nope"]):
        assert one_line_error(plugin(kubeconfig, *arguments)) == unknown_schedule, arguments
    assert one_line_error(plugin(kubeconfig, "suspend", "nope", kubectl=True)) == unknown_schedule

    before = cluster.apply(example("generic"))
    unknown_sync = 'error: unknown sync "vendor"; the syncs are: vendors, jobs, jobCosts, invoicePayments'
    for command in ("suspend", "sync-now"):
        assert one_line_error(plugin(kubeconfig, command, "acme-generic", "--sync", "vendor"), 2) == unknown_sync
    after = cluster.schedule("acme-generic")  # refused before anything was sent
    assert after["spec"] == before["spec"]
    assert "erpsync.io/sync-now" not in (after["metadata"].get("annotations") or {})

    missing = tmp_path / "missing"
    assert one_line_error(plugin(missing, "status")) == (
        f"error: no kubeconfig found at {missing} (set KUBECONFIG or give --kubeconfig)"
    )
    assert one_line_error(plugin(missing, "--context", "nope", "status", "--kubeconfig", str(kubeconfig))) == (
        f'error: context "nope" not found in {kubeconfig}; contexts: erp-sync-test'
    )
    unreachable = tmp_path / "unreachable"
    unreachable.write_text(re.sub(r"https://[\d.:]+", "https://127.0.0.1:1", Path(kubeconfig).read_text()))
    assert one_line_error(plugin(unreachable, "status")).startswith(
        "error: cannot reach the API server at https://127.0.0.1:1"
    )
