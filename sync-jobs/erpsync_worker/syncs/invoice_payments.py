"""Invoice payments: ERP payments into "Payments Issued" on Procore commitments.

Each row names its job (a project's origin_id), its commitment (the origin_id of a work order or
purchase order contract of that project, checked here rather than trusted to a filter) and
optionally its invoice (a requisition's origin_id). Existing payments are read per commitment
first; a payment whose origin_id is there is never created again, even after a POST that timed
out or answered 5xx: the commitment's payments are read again before posting a second time.
Synced payments are locked in Procore, so one that differs from the ERP is reported, not changed.
"""

from collections import defaultdict
from decimal import Decimal
from typing import Any, Final

from erpsync_worker.erp.rows import (
    RowError,
    day,
    integer,
    label,
    money,
    money_text,
    required_text,
    text,
    without_nulls,
)
from erpsync_worker.syncs.common import SyncContext, create_once, fail_row, logger, read_rows, skip
from erpsync_worker.syncs.jobs import procore_projects

COMMITMENT_KINDS: Final = ("work_order_contracts", "purchase_order_contracts")


def payment_fields(row: dict[str, Any]) -> dict[str, Any]:
    what = label("erpsync_invoice_payments", row)
    origin_id = required_text(row, "payment_id", what)
    amount = money(row, "amount", what, negative=False)
    if amount is None:
        raise RowError(f"{what}: amount is missing")
    return without_nulls(
        {
            "origin_id": origin_id,
            "amount": money_text(amount),
            "date": day(row, "paid_on", what),
            "check_number": text(row, "check_number"),
            "payment_number": integer(row, "payment_number", what),
            "notes": text(row, "notes"),
        }
    )


def by_origin(items: list[dict[str, Any]]) -> dict[str, int]:
    return {str(item["origin_id"]): int(item["id"]) for item in items if item.get("origin_id")}


class _Project:
    """The commitments, invoices and payments of one project, read when first needed."""

    def __init__(self, ctx: SyncContext, project_id: int) -> None:
        self.ctx, self.id = ctx, project_id
        self.commitments: dict[str, int] = {}
        for kind in COMMITMENT_KINDS:
            self.commitments.update(
                by_origin(list(ctx.procore.get_all(f"/rest/v1.0/{kind}", {"project_id": project_id})))
            )
        self._requisitions: dict[str, int] | None = None
        self._payments: dict[int, dict[str, dict[str, Any]]] = {}

    def requisition(self, origin_id: str) -> int | None:
        if self._requisitions is None:
            self._requisitions = by_origin(
                list(self.ctx.procore.get_all("/rest/v1.0/requisitions", {"project_id": self.id}))
            )
        return self._requisitions.get(origin_id)

    def payments(self, contract_id: int, fresh: bool = False) -> dict[str, dict[str, Any]]:
        if fresh or contract_id not in self._payments:
            listing = self.ctx.procore.get_all(
                "/rest/v1.0/contract_payments", {"project_id": self.id, "contract_id": contract_id}
            )
            self._payments[contract_id] = {str(p["origin_id"]): p for p in listing if p.get("origin_id")}
        return self._payments[contract_id]


def _differences(ours: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    changed = []
    for name, value in ours.items():
        if name == "amount":
            same = theirs.get("amount") is not None and Decimal(str(theirs["amount"])) == Decimal(value)
        else:
            same = theirs.get(name) == value
        if not same:
            changed.append(name)
    return changed


def _create(ctx: SyncContext, project: _Project, contract_id: int, payment: dict[str, Any]) -> None:
    origin_id = payment["origin_id"]
    if ctx.dry_run:
        logger.info("dry run: would create payment %s on commitment %s", origin_id, contract_id)
        ctx.summary.created += 1
        return
    body = {"project_id": project.id, "contract_id": contract_id, "contract_payment": payment}

    def post() -> None:
        created = ctx.procore.post("/rest/v1.0/contract_payments", body)
        project.payments(contract_id)[origin_id] = created or payment

    create_once(ctx, f"payment {origin_id}", post, lambda: origin_id in project.payments(contract_id, fresh=True))


def run(ctx: SyncContext) -> None:
    projects_index = procore_projects(ctx)
    projects: dict[int, _Project] = {}
    rows_by_job: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in read_rows(ctx, "erpsync_invoice_payments"):
        rows_by_job[text(row, "job_id") or ""].append(row)
    for job_id in sorted(rows_by_job):
        project_id = projects_index.ids.get(job_id) if job_id else None
        for row in rows_by_job[job_id]:
            try:
                payment = payment_fields(row)
            except RowError as error:
                fail_row(ctx, str(error))
                continue
            origin_id = payment["origin_id"]
            if project_id is None:
                skip(ctx, f"payment {origin_id}: job {job_id or '(none)'} is not linked to a Procore project")
                continue
            project = projects.get(project_id) or projects.setdefault(project_id, _Project(ctx, project_id))
            commitment = text(row, "commitment_id")
            contract_id = project.commitments.get(commitment or "")
            if contract_id is None:
                skip(
                    ctx,
                    f"payment {origin_id}: commitment {commitment or '(none)'} of job {job_id} "
                    "is not linked in Procore",
                )
                continue
            invoice = text(row, "invoice_id")
            if invoice is not None:
                requisition_id = project.requisition(invoice)
                if requisition_id is None:
                    skip(ctx, f"payment {origin_id}: invoice {invoice} is not linked in Procore")
                    continue
                payment["requisition_id"] = requisition_id
            existing = project.payments(contract_id).get(origin_id)
            if existing is None:
                _create(ctx, project, contract_id, payment)
            elif changed := _differences(payment, existing):
                skip(
                    ctx,
                    f"payment {origin_id}: differs from Procore ({', '.join(changed)}), "
                    "but synced payments cannot be edited there",
                )
            else:
                ctx.summary.unchanged += 1
