"""ERP job costs (`erp_job_costs/sync`), which Procore opens to ERP partners only.

Shape from Procore's 2022 ERP technical guide (docs/procore-emulator.md): the project is named by its
`origin_id` (`job_origin_id`), and each update is keyed by cost code and line item type. A second
sync of the same pair replaces its amounts; there is no origin_id to key on.
"""

from __future__ import annotations

from ..routing import ApiError, ApiResponse, RequestContext, Route
from ..schema import FieldErrors
from ..state import JsonObject, Record
from ..sync import check_batch_size
from .common import check_company_id, present

KEY_FIELDS = ("project_id", "cost_code_id", "line_item_type_id")


def present_job_cost(record: Record) -> JsonObject:
    return present(record, KEY_FIELDS)


def _item_problems(ctx: RequestContext, project_id: int, item: JsonObject) -> FieldErrors:
    problems: FieldErrors = {}
    cost_code = ctx.state.cost_codes.get(item["cost_code_id"])
    if cost_code is None or cost_code.fields.get("project_id") != project_id:
        problems["cost_code_id"] = ["is not a cost code of this project"]
    line_item_type = ctx.state.line_item_types.get(item["line_item_type_id"])
    if line_item_type is None or line_item_type.company_id != ctx.company.id:
        problems["line_item_type_id"] = ["is not a line item type of this company"]
    return problems


def sync_erp_job_costs(ctx: RequestContext) -> ApiResponse:
    body = ctx.body_object()
    check_company_id(ctx, body["company_id"])
    project = ctx.state.projects.find_by_origin_id(ctx.company.id, body["job_origin_id"])
    if project is None:
        raise ApiError(422, {"job_origin_id": ["no project of this company has this origin_id"]})
    check_batch_size(ctx, body["updates"])
    table = ctx.state.erp_job_costs
    existing = {
        (record.fields["cost_code_id"], record.fields["line_item_type_id"]): record
        for record in table.where(lambda record: record.fields.get("project_id") == project.id)
    }
    entities: list[JsonObject] = []
    errors: list[JsonObject] = []
    for item in body["updates"]:
        problems = _item_problems(ctx, project.id, item)
        if problems:
            errors.append({**item, "errors": problems})
            continue
        key = (item["cost_code_id"], item["line_item_type_id"])
        record = existing.get(key)
        if record is None:
            record = ctx.state.add_record(table, ctx.company.id, {"project_id": project.id, **item}, ctx.now)
            existing[key] = record
        else:
            table.update(record, dict(item), ctx.now)
        entities.append(present_job_cost(record))
    return ApiResponse(200, {"entities": entities, "errors": errors})


ROUTES = [
    Route("PATCH", "/rest/v1.0/erp_job_costs/sync", "RestV10ErpJobCostsSyncPatch", sync_erp_job_costs, erp_only=True),
]
