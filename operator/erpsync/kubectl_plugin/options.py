"""What every `kubectl erpsync` command shares: the connection options, --sync, and printing tables."""

from collections.abc import Callable
from typing import Any, Final, TypeVar

import click

from erpsync.api.vocabulary import SYNC_NAMES, SyncName
from erpsync.kubectl_plugin.client import ConnectionOptions, Kube, UsageProblem
from erpsync.text_table import TextTable

SCHEDULE_OBJECT: Final = "erpsyncschedule.erpsync.io"
F = TypeVar("F", bound=Callable[..., Any])


def connection_options(command: F) -> F:
    """--kubeconfig, --context and -n, accepted before and after the subcommand."""
    for option in reversed(
        (
            click.option(
                "--kubeconfig",
                metavar="PATH",
                help="The kubeconfig to use (default: $KUBECONFIG, else ~/.kube/config).",
            ),
            click.option("--context", metavar="NAME", help="The kubeconfig context to use (default: the current one)."),
            click.option(
                "-n", "--namespace", metavar="NAMESPACE", help="The namespace (default: the context's namespace)."
            ),
        )
    ):
        command = option(command)
    return command


def connect(kubeconfig: str | None, context: str | None, namespace: str | None) -> Kube:
    given = click.get_current_context().find_object(ConnectionOptions) or ConnectionOptions()
    return Kube(given.merged(ConnectionOptions(kubeconfig, context, namespace)))


def sync_names(_: click.Context, __: click.Parameter, values: tuple[str, ...]) -> tuple[SyncName, ...]:
    """--sync, repeatable or comma-separated, checked against the four syncs."""
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in SYNC_NAMES]
    if unknown:
        quoted = ", ".join(f'"{name}"' for name in unknown)
        raise UsageProblem(f"unknown sync {quoted}; the syncs are: {', '.join(SYNC_NAMES)}")
    return tuple(sync for sync in SYNC_NAMES if sync in names)


sync_option = click.option(
    "--sync",
    "syncs",
    multiple=True,
    callback=sync_names,
    metavar="SYNC",
    help=f"Only this sync ({', '.join(SYNC_NAMES)}); repeatable.",
)


def print_tables(*tables: TextTable) -> None:
    """Tables as plain text, a blank line between two."""
    click.echo("\n\n".join(table.render() for table in tables))
