"""The ERP connector: five canonical views (or the queries that replace them) over SQLAlchemy.

The customer defines the views in, or beside, the ERP database; `ERP_QUERIES_FILE` (YAML: view
name -> SELECT returning the same columns) replaces any of them. Rows are streamed, so a run's
memory does not grow with the ERP's size.
"""

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final, Protocol

import sqlalchemy
import yaml
from sqlalchemy.engine import Engine

VIEW_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "erpsync_vendors": (
        "vendor_id",
        "code",
        "name",
        "address",
        "city",
        "state_code",
        "zip",
        "country_code",
        "phone",
        "email",
        "is_active",
    ),
    "erpsync_jobs": ("job_id", "number", "name", "is_active", "address", "city", "state_code", "zip", "country_code"),
    "erpsync_cost_codes": ("job_id", "code", "name", "parent_code"),
    "erpsync_job_costs": (
        "job_id",
        "cost_code",
        "cost_type",
        "job_to_date_cost",
        "job_to_date_units",
        "committed_cost",
        "original_estimate",
        "revised_estimate",
    ),
    "erpsync_invoice_payments": (
        "payment_id",
        "job_id",
        "commitment_id",
        "invoice_id",
        "amount",
        "paid_on",
        "check_number",
        "payment_number",
        "notes",
    ),
}
STREAM_CHUNK: Final = 1000


class ErpError(Exception):
    """The ERP database cannot be read (the message never contains the database URL)."""


class ErpConnector(Protocol):
    def rows(self, view: str) -> Iterator[dict[str, Any]]: ...

    def check(self) -> None: ...

    def close(self) -> None: ...


def load_queries(path: Path | None) -> dict[str, str]:
    if path is None:
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ErpError(f"ERP_QUERIES_FILE {path}: cannot be read: {error}") from error
    if not isinstance(data, Mapping) or not all(isinstance(v, str) for v in data.values()):
        raise ErpError(f"ERP_QUERIES_FILE {path}: expected a mapping of view name to SQL query")
    unknown = sorted(set(data) - set(VIEW_COLUMNS))
    if unknown:
        raise ErpError(
            f"ERP_QUERIES_FILE {path}: unknown view {', '.join(unknown)}; allowed: {', '.join(VIEW_COLUMNS)}"
        )
    return {str(k): str(v) for k, v in data.items()}


class SqlConnector:
    """Reads the canonical views from any database SQLAlchemy reaches (SQLite, PostgreSQL, ...)."""

    def __init__(self, database_url: str, queries: dict[str, str] | None = None) -> None:
        try:
            self._engine: Engine = sqlalchemy.create_engine(database_url, pool_pre_ping=True)
        except (sqlalchemy.exc.ArgumentError, ImportError) as error:
            # The URL holds the password: name only the dialect.
            dialect = database_url.split(":", 1)[0]
            raise ErpError(
                f"the ERP database URL cannot be used (dialect {dialect!r}): {type(error).__name__}"
            ) from error
        self._queries = queries or {}

    def check(self) -> None:
        try:
            with self._engine.connect() as connection:
                connection.execute(sqlalchemy.text("SELECT 1"))
        except sqlalchemy.exc.SQLAlchemyError as error:
            raise ErpError(f"the ERP database cannot be opened: {_describe(error)}") from error

    def rows(self, view: str) -> Iterator[dict[str, Any]]:
        columns = VIEW_COLUMNS[view]
        query = self._queries.get(view)
        # Column and view names are this module's constants; a query comes from the customer's own
        # ConfigMap (trusted configuration, like the database URL), never from ERP data.
        source = f"({query}) AS erpsync_query" if query is not None else view
        statement = sqlalchemy.text(f"SELECT {', '.join(columns)} FROM {source}")
        try:
            with self._engine.connect() as connection:
                result = connection.execution_options(stream_results=True, yield_per=STREAM_CHUNK).execute(statement)
                for row in result.mappings():
                    yield dict(row)
        except sqlalchemy.exc.SQLAlchemyError as error:
            raise ErpError(f"reading {view}: {_describe(error)}") from error

    def close(self) -> None:
        self._engine.dispose()


def _describe(error: sqlalchemy.exc.SQLAlchemyError) -> str:
    # str(error) can echo the statement and parameters; the original driver message is enough.
    original = getattr(error, "orig", None)
    return f"{type(original or error).__name__}: {str(original or error).splitlines()[0][:300]}"
