"""Procore's ERP flow once, end to end on loopback (the demo's `erp-flow` part): "Refresh ERP vendor list" in the
emulated Procore -> webhook -> `erp-sync webhooks` -> the operator's on-demand Job -> the worker, run with the Job's
command and environment, stages the new vendors and closes the request -> an approval -> its follow-up request runs.
"""

import time
from pathlib import Path

from erpsync_emulators import erp_flow
from erpsync_emulators.procore import EmulatorConfig, ProcoreEmulator
from tests.operator.conftest import Cluster, wait_for


def test_a_refresh_runs_one_job_that_stages_once_and_closes_once_and_the_approval_follows(
    cluster: Cluster, tmp_path: Path
) -> None:
    erp_url = f"sqlite:///{tmp_path / 'erp.db'}"
    erp_flow.build_erp_database(erp_url)
    kubeconfig = cluster.control_plane.admin_kubeconfig(tmp_path / "receiver.kubeconfig", cluster.namespace)
    client, namespace = cluster.client, cluster.namespace
    config = EmulatorConfig(clients={erp_flow.CLIENT_ID: erp_flow.CLIENT_SECRET})
    with (
        erp_flow.running_receiver(kubeconfig, namespace, tmp_path) as receiver,
        ProcoreEmulator(config) as procore,
    ):
        erp_flow.seed_procore(procore, receiver.url)
        for path, body in erp_flow.cluster_objects(namespace, procore.url, erp_url):
            client.create(path, body)
        wait_for("the schedule Ready", lambda: cluster.ready(erp_flow.SCHEDULE), timeout=60)
        request = procore.erp.raise_request(erp_flow.COMPANY_ID, "sync_vendors")
        try:
            job = erp_flow.await_job(client, namespace, request.id)
        except TimeoutError:
            schedule = cluster.schedule(erp_flow.SCHEDULE)
            raise AssertionError(
                f"{schedule['metadata'].get('annotations')} {schedule.get('status')}\n"
                f"{erp_flow.deliveries_of(procore, request.id)}\n{receiver.log.read_text()[-3000:]}\n"
                f"{cluster.operator.output()[-5000:]}"
            ) from None
        # Procore sends the same event again: the receiver recognises it and starts nothing.
        (delivery,) = erp_flow.deliveries_of(procore, request.id)
        procore.webhooks.redeliver(delivery["id"])
        erp_flow.wait_for(
            "the redelivery answered",
            lambda: erp_flow.deliveries_of(procore, request.id)[0]["attempts"] == 2 or None,
        )
        time.sleep(2)  # what a second start would have created by now
        assert [j["metadata"]["name"] for j in erp_flow.on_demand_jobs(client, namespace, request.id)] == [
            job["metadata"]["name"]
        ]
        assert job["metadata"]["labels"]["erpsync.io/sync"] == "vendors"

        summary = erp_flow.run_job(client, namespace, job, tmp_path)
        assert (summary["staged"], summary["requestsClosed"], summary["exitCode"]) == (4, 1, 0), summary
        staged = {r.fields["origin_id"]: r.id for r in procore.state.staged_records}
        assert sorted(staged) == ["V100", "V200", "V300", "V500"]
        status, messages = erp_flow.request_as_procore_shows(procore, request.id)
        assert status == "success" and messages and messages[0].startswith("vendors: "), (status, messages)
        closes = procore.requests.count("PATCH", "/rest/v1.0/companies/{company_id}/erp_request_details/{id}")
        assert closes == 1

        _, follow_up = procore.erp.approve(staged["V100"])
        assert follow_up.fields["request_name"] == "create_vendor_in_procore"
        second = erp_flow.await_job(client, namespace, follow_up.id)
        again = erp_flow.run_job(client, namespace, second, tmp_path)
        # V100 is now linked and as the ERP has it; the others still wait; nothing is staged again.
        assert (again["unchanged"], again.get("staged", 0), again["exitCode"]) == (4, 0, 0), again
        assert len(procore.state.staged_records) == 4
        assert erp_flow.request_as_procore_shows(procore, request.id)[0] == "success"  # closed once, unchanged
        assert procore.requests.count("PATCH", "/rest/v1.0/companies/{company_id}/erp_request_details/{id}") == 1
    log = receiver.log.read_text()
    assert "Traceback" not in log and erp_flow.AUTHORIZATION[-10:] not in log, log[-3000:]
