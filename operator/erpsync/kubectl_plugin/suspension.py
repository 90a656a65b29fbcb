"""`kubectl erpsync suspend` and `resume`: a whole schedule, or some of its syncs."""

from typing import Any

import click

from erpsync.api.vocabulary import SYNC_NAMES, SyncName
from erpsync.kubectl_plugin.options import SCHEDULE_OBJECT, connect, connection_options, sync_option


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
    with connect(kubeconfig, context, namespace) as kube:
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


@click.command()
@click.argument("name")
@connection_options
@sync_option
def suspend(
    name: str, kubeconfig: str | None, context: str | None, namespace: str | None, syncs: tuple[SyncName, ...]
) -> None:
    """Suspend the schedule (spec.suspend), or only the syncs given with --sync; the CronJobs stay."""
    _set_suspend(True, name, kubeconfig, context, namespace, syncs)


@click.command()
@click.argument("name")
@connection_options
@sync_option
def resume(
    name: str, kubeconfig: str | None, context: str | None, namespace: str | None, syncs: tuple[SyncName, ...]
) -> None:
    """Resume the schedule, or only the syncs given with --sync."""
    _set_suspend(False, name, kubeconfig, context, namespace, syncs)
