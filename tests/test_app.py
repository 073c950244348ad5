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


# ------------------------------------------------------------------ scenarios page

SCENARIOS = "views/scenarios.py"


def _tab(at: AppTest, key: str, lang: str = "vi") -> AppTest:
    """Open one of the scenario page's tabs (stateful tabs: the selected label is the widget value)."""
    from symbiosis.i18n import t

    at.session_state["scn_tabs"] = t(key, lang)
    at.run()
    assert not at.exception, at.exception
    return at


def _table(at: AppTest, column: str, nth: int = 0):
    """The ``nth`` dataframe on the page that has ``column``."""
    return [d.value for d in at.dataframe if column in d.value.columns][nth]


def _stored(db):
    from symbiosis.scenarios import load_all
    from symbiosis.store import open_store

    return {s.scenario_id: s for s in load_all(open_store(db))}


@pytest.mark.parametrize("lang, title, tabs", [
    ("vi", "Kịch bản", ["Tạo và quản lý", "So sánh", "Đánh đổi chôn lấp – vận chuyển", "Khả năng chống chịu"]),
    ("en", "Scenarios", ["Create and manage", "Compare", "Landfill–transport trade-off", "Resilience"])])
def test_scenarios_page_opens_in_both_languages(lang, title, tabs):
    at = _open(SCENARIOS, lang)
    assert at.title[0].value == title
    assert [tab.label for tab in at.tabs][:4] == tabs
    assert at.selectbox(key="scn_kind").value == "set_parameter"


def test_scenario_form_stores_a_doubled_landfill_fee(db):
    from symbiosis.parameters import effective_parameters
    from symbiosis.scenarios import SetParameter
    from symbiosis.store import open_store

    fee = float(effective_parameters(open_store(db).read_all()["parameters"]).at["landfill_fee_vnd_per_t", "value"])
    at = _open(SCENARIOS)
    at.text_input(key="scn_name").input("Phí chôn lấp gấp đôi")
    at.text_input(key="scn_author").input("Sở Nông nghiệp và Môi trường")
    at.text_area(key="scn_description").input("Giả định tỉnh tăng phí chôn lấp")
    at.selectbox(key="scn_param").select("landfill_fee_vnd_per_t").run()
    at.number_input(key="scn_param_value_landfill_fee_vnd_per_t").set_value(2 * fee).run()
    at.button(key="scn_add").click().run()
    pending = _table(at, "details")
    assert len(pending) == 1 and "landfill_fee_vnd_per_t" in pending.details.iloc[0]
    at.button(key="scn_save").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.success and "Phí chôn lấp gấp đôi" in at.success[0].value
    stored = _stored(db)["phi-chon-lap-gap-doi"]
    assert stored.author == "Sở Nông nghiệp và Môi trường" and stored.description == "Giả định tỉnh tăng phí chôn lấp"
    assert stored.changes == [SetParameter(parameter_id="landfill_fee_vnd_per_t", value=2 * fee)]
    listing = _table(at, "author")
    assert "Phí chôn lấp gấp đôi" in set(listing.name)
    assert at.text_input(key="scn_name").value == ""          # a blank form for the next scenario


def test_scenario_changes_as_json_report_errors_and_store_nothing(db):
    before = set(_stored(db))
    at = _open(SCENARIOS)
    at.text_area(key="scn_json").input('[{"kind": "set_parameter", "parameter_id": "landfill_fee_vnd_per_t", ').run()
    at.button(key="scn_json_add").click().run()
    assert at.error and "JSON" in at.error[0].value and "dòng 1" in at.error[0].value
    at.text_area(key="scn_json").input('[{"kind": "remove_firm", "firm": "DEMO-0001"}]').run()
    at.button(key="scn_json_add").click().run()
    errors = [e.value for e in at.error]
    assert any(e.startswith("Thay đổi #1, trường “firm_id”") for e in errors), errors
    assert not any("details" in d.value.columns for d in at.dataframe)  # nothing was added to the list
    at.text_input(key="scn_name").input("JSON hỏng")
    at.text_input(key="scn_author").input("Kiểm thử")
    at.button(key="scn_save").click().run()
    assert any("ít nhất một thay đổi" in e.value for e in at.error)
    assert set(_stored(db)) == before
    _tab(_tab(at, "ui.scn_tab_tradeoff"), "ui.scn_tab_create")
    assert at.text_input(key="scn_name").value == "JSON hỏng"  # typed text survives a visit to another tab


def test_comparing_a_closure_shows_the_links_lost(db):
    """Close a busy firm and compare with the base: the page shows the engine's exact link delta.

    The busiest firm of the demo is a receiver that its neighbours can replace one-for-one
    (its suppliers re-route and the link count need not fall), so the firm is the busiest one whose
    closure the exact solver says does lose links — checked with the domain API first.
    """
    import pandas as pd

    from matching.whatif import compare, run_scenario
    from symbiosis.i18n import fmt_number
    from symbiosis.scenarios import BASE, Scenario, get, parse_changes, save
    from symbiosis.store import open_store

    store = open_store(db)
    tables = store.read_all()
    base = run_scenario(tables, get(store, BASE)).result
    busiest = pd.concat([base.matches.supplier_firm_id, base.matches.receiver_firm_id]).value_counts().index
    for firm in busiest[:10]:
        closure = Scenario(f"dong-cua-{firm.lower()}", f"Đóng cửa {firm}", "Kiểm thử",
                           changes=parse_changes([{"kind": "remove_firm", "firm_id": firm}]))
        diff = compare(base, run_scenario(tables, closure).result)
        if diff.total("links") < 0:
            break
    else:
        pytest.fail("no closure among the ten busiest firms loses a link")
    save(store, closure)

    at = _tab(_open(SCENARIOS), "ui.scn_tab_compare")
    at.selectbox(key="scn_a").select(BASE)
    at.selectbox(key="scn_b").select(closure.scenario_id).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    metrics = {m.label: m for m in at.metric}
    links = metrics["Số liên kết"]
    assert links.value == fmt_number(base.kpis.iloc[0].links + diff.total("links"), "vi", 0)
    assert links.delta == fmt_number(diff.total("links"), "vi", 0) and links.delta.startswith("-")
    lost = _table(at, "quantity_a", 1)  # gained, lost, changed
    assert len(lost) == len(diff.lost) > 0
    assert ((lost.supplier_firm_id == firm) | (lost.receiver_firm_id == firm)).any()
    spec = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    red = next(layer for layer in spec["layers"] if layer["id"] == "lost")
    assert red["@@type"] == "ArcLayer" and len(red["data"]) == len(diff.lost)
    assert red["data"][0]["colour"] == [214, 39, 40]


def test_tradeoff_tab_draws_the_curve():
    import base64

    import numpy as np

    at = _tab(_open(SCENARIOS), "ui.scn_tab_tradeoff")
    charts = at.get("plotly_chart")
    assert charts
    traces = json.loads(charts[0].proto.spec)["data"]
    names = [trace["name"] for trace in traces]
    assert "Điểm Pareto" in names and "Mức phí hiện tại" in names
    xs = traces[0]["x"]  # plotly ships arrays as base64 typed buffers
    xs = np.frombuffer(base64.b64decode(xs["bdata"]), dtype=xs["dtype"]) if isinstance(xs, dict) else np.asarray(xs)
    assert len(xs) == 11 and (np.diff(xs) >= 0).all()      # one point per fee multiplier, along the t·km axis
    assert any("Pareto" in c.value and "ngôi sao" in c.value for c in at.caption)
    at.toggle(key="scn_tradeoff_vnd").set_value(True).run()
    layout = json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]
    assert layout["xaxis"]["title"]["text"] == "Chi phí vận chuyển (đồng/năm)"


def test_resilience_tab_ranks_the_chosen_number_of_firms():
    at = _tab(_open(SCENARIOS), "ui.scn_tab_resilience")
    at.number_input(key="scn_top_n").set_value(5).run()
    assert not at.exception
    table = _table(at, "tonnes_to_landfill")
    assert len(table) == 5
    tonnes = [float(v.replace(".", "").replace(",", ".")) for v in table.tonnes_to_landfill]  # 1.234,5 in Vietnamese
    assert tonnes == sorted(tonnes, reverse=True)
    assert at.get("plotly_chart")
