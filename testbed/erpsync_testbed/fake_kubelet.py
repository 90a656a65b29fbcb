"""A stand-in kubelet that serves Pod logs only, so that pods/log goes through the real API server.

The control plane runs no kubelet. The API server reads a Pod's log from the kubelet of the Pod's Node:
https to the Node's address (status.addresses) on its kubelet port (status.daemonEndpoints), at
GET /containerLogs/{namespace}/{pod}/{container}. Started without --kubelet-certificate-authority, it does
not verify the kubelet's serving certificate, so a self-signed one on loopback will do. `register_node`
creates a Node that points at this server, `bind` puts a Pod on it (pods/binding, as the scheduler does);
on exit the Node and the bound Pods are deleted (a bound Pod's graceful deletion would wait for a kubelet).
"""

from __future__ import annotations

import datetime
import ssl
import tempfile
import threading
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from erpsync_testbed.client import MERGE_PATCH, ApiClient


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-kubelet")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=730))
        .not_valid_after(now + datetime.timedelta(days=730))
        .sign(key, hashes.SHA256())
    )
    certificate_path, key_path = folder / "kubelet.crt", folder / "kubelet.key"
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return certificate_path, key_path


class FakeKubelet:
    """`with FakeKubelet(client) as kubelet:` serves `kubelet.logs[(namespace, pod, container)]` on loopback;
    `kubelet.refusals[...] = (status, text)` answers as a kubelet does for a container that cannot give logs."""

    def __init__(self, client: ApiClient) -> None:
        self.client = client
        self.logs: dict[tuple[str, str, str], str] = {}
        self.refusals: dict[tuple[str, str, str], tuple[int, str]] = {}
        self.requests: list[str] = []  # the paths asked for, with their queries
        self._nodes: list[str] = []
        self._pods: list[tuple[str, str]] = []
        self._folder = tempfile.TemporaryDirectory(prefix="erpsync-fake-kubelet-")
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*_self_signed(Path(self._folder.name)))
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-kubelet", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        for namespace, pod in self._pods:
            self.client.request("DELETE", f"/api/v1/namespaces/{namespace}/pods/{pod}", {"gracePeriodSeconds": 0})
        for node in self._nodes:
            self.client.request("DELETE", f"/api/v1/nodes/{node}")
        self._server.shutdown()
        self._server.server_close()
        self._folder.cleanup()

    def register_node(self, name: str) -> None:
        """A Node whose kubelet is this server: InternalIP 127.0.0.1, kubelet port ours."""
        self.client.create("/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}})
        self._nodes.append(name)
        status = {
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": self.port}},
        }
        self.client.call("PATCH", f"/api/v1/nodes/{name}/status", {"status": status}, MERGE_PATCH)

    def bind(self, namespace: str, pod: str, node: str) -> None:
        """Puts the Pod on the Node, as the scheduler does."""
        binding = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": pod},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node},
        }
        self.client.create(f"/api/v1/namespaces/{namespace}/pods/{pod}/binding", binding)
        self._pods.append((namespace, pod))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        kubelet = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                kubelet.requests.append(self.path)
                parts = url.path.strip("/").split("/")
                key = tuple(parts[1:]) if len(parts) == 4 and parts[0] == "containerLogs" else None
                if key is None:
                    self._answer(HTTPStatus.NOT_FOUND, "404 page not found\n")
                elif key in kubelet.refusals:
                    status, text = kubelet.refusals[key]
                    self._answer(HTTPStatus(status), text)
                elif key in kubelet.logs:
                    text = kubelet.logs[key]
                    tail = urllib.parse.parse_qs(url.query).get("tailLines")
                    if tail:
                        text = "".join(text.splitlines(keepends=True)[-int(tail[0]) :])
                    self._answer(HTTPStatus.OK, text)
                else:
                    self._answer(HTTPStatus.NOT_FOUND, f"no logs for {'/'.join(parts[1:])}\n")

            def _answer(self, status: HTTPStatus, text: str) -> None:
                body = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # quiet: the test reads `requests`

        return Handler
