"""Fixtures for the sync workers' end-to-end tests: a seeded Procore emulator and ERP databases.

ERP databases are SQLite always and PostgreSQL when ERPSYNC_TEST_POSTGRES_URL names a server
(`.ci/run` starts one; in CI its absence is an error, not a skip).
"""

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy

from erpsync_emulators import erp_database
from erpsync_emulators.procore import EmulatorConfig, ManualClock, ProcoreEmulator
from erpsync_worker.cli import perform
from erpsync_worker.config import WorkerConfig, load_config
from erpsync_worker.procore.client import ProcoreClient
from erpsync_worker.summary import Summary

COMPANY_ID = 4_500_000_001
CLIENT_ID, CLIENT_SECRET = "erp-sync-client", "erp-sync-secret"


@dataclass
class World:
    procore: ProcoreEmulator
    clock: ManualClock
    erp_url: str
    projects: dict[str, int]
    contracts: dict[str, int]

    def env(self, **overrides: str) -> dict[str, str]:
        return {
            "PROCORE_API_URL": self.procore.url,
            "PROCORE_LOGIN_URL": self.procore.url,
            "PROCORE_COMPANY_ID": str(COMPANY_ID),
            "PROCORE_CLIENT_ID": CLIENT_ID,
            "PROCORE_CLIENT_SECRET": CLIENT_SECRET,
            "ERP_DATABASE_URL": self.erp_url,
            **overrides,
        }

    def _sleep(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def config(self, **overrides: str) -> WorkerConfig:
        return load_config(self.env(**overrides))

    def run(self, sync: str, dry_run: bool = False, timeout: float = 5.0, **overrides: str) -> Summary:
        """Run a sync in-process; the worker waits on the emulator's clock, so throttling costs no time."""
        client = ProcoreClient(self.config(**overrides), clock=self.clock.now, sleep=self._sleep, timeout=timeout)
        try:
            return perform(sync, self.config(**overrides), client, dry_run=dry_run)
        finally:
            client.close()

    def insert(self, view: str, *rows: dict[str, Any]) -> None:
        engine = sqlalchemy.create_engine(self.erp_url)
        erp_database.insert(engine, None, {view: rows})
        engine.dispose()

    def execute(self, *statements: str) -> None:
        """SQL statements run against the ERP database, in one transaction."""
        engine = sqlalchemy.create_engine(self.erp_url)
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(sqlalchemy.text(statement))
        engine.dispose()

    def table(self, name: str) -> list[dict[str, Any]]:
        with self.procore.lock:
            return [dict(record.fields, id=record.id) for record in getattr(self.procore.state, name)]


def _seed(procore: ProcoreEmulator) -> tuple[dict[str, int], dict[str, int]]:
    company = procore.seed.company("Demo Construction", id=COMPANY_ID)
    procore.seed.line_item_type(company.id, "Labor", csv_import_code="L")
    j1 = procore.seed.project(company.id, "Riverside Tower (Procore name)", origin_id="J1", project_number="old")
    j2 = procore.seed.project(company.id, "Harbor Bridge", origin_id="J2", project_number="2026-002", active=True)
    c1 = procore.seed.work_order_contract(j1.id, number="SC-1", origin_id="C1")
    procore.seed.purchase_order_contract(j1.id, number="PO-1", origin_id="P1")
    procore.seed.requisition(c1.id, number=1, origin_id="INV-1")
    return {"J1": j1.id, "J2": j2.id}, {"C1": c1.id}


def _postgres_url() -> str | None:
    url = os.environ.get("ERPSYNC_TEST_POSTGRES_URL", "").strip()
    if not url and os.environ.get("CI"):
        raise RuntimeError("CI must test PostgreSQL: .ci/run sets ERPSYNC_TEST_POSTGRES_URL")
    return url or None


@pytest.fixture(params=["sqlite", "postgresql"])
def erp_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'erp.db'}"
        return
    server = _postgres_url()
    if server is None:
        pytest.skip("no PostgreSQL here (set ERPSYNC_TEST_POSTGRES_URL; .ci/run does)")
    database = f"erp_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{database}"'))
    url = sqlalchemy.make_url(server).set(database=database).render_as_string(hide_password=False)
    yield url
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def world(erp_url: str) -> Iterator[World]:
    clock = ManualClock()
    config = EmulatorConfig(clients={CLIENT_ID: CLIENT_SECRET}, spike_limit=50, hourly_limit=100_000)
    with ProcoreEmulator(config, clock=clock) as procore:
        projects, contracts = _seed(procore)
        erp_database.build(erp_url, erp_database.demo_data()).dispose()
        yield World(procore, clock, erp_url, projects, contracts)
