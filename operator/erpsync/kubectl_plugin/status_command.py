"""`kubectl erpsync status`: one row per sync of each schedule, and each schedule's Ready and Healthy."""

import json
from datetime import datetime
from typing import Any

import click

from erpsync.api.conditions import HEALTHY, READY
from erpsync.kubectl_plugin.client import UsageProblem
from erpsync.kubectl_plugin.options import connect, connection_options, print_tables
from erpsync.kubectl_plugin.status import ago, condition, condition_text, next_run, status_rows
from erpsync.text_table import TextTable


@click.command()
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
    with connect(kubeconfig, context, namespace) as kube:
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
    print_tables(syncs, health)
