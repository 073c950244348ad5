"""Every bad file is reported at the exact place, in both languages, and writes nothing."""

from __future__ import annotations

import json
import sqlite3

import pytest

from symbiosis import services
from symbiosis.i18n import t

from .conftest import BAD, VALID

CASES = sorted(p for p in BAD.iterdir() if p.is_dir())


def test_corpus_is_large_enough():
    assert len(CASES) >= 30


def _dump(store) -> list[tuple]:
    """Every row of every table (including the import log): proof that nothing changed."""
    path = store.engine.url.database
    with sqlite3.connect(path) as con:
        rows = []
        for table in ("parks", "firms", "streams", "parameters", "import_log"):
            rows += [(table, *r) for r in con.execute(f"SELECT * FROM {table} ORDER BY 1")]  # noqa: S608
    return rows


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_located_and_nothing_is_written(case, store):
    services.import_path(VALID, store)  # the store already holds good data
    before = _dump(store)
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    inputs = list(case.glob("*.xlsx")) or [case]
    report = services.import_path(inputs[0], store)

    assert not report.ok and not report.written
    assert _dump(store) == before, "a failed import must not change the database"
    located = [i for i in report.validation.errors
               if i.source == expected["file"] and i.row == expected["row"] and (i.column == expected["column"])]
    assert located, [f"{i.source}:{i.row}:{i.column}:{i.message.key}" for i in report.validation.errors]
    issue = located[0]
    keys = {issue.message.key} | {v.key for _, v in issue.message.params if hasattr(v, "key")}
    assert expected["key"] in keys, issue.message
    # the message renders in both languages and names the place
    vi, en = issue.render("vi"), issue.render("en")
    assert expected["file"] in vi and expected["file"] in en
    if expected["row"] is not None:
        assert f"dòng {expected['row']}" in vi and f"row {expected['row']}" in en
    assert vi != en


def test_unknown_material_gets_close_suggestions(store):
    report = services.import_path(BAD / "18_stream_unknown_material", store)
    issue = next(i for i in report.validation.errors if i.column == "material_id")
    assert issue.value == "fly_ash"
    assert "coal_fly_ash" in issue.message.render("en")
    assert "Có phải ý bạn là" in issue.message.render("vi")


def test_unknown_sector_suggests_codes(store):
    report = services.import_path(BAD / "10_firm_unknown_sector", store)
    issue = next(i for i in report.validation.errors if i.column == "sector_code")
    assert "IV." in issue.message.render("vi")


def test_error_location_uses_excel_column_letter(store):
    report = services.import_path(BAD / "19_stream_negative_quantity", store)
    issue = next(i for i in report.validation.errors if i.column == "quantity")
    assert issue.location("vi") == "streams.csv, dòng 5, cột E (quantity)"
    assert issue.location("en") == "streams.csv, row 5, column E (quantity)"
    assert t("err.not_positive", "vi") in issue.render("vi")


def test_validate_only_never_writes(store):
    before = _dump(store)
    result = services.validate(VALID, store)
    assert result.ok
    assert _dump(store) == before
