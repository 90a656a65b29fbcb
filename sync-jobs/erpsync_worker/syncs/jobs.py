"""Jobs: ERP jobs onto the Procore projects linked to them by origin_id (projects/sync).

An ERP job that no project is linked to is skipped and listed, unless ERPSYNC_CREATE_PROJECTS is
true: then it is created with one POST /projects, as Procore advises (its bulk sync is not for
creating projects). A POST whose outcome is unknown is looked for before it is sent again.
"""

from collections.abc import Iterator
from typing import Any, Final

from erpsync_worker.erp.rows import Payload, RowError, boolean, label, required_text, text, without_nulls
from erpsync_worker.syncs.common import (
    ProcoreIndex,
    SyncContext,
    create_once,
    fail_row,
    logger,
    read_rows,
    skip,
    upsert,
)

FIELDS: Final = ("name", "project_number", "active", "address", "city", "state_code", "zip", "country_code")


def payload(row: dict[str, Any]) -> Payload:
    what = label("erpsync_jobs", row)
    origin_id = required_text(row, "job_id", what)
    return Payload(
        origin_id,
        without_nulls(
            {
                "origin_id": origin_id,
                "name": required_text(row, "name", what),
                "project_number": text(row, "number"),
                "active": boolean(row, "is_active", what),
                "address": text(row, "address"),
                "city": text(row, "city"),
                "state_code": text(row, "state_code"),
                "zip": text(row, "zip"),
                "country_code": text(row, "country_code"),
            }
        ),
    )


def procore_projects(ctx: SyncContext) -> ProcoreIndex:
    """Every project of the company, inactive ones too (the default list hides them)."""
    index = ProcoreIndex(FIELDS)
    params = {"company_id": ctx.config.company_id, "filters[by_status]": "All"}
    for project in ctx.procore.get_all("/rest/v1.0/projects", params):
        index.add(project)
    return index


def find_project(ctx: SyncContext, origin_id: str) -> dict[str, Any] | None:
    params = {"company_id": ctx.config.company_id, "filters[by_status]": "All", "filters[origin_id]": origin_id}
    # The filter narrows the read; the match is checked here rather than trusted.
    return next(
        (p for p in ctx.procore.get_all("/rest/v1.0/projects", params) if str(p.get("origin_id")) == origin_id), None
    )


def create_project(ctx: SyncContext, job: Payload) -> None:
    if ctx.dry_run:
        logger.info("dry run: would create project for job %s", job.origin_id)
        ctx.summary.created += 1
        return
    body = {"company_id": ctx.config.company_id, "project": job.fields}
    create_once(
        ctx,
        f"project for job {job.origin_id}",
        lambda: ctx.procore.post("/rest/v1.0/projects", body),
        lambda: find_project(ctx, job.origin_id) is not None,
    )


def run(ctx: SyncContext) -> None:
    index = procore_projects(ctx)
    unlinked: list[Payload] = []

    def payloads() -> Iterator[Payload | None]:
        for row in read_rows(ctx, "erpsync_jobs"):
            try:
                job = payload(row)
            except RowError as error:
                fail_row(ctx, str(error))
                continue
            project_id = index.ids.get(job.origin_id)
            if project_id is None:
                unlinked.append(job)
                continue
            yield Payload(job.origin_id, {"id": project_id, **job.fields})

    company = ctx.config.company_id
    upsert(
        ctx,
        what="project",
        path="/rest/v1.0/projects/sync",
        index=index,
        payloads=payloads(),
        envelope=lambda updates: {"company_id": company, "updates": updates},
        params={"company_id": company},
    )
    for job in unlinked:
        if ctx.config.create_projects:
            create_project(ctx, job)
        else:
            skip(ctx, f"job {job.origin_id}: no Procore project is linked to it (set createProjects to create one)")
