"""The ERP connector: five canonical views (or the queries that replace them) over SQLAlchemy.

The customer defines the views in, or beside, the ERP database; `ERP_QUERIES_FILE` (YAML: view
name -> SELECT returning the same columns) replaces any of them. Rows are streamed, so a run's
memory does not grow with the ERP's size.
"""

import re
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
# The columns that identify a row of each view: a key on two rows is a duplicate (one row wins).
VIEW_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "erpsync_vendors": ("vendor_id",),
    "erpsync_jobs": ("job_id",),
    "erpsync_cost_codes": ("job_id", "code"),
    "erpsync_job_costs": ("job_id", "cost_code", "cost_type"),
    "erpsync_invoice_payments": ("payment_id",),
}
STREAM_CHUNK: Final = 1000
CONNECT_TIMEOUT_ARGUMENTS: Final = {
    "postgresql": "connect_timeout",
    "mysql": "connect_timeout",
    "mariadb": "connect_timeout",
    "sqlite": "timeout",
}
# Only these dialect and driver names are ever quoted back from a database URL: anything else in it
# (a password typed where the scheme should be, an ODBC connection string) is never repeated.
KNOWN_DIALECTS: Final = frozenset(
    {"sqlite", "postgresql", "postgres", "mysql", "mariadb", "mssql", "oracle", "cockroachdb", "snowflake", "redshift"}
)
KNOWN_DRIVERS: Final = frozenset(
    {
        "psycopg",
        "psycopg2",
        "psycopg2cffi",
        "asyncpg",
        "pg8000",
        "pysqlite",
        "aiosqlite",
        "pysqlcipher",
        "pymysql",
        "mysqldb",
        "mysqlconnector",
        "asyncmy",
        "aiomysql",
        "mariadbconnector",
        "pyodbc",
        "aioodbc",
        "pymssql",
        "oracledb",
        "cx_oracle",
    }
)
_SCHEME: Final = re.compile(r"([A-Za-z][A-Za-z0-9_]*)(?:\+([A-Za-z0-9_]+))?://")
URL_FORMAT_HINT: Final = (
    "expected a scheme such as postgresql+psycopg:// followed by user:password@host:port/database, or "
    "sqlite:////path/to/file.db; URL-encode special characters in the user and password "
    "(@ as %40, : as %3A, / as %2F, # as %23, ? as %3F, % as %25)"
)


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

    def __init__(
        self, database_url: str, queries: dict[str, str] | None = None, connect_timeout: float | None = None
    ) -> None:
        scheme = recognised_scheme(database_url)
        shown = f"scheme {scheme!r}" if scheme else "no recognised dialect+driver:// scheme"
        try:
            url = sqlalchemy.make_url(database_url)
        except Exception as error:  # ArgumentError, ValueError (a non-numeric port), ...: all quote the URL
            # The URL holds the password: quote nothing from it but a recognised scheme.
            raise ErpError(f"the ERP database URL cannot be parsed ({shown}): {URL_FORMAT_HINT}") from error
        # The drivers name their connect timeout differently; other dialects keep their own default.
        timeout_argument = CONNECT_TIMEOUT_ARGUMENTS.get(url.get_backend_name())
        connect_args = (
            {timeout_argument: max(1, round(connect_timeout))} if connect_timeout and timeout_argument else {}
        )
        try:
            self._engine: Engine = sqlalchemy.create_engine(url, pool_pre_ping=True, connect_args=connect_args)
        except (sqlalchemy.exc.NoSuchModuleError, ImportError) as error:
            raise ErpError(
                f"the ERP database URL cannot be used ({shown}): its dialect or driver is not installed "
                "(this image ships sqlite and postgresql+psycopg)"
            ) from error
        except Exception as error:  # a bad query parameter or option: its message may quote the URL
            raise ErpError(
                f"the ERP database URL cannot be used ({shown}): {type(error).__name__} (the message is "
                "withheld because it may contain the password)"
            ) from error
        self._queries = queries or {}

    def check(self) -> None:
        try:
            with self._engine.connect() as connection:
                connection.execute(sqlalchemy.text("SELECT 1"))
        except sqlalchemy.exc.SQLAlchemyError as error:
            raise ErpError(f"the ERP database cannot be opened: {_describe(error)}") from error

    def missing_columns(self, view: str) -> list[str]:
        """The view's canonical columns its table, view or query lacks (none read: WHERE 1 = 0)."""
        statement = sqlalchemy.text(f"SELECT * FROM {self._source(view)} WHERE 1 = 0")
        try:
            with self._engine.connect() as connection:
                names = connection.execute(statement).keys()
            present = {str(name).lower() for name in names}
        except sqlalchemy.exc.SQLAlchemyError as error:
            raise ErpError(_describe(error)) from error
        return [column for column in VIEW_COLUMNS[view] if column not in present]

    def replaced_by_query(self, view: str) -> bool:
        return view in self._queries

    def _source(self, view: str) -> str:
        query = self._queries.get(view)
        # Column and view names are this module's constants; a query comes from the customer's own
        # ConfigMap (trusted configuration, like the database URL), never from ERP data.
        return f"({query}) AS erpsync_query" if query is not None else view

    def rows(self, view: str) -> Iterator[dict[str, Any]]:
        columns = VIEW_COLUMNS[view]
        source = self._source(view)
        # Ordered by key, then by every column: rows sharing a key come in the same order on every
        # run, whatever the database's physical order, so the same one wins (see read_rows).
        keys = VIEW_KEYS[view]
        order = ", ".join((*keys, *(column for column in columns if column not in keys)))
        statement = sqlalchemy.text(f"SELECT {', '.join(columns)} FROM {source} ORDER BY {order}")
        try:
            with self._engine.connect() as connection:
                result = connection.execution_options(stream_results=True, yield_per=STREAM_CHUNK).execute(statement)
                for row in result.mappings():
                    yield dict(row)
        except sqlalchemy.exc.SQLAlchemyError as error:
            raise ErpError(f"reading {view}: {_describe(error)}") from error

    def close(self) -> None:
        self._engine.dispose()


def recognised_scheme(database_url: str) -> str | None:
    """`dialect` or `dialect+driver` when the URL starts with a known one; None otherwise."""
    match = _SCHEME.match(database_url.strip())
    if match is None or match.group(1).lower() not in KNOWN_DIALECTS:
        return None
    dialect, driver = match.group(1).lower(), match.group(2)
    if driver is None:
        return dialect
    return f"{dialect}+{driver.lower()}" if driver.lower() in KNOWN_DRIVERS else dialect


def _describe(error: sqlalchemy.exc.SQLAlchemyError) -> str:
    # str(error) can echo the statement and parameters; the original driver message is enough.
    original = getattr(error, "orig", None)
    return f"{type(original or error).__name__}: {str(original or error).splitlines()[0][:300]}"
