"""Staged records ("Ready to Import"), ERP Integrations only: the integrator stages new ERP vendors,
jobs and contracts; the accounting approver imports them (an admin action, erp_actions.py).

A staged record is keyed by item type and origin_id. Project-level records must name a staged or
synced project in `data.project_origin_id`; change orders also a commitment; line items a parent.
"""

from __future__ import annotations

from ..pagination import paginate
from ..routing import ApiError, ApiResponse, RequestContext, Route
from ..schema import FieldErrors
from ..state import JsonObject, Record, staged_key
from ..sync import check_batch_size
from .common import check_company_id, present

PROJECT_LEVEL = frozenset({"sub_job", "prime_contract", "purchase_order_contract", "work_order_contract"})
LINE_ITEM_PARENTS = frozenset(
    {"prime_contract", "purchase_order_contract", "work_order_contract", "commitment_change_order"}
)
STAGED_FIELDS = ("item_type", "origin_id", "origin_code", "origin_data", "parent_id", "status", "data", "item_id")


def present_staged(record: Record) -> JsonObject:
    return present(record, STAGED_FIELDS)


def _staged(ctx: RequestContext, item_type: str, origin_id: object) -> Record | None:
    if not isinstance(origin_id, str):
        return None
    return ctx.state.staged_records.find_by_origin_id(ctx.company.id, staged_key(item_type, origin_id))


def _project_known(ctx: RequestContext, origin_id: object) -> bool:
    synced = isinstance(origin_id, str) and ctx.state.projects.find_by_origin_id(ctx.company.id, origin_id)
    return bool(synced) or _staged(ctx, "project", origin_id) is not None


def _parent(ctx: RequestContext, item: JsonObject) -> Record | None:
    if "parent_id" in item:
        found = ctx.state.staged_records.get(item["parent_id"])
        return found if found is not None and found.company_id == ctx.company.id else None
    for parent_type in sorted(LINE_ITEM_PARENTS):
        found = _staged(ctx, parent_type, item.get("parent_origin_id"))
        if found is not None:
            return found
    return None


def _problems(ctx: RequestContext, item: JsonObject) -> tuple[FieldErrors, JsonObject]:
    """Per-item checks of erp_staged_records.md, and the fields to store (parent_origin_id resolved)."""
    item_type = item["item_type"]
    data = item.get("data") or {}
    problems: FieldErrors = {}
    fields = {name: value for name, value in item.items() if name != "parent_origin_id"}
    needs_project = item_type in PROJECT_LEVEL or item_type == "commitment_change_order"
    if needs_project and not _project_known(ctx, data.get("project_origin_id")):
        problems["data.project_origin_id"] = ["must name a staged or synced project"]
    if item_type == "commitment_change_order" and not data.get("commitment_origin_id"):
        problems["data.commitment_origin_id"] = ["is required for a commitment change order"]
    if item_type == "line_item":
        parent = _parent(ctx, item)
        if parent is None or parent.fields["item_type"] not in LINE_ITEM_PARENTS:
            problems["parent_id"] = ["must name a staged prime contract, PO/WO contract or commitment change order"]
        else:
            fields["parent_id"] = parent.id
    return problems, fields


def _stage(ctx: RequestContext, item: JsonObject) -> tuple[Record | None, FieldErrors]:
    problems, fields = _problems(ctx, item)
    record = _staged(ctx, item["item_type"], item["origin_id"])
    if record is not None and record.origin_owner not in (None, ctx.client_id):
        problems["origin_id"] = [f"is owned by another integration ({record.origin_owner})"]
    if problems:
        return None, problems
    if record is None:
        values = {"status": "staged", **fields}
        record = ctx.state.add_record(
            ctx.state.staged_records, ctx.company.id, values, ctx.now, origin_owner=ctx.client_id
        )
    else:
        ctx.state.staged_records.update(record, fields, ctx.now)
    return record, {}


def list_staged(ctx: RequestContext) -> ApiResponse:
    check_company_id(ctx, ctx.path_params["company_id"])
    wanted = {name: ctx.query.get(f"filters[{name}]") for name in ("item_type", "status", "origin_id")}
    records = ctx.state.staged_records.where(
        lambda record: (
            record.company_id == ctx.company.id
            and all(value is None or record.fields.get(name) == value for name, value in wanted.items())
        )
    )
    return paginate(ctx, records, present_staged)


def create_staged(ctx: RequestContext) -> ApiResponse:
    check_company_id(ctx, ctx.path_params["company_id"])
    item = ctx.body_object()
    if _staged(ctx, item["item_type"], item["origin_id"]) is not None:
        raise ApiError(422, {"origin_id": ["has already been taken"]})
    record, problems = _stage(ctx, item)
    if record is None:
        raise ApiError(422, problems)
    return ApiResponse(201, present_staged(record))


def sync_staged(ctx: RequestContext) -> ApiResponse:
    check_company_id(ctx, ctx.path_params["company_id"])
    updates = ctx.body_object()["updates"]
    check_batch_size(ctx, updates)
    entities: list[JsonObject] = []
    errors: list[JsonObject] = []
    for item in updates:
        record, problems = _stage(ctx, item)
        if record is None:
            errors.append({**item, "errors": problems})
        else:
            entities.append(present_staged(record))
    return ApiResponse(200, {"entities": entities, "errors": errors})


PATH = "/rest/v1.0/companies/{company_id}/staged_records"
ROUTES = [
    Route("GET", PATH, "RestV10CompaniesCompanyIdStagedRecordsGet", list_staged, erp_only=True),
    Route("POST", PATH, "RestV10CompaniesCompanyIdStagedRecordsPost", create_staged, erp_only=True),
    Route("PATCH", f"{PATH}/sync", "RestV10CompaniesCompanyIdStagedRecordsSyncPatch", sync_staged, erp_only=True),
]
