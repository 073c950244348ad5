"""Regenerate the bad-input corpus under tests/data/bad/ from tests/data/valid/.

Each case is a folder holding a complete dataset with ONE defect and an
``expected.json`` naming where the error must be reported (file, row as the user
sees it, column key, message key). Run: ``python tests/data/make_bad_corpus.py``.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent
VALID = HERE / "valid"
BAD = HERE / "bad"


def _read(name: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO((VALID / name).read_text(encoding="utf-8"))))


def _write(folder: Path, name: str, rows: list[list[str]], encoding: str = "utf-8") -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    text = buf.getvalue()
    if encoding == "cp1258":  # Windows Vietnamese: tone marks as combining characters
        text = unicodedata.normalize("NFD", text)
    (folder / name).write_bytes(text.encode(encoding, errors="replace"))


def _set(rows: list[list[str]], row: int, column: str, value: str) -> None:
    """Set a cell by user-visible row number (header = row 1) and column key."""
    rows[row - 1][rows[0].index(column)] = value


CASES: list[dict] = [
    # parks
    dict(name="park_missing_name", file="parks.csv", row=2, column="name", value="", key="err.required"),
    dict(name="park_bad_kind", file="parks.csv", row=3, column="kind", value="KCX", key="err.bad_enum"),
    dict(name="park_lat_outside_vietnam", file="parks.csv", row=2, column="lat", value="35.2", key="err.lat_outside_vietnam"),
    dict(name="park_lon_outside_vietnam", file="parks.csv", row=4, column="lon", value="95.1", key="err.lon_outside_vietnam"),
    dict(name="park_duplicate_id", file="parks.csv", row=3, column="park_id", value="TEST-A", key="err.duplicate_id"),
    dict(name="park_id_with_spaces", file="parks.csv", row=2, column="park_id", value="KCN Phố Nối", key="err.bad_id"),
    dict(name="park_negative_area", file="parks.csv", row=2, column="area_ha", value="-5", key="err.negative"),
    dict(name="park_bad_location_quality", file="parks.csv", row=3, column="location_quality", value="chính xác", key="err.bad_enum"),
    # firms
    dict(name="firm_unknown_park", file="firms.csv", row=2, column="park_id", value="TEST-Z", key="err.unknown_ref"),
    dict(name="firm_unknown_sector", file="firms.csv", row=3, column="sector_code", value="IV.12", key="err.unknown_sector"),
    dict(name="firm_sector_three_in_agriculture", file="firms.csv", row=3, column="sector_code", value="I.3", key="err.unknown_sector"),
    dict(name="firm_lat_without_lon", file="firms.csv", row=3, column="lon", value="", key="err.coord_pair"),
    dict(name="firm_outside_park_without_location", file="firms.csv", row=6, column="lat", value="", key="err.firm_no_location",
         also={"lon": ""}),
    dict(name="firm_duplicate_id", file="firms.csv", row=4, column="firm_id", value="F001", key="err.duplicate_id"),
    dict(name="firm_bad_licence_code", file="firms.csv", row=7, column="licences", value="16 01 12; 1906", key="err.bad_waste_code"),
    dict(name="firm_missing_sector", file="firms.csv", row=2, column="sector_code", value="", key="err.required"),
    # streams
    dict(name="stream_unknown_firm", file="streams.csv", row=4, column="firm_id", value="F999", key="err.unknown_ref"),
    dict(name="stream_unknown_material", file="streams.csv", row=2, column="material_id", value="fly_ash", key="err.unknown_material"),
    dict(name="stream_negative_quantity", file="streams.csv", row=5, column="quantity", value="-50", key="err.not_positive"),
    dict(name="stream_zero_quantity", file="streams.csv", row=5, column="quantity", value="0", key="err.not_positive"),
    dict(name="stream_text_quantity", file="streams.csv", row=5, column="quantity", value="năm mươi", key="err.not_a_number"),
    dict(name="stream_ambiguous_number", file="streams.csv", row=4, column="quantity", value="3,000", key="err.ambiguous_number"),
    dict(name="stream_min_greater_than_max", file="streams.csv", row=2, column="quantity_min", value="1600", key="err.min_gt_max"),
    dict(name="stream_quantity_outside_bounds", file="streams.csv", row=2, column="quantity", value="2000", key="err.quantity_outside_bounds"),
    dict(name="stream_waste_without_code", file="streams.csv", row=3, column="waste_code", value="", key="err.waste_code_required"),
    dict(name="stream_nh_on_product", file="streams.csv", row=8, column="hazard_mark", value="NH", key="err.nh_on_non_waste"),
    dict(name="stream_bad_unit", file="streams.csv", row=5, column="unit", value="bao", key="err.bad_enum"),
    dict(name="stream_energy_unit_for_scrap", file="streams.csv", row=5, column="unit", value="kWh", key="err.unit_mismatch"),
    dict(name="stream_absurd_quantity", file="streams.csv", row=5, column="quantity", value="900000000", key="err.absurd_quantity"),
    dict(name="stream_bad_direction", file="streams.csv", row=4, column="direction", value="xuất khẩu", key="err.bad_enum"),
    dict(name="stream_bad_frequency", file="streams.csv", row=4, column="frequency", value="quý", key="err.bad_enum"),
    dict(name="stream_malformed_waste_code", file="streams.csv", row=9, column="waste_code", value="19-06", key="err.bad_waste_code"),
    dict(name="stream_bad_hazard_test", file="streams.csv", row=2, column="hazard_test_result", value="chưa rõ", key="err.bad_enum"),
    dict(name="stream_notes_too_long", file="streams.csv", row=13, column="notes", value="x" * 600, key="err.text_too_long"),
    dict(name="stream_missing_firm", file="streams.csv", row=7, column="firm_id", value="", key="err.required"),
    # parameters
    dict(name="parameter_unknown_id", file="parameters.csv", row=2, column="parameter_id", value="landfill_fee", key="err.unknown_parameter"),
    dict(name="parameter_out_of_range", file="parameters.csv", row=3, column="value", value="5", key="err.parameter_range"),
    dict(name="parameter_bad_date", file="parameters.csv", row=2, column="source_date", value="2025-13-01", key="err.bad_date"),
    dict(name="parameter_missing_source", file="parameters.csv", row=2, column="source", value="", key="err.required"),
]


def main() -> None:
    if BAD.exists():
        shutil.rmtree(BAD)
    BAD.mkdir()
    names = ("parks.csv", "firms.csv", "streams.csv", "parameters.csv")
    for number, case in enumerate(CASES, start=1):
        folder = BAD / f"{number:02d}_{case['name']}"
        folder.mkdir()
        for name in names:
            rows = _read(name)
            if name == case["file"]:
                _set(rows, case["row"], case["column"], case["value"])
                for column, value in case.get("also", {}).items():
                    _set(rows, case["row"], column, value)
            _write(folder, name, rows)
        expected = {k: case[k] for k in ("file", "row", "column", "key")}
        (folder / "expected.json").write_text(json.dumps(expected, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    n = len(CASES)
    # file-level defects
    folder = BAD / f"{n + 1:02d}_missing_required_column"
    folder.mkdir()
    for name in names:
        rows = _read(name)
        if name == "parks.csv":
            col = rows[0].index("location_quality")
            rows = [r[:col] + r[col + 1:] for r in rows]
        _write(folder, name, rows)
    (folder / "expected.json").write_text(json.dumps(
        {"file": "parks.csv", "row": 1, "column": "location_quality", "key": "err.missing_column"}) + "\n")
    folder = BAD / f"{n + 2:02d}_not_utf8"
    folder.mkdir()
    for name in names:
        _write(folder, name, _read(name), encoding="cp1258" if name == "parks.csv" else "utf-8")
    (folder / "expected.json").write_text(json.dumps(
        {"file": "parks.csv", "row": None, "column": "", "key": "err.encoding"}) + "\n")
    # the same defect inside a workbook: the location names the sheet
    import openpyxl

    folder = BAD / f"{n + 3:02d}_xlsx_negative_quantity"
    folder.mkdir()
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name in names:
        sheet = book.create_sheet(name.removesuffix(".csv"))
        rows = _read(name)
        if name == "streams.csv":
            _set(rows, 6, "quantity", "-3")
        for r in rows:
            sheet.append([_excel_value(v) for v in r])
    book.save(folder / "du_lieu.xlsx")
    (folder / "expected.json").write_text(json.dumps(
        {"file": "du_lieu.xlsx › streams", "row": 6, "column": "quantity", "key": "err.not_positive"},
        ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(list(BAD.iterdir()))} cases to {BAD}")


def _excel_value(text: str) -> object:
    """Numbers as Excel numbers (as a user's workbook holds them), the rest as text."""
    try:
        return float(text) if text.strip() and "," not in text else (text or None)
    except ValueError:
        return text or None


if __name__ == "__main__":
    main()
