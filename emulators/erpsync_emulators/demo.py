"""`make demo`: the project end to end on the embedded defaults, on loopback.

    python -m erpsync_emulators.demo [--part worker|operator|erp-flow|all]

The operator part starts a real Kubernetes control plane (testbed/) and the real operator, applies
the CRD and examples/ with kubectl, shows the schedules and their per-sync status, and triggers a
sync now. The worker part
builds a small SQLite ERP database from code, starts the Procore API emulator and runs each sync
with the real `erp-sync-worker` command, printing the summaries. The erp-flow part runs Procore's ERP
flow once (erp_flow.py): an ERP Request raised in the emulator reaches a real `erp-sync webhooks`, the
operator's on-demand Job runs the worker, which stages the new vendors and closes the request; an
approval's follow-up request runs the same way. Nothing here talks to Procore or to a cluster, and
everything started is stopped at the end.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from erpsync.text_table import TextTable
from erpsync_emulators import erp_database, erp_flow
from erpsync_emulators.operator_process import OperatorProcess
from erpsync_emulators.procore import EmulatorConfig, ProcoreEmulator
from erpsync_testbed import ControlPlane, kube_binaries
from erpsync_testbed.client import ApiClient
from erpsync_testbed.control_plane import KUBE_VERSION

COMPANY_ID = 4_500_000_001
SYNCS = ("vendors", "jobs", "job-costs", "invoice-payments")


def say(text: str = "") -> None:
    print(text, flush=True)  # interleaved with the subprocesses' output


def heading(title: str) -> None:
    say(f"\n== {title} ==")


def print_table(title: str, table: TextTable) -> None:
    say(f"{title}:")
    say(table.render())


def _seed_procore(procore: ProcoreEmulator) -> None:
    company = procore.seed.company("Demo Construction", id=COMPANY_ID)
    procore.seed.line_item_type(company.id, "Labor", csv_import_code="L")
    tower = procore.seed.project(company.id, "Riverside Tower", origin_id="J1", project_number="2026-001")
    procore.seed.project(company.id, "Harbor Bridge", origin_id="J2", project_number="2026-002")
    contract = procore.seed.work_order_contract(tower.id, number="SC-1", origin_id="C1")
    procore.seed.requisition(contract.id, number=1, origin_id="INV-1")


def _run_sync(sync: str, env: dict[str, str]) -> dict[str, Any]:
    worker = str(Path(sys.executable).with_name("erp-sync-worker"))
    done = subprocess.run(
        [worker, "run", sync, "--log-format", "text"], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    summary["exitCode"] = done.returncode
    return summary


def worker_demo(folder: Path) -> None:
    heading("Sync workers: ERP (SQLite) -> Procore API emulator")
    say(
        "This runs against a Procore API emulator on 127.0.0.1, not Procore. Against Procore,\n"
        "set PROCORE_API_URL/PROCORE_LOGIN_URL (or spec.procore.environment), the company id and the\n"
        "OAuth client credentials of a Developer Managed Service Account (see docs/erp-connector.md).\n"
    )
    database = folder / "demo-erp.db"
    erp_database.build(f"sqlite:///{database}", erp_database.demo_data()).dispose()
    say(f"demo ERP database built from code: {database}")
    config = EmulatorConfig(clients={"demo-client": "demo-secret"})
    with ProcoreEmulator(config) as procore:
        _seed_procore(procore)
        say(f"Procore API emulator listening on {procore.url}\n")
        env = {
            **os.environ,
            "PROCORE_API_URL": procore.url,
            "PROCORE_LOGIN_URL": procore.url,
            "PROCORE_COMPANY_ID": str(COMPANY_ID),
            "PROCORE_CLIENT_ID": "demo-client",
            "PROCORE_CLIENT_SECRET": "demo-secret",
            "ERP_DATABASE_URL": f"sqlite:///{database}",
            "TERMINATION_MESSAGE_PATH": str(folder / "termination-log"),
        }
        for title, runs in (("first run", SYNCS), ("second run: nothing changed in the ERP", SYNCS)):
            columns = ("SYNC", "RESULT", "EXIT", "READ", "CREATED", "UPDATED", "UNCHANGED", "SKIPPED", "FAILED")
            table = TextTable((*columns, "REQUESTS"))
            errors: list[str] = []
            for sync in runs:
                summary = _run_sync(sync, env)
                table.add_row(
                    sync,
                    summary["result"],
                    str(summary["exitCode"]),
                    *(
                        str(summary[key])
                        for key in ("read", "created", "updated", "unchanged", "skipped", "failed", "requests")
                    ),
                )
                errors += [f"{sync}: {error}" for error in summary["errors"]]
            print_table(title, table)
            if errors:
                say("reported items (bad ERP rows and unlinked records, by design of the demo data):")
                for error in errors:
                    say(f"  {error}")
            say()
        say(f"Procore emulator requests by route: {json.dumps(procore.requests.counts(), indent=None)}")


NAMESPACE = "erp-sync"  # the examples' namespace


def _kubectl(kubeconfig: Path, *args: str) -> str:
    say(f"$ kubectl {' '.join(args)}")
    done = subprocess.run(
        [kube_binaries()["kubectl"], *args],
        env={**os.environ, "KUBECONFIG": str(kubeconfig)},
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    output = (done.stdout + done.stderr).rstrip()
    say(output)
    if done.returncode != 0:
        raise SystemExit(f"demo: kubectl {' '.join(args)} failed ({done.returncode})")
    return done.stdout


def operator_demo(folder: Path) -> None:
    heading("Operator: ErpSyncSchedules -> CronJobs, on a real Kubernetes control plane")
    say(
        f"etcd, kube-apiserver and kube-controller-manager {KUBE_VERSION} (built by .ci/kube.sh) on 127.0.0.1,\n"
        "with RBAC on; no kubelet, so CronJobs and Jobs are created but no Pod runs. On your own cluster:\n"
        "`kubectl apply -f crds/` (or the Helm chart), then `erp-sync operator --all-namespaces` with your\n"
        "kubeconfig, or in-cluster with its ServiceAccount.\n"
    )
    repo = Path(__file__).resolve().parents[2]
    with ControlPlane(progress=lambda step: say(f"  {step}")) as control_plane:
        kubeconfig = control_plane.kubeconfig
        say(f"API server {control_plane.server} ready (kubeconfig {kubeconfig})")
        _kubectl(kubeconfig, "apply", "-f", str(repo / "crds"))
        control_plane.wait_for_custom_resource_definitions()
        _kubectl(kubeconfig, "create", "namespace", NAMESPACE)
        # The operator's own identity (a client certificate), kubectl's context in the examples' namespace.
        certificate, key = control_plane.pki.issue_client("erp-sync-operator-demo", ("system:masters",))
        user = {"client-certificate": str(certificate), "client-key": str(key)}
        operator_kubeconfig = control_plane.write_kubeconfig(folder / "operator.kubeconfig", user, NAMESPACE)
        kubeconfig = control_plane.admin_kubeconfig(folder / "kubeconfig", NAMESPACE)
        operator = OperatorProcess(operator_kubeconfig, folder / "operator.log", NAMESPACE).start()
        say(f"operator started: erp-sync operator -n {NAMESPACE} --standalone (pid {operator.pid})\n")
        try:
            _kubectl(kubeconfig, "apply", "-f", str(repo / "examples"))
            _kubectl(kubeconfig, "wait", "--for=condition=Ready", "erpsyncschedules", "--all", "--timeout=60s")
            _kubectl(kubeconfig, "get", "erpsyncschedules")  # the CRD's printer columns, from the server
            body = json.loads(_kubectl_quiet(kubeconfig, "get", "erpsync", "acme-generic", "-o", "json"))
            table = TextTable(("SYNC", "FREQUENCY", "SCHEDULE", "TIME ZONE", "CRONJOB", "SUSPENDED", "NEXT RUN"))
            for sync, status in body["status"]["syncs"].items():
                table.add_row(
                    sync,
                    status["frequency"],
                    status.get("schedule", "-"),
                    status["timeZone"],
                    status.get("cronJob", "-"),
                    str(status["suspended"]),
                    status.get("nextRunTime", "-"),
                )
            print_table("acme-generic: status.syncs", table)
            _kubectl(
                kubeconfig,
                "get",
                "cronjobs",
                "-o",
                "custom-columns=NAME:.metadata.name,SCHEDULE:.spec.schedule,TIMEZONE:.spec.timeZone,"
                "SUSPEND:.spec.suspend,OWNER:.metadata.ownerReferences[0].name",
            )
            say("\nSync now (an admin action: it patches the schedule)")
            _kubectl(
                kubeconfig,
                "annotate",
                "erpsync/acme-generic",
                "erpsync.io/sync-now=demo-1",
                "erpsync.io/sync-now-syncs=vendors,invoicePayments",
                "--overwrite",
            )
            _kubectl(
                kubeconfig,
                "wait",
                "--for=jsonpath={.status.lastHandledSyncNow}=demo-1",
                "erpsync/acme-generic",
                "--timeout=30s",
            )
            _kubectl(
                kubeconfig,
                "get",
                "jobs",
                "-l",
                "erpsync.io/trigger=OnDemand",
                "-o",
                "custom-columns=NAME:.metadata.name,SYNC:.metadata.labels.erpsync\\.io/sync,"
                "COMMAND:.spec.template.spec.containers[0].command",
            )
            _kubectl(
                kubeconfig,
                "get",
                "events",
                "--field-selector",
                "involvedObject.name=acme-generic",
                "-o",
                "custom-columns=TYPE:.type,REASON:.reason,MESSAGE:.message",
            )
        finally:
            operator.stop()
    say("\noperator stopped; the control plane stopped and its folder removed.")


def _kubectl_quiet(kubeconfig: Path, *args: str) -> str:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    command = [kube_binaries()["kubectl"], *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=True).stdout


def _show_run(what: str, summary: dict[str, Any]) -> None:
    counts = ("read", "staged", "created", "updated", "unchanged", "failed", "requestsClosed")
    shown = ", ".join(f"{key} {summary.get(key, 0)}" for key in counts)
    say(f"  {what}: {summary['result']} (exit {summary['exitCode']}): {shown}")


def _show_request(procore: ProcoreEmulator, request_id: int) -> None:
    status, messages = erp_flow.request_as_procore_shows(procore, request_id)
    if status == "no detail":
        say(f"  Procore shows ERP Request {request_id}: nothing to close (Procore gives this event no detail)")
        return
    say(f"  Procore shows ERP Request {request_id}: {status}")
    for message in messages:
        say(f"    {message}")


def _deliver_and_run(procore: ProcoreEmulator, client: ApiClient, folder: Path, request_id: int) -> dict[str, Any]:
    """Wait for the webhook's delivery and the operator's Job, then play the kubelet for it."""
    deliveries = erp_flow.wait_for(
        "the webhook's delivery", lambda: [d for d in erp_flow.deliveries_of(procore, request_id) if d["attempts"]]
    )
    say(f"  webhook delivered to the receiver: HTTP {deliveries[0]['response_status']}")
    job = erp_flow.await_job(client, NAMESPACE, request_id)
    container = job["spec"]["template"]["spec"]["containers"][0]
    request_env = next(e["value"] for e in container["env"] if e["name"] == "ERPSYNC_ERP_REQUEST_ID")
    say(f"  the operator created Job {job['metadata']['name']} (ERPSYNC_ERP_REQUEST_ID={request_env})")
    say(f"  playing the kubelet: {' '.join(container['command'])}, with the Job's env and Secret volumes")
    summary = erp_flow.run_job(client, NAMESPACE, job, folder)
    _show_run("worker", summary)
    return summary


def erp_flow_demo(folder: Path) -> None:
    heading("Procore's ERP flow: Refresh ERP vendor list -> webhook -> receiver -> on-demand Job -> worker")
    say(
        "The Procore emulator delivers its ERP Request webhook to a real `erp-sync webhooks` process, which\n"
        "patches the schedule's sync-now annotation; the real operator creates the Job. No kubelet here: the demo\n"
        "runs the Job's command on this machine with the Job's environment (docs/webhooks.md).\n"
    )
    repo = Path(__file__).resolve().parents[2]
    erp_url = f"sqlite:///{folder / 'erp-flow.db'}"
    erp_flow.build_erp_database(erp_url)
    config = EmulatorConfig(clients={erp_flow.CLIENT_ID: erp_flow.CLIENT_SECRET})
    with ControlPlane(progress=lambda step: say(f"  {step}")) as control_plane:
        _kubectl_quiet(control_plane.kubeconfig, "apply", "-f", str(repo / "crds"))
        control_plane.wait_for_custom_resource_definitions()
        _kubectl_quiet(control_plane.kubeconfig, "create", "namespace", NAMESPACE)
        certificate, key = control_plane.pki.issue_client("erp-sync-operator-demo", ("system:masters",))
        user = {"client-certificate": str(certificate), "client-key": str(key)}
        operator_kubeconfig = control_plane.write_kubeconfig(folder / "erp-flow-operator.kubeconfig", user, NAMESPACE)
        kubeconfig = control_plane.admin_kubeconfig(folder / "erp-flow.kubeconfig", NAMESPACE)
        operator = OperatorProcess(operator_kubeconfig, folder / "erp-flow-operator.log", NAMESPACE).start()
        client = control_plane.client()
        try:
            with (
                erp_flow.running_receiver(kubeconfig, NAMESPACE, folder) as receiver,
                ProcoreEmulator(config) as procore,
            ):
                say(f"operator started (pid {operator.pid}); receiver `erp-sync webhooks` on {receiver.url}")
                erp_flow.seed_procore(procore, receiver.url)
                say(f"Procore emulator on {procore.url}: company {erp_flow.COMPANY_ID}, hook -> {receiver.url}")
                for path, body in erp_flow.cluster_objects(NAMESPACE, procore.url, erp_url):
                    client.create(path, body)
                    say(f"created {body['kind']} {body['metadata']['name']}")
                _kubectl(kubeconfig, "wait", "--for=condition=Ready", f"erpsync/{erp_flow.SCHEDULE}", "--timeout=60s")

                request = procore.erp.raise_request(erp_flow.COMPANY_ID, "sync_vendors")
                say(f"\n1. In Procore: Refresh ERP vendor list -> ERP Request {request.id} (sync_vendors)")
                _deliver_and_run(procore, client, folder, request.id)
                _show_request(procore, request.id)
                (delivery,) = erp_flow.deliveries_of(procore, request.id)
                procore.webhooks.redeliver(delivery["id"])
                erp_flow.wait_for(
                    "the redelivery", lambda: erp_flow.deliveries_of(procore, request.id)[0]["attempts"] == 2 or None
                )
                (again,) = erp_flow.deliveries_of(procore, request.id)
                jobs = erp_flow.on_demand_jobs(client, NAMESPACE, request.id)
                say(
                    f"  Procore delivers the same event again: HTTP {again['response_status']}, a duplicate; "
                    f"still {len(jobs)} Job for the request"
                )

                staged = {r.fields["origin_id"]: r.id for r in procore.state.staged_records}
                say(f"\n2. In Procore: staged vendors {', '.join(sorted(staged))}; a user approves V100")
                vendor, follow_up = procore.erp.approve(staged["V100"])
                say(
                    f"  Procore created vendor {vendor.id} and raised ERP Request {follow_up.id} "
                    f"({follow_up.fields['request_name']})"
                )
                _deliver_and_run(procore, client, folder, follow_up.id)
                _show_request(procore, follow_up.id)
        except (TimeoutError, RuntimeError) as error:
            raise SystemExit(f"demo: {error}") from None
        finally:
            client.close()
            operator.stop()
    say("\nreceiver, Procore emulator and operator stopped; the control plane stopped and its folder removed.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["worker", "operator", "erp-flow", "all"], default="all")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="erpsync-demo-") as folder:
        if args.part in ("operator", "all"):
            operator_demo(Path(folder))
        if args.part in ("worker", "all"):
            worker_demo(Path(folder))
        if args.part in ("erp-flow", "all"):
            erp_flow_demo(Path(folder))


if __name__ == "__main__":
    main()
