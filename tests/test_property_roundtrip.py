"""Property: any valid dataset imports cleanly and exports back identically."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pandas.testing as pdt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symbiosis import schema, services
from symbiosis.catalogue import load_catalogue
from symbiosis.io import write_csv_folder, write_workbook
from symbiosis.store import open_store

CAT = load_catalogue()
UNITS_FOR_BASE = {"t": ["kg", "t"], "m3": ["m3", "L"], "MWh": ["kWh", "MWh"]}
VI_LETTERS = "aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵĐ"
ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,11}", fullmatch=True)
names = st.text(alphabet=VI_LETTERS + "ABC 0123456789-,;\"'()", min_size=1, max_size=30).map(str.strip).filter(bool)
optional_text = st.none() | names
lat = st.floats(8.5, 23.0, allow_nan=False).map(lambda x: round(x, 6))
lon = st.floats(102.5, 117.0, allow_nan=False).map(lambda x: round(x, 6))
quantities = st.floats(0.001, 20_000, allow_nan=False).map(lambda x: float(np.format_float_positional(x, precision=6)))
MATERIALS = list(CAT.materials.index)
SUBSECTORS = list(CAT.subsectors.index)


@st.composite
def datasets(draw):
    park_ids = draw(st.lists(ids, min_size=1, max_size=3, unique=True))
    parks = pd.DataFrame({
        "park_id": park_ids,
        "name": [draw(names) for _ in park_ids],
        "kind": [draw(st.sampled_from(schema.enum_keys("park_kind"))) for _ in park_ids],
        "province": [draw(names) for _ in park_ids],
        "lat": [draw(lat) for _ in park_ids],
        "lon": [draw(lon) for _ in park_ids],
        "area_ha": [draw(st.none() | st.floats(0, 5000, allow_nan=False).map(lambda x: round(x, 2))) for _ in park_ids],
        "operator": [draw(optional_text) for _ in park_ids],
        "location_quality": [draw(st.sampled_from(["surveyed", "approximate"])) for _ in park_ids],
        "location_method": [draw(optional_text) for _ in park_ids],
        "source": [draw(optional_text) for _ in park_ids],
        "notes": [draw(optional_text) for _ in park_ids],
    })
    firm_ids = draw(st.lists(ids, min_size=1, max_size=4, unique=True))
    firm_rows = []
    for fid in firm_ids:
        park = draw(st.none() | st.sampled_from(park_ids))
        located = park is None or draw(st.booleans())
        codes = draw(st.lists(st.from_regex(r"\d\d \d\d \d\d", fullmatch=True), max_size=2, unique=True))
        firm_rows.append({
            "firm_id": fid, "name": draw(names), "park_id": park, "sector_code": draw(st.sampled_from(SUBSECTORS)),
            "lat": draw(lat) if located else None, "lon": draw(lon) if located else None,
            "licences": "; ".join(sorted(codes)) or None, "notes": draw(optional_text),
        })
    firms = pd.DataFrame(firm_rows)
    stream_ids = draw(st.lists(ids, max_size=6, unique=True))
    stream_rows = []
    for sid in stream_ids:
        mid = draw(st.sampled_from(MATERIALS))
        m = CAT.materials.loc[mid]
        direction = draw(st.sampled_from(["output", "input"]))
        needs_code = direction == "output" and m.kind == "waste"
        q = draw(quantities)
        lo = draw(st.none() | st.just(round(q / 2, 6)))
        hi = draw(st.none() | st.just(round(q * 2, 6)))
        mark = None if m.kind != "waste" else draw(st.none() | st.sampled_from(["NH", "KS", "TT-R", "TT"]))
        stream_rows.append({
            "stream_id": sid, "firm_id": draw(st.sampled_from(firm_ids)), "direction": direction, "material_id": mid,
            "quantity": q, "unit": draw(st.sampled_from(UNITS_FOR_BASE[m.base_unit])),
            "frequency": draw(st.sampled_from(["day", "week", "month", "year"])),
            "quantity_min": lo, "quantity_max": hi,
            "waste_code": draw(st.from_regex(r"\d\d \d\d \d\d", fullmatch=True)) if needs_code else None,
            "hazard_mark": mark, "hazard_test_result": draw(st.none() | st.sampled_from(["non_hazardous", "hazardous"])),
            "notes": draw(optional_text),
        })
    streams = pd.DataFrame(stream_rows, columns=schema.columns("streams"))
    return {"parks": parks, "firms": firms, "streams": streams}


def _canonical(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    out = {}
    for comp, frame in frames.items():
        cols = schema.columns(comp)
        f = frame[cols].sort_values(cols[0]).reset_index(drop=True)
        out[comp] = f.astype(object).where(f.notna(), None)
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=datasets(), as_xlsx=st.booleans())
def test_valid_data_round_trips(data, as_xlsx):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        source = write_workbook(data, tmp / "in.xlsx") if as_xlsx else write_csv_folder(data, tmp / "in")[0].parent
        store = open_store(f"sqlite:///{tmp / 'db.sqlite'}")
        report = services.import_path(source, store)
        assert report.ok, [i.render("en") for i in report.validation.errors]
        stored = store.read_all()
        stored.pop("parameters")
        expected, got = _canonical(data), _canonical(stored)
        for comp in expected:
            pdt.assert_frame_equal(got[comp], expected[comp], check_dtype=False)
        services.export(store, tmp / "out")
        second = open_store(f"sqlite:///{tmp / 'db2.sqlite'}")
        assert services.import_path(tmp / "out", second).ok
        services.export(second, tmp / "out2")
        for name in ("parks.csv", "firms.csv", "streams.csv"):
            assert (tmp / "out" / name).read_bytes() == (tmp / "out2" / name).read_bytes()
