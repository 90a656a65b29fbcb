"""The plugin's way to the cluster: the user's kubeconfig (as kubectl reads it) and JSON over HTTP.

The `kubernetes` client loads the kubeconfig (contexts, certificates, tokens, exec plugins) and
carries the requests; objects stay plain JSON dicts, as in the rest of the project.
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

import click
import urllib3
import yaml
from kubernetes import config as kube_config
from kubernetes.client.api_client import ApiClient
from kubernetes.client.configuration import Configuration

from erpsync import __version__
from erpsync.api.vocabulary import API_GROUP, API_VERSION, PLURAL
from erpsync.controller.server_clock import ServerClock

MERGE_PATCH: Final = "application/merge-patch+json"
REQUEST_TIMEOUT: Final = 30.0
SERVICE_ACCOUNT_NAMESPACE: Final = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
SCHEDULES_KIND: Final = f"{PLURAL}.{API_GROUP}"


class PluginError(click.ClickException):
    """A failure told to the user as one line on stderr, kubectl style, without a traceback."""

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


class UsageProblem(PluginError):
    """A wrong argument: exit code 2, as click gives usage errors."""

    exit_code = 2


class ApiError(PluginError):
    """The API server answered with an error status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def one_line(error: object) -> str:
    return " ".join(str(error).split())


def _status_message(status: int, raw: bytes) -> str:
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    text = raw.decode(errors="replace").strip()
    return f"the API server answered {status}" + (f": {text[:200]}" if text else "")


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


def _load(options: ConnectionOptions, configuration: Configuration) -> str:
    """Fill `configuration` from the kubeconfig (or the pod's service account); the default namespace."""
    path = _kubeconfig_path(options.kubeconfig)
    files = [Path(part).expanduser() for part in path.split(os.pathsep) if part]
    if not any(file.is_file() for file in files):
        if not options.kubeconfig and not os.environ.get("KUBECONFIG") and os.environ.get("KUBERNETES_SERVICE_HOST"):
            try:
                kube_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
            except kube_config.ConfigException as error:
                raise PluginError(f"in-cluster configuration: {error}") from None
            namespace = SERVICE_ACCOUNT_NAMESPACE.read_text().strip() if SERVICE_ACCOUNT_NAMESPACE.is_file() else ""
            return options.namespace or namespace or "default"
        raise PluginError(f"no kubeconfig found at {path} (set KUBECONFIG or give --kubeconfig)")
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
    context_namespace = ((chosen or {}).get("context") or {}).get("namespace")
    return options.namespace or context_namespace or "default"


class Kube:
    """JSON requests to the API server with the user's credentials."""

    def __init__(self, options: ConnectionOptions) -> None:
        configuration = Configuration()
        self.namespace = _load(options, configuration)
        self.host = str(configuration.host)
        self._api = ApiClient(configuration)
        self._api.user_agent = f"kubectl-erpsync/{__version__}"
        self.clock = ServerClock()  # "in 5m" and "3h ago" count from the cluster's now, as the operator does

    def close(self) -> None:
        self._api.close()  # type: ignore[no-untyped-call]

    def __enter__(self) -> "Kube":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> Any:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        serialized = self._api.param_serialize(
            method,
            path,
            query_params=list((query or {}).items()) or None,
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        try:
            reply = self._api.call_api(*serialized, _request_timeout=REQUEST_TIMEOUT)
            raw: bytes = reply.response.data
        except urllib3.exceptions.HTTPError as error:
            reason = getattr(error, "reason", None) or error
            raise PluginError(f"cannot reach the API server at {self.host}: {reason}") from None
        self.clock.observe(reply.response.headers.get("Date"))
        if reply.status >= 400:
            raise ApiError(reply.status, _status_message(reply.status, raw))
        return json.loads(raw) if raw else None

    # ErpSyncSchedules

    @staticmethod
    def schedules_path(namespace: str | None, name: str | None = None) -> str:
        base = f"/apis/{API_GROUP}/{API_VERSION}"
        path = f"{base}/namespaces/{quote(namespace)}/{PLURAL}" if namespace is not None else f"{base}/{PLURAL}"
        return f"{path}/{quote(name)}" if name is not None else path

    def schedule(self, name: str, namespace: str) -> dict[str, Any]:
        try:
            body: dict[str, Any] = self.request("GET", self.schedules_path(namespace, name))
        except ApiError as error:
            raise self._explained(error, namespace, name) from None
        return body

    def schedules(self, namespace: str | None) -> list[dict[str, Any]]:
        try:
            items: list[dict[str, Any]] = self.request("GET", self.schedules_path(namespace))["items"]
        except ApiError as error:
            raise self._explained(error, namespace, None) from None
        return sorted(items, key=lambda item: (item["metadata"].get("namespace", ""), item["metadata"]["name"]))

    def patch_schedule(self, name: str, namespace: str, patch: dict[str, Any]) -> dict[str, Any]:
        try:
            body: dict[str, Any] = self.request(
                "PATCH", self.schedules_path(namespace, name), body=patch, content_type=MERGE_PATCH
            )
        except ApiError as error:
            raise self._explained(error, namespace, name) from None
        return body

    def _explained(self, error: ApiError, namespace: str | None, name: str | None) -> ApiError:
        if error.status == 404:
            if name is not None and '"' + name + '"' in error.message:
                where = f' in namespace "{namespace}"' if namespace else ""
                return ApiError(404, f'{SCHEDULES_KIND} "{name}" not found{where}')
            return ApiError(
                404,
                f"the server does not serve {SCHEDULES_KIND} ({API_GROUP}/{API_VERSION}); "
                "is the CRD installed? (kubectl apply -f crds/)",
            )
        return error

    # Jobs and Events

    def list(self, group_version: str, plural: str, namespace: str, **query: str) -> list[dict[str, Any]]:
        prefix = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
        items: list[dict[str, Any]] = self.request(
            "GET", f"{prefix}/namespaces/{quote(namespace)}/{plural}", query=query
        )["items"]
        return items
