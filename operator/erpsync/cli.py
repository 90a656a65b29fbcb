"""The `erp-sync` command: validate, plan and render ErpSyncSchedules without a cluster; print the CRD.

The operator (`erp-sync operator`) arrives with issue [2/4]; it uses the same planner.
"""

import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from erpsync import __version__
from erpsync.api.crd import render_crd
from erpsync.api.manifests import ManifestError, dump_documents, read_manifests
from erpsync.api.validation import Validated, is_schedule, validate_object
from erpsync.planning.cron import next_runs
from erpsync.planning.plan import DEFAULT_WORKER_IMAGE, SchedulePlan, plan_schedule

NEXT_RUN_COUNT = 3

files_option = click.option(
    "-f",
    "--filename",
    "filenames",
    multiple=True,
    required=True,
    type=click.Path(path_type=Path),
    help="A file or a directory of YAML files with ErpSyncSchedules; repeatable; '-' reads stdin.",
)


@dataclass(frozen=True)
class _Checked:
    source: str
    validated: Validated


def _read(filenames: Iterable[Path]) -> tuple[list[_Checked], bool]:
    """Every ErpSyncSchedule of the files, validated; prints each problem; True when all are valid."""
    try:
        documents = read_manifests(list(filenames))
    except ManifestError as error:
        click.echo(str(error), err=True)
        sys.exit(1)
    checked = [_Checked(doc.source, validate_object(doc.body)) for doc in documents if is_schedule(doc.body)]
    if not checked:
        click.echo("warning: no ErpSyncSchedule found in the given files", err=True)
    all_valid = True
    for item in checked:
        for problem in item.validated.problems:
            all_valid = False
            click.echo(f"{item.source}: {item.validated.namespace}/{item.validated.name}: {problem}", err=True)
    return checked, all_valid


def _plans(filenames: Iterable[Path], worker_image: str) -> list[SchedulePlan]:
    checked, all_valid = _read(filenames)
    if not all_valid:
        sys.exit(1)
    return [
        plan_schedule(item.validated.schedule, worker_image) for item in checked if item.validated.schedule is not None
    ]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="erp-sync")
def main() -> None:
    """Declarative ERP -> Procore sync schedules for Kubernetes."""


@main.command()
@files_option
def validate(filenames: tuple[Path, ...]) -> None:
    """Check ErpSyncSchedules; exit 1 with one line per problem when any is invalid."""
    checked, all_valid = _read(filenames)
    if not all_valid:
        sys.exit(1)
    click.echo(f"{len(checked)} ErpSyncSchedule(s) valid", err=True)


def _parse_now(_: click.Context, __: click.Parameter, value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time, such as 2026-03-08T06:00:00Z") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@main.command()
@files_option
@click.option("--now", callback=_parse_now, help="Compute next runs after this ISO 8601 time (default: now).")
@click.option("-o", "--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
def plan(filenames: tuple[Path, ...], now: datetime, output: str) -> None:
    """Show, per schedule and sync, the frequency, cron schedule, CronJob and next runs."""
    rows = [
        _plan_row(schedule_plan, planned_index, now)
        for schedule_plan in _plans(filenames, DEFAULT_WORKER_IMAGE)
        for planned_index in range(len(schedule_plan.syncs))
    ]
    if output == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    for column in ("NAMESPACE", "NAME", "SYNC", "FREQUENCY", "SCHEDULE", "TIMEZONE", "CRONJOB", "NEXT RUNS"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row["namespace"],
            row["name"],
            row["sync"],
            row["frequency"],
            row["schedule"] or "-",
            row["timeZone"],
            row["cronJob"] or "-",
            ", ".join(row["nextRuns"]) or "-",
        )
    Console(width=240).print(table)


def _plan_row(schedule_plan: SchedulePlan, index: int, now: datetime) -> dict[str, Any]:
    planned = schedule_plan.syncs[index]
    runs = next_runs(planned.schedule, planned.time_zone, now, NEXT_RUN_COUNT) if planned.schedule else []
    return {
        "namespace": schedule_plan.namespace,
        "name": schedule_plan.name,
        "sync": planned.sync,
        "frequency": planned.frequency,
        "schedule": planned.schedule,
        "timeZone": planned.time_zone,
        "cronJob": planned.cron_job_name,
        "nextRuns": [run.isoformat() for run in runs],
    }


@main.command()
@files_option
@click.option(
    "--worker-image",
    default=DEFAULT_WORKER_IMAGE,
    show_default=True,
    help="The worker image for schedules that do not name one (the operator's --worker-image).",
)
def render(filenames: tuple[Path, ...], worker_image: str) -> None:
    """Print the CronJobs the operator will create, as multi-document YAML (owner references aside)."""
    manifests = [cron_job for schedule_plan in _plans(filenames, worker_image) for cron_job in schedule_plan.cron_jobs]
    if manifests:
        click.echo(dump_documents(manifests), nl=False)


@main.command()
@click.option(
    "-n",
    "--namespace",
    "namespaces",
    multiple=True,
    help="Watch this namespace; repeatable (a glob such as 'erp-*' works too).",
)
@click.option("-A", "--all-namespaces", is_flag=True, help="Watch every namespace.")
@click.option(
    "--worker-image",
    default=DEFAULT_WORKER_IMAGE,
    show_default=True,
    help="Worker image for schedules that do not name one.",
)
@click.option(
    "--liveness",
    default="http://0.0.0.0:8080/healthz",
    show_default=True,
    help="Liveness endpoint URL; empty to disable.",
)
@click.option("--metrics-port", default=9090, show_default=True, type=int, help="Prometheus metrics port; 0 disables.")
@click.option("--log-format", type=click.Choice(["json", "text"]), default="json", show_default=True)
@click.option(
    "--resync-interval",
    default=300.0,
    show_default=True,
    type=float,
    help="Seconds between two level-based passes over every schedule.",
)
@click.option("--standalone", is_flag=True, help="Run without peering (one operator for these namespaces).")
@click.option("--peering", "peering_name", default=None, help="Join the kopf peering NAME (needs kopf's peering CRDs).")
@click.option("-v", "--verbose", is_flag=True)
def operator(
    namespaces: tuple[str, ...],
    all_namespaces: bool,
    worker_image: str,
    liveness: str,
    metrics_port: int,
    log_format: str,
    resync_interval: float,
    standalone: bool,
    peering_name: str | None,
    verbose: bool,
) -> None:
    """Run the operator: reconcile ErpSyncSchedules into CronJobs (in a pod, or from a kubeconfig)."""
    from erpsync.controller.runner import run_operator

    if bool(namespaces) == all_namespaces:
        raise click.UsageError("give --namespace (repeatable) or --all-namespaces")
    if standalone and peering_name:
        raise click.UsageError("--standalone and --peering exclude each other")
    run_operator(
        namespaces=namespaces,
        worker_image=worker_image,
        liveness=liveness or None,
        metrics_port=metrics_port,
        json_logs=log_format == "json",
        resync_seconds=resync_interval,
        standalone=standalone or not peering_name,
        peering_name=peering_name,
        verbose=verbose,
    )


@main.command()
def crd() -> None:
    """Print the ErpSyncSchedule CustomResourceDefinition."""
    click.echo(render_crd(), nl=False)


if __name__ == "__main__":  # pragma: no cover
    main()
