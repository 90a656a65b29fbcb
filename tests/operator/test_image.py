"""The operator in the built image (`make image`) against the real control plane, logged in as in a Pod.

No kubelet runs here, so podman plays it: the container gets what a Pod of the chart's Deployment gets,
a ServiceAccount token, the cluster's CA and the namespace at /var/run/secrets/kubernetes.io/serviceaccount
and KUBERNETES_SERVICE_HOST/PORT, and the host's network so it reaches the API server on loopback. It runs
as the image's user with a read-only root filesystem. The account is bound to cluster-admin here: what the
chart's narrower roles allow is proven in tests/ship/test_chart_install.py, by running the operator as the
chart's ServiceAccount.
"""

import json
import subprocess
import time
import uuid
from pathlib import Path

from erpsync_testbed import ControlPlane, podman
from erpsync_testbed.control_plane import free_port
from tests.operator.conftest import example, http_get, is_ready, wait_for

ACCOUNT = "erp-sync-operator"


def test_operator_in_the_image_reaches_ready(
    image: str, crd_established: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    control_plane = crd_established
    credentials = control_plane.pod_credentials(tmp_path / "serviceaccount", namespace, ACCOUNT, "cluster-admin")
    liveness = free_port()
    name = f"erpsync-operator-{uuid.uuid4().hex[:10]}"
    command = podman.operator_in_pod_command(
        control_plane.server,
        credentials,
        *("--namespace", namespace, "--standalone", "--metrics-port", "0"),
        *("--liveness", f"http://127.0.0.1:{liveness}/healthz", "--worker-image", "registry.example/erp-sync:test"),
        name=name,
    )
    log = tmp_path / "operator.log"
    client = control_plane.client()
    try:
        with log.open("wb") as output:
            process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        body = example("generic")
        body["metadata"]["namespace"] = namespace
        control_plane.kubectl("apply", "-f", "-", input=json.dumps(body))
        path = f"/apis/erpsync.io/v1alpha1/namespaces/{namespace}/erpsyncschedules/{body['metadata']['name']}"
        wait_for("the schedule Ready", lambda: is_ready(client.get(path)), timeout=90, interval=0.2)
        assert http_get(f"http://127.0.0.1:{liveness}/healthz") is not None
        cron_jobs = client.get(f"/apis/batch/v1/namespaces/{namespace}/cronjobs")["items"]
        assert len(cron_jobs) == len(body["spec"]["syncs"])

        # SIGTERM, as the kubelet stops a Pod: the operator is PID 1 and stops cleanly, within the grace period.
        stopped = time.monotonic()
        subprocess.run(["podman", "stop", "--time", "20", name], capture_output=True, check=True, timeout=60)
        assert process.wait(timeout=30) == 0
        assert time.monotonic() - stopped < 20
    finally:
        podman.remove(name)
        control_plane.kubectl("delete", "clusterrolebinding", namespace, "--ignore-not-found")
        client.close()
    logged = log.read_text(errors="replace")
    assert "Traceback" not in logged, logged[-4000:]
    token = (credentials / "token").read_text()
    assert token not in logged and token[-16:] not in logged
