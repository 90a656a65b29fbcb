"""`kubectl erpsync status`: one row per sync of each schedule, and each schedule's Ready and Healthy.

A status speaks for the generation in status.observedGeneration. While the spec is at a later one (the
operator has not handled an edit yet, or is not running) the schedule reads as stale everywhere: READY says
which generation is not yet seen, the sync rows say which generation they are of, `-o json|yaml` carry
`generation`, `observedGeneration` and `stale`, and a warning goes to stderr. The exit code stays 0, as
`kubectl get`'s does: the command read what it was asked for. To wait for a schedule, `kubectl wait
--for=condition=Ready` checks the generation too.
"""

import json
import sys
from datetime import datetime
from typing import Any, Final, NoReturn

import click
import yaml

from erpsync.api.conditions import HEALTHY, RECONCILING, STALLED
from erpsync.controller.kubeapi import ApiError
from erpsync.kubectl_plugin.client import Kube, PluginError, UsageProblem
from erpsync.kubectl_plugin.options import connect, connection_options, print_tables
from erpsync.kubectl_plugin.status import (
    ago,
    condition,
    condition_text,
    freshness,
    health_message,
    next_run,
    ready_text,
    status_rows,
)
from erpsync.text_table import TextTable

OUTPUTS: Final = ("table", "wide", "json", "yaml")
# One watch request lasts this long at most; the next goes on from the last version seen.
WATCH_SECONDS: Final = 300
# A process ended by Ctrl-C exits 128 + SIGINT, as shells report it.
INTERRUPTED: Final = 130


@click.command()
@click.argument("name", required=False)
@connection_options
@click.option("-A", "--all-namespaces", is_flag=True, help="Schedules of every namespace.")
@click.option(
    "-o",
    "--output",
    type=click.Choice(OUTPUTS),
    default="table",
    show_default=True,
    help="wide adds each sync's CronJob and last success, and each schedule's generations and conditions.",
)
@click.option(
    "-w", "--watch", is_flag=True, help="After the listing, print a schedule again each time it changes (Ctrl-C ends)."
)
def status(
    name: str | None,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    all_namespaces: bool,
    output: str,
    watch: bool,
) -> None:
    """One row per sync of each schedule: frequency, schedule, last run and its result, next run; and Ready/Healthy.

    A schedule whose spec the operator has not handled yet (status.observedGeneration behind
    metadata.generation) reads as stale. The exit code is 0 whatever the schedules' state, as kubectl get's."""
    if name and all_namespaces:
        raise UsageProblem("a NAME cannot be combined with --all-namespaces")
    with connect(kubeconfig, context, namespace) as kube:
        where = "any namespace" if all_namespaces else f'namespace "{kube.namespace}"'
        if watch:
            try:
                _watch(kube, name, all_namespaces, output, where)
            except KeyboardInterrupt:
                sys.exit(INTERRUPTED)
        if name:
            bodies = [kube.schedule(name, kube.namespace)]
        else:
            bodies = kube.schedules(None if all_namespaces else kube.namespace)
        now = kube.clock.now()
    if not bodies and output not in ("json", "yaml"):
        click.echo(f"No ErpSyncSchedules found in {where}.", err=True)
        return
    _print(bodies, output, all_namespaces, now)
    if output in ("table", "wide"):
        _warn_stale(bodies)


def _print(bodies: list[dict[str, Any]], output: str, all_namespaces: bool, now: datetime) -> None:
    rows = [row for body in bodies for row in status_rows(body)]
    if output == "json":
        click.echo(json.dumps(rows, indent=2))
    elif output == "yaml":
        click.echo(yaml.safe_dump(rows, sort_keys=False), nl=False)
    else:
        print_tables(*_tables(bodies, rows, all_namespaces, output == "wide", now))


def _warn_stale(bodies: list[dict[str, Any]]) -> None:
    for body in bodies:
        fresh = freshness(body)
        if fresh.stale:
            metadata = body["metadata"]
            click.echo(f"warning: {metadata.get('namespace')}/{metadata['name']}: {fresh.lag()}", err=True)


def _tables(
    bodies: list[dict[str, Any]], rows: list[dict[str, Any]], all_namespaces: bool, wide: bool, now: datetime
) -> tuple[TextTable, TextTable]:
    first = ["NAMESPACE"] if all_namespaces else []
    # Which generation the rows are of: in wide output, or whenever a row is of another than the spec's.
    as_of = wide or any(row["stale"] for row in rows)
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
            *(["CRONJOB", "LAST SUCCESS"] if wide else []),
            *(["AS OF GENERATION"] if as_of else []),
        ]
    )
    by_schedule = {(body["metadata"].get("namespace"), body["metadata"]["name"]): body for body in bodies}
    for row in rows:
        run = row["lastRun"] or {}
        fresh = freshness(by_schedule[(row["namespace"], row["schedule"])])
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
            *([row["cronJob"] or "-", ago(row["lastSuccessfulTime"], now)] if wide else []),
            *([fresh.as_of()] if as_of else []),
        )
    health = TextTable(
        [
            *first,
            "SCHEDULE",
            "READY",
            "HEALTHY",
            *(["GENERATION", "OBSERVED", "RECONCILING", "STALLED"] if wide else []),
            "MESSAGE",
        ]
    )
    for body in bodies:
        fresh = freshness(body)
        extra = [
            "-" if fresh.generation is None else str(fresh.generation),
            "-" if fresh.observed_generation is None else str(fresh.observed_generation),
            condition_text(condition(body, RECONCILING)),
            condition_text(condition(body, STALLED)),
        ]
        health.add_row(
            *([body["metadata"].get("namespace", "")] if all_namespaces else []),
            body["metadata"]["name"],
            ready_text(body),
            condition_text(condition(body, HEALTHY)),
            *(extra if wide else []),
            health_message(body),
        )
    return syncs, health


def _watch(kube: Kube, name: str | None, all_namespaces: bool, output: str, where: str) -> NoReturn:
    """The listing, then each schedule again whenever the API's watch shows it changed, until Ctrl-C. Each watch
    request is bounded (WATCH_SECONDS); a version too old to go on from (410 Gone) lists again."""
    namespace = None if all_namespaces else kube.namespace
    if name:
        kube.schedule(name, kube.namespace)  # a missing one is an error, worded as without --watch
    bodies, version = kube.listed_schedules(namespace, name)
    if not bodies and output not in ("json", "yaml"):
        click.echo(f"No ErpSyncSchedules found in {where}; watching.", err=True)
    shown: dict[tuple[str, str], str] = {}

    def show(body: dict[str, Any]) -> None:
        key, seen = _key(body), _fingerprint(body)
        if shown.get(key) == seen:
            return  # a write that changes nothing shown (a resourceVersion, kopf's records)
        if shown and output in ("table", "wide"):
            click.echo()
        shown[key] = seen
        if output == "yaml":
            click.echo("---")
        _print([body], output, all_namespaces, kube.clock.now())

    for body in bodies:
        show(body)
    while True:
        try:
            for event in kube.watch_schedules(namespace, name, version, WATCH_SECONDS):
                body = event["object"]
                version = str(body.get("metadata", {}).get("resourceVersion") or version)
                if event.get("type") == "DELETED":
                    shown.pop(_key(body), None)
                    click.echo(f"{'/'.join(_key(body))} deleted", err=output in ("json", "yaml"))
                elif event.get("type") in ("ADDED", "MODIFIED"):
                    show(body)
        except ApiError as error:
            if error.status != 410:
                raise PluginError(error.message) from None
            bodies, version = kube.listed_schedules(namespace, name)
            for body in bodies:
                show(body)


def _key(body: dict[str, Any]) -> tuple[str, str]:
    metadata = body.get("metadata") or {}
    return str(metadata.get("namespace") or ""), str(metadata.get("name") or "")


def _fingerprint(body: dict[str, Any]) -> str:
    return json.dumps(
        [body.get("metadata", {}).get("generation"), body.get("spec"), body.get("status")], sort_keys=True
    )
