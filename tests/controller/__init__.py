"""Unit tests of the controller (erpsync.controller): no API server, no operator process, fast.

The reconcile pass runs here against fakes of the API; the same behaviour against a real control
plane and the real `erp-sync operator` process is in tests/operator (end-to-end).
"""
