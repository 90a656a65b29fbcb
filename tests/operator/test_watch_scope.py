"""With --all-namespaces, the cluster's other Pods cost the operator nothing: its watches are filtered
by the API server (managed-by), so unrelated objects never reach the process."""

from pathlib import Path

from erpsync_emulators.operator_process import OperatorProcess
from tests.operator.conftest import OPERATOR_USER, Cluster, wait_for

UNRELATED_PODS = 2000


def _resident_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for process {pid}")


def test_two_thousand_unrelated_pods_in_another_namespace_cost_under_5_mib(cluster: Cluster, tmp_path: Path) -> None:
    cluster.operator.stop()  # this test's operator watches every namespace
    operator = OperatorProcess(cluster.operator.kubeconfig, tmp_path / "all-namespaces.log", "")
    operator.start()
    try:
        cluster.apply_ready("generic")
        noise = f"{cluster.namespace}-noise"
        cluster.call(
            "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": noise}}
        )
        wait_for(
            "the noise namespace's ServiceAccount",
            lambda: cluster.client.request("GET", f"/api/v1/namespaces/{noise}/serviceaccounts/default").status == 200,
        )
        before = _resident_mib(operator.pid)
        for index in range(UNRELATED_PODS):
            cluster.call(
                "POST",
                f"/api/v1/namespaces/{noise}/pods",
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": f"unrelated-{index}", "labels": {"app": "someone-else"}},
                    "spec": {"containers": [{"name": "main", "image": "registry.example/unrelated:1"}]},
                },
            )
        # Proof the operator is still watching and acting after the noise: a deleted CronJob comes back.
        cluster.call("DELETE", cluster.path("cronjobs", "acme-generic-vendors"))
        wait_for("recreated", lambda: "acme-generic-vendors" in cluster.cron_jobs("acme-generic"))
        after = _resident_mib(operator.pid)
        assert after - before < 5, f"the operator grew {after - before:.1f} MiB ({before:.1f} -> {after:.1f})"
        watched_pods = [
            event
            for event in cluster.operator_calls()
            if event["verb"] in ("list", "watch") and event.get("objectRef", {}).get("resource") == "pods"
        ]
        assert watched_pods and all("labelSelector=" in event["requestURI"] for event in watched_pods)
        assert all(event["user"]["username"] == OPERATOR_USER for event in watched_pods)
        cluster.call("DELETE", f"/api/v1/namespaces/{noise}")
    finally:
        operator.stop()
        assert "Traceback" not in operator.output(), operator.output()[-4000:]
