"""`make demo`: the project end to end on the embedded defaults, against emulators on loopback.

    python -m erpsync_emulators.demo [--part worker|operator|all]

The worker part builds a small SQLite ERP database from code, starts the Procore API emulator and
runs each sync once with the real `erp-sync-worker` command, printing the summaries. Nothing here
talks to Procore or to a cluster.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["worker", "all"], default="all")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="erpsync-demo-") as folder:
        if args.part in ("worker", "all"):
            worker_demo(Path(folder))


if __name__ == "__main__":
    main()
