"""`kubectl erpsync sync-now`: ask the operator to run syncs now (the erpsync.io/sync-now annotation), wait for
the Jobs it starts and, with --wait, for their results; `--cancel` stops what a sync now started.

A request that is not handled when the command gives up (its --timeout, Ctrl-C, a Stalled schedule) is
withdrawn, so that it does not run later unseen: the annotation is removed with a JSON patch whose `test`
operation holds our token, so a newer request, set meanwhile by someone else, is never removed. While it
waits, the command rides out what a busy or restarting API server answers (429, 500, 502, 503, 504, a
dropped connection, no answer) until its deadline; every request is bounded by the time left.
"""

import functools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

import click

from erpsync.api.conditions import INVALID_SPEC, STALLED, SYNC_NOW_REFUSED
from erpsync.api.vocabulary import KIND, SYNC_NAMES, SyncName
from erpsync.controller.kubeapi import EVENTS, JOBS, JSON_PATCH, MERGE_PATCH, SCHEDULES, ApiError, Resource
from erpsync.controller.runs import Run, read_run
from erpsync.controller.sync_now import SYNC_NOW_ANNOTATION, SYNC_NOW_SYNCS_ANNOTATION, echoed_token
from erpsync.kubectl_plugin.client import Kube, PluginError, ServerUnreachable, UsageProblem, schedule_error
from erpsync.kubectl_plugin.options import connect, connection_options, print_tables, sync_option
from erpsync.kubectl_plugin.status import schedule_status
from erpsync.planning.cronjobs import LABEL_SCHEDULE, LABEL_SYNC, LABEL_TRIGGER
from erpsync.planning.names import label_value
from erpsync.text_table import TextTable

POLL_SECONDS: Final = 0.25
DEFAULT_TIMEOUT: Final = 60.0
DEFAULT_WAIT_TIMEOUT: Final = 3600.0  # with --wait the runs themselves are waited for: they take minutes
# What withdrawing a request may take once the deadline has passed or Ctrl-C was pressed.
WITHDRAW_SECONDS: Final = 10.0
# What a busy or restarting API server answers; the same request may be sent again.
TRANSIENT_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
# The worker's exit codes (erpsync_worker.summary), which `--wait` exits with: the worst result wins.
RESULT_EXIT_CODES: Final = {"Succeeded": 0, "PartiallyFailed": 2, "Failed": 1}
EXIT_INTERRUPTED: Final = 130  # 128 + SIGINT, as shells report Ctrl-C
_ANNOTATION_POINTER: Final = "/metadata/annotations/" + SYNC_NOW_ANNOTATION.replace("~", "~0").replace("/", "~1")
PODS: Final = Resource("", "v1", "pods")
T = TypeVar("T")


class Interrupted(PluginError):
    """Ctrl-C: exit 130, after saying what became of the request."""

    exit_code = EXIT_INTERRUPTED


class RunsPartiallyFailed(PluginError):
    """--wait: a run PartiallyFailed and none Failed (exit 2, the worker's own code)."""

    exit_code = RESULT_EXIT_CODES["PartiallyFailed"]


class _GiveUp(Exception):
    """The wait for the operator ends without a result (the deadline, a Stalled schedule): the request is
    withdrawn and this message says why."""


@dataclass(frozen=True)
class _Target:
    kube: Kube
    name: str

    @property
    def where(self) -> str:
        return f"{self.kube.namespace}/{self.name}"

    @property
    def path(self) -> str:
        return SCHEDULES.path(self.kube.namespace, self.name)

    @property
    def cancel_hint(self) -> str:
        return f"kubectl erpsync sync-now {self.name} -n {self.kube.namespace} --cancel"


def _new_token() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


@click.command("sync-now")
@click.argument("name")
@connection_options
@sync_option
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=None,
    help=f"Seconds the whole command may take, every request included (default: {DEFAULT_TIMEOUT:g}; "
    f"{DEFAULT_WAIT_TIMEOUT:g} with --wait). A request not handled by then is withdrawn.",
)
@click.option("--no-wait", is_flag=True, help="Set the annotation and return.")
@click.option(
    "--wait",
    is_flag=True,
    help="Wait for the runs to finish and print their results; exit 0 when all Succeeded, 2 when one "
    "PartiallyFailed (none Failed), 1 when one Failed.",
)
@click.option(
    "--cancel",
    is_flag=True,
    help="Withdraw a pending sync now and delete the running on-demand Jobs of the schedule.",
)
def sync_now(
    name: str,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    syncs: tuple[SyncName, ...],
    timeout: float | None,
    no_wait: bool,
    wait: bool,
    cancel: bool,
) -> None:
    """Run the schedule's syncs once, now (every sync not Never, or those given with --sync); print the Jobs."""
    if cancel and (syncs or wait or no_wait):
        raise UsageProblem(
            "--cancel stops every on-demand run of the schedule: it takes no --sync, --wait or --no-wait"
        )
    if wait and no_wait:
        raise UsageProblem("--wait and --no-wait exclude each other")
    seconds = timeout if timeout is not None else (DEFAULT_WAIT_TIMEOUT if wait else DEFAULT_TIMEOUT)
    with connect(kubeconfig, context, namespace) as kube:
        target = _Target(kube, name)
        if cancel:
            _cancel(target)
            return
        _request_and_wait(target, syncs, seconds, no_wait, wait)


def _request_and_wait(target: _Target, syncs: tuple[SyncName, ...], seconds: float, no_wait: bool, wait: bool) -> None:
    kube = target.kube
    token = _new_token()
    kube.deadline = time.monotonic() + seconds
    annotations = {SYNC_NOW_ANNOTATION: token, SYNC_NOW_SYNCS_ANNOTATION: ",".join(syncs) if syncs else None}
    try:
        try:
            _persist(kube, lambda: _patch(target, {"metadata": {"annotations": annotations}}))
        except _GiveUp:
            raise _GiveUp(f"timed out after {seconds:g}s sending sync now {token} to {target.where}") from None
        chosen = f" ({', '.join(syncs)})" if syncs else ""
        click.echo(f"sync now {token} requested on {target.where}{chosen}")
        if no_wait:
            return
        _wait_handled(target, token, seconds)
    except _GiveUp as reason:
        raise PluginError(f"{reason}; {_withdraw(target, token)}") from None
    except KeyboardInterrupt:
        raise Interrupted(
            f"interrupted before the operator handled sync now {token}; {_withdraw(target, token)}"
        ) from None
    jobs: list[dict[str, Any]] = []
    try:
        jobs = _persist(kube, lambda: _started_jobs(target, token))
        refusals = _persist(kube, lambda: _refusals(target, token))
        _print_jobs(jobs)
        runs = _wait_for_runs(target, jobs, seconds) if wait and jobs else None
    except _GiveUp as reason:
        raise PluginError(f"{reason}; {_still_running(target, jobs)}") from None
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted; {_still_running(target, jobs)}") from None
    started = {job["metadata"].get("labels", {}).get(LABEL_SYNC) for job in jobs}
    if refusals:
        raise PluginError(f"the operator refused: {'; '.join(refusals)}")
    missing = [sync for sync in syncs if sync not in started]
    if missing:
        unreadable = " (its SyncNowRefused Events are not readable with these credentials)" if refusals is None else ""
        raise PluginError(f"the operator started no Job for {', '.join(missing)}{unreadable}")
    if not jobs:
        raise PluginError(
            f"the operator started no Job for {target.where}: every sync is Never; choose syncs with --sync"
        )
    if runs is not None:
        _report_runs(runs)


# Requests that ride out a busy API server ------------------------------------------------------------------


def _transient(error: Exception) -> bool:
    return isinstance(error, ServerUnreachable) or (isinstance(error, ApiError) and error.status in TRANSIENT_STATUSES)


def _persist(kube: Kube, call: Callable[[], T]) -> T:
    """`call`, made again after a transient failure until the deadline (then _GiveUp); other errors raise."""
    while True:
        try:
            return call()
        except (ApiError, ServerUnreachable) as error:
            if not _transient(error):
                raise
            left = (kube.deadline or 0.0) - time.monotonic()
            if left <= 0:
                raise _GiveUp(f"the API server did not answer in time ({error})") from None
            time.sleep(min(POLL_SECONDS * 4, left))


def _get(target: _Target) -> dict[str, Any]:
    try:
        return target.kube.call("GET", target.path)
    except ApiError as error:
        if error.status in TRANSIENT_STATUSES:
            raise
        raise schedule_error(error, target.kube.namespace, target.name) from None


def _patch(target: _Target, patch: object, content_type: str = MERGE_PATCH) -> dict[str, Any]:
    try:
        return target.kube.call("PATCH", target.path, patch, content_type)
    except ApiError as error:
        if error.status in TRANSIENT_STATUSES or content_type == JSON_PATCH:
            raise
        raise schedule_error(error, target.kube.namespace, target.name) from None


# Waiting for the operator ----------------------------------------------------------------------------------


def _wait_handled(target: _Target, token: str, seconds: float) -> None:
    """Until the operator echoes `token` in status.lastHandledSyncNow; the Jobs are created before that."""
    kube = target.kube
    waited = f"timed out after {seconds:g}s waiting for the operator to handle sync now {token} on {target.where}"
    operator_unseen = f"{waited}: is the operator running and watching namespace {kube.namespace}?"
    answered = False  # once the server has answered, the deadline is the operator's to have met
    while True:
        try:
            body = _persist(kube, lambda: _get(target))
        except _GiveUp:
            raise _GiveUp(operator_unseen if answered else f"{waited}: the API server did not answer") from None
        answered = True
        status = schedule_status(body)
        if status.last_handled_sync_now == echoed_token(token):  # a long token is echoed shortened
            return
        current = (body["metadata"].get("annotations") or {}).get(SYNC_NOW_ANNOTATION)
        if current != token:
            raise PluginError(f"another sync now ({current}) replaced {token} before the operator handled it")
        stalled = status.condition(STALLED)
        if (
            stalled is not None
            and stalled.status == "True"
            and stalled.reason == INVALID_SPEC  # refused RBAC (Forbidden) may still allow the Jobs: wait on
            and status.observed_generation == body["metadata"].get("generation")
        ):
            raise _GiveUp(
                f"{target.where} is Stalled ({stalled.message}): the operator starts no sync now until the spec "
                "is valid"
            )
        if time.monotonic() >= (kube.deadline or 0.0):
            raise _GiveUp(operator_unseen)
        time.sleep(POLL_SECONDS)


def _withdraw(target: _Target, token: str) -> str:
    """Removes the request if the annotation still holds `token`; says what became of it and of its Jobs."""
    kube = target.kube
    kube.deadline = time.monotonic() + WITHDRAW_SECONDS
    test_and_remove = [
        {"op": "test", "path": _ANNOTATION_POINTER, "value": token},
        {"op": "remove", "path": _ANNOTATION_POINTER},
    ]
    try:
        try:
            _persist(kube, lambda: _patch(target, test_and_remove, JSON_PATCH))
            outcome = "the request was withdrawn"
        except ApiError:  # the test failed: the annotation holds another request now, or none
            current = (_persist(kube, lambda: _get(target))["metadata"].get("annotations") or {}).get(
                SYNC_NOW_ANNOTATION
            )
            outcome = f"the annotation already holds another request ({current})" if current else "no request is left"
        jobs = _persist(kube, lambda: _started_jobs(target, token))
    except (_GiveUp, PluginError, ApiError) as error:
        return f"it could not be withdrawn ({error}) and may still run later: {target.cancel_hint} withdraws it"
    if jobs:
        names = ", ".join(job["metadata"]["name"] for job in jobs)
        return f"{outcome}, but the operator had already started Jobs: {names} (to stop them: {target.cancel_hint})"
    return f"{outcome}; nothing was started and nothing will run"


def _still_running(target: _Target, jobs: list[dict[str, Any]]) -> str:
    if not jobs:
        return "the operator handled the request"
    names = ", ".join(job["metadata"]["name"] for job in jobs)
    return f"the runs go on: {names} (to stop them: {target.cancel_hint})"


def _started_jobs(target: _Target, token: str) -> list[dict[str, Any]]:
    selector = f"{LABEL_SCHEDULE}={label_value(target.name)},{LABEL_TRIGGER}=OnDemand"
    jobs = [
        job
        for job in target.kube.list(JOBS, target.kube.namespace, labelSelector=selector)
        if (job["metadata"].get("annotations") or {}).get(SYNC_NOW_ANNOTATION) == token[:253]
    ]
    order = {sync: index for index, sync in enumerate(SYNC_NAMES)}
    return sorted(jobs, key=lambda job: order.get(job["metadata"].get("labels", {}).get(LABEL_SYNC, ""), 99))


def _refusals(target: _Target, token: str) -> list[str] | None:
    """The messages of the operator's SyncNowRefused Events for `token` (the Event's own `erpsync.io/sync-now`
    annotation); None when Events cannot be read."""
    try:
        events = target.kube.list(
            EVENTS, target.kube.namespace, fieldSelector=f"involvedObject.name={target.name},reason={SYNC_NOW_REFUSED}"
        )
    except ApiError as error:
        if error.status in TRANSIENT_STATUSES:
            raise
        return None
    return [
        str(event.get("message"))
        for event in events
        if (event.get("involvedObject") or {}).get("kind") == KIND
        and (event["metadata"].get("annotations") or {}).get(SYNC_NOW_ANNOTATION) == token
    ]


def _print_jobs(jobs: list[dict[str, Any]]) -> None:
    if not jobs:
        return
    table = TextTable(["JOB", "SYNC", "CREATED"])
    for job in jobs:
        metadata = job["metadata"]
        table.add_row(
            metadata["name"], metadata.get("labels", {}).get(LABEL_SYNC, "-"), metadata.get("creationTimestamp", "-")
        )
    print_tables(table)


# --wait: the runs' results ---------------------------------------------------------------------------------


def _wait_for_runs(target: _Target, jobs: list[dict[str, Any]], seconds: float) -> list[tuple[str, Run]]:
    """(sync, run) of each Job once all have finished, read as the operator reads them (Job, Pods, summary)."""
    kube = target.kube
    finished: dict[str, Run] = {}
    while True:
        for job in jobs:
            job_name = job["metadata"]["name"]
            if job_name not in finished:
                run = _persist(kube, functools.partial(_read_run, target, job_name))
                if run.result != "Running":
                    finished[job_name] = run
        if len(finished) == len(jobs):
            return [
                (job["metadata"].get("labels", {}).get(LABEL_SYNC, "-"), finished[job["metadata"]["name"]])
                for job in jobs
            ]
        # Every request is bounded by the time left: a look that starts without any would fail as if the
        # server did not answer. The last look starts with POLL_SECONDS left; then the runs are late.
        left = (kube.deadline or 0.0) - time.monotonic()
        if left <= POLL_SECONDS:
            running = [job for job in jobs if job["metadata"]["name"] not in finished]
            raise _GiveUp(
                f"timed out after {seconds:g}s waiting for the runs: still running: "
                + ", ".join(job["metadata"]["name"] for job in running)
            )
        time.sleep(min(POLL_SECONDS * 4, left - POLL_SECONDS))


def _read_run(target: _Target, job_name: str) -> Run:
    kube = target.kube
    try:
        job = kube.call("GET", JOBS.path(kube.namespace, job_name))
    except ApiError as error:
        if error.status != 404:
            raise
        # Deleted (--cancel, kubectl delete) before it finished.
        return Run(job_name, "OnDemand", None, None, "Failed", "the Job was deleted before it finished", None, None)
    try:
        pods = kube.list(PODS, kube.namespace, labelSelector=f"batch.kubernetes.io/job-name={job_name}")
    except ApiError as error:
        if error.status in TRANSIENT_STATUSES:
            raise
        pods = []  # not readable with these credentials: the result from the Job, the counts from status
    run = read_run(job, pods, kube.clock.now())
    if run.result != "Running" and run.counts is None:
        return _stored_run(target, job, run)
    return run


def _stored_run(target: _Target, job: dict[str, Any], run: Run) -> Run:
    """The operator's record of the run (lastRun, or history), which holds the worker's counts."""
    body = _get(target)
    status = schedule_status(body)
    sync = job["metadata"].get("labels", {}).get(LABEL_SYNC)
    sync_status = status.syncs.get(sync) if status.syncs and sync in SYNC_NAMES else None
    if sync_status is None:
        return run
    records = [sync_status.last_run, *(getattr(sync_status, "history", None) or [])]
    for record in records:
        if record is not None and record.job_name == run.job_name and record.result != "Running":
            return Run.from_status(record)
    return run


def _report_runs(runs: list[tuple[str, Run]]) -> None:
    table = TextTable(
        ["JOB", "SYNC", "RESULT", "READ", "CREATED", "UPDATED", "UNCHANGED", "SKIPPED", "FAILED", "MESSAGE"]
    )
    for sync, run in runs:
        counts = run.counts or {}
        table.add_row(
            run.job_name,
            sync,
            run.result,
            *(
                str(counts[key]) if key in counts else "-"
                for key in ("read", "created", "updated", "unchanged", "skipped", "failed")
            ),
            run.message or "-",
        )
    click.echo()
    print_tables(table)
    unsuccessful = [f"{run.job_name} {run.result}" for _, run in runs if run.result != "Succeeded"]
    if not unsuccessful:
        return
    message = f"{len(unsuccessful)} of {len(runs)} runs did not succeed: {', '.join(unsuccessful)}"
    if all(run.result in ("Succeeded", "PartiallyFailed") for _, run in runs):
        raise RunsPartiallyFailed(message)
    raise PluginError(message)  # a run Failed (or its Job was deleted): exit 1


# --cancel --------------------------------------------------------------------------------------------------


def _cancel(target: _Target) -> None:
    """Withdraws a pending request (the operator has not echoed it) and deletes the unfinished on-demand Jobs."""
    kube = target.kube
    body = kube.schedule(target.name, kube.namespace)
    token = ((body["metadata"].get("annotations") or {}).get(SYNC_NOW_ANNOTATION) or "").strip()
    done_something = False
    if token and echoed_token(token) != schedule_status(body).last_handled_sync_now:
        test_and_remove = [
            {"op": "test", "path": _ANNOTATION_POINTER, "value": token},
            {"op": "remove", "path": _ANNOTATION_POINTER},
        ]
        try:
            _patch(target, test_and_remove, JSON_PATCH)
            click.echo(f"sync now {token} withdrawn from {target.where}")
            done_something = True
        except ApiError as error:
            raise PluginError(
                f"sync now {token} could not be withdrawn (it changed meanwhile?): {error.message}"
            ) from None
    selector = f"{LABEL_SCHEDULE}={label_value(target.name)},{LABEL_TRIGGER}=OnDemand"
    for job in kube.list(JOBS, kube.namespace, labelSelector=selector):
        if _job_finished(job):
            continue
        job_name = job["metadata"]["name"]
        try:
            kube.call(
                "DELETE",
                JOBS.path(kube.namespace, job_name),
                {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"},
            )
        except ApiError as error:
            if error.status == 404:
                continue
            raise PluginError(f"deleting job.batch/{job_name}: {error.message}") from None
        click.echo(f"job.batch/{job_name} deleted ({job['metadata'].get('labels', {}).get(LABEL_SYNC, '-')})")
        done_something = True
    if not done_something:
        raise PluginError(
            f"nothing to cancel on {target.where}: no sync now is pending and no on-demand run is running"
        )


def _job_finished(job: dict[str, Any]) -> bool:
    return any(
        condition.get("type") in ("Complete", "Failed") and condition.get("status") == "True"
        for condition in (job.get("status") or {}).get("conditions") or []
    )
