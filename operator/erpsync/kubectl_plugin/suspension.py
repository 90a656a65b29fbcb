"""`kubectl erpsync suspend` and `resume`: an operational pause of schedules, or of some of their syncs.

The plugin never writes the spec: the spec is what Git declares, and `kubectl apply` (which keeps a field it
never set) or a GitOps tool (which reverts one it did) would make a pause outlive or undo the person who
asked for it. It writes the erpsync.io/suspend annotation, which no manifest holds; the operator suspends a
sync when spec.suspend, spec.syncs.<sync>.suspend or the annotation asks (docs/gitops.md, "Who owns suspend").
Then it waits, a bounded time, for the operator to carry the flag to the CronJobs: the schedule's
status.syncs.<sync>.suspended is the CronJob's own flag, so it tells what took effect, not what was asked.

Exit codes: 0 when what was asked is in effect (or was only requested, with --no-wait); 1 when it is not in
effect in time (the request stays: the operator applies it when it runs), when a sync is not the profile's,
or when resume meets a suspension the spec declares (it says so instead of pretending; the manifest in Git
is where that changes).
"""

import time
from dataclasses import dataclass
from typing import Any, Final

import click

from erpsync.api.conditions import STALLED
from erpsync.api.models import ErpSyncScheduleStatus
from erpsync.api.profiles import PROFILES
from erpsync.api.vocabulary import (
    SUSPEND_ANNOTATION,
    SYNC_NAMES,
    SyncName,
    read_suspend_annotation,
    suspend_annotation_value,
)
from erpsync.kubectl_plugin.client import Kube, PluginError
from erpsync.kubectl_plugin.options import SCHEDULE_OBJECT, connect, connection_options, sync_option
from erpsync.kubectl_plugin.status import condition, schedule_status

POLL_SECONDS: Final = 0.25
GIT_ADVICE: Final = "change the manifest in Git (or wherever it is applied from)"


@dataclass(frozen=True)
class SpecSuspension:
    """What a schedule's spec suspends: every sync (spec.suspend), and syncs by their own flag."""

    schedule: bool
    syncs: frozenset[SyncName]

    @classmethod
    def of(cls, body: dict[str, Any]) -> "SpecSuspension":
        spec = body.get("spec") or {}
        own = spec.get("syncs") or {}
        flagged = (sync for sync in SYNC_NAMES if isinstance(own.get(sync), dict) and own[sync].get("suspend") is True)
        return cls(spec.get("suspend") is True, frozenset(flagged))

    def fields(self, syncs: tuple[SyncName, ...]) -> list[str]:
        """The spec fields that keep any of `syncs` suspended."""
        named = [f"spec.syncs.{sync}.suspend" for sync in syncs if sync in self.syncs]
        return (["spec.suspend"] if self.schedule else []) + named

    def keeps(self, sync: SyncName) -> bool:
        return self.schedule or sync in self.syncs


def offered_syncs(body: dict[str, Any]) -> tuple[SyncName, ...] | None:
    """The syncs the schedule's ERP profile offers; None when its spec names no known ERP (the operator
    reports that spec as Stalled)."""
    erp = (body.get("spec") or {}).get("erp")
    profile = next((profile for known, profile in PROFILES.items() if known == erp), None)
    return None if profile is None else tuple(sync for sync in SYNC_NAMES if sync not in profile.unavailable)


def _annotated(body: dict[str, Any]) -> frozenset[SyncName]:
    syncs, _ = read_suspend_annotation((body["metadata"].get("annotations") or {}).get(SUSPEND_ANNOTATION))
    return syncs


def _write_annotation(kube: Kube, name: str, body: dict[str, Any], syncs: frozenset[SyncName]) -> None:
    """Sets erpsync.io/suspend to `syncs` (removes it for none); no write when it already says so."""
    value = suspend_annotation_value(syncs)
    if (body["metadata"].get("annotations") or {}).get(SUSPEND_ANNOTATION) == value:
        return
    kube.patch_schedule(name, kube.namespace, {"metadata": {"annotations": {SUSPEND_ANNOTATION: value}}})


def _not_in_effect(status: ErpSyncScheduleStatus, syncs: tuple[SyncName, ...], suspend: bool) -> list[str]:
    """The syncs of `syncs` whose CronJob's flag is not yet `suspend`, as "CronJob NAME still suspend: X"."""
    if status.syncs is None:
        return ["the operator has not handled this schedule yet"]
    waiting = []
    for sync in syncs:
        entry = status.syncs.get(sync)
        if entry is not None and entry.cron_job and entry.suspended != suspend:  # Never syncs have no CronJob
            waiting.append(f"CronJob {entry.cron_job} still suspend: {str(entry.suspended).lower()}")
    return waiting


def _wait_in_effect(
    kube: Kube, name: str, syncs: tuple[SyncName, ...], suspend: bool, timeout: float
) -> tuple[list[str], dict[str, Any]]:
    """Until status shows each CronJob of `syncs` with suspend == `suspend`, or `timeout` seconds passed:
    what is not in effect (empty when all is), and the schedule last read."""
    deadline = time.monotonic() + timeout
    while True:
        body = kube.schedule(name, kube.namespace)
        waiting = _not_in_effect(schedule_status(body), syncs, suspend)
        if not waiting or time.monotonic() >= deadline:
            return waiting, body
        time.sleep(POLL_SECONDS)


def _why_not_in_effect(body: dict[str, Any], namespace: str) -> str:
    stalled = condition(body, STALLED)
    if stalled and stalled["status"] == "True":
        return f"the schedule is Stalled ({stalled['message']}); the operator changes no CronJob until it is not"
    return f"is the operator running and watching namespace {namespace}?"


def _suspend_one(kube: Kube, name: str, syncs: tuple[SyncName, ...], timeout: float, wait: bool) -> None:
    body = kube.schedule(name, kube.namespace)
    offered = offered_syncs(body)
    refused = [sync for sync in syncs if offered is not None and sync not in offered]
    if refused and offered is not None:
        erp = body["spec"]["erp"]
        raise PluginError(
            f"{name}: {', '.join(refused)} not offered by {erp}; its syncs: {', '.join(offered)} (nothing changed)"
        )
    scope = syncs or SYNC_NAMES
    _write_annotation(kube, name, body, _annotated(body) | frozenset(scope))
    _report(kube, name, syncs, "suspended", suspend=True, timeout=timeout, wait=wait)


def _resume_one(kube: Kube, name: str, syncs: tuple[SyncName, ...], timeout: float, wait: bool) -> None:
    body = kube.schedule(name, kube.namespace)
    scope = syncs or SYNC_NAMES
    annotated = _annotated(body)
    spec = SpecSuspension.of(body)
    resumed = tuple(sync for sync in scope if sync in annotated and not spec.keeps(sync))
    kept = tuple(sync for sync in scope if spec.keeps(sync))
    _write_annotation(kube, name, body, annotated - frozenset(scope))
    if kept and (syncs or not resumed):
        # Named with --sync, or nothing runs again: only the manifest can resume it, and saying "resumed" would lie.
        done = f" (resumed: {', '.join(resumed)})" if resumed else ""
        raise PluginError(
            f"{name}: still suspended by its spec ({', '.join(spec.fields(kept))}: true), which the plugin does not "
            f"change; {GIT_ADVICE}{done}"
        )
    if kept:
        click.echo(
            f"note: {name}: still suspended by its spec ({', '.join(spec.fields(kept))}); {GIT_ADVICE}", err=True
        )
    in_scope = tuple(sync for sync in scope if not spec.keeps(sync))
    _report(kube, name, syncs, "resumed", suspend=False, timeout=timeout, wait=wait, syncs_to_check=in_scope)


def _report(
    kube: Kube,
    name: str,
    syncs: tuple[SyncName, ...],
    verb: str,
    *,
    suspend: bool,
    timeout: float,
    wait: bool,
    syncs_to_check: tuple[SyncName, ...] | None = None,
) -> None:
    """Prints what was asked, and whether it is in effect; raises when it is not in time."""
    line = f"{SCHEDULE_OBJECT}/{name} {verb}" + (f": {', '.join(syncs)}" if syncs else "")
    if not wait:
        click.echo(f"{line} (requested)")
        return
    checked = syncs_to_check if syncs_to_check is not None else (syncs or SYNC_NAMES)
    waiting, body = _wait_in_effect(kube, name, checked, suspend, timeout)
    if not waiting:
        click.echo(f"{line} (in effect)")
        return
    click.echo(f"{line} (requested; not yet in effect)")
    why = _why_not_in_effect(body, kube.namespace)
    raise PluginError(f"{name}: not yet in effect after {timeout:g}s: {'; '.join(waiting)}; {why}")


def _each(
    verb: str,
    names: tuple[str, ...],
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    syncs: tuple[SyncName, ...],
    timeout: float,
    no_wait: bool,
) -> None:
    """Runs `verb` on each schedule, as `kubectl delete A B` does: an error is told and the others go on."""
    failed = False
    handle = _suspend_one if verb == "suspend" else _resume_one
    with connect(kubeconfig, context, namespace) as kube:
        for name in dict.fromkeys(names):
            try:
                handle(kube, name, syncs, timeout, not no_wait)
            except PluginError as error:
                error.show()
                failed = True
    if failed:
        raise click.exceptions.Exit(1)


def _wait_options(command: Any) -> Any:
    command = click.option("--no-wait", is_flag=True, help="Write the request and return.")(command)
    return click.option(
        "--timeout",
        type=click.FloatRange(min=0),
        default=10.0,
        show_default=True,
        help="Seconds to wait for the operator to apply it to the CronJobs.",
    )(command)


@click.command()
@click.argument("names", metavar="NAME...", nargs=-1, required=True)
@connection_options
@sync_option
@_wait_options
def suspend(
    names: tuple[str, ...],
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    syncs: tuple[SyncName, ...],
    timeout: float,
    no_wait: bool,
) -> None:
    """Suspend schedules, or only the syncs given with --sync: the erpsync.io/suspend annotation, never the
    spec, so a GitOps apply keeps the pause. Waits until the CronJobs are suspended."""
    _each("suspend", names, kubeconfig, context, namespace, syncs, timeout, no_wait)


@click.command()
@click.argument("names", metavar="NAME...", nargs=-1, required=True)
@connection_options
@sync_option
@_wait_options
def resume(
    names: tuple[str, ...],
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    syncs: tuple[SyncName, ...],
    timeout: float,
    no_wait: bool,
) -> None:
    """Resume what `suspend` suspended (every sync, or those given with --sync). A suspension the spec declares
    is refused with the field to change in Git."""
    _each("resume", names, kubeconfig, context, namespace, syncs, timeout, no_wait)
