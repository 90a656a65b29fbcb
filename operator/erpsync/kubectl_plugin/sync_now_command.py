"""`kubectl erpsync sync-now`: ask the operator to run syncs now (the erpsync.io/sync-now annotation), and wait
for the Jobs it starts."""

import secrets
import time
from datetime import UTC, datetime
from typing import Any, Final

import click

from erpsync.api.conditions import STALLED, SYNC_NOW_REFUSED
from erpsync.api.vocabulary import KIND, SYNC_NAMES, SyncName
from erpsync.controller.kubeapi import EVENTS, JOBS, ApiError
from erpsync.controller.sync_now import SYNC_NOW_ANNOTATION, SYNC_NOW_SYNCS_ANNOTATION, echoed_token
from erpsync.kubectl_plugin.client import Kube, PluginError
from erpsync.kubectl_plugin.options import connect, connection_options, print_tables, sync_option
from erpsync.kubectl_plugin.status import condition, schedule_status
from erpsync.planning.cronjobs import LABEL_SCHEDULE, LABEL_SYNC, LABEL_TRIGGER
from erpsync.planning.names import label_value
from erpsync.text_table import TextTable

POLL_SECONDS: Final = 0.25


def _new_token() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


@click.command("sync-now")
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
    with connect(kubeconfig, context, namespace) as kube:
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
        print_tables(table)
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
