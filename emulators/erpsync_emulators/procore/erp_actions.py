"""What users do in Procore's ERP Integrations tool, as test-only actions: raise an ERP Request
(a button press, an export, a timer) and approve a staged record (the accounting approver).

Each ERP Request is stored, gets its Request Details when the event carries them (procore-erp-
integration.md 1.4 and 1.5), and is announced to the company's hooks as an "ERP Requests" `create`
event whose `resource_id` is the request id.
"""

from __future__ import annotations

import threading
from typing import Any

from .clock import Clock
from .state import JsonObject, ProcoreState, Record
from .webhooks import ERP_REQUESTS_RESOURCE, WebhookDispatcher

# The Procore user the emulated button presses and approvals stand for.
EMULATED_USER_ID = 4_500_000_055
IN_PROGRESS = "in_progress"

# procore-erp-integration.md 1.4: events that carry no request detail.
WITHOUT_DETAIL = frozenset(
    {
        "sync_standard_categories",
        "delete_standard_cost_codes",
        "unlink_standard_cost_codes",
        "delete_standard_categories",
        "link_vendor",
        "link_all_vendors",
        "merge_vendors",
        "unlink_vendor",
        "sync_single_job",
        "sync_sub_job",
        "sync_metadata",
        "create_requisitions",
        "delete_cost_code",
    }
)
# Events whose list elements each carry their own request_detail_id.
DETAIL_PER_ITEM = frozenset({"create_standard_cost_codes", "delete_cost_codes", "delete_cost_type_assignments"})
# The one event with request_detail_id at the root, next to request_data.
DETAIL_AT_ROOT = frozenset({"create_or_update_job"})
WITH_DETAIL = frozenset(
    {
        "sync_standard_cost_codes",
        "sync_vendors",
        "create_vendor",
        "sync_jobs",
        "create_or_update_job",
        "sync_sub_jobs",
        "create_sub_job",
        "create_budget",
        "update_budget",
        "sync_contract_payments",
        "create_payment",
        "sync_commitments",
        "create_commitment",
        "unlink_commitment",
        "sync_commitment_change_orders",
        "create_commitment_change_order",
        "unlink_commitment_change_order",
        "create_payment_application",
        "unlink_payment_application",
        "sync_prime_contracts",
        "create_prime_contract_change_order",
        "unlink_prime_contract_change_order",
        "create_company_level_direct_cost",
        "unlink_company_level_direct_cost",
    }
)
IMPORTED_EVENTS = {"vendor": "create_vendor_in_procore", "project": "create_job_in_procore"}


def _is_known(request_name: str) -> bool:
    return (
        request_name in WITH_DETAIL
        or request_name in WITHOUT_DETAIL
        or request_name in DETAIL_PER_ITEM
        or request_name.startswith("reset_")
        or request_name.endswith("_in_procore")
    )


class ErpActions:
    def __init__(self, state: ProcoreState, clock: Clock, lock: threading.RLock, webhooks: WebhookDispatcher) -> None:
        self._state = state
        self._clock = clock
        self._lock = lock
        self._webhooks = webhooks

    def raise_request(
        self,
        company_id: int,
        request_name: str,
        request_data: JsonObject | None = None,
        *,
        project_id: int | None = None,
        user_id: int = EMULATED_USER_ID,
    ) -> Record:
        """Create an ERP Request (and its details) as Procore would, and deliver its event to the hooks."""
        if not _is_known(request_name):
            raise ValueError(f"request_name {request_name!r} is not an event of Procore's ERP events dictionary")
        with self._lock:
            company = self._state.companies.get(company_id)
            if company is None or company.erp_connection is None:
                raise ValueError(f"company {company_id} has no ERP connection")
            now = self._clock.now()
            data: JsonObject = dict(request_data or {})
            fields: JsonObject = {
                "request_name": request_name,
                "request_data": data,
                "integration_app_name": company.erp_connection.integration_app_name,
            }
            request = self._state.add_record(self._state.erp_requests, company_id, fields, now)
            if request_name in DETAIL_PER_ITEM:
                for items in [value for value in data.values() if isinstance(value, list)]:
                    for item in items:
                        if isinstance(item, dict):
                            item["request_detail_id"] = self._new_detail(request, now).id
            elif request_name in DETAIL_AT_ROOT:
                fields["request_detail_id"] = self._new_detail(request, now).id
            elif request_name in WITH_DETAIL:
                data["request_detail_id"] = self._new_detail(request, now).id
            self._webhooks.publish(company_id, ERP_REQUESTS_RESOURCE, request.id, user_id, project_id)
            return request

    def _new_detail(self, request: Record, now: float) -> Record:
        fields = {"erp_request_id": request.id, "status": IN_PROGRESS, "messages": []}
        return self._state.add_record(self._state.erp_request_details, request.company_id, fields, now)

    def approve(self, staged_record_id: int, user_id: int = EMULATED_USER_ID) -> tuple[Record, Record]:
        """Import a staged vendor or project into Procore: creates the object from `data`, links the staged
        record to it, and raises `create_*_in_procore`. Returns the new object and the ERP Request."""
        with self._lock:
            staged = self._state.staged_records.get(staged_record_id)
            if staged is None:
                raise ValueError(f"no staged record {staged_record_id}")
            item_type = staged.fields["item_type"]
            if item_type not in IMPORTED_EVENTS:
                raise ValueError(f"approving a staged {item_type} is not emulated (only vendor and project)")
            if staged.fields.get("status", "staged") != "staged":
                raise ValueError(f"staged record {staged.id} is {staged.fields['status']}, not staged")
            table = self._state.vendors if item_type == "vendor" else self._state.projects
            data: dict[str, Any] = staged.fields.get("data") or {}
            # *_origin_id keys name ERP objects; the emulator does not translate them to Procore ids.
            values = {key: value for key, value in data.items() if not key.endswith("_origin_id")}
            origin = {key: staged.fields.get(key) for key in ("origin_id", "origin_code", "origin_data")}
            active = {"is_active": True} if item_type == "vendor" else {"active": True}
            created = self._state.add_record(
                table,
                staged.company_id,
                {**active, **values, **origin},
                self._clock.now(),
                origin_owner=staged.origin_owner,
            )
            self._state.staged_records.update(staged, {"status": "imported", "item_id": created.id}, self._clock.now())
            summary = {"id": created.id, "name": created.fields.get("name"), **origin}
            request_data = {"vendor" if item_type == "vendor" else "project": summary, "company_id": staged.company_id}
            request = self.raise_request(staged.company_id, IMPORTED_EVENTS[item_type], request_data, user_id=user_id)
            return created, request
