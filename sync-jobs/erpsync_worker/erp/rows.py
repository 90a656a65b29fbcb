"""Rows of the canonical views, checked and converted: money as Decimal, never a float."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Final

from erpsync_worker.erp.connector import VIEW_KEYS

ROW_NUMBER: Final = "_erpsync_row"  # set by the reader: the row's position in its view, from 1
TRUE_WORDS: Final = ("1", "true", "t", "yes", "y", "active", "a")
FALSE_WORDS: Final = ("0", "false", "f", "no", "n", "inactive", "i")


class RowError(ValueError):
    """A row the ERP holds that cannot be synced; the message names the view, the row, its key and the column."""


def label(view: str, row: dict[str, Any]) -> str:
    """How a row is named in errors, by its view's key columns: `erpsync_vendors row 4 (vendor_id='V400')`."""
    number = row.get(ROW_NUMBER)
    where = f"{view} row {number}" if number is not None else view
    shown = ", ".join(
        f"{key}={text(row, key)!r}" if text(row, key) is not None else f"{key} missing" for key in VIEW_KEYS[view]
    )
    return f"{where} ({shown})"


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


def boolean(row: dict[str, Any], column: str, what: str) -> bool | None:
    value = row.get(column)
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    lowered = str(value).strip().lower()
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    raise RowError(
        f"{what}: {column}={_shown(value)} is not a boolean; allowed: a boolean, an integer (0 is false) or "
        f"{'/'.join(TRUE_WORDS)} for true and {'/'.join(FALSE_WORDS)} for false"
    )


def _shown(value: object) -> str:
    """A value quoted in an error, cut short: ERP data can be long."""
    shown = repr(value)
    return shown if len(shown) <= 60 else f"{shown[:40]}...({len(shown)} characters)"


MAX_INTEGER_DIGITS: Final = 13  # amounts below 10**13: 10 trillion
MAX_AMOUNT_TEXT: Final = 64  # characters: no valid amount is longer, and parsing stays bounded
MONEY_PLACES: Final = 2  # currency: cents
UNITS_PLACES: Final = 4  # quantities (job_to_date_units)


def money(
    row: dict[str, Any], column: str, what: str, *, places: int = MONEY_PLACES, negative: bool = True
) -> Decimal | None:
    """A decimal amount, rounded half-up to `places` decimals, refused beyond 13 integer digits.

    SQLite hands back NUMERIC columns as float or int: go through str(), so 0.3 stays 0.3
    (Decimal(0.3) would be 0.2999...). Text is refused beyond 64 characters before it is parsed,
    and the magnitude is checked from the exponent before any arithmetic, so no value can take
    long or use much memory (1E+999999999 is refused at once)."""
    value = row.get(column)
    if value is None:
        return None
    if isinstance(value, Decimal):
        amount = value
    else:
        raw = str(value).strip()
        if len(raw) > MAX_AMOUNT_TEXT:
            raise RowError(
                f"{what}: {column}={_shown(value)} is too long for an amount (at most {MAX_AMOUNT_TEXT} characters)"
            )
        try:
            amount = Decimal(raw)
        except InvalidOperation as error:
            raise RowError(f"{what}: {column}={_shown(value)} is not a decimal amount") from error
    if not amount.is_finite():
        raise RowError(f"{what}: {column}={_shown(value)} is not a decimal amount")
    if amount and amount.adjusted() >= MAX_INTEGER_DIGITS:
        raise RowError(
            f"{what}: {column}={_shown(value)} is out of range; allowed: less than 10^{MAX_INTEGER_DIGITS} "
            f"(at most {MAX_INTEGER_DIGITS} digits before the decimal point)"
        )
    # Beyond its exponent check the value is small: quantize cannot blow up (1E-999999999 -> 0.00).
    rounded = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if rounded == 0:
        rounded = abs(rounded)  # -0.001 is 0.00, not -0.00
    if rounded < 0 and not negative:
        raise RowError(f"{what}: {column}={_shown(value)} is negative; allowed: 0 or more")
    return rounded


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
        raise RowError(f"{what}: {column}={_shown(value)} is not a date (YYYY-MM-DD)") from error


def integer(row: dict[str, Any], column: str, what: str) -> int | None:
    value = row.get(column)
    if value is None:
        return None
    try:
        return int(str(value).strip())
    except ValueError as error:
        raise RowError(f"{what}: {column}={_shown(value)} is not an integer") from error


@dataclass(frozen=True)
class Payload:
    """What is sent to Procore for one ERP row, nulls omitted (Procore is sent no nulls)."""

    origin_id: str
    fields: dict[str, Any]


def without_nulls(fields: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}
