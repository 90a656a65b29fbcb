"""ERP Requests (read, list) and their Request Details (close out), ERP Integrations only.

Requests are raised by test-only actions (erp_actions.py); the integrator reads them and closes each
request detail once with `success` or `failed` plus user-facing `messages`.
"""

from __future__ import annotations

from ..pagination import paginate
from ..routing import ApiError, ApiResponse, RequestContext, Route, not_found
from ..schema import FieldErrors
from ..state import JsonObject, Record
from ..sync import check_batch_size
from .common import check_company_id, present

IN_PROGRESS = "in_progress"


def present_request(record: Record) -> JsonObject:
    return present(record, ("request_name", "request_data", "integration_app_name"), company_id=record.company_id)


def present_detail(record: Record) -> JsonObject:
    return present(record, ("erp_request_id", "status", "messages"))


def _company_record(ctx: RequestContext, record: Record | None, what: str) -> Record:
    check_company_id(ctx, ctx.path_params["company_id"])
    if record is None or record.company_id != ctx.company.id:
        raise not_found(what)
    return record


def show_request(ctx: RequestContext) -> ApiResponse:
    request = _company_record(ctx, ctx.state.erp_requests.get(ctx.path_params["id"]), "ERP request")
    return ApiResponse(200, present_request(request))


def list_requests(ctx: RequestContext) -> ApiResponse:
    check_company_id(ctx, ctx.path_params["company_id"])
    open_ids = {
        detail.fields["erp_request_id"]
        for detail in ctx.state.erp_request_details.where(lambda detail: detail.fields["status"] == IN_PROGRESS)
    }
    wanted_open = ctx.query.get("filters[open]")
    name = ctx.query.get("filters[request_name]")
    requests = ctx.state.erp_requests.where(
        lambda record: (
            record.company_id == ctx.company.id
            and (wanted_open is None or (record.id in open_ids) == wanted_open)
            and (name is None or record.fields["request_name"] == name)
        )
    )
    return paginate(ctx, requests, present_request)


def _close(ctx: RequestContext, detail: Record, status: str, messages: list[str]) -> FieldErrors:
    current = detail.fields["status"]
    if current != IN_PROGRESS:
        # Procore does not say; the emulator's choice: a closed detail stays closed.
        return {"status": [f"request detail {detail.id} is already closed ({current})"]}
    ctx.state.erp_request_details.update(detail, {"status": status, "messages": messages}, ctx.now)
    return {}


def close_detail(ctx: RequestContext) -> ApiResponse:
    detail = _company_record(ctx, ctx.state.erp_request_details.get(ctx.path_params["id"]), "ERP request detail")
    change = ctx.body_object()["request_detail"]
    problems = _close(ctx, detail, change["status"], change.get("messages", []))
    if problems:
        raise ApiError(422, problems)
    return ApiResponse(200, present_detail(detail))


def close_details(ctx: RequestContext) -> ApiResponse:
    check_company_id(ctx, ctx.path_params["company_id"])
    updates = ctx.body_object()["updates"]
    check_batch_size(ctx, updates)
    entities: list[JsonObject] = []
    errors: list[JsonObject] = []
    for item in updates:
        detail = ctx.state.erp_request_details.get(item["id"])
        if detail is None or detail.company_id != ctx.company.id:
            problems: FieldErrors = {"id": ["Entity with this ID not found"]}
        else:
            problems = _close(ctx, detail, item["status"], item.get("messages", []))
        if problems:
            errors.append({**item, "errors": problems})
        elif detail is not None:
            entities.append(present_detail(detail))
    return ApiResponse(200, {"entities": entities, "errors": errors})


COMPANY = "/rest/v1.0/companies/{company_id}"
ROUTES = [
    Route("GET", f"{COMPANY}/erp_requests", "RestV10CompaniesCompanyIdErpRequestsGet", list_requests, erp_only=True),
    Route(
        "GET",
        f"{COMPANY}/erp_requests/{{id}}",
        "RestV10CompaniesCompanyIdErpRequestsIdGet",
        show_request,
        erp_only=True,
    ),
    # Before the {id} route, which would otherwise take "sync" for an id.
    Route(
        "PATCH",
        f"{COMPANY}/erp_request_details/sync",
        "RestV10CompaniesCompanyIdErpRequestDetailsSyncPatch",
        close_details,
        erp_only=True,
    ),
    Route(
        "PATCH",
        f"{COMPANY}/erp_request_details/{{id}}",
        "RestV10CompaniesCompanyIdErpRequestDetailsIdPatch",
        close_detail,
        erp_only=True,
    ),
]
