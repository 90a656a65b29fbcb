"""Projects (ERP jobs): list by status, `projects/sync`, and one-by-one creation."""

from __future__ import annotations

from ..pagination import paginate
from ..routing import ApiError, ApiResponse, RequestContext, Route
from ..schema import FieldErrors
from ..state import JsonObject, Record
from ..sync import SyncTarget, run_sync
from .common import (
    address_problems,
    check_company_id,
    id_matches,
    merge_problems,
    origin_id_matches,
    present,
    required_text_problems,
)

PROJECT_FIELDS = (
    "name",
    "project_number",
    "code",
    "address",
    "city",
    "state_code",
    "zip",
    "country_code",
    "phone",
    "description",
    "start_date",
    "completion_date",
    "total_value",
    "active",
    "origin_id",
    "origin_code",
    "origin_data",
)


def present_project(ctx: RequestContext, record: Record) -> JsonObject:
    number = record.fields.get("project_number")
    name = record.fields.get("name")
    company = ctx.state.companies[record.company_id]
    return present(
        record,
        PROJECT_FIELDS,
        display_name=f"{number} - {name}" if number else name,
        company={"id": company.id, "name": company.name},
    )


def _is_active(record: Record) -> bool:
    return record.fields.get("active", True) is not False


def list_projects(ctx: RequestContext) -> ApiResponse:
    company_id = ctx.query["company_id"]
    check_company_id(ctx, company_id)
    # Procore hides inactive projects unless asked: a worker linking jobs must send by_status=All.
    status = ctx.query.get("filters[by_status]", "Active")
    name = ctx.query.get("filters[name]")
    projects = ctx.state.projects.where(
        lambda project: (
            project.company_id == company_id
            and (status == "All" or _is_active(project) == (status == "Active"))
            and origin_id_matches(ctx, project)
            and id_matches(ctx, project)
            and (name is None or name.lower() in str(project.fields.get("name", "")).lower())
        )
    )
    return paginate(ctx, projects, lambda project: present_project(ctx, project))


def _validate_project(item: JsonObject, record: Record | None) -> FieldErrors:
    return merge_problems(required_text_problems(item, record, "name"), address_problems(item, record))


def sync_projects(ctx: RequestContext) -> ApiResponse:
    body = ctx.body_object()
    check_company_id(ctx, body["company_id"])
    if "company_id" in ctx.query:
        check_company_id(ctx, ctx.query["company_id"])
    target = SyncTarget(
        table=ctx.state.projects,
        in_scope=lambda record: True,
        validate=_validate_project,
        new_record_fields=lambda: {"active": True},
        present=lambda project: present_project(ctx, project),
    )
    return run_sync(ctx, target, body["updates"])


def create_project(ctx: RequestContext) -> ApiResponse:
    body = ctx.body_object()
    check_company_id(ctx, body["company_id"])
    fields: JsonObject = body["project"]
    problems = _validate_project(fields, None)
    origin_id = fields.get("origin_id")
    if origin_id is not None and ctx.state.projects.origin_id_taken(ctx.company.id, origin_id):
        problems = merge_problems(problems, {"origin_id": ["has already been taken"]})
    if problems:
        raise ApiError(422, problems)
    record = ctx.state.add_record(ctx.state.projects, ctx.company.id, {"active": True, **fields}, ctx.now)
    return ApiResponse(201, present_project(ctx, record))


ROUTES = [
    Route("GET", "/rest/v1.0/projects", "RestV10ProjectsGet", list_projects),
    Route("PATCH", "/rest/v1.0/projects/sync", "RestV10ProjectsSyncPatch", sync_projects),
    Route("POST", "/rest/v1.0/projects", "RestV10ProjectsPost", create_project),
]
