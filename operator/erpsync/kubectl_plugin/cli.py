"""`kubectl erpsync`: status, sync now, suspend and resume of ErpSyncSchedules, and `plan` without a cluster.

Installed as the console script `kubectl-erpsync`; kubectl runs it as `kubectl erpsync ...` when it
is on PATH. It reads the user's kubeconfig as kubectl does: `--kubeconfig`, else `$KUBECONFIG`,
else `~/.kube/config`; `--context`; `-n` defaults to the context's namespace.
"""

import json
import secrets
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

import click

from erpsync import __version__
from erpsync.api.conditions import HEALTHY, READY, STALLED, SYNC_NOW_REFUSED
from erpsync.api.vocabulary import KIND, SYNC_NAMES, SyncName
from erpsync.cli import plan
from erpsync.controller.kubeapi import EVENTS, JOBS, ApiError
from erpsync.controller.sync_now import SYNC_NOW_ANNOTATION, SYNC_NOW_SYNCS_ANNOTATION, echoed_token
from erpsync.kubectl_plugin.client import ConnectionOptions, Kube, PluginError, UsageProblem, one_line
from erpsync.kubectl_plugin.status import ago, condition, condition_text, next_run, schedule_status, status_rows
from erpsync.planning.cronjobs import LABEL_SCHEDULE, LABEL_SYNC, LABEL_TRIGGER
from erpsync.planning.names import label_value
from erpsync.text_table import TextTable

PROG_NAME: Final = "kubectl erpsync"
SCHEDULE_OBJECT: Final = "erpsyncschedule.erpsync.io"
POLL_SECONDS: Final = 0.25
F = TypeVar("F", bound=Callable[..., Any])


def connection_options(command: F) -> F:
    """--kubeconfig, --context and -n, accepted before and after the subcommand."""
    for option in reversed(
        (
            click.option(
                "--kubeconfig",
                metavar="PATH",
                help="The kubeconfig to use (default: $KUBECONFIG, else ~/.kube/config).",
            ),
            click.option("--context", metavar="NAME", help="The kubeconfig context to use (default: the current one)."),
            click.option(
                "-n", "--namespace", metavar="NAMESPACE", help="The namespace (default: the context's namespace)."
            ),
        )
    ):
        command = option(command)
    return command


def _connect(kubeconfig: str | None, context: str | None, namespace: str | None) -> Kube:
    given = click.get_current_context().find_object(ConnectionOptions) or ConnectionOptions()
    return Kube(given.merged(ConnectionOptions(kubeconfig, context, namespace)))


def _sync_names(_: click.Context, __: click.Parameter, values: tuple[str, ...]) -> tuple[SyncName, ...]:
    """--sync, repeatable or comma-separated, checked against the four syncs."""
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in SYNC_NAMES]
    if unknown:
        quoted = ", ".join(f'"{name}"' for name in unknown)
        raise UsageProblem(f"unknown sync {quoted}; the syncs are: {', '.join(SYNC_NAMES)}")
    return tuple(sync for sync in SYNC_NAMES if sync in names)


sync_option = click.option(
    "--sync",
    "syncs",
    multiple=True,
    callback=_sync_names,
    metavar="SYNC",
    help=f"Only this sync ({', '.join(SYNC_NAMES)}); repeatable.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kubectl-erpsync")
@connection_options
@click.pass_context
def cli(ctx: click.Context, kubeconfig: str | None, context: str | None, namespace: str | None) -> None:
    """ErpSyncSchedules from kubectl: status, sync now, suspend and resume; plan without a cluster."""
    ctx.obj = ConnectionOptions(kubeconfig, context, namespace)


def _print(*tables: TextTable) -> None:
    """Tables as plain text, a blank line between two."""
    click.echo("\n\n".join(table.render() for table in tables))


@cli.command()
@click.argument("name", required=False)
@connection_options
@click.option("-A", "--all-namespaces", is_flag=True, help="Schedules of every namespace.")
@click.option("-o", "--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
def status(
    name: str | None,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    all_namespaces: bool,
    output: str,
) -> None:
    """One row per sync of each schedule: frequency, schedule, last run and its result, next run; and Ready/Healthy."""
    if name and all_namespaces:
        raise UsageProblem("a NAME cannot be combined with --all-namespaces")
    with _connect(kubeconfig, context, namespace) as kube:
        if name:
            bodies = [kube.schedule(name, kube.namespace)]
        else:
            bodies = kube.schedules(None if all_namespaces else kube.namespace)
        where = "any namespace" if all_namespaces else f'namespace "{kube.namespace}"'
        now = kube.clock.now()
    rows = [row for body in bodies for row in status_rows(body)]
    if output == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    if not bodies:
        click.echo(f"No ErpSyncSchedules found in {where}.", err=True)
        return
    _print_status(bodies, rows, all_namespaces, now)


def _print_status(
    bodies: list[dict[str, Any]], rows: list[dict[str, Any]], all_namespaces: bool, now: datetime
) -> None:
    first = ["NAMESPACE"] if all_namespaces else []
    syncs = TextTable(
        [
            *first,
            "SCHEDULE",
            "SYNC",
            "FREQUENCY",
            "CRON SCHEDULE",
            "TIMEZONE",
            "SUSPENDED",
            "LAST RUN",
            "TRIGGER",
            "RESULT",
            "WHEN",
            "NEXT RUN",
        ]
    )
    for row in rows:
        run = row["lastRun"] or {}
        syncs.add_row(
            *([row["namespace"]] if all_namespaces else []),
            row["schedule"],
            row["sync"] or "-",
            row["frequency"] or "-",
            row["cronSchedule"] or "-",
            row["timeZone"] or "-",
            "true" if row["suspended"] else "false",
            run.get("job") or "-",
            run.get("trigger") or "-",
            run.get("result") or "-",
            ago(run.get("completionTime") or run.get("startTime"), now),
            next_run(row["nextRunTime"], row["timeZone"], now),
        )
    health = TextTable([*first, "SCHEDULE", "READY", "HEALTHY", "MESSAGE"])
    for body in bodies:
        ready, healthy = condition(body, READY), condition(body, HEALTHY)
        messages = [str((ready or {}).get("message") or "")] if ready else ["not handled by the operator yet"]
        if healthy and healthy.get("status") != "True" and healthy.get("message"):
            messages.append(str(healthy["message"]))
        health.add_row(
            *([body["metadata"].get("namespace", "")] if all_namespaces else []),
            body["metadata"]["name"],
            condition_text(ready),
            condition_text(healthy),
            "; ".join(message for message in messages if message) or "-",
        )
    _print(syncs, health)


def _new_token() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


@cli.command("sync-now")
@click.argument("name")
@connection_options
@sync_option
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    help="Seconds to wait for the operator to start the Jobs.",
)
@click.option("--no-wait", is_flag=True, help="Set the annotation and return.")
def sync_now(
    name: str,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    syncs: tuple[SyncName, ...],
    timeout: float,
    no_wait: bool,
) -> None:
    """Run the schedule's syncs once, now (every sync not Never, or those given with --sync); print the Jobs."""
    token = _new_token()
    with _connect(kubeconfig, context, namespace) as kube:
        where = f"{kube.namespace}/{name}"
        annotations = {SYNC_NOW_ANNOTATION: token, SYNC_NOW_SYNCS_ANNOTATION: ",".join(syncs) if syncs else None}
        kube.patch_schedule(name, kube.namespace, {"metadata": {"annotations": annotations}})
        chosen = f" ({', '.join(syncs)})" if syncs else ""
        click.echo(f"sync now {token} requested on {where}{chosen}")
        if no_wait:
            return
        _wait_handled(kube, name, token, timeout)
        jobs = _started_jobs(kube, name, token)
        refusals = _refusals(kube, name, token)
    if jobs:
        table = TextTable(["JOB", "SYNC", "CREATED"])
        for job in jobs:
            metadata = job["metadata"]
            table.add_row(
                metadata["name"],
                metadata.get("labels", {}).get(LABEL_SYNC, "-"),
                metadata.get("creationTimestamp", "-"),
            )
        _print(table)
    started = {job["metadata"].get("labels", {}).get(LABEL_SYNC) for job in jobs}
    if refusals:
        raise PluginError(f"the operator refused: {'; '.join(refusals)}")
    missing = [sync for sync in syncs if sync not in started]
    if missing:
        unreadable = " (its SyncNowRefused Events are not readable with these credentials)" if refusals is None else ""
        raise PluginError(f"the operator started no Job for {', '.join(missing)}{unreadable}")
    if not jobs:
        raise PluginError(f"the operator started no Job for {where}: every sync is Never; choose syncs with --sync")


def _wait_handled(kube: Kube, name: str, token: str, timeout: float) -> None:
    """Until the operator echoes `token` in status.lastHandledSyncNow; the Jobs are created before that."""
    deadline = time.monotonic() + timeout
    while True:
        body = kube.schedule(name, kube.namespace)
        if schedule_status(body).last_handled_sync_now == echoed_token(token):  # a long token is echoed shortened
            return
        current = (body["metadata"].get("annotations") or {}).get(SYNC_NOW_ANNOTATION)
        if current != token:
            raise PluginError(f"another sync now ({current}) replaced {token} before the operator handled it")
        if time.monotonic() >= deadline:
            stalled = condition(body, STALLED)
            why = (
                f"the schedule is Stalled ({stalled['message']}); sync now waits for a valid spec"
                if stalled and stalled["status"] == "True"
                else f"is the operator running and watching namespace {kube.namespace}?"
            )
            raise PluginError(
                f"timed out after {timeout:g}s waiting for the operator to handle sync now {token} on "
                f"{kube.namespace}/{name}: {why}"
            )
        time.sleep(POLL_SECONDS)


def _started_jobs(kube: Kube, name: str, token: str) -> list[dict[str, Any]]:
    selector = f"{LABEL_SCHEDULE}={label_value(name)},{LABEL_TRIGGER}=OnDemand"
    jobs = [
        job
        for job in kube.list(JOBS, kube.namespace, labelSelector=selector)
        if (job["metadata"].get("annotations") or {}).get(SYNC_NOW_ANNOTATION) == token[:253]
    ]
    order = {sync: index for index, sync in enumerate(SYNC_NAMES)}
    return sorted(jobs, key=lambda job: order.get(job["metadata"].get("labels", {}).get(LABEL_SYNC, ""), 99))


def _refusals(kube: Kube, name: str, token: str) -> list[str] | None:
    """The messages of the operator's SyncNowRefused Events for `token` (the Event's own `erpsync.io/sync-now`
    annotation); None when Events cannot be read."""
    try:
        events = kube.list(
            EVENTS, kube.namespace, fieldSelector=f"involvedObject.name={name},reason={SYNC_NOW_REFUSED}"
        )
    except ApiError:
        return None
    return [
        str(event.get("message"))
        for event in events
        if (event.get("involvedObject") or {}).get("kind") == KIND
        and (event["metadata"].get("annotations") or {}).get(SYNC_NOW_ANNOTATION) == token
    ]


def _set_suspend(
    suspend: bool,
    name: str,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    syncs: tuple[SyncName, ...],
) -> None:
    if syncs:
        patch: dict[str, Any] = {"spec": {"syncs": {sync: {"suspend": suspend} for sync in syncs}}}
    else:
        patch = {"spec": {"suspend": suspend}}
    with _connect(kubeconfig, context, namespace) as kube:
        body = kube.patch_schedule(name, kube.namespace, patch)
    verb = "suspended" if suspend else "resumed"
    click.echo(f"{SCHEDULE_OBJECT}/{name} {verb}" + (f": {', '.join(syncs)}" if syncs else ""))
    spec = body.get("spec") or {}
    if not suspend and syncs and spec.get("suspend"):
        click.echo(f"note: the schedule itself is still suspended (kubectl erpsync resume {name})", err=True)
    if not suspend and not syncs:
        still = [sync for sync in SYNC_NAMES if ((spec.get("syncs") or {}).get(sync) or {}).get("suspend")]
        if still:
            click.echo(
                f"note: still suspended on their own: {', '.join(still)} (kubectl erpsync resume {name} --sync ...)",
                err=True,
            )


@cli.command()
@click.argument("name")
@connection_options
@sync_option
def suspend(
    name: str, kubeconfig: str | None, context: str | None, namespace: str | None, syncs: tuple[SyncName, ...]
) -> None:
    """Suspend the schedule (spec.suspend), or only the syncs given with --sync; the CronJobs stay."""
    _set_suspend(True, name, kubeconfig, context, namespace, syncs)


@cli.command()
@click.argument("name")
@connection_options
@sync_option
def resume(
    name: str, kubeconfig: str | None, context: str | None, namespace: str | None, syncs: tuple[SyncName, ...]
) -> None:
    """Resume the schedule, or only the syncs given with --sync."""
    _set_suspend(False, name, kubeconfig, context, namespace, syncs)


# `erp-sync plan`, the very same command: no cluster needed.
cli.add_command(plan)


def main() -> None:
    """The console script: kubectl-style one-line errors, never a traceback."""
    try:
        cli.main(prog_name=PROG_NAME)
    except ApiError as error:  # an error status the command did not word itself: the server's message
        click.echo(f"error: {one_line(error.message)}", err=True)
        sys.exit(1)
    except Exception as error:  # the last resort; expected failures are PluginErrors, shown by click
        click.echo(f"error: {type(error).__name__}: {one_line(error)}", err=True)
        sys.exit(1)
