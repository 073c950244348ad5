"""Import, validation report, idempotent upsert and exact round trips (CSV and xlsx)."""

from __future__ import annotations

import pandas as pd
import pandas.testing as pdt

from symbiosis import services
from symbiosis.io import read_tables
from symbiosis.store import open_store

from .conftest import VALID


def _frames_equal(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        pdt.assert_frame_equal(a[key].reset_index(drop=True), b[key].reset_index(drop=True), check_dtype=False)


def test_valid_folder_imports_with_converted_values(store):
    report = services.import_path(VALID, store)
    assert report.ok, [i.render("en") for i in report.validation.errors]
    assert report.written
    tables = store.read_all()
    assert len(tables["parks"]) == 3 and len(tables["firms"]) == 7 and len(tables["streams"]) == 12
    streams = tables["streams"].set_index("stream_id")
    assert streams.at["S005", "quantity"] == 12.5          # "12,5" decimal comma
    assert streams.at["S006", "quantity"] == 1234.5        # "1.234,5" thousands dot
    assert streams.at["S001", "quantity_min"] == 1000.0
    assert streams.at["S008", "waste_code"] == "19 06 01"
    firms = tables["firms"].set_index("firm_id")
    assert firms.at["F006", "licences"] == "16 01 12; 19 06 01"
    assert pd.isna(firms.at["F001", "lat"])               # defaults to the park point later
    params = tables["parameters"].set_index("parameter_id")
    assert params.at["circuity_factor", "value"] == 1.3
    assert params.at["circuity_factor", "source_date"] == "2025-07-01"  # 01/07/2025, day first


def test_reimport_is_idempotent_and_counts_changes(store, valid_dir):
    first = services.import_path(valid_dir, store)
    assert first.total().added == 3 + 7 + 12 + 2
    again = services.import_path(valid_dir, store)
    assert (again.total().added, again.total().changed, again.total().unchanged) == (0, 0, 24)
    streams = (valid_dir / "streams.csv").read_text(encoding="utf-8").replace("S004,F003,input,iron_steel_scrap,50,",
                                                                                "S004,F003,input,iron_steel_scrap,55,")
    (valid_dir / "streams.csv").write_text(streams, encoding="utf-8")
    third = services.import_path(valid_dir, store)
    assert third.changes["streams"].changed == 1
    assert third.changes["streams"].unchanged == 11
    assert store.read_all()["streams"].set_index("stream_id").at["S004", "quantity"] == 55.0


def test_partial_import_references_stored_rows(store, tmp_path):
    services.import_path(VALID, store)
    extra = tmp_path / "streams.csv"
    extra.write_text("stream_id,firm_id,direction,material_id,quantity,unit,frequency\n"
                     "S100,F002,input,coal_fly_ash,10,t,month\n", encoding="utf-8")
    report = services.import_path(extra, store)
    assert report.ok, [i.render("en") for i in report.validation.errors]
    assert report.changes["streams"].added == 1
    assert len(store.read_all()["streams"]) == 13


def test_csv_round_trip_is_exact(store, tmp_path):
    services.import_path(VALID, store)
    out1 = tmp_path / "export1"
    services.export(store, out1)
    second = open_store(f"sqlite:///{tmp_path / 'second.db'}")
    report = services.import_path(out1, second)
    assert report.ok
    _frames_equal(store.read_all(), second.read_all())
    out2 = tmp_path / "export2"
    services.export(second, out2)
    for name in ("parks.csv", "firms.csv", "streams.csv", "parameters.csv"):
        assert (out1 / name).read_bytes() == (out2 / name).read_bytes(), name


def test_xlsx_round_trip_is_exact(store, tmp_path):
    services.import_path(VALID, store)
    book = tmp_path / "export.xlsx"
    services.export(store, book)
    raw, issues = read_tables(book)
    assert not [i for i in issues if i.severity == "error"]
    assert set(raw) == {"parks", "firms", "streams", "parameters"}
    second = open_store(f"sqlite:///{tmp_path / 'second.db'}")
    report = services.import_path(book, second)
    assert report.ok, [i.render("en") for i in report.validation.errors]
    _frames_equal(store.read_all(), second.read_all())


def test_template_headers_are_vietnamese_with_english_keys(tmp_path):
    import openpyxl

    path = services.write_template(tmp_path / "mau.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[:1] == ["Hướng dẫn"]
    headers = [c.value for c in book["streams"][1]]
    assert headers[0] == "Mã dòng (stream_id)"
    assert "Khối lượng (quantity)" in headers
    assert any(dv.formula1 == '"output,input"' for dv in book["streams"].data_validations.dataValidation)
    # the blank template is itself importable (no rows, no errors)
    raw, issues = read_tables(path)
    assert not [i for i in issues if i.severity == "error"]


def test_bom_and_nfd_input_are_normalised(store, tmp_path):
    import unicodedata

    folder = tmp_path / "nfd"
    folder.mkdir()
    for name in ("parks.csv", "firms.csv", "streams.csv"):
        text = (VALID / name).read_text(encoding="utf-8")
        (folder / name).write_bytes(unicodedata.normalize("NFD", text).encode("utf-8-sig"))
    report = services.import_path(folder, store)
    assert report.ok, [i.render("en") for i in report.validation.errors]
    name = store.read_all()["parks"].set_index("park_id").at["TEST-A", "name"]
    assert name == unicodedata.normalize("NFC", "KCN thử nghiệm A")


def test_semicolon_separated_csv_from_vietnamese_excel(store, tmp_path):
    folder = tmp_path / "semi"
    folder.mkdir()
    (folder / "parks.csv").write_text(
        "park_id;name;kind;province;lat;lon;location_quality\n"
        "P1;KCN thử;KCN;Hưng Yên;20,954;106,033;approximate\n", encoding="utf-8")
    report = services.import_path(folder, store)
    assert report.ok, [i.render("en") for i in report.validation.errors]
    park = store.read_all()["parks"].iloc[0]
    assert (park.lat, park.lon) == (20.954, 106.033)
