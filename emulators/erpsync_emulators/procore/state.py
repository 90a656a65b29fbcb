"""The emulator's data: companies and one table per Procore resource, all in memory.

Records keep their API fields in a plain dict (the JSON the client sent, with numbers parsed as
Decimal), so what a client wrote is what it reads back. Money stays a string or a Decimal: the JSON
parser never produces a float here.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

# Procore ids "may exceed what can be stored in a 32-bit integer": start above 2**32 so a client
# that squeezes them into 32 bits fails at once.
FIRST_ID = 2**32 + 1000

JsonObject = dict[str, Any]


def iso_timestamp(unix_seconds: float) -> str:
    return _iso_second(int(unix_seconds))


@lru_cache(maxsize=4096)
def _iso_second(unix_seconds: int) -> str:
    # Cached: records written in one batch share their second, and listings format thousands of them.
    return datetime.fromtimestamp(unix_seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class ErpConnection:
    """What a Procore Super User's enablement plus `POST .../erp_connections` leave on a company."""

    integration_app_name: str = "erp-sync"


@dataclass
class Company:
    id: int
    name: str
    # None: ERP Integrations is not on for this company, and the ERP-only endpoints refuse it.
    erp_connection: ErpConnection | None = None


@dataclass
class Record:
    id: int
    company_id: int
    fields: JsonObject
    created_at: float
    updated_at: float
    # The OAuth client (integration) that wrote origin_id: only it may sync the record by origin_id.
    origin_owner: str | None = None

    @property
    def origin_id(self) -> str | None:
        value = self.fields.get("origin_id")
        return value if isinstance(value, str) else None


def record_origin_id(record: Record) -> str | None:
    return record.origin_id


# How many filtered views a table remembers between two writes.
MAX_CACHED_VIEWS = 16


@dataclass
class Table:
    """Records of one kind, in creation order, with the company-wide `origin_id` index Procore enforces.

    Change records through `insert` and `update` only: they also invalidate the cached views.
    """

    kind: str
    # The key of the company-wide unique index; staged records qualify origin_id with their item_type.
    key_of: Callable[[Record], str | None] = record_origin_id
    _records: dict[int, Record] = field(default_factory=dict)
    _by_origin_id: dict[tuple[int, str], int] = field(default_factory=dict)
    _views: dict[Hashable, list[Record]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[Record]:
        return iter(self._records.values())

    def get(self, record_id: int) -> Record | None:
        return self._records.get(record_id)

    def find_by_origin_id(self, company_id: int, origin_id: str) -> Record | None:
        record_id = self._by_origin_id.get((company_id, origin_id))
        return None if record_id is None else self._records[record_id]

    def origin_id_taken(self, company_id: int, origin_id: str, by_other_than: int | None = None) -> bool:
        owner = self._by_origin_id.get((company_id, origin_id))
        return owner is not None and owner != by_other_than

    def where(self, predicate: Callable[[Record], bool]) -> list[Record]:
        return [record for record in self._records.values() if predicate(record)]

    def view(self, key: Hashable, predicate: Callable[[Record], bool]) -> list[Record]:
        """`where(predicate)`, remembered under `key` until the next write.

        A client paging through 100,000 vendors asks for the same filtered list a hundred times; the
        key must name everything the predicate depends on.
        """
        cached = self._views.get(key)
        if cached is None:
            if len(self._views) >= MAX_CACHED_VIEWS:
                self._views.clear()
            cached = self._views[key] = self.where(predicate)
        return cached

    def insert(self, record: Record) -> Record:
        if record.id in self._records:
            raise ValueError(f"{self.kind} {record.id} already exists")
        origin_id = self.key_of(record)
        if origin_id is not None and self.origin_id_taken(record.company_id, origin_id):
            raise ValueError(f"{self.kind} origin_id {origin_id!r} is already used in company {record.company_id}")
        self._records[record.id] = record
        self._views.clear()
        if origin_id is not None:
            self._by_origin_id[(record.company_id, origin_id)] = record.id
        return record

    def update(self, record: Record, changes: JsonObject, now: float) -> Record:
        """Apply changes; the caller has checked that a new origin_id is free in the company."""
        old_origin_id = self.key_of(record)
        self._views.clear()
        record.fields.update(changes)
        record.updated_at = now
        new_origin_id = self.key_of(record)
        if new_origin_id != old_origin_id:
            if old_origin_id is not None:
                del self._by_origin_id[(record.company_id, old_origin_id)]
            if new_origin_id is not None:
                self._by_origin_id[(record.company_id, new_origin_id)] = record.id
        return record

    def clear(self) -> None:
        self._records.clear()
        self._by_origin_id.clear()
        self._views.clear()


def staged_key(item_type: object, origin_id: str) -> str:
    # An ERP may number its vendors and its jobs alike: origin_id is unique per item type.
    return f"{item_type}:{origin_id}"


def staged_record_key(record: Record) -> str | None:
    origin_id = record.origin_id
    return None if origin_id is None else staged_key(record.fields.get("item_type"), origin_id)


class ProcoreState:
    """Everything the emulated Procore knows. Not thread-safe: the server serialises access."""

    def __init__(self) -> None:
        self.companies: dict[int, Company] = {}
        self.vendors = Table("vendors")
        self.projects = Table("projects")
        self.standard_cost_code_lists = Table("standard_cost_code_lists")
        self.standard_cost_codes = Table("standard_cost_codes")
        self.cost_codes = Table("cost_codes")
        self.line_item_types = Table("line_item_types")
        self.work_order_contracts = Table("work_order_contracts")
        self.purchase_order_contracts = Table("purchase_order_contracts")
        self.requisitions = Table("requisitions")
        self.contract_payments = Table("contract_payments")
        self.erp_job_costs = Table("erp_job_costs")
        self.cost_code_line_item_types = Table("cost_code_line_item_types")
        self.invoice_payments = Table("invoice_payments")
        self.erp_requests = Table("erp_requests")
        self.erp_request_details = Table("erp_request_details")
        self.staged_records = Table("staged_records", key_of=staged_record_key)
        self.webhook_hooks = Table("webhook_hooks")
        self.webhook_deliveries = Table("webhook_deliveries")
        self._next_id = FIRST_ID

    def tables(self) -> dict[str, Table]:
        return {
            table.kind: table
            for table in (
                self.vendors,
                self.projects,
                self.standard_cost_code_lists,
                self.standard_cost_codes,
                self.cost_codes,
                self.line_item_types,
                self.work_order_contracts,
                self.purchase_order_contracts,
                self.requisitions,
                self.contract_payments,
                self.erp_job_costs,
                self.cost_code_line_item_types,
                self.invoice_payments,
                self.erp_requests,
                self.erp_request_details,
                self.staged_records,
                self.webhook_hooks,
                self.webhook_deliveries,
            )
        }

    def table(self, kind: str) -> Table:
        tables = self.tables()
        if kind not in tables:
            raise KeyError(f"unknown resource kind {kind!r}; known: {', '.join(sorted(tables))}")
        return tables[kind]

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def claim_id(self, record_id: int | None) -> int:
        """Use a seed's explicit id, keeping generated ids clear of it; or generate one."""
        if record_id is None:
            return self.new_id()
        self._next_id = max(self._next_id, record_id)
        return record_id

    def add_company(
        self, name: str, company_id: int | None = None, erp_connection: ErpConnection | None = None
    ) -> Company:
        company = Company(id=self.claim_id(company_id), name=name, erp_connection=erp_connection)
        if company.id in self.companies:
            raise ValueError(f"company {company.id} already exists")
        self.companies[company.id] = company
        return company

    def add_record(
        self,
        table: Table,
        company_id: int,
        fields: JsonObject,
        now: float,
        record_id: int | None = None,
        origin_owner: str | None = None,
    ) -> Record:
        if company_id not in self.companies:
            raise ValueError(f"unknown company {company_id}")
        record = Record(
            id=self.claim_id(record_id),
            company_id=company_id,
            fields=fields,
            created_at=now,
            updated_at=now,
            origin_owner=origin_owner,
        )
        return table.insert(record)

    def project_in_company(self, project_id: int, company_id: int) -> Record | None:
        project = self.projects.get(project_id)
        return project if project is not None and project.company_id == company_id else None

    def commitment(self, contract_id: int) -> Record | None:
        """A work order or purchase order contract: contract payments accept either."""
        return self.work_order_contracts.get(contract_id) or self.purchase_order_contracts.get(contract_id)

    def clear(self) -> None:
        self.companies.clear()
        for table in self.tables().values():
            table.clear()
        self._next_id = FIRST_ID
