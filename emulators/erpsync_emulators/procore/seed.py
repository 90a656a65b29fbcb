"""Filling the emulator before a test or the demo: from Python, or from a JSON or YAML seed file.

A seed document has one list per resource; project-scoped records name their `project_id`, and the
company follows from it. Ids are optional (generated ids are 64-bit); give them when other records
refer to them. Amounts must be strings (or integers): a float in a seed is refused, because the
emulator never holds money as a float.

    companies: [{id: 4500000001, name: Demo Construction}]
    vendors: [{company_id: 4500000001, name: Acme, origin_id: V100}]
    projects: [{id: 4500000100, company_id: 4500000001, name: Tower, origin_id: J1}]
    work_order_contracts: [{id: 4500000200, project_id: 4500000100, number: SC-1, origin_id: C1}]
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from .config import EmulatorConfig
from .state import Company, ErpConnection, JsonObject, ProcoreState, Record, Table
from .webhooks import ERP_REQUESTS_RESOURCE

ERP_STANDARD_LIST_NAME = "ERP Standard Cost Code List"


class SeedError(ValueError):
    pass


def _no_floats(value: Any, where: str) -> Any:
    if isinstance(value, float):
        raise SeedError(f"{where}: {value!r} is a float; write numbers with decimals as strings")
    if isinstance(value, dict):
        return {key: _no_floats(item, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [_no_floats(item, f"{where}[{index}]") for index, item in enumerate(value)]
    return value


class Seeder:
    """Adds records directly, bypassing the HTTP API (and its validation), under the server's lock."""

    def __init__(self, state: ProcoreState, config: EmulatorConfig, now: Callable[[], float], lock: threading.RLock):
        self._state = state
        self._config = config
        self._now = now
        self._lock = lock

    def _add(self, table: Table, company_id: int, fields: Mapping[str, Any]) -> Record:
        values: JsonObject = _no_floats(dict(fields), table.kind)
        record_id = values.pop("id", None)
        # The integration (OAuth client id) that owns the record's origin_id, e.g. another ERP connector.
        owner = values.pop("origin_owner", None)
        with self._lock:
            return self._state.add_record(
                table, company_id, values, self._now(), record_id=record_id, origin_owner=owner
            )

    def _project(self, project_id: int) -> Record:
        project = self._state.projects.get(project_id)
        if project is None:
            raise SeedError(f"unknown project {project_id}")
        return project

    def company(
        self,
        name: str,
        id: int | None = None,
        erp_standard_cost_code_list: bool = True,
        erp_connection: bool | Mapping[str, str] = True,
    ) -> Company:
        """A company; by default with ERP Integrations on (an ERP connection) and the ERP standard cost
        code list that connection creates. `erp_connection` may name the `integration_app_name`."""
        connection = None
        if erp_connection:
            connection = ErpConnection(**erp_connection) if isinstance(erp_connection, Mapping) else ErpConnection()
        with self._lock:
            company = self._state.add_company(name, id, connection)
        if erp_standard_cost_code_list:
            self.standard_cost_code_list(company.id, ERP_STANDARD_LIST_NAME, is_erp_list=True)
        return company

    def vendor(self, company_id: int, name: str, **fields: Any) -> Record:
        return self._add(self._state.vendors, company_id, {"name": name, "is_active": True, **fields})

    def project(self, company_id: int, name: str, **fields: Any) -> Record:
        return self._add(self._state.projects, company_id, {"name": name, "active": True, **fields})

    def standard_cost_code_list(self, company_id: int, name: str, **fields: Any) -> Record:
        defaults = {"is_erp_list": False, "available_to_use_on_new_projects": True}
        return self._add(self._state.standard_cost_code_lists, company_id, {**defaults, "name": name, **fields})

    def standard_cost_code(self, standard_cost_code_list_id: int, code: str, name: str, **fields: Any) -> Record:
        code_list = self._state.standard_cost_code_lists.get(standard_cost_code_list_id)
        if code_list is None:
            raise SeedError(f"unknown standard cost code list {standard_cost_code_list_id}")
        values = {"standard_cost_code_list_id": code_list.id, "code": code, "name": name, **fields}
        return self._add(self._state.standard_cost_codes, code_list.company_id, values)

    def cost_code(self, project_id: int, code: str, name: str, **fields: Any) -> Record:
        project = self._project(project_id)
        values = {"project_id": project.id, "code": code, "name": name, **fields}
        return self._add(self._state.cost_codes, project.company_id, values)

    def line_item_type(self, company_id: int, name: str, **fields: Any) -> Record:
        return self._add(self._state.line_item_types, company_id, {"name": name, "base_type": "other", **fields})

    def work_order_contract(self, project_id: int, **fields: Any) -> Record:
        project = self._project(project_id)
        return self._add(self._state.work_order_contracts, project.company_id, {"project_id": project.id, **fields})

    def purchase_order_contract(self, project_id: int, **fields: Any) -> Record:
        project = self._project(project_id)
        return self._add(self._state.purchase_order_contracts, project.company_id, {"project_id": project.id, **fields})

    def requisition(self, commitment_id: int, **fields: Any) -> Record:
        contract = self._state.commitment(commitment_id)
        if contract is None:
            raise SeedError(f"unknown commitment {commitment_id}")
        values = {"project_id": contract.fields["project_id"], "commitment_id": contract.id, **fields}
        return self._add(self._state.requisitions, contract.company_id, values)

    def contract_payment(self, contract_id: int, amount: str, **fields: Any) -> Record:
        contract = self._state.commitment(contract_id)
        if contract is None:
            raise SeedError(f"unknown contract {contract_id}")
        values = {"project_id": contract.fields["project_id"], "contract_id": contract.id, "amount": amount, **fields}
        return self._add(self._state.contract_payments, contract.company_id, values)

    def webhook_hook(
        self,
        company_id: int,
        destination_url: str,
        authorization: str | None = None,
        namespace: str = "erp-sync",
        resource_name: str = ERP_REQUESTS_RESOURCE,
    ) -> Record:
        """A v2 hook with one `create` trigger, as `POST /webhooks/hooks` and `.../triggers` make it."""
        with self._lock:
            fields = {
                "api_version": "v2",
                "namespace": namespace,
                "destination_url": destination_url,
                "destination_headers": {} if authorization is None else {"Authorization": authorization},
                "owned_by_company_id": company_id,
                "owned_by_project_id": None,
                "triggers": [{"id": self._state.new_id(), "resource_name": resource_name, "event_type": "create"}],
            }
            return self._state.add_record(self._state.webhook_hooks, company_id, fields, self._now())

    def staged_record(self, company_id: int, item_type: str, origin_id: str, **fields: Any) -> Record:
        values = {"item_type": item_type, "origin_id": origin_id, "status": "staged", **fields}
        return self._add(self._state.staged_records, company_id, values)

    def load(self, document: Mapping[str, Any]) -> None:
        """Load a whole seed document (the structure in this module's docstring)."""
        known = {
            "clients",
            "companies",
            "vendors",
            "projects",
            "standard_cost_code_lists",
            "standard_cost_codes",
            "cost_codes",
            "line_item_types",
            "work_order_contracts",
            "purchase_order_contracts",
            "requisitions",
            "contract_payments",
            "staged_records",
            "webhook_hooks",
        }
        unknown = set(document) - known
        if unknown:
            raise SeedError(f"unknown seed sections: {', '.join(sorted(unknown))}")
        try:
            self._load(document)
        except (KeyError, TypeError) as problem:
            raise SeedError(f"malformed seed: {problem!r}") from problem

    def _load(self, document: Mapping[str, Any]) -> None:
        for client_id, secret in document.get("clients", {}).items():
            self._config.clients[str(client_id)] = str(secret)
        for company in document.get("companies", []):
            self.company(
                company["name"],
                company.get("id"),
                company.get("erp_standard_cost_code_list", True),
                company.get("erp_connection", True),
            )
        # Order matters: records may refer to ones from earlier sections.
        for entry in document.get("standard_cost_code_lists", []):
            self.standard_cost_code_list(**entry)
        for entry in document.get("vendors", []):
            self.vendor(**entry)
        for entry in document.get("projects", []):
            self.project(**entry)
        for entry in document.get("standard_cost_codes", []):
            self.standard_cost_code(**entry)
        for entry in document.get("cost_codes", []):
            self.cost_code(**entry)
        for entry in document.get("line_item_types", []):
            self.line_item_type(**entry)
        for entry in document.get("work_order_contracts", []):
            self.work_order_contract(**entry)
        for entry in document.get("purchase_order_contracts", []):
            self.purchase_order_contract(**entry)
        for entry in document.get("requisitions", []):
            self.requisition(**entry)
        for entry in document.get("contract_payments", []):
            self.contract_payment(**entry)
        for entry in document.get("staged_records", []):
            self.staged_record(**entry)
        for entry in document.get("webhook_hooks", []):
            self.webhook_hook(**entry)

    def load_file(self, path: str | Path) -> None:
        text = Path(path).read_text(encoding="utf-8")
        # JSON numbers with decimals become Decimal; YAML floats are refused later by _no_floats.
        is_json = str(path).endswith(".json")
        document = json.loads(text, parse_float=Decimal) if is_json else (yaml.safe_load(text) or {})
        if not isinstance(document, dict):
            raise SeedError(f"{path}: a seed file holds a mapping of resource lists")
        self.load(document)
