"""`kubectl erpsync status` under trouble, against the real API server and operator: a status of an older
generation than the spec reads as stale (table, -o wide|json|yaml), --watch follows a schedule through an edit
and ends quietly on Ctrl-C, and kubectl's --as, --as-group and --context work before and after the subcommand."""

import json
import queue
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from erpsync_testbed import audit
from tests.operator.conftest import Cluster, example, wait_for
from tests.ship.test_kubectl_plugin import SYNCS, background, ok, one_line_error, plugin, ready, table

SCHEDULE = "acme-generic"


def admin(cluster: Cluster, tmp_path: Path) -> Path:
    """A user's kubeconfig: the cluster's admin (system:masters, who may impersonate), in the test's namespace."""
    return cluster.control_plane.admin_kubeconfig(tmp_path / "kube" / "config", cluster.namespace)


def stale_schedule(cluster: Cluster) -> dict[str, Any]:
    """The example schedule, Ready for generation 1, then edited (generation 2) while the operator is stopped."""
    cluster.apply(example("generic"))
    ready(cluster, SCHEDULE)
    cluster.operator.stop()
    body = cluster.patch_spec(SCHEDULE, {"syncs": {"vendors": {"frequency": "Every2Hours"}}})
    assert (body["metadata"]["generation"], body["status"]["observedGeneration"]) == (2, 1)
    return body


STALE_WARNING = "status is of generation 1; generation 2 is not handled by the operator yet"


def test_a_status_of_an_older_generation_reads_as_stale(cluster: Cluster, tmp_path: Path) -> None:
    kubeconfig = admin(cluster, tmp_path)
    stale_schedule(cluster)

    result = plugin(kubeconfig, "status", SCHEDULE)
    syncs_table, health_table = ok(result).split("\n\n")
    header, *lines = table(syncs_table)
    assert header[-1] == "AS OF GENERATION"
    assert [line[1] for line in lines] == SYNCS
    assert {line[-1] for line in lines} == {"1 (stale: the spec is at 2)"}
    assert lines[0][2] == "Hourly"  # generation 1's frequency: the status has not seen the edit
    assert table(health_table) == [
        ["SCHEDULE", "READY", "HEALTHY", "MESSAGE"],
        [
            SCHEDULE,
            "Unknown (generation 2 not yet seen)",
            "True (RunsHealthy)",
            f"{STALE_WARNING}; last Ready True (Succeeded): 4 CronJobs in sync",
        ],
    ]
    # As kubectl get: the read succeeded, exit 0; the staleness is said on stderr too.
    assert result.stderr == f"warning: {cluster.namespace}/{SCHEDULE}: {STALE_WARNING}\n"

    rows = json.loads(ok(plugin(kubeconfig, "status", "-o", "json")))
    assert [(row["sync"], row["generation"], row["observedGeneration"], row["stale"]) for row in rows] == [
        (sync, 2, 1, True) for sync in SYNCS
    ]
    assert yaml.safe_load(ok(plugin(kubeconfig, "status", "-o", "yaml"))) == rows

    syncs_table, health_table = ok(plugin(kubeconfig, "status", "-o", "wide")).split("\n\n")
    header, *lines = table(syncs_table)
    assert header[-3:] == ["CRONJOB", "LAST SUCCESS", "AS OF GENERATION"]
    assert sorted(line[-3] for line in lines) == sorted(cluster.cron_jobs(SCHEDULE))
    assert {line[-2] for line in lines} == {"-"}  # no run yet
    header, line = table(health_table)
    assert header == ["SCHEDULE", "READY", "HEALTHY", "GENERATION", "OBSERVED", "RECONCILING", "STALLED", "MESSAGE"]
    assert line[3:7] == ["2", "1", "-", "-"]

    # The operator writes conditions of a generation it is still failing on (Reconciling): shown as they are.
    retry = "creating CronJob acme-generic-vendors: 503 Service Unavailable"
    conditions = [
        {
            "type": kind,
            "status": status,
            "reason": "ProgressingWithRetry",
            "message": retry,
            "observedGeneration": 2,
            "lastTransitionTime": "2026-06-01T12:00:00Z",
        }
        for kind, status in (("Ready", "Unknown"), ("Reconciling", "True"))
    ]
    cluster.call("PATCH", cluster.path("erpsyncschedules", SCHEDULE, "status"), {"status": {"conditions": conditions}})
    _, health_table = ok(plugin(kubeconfig, "status", SCHEDULE)).split("\n\n")
    assert table(health_table)[1][1:] == [
        "Unknown (ProgressingWithRetry)",
        "-",
        f"{STALE_WARNING}; last Ready Unknown (ProgressingWithRetry): {retry}",
    ]

    # The operator back: generation 2 handled, nothing stale any more.
    cluster.operator.start()
    wait_for("generation 2 Ready", lambda: cluster.ready(SCHEDULE), timeout=60)
    result = plugin(kubeconfig, "status", SCHEDULE)
    syncs_table, health_table = ok(result).split("\n\n")
    header, *lines = table(syncs_table)
    assert "AS OF GENERATION" not in header and lines[0][2] == "Every2Hours"
    assert table(health_table)[1][1] == "True (Succeeded)"
    assert result.stderr == ""
    rows = json.loads(ok(plugin(kubeconfig, "status", "-o", "json")))
    assert {(row["generation"], row["observedGeneration"], row["stale"]) for row in rows} == {(2, 2, False)}


def test_a_schedule_the_operator_never_handled(cluster: Cluster, tmp_path: Path) -> None:
    kubeconfig = admin(cluster, tmp_path)
    cluster.operator.stop()
    cluster.apply(example("generic"))
    result = plugin(kubeconfig, "status", "-o", "wide")
    syncs_table, health_table = ok(result).split("\n\n")
    assert table(syncs_table)[1][-1] == "- (not handled yet)"
    assert table(health_table)[1] == [SCHEDULE, "-", "-", "1", "-", "-", "-", "not handled by the operator yet"]
    assert result.stderr == f"warning: {cluster.namespace}/{SCHEDULE}: not handled by the operator yet\n"
    [row] = json.loads(ok(plugin(kubeconfig, "status", "-o", "json")))
    assert (row["generation"], row["observedGeneration"], row["stale"]) == (1, None, True)


class Watcher:
    """`kubectl-erpsync ARGS` running in the background, its stdout read line by line."""

    def __init__(self, kubeconfig: Path, *args: str) -> None:
        self.process = background(kubeconfig, *args)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_for_line(self, what: str | Callable[[str], bool], timeout: float = 60) -> str:
        """The first line not read yet that contains `what` (or that `what` accepts)."""
        check = what if callable(what) else lambda line: what in line
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            self.seen.append(line)
            if check(line):
                return line
        raise AssertionError(f"no line with {what!r} within {timeout}s; printed:\n{''.join(self.seen)}")

    def interrupt(self) -> tuple[int, str]:
        """Ctrl-C: the exit code and what was printed on stderr."""
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=20)
        assert self.process.stderr is not None
        return code, self.process.stderr.read()


def vendors_row(line: str) -> bool:
    return line.split()[:2] == [SCHEDULE, "vendors"]


def test_watch_prints_a_schedule_again_when_it_changes(cluster: Cluster, tmp_path: Path) -> None:
    kubeconfig = admin(cluster, tmp_path)
    cluster.apply(example("generic"))
    ready(cluster, SCHEDULE)
    watcher = Watcher(kubeconfig, "status", SCHEDULE, "--watch")
    try:
        assert watcher.wait_for_line(vendors_row).split()[2] == "Hourly"
        watcher.wait_for_line("True (Succeeded)")
        cluster.patch_spec(SCHEDULE, {"syncs": {"vendors": {"frequency": "Every2Hours"}}})
        # First the edit itself (a status still of generation 1), then the operator's handling of it.
        watcher.wait_for_line(lambda line: vendors_row(line) and line.rstrip().endswith("1 (stale: the spec is at 2)"))
        watcher.wait_for_line(lambda line: vendors_row(line) and "Every2Hours" in line and "stale" not in line)
        watcher.wait_for_line("True (Succeeded)")
        code, errors = watcher.interrupt()
    finally:
        if watcher.process.poll() is None:
            watcher.process.kill()
    assert (code, errors) == (130, "")

    # -o json: each change is one more JSON document, with the generations.
    watcher = Watcher(kubeconfig, "status", "-w", "-o", "json")
    try:
        watcher.wait_for_line('"observedGeneration": 2')
        cluster.patch_spec(SCHEDULE, {"syncs": {"jobs": {"frequency": "Daily"}}})
        watcher.wait_for_line('"generation": 3')
        watcher.wait_for_line('"observedGeneration": 3')
        code, errors = watcher.interrupt()
    finally:
        if watcher.process.poll() is None:
            watcher.process.kill()
    assert (code, errors) == (130, "")


def test_as_and_as_group_impersonate_like_kubectl(cluster: Cluster, tmp_path: Path) -> None:
    kubeconfig = admin(cluster, tmp_path)
    namespace = cluster.namespace
    cluster.apply(example("generic"))
    ready(cluster, SCHEDULE)
    nobody, viewer, group = f"nobody-{namespace}", f"viewer-{namespace}", f"schedule-viewers-{namespace}"

    line = one_line_error(plugin(kubeconfig, "status", "--as", nobody))
    assert line == (
        f'error: erpsyncschedules.erpsync.io is forbidden: User "{nobody}" cannot list resource "erpsyncschedules" '
        f'in API group "erpsync.io" in the namespace "{namespace}"'
    )
    line = one_line_error(plugin(kubeconfig, "status", SCHEDULE, "--as", nobody))
    assert line.startswith(f'error: erpsyncschedules.erpsync.io "{SCHEDULE}" is forbidden: User "{nobody}" cannot get')

    # A Role to read schedules, bound to one user and to one group.
    read = ("--verb=get,list", "--resource=erpsyncschedules.erpsync.io")
    cluster.kubectl("-n", namespace, "create", "role", "schedule-viewer", *read)
    subjects = (f"--user={viewer}", f"--group={group}")
    cluster.kubectl("-n", namespace, "create", "rolebinding", "schedule-viewers", "--role=schedule-viewer", *subjects)
    mark = audit.end_offset(cluster.control_plane.audit_log)

    def as_of(*args: str) -> list[tuple[str, str]]:
        return [(row["schedule"], row["sync"]) for row in json.loads(ok(plugin(kubeconfig, *args)))]

    def allowed_as(*args: str) -> list[tuple[str, str]] | None:
        result = plugin(kubeconfig, *args, "status", "-o", "json")
        return [(row["schedule"], row["sync"]) for row in json.loads(result.stdout)] if result.returncode == 0 else None

    expected = [(SCHEDULE, sync) for sync in SYNCS]
    assert wait_for("the RoleBinding in effect", lambda: allowed_as("--as", viewer)) == expected
    assert as_of("--as", viewer, "status", "-o", "json") == expected  # before the subcommand
    assert as_of("status", "-o", "json", "--as", nobody, "--as-group", "elsewhere", "--as-group", group) == expected
    assert as_of("--as", nobody, "--as-group", group, "status", "-o", "json") == expected
    line = one_line_error(plugin(kubeconfig, "status", "--as", nobody, "--as-group", "elsewhere"))
    assert f'User "{nobody}" cannot list resource "erpsyncschedules"' in line

    # The API server saw whom each request was made as: both groups of a repeated --as-group.
    events, _ = audit.events_since(cluster.control_plane.audit_log, mark)
    impersonated = [event["impersonatedUser"] for event in events if "impersonatedUser" in event]
    assert any(
        user["username"] == nobody and {"elsewhere", group} <= set(user.get("groups") or []) for user in impersonated
    ), impersonated

    line = one_line_error(plugin(kubeconfig, "status", "--as-group", group), code=2)
    assert line == "error: --as-group needs --as: the user to act as, in these groups"


def test_context_before_and_after_the_subcommand(cluster: Cluster, tmp_path: Path) -> None:
    kubeconfig = admin(cluster, tmp_path)
    config = yaml.safe_load(kubeconfig.read_text())
    [context] = config["contexts"]
    other = f"{cluster.namespace}-other"
    config["contexts"].append({"name": "other", "context": {**context["context"], "namespace": other}})
    kubeconfig.write_text(yaml.safe_dump(config))
    cluster.apply(example("generic"))
    ready(cluster, SCHEDULE)

    assert table(ok(plugin(kubeconfig, "status")).split("\n\n")[1])[1][0] == SCHEDULE
    for args in (("--context", "other", "status"), ("status", "--context", "other")):
        result = plugin(kubeconfig, *args)
        assert (result.returncode, result.stdout) == (0, "")
        assert result.stderr == f'No ErpSyncSchedules found in namespace "{other}".\n'
    line = one_line_error(plugin(kubeconfig, "status", "--context", "missing"))
    assert line == f'error: context "missing" not found in {kubeconfig}; contexts: {context["name"]}, other'
