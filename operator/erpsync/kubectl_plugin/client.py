"""The plugin's way to the cluster: the user's kubeconfig (as kubectl reads it), then the operator's client.

The official `kubernetes` client only reads the kubeconfig (contexts, certificates, tokens, exec
plugins) into the credentials kopf uses, a kopf.ConnectionInfo, as kopf's own `login_via_client`
does; in a pod without a kubeconfig the service account is read as the operator reads it. Every
request then goes through the operator's KubeApi, run on a private event loop behind the few
synchronous calls the commands make. A 401 reads the kubeconfig again (exec tokens expire).
"""

import asyncio
import os
from collections.abc import Coroutine
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
from erpsync.controller.kubeapi import SCHEDULES, ApiError, KubeApi, Resource

SCHEDULES_KIND: Final = f"{PLURAL}.{API_GROUP}"
T = TypeVar("T")


class PluginError(click.ClickException):
    """A failure told to the user as one line on stderr, kubectl style, without a traceback."""

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


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

    def merged(self, other: "ConnectionOptions") -> "ConnectionOptions":
        """These options, overridden by those given in `other` (the subcommand's own flags)."""
        return ConnectionOptions(
            other.kubeconfig or self.kubeconfig, other.context or self.context, other.namespace or self.namespace
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

        self._api = KubeApi(relogin, user_agent=f"kubectl-erpsync/{__version__}")
        self._api.use(info)
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
        try:
            return self._loop.run(call)
        except (aiohttp.ClientError, TimeoutError) as error:
            raise PluginError(f"cannot reach the API server at {self.server}: {one_line(error)}") from None

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
