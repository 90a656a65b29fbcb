"""What every sync shares: its context, the index of what Procore holds, and batched upserts.

Counting needs the Procore side read first (a /sync answer does not say created or updated). To
keep memory flat for large lists, the index holds, per origin_id, only the Procore id and a
4-byte digest of each field we send, not the records.
"""

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from erpsync_worker.config import WorkerConfig
from erpsync_worker.erp.connector import VIEW_KEYS, ErpConnector
from erpsync_worker.erp.rows import ROW_NUMBER, Payload, text
from erpsync_worker.procore.client import AmbiguousWrite, ProcoreClient, ProcoreError
from erpsync_worker.summary import Summary

logger = logging.getLogger("erpsync_worker")
_ABSENT: Final = b"\x00\x00\x00\x00"
PROGRESS_EVERY: Final = 10_000
CREATE_ATTEMPTS: Final = 3
NULLABLE_KEY_COLUMNS: Final = {("erpsync_cost_codes", "job_id")}  # null: the company's standard list
ROWS_LISTED: Final = 5  # row numbers listed per duplicated key


@dataclass
class SyncContext:
    config: WorkerConfig
    procore: ProcoreClient
    erp: ErpConnector
    summary: Summary
    dry_run: bool = False


def _digest(value: object) -> bytes:
    if value is None:
        return _ABSENT
    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=4).digest()


@dataclass
class ProcoreIndex:
    """What Procore holds, by origin_id: the record id and per-field digests of `fields`."""

    fields: tuple[str, ...]
    ids: dict[str, int] = field(default_factory=dict)
    digests: dict[str, bytes] = field(default_factory=dict)

    def add(self, record: dict[str, Any], normalize: Callable[[str, Any], Any] = lambda _, v: v) -> None:
        origin_id = record.get("origin_id")
        if origin_id in (None, ""):
            return
        key = str(origin_id)
        self.ids[key] = int(record["id"])
        self.digests[key] = b"".join(_digest(normalize(name, record.get(name))) for name in self.fields)

    def compare(self, payload: Payload) -> str:
        """created, updated or unchanged: only the fields we send are compared."""
        known = self.digests.get(payload.origin_id)
        if known is None:
            return "created"
        for position, name in enumerate(self.fields):
            sent = payload.fields.get(name)
            if sent is not None and known[position * 4 : position * 4 + 4] != _digest(sent):
                return "updated"
        return "unchanged"


def error_text(entry: dict[str, Any]) -> str:
    """One line from a per-item error of a /sync answer: {"origin_id": .., "errors": {field: [..]}}."""
    problems = entry.get("errors")
    if isinstance(problems, dict):
        return "; ".join(
            f"{name} {', '.join(map(str, messages)) if isinstance(messages, list) else messages}"
            for name, messages in problems.items()
        )
    return str(problems or entry.get("message") or "refused")


def upsert(
    ctx: SyncContext,
    *,
    what: str,
    path: str,
    index: ProcoreIndex,
    payloads: Iterable[Payload | None],
    envelope: Callable[[list[dict[str, Any]]], dict[str, Any]],
    params: dict[str, Any] | None = None,
    on_entity: Callable[[dict[str, Any]], None] = lambda entity: None,
) -> None:
    """Send the payloads that differ from Procore through a /sync endpoint, in batches, and count."""
    batch: list[tuple[Payload, str]] = []
    for payload in payloads:
        if payload is None:
            continue  # a row that failed its checks (already counted)
        change = index.compare(payload)
        if change == "unchanged":
            ctx.summary.unchanged += 1
            continue
        batch.append((payload, change))
        if len(batch) >= ctx.config.batch_size:
            _flush(ctx, what, path, batch, envelope, params, on_entity)
            batch = []
    if batch:
        _flush(ctx, what, path, batch, envelope, params, on_entity)


def _flush(
    ctx: SyncContext,
    what: str,
    path: str,
    batch: list[tuple[Payload, str]],
    envelope: Callable[[list[dict[str, Any]]], dict[str, Any]],
    params: dict[str, Any] | None,
    on_entity: Callable[[dict[str, Any]], None],
) -> None:
    if ctx.dry_run:
        for payload, change in batch:
            logger.info(
                "dry run: would %s %s %s",
                "create" if change == "created" else "update",
                what,
                payload.origin_id,
                extra={"origin_id": payload.origin_id, "change": change},
            )
            _count(ctx.summary, change)
        return
    items = [payload.fields for payload, _ in batch]
    for _, answer in ctx.procore.sync(path, items, len(items), envelope, params):
        refused = {str(entry.get("origin_id")): entry for entry in answer.errors}
        for payload, change in batch:
            entry = refused.get(payload.origin_id)
            if entry is not None:
                ctx.summary.failed += 1
                message = f"{what} {payload.origin_id}: {error_text(entry)}"
                ctx.summary.error(message)
                logger.warning("Procore refused %s", message)
            else:
                _count(ctx.summary, change)
        for entity in answer.entities:
            on_entity(entity)
    logger.info("sent %d %s", len(batch), what, extra={"progress": ctx.summary.as_dict()})


def _count(summary: Summary, change: str) -> None:
    if change == "created":
        summary.created += 1
    else:
        summary.updated += 1


def read_rows(ctx: SyncContext, view: str) -> Iterator[dict[str, Any]]:
    """Rows of a view, counted as read and numbered (for errors), with progress on long runs.

    A key on several rows is a duplicate: the first row in the connector's order (by key, then by
    every column: the same row on every run) is used, the others are counted as failed, and each
    duplicated key is reported once, when the view has been read."""
    keys = VIEW_KEYS[view]
    first: dict[tuple[str | None, ...], int] = {}
    duplicates: dict[tuple[str | None, ...], list[int]] = {}
    for number, row in enumerate(ctx.erp.rows(view), start=1):
        row[ROW_NUMBER] = number
        ctx.summary.read += 1
        if ctx.summary.read % PROGRESS_EVERY == 0:
            logger.info("read %d rows of %s", ctx.summary.read, view)
        key = tuple(text(row, column) for column in keys)
        if any(
            part is None and (view, column) not in NULLABLE_KEY_COLUMNS for part, column in zip(key, keys, strict=True)
        ):
            yield row  # a row without its key fails its own checks
            continue
        if key in first:
            ctx.summary.failed += 1
            duplicates.setdefault(key, []).append(number)
            continue
        first[key] = number
        yield row
    for key, others in duplicates.items():
        shown = ", ".join(f"{column}={part!r}" for column, part in zip(keys, key, strict=True))
        listed = ", ".join(map(str, others[:ROWS_LISTED])) + (", ..." if len(others) > ROWS_LISTED else "")
        message = (
            f"{view} ({shown}): {len(others) + 1} rows have this key; row {first[key]} is used, "
            f"row{'s' if len(others) > 1 else ''} {listed} ignored (a key must be unique in the view)"
        )
        ctx.summary.error(message)
        logger.warning("duplicate ERP rows: %s", message)


def fail_row(ctx: SyncContext, message: str) -> None:
    ctx.summary.failed += 1
    ctx.summary.error(message)
    logger.warning("invalid ERP row: %s", message)


def skip(ctx: SyncContext, message: str) -> None:
    ctx.summary.skipped += 1
    ctx.summary.error(message)
    logger.info("skipped: %s", message)


def create_once(ctx: SyncContext, what: str, post: Callable[[], object], exists: Callable[[], bool]) -> bool:
    """POST a new record exactly once, counting it: when an attempt's outcome is unknown (a timeout or
    a 5xx after Procore may have applied it), look for the record before posting again.

    True when the record exists now (created by this or an earlier attempt); False when Procore
    refused it (counted as failed). A record still unknown after the last attempt fails the run.
    """
    for attempt in range(1, CREATE_ATTEMPTS + 1):
        try:
            post()
        except AmbiguousWrite as error:
            logger.warning("%s: %s; looking for it before posting again", what, error)
            if not exists():
                if attempt == CREATE_ATTEMPTS:
                    raise
                continue
        except ProcoreError as error:
            ctx.summary.failed += 1
            ctx.summary.error(f"{what}: refused by Procore: {error}")
            return False
        ctx.summary.created += 1
        return True
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
