"""The plugin's way to the cluster: the user's kubeconfig (as kubectl reads it), then the operator's client.

The official `kubernetes` client only reads the kubeconfig (contexts, certificates, tokens, exec
plugins) into the credentials kopf uses, a kopf.ConnectionInfo, as kopf's own `login_via_client`
does; in a pod without a kubeconfig the service account is read as the operator reads it. Every
request then goes through the operator's KubeApi, run on a private event loop behind the few
synchronous calls the commands make. A 401 reads the kubeconfig again (exec tokens expire).
"""

import asyncio
import os
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

import aiohttp
import click
import kopf
import yaml
from kubernetes import config as kube_config
from kubernetes.client.configuration import Configuration

from erpsync import __version__
from erpsync.api.vocabulary import API_GROUP, API_VERSION, PLURAL
from erpsync.controller.in_cluster import SERVICE_ACCOUNT_FOLDER, login_in_cluster
from erpsync.controller.kubeapi import DEFAULT_REQUEST_TIMEOUT, SCHEDULES, ApiError, KubeApi, Resource

SCHEDULES_KIND: Final = f"{PLURAL}.{API_GROUP}"
T = TypeVar("T")


class PluginError(click.ClickException):
    """A failure told to the user as one line on stderr, kubectl style, without a traceback."""

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


class ServerUnreachable(PluginError):
    """No answer from the API server: a refused or dropped connection, or no answer in time."""


class UsageProblem(PluginError):
    """A wrong argument: exit code 2, as click gives usage errors."""

    exit_code = 2


def one_line(error: object) -> str:
    return " ".join(str(error).split())


@dataclass(frozen=True)
class ConnectionOptions:
    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None
    # --request-timeout in seconds: 0 for no limit, None for the default (DEFAULT_REQUEST_TIMEOUT).
    request_timeout: float | None = None
    # --as and --as-group: whom the API server is asked to treat the request as (Impersonate-* headers).
    impersonate_user: str | None = None
    impersonate_groups: tuple[str, ...] = ()

    def impersonation_headers(self) -> list[tuple[str, str]]:
        """The headers of --as and --as-group, as kubectl sends them (one Impersonate-Group per group)."""
        user = [("Impersonate-User", self.impersonate_user)] if self.impersonate_user else []
        return [*user, *(("Impersonate-Group", group) for group in self.impersonate_groups)]

    def merged(self, other: "ConnectionOptions") -> "ConnectionOptions":
        """These options, overridden by those given in `other` (the subcommand's own flags)."""
        return ConnectionOptions(
            other.kubeconfig or self.kubeconfig,
            other.context or self.context,
            other.namespace or self.namespace,
            request_timeout=self.request_timeout if other.request_timeout is None else other.request_timeout,
            impersonate_user=other.impersonate_user or self.impersonate_user,
            impersonate_groups=other.impersonate_groups or self.impersonate_groups,
        )


def _kubeconfig_path(flag: str | None) -> str:
    return flag or os.environ.get("KUBECONFIG") or str(Path("~/.kube/config").expanduser())


def connection_info(options: ConnectionOptions) -> kopf.ConnectionInfo:
    """The credentials of the kubeconfig's context (or of the pod's service account), with its namespace."""
    path = _kubeconfig_path(options.kubeconfig)
    files = [Path(part).expanduser() for part in path.split(os.pathsep) if part]
    if not any(file.is_file() for file in files):
        if not options.kubeconfig and not os.environ.get("KUBECONFIG") and os.environ.get("KUBERNETES_SERVICE_HOST"):
            info = login_in_cluster(kopf.OperatorSettings())
            if info is None:
                raise PluginError(f"in-cluster configuration: no service account token in {SERVICE_ACCOUNT_FOLDER}")
            return info
        raise PluginError(f"no kubeconfig found at {path} (set KUBECONFIG or give --kubeconfig)")
    configuration = Configuration()
    try:
        contexts, active = kube_config.list_kube_config_contexts(config_file=path)  # type: ignore[no-untyped-call]
        chosen = active
        if options.context is not None:
            chosen = next((item for item in contexts if item.get("name") == options.context), None)
            if chosen is None:
                names = ", ".join(str(item.get("name")) for item in contexts) or "none"
                raise PluginError(f'context "{options.context}" not found in {path}; contexts: {names}')
        kube_config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=path, context=options.context, client_configuration=configuration, persist_config=False
        )
    except kube_config.ConfigException as error:
        raise PluginError(f"kubeconfig {path}: {one_line(error)}") from None
    except yaml.YAMLError as error:
        raise PluginError(f"kubeconfig {path} is not valid YAML: {one_line(error)}") from None
    except OSError as error:
        raise PluginError(f"kubeconfig {path}: {error.strerror or error}") from None
    namespace = ((chosen or {}).get("context") or {}).get("namespace")
    return _as_connection_info(configuration, namespace, path)


def _as_connection_info(configuration: Configuration, namespace: str | None, path: str) -> kopf.ConnectionInfo:
    """The loaded configuration as kopf's credentials (what kopf.login_via_client does for the default one)."""
    for option, value in (("proxy-url", configuration.proxy), ("tls-server-name", configuration.tls_server_name)):
        if value:
            raise PluginError(f"kubeconfig {path}: the cluster's {option} is not supported by kubectl erpsync")
    # Called, not read: for exec plugins and auth providers this runs the refresh hook.
    header = configuration.get_api_key_with_prefix("BearerToken") or configuration.get_api_key_with_prefix(
        "authorization"
    )
    scheme, _, token = str(header or "").rpartition(" ")
    return kopf.ConnectionInfo(
        server=str(configuration.host),
        ca_path=configuration.ssl_ca_cert,  # the client writes inline data to temporary files
        insecure=not configuration.verify_ssl,
        username=configuration.username or None,
        password=configuration.password or None,
        scheme=scheme or None,
        token=token or None,
        certificate_path=configuration.cert_file,
        private_key_path=configuration.key_file,
        default_namespace=namespace,
    )


class Kube:
    """The operator's KubeApi with the user's credentials, for synchronous commands."""

    def __init__(self, options: ConnectionOptions) -> None:
        info = connection_info(options)
        self.namespace = options.namespace or info.default_namespace or "default"
        self.server = info.server

        async def relogin() -> kopf.ConnectionInfo:
            return connection_info(options)

        timeout = DEFAULT_REQUEST_TIMEOUT if options.request_timeout is None else options.request_timeout
        self._request_timeout = timeout
        self._api = KubeApi(
            relogin,
            user_agent=f"kubectl-erpsync/{__version__}",
            request_timeout=timeout or None,
            extra_headers=options.impersonation_headers(),
        )
        self._api.use(info)
        # A time.monotonic() no request may outlast (sync-now's --timeout); None: only --request-timeout bounds.
        self.deadline: float | None = None
        self.clock = self._api.clock  # "in 5m" and "3h ago" count from the cluster's now, as the operator does
        self._loop = asyncio.Runner()

    def close(self) -> None:
        self._loop.run(self._api.close())
        self._loop.close()

    def __enter__(self) -> "Kube":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _run(self, call: Coroutine[Any, Any, T]) -> T:
        bound = None if self.deadline is None else max(self.deadline - time.monotonic(), 0.0)
        try:
            answer = self._loop.run(asyncio.wait_for(call, bound))
        except TimeoutError:
            deadline_first = bound is not None and (not self._request_timeout or bound < self._request_timeout)
            within = "in the time left" if deadline_first else f"within {self._request_timeout:g}s (--request-timeout)"
            raise ServerUnreachable(f"the API server at {self.server} did not answer {within}") from None
        except aiohttp.ClientError as error:
            raise ServerUnreachable(f"cannot reach the API server at {self.server}: {one_line(error)}") from None
        # Ctrl-C during the call makes the Runner cancel it and raise KeyboardInterrupt; but in Python 3.11
        # asyncio.wait_for can lose that cancellation when the call completes at the same moment, and the
        # Runner then returns as if nothing happened: the command would wait on, deaf to the one Ctrl-C.
        if getattr(self._loop, "_interrupt_count", 0):
            raise KeyboardInterrupt
        return answer

    def call(
        self,
        method: str,
        path: str,
        body: object = None,
        content_type: str = "application/json",
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Any request; an error status raises ApiError."""
        return self._run(self._api.request(method, path, body=body, content_type=content_type, params=params))

    def text(self, path: str, params: dict[str, str] | None = None) -> str:
        """A GET of text (a pod's log); an error status raises ApiError."""
        return self._run(self._api.text(path, params))

    # ErpSyncSchedules

    def schedule(self, name: str, namespace: str) -> dict[str, Any]:
        try:
            return self._run(self._api.get(SCHEDULES, namespace, name))
        except ApiError as error:
            raise _explained(error, namespace, name) from None

    def schedules(self, namespace: str | None) -> list[dict[str, Any]]:
        try:
            items = self._run(self._api.list(SCHEDULES, namespace))
        except ApiError as error:
            raise _explained(error, namespace, None) from None
        return sorted(items, key=lambda item: (item["metadata"].get("namespace", ""), item["metadata"]["name"]))

    def listed_schedules(self, namespace: str | None, name: str | None) -> tuple[list[dict[str, Any]], str]:
        """The schedules of `namespace` (None: every namespace), or only `name`, and the list's resourceVersion,
        from which a watch goes on."""
        params = {"fieldSelector": f"metadata.name={name}"} if name else None
        try:
            answer = self._run(self._api.request("GET", SCHEDULES.path(namespace), params=params))
        except ApiError as error:
            raise _explained(error, namespace, name) from None
        items = answer.get("items")
        items = items if isinstance(items, list) else []
        ordered = sorted(items, key=lambda item: (item["metadata"].get("namespace", ""), item["metadata"]["name"]))
        return ordered, str((answer.get("metadata") or {}).get("resourceVersion") or "")

    def watch_schedules(
        self, namespace: str | None, name: str | None, resource_version: str, seconds: int
    ) -> Iterator[dict[str, Any]]:
        """The watch events ({type, object}) of those schedules after `resource_version`, until the API server ends
        the watch after `seconds`; ApiError with status 410 when the version is too old to go on from."""
        selectors = {"fieldSelector": f"metadata.name={name}"} if name else {}
        events = self._api.watch(SCHEDULES, namespace, resource_version, seconds, **selectors)

        async def next_event() -> dict[str, Any]:
            return await anext(events)

        try:
            while True:
                try:
                    yield self._run(next_event())
                except StopAsyncIteration:
                    return
        finally:
            self._loop.run(events.aclose())

    def patch_schedule(self, name: str, namespace: str, patch: dict[str, Any]) -> dict[str, Any]:
        try:
            return self._run(self._api.merge_patch(SCHEDULES, namespace, name, patch))
        except ApiError as error:
            raise _explained(error, namespace, name) from None

    # Jobs and Events

    def list(self, resource: Resource, namespace: str, **selectors: str) -> list[dict[str, Any]]:
        """The objects in `namespace`; an error status raises ApiError."""
        return self._run(self._api.list(resource, namespace, **selectors))


def _explained(error: ApiError, namespace: str | None, name: str | None) -> PluginError:
    """A schedule's error as kubectl words it; a 404 says whether the schedule or the CRD is missing."""
    if error.status != 404:
        return PluginError(error.message)
    if name is not None and '"' + name + '"' in error.message:
        where = f' in namespace "{namespace}"' if namespace else ""
        return PluginError(f'{SCHEDULES_KIND} "{name}" not found{where}')
    return PluginError(
        f"the server does not serve {SCHEDULES_KIND} ({API_GROUP}/{API_VERSION}); "
        "is the CRD installed? (kubectl apply -f crds/)"
    )


def schedule_error(error: ApiError, namespace: str | None, name: str | None) -> PluginError:
    """A schedule's error as kubectl words it, for commands that send their own requests (sync-now retries)."""
    return _explained(error, namespace, name)
