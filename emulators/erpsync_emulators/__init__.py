"""Emulators shared by the tests and `make demo`: a Kubernetes API (on KMock) and the Procore API.

Both serve real HTTP on loopback; nothing here is imported by the operator or the workers.
"""
