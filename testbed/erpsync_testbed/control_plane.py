"""Start and stop etcd, kube-apiserver and kube-controller-manager on loopback.

The binaries come from `.ci/kube.sh` (built from Go modules, linked into `.tools/kube/bin`). Every
port is free when picked, every file lives in one temporary folder, and `stop()` ends the three
processes (controller manager, API server, etcd: the reverse of their start) and removes the folder.
Children are started with a parent-death signal, so a killed test run leaves no control plane behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Self

import yaml

from erpsync_testbed.client import ApiClient
from erpsync_testbed.pki import Pki, create_pki

REPO: Final = Path(__file__).resolve().parents[2]
KUBE_VERSION: Final = "v1.37.2"
ADMIN: Final = "erp-sync-test-admin"
CONTROLLER_MANAGER: Final = "system:kube-controller-manager"
# What the operator's objects need: Jobs from CronJobs, Pods from Jobs (no kubelet runs them), the
# ServiceAccounts the ServiceAccount admission plugin waits for, and the garbage collector and
# namespace deletion, which envtest cannot do; and the aggregation of ClusterRoles into the built-in
# admin/edit/view roles, through which the chart's erp-sync-admin and erp-sync-viewer reach people.
CONTROLLERS: Final = (
    "clusterrole-aggregation-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "garbage-collector-controller",
    "namespace-controller",
    "job-controller",
    "cronjob-controller",
    "ttl-after-finished-controller",
)
# Every request at Metadata level, written once it is answered: enough to see each call's URL.
AUDIT_POLICY: Final = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived"],
    "rules": [{"level": "Metadata"}],
}
_PR_SET_PDEATHSIG: Final = 1


class ControlPlaneError(RuntimeError):
    """The control plane could not be built, started or reached; the message says what to do."""


@dataclass(frozen=True)
class KubeBinaries:
    folder: Path

    def __getitem__(self, program: str) -> str:
        return str(self.folder / program)


def kube_binaries() -> KubeBinaries:
    """The control plane's binaries: $ERPSYNC_KUBE_BIN, else the repository's `.tools/kube/bin`."""
    folder = Path(os.environ.get("ERPSYNC_KUBE_BIN") or REPO / ".tools" / "kube" / "bin")
    missing = [p for p in ("etcd", "kube-apiserver", "kube-controller-manager", "kubectl") if not (folder / p).exists()]
    if missing:
        raise ControlPlaneError(
            f"no {', '.join(missing)} in {folder}: build the control plane with .ci/kube.sh"
            " (make test and make demo run it)"
        )
    return KubeBinaries(folder)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the process that started it dies (Linux prctl)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def stop_process(process: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    """SIGTERM, then SIGKILL if it has not ended after `grace` seconds."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def kubeconfig(server: str, ca: Path | None, user: dict[str, str], namespace: str = "default") -> dict[str, Any]:
    """A kubeconfig document; `ca` None for a plain-HTTP server (the fault proxy on loopback)."""
    cluster = {"server": server, **({"certificate-authority": str(ca)} if ca else {})}
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "erp-sync-test", "cluster": cluster}],
        "users": [{"name": "user", "user": user}],
        "contexts": [
            {"name": "erp-sync-test", "context": {"cluster": "erp-sync-test", "user": "user", "namespace": namespace}}
        ],
        "current-context": "erp-sync-test",
        "preferences": {},
    }


@dataclass
class ControlPlane:
    """`with ControlPlane() as cp:` runs a control plane until the block ends; `cp.kubeconfig` is admin's."""

    binaries: KubeBinaries = field(default_factory=kube_binaries)
    progress: Callable[[str], None] = lambda message: None
    # Applied with kubectl before the controller manager starts, so that its garbage collector knows
    # their kinds from its first discovery (it rereads discovery only every 30 s).
    manifests: Sequence[Path] = ()
    controllers: Sequence[str] = CONTROLLERS
    # More kube-apiserver flags, such as ("--enable-admission-plugins=OwnerReferencesPermissionEnforcement",).
    extra_apiserver_args: Sequence[str] = ()
    folder: Path = field(init=False)
    pki: Pki = field(init=False)
    port: int = 0
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    startup_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def kubeconfig(self) -> Path:
        return self.folder / "admin.kubeconfig"

    @property
    def audit_log(self) -> Path:
        return self.folder / "audit.log"

    def log(self, component: str) -> Path:
        return self.folder / f"{component}.log"

    # Start and stop ------------------------------------------------------------------------------

    def start(self) -> Self:
        started = time.monotonic()
        self.folder = Path(tempfile.mkdtemp(prefix="erpsync-control-plane-"))
        try:
            self._start(started)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, started: float) -> None:
        self.pki = create_pki(self.folder / "pki", {ADMIN: ("system:masters",), CONTROLLER_MANAGER: ()})
        etcd_port, peer_port, self.port = free_port(), free_port(), free_port()
        self.write_kubeconfig(self.kubeconfig, self._client_certificate(ADMIN))
        etcd = f"http://127.0.0.1:{etcd_port}"
        peer = f"http://127.0.0.1:{peer_port}"
        self.progress("starting etcd")
        self._spawn(
            "etcd",
            "--name=erp-sync-test",
            f"--data-dir={self.folder / 'etcd'}",
            "--log-level=warn",
            "--unsafe-no-fsync=true",  # a throwaway store: no durability to pay for
            f"--listen-client-urls={etcd}",
            f"--advertise-client-urls={etcd}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=erp-sync-test={peer}",
        )
        self._wait("etcd", lambda: self._get(f"{etcd}/health", secure=False) is not None, 30)
        self.startup_seconds["etcd"] = time.monotonic() - started
        (self.folder / "audit-policy.yaml").write_text(yaml.safe_dump(AUDIT_POLICY))
        pki = self.pki.path
        self.progress("starting kube-apiserver")
        self._spawn(
            "kube-apiserver",
            f"--etcd-servers={etcd}",
            "--bind-address=127.0.0.1",
            # With a loopback bind and no default route the API server finds no address of its own.
            "--advertise-address=127.0.0.1",
            # The `kubernetes` Endpoints may not hold a loopback address.
            "--endpoint-reconciler-type=none",
            f"--secure-port={self.port}",
            f"--tls-cert-file={pki('apiserver.crt')}",
            f"--tls-private-key-file={pki('apiserver.key')}",
            f"--client-ca-file={pki('ca.crt')}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki('sa.pub')}",
            f"--service-account-signing-key-file={pki('sa.key')}",
            "--service-cluster-ip-range=10.0.0.0/24",
            "--authorization-mode=RBAC",  # the default would be AlwaysAllow
            "--allow-privileged=true",
            "--profiling=false",
            f"--audit-policy-file={self.folder / 'audit-policy.yaml'}",
            f"--audit-log-path={self.audit_log}",
            "--audit-log-format=json",
            "--v=1",
            *self.extra_apiserver_args,
        )
        self._wait("kube-apiserver /readyz", lambda: self._get(f"{self.server}/readyz") == "ok", 120)
        self.startup_seconds["kube-apiserver"] = time.monotonic() - started
        for manifest in self.manifests:
            self.kubectl("apply", "-f", str(manifest))
        self.wait_for_custom_resource_definitions()
        self.write_kubeconfig(
            self.folder / "kube-controller-manager.kubeconfig",
            self._client_certificate("kube-controller-manager"),
        )
        self.progress("starting kube-controller-manager")
        self._spawn(
            "kube-controller-manager",
            f"--kubeconfig={self.folder / 'kube-controller-manager.kubeconfig'}",
            "--leader-elect=false",
            "--secure-port=0",
            f"--controllers={','.join(self.controllers)}",
            "--use-service-account-credentials=true",  # each controller under its own identity and RBAC
            f"--service-account-private-key-file={pki('sa.key')}",
            f"--root-ca-file={pki('ca.crt')}",
            "--kube-api-qps=200",
            "--kube-api-burst=400",
            "--v=1",
        )
        # The ServiceAccount admission plugin refuses Pods until a namespace's `default` account exists.
        self._wait(
            "the controller manager (ServiceAccount default/default)",
            lambda: self._get(f"{self.server}/api/v1/namespaces/default/serviceaccounts/default") is not None,
            60,
        )
        self.startup_seconds["kube-controller-manager"] = time.monotonic() - started

    def wait_for_custom_resource_definitions(self, timeout: float = 60) -> None:
        """Until every CRD is Established and in discovery. Polled: `kubectl wait
        --for=condition=Established` fails at once on a CRD that has no conditions yet."""
        self._wait(
            "the CustomResourceDefinitions applied to be served",
            lambda: all(self._served(crd) for crd in self._custom_resource_definitions()),
            timeout,
        )

    def _custom_resource_definitions(self) -> list[str]:
        names = self.kubectl("get", "customresourcedefinitions", "-o", "name").stdout.split()
        return [name.removeprefix("customresourcedefinition.apiextensions.k8s.io/") for name in names]

    def _served(self, crd: str) -> bool:
        """Established, and its resource in discovery (which can lag behind the condition)."""
        body = json.loads(self.kubectl("get", "customresourcedefinition", crd, "-o", "json").stdout)
        conditions = (body.get("status") or {}).get("conditions") or []
        established = any(c["type"] == "Established" and c["status"] == "True" for c in conditions)
        group, version = body["spec"]["group"], body["spec"]["versions"][0]["name"]
        discovery = self._get(f"{self.server}/apis/{group}/{version}")
        return established and discovery is not None and f'"name":"{body["spec"]["names"]["plural"]}"' in discovery

    def stop(self) -> None:
        for name in ("kube-controller-manager", "kube-apiserver", "etcd"):
            process = self.processes.pop(name, None)
            if process is not None:
                stop_process(process)
        if getattr(self, "folder", None) is not None:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _spawn(self, program: str, *args: str) -> None:
        with self.log(program).open("ab") as log:
            self.processes[program] = subprocess.Popen(
                [self.binaries[program], *args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C in a terminal reaches us, and we stop them in order
                preexec_fn=_die_with_parent,
            )

    def _wait(self, what: str, ready: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise ControlPlaneError(f"{name} exited with {process.returncode}:\n{self.tail(name)}")
            if ready():
                return
            time.sleep(0.1)
        raise ControlPlaneError(f"timed out after {timeout}s waiting for {what}:\n{self.tails()}")

    # Reading it ----------------------------------------------------------------------------------

    def client(self) -> ApiClient:
        """A JSON client with the admin identity."""
        return ApiClient(self.server, self._ssl())

    def ssl_context(self, certificate: Path, key: Path) -> ssl.SSLContext:
        """TLS to this API server, authenticated with a client certificate."""
        context = ssl.create_default_context(cafile=str(self.pki.path("ca.crt")))
        context.load_cert_chain(certificate, key)
        return context

    def _ssl(self) -> ssl.SSLContext:
        return self.ssl_context(self.pki.path(f"{ADMIN}.crt"), self.pki.path(f"{ADMIN}.key"))

    def _get(self, url: str, *, secure: bool = True) -> str | None:
        """The body of an admin GET, or None while it fails."""
        try:
            with urllib.request.urlopen(url, timeout=2, context=self._ssl() if secure else None) as response:
                body: bytes = response.read()
                return body.decode()
        except (OSError, urllib.error.URLError):
            return None

    def tail(self, component: str, lines: int = 30) -> str:
        path = self.log(component)
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def tails(self) -> str:
        return "\n".join(f"--- {name} ---\n{self.tail(name)}" for name in self.processes)

    # Identities ----------------------------------------------------------------------------------

    def admin_kubeconfig(self, path: Path, namespace: str) -> Path:
        """The admin's kubeconfig with another default namespace."""
        return self.write_kubeconfig(path, self._client_certificate(ADMIN), namespace)

    def _client_certificate(self, stem: str) -> dict[str, str]:
        certificate, key = self.pki.path(f"{stem}.crt"), self.pki.path(f"{stem}.key")
        return {"client-certificate": str(certificate), "client-key": str(key)}

    def write_kubeconfig(self, path: Path, user: dict[str, str], namespace: str = "default") -> Path:
        """A kubeconfig for this server with the given kubeconfig `user` entry (certificate or token)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(kubeconfig(self.server, self.pki.path("ca.crt"), user, namespace)))
        path.chmod(0o600)
        return path

    def kubectl(
        self, *args: str, kubeconfig: Path | None = None, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        command: Sequence[str] = [self.binaries["kubectl"], f"--kubeconfig={kubeconfig or self.kubeconfig}", *args]
        result = subprocess.run(command, input=input, capture_output=True, text=True, timeout=120, check=False)
        if check and result.returncode != 0:
            raise ControlPlaneError(f"kubectl {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
        return result

    def pod_credentials(self, folder: Path, namespace: str, account: str, cluster_role: str) -> Path:
        """What a Pod of `account` has mounted at /var/run/secrets/kubernetes.io/serviceaccount (a TokenRequest
        token, the cluster's CA, the namespace), written to `folder` readable by any user (a container's);
        the account is created and bound to `cluster_role` cluster-wide (ClusterRoleBinding named `namespace`)."""
        self.kubectl("-n", namespace, "create", "serviceaccount", account)
        self.kubectl(
            "create",
            "clusterrolebinding",
            namespace,
            f"--clusterrole={cluster_role}",
            f"--serviceaccount={namespace}:{account}",
        )
        token = self.kubectl("-n", namespace, "create", "token", account, "--duration=2h").stdout.strip()
        folder.mkdir(parents=True)
        (folder / "token").write_text(token)
        (folder / "ca.crt").write_bytes(self.pki.path("ca.crt").read_bytes())
        (folder / "namespace").write_text(namespace)
        for path in folder.iterdir():
            path.chmod(0o644)  # as the kubelet's projected volume lets the container's user read them
        folder.chmod(0o755)
        return folder

    def service_account_kubeconfig(self, path: Path, namespace: str, account: str, duration: str = "2h") -> Path:
        """A kubeconfig that authenticates as a ServiceAccount with a TokenRequest token (not admin)."""
        token = self.kubectl("-n", namespace, "create", "token", account, f"--duration={duration}").stdout.strip()
        return self.write_kubeconfig(path, {"token": token}, namespace)
