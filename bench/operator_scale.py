"""Benchmark: N ErpSyncSchedules (four enabled syncs each) reconciled by the operator on a real API server.

The control plane is the tests' (etcd, kube-apiserver and kube-controller-manager v1.37, built by
.ci/kube.sh) on loopback; its CronJob controller is left out, so that no scheduled run starts Jobs in
the middle of the measurement. Prints seconds until all are Ready, the operator's API requests by verb
(from the API server's audit log: the operator has an identity of its own), its writes per schedule
(schedules, CronJobs and Jobs; Events apart), its writes during an idle period with no spec change,
run or resync due, its peak RSS, and, timed in the same run against the same server, a plain client
sending the same minimal writes (the schedule, 4 CronJobs and 1 status patch per schedule), of the same
objects: the CronJobs as the operator sends them, the status the operator wrote.

    .venv/bin/python bench/operator_scale.py [--sizes 1000,2000] [--idle 60] [--qps 0] [--burst 100]
        [--workers 8] [--plot scale.png] [--py-spy profile.txt] [--py-spy-resync resync.txt]

Per size, on a control plane of its own: the create phase above; then a restart with nothing changed
(time to the first write, to steady state read from the operator's metrics, the writes made: expected 0;
then one full scrape of /metrics, its size, time and the operator's CPU, and the restart's peak RSS with it);
then the full resync of that restarted operator (--resync-interval R, R = --resync or max(60, N/100) s):
the CPU seconds of the operator process (utime + stime from /proc/PID/stat) around the window in which
the resync's passes run, and its writes. `--qps`/`--burst` go to the operator (its defaults, 50 and 100,
when not given); `--workers` to the operator and to the plain client (its requests at once), and prints the
CPU of the operator and of the control plane (etcd, API server, controller manager) while creating, beside the
control plane's in the plain client's run. `--py-spy PATH` records a profile of the operator during the
create phase (py-spy record --format raw --nonblocking; it needs ptrace), `--py-spy-resync PATH` one during
the resync's window.
`--plot PATH.png` draws time-to-Ready and peak RSS against the sizes.
"""

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp

from erpsync.api.validation import validate_object
from erpsync.controller.drift import LAST_APPLIED_ANNOTATION, applied_record
from erpsync.controller.queue import DEFAULT_WORKERS
from erpsync.planning.plan import plan_schedule
from erpsync_emulators.operator_process import OperatorProcess
from erpsync_testbed import ControlPlane, audit
from erpsync_testbed.control_plane import CONTROLLERS

REPO = Path(__file__).resolve().parents[1]
NAMESPACE = "erp-sync"
PLAIN_NAMESPACE = "erp-sync-plain"
OPERATOR_USER = "erp-sync-operator-bench"
WRITE_VERBS = ("create", "update", "patch", "delete")


def schedules_path(namespace: str) -> str:
    return f"/apis/erpsync.io/v1alpha1/namespaces/{namespace}/erpsyncschedules"


SCHEDULES = schedules_path(NAMESPACE)


def schedule(index: int) -> dict[str, Any]:
    return {
        "apiVersion": "erpsync.io/v1alpha1",
        "kind": "ErpSyncSchedule",
        "metadata": {"name": f"tenant-{index:05d}", "namespace": NAMESPACE},
        "spec": {
            "erp": "Generic",
            "timeZone": "America/Chicago",
            "procore": {  # job costs need an ERP connection (ErpConnector mode)
                "companyId": 1000 + index,
                "mode": "ErpConnector",
                "credentialsSecretRef": {"name": f"procore-{index}"},
            },
            "erpConnection": {"secretRef": {"name": f"erp-{index}"}},
            "syncs": {
                "vendors": {"frequency": "Hourly"},
                "jobs": {"frequency": "Every2Hours"},
                "jobCosts": {"frequency": "Every4Hours"},
                "invoicePayments": {"frequency": "Daily"},
            },
        },
    }


def resident_mib(pid: int) -> float:
    return _status_mib(pid, "VmRSS:")


def high_water_mib(pid: int) -> float:
    return _status_mib(pid, "VmHWM:")


def _status_mib(pid: int, field: str) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/PID/stat (fields 14 and 15, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu_seconds(control_plane: ControlPlane) -> float:
    """The CPU seconds of the control plane's processes (etcd, the API server, the controller manager) so far."""
    return sum(cpu_seconds(process.pid) for process in control_plane.processes.values())


class Client:
    """The benchmark's own calls, as the admin (the audit log tells them from the operator's)."""

    def __init__(self, control_plane: ControlPlane, concurrency: int) -> None:
        self.url = control_plane.server
        self.concurrency = concurrency
        context = control_plane.client().context
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency, ssl=context))

    async def call(self, method: str, path: str, body: object = None, content_type: str = "application/json") -> Any:
        async with self.session.request(
            method, self.url + path, json=body, headers={"Content-Type": content_type}
        ) as response:
            data = await response.json(content_type=None)
            if response.status >= 400:
                raise RuntimeError(f"{method} {path}: {response.status} {data}")
            return data

    async def close(self) -> None:
        await self.session.close()


CLOCK_FIELDS = ("nextRunTime", "nextSyncTime")  # what the clock alone changes in a status


def _without_clock(status: dict[str, Any]) -> dict[str, Any]:
    syncs = {name: {k: v for k, v in sync.items() if k not in CLOCK_FIELDS} for name, sync in status["syncs"].items()}
    return {**{k: v for k, v in status.items() if k not in CLOCK_FIELDS}, "syncs": syncs}


def status_changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[int, int]:
    """Of two lists of the schedules, how many statuses changed, and how many of those in the next-run times
    alone (a next run that passed in the meantime is a real change: the status shows the new one)."""
    old = {item["metadata"]["name"]: item.get("status") or {} for item in before["items"]}
    changed = clock_only = 0
    for item in after["items"]:
        was, now = old.get(item["metadata"]["name"]), item.get("status") or {}
        if was != now:
            changed += 1
            clock_only += (
                was is not None and "syncs" in was and "syncs" in now and _without_clock(was) == _without_clock(now)
            )
    return changed, clock_only


def is_ready(item: dict[str, Any]) -> bool:
    status = item.get("status") or {}
    return status.get("observedGeneration") == item["metadata"]["generation"] and any(
        c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions", [])
    )


class ReadyWatch:
    """Counts the Ready schedules from one watch of them: polling a list of N schedules every half second
    would cost the API server more than the operator's own writes (N objects serialised each time), and the
    plain client's run has no such reader."""

    def __init__(self, control_plane: ControlPlane, operator_pid: int) -> None:
        self.control_plane = control_plane
        self.operator_pid = operator_pid
        self.ready: set[str] = set()
        self.peak_mib = 0.0
        self.watching = asyncio.Event()  # set once the watch's starting point is read: post after it

    async def wait(self, count: int, started: float) -> float:
        """Returns when `count` schedules are Ready for their generation (the operator's peak RSS by then)."""
        context = self.control_plane.client().context
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context), timeout=timeout) as session:
            url = self.control_plane.server + SCHEDULES
            async with session.get(url, params={"limit": "1"}) as response:
                version = (await response.json())["metadata"]["resourceVersion"]
            self.watching.set()
            while len(self.ready) < count:
                if time.monotonic() - started > 3600:
                    raise SystemExit(f"only {len(self.ready)} of {count} Ready after an hour")
                params = {"watch": "1", "resourceVersion": version, "timeoutSeconds": "600"}
                async with session.get(url, params=params) as response:
                    async for line in response.content:
                        event = json.loads(line)
                        item = event["object"]
                        version = item["metadata"]["resourceVersion"]
                        name = item["metadata"]["name"]
                        if event["type"] != "DELETED" and is_ready(item):
                            self.ready.add(name)
                        else:
                            self.ready.discard(name)
                        self.peak_mib = max(self.peak_mib, high_water_mib(self.operator_pid))
                        if len(self.ready) == count:
                            break
        return self.peak_mib


async def gather_limited(coroutines: list[Any], concurrency: int) -> None:
    semaphore = asyncio.Semaphore(concurrency)

    async def run(coroutine: Any) -> None:
        async with semaphore:
            await coroutine

    await asyncio.gather(*(run(c) for c in coroutines))


def operator_counts(control_plane: ControlPlane, since: int) -> tuple[Counter[str], int]:
    """The operator's requests by "verb resource" after byte `since` of the audit log, and the offset after them."""
    events, offset = audit.events_since(control_plane.audit_log, since)
    mine = (event for event in events if event.get("user", {}).get("username") == OPERATOR_USER)
    return Counter(audit.call_name(event) for event in mine), offset


def metric_sum(text: str, name: str) -> float:
    """The sum of a metric's series in a Prometheus exposition."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and line[len(name)] in " {":
            total += float(line.rsplit(" ", 1)[1])
    return total


# What read_metrics asks for: only these two series, not the 10 to 12 of every sync (a scrape of them all, at
# 10,000 schedules 22 MB of text, is measured once, by full_scrape).
PROGRESS_SERIES = "name[]=erpsync_reconciles_total&name[]=erpsync_queue_depth"


async def read_metrics(session: aiohttp.ClientSession, port: int) -> tuple[float, float]:
    """(passes made, queue depth) from the operator's metrics; (0, 1) while it does not answer yet."""
    try:
        async with session.get(f"http://127.0.0.1:{port}/metrics?{PROGRESS_SERIES}") as response:
            text = await response.text()
    except aiohttp.ClientError:
        return 0.0, 1.0
    return metric_sum(text, "erpsync_reconciles_total"), metric_sum(text, "erpsync_queue_depth")


async def full_scrape(session: aiohttp.ClientSession, port: int, pid: int) -> tuple[int, float, float]:
    """One scrape of every series as Prometheus makes it (gzip accepted): (bytes of text, seconds, the
    operator's CPU seconds)."""
    cpu, started = cpu_seconds(pid), time.monotonic()
    async with session.get(f"http://127.0.0.1:{port}/metrics", headers={"Accept-Encoding": "gzip"}) as response:
        text = await response.read()  # aiohttp decompresses
    return len(text), time.monotonic() - started, cpu_seconds(pid) - cpu


async def wait_for_passes(
    session: aiohttp.ClientSession, port: int, passes: float, operator: OperatorProcess, timeout: float
) -> float:
    """Waits until the operator made `passes` passes in all and its queue stayed empty for a second; the
    passes made. Exits when the operator dies or `timeout` runs out."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while time.monotonic() < deadline:
        if operator.process is not None and operator.process.poll() is not None:
            raise SystemExit(f"the operator exited ({operator.process.returncode}): see {operator.log}")
        made, depth = await read_metrics(session, port)
        quiet = quiet + 1 if made >= passes and depth == 0 else 0
        if quiet >= 2:
            return made
        await asyncio.sleep(0.5)  # each scrape costs the operator CPU: not too often
    raise SystemExit(f"fewer than {passes:.0f} passes after {timeout:.0f} s")


def first_write_after(control_plane: ControlPlane, since: int) -> float | None:
    """The time (audit stageTimestamp, epoch seconds) of the operator's first write after byte `since`."""
    events, _ = audit.events_since(control_plane.audit_log, since)
    for event in events:
        if event.get("user", {}).get("username") == OPERATOR_USER and event.get("verb") in WRITE_VERBS:
            stamp = event.get("requestReceivedTimestamp") or event.get("stageTimestamp")
            return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp()
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_profiler(pid: int, path: str) -> subprocess.Popen[bytes]:
    py_spy = str(Path(sys.executable).with_name("py-spy"))
    command = [py_spy, "record", "-p", str(pid), "-o", path, "--format", "raw", "--rate", "50", "--nonblocking"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop_profiler(profiler: subprocess.Popen[bytes]) -> None:
    profiler.send_signal(signal.SIGINT)  # py-spy writes what it recorded and exits
    _, error = profiler.communicate(timeout=60)
    if profiler.returncode not in (0, -signal.SIGINT):
        print(f"py-spy: exit {profiler.returncode}: {error.decode(errors='replace').strip()}", file=sys.stderr)


async def run_operator(
    control_plane: ControlPlane, count: int, options: argparse.Namespace, profile: str | None, folder: Path
) -> dict[str, Any]:
    certificate, key = control_plane.pki.issue_client(OPERATOR_USER, ("system:masters",))
    user = {"client-certificate": str(certificate), "client-key": str(key)}
    kubeconfig = control_plane.write_kubeconfig(folder / "kubeconfig", user, NAMESPACE)
    limits = [
        *(("--qps", str(options.qps)) if options.qps is not None else ()),
        *(("--burst", str(options.burst)) if options.burst is not None else ()),
        *("--workers", str(options.workers)),
    ]
    port = free_port()
    resync = options.resync or max(60.0, count / 100)

    def start(resync_seconds: float) -> OperatorProcess:
        flags = ("--resync-interval", str(resync_seconds), "--metrics-port", str(port), *limits)
        return OperatorProcess(kubeconfig, folder / "operator.log", NAMESPACE, flags).start()

    operator = start(3600)
    client = Client(control_plane, options.workers)
    metrics_session = aiohttp.ClientSession()
    result: dict[str, Any] = {}
    try:
        await wait_for_passes(metrics_session, port, 0, operator, 60)  # serving
        await asyncio.sleep(2)  # its watches start once startup has returned
        profiler = start_profiler(operator.pid, profile) if profile else None
        mark = audit.end_offset(control_plane.audit_log)
        operator_cpu, server_cpu = cpu_seconds(operator.pid), server_cpu_seconds(control_plane)
        started = time.monotonic()
        watch = ReadyWatch(control_plane, operator.pid)
        readiness = asyncio.create_task(watch.wait(count, started))
        await asyncio.wait({readiness, asyncio.ensure_future(watch.watching.wait())}, return_when="FIRST_COMPLETED")
        if readiness.done():
            readiness.result()  # the watch failed before it started: its error
        await gather_limited([client.call("POST", SCHEDULES, schedule(i)) for i in range(count)], options.workers)
        peak = await readiness
        result["seconds"] = time.monotonic() - started
        result["create_cpu"] = cpu_seconds(operator.pid) - operator_cpu
        result["create_server_cpu"] = server_cpu_seconds(control_plane) - server_cpu
        if profiler is not None:
            stop_profiler(profiler)
        await asyncio.sleep(2)  # the echoes of the last writes
        result["busy"], mark = operator_counts(control_plane, mark)
        idle_cpu = cpu_seconds(operator.pid)
        await asyncio.sleep(options.idle)
        result["idle"], _ = operator_counts(control_plane, mark)
        result["idle_cpu_rate"] = (cpu_seconds(operator.pid) - idle_cpu) / options.idle
        result["peak_mib"] = max(peak, high_water_mib(operator.pid))
        result["rss_mib"] = resident_mib(operator.pid)

        # Restart with nothing changed: a pass for every schedule, expected to write nothing.
        operator.stop()
        statuses = await client.call("GET", SCHEDULES)
        mark = audit.end_offset(control_plane.audit_log)
        restarted, restarted_wall = time.monotonic(), time.time()
        operator = start(resync)
        passes = await wait_for_passes(metrics_session, port, count, operator, 3600)
        result["restart_steady"] = time.monotonic() - restarted
        result["restart_cpu"] = cpu_seconds(operator.pid)
        first = first_write_after(control_plane, mark)
        result["restart_first_write"] = None if first is None else first - restarted_wall
        result["restart_writes"], mark = operator_counts(control_plane, mark)
        statuses, before = await client.call("GET", SCHEDULES), statuses
        result["restart_changes"] = status_changes(before, statuses)
        result["scrape"] = await full_scrape(metrics_session, port, operator.pid)
        result["restart_peak_mib"] = high_water_mib(operator.pid)  # the scrape included

        # The periodic resync: it starts within --resync-interval of the start and spreads every schedule's
        # pass over the next interval. CPU is read around that window, with no scrape of the metrics inside.
        resync_profile = sized_path(options.py_spy_resync, count, options.several_sizes)
        # The passes made in the window are counted (a scrape at each end), for the CPU per pass: the window
        # can hold part of a second round, or miss the start of the first when the restart was slow.
        passes_before, _ = await read_metrics(metrics_session, port)
        profiler = start_profiler(operator.pid, resync_profile) if resync_profile else None
        cpu_before = cpu_seconds(operator.pid)
        resync_started = time.monotonic()
        await asyncio.sleep(max(0.0, restarted + 2 * resync + 5 - time.monotonic()))
        result["resync_cpu"] = cpu_seconds(operator.pid) - cpu_before
        result["resync_passes"] = (await read_metrics(metrics_session, port))[0] - passes_before
        if profiler is not None:
            stop_profiler(profiler)
        result["resync_wall"] = time.monotonic() - resync_started
        await wait_for_passes(metrics_session, port, passes + count, operator, 600)  # it did happen
        result["resync_period"] = resync
        result["resync_writes"], _ = operator_counts(control_plane, mark)
        resynced = await client.call("GET", SCHEDULES)
        result["resync_changes"] = status_changes(statuses, resynced)
        # What the plain client writes as each schedule's status: the operator's, the same bytes.
        result["statuses"] = {item["metadata"]["name"]: item.get("status") or {} for item in resynced["items"]}
    finally:
        await metrics_session.close()
        await client.close()
        operator.stop()
    return result


async def run_plain_client(
    control_plane: ControlPlane, count: int, concurrency: int, statuses: dict[str, dict[str, Any]]
) -> tuple[float, float]:
    """The same minimal writes without the operator: create the schedule, its 4 CronJobs as the operator sends
    them (with their last-applied record), and patch its status once with the status the operator wrote for the
    schedule of the same name (`statuses`): the same objects, of the same size, to the same server."""
    client = Client(control_plane, concurrency)
    schedules = schedules_path(PLAIN_NAMESPACE)
    cron_jobs_path = f"/apis/batch/v1/namespaces/{PLAIN_NAMESPACE}/cronjobs"
    manifests = []
    for index in range(count):
        body = schedule(index)
        body["metadata"]["namespace"] = PLAIN_NAMESPACE
        validated = validate_object(body)
        assert validated.schedule is not None
        cron_jobs = plan_schedule(validated.schedule).cron_jobs
        for cron_job in cron_jobs:
            cron_job["metadata"]["annotations"] = {LAST_APPLIED_ANNOTATION: applied_record(cron_job)}
        manifests.append((body, cron_jobs))
    server_cpu = server_cpu_seconds(control_plane)
    started = time.monotonic()

    async def one(body: dict[str, Any], cron_jobs: list[dict[str, Any]]) -> None:
        created = await client.call("POST", schedules, body)
        owner = {
            "apiVersion": "erpsync.io/v1alpha1",
            "kind": "ErpSyncSchedule",
            "name": body["metadata"]["name"],
            "uid": created["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
        status_path = f"{schedules}/{body['metadata']['name']}/status"
        for cron_job in cron_jobs:
            cron_job["metadata"]["ownerReferences"] = [owner]
            cron_job["metadata"]["namespace"] = PLAIN_NAMESPACE
            await client.call("POST", cron_jobs_path, cron_job)
        status = statuses.get(body["metadata"]["name"]) or {"observedGeneration": 1}
        await client.call("PATCH", status_path, {"status": status}, "application/merge-patch+json")

    try:
        await gather_limited([one(body, cron_jobs) for body, cron_jobs in manifests], client.concurrency)
    finally:
        await client.close()
    return time.monotonic() - started, server_cpu_seconds(control_plane) - server_cpu


def by_verb(counts: Counter[str]) -> dict[str, int]:
    verbs: Counter[str] = Counter()
    for key, value in counts.items():
        verbs[key.split()[0]] += value
    return dict(sorted(verbs.items()))


def _resource(key: str) -> str:
    """`patch erpsyncschedules.erpsync.io/status` -> `erpsyncschedules`; `create cronjobs.batch` -> `cronjobs`."""
    return key.split()[1].split("/")[0].split(".")[0]


def write_names(counts: Counter[str]) -> dict[str, int]:
    return {key: value for key, value in sorted(counts.items()) if key.split()[0] in WRITE_VERBS}


def writes(counts: Counter[str], events: bool) -> int:
    return sum(value for key, value in counts.items() if key.split()[0] in WRITE_VERBS and ("events" in key) == events)


def report(
    count: int, result: dict[str, Any], plain: float, plain_server_cpu: float, options: argparse.Namespace
) -> None:
    busy = result["busy"]
    per_kind = {
        kind: sum(v for k, v in busy.items() if k.split()[0] in WRITE_VERBS and _resource(k) == kind) / count
        for kind in ("erpsyncschedules", "cronjobs", "jobs")
    }
    idle = result["idle"]
    first = result["restart_first_write"]
    print(f"schedules:                      {count} (4 enabled syncs each)")
    qps = "50 (default)" if options.qps is None else f"{options.qps:g}"
    burst = "100 (default)" if options.burst is None else str(options.burst)
    print(f"operator flags:                 --qps {qps} --burst {burst} --workers {options.workers}")
    print(f"all Ready after:                {result['seconds']:.1f} s")
    print(f"plain client, same writes:      {plain:.1f} s (operator / plain: {result['seconds'] / plain:.2f}x)")
    print(
        f"CPU while creating:             operator {result['create_cpu']:.1f} s; control plane "
        f"{result['create_server_cpu']:.1f} s (plain client's run: {plain_server_cpu:.1f} s)"
    )
    print(f"operator requests by verb:      {json.dumps(by_verb(busy))}")
    print(
        f"operator writes per schedule:   {writes(busy, events=False) / count:.2f} "
        f"(schedules {per_kind['erpsyncschedules']:.2f}, CronJobs {per_kind['cronjobs']:.2f}, "
        f"Jobs {per_kind['jobs']:.2f}; aim: 4 + 1)"
    )
    print(f"events per schedule:            {writes(busy, events=True) / count:.2f}")
    print(
        f"writes in {options.idle:.0f} s idle:            {writes(idle, False) + writes(idle, True)} "
        f"(requests: {json.dumps(by_verb(idle))})"
    )
    print(f"operator peak RSS:              {result['peak_mib']:.0f} MiB (resident after: {result['rss_mib']:.0f} MiB)")
    print(
        f"restart, nothing changed:       first write {'none' if first is None else f'after {first:.1f} s'}, "
        f"steady after {result['restart_steady']:.1f} s, {result['restart_cpu']:.1f} s CPU, "
        f"writes {writes(result['restart_writes'], False) + writes(result['restart_writes'], True)} "
        f"({json.dumps(write_names(result['restart_writes']))}; statuses changed {result['restart_changes'][0]}, "
        f"of which in next-run times alone {result['restart_changes'][1]}), "
        f"peak RSS {result['restart_peak_mib']:.0f} MiB (a full scrape included)"
    )
    text, seconds, cpu = result["scrape"]
    print(f"a full scrape of /metrics:      {text / 1e6:.1f} MB of text in {seconds:.2f} s, {cpu:.2f} s CPU")
    print(
        f"full resync (period {result['resync_period']:.0f} s): {result['resync_cpu']:.2f} s CPU over "
        f"{result['resync_wall']:.1f} s, {result['resync_passes']:.0f} passes "
        f"({1000 * result['resync_cpu'] / max(result['resync_passes'], 1):.2f} ms CPU per pass; "
        f"idle: {result['idle_cpu_rate']:.3f} s CPU per s), "
        f"writes {writes(result['resync_writes'], False)} ({json.dumps(write_names(result['resync_writes']))}; "
        f"statuses changed {result['resync_changes'][0]}, of which in next-run times alone "
        f"{result['resync_changes'][1]})"
    )


def plot(path: str, rows: list[tuple[int, float, float, float, float]]) -> None:
    """Time-to-Ready (operator and plain client) and the operator's peak RSS (creating; restarted, a full scrape
    of its metrics included) against the number of schedules."""
    import matplotlib

    matplotlib.use("Agg")  # no display
    import matplotlib.pyplot as plt

    sizes = [row[0] for row in rows]
    figure, (times, memory) = plt.subplots(1, 2, figsize=(11, 4.5))
    times.plot(sizes, [row[1] for row in rows], "o-", label="operator")
    times.plot(sizes, [row[2] for row in rows], "s--", label="plain client (floor)")
    times.set(xlabel="schedules (4 CronJobs each)", ylabel="seconds until all Ready", title="Time to Ready")
    times.legend()
    memory.plot(sizes, [row[3] for row in rows], "o-", color="tab:red", label="creating")
    memory.plot(sizes, [row[4] for row in rows], "^:", color="tab:purple", label="restarted (and one full scrape)")
    memory.legend()
    memory.set(xlabel="schedules (4 CronJobs each)", ylabel="MiB", title="Operator peak RSS (VmHWM)")
    for axes in (times, memory):
        axes.grid(True, alpha=0.3)
        axes.set_ylim(bottom=0)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def sized_path(profile: str | None, count: int, several: bool) -> str | None:
    """A profile's file: one per size when there are several sizes (NAME-1000.txt)."""
    if not profile or not several:
        return profile
    stem, dot, suffix = profile.rpartition(".")
    return f"{stem}-{count}.{suffix}" if dot else f"{profile}-{count}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000", help="numbers of schedules, comma-separated (1000,2000,5000,10000)")
    parser.add_argument("--schedules", type=int, help="one size (the same as --sizes N)")
    parser.add_argument("--idle", type=float, default=60.0, help="seconds of the idle period")
    parser.add_argument("--qps", type=float, help="the operator's --qps (0: no limit; its default when not given)")
    parser.add_argument("--burst", type=int, help="the operator's --burst")
    parser.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        help="the operator's --workers, and the plain client's requests at once (its sequences of writes)",
    )
    parser.add_argument("--resync", type=float, help="the operator's --resync-interval after the restart (seconds)")
    parser.add_argument("--plot", metavar="PATH.png", help="draw time-to-Ready and peak RSS against the sizes")
    parser.add_argument("--py-spy", metavar="PATH", help="py-spy profile of the operator during the create phase")
    parser.add_argument("--py-spy-resync", metavar="PATH", help="py-spy profile of the operator during the resync")
    options = parser.parse_args()
    sizes = [options.schedules] if options.schedules else [int(size) for size in options.sizes.split(",")]
    options.several_sizes = len(sizes) > 1
    crd = REPO / "crds" / "erpsyncschedules.erpsync.io.yaml"
    no_cron_jobs_run = [c for c in CONTROLLERS if c != "cronjob-controller"]
    rows: list[tuple[int, float, float, float, float]] = []
    for index, count in enumerate(sizes):
        profile = sized_path(options.py_spy, count, len(sizes) > 1)
        # A control plane per size: etcd and the API server's caches start empty each time.
        with (
            tempfile.TemporaryDirectory() as folder,
            ControlPlane(manifests=[crd], controllers=no_cron_jobs_run) as control_plane,
        ):
            for namespace in (NAMESPACE, PLAIN_NAMESPACE):
                control_plane.kubectl("create", "namespace", namespace)
            result = await run_operator(control_plane, count, options, profile, Path(folder))
            plain, plain_server_cpu = await run_plain_client(
                control_plane, count, options.workers, result.pop("statuses")
            )
        if index:
            print()
        report(count, result, plain, plain_server_cpu, options)
        rows.append((count, result["seconds"], plain, result["peak_mib"], result["restart_peak_mib"]))
    if options.plot:
        plot(options.plot, rows)
        print(f"plot: {options.plot}")


if __name__ == "__main__":
    asyncio.run(main())
