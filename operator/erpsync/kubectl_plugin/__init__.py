"""The kubectl plugin `kubectl erpsync` (console script `kubectl-erpsync`)."""

from erpsync.kubectl_plugin.cli import cli, main

__all__ = ["cli", "main"]
