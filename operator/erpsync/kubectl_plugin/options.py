"""What every `kubectl erpsync` command shares: the connection options, --sync, and printing tables."""

import re
from collections.abc import Callable
from typing import Any, Final, TypeVar

import click

from erpsync.api.vocabulary import SYNC_NAMES, SyncName
from erpsync.kubectl_plugin.client import ConnectionOptions, Kube, UsageProblem
from erpsync.text_table import TextTable

SCHEDULE_OBJECT: Final = "erpsyncschedule.erpsync.io"
# Where --request-timeout is kept: click's meta is shared by the group's context and the subcommand's, so the
# flag works before and after the subcommand without a parameter in every command's signature.
REQUEST_TIMEOUT_KEY: Final = "erpsync.request_timeout"
_DURATION_PART: Final = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS: Final = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_request_timeout(text: str) -> float:
    """kubectl's --request-timeout: seconds ("5"), or a Go duration ("5s", "1m", "1m30s", "500ms"); 0: no limit."""
    value = text.strip()
    if re.fullmatch(r"\d+", value):
        return float(value)
    parts = _DURATION_PART.findall(value)
    if not value or "".join(number + unit for number, unit in parts) != value:
        raise UsageProblem(
            f'--request-timeout: "{text}" is not a duration; allowed: 0 (no limit), whole seconds (5) '
            "or a number with a unit (500ms, 5s, 1m, 1h, 1m30s)"
        )
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def _keep_request_timeout(ctx: click.Context, _: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.meta[REQUEST_TIMEOUT_KEY] = parse_request_timeout(value)


# Where --as and --as-group are kept, as --request-timeout is.
IMPERSONATE_USER_KEY: Final = "erpsync.impersonate_user"
IMPERSONATE_GROUPS_KEY: Final = "erpsync.impersonate_groups"


def _keep_impersonate_user(ctx: click.Context, _: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.meta[IMPERSONATE_USER_KEY] = value


def _keep_impersonate_groups(ctx: click.Context, _: click.Parameter, values: tuple[str, ...]) -> None:
    if values:
        ctx.meta[IMPERSONATE_GROUPS_KEY] = tuple(values)


F = TypeVar("F", bound=Callable[..., Any])


def connection_options(command: F) -> F:
    """--kubeconfig, --context, -n and --request-timeout, accepted before and after the subcommand."""
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
            click.option(
                "--request-timeout",
                metavar="DURATION",
                expose_value=False,
                callback=_keep_request_timeout,
                help="The longest one request to the API server may take: 5, 5s, 1m; 0 for no limit (default: 30s).",
            ),
            click.option(
                "--as",
                metavar="USER",
                expose_value=False,
                callback=_keep_impersonate_user,
                help="Act as this user (a user name or a service account, system:serviceaccount:NS:NAME).",
            ),
            click.option(
                "--as-group",
                metavar="GROUP",
                multiple=True,
                expose_value=False,
                callback=_keep_impersonate_groups,
                help="Act as a member of this group; repeatable; needs --as.",
            ),
        )
    ):
        command = option(command)
    return command


def connect(kubeconfig: str | None, context: str | None, namespace: str | None) -> Kube:
    ctx = click.get_current_context()
    given = ctx.find_object(ConnectionOptions) or ConnectionOptions()
    request_timeout = ctx.meta.get(REQUEST_TIMEOUT_KEY)
    user, groups = ctx.meta.get(IMPERSONATE_USER_KEY), ctx.meta.get(IMPERSONATE_GROUPS_KEY, ())
    if groups and not user:  # as kubectl: the API server impersonates a user, with groups; groups alone are none
        raise UsageProblem("--as-group needs --as: the user to act as, in these groups")
    own = ConnectionOptions(
        kubeconfig,
        context,
        namespace,
        request_timeout=request_timeout,
        impersonate_user=user,
        impersonate_groups=groups,
    )
    return Kube(given.merged(own))


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
