"""The `erp-sync` command: validate, plan and render ErpSyncSchedules without a cluster; print the CRD.

The operator (`erp-sync operator`, controller/runner.py) uses the same planner.
"""

import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import click

from erpsync import __version__
from erpsync.api.crd import render_crd
from erpsync.api.manifests import dump_documents, read_files
from erpsync.api.models import DEFAULT_RUN_HISTORY, RUN_HISTORY_MAX, ResourceRequirements
from erpsync.api.validation import Validated, is_schedule, validate_object, validate_resources
from erpsync.controller.queue import DEFAULT_WORKERS
from erpsync.controller.rate_limit import DEFAULT_BURST, DEFAULT_QPS
from erpsync.planning.cron import next_runs
from erpsync.planning.cronjobs import (
    BUILT_IN_WORKER_DEFAULTS,
    DEFAULT_WORKER_IMAGE,
    DEFAULT_WORKER_RESOURCES,
    WorkerDefaults,
)
from erpsync.planning.plan import SchedulePlan, plan_schedule
from erpsync.text_table import TextTable

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
recursive_option = click.option(
    "-R",
    "--recursive",
    is_flag=True,
    help="Read the directories given with -f and all their subdirectories, as kubectl -R does.",
)
allow_empty_option = click.option(
    "--allow-empty",
    is_flag=True,
    help="Exit 0 when the files hold no ErpSyncSchedule (by default an error: a CI gate that checked nothing).",
)
# The oldest and the latest --now: croniter counts in seconds since 1970, and the next runs after
# a time late in year 9999 do not exist (datetime stops there).
EARLIEST_NOW: Final = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_NOW: Final = datetime(9998, 12, 31, 23, 59, 59, tzinfo=UTC)
# A container image reference, as the container runtimes read it (distribution/reference's grammar).
_IMAGE_COMPONENT: Final = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE_DOMAIN: Final = (
    r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?"
)
IMAGE_REFERENCE: Final = re.compile(
    rf"(?:{_IMAGE_DOMAIN}/)?{_IMAGE_COMPONENT}(?:/{_IMAGE_COMPONENT})*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?"
)
MAX_IMAGE_LENGTH: Final = 512
# --worker-resources takes JSON (one line in a Deployment's args; the chart writes it with toJson).
DEFAULT_RESOURCES_JSON: Final = json.dumps(
    {"requests": DEFAULT_WORKER_RESOURCES.requests, "limits": DEFAULT_WORKER_RESOURCES.limits}
)


@dataclass(frozen=True)
class _Checked:
    source: str
    index: int
    validated: Validated


def _read(filenames: Iterable[Path], recursive: bool) -> tuple[list[_Checked], bool]:
    """Every ErpSyncSchedule of the files, validated; prints each problem (of every file: one that
    cannot be read does not hide the others'); True when all files are readable and all schedules valid."""
    all_valid = True
    checked: list[_Checked] = []
    first_seen: dict[tuple[str, str], _Checked] = {}
    for manifest in read_files(list(filenames), recursive):
        for error in manifest.errors:
            all_valid = False
            click.echo(error, err=True)
        for doc in manifest.documents:
            if not is_schedule(doc.body):
                continue
            item = _Checked(doc.source, doc.index, validate_object(doc.body))
            checked.append(item)
            for problem in item.validated.problems:
                all_valid = False
                click.echo(f"{item.source}: {item.validated.namespace}/{item.validated.name}: {problem}", err=True)
            identity = (item.validated.namespace, item.validated.name)
            if item.validated.name == "(unnamed)":
                continue
            if identity in first_seen:
                all_valid = False
                first = first_seen[identity]
                click.echo(
                    f"{item.source}: {identity[0]}/{identity[1]}: metadata.name: {identity[1]} in namespace "
                    f"{identity[0]} is also defined in {first.source} (document {first.index + 1}); "
                    "allowed: one ErpSyncSchedule per namespace and name",
                    err=True,
                )
            else:
                first_seen[identity] = item
    return checked, all_valid


def _read_valid(filenames: Iterable[Path], recursive: bool, allow_empty: bool) -> list[_Checked]:
    """`_read`, exiting 1 when any file or schedule has a problem, or when there is no schedule at
    all unless `allow_empty` (validate, plan and render are CI gates: none passes having read nothing)."""
    checked, all_valid = _read(filenames, recursive)
    if not all_valid:
        sys.exit(1)
    if not checked and not allow_empty:
        click.echo("error: no ErpSyncSchedule found in the given files; give --allow-empty to accept that", err=True)
        sys.exit(1)
    return checked


def _plans(
    filenames: Iterable[Path], recursive: bool, allow_empty: bool, defaults: WorkerDefaults
) -> list[SchedulePlan]:
    checked = _read_valid(filenames, recursive, allow_empty)
    return [plan_schedule(item.validated.schedule, defaults) for item in checked if item.validated.schedule is not None]


def _check_image(_: click.Context, __: click.Parameter, value: str) -> str:
    if len(value) > MAX_IMAGE_LENGTH or not IMAGE_REFERENCE.fullmatch(value):
        raise click.BadParameter(
            f"{_shown(value)} is not a container image reference; allowed: at most {MAX_IMAGE_LENGTH} characters "
            "such as registry.example.com/team/worker:1.2 (lowercase repository, optional :tag and @sha256:digest)"
        )
    return value


def _check_resources(_: click.Context, __: click.Parameter, value: str) -> ResourceRequirements:
    try:
        parsed = json.loads(value)
    except ValueError as error:
        problem = f"not JSON: {error}"
    except RecursionError:
        problem = "not JSON: nested too deeply"
    else:
        resources, problems = validate_resources(parsed)
        if resources is not None:
            return resources
        problem = "; ".join(str(found) if found.field else found.message for found in problems)
    raise click.BadParameter(
        f"{_shown(value)} is refused: {problem}; allowed: a JSON object with the fields of spec.worker.resources, "
        f"limits and requests, each a map of at most 16 Kubernetes quantities, such as {DEFAULT_RESOURCES_JSON}"
    )


def _shown(value: str) -> str:
    """A flag's value in an error: quoted, control characters escaped, cut at 100 characters."""
    return repr(value if len(value) <= 100 else value[:100] + "...")


worker_image_option = click.option(
    "--worker-image",
    default=DEFAULT_WORKER_IMAGE,
    show_default=True,
    callback=_check_image,
    help="The image of workers whose schedule names none (spec.worker.image).",
)
worker_resources_option = click.option(
    "--worker-resources",
    default=DEFAULT_RESOURCES_JSON,
    show_default=True,
    callback=_check_resources,
    help="The resources of workers whose schedule sets none: JSON, as spec.worker.resources.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="erp-sync")
def main() -> None:
    """Declarative ERP -> Procore sync schedules for Kubernetes."""


@main.command()
def version() -> None:
    """Print the version of erp-sync-operator (the operator, the workers and the image share it)."""
    click.echo(f"erp-sync-operator {__version__}")


@main.command()
@files_option
@recursive_option
@allow_empty_option
def validate(filenames: tuple[Path, ...], recursive: bool, allow_empty: bool) -> None:
    """Check ErpSyncSchedules; exit 1 with one line per problem when any is invalid or none is found."""
    checked = _read_valid(filenames, recursive, allow_empty)
    click.echo(f"{len(checked)} ErpSyncSchedule(s) valid", err=True)


def _parse_now(_: click.Context, __: click.Parameter, value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time, such as 2026-03-08T06:00:00Z") from error
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    try:
        in_range = EARLIEST_NOW <= moment.astimezone(UTC) <= LATEST_NOW
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before the first datetime in UTC
        in_range = False
    if not in_range:
        raise click.BadParameter(
            f"{value!r} is out of range; allowed: from {EARLIEST_NOW.isoformat()} to {LATEST_NOW.isoformat()}"
        )
    return moment


@main.command()
@files_option
@recursive_option
@allow_empty_option
@click.option("--now", callback=_parse_now, help="Compute next runs after this ISO 8601 time (default: now).")
@click.option("-o", "--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
def plan(filenames: tuple[Path, ...], recursive: bool, allow_empty: bool, now: datetime, output: str) -> None:
    """Show, per schedule and sync, the frequency, cron schedule, CronJob and next runs."""
    rows = [
        _plan_row(schedule_plan, planned_index, now)
        for schedule_plan in _plans(filenames, recursive, allow_empty, BUILT_IN_WORKER_DEFAULTS)
        for planned_index in range(len(schedule_plan.syncs))
    ]
    if output == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    table = TextTable(("NAMESPACE", "NAME", "SYNC", "FREQUENCY", "SCHEDULE", "TIMEZONE", "CRONJOB", "NEXT RUNS"))
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
    click.echo(table.render())


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
@recursive_option
@allow_empty_option
@worker_image_option
@worker_resources_option
def render(
    filenames: tuple[Path, ...],
    recursive: bool,
    allow_empty: bool,
    worker_image: str,
    worker_resources: ResourceRequirements,
) -> None:
    """Print the CronJobs the operator will create, as multi-document YAML (owner references aside)."""
    defaults = WorkerDefaults(worker_image, worker_resources)
    manifests = [
        cron_job
        for schedule_plan in _plans(filenames, recursive, allow_empty, defaults)
        for cron_job in schedule_plan.cron_jobs
    ]
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
@worker_image_option
@worker_resources_option
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
@click.option(
    "--run-history",
    default=DEFAULT_RUN_HISTORY,
    show_default=True,
    type=click.IntRange(1, RUN_HISTORY_MAX),
    help="Runs kept in each sync's status history (status.syncs.<sync>.history).",
)
@click.option("--standalone", is_flag=True, help="Run without peering (one operator for these namespaces).")
@click.option("--peering", "peering_name", default=None, help="Join the kopf peering NAME (needs kopf's peering CRDs).")
@click.option(
    "--leader-elect",
    is_flag=True,
    help="Reconcile only while holding a coordination.k8s.io Lease, stand by otherwise (2 replicas: a hot standby).",
)
@click.option(
    "--leader-election-namespace",
    default=None,
    help="The Lease's namespace. Default: the operator's own (its Pod's, or its kubeconfig context's).",
)
@click.option("--leader-election-id", default="erp-sync-operator", show_default=True, help="The Lease's name.")
@click.option(
    "--leader-election-lease-duration",
    default=8.0,
    show_default=True,
    type=float,
    help="Seconds a standby waits, after it last saw the Lease renewed, before it takes it.",
)
@click.option(
    "--leader-election-renew-deadline",
    default=5.0,
    show_default=True,
    type=float,
    help="Seconds the leader goes on without renewing before it stops (exit 3); less than the lease duration.",
)
@click.option(
    "--leader-election-retry-period",
    default=2.0,
    show_default=True,
    type=float,
    help="Seconds between two tries to take or renew the Lease.",
)
@click.option(
    "--qps",
    default=DEFAULT_QPS,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Requests per second to the API server, on average (a token bucket, as client-go's); 0: no limit.",
)
@click.option(
    "--burst",
    default=DEFAULT_BURST,
    show_default=True,
    type=click.IntRange(min=1),
    help="Requests to the API server at once, above --qps.",
)
@click.option(
    "--workers",
    default=DEFAULT_WORKERS,
    show_default=True,
    type=click.IntRange(min=1, max=256),
    help="Schedules reconciled at once (each pass mostly waits for the API server).",
)
@click.option("-v", "--verbose", is_flag=True)
def operator(
    namespaces: tuple[str, ...],
    all_namespaces: bool,
    worker_image: str,
    worker_resources: ResourceRequirements,
    liveness: str,
    metrics_port: int,
    log_format: str,
    resync_interval: float,
    run_history: int,
    standalone: bool,
    peering_name: str | None,
    leader_elect: bool,
    leader_election_namespace: str | None,
    leader_election_id: str,
    leader_election_lease_duration: float,
    leader_election_renew_deadline: float,
    leader_election_retry_period: float,
    qps: float,
    burst: int,
    workers: int,
    verbose: bool,
) -> None:
    """Run the operator: reconcile ErpSyncSchedules into CronJobs (in a pod, or from a kubeconfig)."""
    from erpsync.controller.runner import run_operator

    if bool(namespaces) == all_namespaces:
        raise click.UsageError("give --namespace (repeatable) or --all-namespaces")
    if standalone and peering_name:
        raise click.UsageError("--standalone and --peering exclude each other")
    leader_election = None
    if leader_elect:
        from erpsync.controller.leader import LeaderElection, new_identity

        if peering_name:
            raise click.UsageError("--leader-elect and --peering exclude each other: kopf's peering is not a Lease")
        leader_election = LeaderElection(
            namespace=leader_election_namespace or None,
            name=leader_election_id,
            identity=new_identity(),
            lease_duration=leader_election_lease_duration,
            renew_deadline=leader_election_renew_deadline,
            retry_period=leader_election_retry_period,
        )
        if problem := leader_election.timing_problem():
            raise click.UsageError(problem)
    run_operator(
        namespaces=namespaces,
        worker_defaults=WorkerDefaults(worker_image, worker_resources),
        liveness=liveness or None,
        metrics_port=metrics_port,
        json_logs=log_format == "json",
        resync_seconds=resync_interval,
        run_history=run_history,
        standalone=standalone or not peering_name,
        peering_name=peering_name,
        verbose=verbose,
        leader_election=leader_election,
        qps=qps,
        burst=burst,
        workers=workers,
    )


@main.command()
@click.option(
    "-n",
    "--namespace",
    "namespaces",
    multiple=True,
    help="Start runs for schedules of this namespace only; repeatable.",
)
@click.option("-A", "--all-namespaces", is_flag=True, help="Start runs for schedules of every namespace.")
@click.option(
    "--authorization-file",
    envvar="ERPSYNC_WEBHOOK_AUTHORIZATION_FILE",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A file holding the Authorization header value set on the Procore hook (default: the value of "
    "ERPSYNC_WEBHOOK_AUTHORIZATION).",
)
@click.option("--address", default="0.0.0.0", show_default=True, help="Address to serve deliveries on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535), help="Port for deliveries.")
@click.option("--path", default="/procore/events", show_default=True, help="The hook's destination path.")
@click.option("--metrics-port", default=9091, show_default=True, type=int, help="Prometheus metrics port; 0 disables.")
@click.option(
    "--pending-timeout",
    default=600.0,
    show_default=True,
    type=click.FloatRange(min=1),
    help="Seconds a request waits for the operator to handle the previous one of its schedule before it is dropped.",
)
def webhooks(
    namespaces: tuple[str, ...],
    all_namespaces: bool,
    authorization_file: Path | None,
    address: str,
    port: int,
    path: str,
    metrics_port: int,
    pending_timeout: float,
) -> None:
    """Receive Procore's ERP Request webhooks and start the syncs they ask for (docs/webhooks.md)."""
    import logging
    import os

    from erpsync.receiver.service import ReceiverConfig, run_receiver

    if bool(namespaces) == all_namespaces:
        raise click.UsageError("give --namespace (repeatable) or --all-namespaces")
    if not path.startswith("/"):
        raise click.BadParameter(f"{_shown(path)} is not allowed; allowed: a path starting with /", param_hint="--path")
    if authorization_file is not None:
        try:
            authorization = authorization_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            raise click.BadParameter(f"{authorization_file}: cannot be read ({error.__class__.__name__})") from None
        source = f"--authorization-file {authorization_file}"
    else:
        authorization = os.environ.get("ERPSYNC_WEBHOOK_AUTHORIZATION", "").strip()
        source = "ERPSYNC_WEBHOOK_AUTHORIZATION"
    if len(authorization) < 16:  # the value is never shown: only its length is judged
        raise click.UsageError(f"{source}: the Authorization value is empty or shorter than 16 characters")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = ReceiverConfig(authorization, namespaces, pending_timeout)
    run_receiver(config, address, port, path, metrics_port)


@main.command()
def crd() -> None:
    """Print the ErpSyncSchedule CustomResourceDefinition."""
    click.echo(render_crd(), nl=False)


if __name__ == "__main__":  # pragma: no cover
    main()
