"""`erp-sync-worker`: run one sync (or check the configuration) and report through the exit code.

Exit 0 when nothing failed, 2 when some items failed, 1 when the run failed. Every run ends with
one JSON summary line on stdout and in the termination-message file.
"""

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Final

import click

from erpsync_worker import __version__
from erpsync_worker.check import ATTEMPTS as CHECK_ATTEMPTS
from erpsync_worker.check import PATIENCE as CHECK_PATIENCE
from erpsync_worker.check import TIMEOUT as CHECK_TIMEOUT
from erpsync_worker.check import Check, chosen_syncs
from erpsync_worker.config import ConfigError, WorkerConfig, load_config
from erpsync_worker.erp.connector import ErpConnector, ErpError, SqlConnector, load_queries
from erpsync_worker.logs import Redactor, configure
from erpsync_worker.procore.client import ProcoreClient, ProcoreError
from erpsync_worker.summary import Summary
from erpsync_worker.syncs import connector as erp_connector_mode
from erpsync_worker.syncs import invoice_payments, job_costs, jobs, vendors
from erpsync_worker.syncs.common import SyncContext

SYNCS: Final[dict[str, Callable[[SyncContext], None]]] = {
    "vendors": vendors.run,
    "jobs": jobs.run,
    "job-costs": job_costs.run,
    "invoice-payments": invoice_payments.run,
}
# ErpConnector mode: the syncs that differ from PublicApi mode (docs/spec.md#procore-modes).
CONNECTOR_SYNCS: Final[dict[str, Callable[[SyncContext], None]]] = {
    "vendors": erp_connector_mode.run_vendors,
    "jobs": erp_connector_mode.run_jobs,
    "invoice-payments": erp_connector_mode.run_invoice_payments,
}
logger = logging.getLogger("erpsync_worker")
log_format_option = click.option(
    "--log-format",
    type=click.Choice(["json", "text"]),
    default="json",
    show_default=True,
    help="json for machines, text for people.",
)


def _secrets(config: WorkerConfig) -> list[str]:
    return [config.client_id.value, config.client_secret.value, config.database_url.value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="erp-sync-worker")
def main() -> None:
    """Sync ERP data into Procore (configured by environment; see docs/erp-connector.md)."""


def perform(
    sync: str, config: WorkerConfig, client: ProcoreClient, connector: ErpConnector | None = None, dry_run: bool = False
) -> Summary:
    """One run of one sync; every failure ends up in the summary, never as an exception."""
    summary = Summary(sync=sync, dry_run=dry_run)
    redact = Redactor(_secrets(config)).redact
    try:
        connector = connector or SqlConnector(config.database_url.value, load_queries(config.queries_file))
        logger.info("starting %s sync%s for company %s", sync, " (dry run)" if dry_run else "", config.company_id)
        context = SyncContext(config, client, connector, summary, dry_run)
        if config.procore_mode == "ErpConnector":
            erp_connector_mode.run_on_requests(context, sync, CONNECTOR_SYNCS.get(sync, SYNCS[sync]))
        else:
            SYNCS[sync](context)
    except (ProcoreError, ErpError) as error:
        summary.fatal = redact(str(error))
        logger.error("%s sync failed: %s", sync, summary.fatal)
    except Exception as error:  # the summary must still be written
        summary.fatal = redact(f"internal error: {type(error).__name__}: {error}")
        logger.exception("%s sync failed", sync)
    finally:
        if connector is not None:
            connector.close()
    summary.requests = client.requests
    summary.extra["throttledSeconds"] = round(client.throttle.slept, 3)
    return summary


@main.command()
@click.argument("sync", type=click.Choice(list(SYNCS)))
@click.option("--dry-run", is_flag=True, help="Read both sides and say what would change; write nothing.")
@log_format_option
def run(sync: str, dry_run: bool, log_format: str) -> None:
    """Run one sync."""
    try:
        config = load_config()
    except ConfigError as error:
        configure(log_format, [])
        click.echo(f"erp-sync-worker: {error}", err=True)
        summary = Summary(sync=sync, dry_run=dry_run, fatal=str(error))
        summary.publish(Path(os.environ.get("TERMINATION_MESSAGE_PATH", "").strip() or "/dev/termination-log"))
        sys.exit(summary.exit_code)
    configure(log_format, _secrets(config))
    client = ProcoreClient(config)
    try:
        summary = perform(sync, config, client, dry_run=dry_run)
    finally:
        client.close()
    summary.publish(config.termination_message_path)
    logger.info("%s sync %s", sync, summary.result, extra={"summary": summary.as_dict()})
    sys.exit(summary.exit_code)


@main.command()
@click.option(
    "--sync",
    "syncs",
    metavar="SYNC[,SYNC...]",
    help=f"The syncs to check ({', '.join(SYNCS)}); default: every sync the mode runs.",
)
@log_format_option
def check(syncs: str | None, log_format: str) -> None:
    """Prove the configuration works: token, company, the mode's endpoints, the database, the views.

    One line per check; exit 1 when any failed (each failure names what to fix)."""
    try:
        config = load_config()
        chosen = chosen_syncs(syncs, config.procore_mode)
    except (ConfigError, ValueError) as error:
        click.echo(f"configuration: {error}", err=True)
        sys.exit(1)
    redactor = configure(log_format, _secrets(config))

    def say(what: str, failure: str | None, detail: str) -> None:
        if failure is None:
            click.echo(f"{what}: ok" + (f" ({redactor.redact(detail)})" if detail else ""))
        else:
            click.echo(f"{what}: {redactor.redact(failure)}", err=True)

    client = ProcoreClient(config, timeout=CHECK_TIMEOUT, attempts=CHECK_ATTEMPTS, patience=CHECK_PATIENCE)
    run = Check(config, chosen, client, say)
    try:
        failures = run.run(
            lambda: SqlConnector(
                config.database_url.value, load_queries(config.queries_file), connect_timeout=CHECK_TIMEOUT
            )
        )
    except Exception as error:  # never a traceback: the message may quote the URL, so only the type
        failures = run.failures + 1
        click.echo(f"check: internal error: {type(error).__name__}", err=True)
    finally:
        client.close()
    click.echo(f"{failures} check{'s' if failures != 1 else ''} failed" if failures else "all checks passed")
    sys.exit(1 if failures else 0)
