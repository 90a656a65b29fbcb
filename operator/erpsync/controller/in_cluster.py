"""Logging in from inside a Pod, as client-go's `rest.InClusterConfig` does.

kopf's own service-account login always talks to `https://kubernetes.default.svc`, which needs the
cluster's DNS: a Pod on the host's network without `ClusterFirstWithHostNet`, or a cluster whose DNS is
down, cannot resolve it. The kubelet gives every Pod the API server's address in KUBERNETES_SERVICE_HOST
and KUBERNETES_SERVICE_PORT; client-go uses those, and so does the operator (the DNS name only when
they are absent). The token is read again at every login: the kubelet rotates projected tokens.
"""

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import kopf

SERVICE_ACCOUNT_FOLDER: Final = Path("/var/run/secrets/kubernetes.io/serviceaccount")
CLUSTER_DNS_SERVER: Final = "https://kubernetes.default.svc"


def api_server_url(env: Mapping[str, str]) -> str:
    """The API server's URL from the kubelet's variables (an IPv6 address in brackets), else the DNS name."""
    host = env.get("KUBERNETES_SERVICE_HOST", "").strip()
    port = env.get("KUBERNETES_SERVICE_PORT", "").strip()
    if not host or not port:
        return CLUSTER_DNS_SERVER
    return f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"


def login_in_cluster(
    settings: kopf.OperatorSettings,
    env: Mapping[str, str] = os.environ,
    folder: Path = SERVICE_ACCOUNT_FOLDER,
) -> kopf.ConnectionInfo | None:
    """The Pod's ServiceAccount credentials, or None outside a Pod (no token file)."""
    token_file, namespace_file, ca_file = folder / "token", folder / "namespace", folder / "ca.crt"
    if not token_file.exists():
        return None
    token = token_file.read_text(encoding="utf-8").strip()
    namespace = namespace_file.read_text(encoding="utf-8").strip() if namespace_file.exists() else ""
    return kopf.ConnectionInfo(
        server=api_server_url(env),
        ca_path=str(ca_file) if ca_file.exists() else None,
        token=token or None,
        default_namespace=namespace or None,
        trust_env=settings.networking.trust_env,
    )
