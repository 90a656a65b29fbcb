"""The project's image, run with Debian's podman as the tests and the benchmark need it (`make image` builds
it: .ci/image.sh).

podman runs containers here without a daemon, with the flags measured in docs/image.md: runc (crun fails
on this machine's cgroups) and ulimits within the machine's hard limits. Every container runs with a
read-only root filesystem and the image's own user unless a test says otherwise.
"""

import os
import subprocess
import urllib.parse
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

IMAGE: Final = os.environ.get("ERPSYNC_IMAGE", "localhost/erp-sync-operator:dev")
POD_CREDENTIALS: Final = "/var/run/secrets/kubernetes.io/serviceaccount"
RUN_FLAGS: Final = ("--runtime", "runc", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096")


def image_exists(image: str = IMAGE) -> bool:
    return subprocess.run(["podman", "image", "exists", image], capture_output=True, check=False).returncode == 0


def run_command(
    *command: str,
    env: Mapping[str, str] | None = None,
    volumes: Sequence[tuple[Path, str]] = (),
    host_network: bool = False,
    name: str | None = None,
    image: str = IMAGE,
) -> list[str]:
    """The `podman run` command line for `command` in the image (read-only root, removed afterwards)."""
    words = [
        "podman",
        "run",
        "--rm",
        *RUN_FLAGS,
        "--read-only",
        "--name",
        name or f"erpsync-test-{uuid.uuid4().hex[:10]}",
    ]
    if host_network:
        words.append("--network=host")
    for key, value in (env or {}).items():
        words += ["--env", f"{key}={value}"]
    for source, target in volumes:
        words += ["--volume", f"{source}:{target}"]
    return [*words, image, *command]


def run(
    *command: str,
    env: Mapping[str, str] | None = None,
    volumes: Sequence[tuple[Path, str]] = (),
    host_network: bool = False,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run `command` in the image and wait for it."""
    words = run_command(*command, env=env, volumes=volumes, host_network=host_network)
    return subprocess.run(words, capture_output=True, text=True, timeout=timeout, check=False)


def remove(name: str) -> None:
    """Stop and remove a container started with `name` (a test's cleanup; absent is fine)."""
    subprocess.run(["podman", "rm", "--force", "--time", "5", name], capture_output=True, check=False, timeout=60)


def operator_in_pod_command(server: str, credentials: Path, *args: str, name: str | None = None) -> list[str]:
    """`erp-sync operator ARGS` in the image, given what a Pod gets: the ServiceAccount files `credentials`
    (ControlPlane.pod_credentials) mounted where the kubelet mounts them, and the API server's address in
    KUBERNETES_SERVICE_HOST/PORT; on the host's network, so it reaches the API server on loopback."""
    url = urllib.parse.urlsplit(server)
    return run_command(
        "erp-sync",
        "operator",
        *args,
        env={"KUBERNETES_SERVICE_HOST": str(url.hostname), "KUBERNETES_SERVICE_PORT": str(url.port)},
        volumes=[(credentials, f"{POD_CREDENTIALS}:ro")],
        host_network=True,
        name=name,
    )
