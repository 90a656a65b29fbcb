"""The syncs in ErpConnector mode (Procore's ERP integration protocol, docs/spec.md#procore-modes).

- Vendors and jobs: linked ones (a Procore record has the ERP origin_id) are updated through
  vendors/sync and projects/sync; new ones are staged for Procore's approver (staged_records/sync),
  or, with ERPSYNC_VENDORS_APPROVAL (ERPSYNC_JOBS_APPROVAL) Automatic, written directly, as Procore's
  own connectors do when a company turns approval off. Staged records are read first by origin_id:
  one already staged with the same data is not sent again, so a rerun after a crash stages nothing
  twice.
- Job costs: as in PublicApi mode, plus the cost code / cost type assignments (synced: true)
  before the job costs (syncs/job_costs.py).
- Invoice payments: invoice_payments/sync keyed by the exported invoice (a requisition's origin_id).
- Every run closes the ERP Requests it handles (procore/erp_requests.py), with the run's messages.
"""

import contextlib
from collections import defaultdict
from collections.abc import Callable
from typing import Any, Final

from erpsync_worker.erp.rows import Payload, RowError, text
from erpsync_worker.procore import erp_requests
from erpsync_worker.procore.client import ProcoreError
from erpsync_worker.syncs import invoice_payments, jobs, vendors
from erpsync_worker.syncs.common import ProcoreIndex, SyncContext, error_text, fail_row, logger, read_rows, skip, upsert

ORIGIN_FIELDS: Final = ("origin_id", "origin_code", "origin_data")


def _staged(ctx: SyncContext, item_type: str) -> dict[str, dict[str, Any]]:
    path = f"/rest/v1.0/companies/{ctx.config.company_id}/staged_records"
    records = ctx.procore.get_all(path, {"filters[item_type]": item_type})
    return {str(record["origin_id"]): record for record in records if record.get("origin_id")}


def stage(ctx: SyncContext, item_type: str, new: list[Payload]) -> None:
    """Stage new ERP records for approval (Ready to Import); one staged with the same data is unchanged."""
    staged = _staged(ctx, item_type)
    items: list[dict[str, Any]] = []
    for payload in new:
        record = staged.get(payload.origin_id)
        item: dict[str, Any] = {
            "item_type": item_type,
            **{name: payload.fields[name] for name in ORIGIN_FIELDS if name in payload.fields},
            "data": {name: value for name, value in payload.fields.items() if name not in ORIGIN_FIELDS},
        }
        if record is not None and (record.get("status") != "staged" or record.get("data") == item["data"]):
            ctx.summary.unchanged += 1  # waiting for approval, or already decided in Procore
            continue
        items.append(item)
    if not items or ctx.dry_run:
        ctx.summary.extra["staged"] = ctx.summary.extra.get("staged", 0) + len(items)
        return
    company = ctx.config.company_id
    for batch, answer in ctx.procore.sync(
        f"/rest/v1.0/companies/{company}/staged_records/sync",
        items,
        ctx.config.batch_size,
        lambda updates: {"updates": updates},
    ):
        refused = {str(entry.get("origin_id")): entry for entry in answer.errors}
        for item in batch:
            entry = refused.get(item["origin_id"])
            if entry is not None:
                fail_row(ctx, f"staging {item_type} {item['origin_id']}: {error_text(entry)}")
            elif item["origin_id"] in staged:
                ctx.summary.updated += 1
            else:
                ctx.summary.extra["staged"] = ctx.summary.extra.get("staged", 0) + 1


def _split(
    ctx: SyncContext, view: str, to_payload: Callable[[dict[str, Any]], Payload], index: ProcoreIndex
) -> tuple[list[Payload], list[Payload]]:
    """The view's rows as payloads: those linked to a Procore record, and the new ones."""
    linked: list[Payload] = []
    new: list[Payload] = []
    for row in read_rows(ctx, view):
        try:
            payload = to_payload(row)
        except RowError as error:
            fail_row(ctx, str(error))
            continue
        (linked if payload.origin_id in index.ids else new).append(payload)
    return linked, new


def run_vendors(ctx: SyncContext) -> None:
    index = vendors.procore_vendors(ctx)
    linked, new = _split(ctx, "erpsync_vendors", vendors.payload, index)
    direct = linked + (new if ctx.config.vendors_approval == "Automatic" else [])
    company = ctx.config.company_id
    upsert(
        ctx,
        what="vendor",
        path="/rest/v1.0/vendors/sync",
        index=index,
        payloads=direct,
        envelope=lambda updates: {"company_id": company, "updates": updates},
    )
    if ctx.config.vendors_approval == "Required":
        stage(ctx, "vendor", new)


def run_jobs(ctx: SyncContext) -> None:
    index = jobs.procore_projects(ctx)
    linked, new = _split(ctx, "erpsync_jobs", jobs.payload, index)
    company = ctx.config.company_id
    upsert(
        ctx,
        what="project",
        path="/rest/v1.0/projects/sync",
        index=index,
        payloads=(Payload(job.origin_id, {"id": index.ids[job.origin_id], **job.fields}) for job in linked),
        envelope=lambda updates: {"company_id": company, "updates": updates},
        params={"company_id": company},
    )
    if ctx.config.jobs_approval == "Automatic":
        for job in new:
            jobs.create_project(ctx, job)
    else:
        stage(ctx, "project", new)


def run_invoice_payments(ctx: SyncContext) -> None:
    """Payments on exported invoices, keyed by the invoice (Billings::Requisition); no read exists,
    so every payment is sent (an upsert by origin_id) and counted as `invoicePaymentsSent`."""
    projects = jobs.procore_projects(ctx)
    requisitions: dict[int, dict[str, int]] = {}
    updates: list[dict[str, Any]] = []
    rows_by_job: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in read_rows(ctx, "erpsync_invoice_payments"):
        rows_by_job[text(row, "job_id") or ""].append(row)
    for job_id, rows in sorted(rows_by_job.items()):
        project_id = projects.ids.get(job_id)
        for row in rows:
            try:
                payment = invoice_payments.payment_fields(row)
            except RowError as error:
                fail_row(ctx, str(error))
                continue
            invoice = text(row, "invoice_id")
            if project_id is None or invoice is None:
                why = f"job {job_id or '(none)'} is not linked to a Procore project" if project_id is None else ""
                skip(ctx, f"payment {payment['origin_id']}: {why or 'no invoice (payments are keyed by the invoice)'}")
                continue
            if project_id not in requisitions:
                listing = ctx.procore.get_all("/rest/v1.0/requisitions", {"project_id": project_id})
                requisitions[project_id] = invoice_payments.by_origin(list(listing))
            requisition_id = requisitions[project_id].get(invoice)
            if requisition_id is None:
                skip(ctx, f"payment {payment['origin_id']}: invoice {invoice} is not synced with the ERP in Procore")
                continue
            if "payment_number" in payment:  # a string here (a contract payment's is an integer)
                payment["payment_number"] = str(payment["payment_number"])
            updates.append({"invoice_type": "Billings::Requisition", "invoice_id": requisition_id, **payment})
    ctx.summary.extra["invoicePaymentsSent"] = 0
    if ctx.dry_run or not updates:
        ctx.summary.extra["invoicePaymentsSent"] = len(updates)
        return
    company = ctx.config.company_id
    for batch, answer in ctx.procore.sync(
        f"/rest/v1.0/companies/{company}/invoice_payments/sync",
        updates,
        ctx.config.batch_size,
        lambda items: {"company_id": company, "updates": items},
    ):
        ctx.summary.extra["invoicePaymentsSent"] += len(batch) - len(answer.errors)
        for entry in answer.errors:
            fail_row(ctx, f"payment {entry.get('origin_id')}: {error_text(entry)}")


def _messages(ctx: SyncContext, sync: str, fatal: str | None) -> list[str]:
    summary = ctx.summary
    counts = ", ".join(
        f"{count} {name}"
        for name, count in (
            ("staged", summary.extra.get("staged", 0)),
            ("created", summary.created),
            ("updated", summary.updated),
            ("unchanged", summary.unchanged),
            ("skipped", summary.skipped),
            ("failed", summary.failed),
        )
        if count
    )
    return [f"{sync}: {fatal}" if fatal else f"{sync}: {counts or 'nothing to do'}", *summary.errors]


def run_on_requests(ctx: SyncContext, sync: str, work: Callable[[SyncContext], None]) -> None:
    """Read the run's ERP Requests, do the sync's work once for all of them, then close each one."""
    company = ctx.config.company_id
    try:
        requests = erp_requests.requests_for_run(ctx.procore, company, sync, ctx.config.erp_request_id)
    except erp_requests.ForAnotherSync as other:
        logger.info("%s", other)  # another sync's run handles and closes it
        ctx.summary.extra["erpRequests"] = 0
        return
    ctx.summary.extra["erpRequests"] = len(requests)
    closed = ctx.summary.extra.setdefault("requestsClosed", 0)

    def close_all(fatal: str | None) -> None:
        nonlocal closed
        status = "failed" if fatal or ctx.summary.failed else "success"
        for request in requests:
            if ctx.dry_run:
                logger.info("dry run: would close ERP request %s as %s", request.id, status)
                continue
            closed += erp_requests.close(ctx.procore, company, request, status, _messages(ctx, sync, fatal))
            ctx.summary.extra["requestsClosed"] = closed

    try:
        work(ctx)
    except Exception as error:
        # The user waits on the request in the ERP tab: close it as failed even when the run fails.
        with contextlib.suppress(ProcoreError):
            close_all(str(error) or type(error).__name__)
        raise
    close_all(None)
