"""Job costs: standard and/or project cost codes, then job-to-date costs per linked project.

- Standard cost codes go into the company's ERP standard cost code list (created with the ERP
  connection); project cost codes into each linked project (cost_codes/sync).
- A code's parent must exist first: codes are sent level by level, parents before children.
- Procore keeps a child's own segment as its `code` (`300`) and shows `02-300` as its full code:
  a view may give either; a full code has its parent's prefix taken off before it is sent, and
  codes are matched to Procore's (to link them, to find a job cost's code) by full code.
- Job-to-date costs go through erp_job_costs/sync, which Procore opens to ERP partners only. It
  has no read, so those lines are sent on every run (an idempotent upsert by cost code and cost
  type) and counted apart, as `jobCostLinesSent`; created/updated/unchanged count cost codes.
"""

import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, Final

from erpsync_worker.erp.rows import (
    MONEY_PLACES,
    UNITS_PLACES,
    Payload,
    RowError,
    label,
    money,
    money_text,
    required_text,
    text,
    without_nulls,
)
from erpsync_worker.syncs.common import (
    ProcoreIndex,
    SyncContext,
    error_text,
    fail_row,
    logger,
    read_rows,
    skip,
    upsert,
)
from erpsync_worker.syncs.jobs import procore_projects

CODE_FIELDS: Final = ("code", "name", "parent_id")
_DELIMITERS: Final = re.compile(r"[^0-9A-Za-z]+")
COST_COLUMNS: Final = {  # ERP column -> Procore field
    "job_to_date_cost": "job_to_date_cost",
    "job_to_date_units": "job_to_date_units",
    "committed_cost": "committed_costs",
    "original_estimate": "original_estimate",
    "revised_estimate": "estimate",
}


def _project_origin(job_id: str, row: dict[str, Any]) -> str:
    # origin_id is unique in the whole company: the job makes a project's code unique.
    return f"{job_id}/{row.get('code')}"


def segment(code: str, parent_code: str | None) -> str:
    """What Procore stores as a child's code: `02-300` under `02` is `300` (Procore adds the prefix)."""
    prefix = parent_code or ""
    if prefix and code.startswith(prefix) and len(code) > len(prefix) + 1 and not code[len(prefix)].isalnum():
        return code[len(prefix) + 1 :]  # the parent's code, one delimiter, then the segment
    return code


def code_key(full_code: str) -> tuple[str, ...]:
    """A full code compared across delimiters: `02-300`, `02.300` and `02 300` are one code."""
    return tuple(part for part in _DELIMITERS.split(full_code) if part)


def full_codes(rows: list[dict[str, Any]]) -> dict[str, str]:
    """Each view code's full code: as given when it carries its parent's prefix, else built from it."""
    by_code = {str(row.get("code")): row for row in rows}
    known: dict[str, str] = {}

    def full(code: str, seen: frozenset[str] = frozenset()) -> str:
        if code not in by_code:
            return code  # a parent only Procore holds: the view names it by its full code
        if code not in known:
            parent = text(by_code[code], "parent_code")
            if parent is None or segment(code, parent) != code or parent in seen:
                known[code] = code
            else:
                known[code] = f"{full(parent, seen | {code})}-{code}"
        return known[code]

    for code in by_code:
        full(code)
    return known


def _procore_key(record: dict[str, Any]) -> tuple[str, ...]:
    return code_key(str(record.get("full_code") or record.get("code")))


def _levels(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Rows grouped by depth in their parent tree, so parents are sent before their children."""
    by_code = {str(row.get("code")): row for row in rows}
    depth: dict[str, int] = {}

    def depth_of(code: str, seen: frozenset[str] = frozenset()) -> int:
        if code in depth:
            return depth[code]
        parent = text(by_code[code], "parent_code")
        level = 0 if parent is None or parent not in by_code or parent in seen else 1 + depth_of(parent, seen | {code})
        depth[code] = level
        return level

    levels: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for code in by_code:
        levels[depth_of(code)].append(by_code[code])
    return [levels[level] for level in sorted(levels)]


def _code_payload(
    row: dict[str, Any],
    origin_id: str,
    index: ProcoreIndex,
    ids_by_code: dict[tuple[str, ...], int],
    origin_of: dict[str, str],
    full: dict[str, str],
) -> Payload:
    what = label("erpsync_cost_codes", row)
    code = required_text(row, "code", what)
    parent = text(row, "parent_code")
    fields: dict[str, Any] = {
        "origin_id": origin_id,
        "code": segment(code, parent),
        "name": required_text(row, "name", what),
    }
    if parent is not None:
        parent_id = index.ids.get(origin_of.get(parent, "")) or ids_by_code.get(code_key(full.get(parent, parent)))
        if parent_id is None:
            raise RowError(f"{what}: parent_code {parent} is neither in the ERP nor in Procore")
        fields["parent_id"] = parent_id
    existing = ids_by_code.get(code_key(full.get(code, code)))
    if origin_id not in index.ids and existing is not None:
        fields["id"] = existing  # an existing code without origin_id: link it to the ERP's
    return Payload(origin_id, without_nulls(fields))


def _sync_codes(
    ctx: SyncContext,
    *,
    what: str,
    path: str,
    index: ProcoreIndex,
    ids_by_code: dict[tuple[str, ...], int],
    rows: list[dict[str, Any]],
    origin: Callable[[dict[str, Any]], str],
    envelope: Callable[[list[dict[str, Any]]], dict[str, Any]],
    params: dict[str, Any] | None,
) -> None:
    origin_of = {str(row.get("code")): origin(row) for row in rows}
    full = full_codes(rows)

    def remember(entity: dict[str, Any]) -> None:
        if entity.get("origin_id"):
            index.ids[str(entity["origin_id"])] = int(entity["id"])

    for level in _levels(rows):

        def payloads(level: list[dict[str, Any]] = level) -> Iterator[Payload | None]:
            for row in level:
                try:
                    yield _code_payload(row, origin(row), index, ids_by_code, origin_of, full)
                except RowError as error:
                    fail_row(ctx, str(error))
                    yield None

        upsert(
            ctx,
            what=what,
            path=path,
            index=index,
            payloads=payloads(),
            envelope=envelope,
            params=params,
            on_entity=remember,
        )


def _sync_standard_codes(ctx: SyncContext, rows: list[dict[str, Any]]) -> None:
    company = ctx.config.company_id
    lists = list(ctx.procore.get_all("/rest/v1.0/standard_cost_code_lists", {"company_id": company}))
    erp_list = next((item for item in lists if item.get("is_erp_list")), None)
    if erp_list is None:
        for row in rows:
            skip(
                ctx,
                f"standard cost code {row.get('code')}: Procore has no ERP standard cost code list "
                "(it is created with the company's ERP connection)",
            )
        return
    list_id = int(erp_list["id"])
    index, ids_by_code = ProcoreIndex(CODE_FIELDS), {}
    params = {"company_id": company, "standard_cost_code_list_id": list_id}
    for record in ctx.procore.get_all("/rest/v1.0/standard_cost_codes", params):
        index.add(record)
        if not record.get("origin_id"):
            ids_by_code[_procore_key(record)] = int(record["id"])
    _sync_codes(
        ctx,
        what="standard cost code",
        path="/rest/v1.0/standard_cost_codes/sync",
        index=index,
        ids_by_code=ids_by_code,
        rows=rows,
        origin=lambda row: f"std/{row.get('code')}",
        envelope=lambda updates: {"company_id": company, "standard_cost_code_list_id": list_id, "updates": updates},
        params=None,
    )


def _project_code_index(ctx: SyncContext, project_id: int) -> tuple[ProcoreIndex, dict[tuple[str, ...], int]]:
    index, ids_by_code = ProcoreIndex(CODE_FIELDS), {}
    for record in ctx.procore.get_all("/rest/v1.0/cost_codes", {"project_id": project_id}):
        index.add(record)
        if not record.get("origin_id"):
            ids_by_code[_procore_key(record)] = int(record["id"])
    return index, ids_by_code


def _sync_assignments(ctx: SyncContext, project_id: int, updates: list[dict[str, Any]]) -> None:
    """ErpConnector mode: each job cost's cost code / cost type assignment, marked synced, first (a
    job cost belongs to an assignment); an upsert by the pair, counted as `assignmentsSent`."""
    pairs = sorted({(line["cost_code_id"], line["line_item_type_id"]) for line in updates})
    items = [{"cost_code_id": code, "line_item_type_id": kind, "synced": True} for code, kind in pairs]
    sent = ctx.summary.extra.get("assignmentsSent", 0)
    if ctx.dry_run:
        ctx.summary.extra["assignmentsSent"] = sent + len(items)
        return
    for batch, answer in ctx.procore.sync(
        "/rest/v1.0/cost_code_line_item_types/sync",
        items,
        ctx.config.batch_size,
        lambda assignments: {"updates": assignments},
        {"project_id": project_id},
    ):
        sent += len(batch) - len(answer.errors)
        for entry in answer.errors:
            fail_row(
                ctx, f"assignment {entry.get('cost_code_id')}/{entry.get('line_item_type_id')}: {error_text(entry)}"
            )
    ctx.summary.extra["assignmentsSent"] = sent


def _sync_job_costs(
    ctx: SyncContext,
    project_id: int,
    job_id: str,
    rows: list[dict[str, Any]],
    code_ids: dict[tuple[str, ...], int],
    cost_types: dict[str, int],
) -> None:
    updates: list[dict[str, Any]] = []
    for row in rows:
        what = label("erpsync_job_costs", row)
        try:
            code = required_text(row, "cost_code", what)
            cost_type = required_text(row, "cost_type", what)
            amounts = {
                field: money(row, column, what, places=UNITS_PLACES if column == "job_to_date_units" else MONEY_PLACES)
                for column, field in COST_COLUMNS.items()
            }
        except RowError as error:
            fail_row(ctx, str(error))
            continue
        code_id = code_ids.get(code_key(code))
        type_id = cost_types.get(cost_type.lower())
        if code_id is None or type_id is None:
            skip(ctx, f"{what}: {'cost code' if code_id is None else 'cost type'} not in Procore")
            continue
        updates.append(
            {
                "cost_code_id": code_id,
                "line_item_type_id": type_id,
                **{k: money_text(v) for k, v in amounts.items() if v is not None},
            }
        )
    if not updates:
        return
    if ctx.config.procore_mode == "ErpConnector":
        _sync_assignments(ctx, project_id, updates)
    sent = ctx.summary.extra.setdefault("jobCostLinesSent", 0)
    if ctx.dry_run:
        logger.info("dry run: would send %d job cost lines for job %s", len(updates), job_id)
        ctx.summary.extra["jobCostLinesSent"] = sent + len(updates)
        return
    company = ctx.config.company_id
    for batch, answer in ctx.procore.sync(
        "/rest/v1.0/erp_job_costs/sync",
        updates,
        ctx.config.batch_size,
        lambda items: {"company_id": company, "job_origin_id": job_id, "updates": items},
    ):
        ctx.summary.extra["jobCostLinesSent"] += len(batch) - len(answer.errors)
        for entry in answer.errors:
            ctx.summary.failed += 1
            ctx.summary.error(f"job cost {job_id}/{entry.get('cost_code_id')}: {error_text(entry)}")


def _sync_cost_types(ctx: SyncContext, project_id: int, rows: list[dict[str, Any]]) -> None:
    """ErpConnector mode: the ERP's cost types (as its job costs name them) linked to Procore's by
    origin_id `type/<cost type>`, before any assignment or job cost names them. A Procore type with
    that code or name is linked (id and origin_id, counted as updated); a missing one is created
    (Procore gives it base type `other`); a linked one is unchanged. Cost types belong to the company,
    but Procore lists them through a project: the first one with job costs."""
    params = {"company_id": ctx.config.company_id, "project_id": project_id}
    records = list(ctx.procore.get_all("/rest/v1.0/line_item_types", params))
    linked = {str(record["origin_id"]) for record in records if record.get("origin_id")}
    updates: list[tuple[dict[str, Any], str]] = []
    for cost_type in sorted({kind for row in rows if (kind := text(row, "cost_type")) is not None}):
        origin_id = f"type/{cost_type}"
        if origin_id in linked:
            ctx.summary.unchanged += 1
            continue
        match = next(
            (
                record
                for record in records
                if not record.get("origin_id")
                and cost_type.lower() in (str(record.get("code")).lower(), str(record.get("name")).lower())
            ),
            None,
        )
        if match is not None:
            updates.append(({"id": int(match["id"]), "origin_id": origin_id}, "updated"))
        else:
            updates.append(({"name": cost_type, "csv_import_code": cost_type, "origin_id": origin_id}, "created"))
    if ctx.dry_run or not updates:
        for _, change in updates:
            setattr(ctx.summary, change, getattr(ctx.summary, change) + 1)
        return
    company = ctx.config.company_id
    changes = {item["origin_id"]: change for item, change in updates}
    for batch, answer in ctx.procore.sync(
        "/rest/v1.0/line_item_types/sync",
        [item for item, _ in updates],
        ctx.config.batch_size,
        lambda items: {"company_id": company, "updates": items},
    ):
        refused = {str(entry.get("origin_id")): entry for entry in answer.errors}
        for item in batch:
            if item["origin_id"] in refused:
                fail_row(ctx, f"cost type {item['origin_id']}: {error_text(refused[item['origin_id']])}")
            else:
                change = changes[item["origin_id"]]
                setattr(ctx.summary, change, getattr(ctx.summary, change) + 1)


def _cost_types(ctx: SyncContext, project_id: int) -> dict[str, int]:
    """The project's cost types (line item types), by lowercased code and name."""
    types: dict[str, int] = {}
    params = {"company_id": ctx.config.company_id, "project_id": project_id}
    for item in ctx.procore.get_all("/rest/v1.0/line_item_types", params):
        for key in (item.get("code"), item.get("name")):
            if key:
                types.setdefault(str(key).lower(), int(item["id"]))
    return types


def run(ctx: SyncContext) -> None:
    projects = procore_projects(ctx)
    codes_by_job: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for row in read_rows(ctx, "erpsync_cost_codes"):
        codes_by_job[text(row, "job_id")].append(row)
    if ctx.config.cost_codes in ("Standard", "StandardAndProject"):
        _sync_standard_codes(ctx, codes_by_job.pop(None, []))
    else:
        codes_by_job.pop(None, None)
    costs_by_job: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in read_rows(ctx, "erpsync_job_costs"):
        job = text(row, "job_id")
        if job is None:
            fail_row(ctx, f"{label('erpsync_job_costs', row)}: job_id is missing")
        else:
            costs_by_job[job].append(row)
    cost_types_synced = ctx.config.procore_mode != "ErpConnector"  # PublicApi mode runs as it always did
    for job_id in sorted(set(codes_by_job) | set(costs_by_job), key=str):
        assert job_id is not None
        project_id = projects.ids.get(job_id)
        if project_id is None:
            for row in codes_by_job.get(job_id, []) + costs_by_job.get(job_id, []):
                skip(
                    ctx, f"job {job_id}: no Procore project is linked to it ({row.get('code') or row.get('cost_code')})"
                )
            continue
        index, ids_by_code = _project_code_index(ctx, project_id)
        if ctx.config.cost_codes in ("Project", "StandardAndProject") and codes_by_job.get(job_id):
            _sync_codes(
                ctx,
                what="cost code",
                path="/rest/v1.0/cost_codes/sync",
                index=index,
                ids_by_code=ids_by_code,
                rows=codes_by_job[job_id],
                origin=partial(_project_origin, job_id),
                envelope=lambda updates: {"updates": updates},
                params={"project_id": project_id},
            )
        # A job cost names its code as the cost code view does, or by its full code.
        full = full_codes(codes_by_job.get(job_id, []))
        code_ids = dict(ids_by_code)
        for origin, code_id in index.ids.items():
            if origin.startswith(f"{job_id}/"):
                view_code = origin.split("/", 1)[1]
                code_ids[code_key(full.get(view_code, view_code))] = code_id
                code_ids.setdefault(code_key(view_code), code_id)
        if costs_by_job.get(job_id) and not cost_types_synced:
            _sync_cost_types(ctx, project_id, [row for rows in costs_by_job.values() for row in rows])
            cost_types_synced = True
        if costs_by_job.get(job_id):
            _sync_job_costs(ctx, project_id, job_id, costs_by_job[job_id], code_ids, _cost_types(ctx, project_id))
