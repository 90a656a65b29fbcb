"""A real Kubernetes control plane on loopback for the end-to-end tests, the demo and `make cluster`.

etcd, kube-apiserver and kube-controller-manager built from Go modules by `.ci/kube.sh`, started
with generated certificates, RBAC on, and torn down without leaving a process or a folder behind.
"""

from erpsync_testbed.control_plane import ControlPlane, ControlPlaneError, kube_binaries

__all__ = ["ControlPlane", "ControlPlaneError", "kube_binaries"]
