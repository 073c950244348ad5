"""Streamlit AppTest: every page renders on the demo, shows the right figures, and reacts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

st = pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
TIMEOUT = 120


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """One demo database for the module (loading and solving the demo once keeps the suite fast)."""
    return f"sqlite:///{tmp_path_factory.mktemp('app') / 'app.db'}"


@pytest.fixture(autouse=True)
def env(db, monkeypatch):
    monkeypatch.setenv("SYMBIOSIS_DB_URL", db)
    monkeypatch.chdir(ROOT)
    yield


def _open(page: str | None = None, lang: str = "vi") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["lang"] = lang
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def _result(db):
    from matching.engine import run_matching
    from symbiosis.network import build_network
    from symbiosis.store import open_store

    return run_matching(build_network(open_store(db).read_all()))


def test_overview_shows_the_engine_figures(db):
    at = _open()
    assert at.title[0].value == "Tổng quan"
    total = _result(db).kpis.set_index("park_id").loc["TOTAL"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Số liên kết"] == str(int(total.links))
    assert metrics["Doanh nghiệp tham gia"] == str(int(total.firms_involved))
    from symbiosis.i18n import fmt_number

    assert metrics["Tránh chôn lấp (t/năm)"] == fmt_number(total.diverted_t, "vi", 0)
    assert "." in metrics["Tránh chôn lấp (t/năm)"]           # Vietnamese thousands separator
    assert len(at.dataframe) >= 1


def test_language_switch_to_english():
    at = _open(lang="en")
    assert at.title[0].value == "Overview"
    labels = [m.label for m in at.metric]
    assert "Kept from landfill (t/yr)" in labels and "Links" in labels
    at.sidebar.selectbox(key="lang").select("vi").run()
    assert at.title[0].value == "Tổng quan"


def test_map_has_offline_layers():
    at = _open("views/map.py")
    spec = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    ids = {layer["id"] for layer in spec["layers"]}
    assert {"firms", "parks", "flows"} <= ids
    assert spec.get("mapStyle") in (None, "")  # no tile server
    flows = next(layer for layer in spec["layers"] if layer["id"] == "flows")
    assert flows["@@type"] == "ArcLayer"


def test_map_filter_by_material_narrows_the_flows():
    at = _open("views/map.py")
    before = len(next(la for la in json.loads(at.get("deck_gl_json_chart")[0].proto.json)["layers"]
                      if la["id"] == "flows")["data"])
    at.multiselect(key="map_material").select("brewers_spent_grain").run()
    after = json.loads(at.get("deck_gl_json_chart")[0].proto.json)["layers"]
    flows = [la for la in after if la["id"] == "flows"]
    assert flows and 0 < len(flows[0]["data"]) < before


def test_network_page():
    at = _open("views/network.py")
    assert at.get("plotly_chart")
    assert len(at.dataframe[0].value) > 0


def test_opportunities_table_explanation_and_why_not(db):
    at = _open("views/opportunities.py")
    result = _result(db)
    assert len(at.dataframe[0].value) == len(result.matches)
    assert "theo quy tắc" in at.info[0].value
    assert at.warning and "t/năm" in at.warning[0].value


def test_parameter_change_reruns_with_fewer_links(db):
    at = _open("views/parameters.py")  # first start loads the demo
    before = int(_result(db).kpis.iloc[0].links)
    from symbiosis.parameters import effective_parameters

    order = list(effective_parameters().parameter_id)
    at.session_state["param_editor"] = {"edited_rows": {order.index("max_haul_km"): {"value": 15.0}},
                                        "added_rows": [], "deleted_rows": []}
    at.text_input(key="param_source").input("Kịch bản thử: cự ly tối đa 15 km").run()
    at.button(key="param_save").click().run()
    assert not at.exception
    assert at.success and "1" in at.success[0].value
    assert int(_result(db).kpis.iloc[0].links) < before


def test_firm_data_rejects_bad_stream_and_saves_good_one(db):
    at = _open("views/firm_data.py")
    firm = at.selectbox(key="firm_pick").value
    bad = {"stream_id": "APP-TEST-1", "firm_id": firm, "direction": "output", "material_id": "occ", "quantity": -5.0,
           "unit": "t", "frequency": "year", "waste_code": "99 00 01"}
    at.session_state["streams_editor"] = {"edited_rows": {}, "added_rows": [bad], "deleted_rows": []}
    at.button(key="firm_save").click().run()
    assert at.error and "Phải lớn hơn 0" in at.error[0].value and "streams.csv" in at.error[0].value
    good = {**bad, "quantity": 12.0}
    at.session_state["streams_editor"] = {"edited_rows": {}, "added_rows": [good], "deleted_rows": []}
    at.button(key="firm_save").click().run()
    assert at.success and "1" in at.success[0].value
    from symbiosis.store import open_store

    assert "APP-TEST-1" in set(open_store(db).read_all()["streams"].stream_id)


def test_material_picker_is_diacritics_insensitive():
    at = _open("views/firm_data.py")
    at.text_input(key="material_query").input("tro bay").run()
    hits = next(d.value for d in at.dataframe if "vi" in d.value.columns)
    assert hits.material_id.iloc[0] == "coal_fly_ash"
    assert hits.vi.iloc[0] == "Tro bay"


def test_new_firm_form_reports_field_errors_then_saves(db):
    at = _open("views/firm_data.py")
    at.text_input(key="new_firm_id").input("có dấu cách")
    at.text_input(key="new_firm_name").input("DN thử nghiệm biểu mẫu")
    at.button[0].click().run()  # the form's submit button
    errors = [e.value for e in at.error]
    assert any("Mã doanh nghiệp" in e and "chữ không dấu" in e for e in errors), errors
    assert any("toạ độ" in e for e in errors)           # outside any park and no coordinates
    at.text_input(key="new_firm_id").input("FORM-001")
    at.selectbox(key="new_firm_park").select("KCN-PHO-NOI-A")
    at.button[0].click().run()
    assert at.success, [e.value for e in at.error]
    from symbiosis.store import open_store

    assert "FORM-001" in set(open_store(db).read_all()["firms"].firm_id)


def test_streams_show_their_conversion_to_base_units():
    at = _open("views/firm_data.py")
    table = next(d.value for d in at.dataframe if "per_year" in d.value.columns)
    assert (table.per_year > 0).all() and set(table.base_unit) <= {"t", "m3", "MWh"}


def test_map_tooltips_name_firms_tonnes_and_km():
    at = _open("views/map.py")
    spec = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    flows = next(la for la in spec["layers"] if la["id"] == "flows")["data"]
    label = flows[0]["label"]
    assert "→" in label and "t/năm" in label and "km" in label and "DN mô phỏng" in label
