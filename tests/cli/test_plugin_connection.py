"""`kubectl erpsync` reads the kubeconfig as kubectl does into the credentials the operator's client
takes (kubectl_plugin/client.py): token, exec plugin, inline CA, context namespace; what it cannot honour
is refused in one line."""

import base64
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from erpsync.kubectl_plugin.client import ConnectionOptions, PluginError, connection_info

EXEC_CREDENTIAL = json.dumps(
    {"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", "status": {"token": "from-exec"}}
)


def write_kubeconfig(folder: Path, user: dict[str, Any], **cluster: Any) -> str:
    """A kubeconfig in `folder` whose current context (namespace erp) and context "other" use `user`."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443", **cluster}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [
            {"name": "main", "context": {"cluster": "c", "user": "u", "namespace": "erp"}},
            {"name": "other", "context": {"cluster": "c", "user": "u"}},
        ],
        "current-context": "main",
    }
    path = folder / "config"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def test_a_token_an_inline_ca_and_the_contexts_namespace(tmp_path: Path) -> None:
    ca = b"-----BEGIN CERTIFICATE-----\nnot checked here\n-----END CERTIFICATE-----\n"
    path = write_kubeconfig(
        tmp_path, {"token": "secret"}, **{"certificate-authority-data": base64.b64encode(ca).decode()}
    )
    info = connection_info(ConnectionOptions(kubeconfig=path))
    assert (info.server, info.scheme, info.token, info.insecure) == (
        "https://127.0.0.1:6443",
        "Bearer",
        "secret",
        False,
    )
    assert isinstance(info.ca_path, str) and Path(info.ca_path).read_bytes() == ca
    assert info.default_namespace == "erp"
    assert connection_info(ConnectionOptions(kubeconfig=path, context="other")).default_namespace is None


def test_an_exec_plugins_token(tmp_path: Path) -> None:
    command = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "command": sys.executable,
        "args": ["-c", f"print({EXEC_CREDENTIAL!r})"],
    }
    path = write_kubeconfig(tmp_path, {"exec": command}, **{"insecure-skip-tls-verify": True})
    info = connection_info(ConnectionOptions(kubeconfig=path))
    assert (info.token, info.insecure) == ("from-exec", True)


@pytest.mark.parametrize("option", ["proxy-url", "tls-server-name"])
def test_what_the_client_cannot_honour_is_refused(tmp_path: Path, option: str) -> None:
    path = write_kubeconfig(tmp_path, {"token": "secret"}, **{option: "http://proxy:3128"})
    with pytest.raises(PluginError, match=f"the cluster's {option} is not supported"):
        connection_info(ConnectionOptions(kubeconfig=path))
