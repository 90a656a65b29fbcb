"""What the worker makes of the values an ERP hands back: booleans as words, money, dates, integers and
the errors that name the row. No database: rows are the dicts the connector yields."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from erpsync_worker.erp import rows
from erpsync_worker.erp.rows import ROW_NUMBER, RowError

WHAT = "vendor V1"


def _error(convert: Any, value: object, **options: Any) -> str:
    with pytest.raises(RowError) as raised:
        convert({"column": value}, "column", WHAT, **options)
    message = str(raised.value)
    assert message.startswith(f"{WHAT}: column="), message
    return message


@pytest.mark.parametrize("word", ["1", "true", "t", "yes", "y", "active", "a", " Y ", "TRUE", "Active"])
def test_erp_words_for_true(word: str) -> None:
    assert rows.boolean({"is_active": word}, "is_active", WHAT) is True


@pytest.mark.parametrize("word", ["0", "false", "f", "no", "n", "inactive", "i", " N ", "FALSE", "Inactive"])
def test_erp_words_for_false(word: str) -> None:
    assert rows.boolean({"is_active": word}, "is_active", WHAT) is False


@pytest.mark.parametrize(("value", "expected"), [(True, True), (False, False), (1, True), (2, True), (0, False)])
def test_booleans_and_integers_from_the_driver(value: object, expected: bool) -> None:
    assert rows.boolean({"is_active": value}, "is_active", WHAT) is expected


def test_an_unknown_word_is_a_row_error_listing_the_words() -> None:
    message = _error(rows.boolean, "maybe")
    assert message == (
        "vendor V1: column='maybe' is not a boolean; allowed: a boolean, an integer (0 is false) or "
        "1/true/t/yes/y/active/a for true and 0/false/f/no/n/inactive/i for false"
    )


def test_a_missing_value_is_none_not_a_default() -> None:
    for convert in (rows.boolean, rows.money, rows.day, rows.integer):
        assert convert({}, "column", WHAT) is None
        assert convert({"column": None}, "column", WHAT) is None


def test_text_is_stripped_and_blank_is_missing() -> None:
    assert rows.text({"name": "  Acme  "}, "name") == "Acme"
    assert rows.text({"code": 42}, "code") == "42"
    assert rows.text({"name": "   "}, "name") is None
    assert rows.text({}, "name") is None
    assert rows.required_text({"name": " Acme "}, "name", WHAT) == "Acme"
    with pytest.raises(RowError, match=r"^vendor V1: name is missing$"):
        rows.required_text({"name": " "}, "name", WHAT)


def test_a_row_is_named_by_its_view_number_and_keys() -> None:
    row = {ROW_NUMBER: 4, "vendor_id": " V400 "}
    assert rows.label("erpsync_vendors", row) == "erpsync_vendors row 4 (vendor_id='V400')"
    assert rows.label("erpsync_vendors", {"vendor_id": None}) == "erpsync_vendors (vendor_id missing)"
    assert (
        rows.label("erpsync_cost_codes", {ROW_NUMBER: 1, "job_id": "J1", "code": ""})
        == "erpsync_cost_codes row 1 (job_id='J1', code missing)"
    )


def test_a_long_value_is_cut_short_in_the_error() -> None:
    assert _error(rows.integer, "x" * 58) == f"vendor V1: column='{'x' * 58}' is not an integer"  # 60 characters quoted
    message = _error(rows.integer, "y" * 59)
    assert message == f"vendor V1: column='{'y' * 39}...(61 characters) is not an integer"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.3, "0.30"),  # a float from SQLite stays what it printed, not 0.2999...
        (Decimal("1.005"), "1.01"),  # half-up, not banker's rounding
        ("0.125", "0.13"),
        (" 12 ", "12.00"),
        (-5, "-5.00"),
        ("-0.001", "0.00"),  # no negative zero
        ("9999999999999.99", "9999999999999.99"),  # 13 digits before the point
        ("0", "0.00"),
        ("1E-999999999", "0.00"),
    ],
)
def test_money_is_a_decimal_rounded_to_cents(value: object, expected: str) -> None:
    amount = rows.money({"amount": value}, "amount", WHAT)
    assert isinstance(amount, Decimal) and rows.money_text(amount) == expected


def test_quantities_keep_four_places() -> None:
    assert rows.money({"units": "1.23456"}, "units", WHAT, places=4) == Decimal("1.2346")
    assert str(rows.money({"units": "2"}, "units", WHAT, places=4)) == "2.0000"


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("abc", "is not a decimal amount"),
        ("NaN", "is not a decimal amount"),
        (Decimal("Infinity"), "is not a decimal amount"),
        ("10000000000000", "is out of range; allowed: less than 10^13 (at most 13 digits before the decimal point)"),
        ("-1E+13", "is out of range"),
        ("1E+999999999", "is out of range"),
        ("1" * 65, "is too long for an amount (at most 64 characters)"),
    ],
)
def test_an_amount_that_is_not_money_is_a_row_error(value: object, complaint: str) -> None:
    message = _error(rows.money, value)
    assert complaint in message and f"column={repr(value)[:40]}" in message  # the value as the ERP holds it


def test_an_amount_of_64_characters_is_parsed() -> None:
    assert rows.money({"amount": "0." + "0" * 61 + "1"}, "amount", WHAT) == Decimal("0.00")


def test_a_negative_amount_is_refused_where_it_cannot_be() -> None:
    assert _error(rows.money, "-0.01", negative=False) == "vendor V1: column='-0.01' is negative; allowed: 0 or more"
    assert rows.money({"amount": "-0.001"}, "amount", WHAT, negative=False) == Decimal("0.00")


def test_money_text_never_uses_an_exponent() -> None:
    assert rows.money_text(Decimal("1E+2")) == "100"
    assert rows.money_text(Decimal("0.00")) == "0.00"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2026, 3, 8, 23, 30), "2026-03-08"),
        (date(2026, 3, 8), "2026-03-08"),
        ("2026-03-08", "2026-03-08"),
        (" 2026-03-08T10:00:00 ", "2026-03-08"),
    ],
)
def test_a_day_is_an_iso_date(value: object, expected: str) -> None:
    assert rows.day({"paid_on": value}, "paid_on", WHAT) == expected


def test_a_day_that_is_not_a_date_is_a_row_error() -> None:
    assert _error(rows.day, "08/03/2026") == "vendor V1: column='08/03/2026' is not a date (YYYY-MM-DD)"


def test_integers_from_text_or_numbers() -> None:
    assert rows.integer({"payment_number": " 42 "}, "payment_number", WHAT) == 42
    assert rows.integer({"payment_number": 7}, "payment_number", WHAT) == 7
    assert _error(rows.integer, "4.5") == "vendor V1: column='4.5' is not an integer"


def test_only_nulls_are_left_out_of_a_payload() -> None:
    assert rows.without_nulls({"a": None, "b": 0, "c": False, "d": "", "e": "x"}) == {
        "b": 0,
        "c": False,
        "d": "",
        "e": "x",
    }
