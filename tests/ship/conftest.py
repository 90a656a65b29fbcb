"""The operator end-to-end tests' `cluster` fixture (a namespace of the real control plane, and the operator),
for the kubectl plugin's tests."""

from tests.operator.conftest import cluster

__all__ = ["cluster"]
