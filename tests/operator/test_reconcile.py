"""The operator against the real API server: reconcile, drift repair, invalid generations, suspend."""

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from erpsync.api.validation import validate_object
from erpsync.planning.cronjobs import WorkerDefaults
from erpsync.planning.plan import plan_schedule
from erpsync_testbed.client import JSON_PATCH, MERGE_PATCH, ApiError
from tests.conftest import CRD_FILE, CRD_PATH
from tests.operator.conftest import Cluster, example, wait_for

EXAMPLES = ("generic", "quickbooks-desktop", "xero", "netsuite", "viewpoint-spectrum", "cmic", "sage-intacct")


@pytest.mark.parametrize("name", EXAMPLES)
def test_each_example_reaches_ready_with_the_planned_cronjobs(cluster: Cluster, name: str) -> None:
    body = cluster.apply(example(name))
    schedule_name = body["metadata"]["name"]
    ready = wait_for(f"{schedule_name} Ready", lambda: cluster.ready(schedule_name))
    validated = validate_object(
        {**example(name), "metadata": {**example(name)["metadata"], "namespace": cluster.namespace}}
    )
    assert validated.schedule is not None
    plan = plan_schedule(validated.schedule, WorkerDefaults(image="registry.example/erp-sync:test"))
    planned = {p.cron_job_name: p for p in plan.syncs if p.cron_job_name}
    cron_jobs = cluster.cron_jobs(schedule_name)
    assert set(cron_jobs) == set(planned)
    for cron_job_name, cron_job in cron_jobs.items():
        assert cron_job["spec"]["schedule"] == planned[cron_job_name].schedule
        assert cron_job["spec"]["timeZone"] == planned[cron_job_name].time_zone
        owner = cron_job["metadata"]["ownerReferences"][0]
        assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == (
            "ErpSyncSchedule",
            schedule_name,
            body["metadata"]["uid"],
            True,
        )
        container = cron_job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
        assert container["image"] == "registry.example/erp-sync:test"  # the operator's --worker-image
    status = ready["status"]
    for planned_sync in plan.syncs:
        assert status["syncs"][planned_sync.sync]["frequency"] == planned_sync.frequency
        assert status["syncs"][planned_sync.sync].get("cronJob") == planned_sync.cron_job_name
    assert {c["type"] for c in status["conditions"]} == {"Ready", "Healthy"}  # Reconciling/Stalled only while true


def test_frequency_change_patches_the_cronjob_in_place_and_never_removes_it(cluster: Cluster) -> None:
    cluster.apply_ready("generic")
    before = cluster.cron_jobs("acme-generic")["acme-generic-vendors"]
    cluster.patch_spec("acme-generic", {"syncs": {"vendors": {"frequency": "Every4Hours"}}})

    def vendors_patched() -> dict[str, Any] | None:
        cron_job = cluster.cron_jobs("acme-generic")["acme-generic-vendors"]
        return cron_job if "-23/4" in cron_job["spec"]["schedule"] else None

    after = wait_for("patched schedule", vendors_patched)
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    assert wait_for("Ready gen 2", lambda: cluster.ready("acme-generic"))["metadata"]["generation"] == 2
    cluster.patch_spec("acme-generic", {"syncs": {"jobCosts": {"frequency": "Never"}}})
    wait_for("job-costs CronJob gone", lambda: "acme-generic-job-costs" not in cluster.cron_jobs("acme-generic"))
    status = wait_for("Ready gen 3", lambda: cluster.ready("acme-generic"))["status"]
    assert status["syncs"]["jobCosts"] == {
        "frequency": "Never",
        "runOn": "Both",  # ErpConnector's default: a Never sync still runs on ERP Requests
        "timeZone": "America/Chicago",
        "suspended": False,
    }


def test_a_cronjob_deleted_or_edited_by_hand_is_put_back(cluster: Cluster) -> None:
    cluster.apply_ready("generic")
    schedule = cluster.cron_jobs("acme-generic")["acme-generic-jobs"]["spec"]["schedule"]
    cluster.call("DELETE", cluster.path("cronjobs", "acme-generic-jobs"))
    wait_for("recreated", lambda: "acme-generic-jobs" in cluster.cron_jobs("acme-generic"), timeout=10)
    cluster.call(
        "PATCH", cluster.path("cronjobs", "acme-generic-jobs"), {"spec": {"schedule": "0 0 * * *", "suspend": True}}
    )
    wait_for(
        "restored",
        lambda: (
            (cj := cluster.cron_jobs("acme-generic")["acme-generic-jobs"])
            and cj["spec"]["schedule"] == schedule
            and cj["spec"]["suspend"] is False
        ),
        timeout=10,
    )


SPEC_RULES = "/spec/versions/0/schema/openAPIV3Schema/properties/spec/x-kubernetes-validations"


@contextlib.contextmanager
def _crd_without_its_spec_rules(cluster: Cluster, name: str, probe: dict[str, Any]) -> Iterator[None]:
    """The CRD as an older release installed it, without the spec's CEL rules, for the block only.

    No spec the current CRD accepts is refused by planning (tests/api prove the two agree), so an
    invalid generation reaches the operator only past a CRD that is older than the operator: the
    upgrade order the README warns about (CRD first). The CRD is restored, and its rules seen to
    refuse the spec patch `probe` again (a server-side dry run), before the test goes on; the probe
    must change the spec, since the API server skips (ratchets) rules on an unchanged object.
    """
    cluster.call("PATCH", CRD_PATH, [{"op": "remove", "path": SPEC_RULES}], JSON_PATCH)
    try:
        yield
    finally:
        cluster.kubectl("apply", "-f", str(CRD_FILE))
        dry_run = f"{cluster.path('erpsyncschedules', name)}?dryRun=All"
        wait_for(
            "the spec's rules back",
            lambda: cluster.client.request("PATCH", dry_run, {"spec": probe}, MERGE_PATCH).status == 422,
        )


def _accepted(cluster: Cluster, name: str, spec: dict[str, Any]) -> bool:
    try:
        cluster.patch_spec(name, spec)
    except ApiError as error:
        assert error.status == 422, error
        return False  # the API server's CRD cache has not caught up with the change yet
    return True


def test_an_invalid_generation_keeps_the_last_good_cronjobs_and_stalls(cluster: Cluster) -> None:
    cluster.apply_ready("viewpoint-spectrum")
    before = {name: cj["spec"]["schedule"] for name, cj in cluster.cron_jobs("ridge-spectrum").items()}
    invalid = {"syncs": {"vendors": {"frequency": "Every2Hours"}, "jobs": {"suspend": True}}}
    with pytest.raises(ApiError, match="Every2Hours is not offered by ViewpointSpectrum"):
        cluster.patch_spec("ridge-spectrum", invalid)  # the real API server runs the CRD's CEL rules
    probe = {"syncs": {"jobs": {"suspend": False}}}  # vendors still Every2Hours: refused by the rules
    with _crd_without_its_spec_rules(cluster, "ridge-spectrum", probe):
        wait_for("the spec's rules lifted", lambda: _accepted(cluster, "ridge-spectrum", invalid))
    stalled = wait_for("Stalled", lambda: cluster.condition("ridge-spectrum", "Stalled"))
    assert "spec.syncs.vendors.frequency: Every2Hours is not offered by ViewpointSpectrum" in stalled["message"]
    body = cluster.schedule("ridge-spectrum")
    assert body["status"]["observedGeneration"] == body["metadata"]["generation"] == 2  # kstatus: Failed, not waiting
    ready = cluster.condition("ridge-spectrum", "Ready")
    assert ready is not None and ready["status"] == "False" and ready["reason"] == "InvalidSpec"
    current = cluster.cron_jobs("ridge-spectrum")
    assert {name: cj["spec"]["schedule"] for name, cj in current.items()} == before
    assert not any(cj["spec"]["suspend"] for cj in current.values())  # nothing half-applied
    cluster.annotate("ridge-spectrum", {"erpsync.io/sync-now": "while-invalid"})
    cluster.patch_spec("ridge-spectrum", {"syncs": {"vendors": {"frequency": "Every4Hours"}}})
    wait_for("Ready gen 3", lambda: cluster.ready("ridge-spectrum"))
    assert cluster.condition("ridge-spectrum", "Stalled") is None
    assert cluster.cron_jobs("ridge-spectrum")["ridge-spectrum-jobs"]["spec"]["suspend"] is True
    # The sync-now request made while the spec was invalid waited for a valid generation.
    assert len(wait_for("sync-now Jobs", lambda: cluster.jobs("ridge-spectrum"))) == 3


def test_suspend_suspends_cronjobs_and_shows_in_status(cluster: Cluster) -> None:
    cluster.apply_ready("quickbooks-desktop")
    cluster.patch_spec("builders-qbd", {"suspend": True})
    wait_for("all suspended", lambda: all(cj["spec"]["suspend"] for cj in cluster.cron_jobs("builders-qbd").values()))
    status = wait_for("Ready", lambda: cluster.ready("builders-qbd"))["status"]
    assert all(sync["suspended"] for sync in status["syncs"].values())
    assert "nextRunTime" not in status["syncs"]["vendors"]
    cluster.patch_spec("builders-qbd", {"suspend": False, "syncs": {"vendors": {"suspend": True}}})
    expected = {
        "builders-qbd-vendors": True,
        "builders-qbd-jobs": False,
        "builders-qbd-job-costs": False,
        "builders-qbd-invoice-payments": False,
    }
    wait_for(
        "only vendors suspended",
        lambda: {n: cj["spec"]["suspend"] for n, cj in cluster.cron_jobs("builders-qbd").items()} == expected,
    )


def test_a_cronjob_with_our_labels_and_another_controller_is_left_alone_and_named(cluster: Cluster) -> None:
    # A real owner: a dependent whose owner does not exist is garbage-collected at once.
    owner = cluster.call(
        "POST", cluster.path("configmaps"), {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "other"}}
    )
    labels = {
        "erpsync.io/schedule": "granite-cmic",
        "erpsync.io/sync": "jobCosts",
        "app.kubernetes.io/managed-by": "erp-sync-operator",
    }
    cluster.call(
        "POST",
        cluster.path("cronjobs"),
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {
                "name": "granite-cmic-job-costs",
                "labels": labels,
                "ownerReferences": [
                    {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "name": "other",
                        "uid": owner["metadata"]["uid"],
                        "controller": True,
                    }
                ],
            },
            "spec": {
                "schedule": "0 1 * * *",
                "jobTemplate": {
                    "spec": {
                        "template": {
                            "spec": {"restartPolicy": "Never", "containers": [{"name": "x", "image": "busybox"}]}
                        }
                    }
                },
            },
        },
    )
    status = cluster.apply_ready("cmic")["status"]
    assert status["unmanagedCronJobs"] == ["granite-cmic-job-costs"]
    assert cluster.cron_jobs("granite-cmic")["granite-cmic-job-costs"]["spec"]["schedule"] == "0 1 * * *"
