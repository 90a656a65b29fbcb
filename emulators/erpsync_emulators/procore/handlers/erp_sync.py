"""The sync endpoints only ERP integrators get: invoice payments (payments on subcontractor invoices
synced with the ERP) and cost code / cost type assignments."""

from __future__ import annotations

from ..routing import ApiResponse, RequestContext, Route
from ..schema import FieldErrors
from ..state import JsonObject, Record
from ..sync import SyncTarget, check_batch_size, run_sync
from .common import check_company_id, present, require_project

PAYMENT_FIELDS = (
    "invoice_type",
    "invoice_id",
    "amount",
    "date",
    "payment_method",
    "check_number",
    "payment_number",
    "notes",
    "status",
    "origin_id",
    "origin_code",
    "origin_data",
)
ASSIGNMENT_FIELDS = ("project_id", "sub_job_id", "cost_code_id", "line_item_type_id", "synced")


def present_invoice_payment(record: Record) -> JsonObject:
    return present(record, PAYMENT_FIELDS)


def sync_invoice_payments(ctx: RequestContext) -> ApiResponse:
    body = ctx.body_object()
    check_company_id(ctx, ctx.path_params["company_id"])
    check_company_id(ctx, body["company_id"])

    def validate(item: JsonObject, record: Record | None) -> FieldErrors:
        problems: FieldErrors = {}
        for name in ("invoice_type", "invoice_id"):
            if record is None and name not in item:
                problems[name] = ["can't be blank"]
        invoice_id = item.get("invoice_id")
        if invoice_id is not None:
            invoice = ctx.state.requisitions.get(invoice_id)
            if invoice is None or invoice.company_id != ctx.company.id:
                problems["invoice_id"] = ["is not a subcontractor invoice of this company"]
            elif invoice.origin_id is None:
                # Payments for synced invoices only: the invoice must have been exported to the ERP.
                problems["invoice_id"] = ["is not synced with the ERP (it has no origin_id)"]
        return problems

    target = SyncTarget(
        table=ctx.state.invoice_payments,
        in_scope=lambda record: True,
        validate=validate,
        new_record_fields=lambda: {"status": "paid"},
        present=present_invoice_payment,
    )
    return run_sync(ctx, target, body["updates"])


def sync_cost_code_line_item_types(ctx: RequestContext) -> ApiResponse:
    project_id = require_project(ctx, ctx.query["project_id"]).id
    sub_job_id = ctx.query.get("sub_job_id")
    updates = ctx.body_object()["updates"]
    check_batch_size(ctx, updates)
    table = ctx.state.cost_code_line_item_types
    existing = {
        (record.fields["cost_code_id"], record.fields["line_item_type_id"]): record
        for record in table.where(lambda record: record.fields["project_id"] == project_id)
    }
    entities: list[JsonObject] = []
    errors: list[JsonObject] = []
    for item in updates:
        problems: FieldErrors = {}
        cost_code = ctx.state.cost_codes.get(item["cost_code_id"])
        if cost_code is None or cost_code.fields.get("project_id") != project_id:
            problems["cost_code_id"] = ["is not a cost code of this project"]
        line_item_type = ctx.state.line_item_types.get(item["line_item_type_id"])
        if line_item_type is None or line_item_type.company_id != ctx.company.id:
            problems["line_item_type_id"] = ["is not a line item type of this company"]
        key = (item["cost_code_id"], item["line_item_type_id"])
        record = existing.get(key)
        if "id" in item and (record is None or record.id != item["id"]):
            problems["id"] = ["Entity with this ID not found"]
        if problems:
            errors.append({**item, "errors": problems})
            continue
        changes = {name: value for name, value in item.items() if name != "id"}
        if record is None:
            fields = {"project_id": project_id, "sub_job_id": sub_job_id, "synced": False, **changes}
            record = existing[key] = ctx.state.add_record(table, ctx.company.id, fields, ctx.now)
        else:
            table.update(record, changes, ctx.now)
        entities.append(present(record, ASSIGNMENT_FIELDS))
    return ApiResponse(200, {"entities": entities, "errors": errors})


ROUTES = [
    Route(
        "PATCH",
        "/rest/v1.0/companies/{company_id}/invoice_payments/sync",
        "RestV10CompaniesCompanyIdInvoicePaymentsSyncPatch",
        sync_invoice_payments,
        erp_only=True,
    ),
    Route(
        "PATCH",
        "/rest/v1.0/cost_code_line_item_types/sync",
        "RestV10CostCodeLineItemTypesSyncPatch",
        sync_cost_code_line_item_types,
        erp_only=True,
    ),
]
