"""Cell parsers and unit conversion."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from symbiosis.parsing import CellError, parse_date, parse_id, parse_number, parse_waste_code
from symbiosis.text import fold
from symbiosis.units import conversion_factor, to_base_per_year


@pytest.mark.parametrize(("text", "expected"), [
    ("1234", 1234.0), ("1234.5", 1234.5), ("1234,5", 1234.5), ("1.234,5", 1234.5), ("1,234.5", 1234.5),
    ("1 234,5", 1234.5), ("1.234.567", 1234567.0), ("1,234,567", 1234567.0), ("0,125", 0.125),
    ("0.125", 0.125), ("20.954", 20.954), ("-3,5", -3.5), (",5", 0.5), ("12,5", 12.5), (7, 7.0), (2.5, 2.5),
    ("1.234.567,89", 1234567.89), ("\u00a01\u00a0000", 1000.0),
])
def test_parse_number_accepts_vietnamese_and_english_forms(text, expected):
    assert parse_number(text) == expected


@pytest.mark.parametrize("text", ["abc", "1,2,3", "1.2.3", "12a", "1..2", "1,234,5", "--1", "1.23,4"])
def test_parse_number_rejects_garbage(text):
    with pytest.raises(CellError):
        parse_number(text)


def test_ambiguous_comma_is_rejected_with_both_readings():
    with pytest.raises(CellError) as err:
        parse_number("1,234")
    vi, en = err.value.message.render("vi"), err.value.message.render("en")
    assert "1234" in vi and "1,2340" in vi
    assert "1234" in en and "1.2340" in en


def test_parse_date_forms():
    assert parse_date("2025-07-01") == dt.date(2025, 7, 1)
    assert parse_date("01/07/2025") == dt.date(2025, 7, 1)  # Vietnamese day/month order
    assert parse_date(dt.datetime(2025, 7, 1, 8, 0)) == dt.date(2025, 7, 1)
    with pytest.raises(CellError):
        parse_date("2025-13-01")


@pytest.mark.parametrize(("text", "expected"), [
    ("16 01 12", "16 01 12"), ("160112", "16 01 12"), ("16-01-12", "16 01 12"), ("16.01.12", "16 01 12"),
    (" 19 06 01 ", "19 06 01"), (20101, "02 01 01"), ("16 01 12*", "16 01 12"),
])
def test_waste_code_normalisation(text, expected):
    assert parse_waste_code(text) == expected


@pytest.mark.parametrize("text", ["1601", "16 01 1", "AB 01 12", "16 01 12 01"])
def test_waste_code_rejects_malformed(text):
    with pytest.raises(CellError):
        parse_waste_code(text)


def test_ids():
    assert parse_id("F-001") == "F-001"
    assert parse_id(12.0) == "12"
    for bad in ("có dấu", "a b", "", "x" * 65):
        with pytest.raises(CellError):
            parse_id(bad)


def test_fold_strips_vietnamese_diacritics():
    assert fold("Tro bày ĐẦU RA") == "tro bay dau ra"
    assert fold("Bã hèm bia") == "ba hem bia"


def test_conversion_factors():
    assert conversion_factor("kg", "t") == 1e-3
    assert conversion_factor("L", "m3") == 1e-3
    assert conversion_factor("kWh", "MWh") == 1e-3
    assert conversion_factor("m3", "t", 0.8) == 0.8
    assert conversion_factor("t", "m3", 0.5) == 2.0
    assert conversion_factor("m3", "t", float("nan")) is None
    assert conversion_factor("t", "MWh") is None


def test_to_base_per_year_vectorised():
    out = to_base_per_year(
        np.array([2.0, 500.0, 10.0, 3.0]), np.array(["t", "kg", "m3", "MWh"]),
        np.array(["day", "month", "week", "year"]), np.array(["t", "t", "t", "MWh"]),
        np.array([np.nan, np.nan, 1.2, np.nan]),
    )
    np.testing.assert_allclose(out, [730.0, 6.0, 624.0, 3.0])


def test_locale_formats():
    from symbiosis.i18n import fmt_date, fmt_number

    assert fmt_number(1234567.891, "vi", 2) == "1.234.567,89"
    assert fmt_number(1234567.891, "en", 2) == "1,234,567.89"
    assert fmt_number(12.0, "vi", 1) == "12"
    assert fmt_date("2025-07-01", "vi") == "01/07/2025"
    assert fmt_date("2025-07-01", "en") == "Jul 1, 2025"


@given(st.lists(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False), max_size=30),
       st.sampled_from(["vi", "en"]), st.integers(min_value=0, max_value=3))
def test_column_formatting_equals_one_by_one(values, lang, digits):
    """Explanations format whole columns; the text must be exactly the scalar formatter's."""
    from symbiosis.i18n import fmt_number, fmt_numbers

    assert fmt_numbers(values, lang, digits) == [fmt_number(v, lang, digits) for v in values]


def test_column_formatting_edge_values():
    from symbiosis.i18n import fmt_numbers

    assert fmt_numbers([0.04, -0.04, 1234.5, 10.0, -0.0], "vi", 1) == ["0", "0", "1.234,5", "10", "0"]
    assert fmt_numbers([1234.5, 1000.0], "en", 0) == ["1,234", "1,000"]
