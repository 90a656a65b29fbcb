"""`make cluster`: a control plane in the foreground for people; Ctrl-C stops it and removes everything."""

import signal
import sys
import time

from erpsync_testbed.control_plane import KUBE_VERSION, ControlPlane, ControlPlaneError


def main() -> int:
    def say(message: str) -> None:
        print(f"[cluster] {message}", flush=True)

    # SIGTERM stops it as Ctrl-C does (a KeyboardInterrupt), so `kill` leaves nothing behind either.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    started = time.monotonic()
    try:
        with ControlPlane(progress=say) as control_plane:
            say(f"Kubernetes {KUBE_VERSION} ready in {time.monotonic() - started:.1f}s at {control_plane.server}")
            say(f"export KUBECONFIG={control_plane.kubeconfig}")
            say(f"logs and data: {control_plane.folder} (removed on exit); Ctrl-C stops it")
            while all(process.poll() is None for process in control_plane.processes.values()):
                time.sleep(1)
            say(f"a component exited:\n{control_plane.tails()}")
            return 1
    except ControlPlaneError as error:
        print(f"[cluster] {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        say("stopped")
        return 0


if __name__ == "__main__":
    sys.exit(main())
