"""End-to-end tests of the operator: the real `erp-sync operator` process on a real control plane.

Slow (about 2 minutes): each test gets a namespace of the control plane (conftest.py). The controller's
functions one by one, without a server, are unit-tested in tests/controller.
"""
