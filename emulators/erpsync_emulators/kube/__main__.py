"""`python -m erpsync_emulators.kube --port N --kubeconfig PATH`: serve the emulator until interrupted."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from erpsync_emulators.kube.emulator import DEFAULT_NAMESPACES
from erpsync_emulators.kube.runner import EmulatorServer, load_manifests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m erpsync_emulators.kube",
        description="Serve an emulated Kubernetes API on loopback (for tests and the demo; not a cluster).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on start)")
    parser.add_argument("--kubeconfig", type=Path, help="write a kubeconfig pointing at the emulator here")
    parser.add_argument("--crd", action="append", default=[], help="a CRD manifest file or folder (repeatable)")
    parser.add_argument(
        "--namespace", action="append", default=[], help="a Namespace to create besides the default ones (repeatable)"
    )
    parser.add_argument("--bookmark-interval", type=float, default=30.0, help="seconds between watch bookmarks")
    args = parser.parse_args(argv)

    crds = [doc for doc in load_manifests(*args.crd) if doc.get("kind") == "CustomResourceDefinition"]
    server = EmulatorServer(
        host=args.host,
        port=args.port,
        crds=crds,
        seed_namespaces=(*DEFAULT_NAMESPACES, *args.namespace),
        bookmark_interval=args.bookmark_interval,
    )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with server:
        where = f" (kubeconfig: {server.write_kubeconfig(args.kubeconfig)})" if args.kubeconfig else ""
        print(f"Kubernetes API emulator listening on {server.url}{where}", flush=True)
        print("This is an emulator for tests and demos, not a cluster. Stop it with Ctrl-C.", flush=True)
        stop.wait()
    print("Kubernetes API emulator stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
