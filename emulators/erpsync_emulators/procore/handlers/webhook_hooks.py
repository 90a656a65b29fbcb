"""Webhooks API (public): hooks with a destination URL and headers, their triggers, and the delivery log."""

from __future__ import annotations

from ..pagination import paginate
from ..routing import ApiResponse, RequestContext, Route, not_found
from ..state import Record
from ..webhooks import present_delivery, present_hook, present_trigger
from .common import check_company_id


def _check_scope(ctx: RequestContext, company_id: int | None) -> None:
    if company_id is not None:
        check_company_id(ctx, company_id)


def create_hook(ctx: RequestContext) -> ApiResponse:
    body = ctx.body_object()
    _check_scope(ctx, body.get("company_id"))
    hook = body["hook"]
    fields = {
        "api_version": hook.get("api_version", "v2"),
        "namespace": hook["namespace"],
        "destination_url": hook["destination_url"],
        "destination_headers": hook.get("destination_headers") or {},
        "owned_by_company_id": ctx.company.id,
        "owned_by_project_id": body.get("project_id"),
        "triggers": [],
    }
    record = ctx.state.add_record(ctx.state.webhook_hooks, ctx.company.id, fields, ctx.now)
    return ApiResponse(201, present_hook(record))


def _hook(ctx: RequestContext) -> Record:
    hook = ctx.state.webhook_hooks.get(ctx.path_params["hook_id"])
    if hook is None or hook.company_id != ctx.company.id:
        raise not_found("Hook")
    return hook


def create_trigger(ctx: RequestContext) -> ApiResponse:
    body = ctx.body_object()
    _check_scope(ctx, body.get("company_id"))
    hook = _hook(ctx)
    trigger = {"id": ctx.state.new_id(), **body["trigger"]}
    ctx.state.webhook_hooks.update(hook, {"triggers": [*hook.fields["triggers"], trigger]}, ctx.now)
    return ApiResponse(201, present_trigger(hook, trigger))


def list_deliveries(ctx: RequestContext) -> ApiResponse:
    _check_scope(ctx, ctx.query.get("company_id"))
    hook_id = _hook(ctx).id
    status = ctx.query.get("filter[status]", "any")
    deliveries = ctx.state.webhook_deliveries.where(
        lambda record: record.fields["hook_id"] == hook_id and status in ("any", record.fields["status"])
    )
    return paginate(ctx, deliveries, present_delivery)


ROUTES = [
    Route("POST", "/rest/v1.0/webhooks/hooks", "RestV10WebhooksHooksPost", create_hook),
    Route(
        "POST", "/rest/v1.0/webhooks/hooks/{hook_id}/triggers", "RestV10WebhooksHooksHookIdTriggersPost", create_trigger
    ),
    Route(
        "GET",
        "/rest/v1.0/webhooks/hooks/{hook_id}/deliveries",
        "RestV10WebhooksHooksHookIdDeliveriesGet",
        list_deliveries,
    ),
]
