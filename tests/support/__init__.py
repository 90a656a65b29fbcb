"""Test support: an API-server-like CRD evaluator, spec builders and strategies (and the tests of the evaluator)."""
