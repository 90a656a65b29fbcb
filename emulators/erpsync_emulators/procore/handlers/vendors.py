"""Company vendors: the active list, the inactive list and `vendors/sync`."""

from __future__ import annotations

from ..pagination import paginate
from ..routing import ApiResponse, RequestContext, Route
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

VENDOR_FIELDS = (
    "name",
    "abbreviated_name",
    "address",
    "city",
    "state_code",
    "zip",
    "country_code",
    "business_phone",
    "mobile_phone",
    "fax_number",
    "email_address",
    "website",
    "notes",
    "is_active",
    "origin_id",
    "origin_code",
    "origin_data",
)


def present_vendor(record: Record) -> JsonObject:
    return present(record, VENDOR_FIELDS)


def _is_active(record: Record) -> bool:
    return record.fields.get("is_active", True) is not False


def _list(ctx: RequestContext, company_id: int, active: bool) -> ApiResponse:
    check_company_id(ctx, company_id)
    # Vendor lists are the large ones (the benchmark pages through 100,000): narrow with the cheap
    # tests first, then apply the optional filters to what is left.
    vendors = ctx.state.vendors.view(
        ("company", company_id, "active", active),
        lambda vendor: vendor.company_id == company_id and _is_active(vendor) == active,
    )
    search = ctx.query.get("filters[search]")
    if search is not None:
        vendors = [vendor for vendor in vendors if search.lower() in str(vendor.fields.get("name", "")).lower()]
    if "filters[origin_id]" in ctx.query or "filters[id]" in ctx.query:
        vendors = [vendor for vendor in vendors if origin_id_matches(ctx, vendor) and id_matches(ctx, vendor)]
    return paginate(ctx, vendors, present_vendor)


def list_active_vendors(ctx: RequestContext) -> ApiResponse:
    return _list(ctx, ctx.query["company_id"], active=True)


def list_inactive_vendors(ctx: RequestContext) -> ApiResponse:
    return _list(ctx, ctx.path_params["company_id"], active=False)


def _validate_vendor(item: JsonObject, record: Record | None) -> FieldErrors:
    return merge_problems(required_text_problems(item, record, "name"), address_problems(item, record))


def sync_vendors(ctx: RequestContext) -> ApiResponse:
    body = ctx.body_object()
    check_company_id(ctx, body["company_id"])
    target = SyncTarget(
        table=ctx.state.vendors,
        in_scope=lambda record: True,
        validate=_validate_vendor,
        new_record_fields=lambda: {"is_active": True},
        present=present_vendor,
    )
    return run_sync(ctx, target, body["updates"])


ROUTES = [
    Route("GET", "/rest/v1.0/vendors", "RestV10VendorsGet", list_active_vendors),
    Route(
        "GET",
        "/rest/v1.0/companies/{company_id}/vendors/inactive",
        "RestV10CompaniesCompanyIdVendorsInactiveGet",
        list_inactive_vendors,
    ),
    Route("PATCH", "/rest/v1.0/vendors/sync", "RestV10VendorsSyncPatch", sync_vendors),
]
