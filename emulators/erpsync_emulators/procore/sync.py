"""Procore's Sync action: upsert up to 1,000 items keyed by `id` or `origin_id`, always HTTP 200.

| sent            | found | result                                    |
| neither         | -     | created                                   |
| id              | no    | error "Entity with this ID not found"     |
| id              | yes   | updated (a new origin_id is taken over)   |
| origin_id       | no    | created                                   |
| origin_id       | yes   | updated                                   |

Only one integration may use origin_id on an object: the OAuth client that first wrote a record's
origin_id owns it, and another client's item that names that record with an origin_id is refused.

Items that fail come back in `errors`: the attributes the caller sent plus an `errors` map.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .routing import ApiError, ApiResponse, RequestContext
from .schema import FieldErrors
from .state import JsonObject, Record, Table

ItemValidator = Callable[[JsonObject, Record | None], FieldErrors]


@dataclass(frozen=True)
class SyncTarget:
    table: Table
    # Whether an existing record belongs to this call (its company, project or list).
    in_scope: Callable[[Record], bool]
    # Per-item business rules Procore applies (blank name, bad ISO codes, unknown parent...).
    validate: ItemValidator
    # Fields a new record gets before the item's own: defaults and the scope's ids.
    new_record_fields: Callable[[], JsonObject]
    present: Callable[[Record], JsonObject]
    # Derived fields to recompute after a write (full_code, display_name...).
    after_write: Callable[[Record], None] = lambda record: None


def check_batch_size(ctx: RequestContext, updates: list[Any]) -> None:
    if len(updates) > ctx.config.max_sync_updates:
        raise ApiError(400, {"updates": [f"must not have more than {ctx.config.max_sync_updates} items"]})


def run_sync(ctx: RequestContext, target: SyncTarget, updates: list[JsonObject]) -> ApiResponse:
    check_batch_size(ctx, updates)
    company_id = ctx.company.id
    entities: list[JsonObject] = []
    errors: list[JsonObject] = []
    for item in updates:
        record, problems = _locate(target, company_id, item, ctx.client_id)
        if not problems:
            problems = target.validate(item, record)
        if problems:
            errors.append({**item, "errors": problems})
            continue
        changes = {name: value for name, value in item.items() if name != "id"}
        owner = ctx.client_id if "origin_id" in item else None
        if record is None:
            fields = {**target.new_record_fields(), **changes}
            record = ctx.state.add_record(target.table, company_id, fields, ctx.now, origin_owner=owner)
        else:
            target.table.update(record, changes, ctx.now)
            record.origin_owner = record.origin_owner or owner
        target.after_write(record)
        entities.append(target.present(record))
    return ApiResponse(200, {"entities": entities, "errors": errors})


def _locate(target: SyncTarget, company_id: int, item: JsonObject, client_id: str) -> tuple[Record | None, FieldErrors]:
    record, problems = _find(target, company_id, item)
    owner = record.origin_owner if record is not None else None
    if not problems and "origin_id" in item and owner not in (None, client_id):
        return None, {"origin_id": [f"is owned by another integration ({owner})"]}
    return record, problems


def _find(target: SyncTarget, company_id: int, item: JsonObject) -> tuple[Record | None, FieldErrors]:
    origin_id = item.get("origin_id")
    if "id" in item:
        record = target.table.get(item["id"])
        if record is None or record.company_id != company_id or not target.in_scope(record):
            return None, {"id": ["Entity with this ID not found"]}
        if origin_id is not None and target.table.origin_id_taken(company_id, origin_id, by_other_than=record.id):
            return None, {"origin_id": ["has already been taken"]}
        return record, {}
    if origin_id is not None:
        record = target.table.find_by_origin_id(company_id, origin_id)
        if record is not None and not target.in_scope(record):
            # origin_id is unique in the whole company: another project (or list) already holds it.
            return None, {"origin_id": ["has already been taken"]}
        return record, {}
    return None, {}
