"""Vendors: the ERP vendor list into the company directory, by origin_id, through vendors/sync."""

from collections.abc import Iterator
from typing import Any, Final

from erpsync_worker.erp.rows import Payload, RowError, boolean, label, required_text, text, without_nulls
from erpsync_worker.syncs.common import ProcoreIndex, SyncContext, fail_row, read_rows, upsert

FIELDS: Final = (
    "origin_code",
    "name",
    "address",
    "city",
    "state_code",
    "zip",
    "country_code",
    "business_phone",
    "email_address",
    "is_active",
)


def payload(row: dict[str, Any]) -> Payload:
    what = label("erpsync_vendors", row)
    origin_id = required_text(row, "vendor_id", what)
    return Payload(
        origin_id,
        without_nulls(
            {
                "origin_id": origin_id,
                "origin_code": text(row, "code"),
                "name": required_text(row, "name", what),
                "address": text(row, "address"),
                "city": text(row, "city"),
                "state_code": text(row, "state_code"),
                "zip": text(row, "zip"),
                "country_code": text(row, "country_code"),
                "business_phone": text(row, "phone"),
                "email_address": text(row, "email"),
                "is_active": boolean(row, "is_active", what),
            }
        ),
    )


def procore_vendors(ctx: SyncContext) -> ProcoreIndex:
    """Active vendors and, on their own list, inactive ones: the default list hides the latter."""
    index = ProcoreIndex(FIELDS)
    company = ctx.config.company_id
    for vendor in ctx.procore.get_all("/rest/v1.0/vendors", {"company_id": company}):
        index.add(vendor)
    for vendor in ctx.procore.get_all(f"/rest/v1.0/companies/{company}/vendors/inactive"):
        index.add(vendor)
    return index


def run(ctx: SyncContext) -> None:
    index = procore_vendors(ctx)

    def payloads() -> Iterator[Payload | None]:
        for row in read_rows(ctx, "erpsync_vendors"):
            try:
                yield payload(row)
            except RowError as error:
                fail_row(ctx, str(error))
                yield None

    company = ctx.config.company_id
    upsert(
        ctx,
        what="vendor",
        path="/rest/v1.0/vendors/sync",
        index=index,
        payloads=payloads(),
        envelope=lambda updates: {"company_id": company, "updates": updates},
    )
