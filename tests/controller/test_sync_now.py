"""Sync now: which syncs a request starts, and the Jobs it builds."""

from typing import Any

from erpsync.api.models import ErpSyncSchedule
from erpsync.controller.sync_now import (
    build_sync_now_job,
    erp_request_of,
    erp_request_token,
    pending_request,
    refusal,
)
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


def test_syncs_the_procore_mode_cannot_do_are_refused_with_the_mode_named() -> None:
    annotations = {"erpsync.io/sync-now": "t4", "erpsync.io/sync-now-syncs": "jobCosts,vendors,invoicePayments"}
    public = make_schedule("CMiC", procore={"companyId": 42, "credentialsSecretRef": {"name": "p"}})
    request = pending_request(annotations, None, public)
    assert request is not None and request.syncs == ("vendors",)
    assert refusal(public, request.refused) == (
        "invoicePayments not offered by CMiC; jobCosts not possible in PublicApi mode; allowed: vendors, jobs"
    )


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


def _environment(job: dict[str, Any]) -> dict[str, str]:
    container = job["spec"]["template"]["spec"]["containers"][0]
    return {item["name"]: item.get("value", "") for item in container["env"]}


def test_a_run_for_an_erp_request_tells_the_worker_its_id_and_no_other_run_does() -> None:
    owner: dict[str, Any] = {"apiVersion": "erpsync.io/v1alpha1", "kind": "ErpSyncSchedule", "name": "acme"}
    schedule = _schedule("SageIntacct")
    token = erp_request_token(4242)
    assert erp_request_of(token) == "4242"
    assert _environment(build_sync_now_job(schedule, "vendors", token, owner))["ERPSYNC_ERP_REQUEST_ID"] == "4242"
    for other in ("t5", "erp-request-", "erp-request-0", "erp-request-12x", "xerp-request-12"):
        assert erp_request_of(other) is None
        assert "ERPSYNC_ERP_REQUEST_ID" not in _environment(build_sync_now_job(schedule, "vendors", other, owner))
