"""The real kubectl (v1.37, built with the control plane) drives the operator: apply, wait, annotate, delete."""

import json

import yaml

from tests.operator.conftest import REPO, Cluster, wait_for

COLUMNS = (
    "NAME:.metadata.name,ERP:.spec.erp,PAYMENTS:.status.syncs.invoicePayments.frequency,"
    'READY:.status.conditions[?(@.type=="Ready")].status,LAST SYNC:.status.lastSyncTime'
)


def _examples_in(namespace: str) -> str:
    """Every example as one YAML stream, moved to the test's namespace."""
    bodies = [yaml.safe_load(path.read_text()) for path in sorted((REPO / "examples").glob("*.yaml"))]
    for body in bodies:
        body["metadata"]["namespace"] = namespace
    return yaml.safe_dump_all(bodies)


def test_kubectl_apply_wait_annotate_delete(cluster: Cluster) -> None:
    kubectl, namespace = cluster.kubectl, cluster.namespace
    applied = kubectl("apply", "-f", "-", input=_examples_in(namespace))  # default validation: strict
    assert applied.stdout.count("created") == 7
    waited = kubectl("wait", "--for=condition=Ready", "erpsyncschedules", "--all", "-n", namespace, "--timeout=30s")
    assert waited.stdout.count("condition met") == 7
    table = kubectl("get", "erpsync", "-n", namespace, "-o", f"custom-columns={COLUMNS}").stdout
    rows = {line.split()[0]: line.split()[1:] for line in table.splitlines()[1:]}
    assert rows["builders-qbd"][:3] == ["QuickBooksDesktop", "Every4Hours", "True"]
    assert rows["ridge-spectrum"][:3] == ["ViewpointSpectrum", "Never", "True"]
    kubectl(
        "annotate",
        "-n",
        namespace,
        "erpsync/acme-generic",
        "erpsync.io/sync-now=from-kubectl",
        "erpsync.io/sync-now-syncs=vendors",
        "--overwrite",
    )
    wait_for("sync-now Job", lambda: len(cluster.jobs("acme-generic")) == 1)
    wait_for("its Pod, made by the Job controller", lambda: len(cluster.pods("acme-generic")) == 1)
    kubectl(
        "wait",
        "--for=jsonpath={.status.lastHandledSyncNow}=from-kubectl",
        "erpsync/acme-generic",
        "-n",
        namespace,
        "--timeout=30s",
    )
    cron_jobs = json.loads(
        kubectl("get", "cronjobs", "-n", namespace, "-l", "erpsync.io/schedule=acme-generic", "-o", "json").stdout
    )["items"]
    assert len(cron_jobs) == 4
    kubectl("delete", "-n", namespace, "erpsync/acme-generic")
    # Garbage collection: the schedule's CronJobs and Jobs go with it (no finalizer holds the deletion).
    wait_for("CronJobs collected", lambda: cluster.cron_jobs("acme-generic") == {})
    wait_for("Jobs collected", lambda: cluster.jobs("acme-generic") == {})
    wait_for("Pods collected", lambda: cluster.pods("acme-generic") == {})
    remaining = kubectl("get", "erpsync", "-n", namespace, "-o", "name").stdout.split()
    assert len(remaining) == 6 and "erpsyncschedule.erpsync.io/acme-generic" not in remaining
