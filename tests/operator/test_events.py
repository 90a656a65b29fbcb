"""The Event a pass posts about CronJobs names the kind of change: created, updated to a new generation of
the spec (an edit, or a sync suspended with the plugin), repaired after a change made outside the schedule,
deleted (docs/operator.md lists the reasons)."""

from typing import Any

from tests.operator.conftest import Cluster, wait_for


def _event(cluster: Cluster, reason: str, text: str) -> dict[str, Any] | None:
    return next((e for e in cluster.events() if e["reason"] == reason and text in e["message"]), None)


def test_each_kind_of_change_has_its_reason(cluster: Cluster) -> None:
    cluster.apply_ready("generic")
    created = wait_for("CronJobsCreated", lambda: _event(cluster, "CronJobsCreated", "acme-generic-vendors"))
    assert "created CronJob acme-generic-vendors (" in created["message"]

    # A sync suspended as `kubectl erpsync suspend --sync vendors` does: a new generation, applied.
    cluster.patch_spec("acme-generic", {"syncs": {"vendors": {"suspend": True}}})
    updated = wait_for("CronJobsUpdated", lambda: _event(cluster, "CronJobsUpdated", "acme-generic-vendors"))
    assert updated["message"] == "updated CronJob acme-generic-vendors (spec.suspend)"
    assert _event(cluster, "CronJobsRepaired", "acme-generic-vendors") is None

    # The same field changed by hand on the CronJob: put back, and said to be a repair.
    cluster.call("PATCH", cluster.path("cronjobs", "acme-generic-jobs"), {"spec": {"suspend": True}})
    repaired = wait_for("CronJobsRepaired", lambda: _event(cluster, "CronJobsRepaired", "acme-generic-jobs"))
    assert repaired["message"] == "repaired CronJob acme-generic-jobs (spec.suspend)"

    # A sync no longer planned.
    cluster.patch_spec("acme-generic", {"syncs": {"jobCosts": {"frequency": "Never"}}})
    deleted = wait_for("CronJobsDeleted", lambda: _event(cluster, "CronJobsDeleted", "acme-generic-job-costs"))
    assert deleted["message"] == "deleted CronJob acme-generic-job-costs (no longer planned)"
