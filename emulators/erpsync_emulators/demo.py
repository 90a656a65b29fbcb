"""`make demo`: the project end to end on the embedded defaults, against emulators on loopback.

    python -m erpsync_emulators.demo [--part worker|operator|all]

The operator part starts the Kubernetes API emulator and the real operator, applies examples/ with
kubectl, shows the schedules and their per-sync status, and triggers a sync now. The worker part
builds a small SQLite ERP database from code, starts the Procore API emulator and runs each sync
with the real `erp-sync-worker` command, printing the summaries. Nothing here talks to Procore or
to a cluster, and everything started is stopped at the end.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from erpsync_emulators import erp_database
from erpsync_emulators.operator_process import OperatorProcess
from erpsync_emulators.procore import EmulatorConfig, ProcoreEmulator

console = Console(width=140)
COMPANY_ID = 4_500_000_001
SYNCS = ("vendors", "jobs", "job-costs", "invoice-payments")


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
    console.rule("[bold]Sync workers: ERP (SQLite) -> Procore API emulator")
    console.print(
        "This runs against a [bold]Procore API emulator[/] on 127.0.0.1, not Procore. Against Procore,\n"
        "set PROCORE_API_URL/PROCORE_LOGIN_URL (or spec.procore.environment), the company id and the\n"
        "OAuth client credentials of a Developer Managed Service Account (see docs/erp-connector.md).\n"
    )
    database = folder / "demo-erp.db"
    erp_database.build(f"sqlite:///{database}", erp_database.demo_data()).dispose()
    console.print(f"demo ERP database built from code: {database}")
    config = EmulatorConfig(clients={"demo-client": "demo-secret"})
    with ProcoreEmulator(config) as procore:
        _seed_procore(procore)
        console.print(f"Procore API emulator listening on {procore.url}\n")
        env = {
            **os.environ,
            "PROCORE_API_URL": procore.url,
            "PROCORE_LOGIN_URL": procore.url,
            "PROCORE_COMPANY_ID": str(COMPANY_ID),
            "PROCORE_CLIENT_ID": "demo-client",
            "PROCORE_CLIENT_SECRET": "demo-secret",
            "ERP_DATABASE_URL": f"sqlite:///{database}",
            "ERPSYNC_ERP": "Generic",
            "TERMINATION_MESSAGE_PATH": str(folder / "termination-log"),
        }
        for title, runs in (("first run", SYNCS), ("second run: nothing changed in the ERP", SYNCS)):
            table = Table(title=title, show_edge=False, header_style="bold")
            for column in (
                "SYNC",
                "RESULT",
                "EXIT",
                "READ",
                "CREATED",
                "UPDATED",
                "UNCHANGED",
                "SKIPPED",
                "FAILED",
                "REQUESTS",
            ):
                table.add_column(column)
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
            console.print(table)
            if errors:
                console.print("[dim]reported items (bad ERP rows and unlinked records, by design of the demo data):")
                for error in errors:
                    console.print(f"  [dim]{error}")
            console.print()
        console.print(f"Procore emulator requests by route: {json.dumps(procore.requests.counts(), indent=None)}")


NAMESPACE = "erp-sync"
PRINTER_COLUMNS = (  # the CRD's printer columns: the emulator serves no server-side tables
    "NAME:.metadata.name,ERP:.spec.erp,PAYMENTS:.status.syncs.invoicePayments.frequency,"
    'READY:.status.conditions[?(@.type=="Ready")].status,LAST SYNC:.status.lastSyncTime,'
    "AGE:.metadata.creationTimestamp"
)


def _kubectl(kubeconfig: Path, *args: str) -> str:
    console.print(f"[bold cyan]$ kubectl {' '.join(args)}")
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "KUBECACHEDIR": str(kubeconfig.parent / "kubectl-cache")}
    done = subprocess.run(["kubectl", *args], env=env, capture_output=True, text=True, timeout=60, check=False)
    output = (done.stdout + done.stderr).rstrip()
    console.print(output, highlight=False)
    return done.stdout


def operator_demo(folder: Path) -> None:
    from erpsync_emulators.kube import DEFAULT_NAMESPACES, EmulatorServer, load_manifests

    console.rule("[bold]Operator: ErpSyncSchedules -> CronJobs, on an emulated Kubernetes API")
    console.print(
        "This runs against a [bold]Kubernetes API emulator[/] on 127.0.0.1 (no cluster, no kubelet: CronJobs\n"
        "are created but nothing runs them). On a real cluster: `kubectl apply -f crds/` (or the Helm chart),\n"
        "then `erp-sync operator --all-namespaces` with your kubeconfig, or in-cluster with its service account.\n"
    )
    repo = Path(__file__).resolve().parents[2]
    (crd,) = load_manifests(repo / "crds" / "erpsyncschedules.erpsync.io.yaml")
    with EmulatorServer(crds=[crd], seed_namespaces=(*DEFAULT_NAMESPACES, NAMESPACE)) as server:
        kubeconfig = server.write_kubeconfig(folder / "kubeconfig", namespace=NAMESPACE)
        console.print(f"Kubernetes API emulator listening on {server.url} (kubeconfig {kubeconfig})")
        operator = OperatorProcess(kubeconfig, folder / "operator.log", NAMESPACE).start()
        console.print(f"operator started: erp-sync operator -n {NAMESPACE} --standalone (pid {operator.pid})\n")
        try:
            _kubectl(kubeconfig, "apply", "--validate=false", "-f", str(repo / "examples"))
            _kubectl(kubeconfig, "wait", "--for=condition=Ready", "erpsyncschedules", "--all", "--timeout=60s")
            _kubectl(kubeconfig, "get", "erpsyncschedules", "-o", f"custom-columns={PRINTER_COLUMNS}")
            body = json.loads(_kubectl_quiet(kubeconfig, "get", "erpsync", "acme-generic", "-o", "json"))
            table = Table(title="acme-generic: status.syncs", show_edge=False, header_style="bold")
            for column in ("SYNC", "FREQUENCY", "SCHEDULE", "TIME ZONE", "CRONJOB", "SUSPENDED", "NEXT RUN"):
                table.add_column(column)
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
            console.print(table)
            _kubectl(
                kubeconfig,
                "get",
                "cronjobs",
                "-o",
                "custom-columns=NAME:.metadata.name,SCHEDULE:.spec.schedule,TIMEZONE:.spec.timeZone,"
                "SUSPEND:.spec.suspend,OWNER:.metadata.ownerReferences[0].name",
            )
            console.print("\n[bold]Sync now[/] (an admin action: it patches the schedule)")
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
            console.print("\noperator and emulator stopped.")


def _kubectl_quiet(kubeconfig: Path, *args: str) -> str:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "KUBECACHEDIR": str(kubeconfig.parent / "kubectl-cache")}
    return subprocess.run(["kubectl", *args], env=env, capture_output=True, text=True, timeout=60, check=True).stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["worker", "operator", "all"], default="all")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="erpsync-demo-") as folder:
        if args.part in ("operator", "all"):
            operator_demo(Path(folder))
        if args.part in ("worker", "all"):
            worker_demo(Path(folder))


if __name__ == "__main__":
    main()
