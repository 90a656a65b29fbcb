"""The kubectl plugin `kubectl erpsync` (console script `kubectl-erpsync`).

The plugin reads the kubeconfig with the official Kubernetes client, which only the `plugin` extra installs (the image
leaves it out): without it the console script says so in one line instead of an ImportError traceback.
"""

import importlib.util
import sys

MISSING_CLIENT = (
    "error: kubectl erpsync needs the Kubernetes Python client, which this installation lacks: "
    "pip install 'erp-sync-operator[plugin]'"
)


def main() -> None:
    """The console script: refuse clearly without the client, else run the plugin's command line."""
    if importlib.util.find_spec("kubernetes") is None:
        print(MISSING_CLIENT, file=sys.stderr)
        sys.exit(1)
    from erpsync.kubectl_plugin.cli import main as plugin_main  # the client is imported from here on

    plugin_main()


__all__ = ["main"]
