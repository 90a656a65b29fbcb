"""`kubectl erpsync`: status, sync now, suspend and resume of ErpSyncSchedules, and `plan` without a cluster.

Installed as the console script `kubectl-erpsync`; kubectl runs it as `kubectl erpsync ...` when it
is on PATH. It reads the user's kubeconfig as kubectl does: `--kubeconfig`, else `$KUBECONFIG`,
else `~/.kube/config`; `--context`; `-n` defaults to the context's namespace.
"""

import sys
from typing import Final

import click

from erpsync import __version__
from erpsync.cli import plan
from erpsync.controller.kubeapi import ApiError
from erpsync.kubectl_plugin.client import ConnectionOptions, one_line
from erpsync.kubectl_plugin.history_command import history
from erpsync.kubectl_plugin.logs_command import logs
from erpsync.kubectl_plugin.options import connection_options
from erpsync.kubectl_plugin.status_command import status
from erpsync.kubectl_plugin.suspension import resume, suspend
from erpsync.kubectl_plugin.sync_now_command import sync_now

PROG_NAME: Final = "kubectl erpsync"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kubectl-erpsync")
@connection_options
@click.pass_context
def cli(ctx: click.Context, kubeconfig: str | None, context: str | None, namespace: str | None) -> None:
    """ErpSyncSchedules from kubectl: status, sync now, suspend and resume; plan without a cluster."""
    ctx.obj = ConnectionOptions(kubeconfig, context, namespace)


# `plan` is `erp-sync plan` itself: no cluster needed.
for command in (status, history, sync_now, logs, suspend, resume, plan):
    cli.add_command(command)


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
