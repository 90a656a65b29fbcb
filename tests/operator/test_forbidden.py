"""A permission the operator lacks stalls the schedule: run as an identity whose RBAC lacks `create` on
CronJobs, the operator reports Stalled=True and Ready=False with reason Forbidden for the generation it
observed (kstatus: Failed, so Flux fails now instead of at its timeout), naming the refused call; it keeps
retrying, writes nothing while nothing changes, and is Ready with Stalled gone once the permission is granted."""

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from erpsync_emulators.operator_process import OperatorProcess
from erpsync_testbed import audit
from tests.operator.conftest import TEST_WORKER_IMAGE, Cluster, example, wait_for

SCHEDULE = "acme-generic"
RBAC = "/apis/rbac.authorization.k8s.io/v1"


def operator_rules(cron_job_verbs: list[str]) -> list[dict[str, Any]]:
    """What the chart grants the operator (charts/erp-sync-operator/templates/_helpers.tpl), with these verbs on
    CronJobs."""
    return [
        {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"], "verbs": ["list", "watch"]},
        {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list", "watch"]},
        {"apiGroups": ["erpsync.io"], "resources": ["erpsyncschedules"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["erpsync.io"], "resources": ["erpsyncschedules/status"], "verbs": ["patch"]},
        {"apiGroups": ["erpsync.io"], "resources": ["erpsyncschedules/finalizers"], "verbs": ["update"]},
        {"apiGroups": ["batch"], "resources": ["cronjobs"], "verbs": cron_job_verbs},
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list", "watch", "create"]},
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},
    ]


@pytest.fixture
def limited_operator(cluster: Cluster, tmp_path: Path) -> Iterator[str]:
    """The operator, in place of the fixture's, as a user bound to a ClusterRole without `create` on CronJobs;
    the user's name, which the ClusterRole and its binding share."""
    cluster.operator.stop()
    user = f"erp-sync-limited-{cluster.namespace}"
    certificate, key = cluster.control_plane.pki.issue_client(user, ())
    kubeconfig = cluster.control_plane.write_kubeconfig(
        tmp_path / "limited.kubeconfig", {"client-certificate": str(certificate), "client-key": str(key)}
    )
    without_create = ["get", "list", "watch", "patch", "delete"]
    cluster.call("POST", f"{RBAC}/clusterroles", {"metadata": {"name": user}, "rules": operator_rules(without_create)})
    binding = {
        "metadata": {"name": user},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": user},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
    }
    cluster.call("POST", f"{RBAC}/clusterrolebindings", binding)
    operator = OperatorProcess(
        kubeconfig, tmp_path / "limited.log", cluster.namespace, (*TEST_WORKER_IMAGE, "--resync-interval", "300")
    )
    operator.start()
    try:
        yield user
    finally:
        operator.stop()
        cluster.call("DELETE", f"{RBAC}/clusterrolebindings/{user}")
        cluster.call("DELETE", f"{RBAC}/clusterroles/{user}")
        assert "Traceback" not in operator.output(), operator.output()[-4000:]


def _calls(cluster: Cluster, user: str, mark: int) -> list[dict[str, Any]]:
    events, _ = audit.events_since(cluster.control_plane.audit_log, mark)
    return [event for event in events if event.get("user", {}).get("username") == user]


def test_a_missing_permission_stalls_until_granted(cluster: Cluster, limited_operator: str) -> None:
    user = limited_operator
    generation = cluster.apply(example("generic"))["metadata"]["generation"]

    stalled = wait_for("Stalled", lambda: cluster.condition(SCHEDULE, "Stalled"), timeout=60)
    assert (stalled["status"], stalled["reason"]) == ("True", "Forbidden")
    message = stalled["message"]
    assert message.startswith(f"creating CronJob {SCHEDULE}-"), message
    assert f'User "{user}" cannot create resource "cronjobs" in API group "batch"' in message
    body = cluster.schedule(SCHEDULE)
    conditions = {item["type"]: item for item in body["status"]["conditions"]}
    assert (conditions["Ready"]["status"], conditions["Ready"]["reason"]) == ("False", "Forbidden")
    assert conditions["Ready"]["message"] == message
    assert "Reconciling" not in conditions
    # The generation is observed: kstatus reads Stalled as Failed only for the observed generation.
    assert body["status"]["observedGeneration"] == generation
    assert cluster.cron_jobs(SCHEDULE) == {}

    # Retried with backoff: more refused creates, and no status write while the answer stays the same.
    mark = audit.end_offset(cluster.control_plane.audit_log)
    time.sleep(4)  # the retries come after 1 s, then 2 s
    calls = _calls(cluster, user, mark)
    refused = [c for c in calls if c["verb"] == "create" and c["objectRef"]["resource"] == "cronjobs"]
    assert refused and {c["responseStatus"]["code"] for c in refused} == {403}
    status_writes = [c for c in calls if c["verb"] == "patch" and c["objectRef"].get("subresource") == "status"]
    assert status_writes == []

    # Granted: the next retry creates the CronJobs; Ready, and Stalled is gone.
    cluster.call(
        "PATCH",
        f"{RBAC}/clusterroles/{user}",
        {"rules": operator_rules(["get", "list", "watch", "create", "patch", "delete"])},
    )
    wait_for("Ready", lambda: cluster.ready(SCHEDULE), timeout=90)
    assert cluster.condition(SCHEDULE, "Stalled") is None
    assert len(cluster.cron_jobs(SCHEDULE)) == 4
