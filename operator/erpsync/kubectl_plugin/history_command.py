"""`kubectl erpsync history`: a schedule's last runs per sync, and how many finished by result since its creation.

Read from the schedule's status only (`status.syncs.<sync>.history` and `.runs`, kept by the operator), so
it shows runs whose Jobs the CronJob's history limits have deleted since.
"""

import json
from datetime import datetime, timedelta
from typing import Any

import click

from erpsync.api.models import RunTotals
from erpsync.api.vocabulary import SYNC_NAMES, SyncName
from erpsync.kubectl_plugin.options import connect, connection_options, print_tables, sync_option
from erpsync.kubectl_plugin.status import ago, human_duration, schedule_status
from erpsync.text_table import TextTable


@click.command()
@click.argument("name")
@connection_options
@sync_option
@click.option("-o", "--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
def history(
    name: str,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    syncs: tuple[SyncName, ...],
    output: str,
) -> None:
    """The last runs of each sync of schedule NAME (newest first), and its runs since creation by result."""
    with connect(kubeconfig, context, namespace) as kube:
        body = kube.schedule(name, kube.namespace)
        now = kube.clock.now()
    rows = history_rows(body, syncs)
    if output == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo(f"No syncs reported for {body['metadata'].get('namespace')}/{name} yet.", err=True)
        return
    _print_history(rows, now)


def history_rows(body: dict[str, Any], only: tuple[SyncName, ...] = ()) -> list[dict[str, Any]]:
    """One row per sync in the schedule's status (or only those of `only`): its history and its counters."""
    metadata = body["metadata"]
    status = schedule_status(body)
    rows = []
    for sync in SYNC_NAMES:
        entry = status.syncs.get(sync) if status.syncs else None
        if entry is None or (only and sync not in only):
            continue
        rows.append(
            {
                "namespace": metadata.get("namespace"),
                "schedule": metadata["name"],
                "sync": sync,
                "runs": (entry.runs or RunTotals()).as_json(),
                "history": [run.as_json() for run in entry.history or []],
            }
        )
    return rows


def _print_history(rows: list[dict[str, Any]], now: datetime) -> None:
    runs = TextTable(
        [
            "SYNC",
            "JOB",
            "TRIGGER",
            "RESULT",
            "STARTED",
            "DURATION",
            "READ",
            "CREATED",
            "UPDATED",
            "FAILED",
            "MESSAGE",
        ]
    )
    for row in rows:
        for run in row["history"]:
            counts = run.get("counts") or {}
            duration = run.get("durationSeconds")
            runs.add_row(
                row["sync"],
                run["jobName"],
                run["trigger"],
                run["result"],
                ago(run.get("startTime"), now),
                "-" if duration is None else human_duration(timedelta(seconds=duration)),
                *(str(counts[key]) if key in counts else "-" for key in ("read", "created", "updated", "failed")),
                " ".join(str(run.get("message") or "-").split()),  # one line per run, whatever the message holds
            )
    totals = TextTable(["SYNC", "SUCCEEDED", "PARTIALLY FAILED", "FAILED"])
    for row in rows:
        counters = row["runs"]
        totals.add_row(
            row["sync"], str(counters["succeeded"]), str(counters["partiallyFailed"]), str(counters["failed"])
        )
    if any(row["history"] for row in rows):
        print_tables(runs, totals)
    else:
        click.echo("No runs recorded yet.", err=True)
        print_tables(totals)
