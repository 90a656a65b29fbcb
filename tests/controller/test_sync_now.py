"""Sync now: which syncs a request starts, and the Jobs it builds."""

from typing import Any

from erpsync.api.models import ErpSyncSchedule
from erpsync.controller.sync_now import build_sync_now_job, pending_request
from erpsync.planning.names import on_demand_job_name
from tests.support.specs import make_schedule


def _schedule(erp: str) -> ErpSyncSchedule:
    return make_schedule(erp, namespace="erp", suspend=True)


def test_default_request_runs_every_scheduled_sync() -> None:
    request = pending_request({"erpsync.io/sync-now": "t1"}, None, _schedule("CMiC"))
    assert request is not None and request.syncs == ("jobCosts",) and not request.refused


def test_named_syncs_may_include_never_and_refuse_unavailable_ones() -> None:
    annotations = {"erpsync.io/sync-now": "t2", "erpsync.io/sync-now-syncs": "vendors, invoicePayments, bogus"}
    request = pending_request(annotations, None, _schedule("CMiC"))
    assert request is not None
    assert request.syncs == ("vendors",)
    assert request.refused == ("invoicePayments", "bogus")


def test_a_handled_token_is_not_pending() -> None:
    assert pending_request({"erpsync.io/sync-now": "t3"}, "t3", _schedule("Generic")) is None
    assert pending_request({}, None, _schedule("Generic")) is None


def test_job_is_deterministic_owned_and_runs_the_same_pod_as_the_cronjob() -> None:
    owner: dict[str, Any] = {
        "apiVersion": "erpsync.io/v1alpha1",
        "kind": "ErpSyncSchedule",
        "name": "acme",
        "uid": "u",
        "controller": True,
        "blockOwnerDeletion": True,
    }
    schedule = _schedule("SageIntacct")
    job = build_sync_now_job(schedule, "vendors", "t4", owner)
    assert job["metadata"]["name"] == on_demand_job_name("acme", "vendors", "t4")
    assert build_sync_now_job(schedule, "vendors", "t4", owner) == job
    assert job["metadata"]["ownerReferences"] == [owner]
    assert job["metadata"]["labels"]["erpsync.io/trigger"] == "OnDemand"
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["erp-sync-worker", "run", "vendors"]
