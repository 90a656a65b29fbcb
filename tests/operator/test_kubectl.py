"""The real kubectl (v1.32) drives the operator: apply, wait for Ready, annotate, delete."""

import json

from tests.operator.conftest import NAMESPACE, REPO, Cluster, wait_for

COLUMNS = (
    "NAME:.metadata.name,ERP:.spec.erp,PAYMENTS:.status.syncs.invoicePayments.frequency,"
    'READY:.status.conditions[?(@.type=="Ready")].status,LAST SYNC:.status.lastSyncTime'
)


def test_kubectl_apply_wait_annotate_delete(cluster: Cluster) -> None:
    kubectl = cluster.kubectl
    # kubectl validates against the server's OpenAPI, which the emulator does not serve.
    applied = kubectl("apply", "--validate=false", "-n", NAMESPACE, "-f", str(REPO / "examples"))
    assert applied.stdout.count("created") == 7
    waited = kubectl("wait", "--for=condition=Ready", "erpsyncschedules", "--all", "-n", NAMESPACE, "--timeout=30s")
    assert waited.stdout.count("condition met") == 7
    table = kubectl("get", "erpsync", "-n", NAMESPACE, "-o", f"custom-columns={COLUMNS}").stdout
    rows = {line.split()[0]: line.split()[1:] for line in table.splitlines()[1:]}
    assert rows["builders-qbd"][:3] == ["QuickBooksDesktop", "Every4Hours", "True"]
    assert rows["ridge-spectrum"][:3] == ["ViewpointSpectrum", "Never", "True"]
    kubectl(
        "annotate",
        "-n",
        NAMESPACE,
        "erpsync/acme-generic",
        "erpsync.io/sync-now=from-kubectl",
        "erpsync.io/sync-now-syncs=vendors",
        "--overwrite",
    )
    wait_for("sync-now Job", lambda: len(cluster.jobs("acme-generic")) == 1)
    kubectl(
        "wait",
        "--for=jsonpath={.status.lastHandledSyncNow}=from-kubectl",
        "erpsync/acme-generic",
        "-n",
        NAMESPACE,
        "--timeout=30s",
    )
    cron_jobs = json.loads(
        kubectl("get", "cronjobs", "-n", NAMESPACE, "-l", "erpsync.io/schedule=acme-generic", "-o", "json").stdout
    )["items"]
    assert len(cron_jobs) == 4
    kubectl("delete", "-n", NAMESPACE, "erpsync/acme-generic")
    # Garbage collection: the schedule's CronJobs and Jobs go with it (no finalizer holds the deletion).
    wait_for("CronJobs collected", lambda: cluster.cron_jobs("acme-generic") == {})
    wait_for("Jobs collected", lambda: cluster.jobs("acme-generic") == {})
    remaining = kubectl("get", "erpsync", "-n", NAMESPACE, "-o", "name").stdout.split()
    assert len(remaining) == 6 and "erpsyncschedule.erpsync.io/acme-generic" not in remaining
