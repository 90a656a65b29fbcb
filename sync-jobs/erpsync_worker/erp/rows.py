"""Rows of the canonical views, checked and converted: money as Decimal, never a float."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any


class RowError(ValueError):
    """A row the ERP holds that cannot be synced; the message names the row and the column."""


def text(row: dict[str, Any], column: str) -> str | None:
    value = row.get(column)
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def required_text(row: dict[str, Any], column: str, what: str) -> str:
    value = text(row, column)
    if value is None:
        raise RowError(f"{what}: {column} is missing")
    return value


def boolean(row: dict[str, Any], column: str) -> bool | None:
    value = row.get(column)
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    lowered = str(value).strip().lower()
    if lowered in ("1", "true", "t", "yes", "y", "active", "a"):
        return True
    if lowered in ("0", "false", "f", "no", "n", "inactive", "i"):
        return False
    raise RowError(f"{column}={value!r} is not a boolean")


def money(row: dict[str, Any], column: str, what: str) -> Decimal | None:
    """A decimal amount. SQLite hands back NUMERIC columns as float or int: go through str(), so
    0.3 stays 0.3 (Decimal(0.3) would be 0.2999...)."""
    value = row.get(column)
    if value is None:
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation as error:
        raise RowError(f"{what}: {column}={value!r} is not a decimal amount") from error
    if not amount.is_finite():
        raise RowError(f"{what}: {column}={value!r} is not a decimal amount")
    return amount


def money_text(amount: Decimal) -> str:
    """Procore takes amounts as strings; never in exponent form."""
    return format(amount, "f")


def day(row: dict[str, Any], column: str, what: str) -> str | None:
    value = row.get(column)
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(str(value).strip()[:10]).isoformat()
    except ValueError as error:
        raise RowError(f"{what}: {column}={value!r} is not a date (YYYY-MM-DD)") from error


def integer(row: dict[str, Any], column: str, what: str) -> int | None:
    value = row.get(column)
    if value is None:
        return None
    try:
        return int(str(value).strip())
    except ValueError as error:
        raise RowError(f"{what}: {column}={value!r} is not an integer") from error


@dataclass(frozen=True)
class Payload:
    """What is sent to Procore for one ERP row, nulls omitted (Procore is sent no nulls)."""

    origin_id: str
    fields: dict[str, Any]


def without_nulls(fields: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}
