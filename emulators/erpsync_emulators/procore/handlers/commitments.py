"""Commitments (work order and purchase order contracts), subcontractor invoices (requisitions) and
their "Payments Issued" (contract payments)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from ..pagination import paginate
from ..routing import ApiError, ApiResponse, RequestContext, Route, not_found
from ..schema import FieldErrors
from ..state import JsonObject, Record, Table
from .common import id_matches, origin_id_matches, present, require_project

COMMITMENT_FIELDS = ("number", "title", "status", "executed", "grand_total", "origin_id", "origin_code", "origin_data")
REQUISITION_FIELDS = (
    "commitment_id",
    "number",
    "invoice_number",
    "status",
    "total_claimed_amount",
    "origin_id",
    "origin_data",
)
PAYMENT_FIELDS = (
    "project_id",
    "contract_id",
    "amount",
    "date",
    "check_number",
    "invoice_number",
    "invoice_date",
    "draw_request_number",
    "payment_number",
    "payment_method",
    "notes",
    "requisition_id",
    "status",
    "origin_id",
    "origin_code",
    "origin_data",
)


def _payments_of(ctx: RequestContext, contract_id: int) -> list[Record]:
    return ctx.state.contract_payments.where(lambda payment: payment.fields.get("contract_id") == contract_id)


def present_commitment(ctx: RequestContext, record: Record) -> JsonObject:
    project = ctx.state.projects.get(record.fields["project_id"])
    vendor = ctx.state.vendors.get(record.fields.get("vendor_id", 0))
    total_paid = sum((Decimal(payment.fields["amount"]) for payment in _payments_of(ctx, record.id)), Decimal(0))
    return present(
        record,
        COMMITMENT_FIELDS,
        project={"id": project.id, "name": project.fields.get("name")} if project is not None else None,
        vendor={"id": vendor.id, "company": vendor.fields.get("name")} if vendor is not None else None,
        total_payments=str(total_paid),
    )


def _list_commitments(ctx: RequestContext, table: Table) -> ApiResponse:
    project_id = require_project(ctx, ctx.query["project_id"]).id
    status = ctx.query.get("filters[status]")
    honour_origin_filter = not ctx.config.ignore_commitment_origin_id_filter
    contracts = table.where(
        lambda record: (
            record.fields.get("project_id") == project_id
            and (not honour_origin_filter or origin_id_matches(ctx, record))
            and id_matches(ctx, record)
            and (status is None or record.fields.get("status") == status)
        )
    )
    return paginate(ctx, contracts, lambda record: present_commitment(ctx, record))


def list_work_order_contracts(ctx: RequestContext) -> ApiResponse:
    return _list_commitments(ctx, ctx.state.work_order_contracts)


def list_purchase_order_contracts(ctx: RequestContext) -> ApiResponse:
    return _list_commitments(ctx, ctx.state.purchase_order_contracts)


def present_requisition(record: Record) -> JsonObject:
    return present(record, REQUISITION_FIELDS, project_id=record.fields.get("project_id"))


def list_requisitions(ctx: RequestContext) -> ApiResponse:
    project_id = require_project(ctx, ctx.query["project_id"]).id
    commitment_id = ctx.query.get("filters[commitment_id]")
    status = ctx.query.get("filters[status]")
    requisitions = ctx.state.requisitions.where(
        lambda record: (
            record.fields.get("project_id") == project_id
            and origin_id_matches(ctx, record)
            and id_matches(ctx, record)
            and (commitment_id is None or record.fields.get("commitment_id") == commitment_id)
            and (status is None or record.fields.get("status") == status)
        )
    )
    return paginate(ctx, requisitions, present_requisition)


def present_payment(record: Record) -> JsonObject:
    return present(record, PAYMENT_FIELDS)


def _require_contract(ctx: RequestContext, project_id: int, contract_id: int) -> Record:
    contract = ctx.state.commitment(contract_id)
    if contract is None or contract.fields.get("project_id") != project_id:
        raise not_found("Contract")
    return contract


def list_contract_payments(ctx: RequestContext) -> ApiResponse:
    project_id = require_project(ctx, ctx.query["project_id"]).id
    contract_id = _require_contract(ctx, project_id, ctx.query["contract_id"]).id
    return paginate(ctx, _payments_of(ctx, contract_id), present_payment)


def _amount_problems(payment: JsonObject) -> FieldErrors:
    amount = payment.get("amount")
    if amount is None or not str(amount).strip():
        return {"amount": ["can't be blank"]}
    try:
        parsed = Decimal(amount)
    except InvalidOperation:
        return {"amount": ["is not a number"]}
    return {} if parsed.is_finite() else {"amount": ["is not a number"]}


def create_contract_payment(ctx: RequestContext) -> ApiResponse:
    body = ctx.body_object()
    project_id = require_project(ctx, body["project_id"]).id
    contract_id = _require_contract(ctx, project_id, body["contract_id"]).id
    payment: JsonObject | None = body.get("contract_payment")
    if payment is None:
        raise ApiError(422, {"contract_payment": ["can't be blank"]})
    problems = _amount_problems(payment)
    if not payment.get("date"):
        problems["date"] = ["can't be blank"]
    origin_id = payment.get("origin_id")
    if origin_id is not None and ctx.state.contract_payments.origin_id_taken(ctx.company.id, origin_id):
        # origin_id is unique within the company: this is what stops a retried POST from duplicating.
        problems["origin_id"] = ["has already been taken"]
    requisition_id = payment.get("requisition_id")
    if requisition_id is not None:
        requisition = ctx.state.requisitions.get(requisition_id)
        if requisition is None or requisition.fields.get("commitment_id") != contract_id:
            problems["requisition_id"] = ["is not a subcontractor invoice of this contract"]
    if problems:
        raise ApiError(422, problems)
    record = ctx.state.add_record(
        ctx.state.contract_payments,
        ctx.company.id,
        {"project_id": project_id, "contract_id": contract_id, **payment},
        ctx.now,
    )
    return ApiResponse(201, present_payment(record))


ROUTES = [
    Route("GET", "/rest/v1.0/work_order_contracts", "RestV10WorkOrderContractsGet", list_work_order_contracts),
    Route(
        "GET", "/rest/v1.0/purchase_order_contracts", "RestV10PurchaseOrderContractsGet", list_purchase_order_contracts
    ),
    Route("GET", "/rest/v1.0/requisitions", "RestV10RequisitionsGet", list_requisitions),
    Route("GET", "/rest/v1.0/contract_payments", "RestV10ContractPaymentsGet", list_contract_payments),
    Route("POST", "/rest/v1.0/contract_payments", "RestV10ContractPaymentsPost", create_contract_payment),
]
