"""Cost codes: standard lists and codes (company), project cost codes, and line item (cost) types."""

from __future__ import annotations

from ..pagination import paginate
from ..routing import ApiResponse, RequestContext, Route, not_found
from ..schema import FieldErrors
from ..state import JsonObject, Record, Table
from ..sync import SyncTarget, run_sync
from .common import (
    check_company_id,
    id_matches,
    merge_problems,
    origin_id_matches,
    present,
    require_project,
    required_text_problems,
)

# A parent chain longer than this is a cycle: stop rather than loop.
MAX_CODE_DEPTH = 32


def _full_code(table: Table, record: Record) -> str:
    parts = [str(record.fields.get("code", ""))]
    parent_id = record.fields.get("parent_id")
    while parent_id is not None and len(parts) < MAX_CODE_DEPTH:
        parent = table.get(parent_id)
        if parent is None:
            break
        parts.append(str(parent.fields.get("code", "")))
        parent_id = parent.fields.get("parent_id")
    return "-".join(reversed(parts))


def _parent_problems(
    table: Table, item: JsonObject, record: Record | None, same_scope: str, scope_id: int
) -> FieldErrors:
    parent_id = item.get("parent_id")
    if parent_id is None:
        return {}
    parent = table.get(parent_id)
    if parent is None or parent.fields.get(same_scope) != scope_id or (record is not None and parent.id == record.id):
        return {"parent_id": ["is not a cost code of the same list or project"]}
    return {}


# Standard cost code lists and codes


def present_standard_list(record: Record) -> JsonObject:
    return present(record, ("name", "is_erp_list", "available_to_use_on_new_projects"))


def list_standard_cost_code_lists(ctx: RequestContext) -> ApiResponse:
    check_company_id(ctx, ctx.query["company_id"])
    lists = ctx.state.standard_cost_code_lists.where(lambda record: record.company_id == ctx.company.id)
    return paginate(ctx, lists, present_standard_list)


def _require_standard_list(ctx: RequestContext, list_id: int) -> Record:
    found = ctx.state.standard_cost_code_lists.get(list_id)
    if found is None or found.company_id != ctx.company.id:
        raise not_found("Standard cost code list")
    return found


def present_standard_code(ctx: RequestContext, record: Record) -> JsonObject:
    return present(
        record,
        ("standard_cost_code_list_id", "parent_id", "code", "name", "origin_id", "origin_data"),
        full_code=_full_code(ctx.state.standard_cost_codes, record),
    )


def list_standard_cost_codes(ctx: RequestContext) -> ApiResponse:
    check_company_id(ctx, ctx.query["company_id"])
    list_id = _require_standard_list(ctx, ctx.query["standard_cost_code_list_id"]).id
    codes = ctx.state.standard_cost_codes.where(
        lambda record: record.fields.get("standard_cost_code_list_id") == list_id and origin_id_matches(ctx, record)
    )
    return paginate(ctx, codes, lambda record: present_standard_code(ctx, record))


def sync_standard_cost_codes(ctx: RequestContext) -> ApiResponse:
    body = ctx.body_object()
    check_company_id(ctx, body["company_id"])
    list_id = _require_standard_list(ctx, body["standard_cost_code_list_id"]).id
    table = ctx.state.standard_cost_codes

    def validate(item: JsonObject, record: Record | None) -> FieldErrors:
        return merge_problems(
            required_text_problems(item, record, "code", "name"),
            _parent_problems(table, item, record, "standard_cost_code_list_id", list_id),
        )

    target = SyncTarget(
        table=table,
        in_scope=lambda record: record.fields.get("standard_cost_code_list_id") == list_id,
        validate=validate,
        new_record_fields=lambda: {"standard_cost_code_list_id": list_id},
        present=lambda record: present_standard_code(ctx, record),
    )
    return run_sync(ctx, target, body["updates"])


# Project cost codes


def present_cost_code(ctx: RequestContext, record: Record) -> JsonObject:
    return present(
        record,
        ("project_id", "parent_id", "standard_cost_code_id", "code", "name", "position", "origin_id", "origin_data"),
        full_code=_full_code(ctx.state.cost_codes, record),
    )


def list_cost_codes(ctx: RequestContext) -> ApiResponse:
    project_id = require_project(ctx, ctx.query["project_id"]).id
    codes = ctx.state.cost_codes.where(
        lambda record: (
            record.fields.get("project_id") == project_id and origin_id_matches(ctx, record) and id_matches(ctx, record)
        )
    )
    return paginate(ctx, codes, lambda record: present_cost_code(ctx, record))


def sync_cost_codes(ctx: RequestContext) -> ApiResponse:
    project_id = require_project(ctx, ctx.query["project_id"]).id
    table = ctx.state.cost_codes
    standard_codes = ctx.state.standard_cost_codes

    def validate(item: JsonObject, record: Record | None) -> FieldErrors:
        problems = merge_problems(
            required_text_problems(item, record, "code", "name"),
            _parent_problems(table, item, record, "project_id", project_id),
        )
        standard_id = item.get("standard_cost_code_id")
        if standard_id is not None:
            standard = standard_codes.get(standard_id)
            if standard is None or standard.company_id != ctx.company.id:
                problems["standard_cost_code_id"] = ["is not a standard cost code of this company"]
        return problems

    target = SyncTarget(
        table=table,
        in_scope=lambda record: record.fields.get("project_id") == project_id,
        validate=validate,
        new_record_fields=lambda: {"project_id": project_id},
        present=lambda record: present_cost_code(ctx, record),
    )
    return run_sync(ctx, target, ctx.body_object()["updates"])


# Line item types (cost types)


def present_line_item_type(record: Record) -> JsonObject:
    return present(
        record,
        ("name", "csv_import_code", "base_type", "origin_id", "origin_data"),
        code=record.fields.get("csv_import_code"),
    )


def list_line_item_types(ctx: RequestContext) -> ApiResponse:
    check_company_id(ctx, ctx.query["company_id"])
    require_project(ctx, ctx.query["project_id"])
    types = ctx.state.line_item_types.where(
        lambda record: record.company_id == ctx.company.id and origin_id_matches(ctx, record)
    )
    return paginate(ctx, types, present_line_item_type)


def sync_line_item_types(ctx: RequestContext) -> ApiResponse:
    body = ctx.body_object()
    check_company_id(ctx, body["company_id"])
    target = SyncTarget(
        table=ctx.state.line_item_types,
        in_scope=lambda record: True,
        validate=lambda item, record: required_text_problems(item, record, "name"),
        new_record_fields=lambda: {"base_type": "other"},
        present=present_line_item_type,
    )
    return run_sync(ctx, target, body["updates"])


ROUTES = [
    Route(
        "GET", "/rest/v1.0/standard_cost_code_lists", "RestV10StandardCostCodeListsGet", list_standard_cost_code_lists
    ),
    Route("GET", "/rest/v1.0/standard_cost_codes", "RestV10StandardCostCodesGet", list_standard_cost_codes),
    Route(
        "PATCH", "/rest/v1.0/standard_cost_codes/sync", "RestV10StandardCostCodesSyncPatch", sync_standard_cost_codes
    ),
    Route("GET", "/rest/v1.0/cost_codes", "RestV10CostCodesGet", list_cost_codes),
    Route("PATCH", "/rest/v1.0/cost_codes/sync", "RestV10CostCodesSyncPatch", sync_cost_codes),
    Route("GET", "/rest/v1.0/line_item_types", "RestV10LineItemTypesGet", list_line_item_types),
    Route("PATCH", "/rest/v1.0/line_item_types/sync", "RestV10LineItemTypesSyncPatch", sync_line_item_types),
]
