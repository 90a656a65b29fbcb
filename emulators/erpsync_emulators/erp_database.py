"""A small ERP database for tests and the demo, built from code (no binary is committed).

It holds the five canonical views as tables, in any database SQLAlchemy reaches (SQLite for the
demo, PostgreSQL in CI). Amounts are TEXT in SQLite, as docs/erp-connector.md advises, and
NUMERIC in PostgreSQL.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy
from sqlalchemy import Boolean, Column, Date, Integer, MetaData, Numeric, String, Table, Text


def _tables(metadata: MetaData, dialect: str) -> dict[str, Table]:
    money: Any = Text if dialect == "sqlite" else Numeric(14, 2)
    return {
        "erpsync_vendors": Table(
            "erpsync_vendors",
            metadata,
            Column("vendor_id", String(64), primary_key=True),
            Column("code", String(64)),
            Column("name", String(255)),
            Column("address", String(255)),
            Column("city", String(128)),
            Column("state_code", String(8)),
            Column("zip", String(16)),
            Column("country_code", String(2)),
            Column("phone", String(32)),
            Column("email", String(255)),
            Column("is_active", Boolean),
        ),
        "erpsync_jobs": Table(
            "erpsync_jobs",
            metadata,
            Column("job_id", String(64), primary_key=True),
            Column("number", String(64)),
            Column("name", String(255)),
            Column("is_active", Boolean),
            Column("address", String(255)),
            Column("city", String(128)),
            Column("state_code", String(8)),
            Column("zip", String(16)),
            Column("country_code", String(2)),
        ),
        "erpsync_cost_codes": Table(
            "erpsync_cost_codes",
            metadata,
            Column("job_id", String(64)),
            Column("code", String(64)),
            Column("name", String(255)),
            Column("parent_code", String(64)),
        ),
        "erpsync_job_costs": Table(
            "erpsync_job_costs",
            metadata,
            Column("job_id", String(64)),
            Column("cost_code", String(64)),
            Column("cost_type", String(32)),
            Column("job_to_date_cost", money),
            Column("job_to_date_units", money),
            Column("committed_cost", money),
            Column("original_estimate", money),
            Column("revised_estimate", money),
        ),
        "erpsync_invoice_payments": Table(
            "erpsync_invoice_payments",
            metadata,
            Column("payment_id", String(64), primary_key=True),
            Column("job_id", String(64)),
            Column("commitment_id", String(64)),
            Column("invoice_id", String(64)),
            Column("amount", money),
            Column("paid_on", Date),
            Column("check_number", String(32)),
            Column("payment_number", Integer),
            Column("notes", Text),
        ),
    }


@dataclass
class ErpData:
    """Rows per view, as dicts of column values."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, view: str, *rows: Mapping[str, Any]) -> "ErpData":
        self.rows.setdefault(view, []).extend(dict(row) for row in rows)
        return self


def build(url: str, data: ErpData | None = None) -> sqlalchemy.Engine:
    """Create (or recreate) the five tables at `url` and fill them."""
    engine = sqlalchemy.create_engine(url)
    metadata = MetaData()
    tables = _tables(metadata, engine.dialect.name)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    if data is not None:
        insert(engine, tables, data.rows)
    return engine


def insert(
    engine: sqlalchemy.Engine, tables: Mapping[str, Table] | None, rows: Mapping[str, Iterable[Mapping[str, Any]]]
) -> None:
    tables = tables or _tables(MetaData(), engine.dialect.name)
    with engine.begin() as connection:
        for view, items in rows.items():
            columns = [column.name for column in tables[view].columns]
            batch = [{name: item.get(name) for name in columns} for item in items]  # absent columns are NULL
            if batch:
                connection.execute(tables[view].insert(), batch)


def demo_data() -> ErpData:
    """A small construction company: vendors, two jobs, cost codes, job costs and payments."""
    data = ErpData()
    data.add(
        "erpsync_vendors",
        {
            "vendor_id": "V100",
            "code": "ACME",
            "name": "Acme Steel",
            "city": "Chicago",
            "state_code": "IL",
            "country_code": "US",
            "phone": "312-555-0100",
            "email": "ap@acme.example",
            "is_active": True,
        },
        {
            "vendor_id": "V200",
            "code": "BRICK",
            "name": "Brick & Mortar Co",
            "city": "Denver",
            "state_code": "CO",
            "country_code": "US",
            "is_active": True,
        },
        {
            "vendor_id": "V300",
            "code": "GLASS",
            "name": "Clear Glass Ltd",
            "city": "Toronto",
            "state_code": "ON",
            "country_code": "CA",
            "is_active": False,
        },
        {"vendor_id": "V400", "code": "NONAME", "name": None, "is_active": True},
        {
            "vendor_id": "V500",
            "code": "BADST",
            "name": "Bad State Inc",
            "state_code": "ZZ",
            "country_code": "US",
            "is_active": True,
        },
    )
    data.add(
        "erpsync_jobs",
        {
            "job_id": "J1",
            "number": "2026-001",
            "name": "Riverside Tower",
            "is_active": True,
            "city": "Chicago",
            "state_code": "IL",
            "country_code": "US",
        },
        {"job_id": "J2", "number": "2026-002", "name": "Harbor Bridge", "is_active": True},
        {"job_id": "J3", "number": "2026-003", "name": "Unlinked Depot", "is_active": True},
    )
    data.add(
        "erpsync_cost_codes",
        {"job_id": None, "code": "01", "name": "General Requirements", "parent_code": None},
        {"job_id": None, "code": "01-100", "name": "Supervision", "parent_code": "01"},
        {"job_id": "J1", "code": "03", "name": "Concrete", "parent_code": None},
        {"job_id": "J1", "code": "03-300", "name": "Cast-in-Place Concrete", "parent_code": "03"},
    )
    data.add(
        "erpsync_job_costs",
        {
            "job_id": "J1",
            "cost_code": "03-300",
            "cost_type": "L",
            "job_to_date_cost": "12500.30",
            "job_to_date_units": "120",
            "committed_cost": "40000.00",
            "original_estimate": "50000.00",
            "revised_estimate": "52000.00",
        },
    )
    data.add(
        "erpsync_invoice_payments",
        {
            "payment_id": "PAY-1",
            "job_id": "J1",
            "commitment_id": "C1",
            "invoice_id": "INV-1",
            "amount": "0.30",
            "paid_on": date.fromisoformat("2026-02-15"),
            "check_number": "1001",
            "payment_number": 1,
        },
        {
            "payment_id": "PAY-2",
            "job_id": "J1",
            "commitment_id": "C1",
            "invoice_id": None,
            "amount": "10.00",
            "paid_on": date.fromisoformat("2026-03-01"),
            "check_number": "1002",
            "payment_number": 2,
        },
        {
            "payment_id": "PAY-3",
            "job_id": "J3",
            "commitment_id": "C9",
            "amount": "5.00",
            "paid_on": date.fromisoformat("2026-03-02"),
        },
    )
    return data
