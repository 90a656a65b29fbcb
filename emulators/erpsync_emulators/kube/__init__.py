"""A Kubernetes API emulator on KMock that enforces what the operator relies on; see docs/kube-emulator.md.

    with EmulatorServer(crds=load_manifests("crds/")) as server:
        server.write_kubeconfig("kubeconfig.yaml")   # for kubectl, kopf run, the kubernetes client
        ...

or, from a shell: `python -m erpsync_emulators.kube --port 18080 --kubeconfig kubeconfig.yaml --crd crds/`.
"""

from erpsync_emulators.kube.discovery import ResourceMeta
from erpsync_emulators.kube.emulator import DEFAULT_NAMESPACES, KubeEmulator
from erpsync_emulators.kube.faults import Fault
from erpsync_emulators.kube.runner import EmulatorServer, kubeconfig, load_manifests
from erpsync_emulators.kube.stats import LoggedRequest

__all__ = [
    "DEFAULT_NAMESPACES",
    "EmulatorServer",
    "Fault",
    "KubeEmulator",
    "LoggedRequest",
    "ResourceMeta",
    "kubeconfig",
    "load_manifests",
]
