"""Scenario figures on tiny hand-made inputs: the difference map's layers, colours, positions and
tooltips; the trade-off figure's traces; the resilience bars; the per-park delta table."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from matching.whatif import Comparison
from symbiosis.viz import (DIFFERENCE_COLOURS, difference_map, park_deltas, province_outline, resilience_figure,
                           tradeoff_figure)

LINK_COLUMNS = ["supply_stream_id", "demand_stream_id", "supplier_firm_id", "receiver_firm_id", "material_id", "unit",
                "distance_km", "quantity_a", "quantity_b", "delta_t"]


def _network(firms: list[tuple[str, str, float, float]]):
    parks = pd.DataFrame({"park_id": ["P"], "name": ["KCN Thử"], "kind": ["KCN"], "lat": [20.9], "lon": [106.0]})
    frame = pd.DataFrame(firms, columns=["firm_id", "name", "lat", "lon"]).assign(park_id="P")
    return SimpleNamespace(parks=parks, firms=frame)


def _link(supplier, receiver, qa, qb, delta):
    return {"supply_stream_id": f"{supplier}-out", "demand_stream_id": f"{receiver}-in", "supplier_firm_id": supplier,
            "receiver_firm_id": receiver, "material_id": "iron_steel_scrap", "unit": "t", "distance_km": 12.0,
            "quantity_a": qa, "quantity_b": qb, "delta_t": delta}


@pytest.fixture
def closure():
    """A closes in B: its link to B is lost; C (new in B) gains a link from A2; A2 → B moves."""
    net_a = _network([("A", "Xưởng A", 20.90, 106.00), ("A2", "Xưởng A2", 20.95, 106.05), ("B", "Nhà máy B", 21.00, 106.10)])
    net_b = _network([("A2", "Xưởng A2", 20.95, 106.05), ("B", "Nhà máy B", 21.00, 106.10), ("C", "Nhà máy C", 20.80, 105.90)])
    comparison = Comparison(
        kpis=pd.DataFrame(columns=["park_id", "metric", "a", "b", "delta", "delta_pct"]),
        gained=pd.DataFrame([_link("A2", "C", 0.0, 40.0, 40.0)], columns=LINK_COLUMNS),
        lost=pd.DataFrame([_link("A", "B", 100.0, 0.0, -90.0)], columns=LINK_COLUMNS),
        changed=pd.DataFrame([_link("A2", "B", 50.0, 10.0, -36.0)], columns=LINK_COLUMNS))
    return net_a, net_b, comparison


def _layers(deck) -> dict[str, dict]:
    return {layer["id"]: layer for layer in json.loads(deck.to_json())["layers"]}


def test_difference_map_colours_positions_and_tooltips(closure):
    layers = _layers(difference_map(*closure, lang="vi"))
    expected = {"parks", "firms", "gained", "lost", "changed"} | ({"province"} if province_outline() else set())
    assert set(layers) == expected
    for kind, colour in (("gained", [46, 160, 67]), ("lost", [214, 39, 40]), ("changed", [255, 165, 0])):
        layer = layers[kind]
        assert layer["@@type"] == "ArcLayer" and len(layer["data"]) == 1
        assert layer["data"][0]["colour"] == colour == DIFFERENCE_COLOURS[kind]
    lost, gained = layers["lost"]["data"][0], layers["gained"]["data"][0]
    # A exists only in network A, C only in network B: both are still placed
    assert (lost["from_lat"], lost["from_lon"], lost["to_lat"], lost["to_lon"]) == (20.90, 106.00, 21.00, 106.10)
    assert (gained["to_lat"], gained["to_lon"]) == (20.80, 105.90)
    assert lost["label"].startswith("Mất: Xưởng A → Nhà máy B") and "100 → 0 t/năm" in lost["label"]
    assert "12 km" in lost["label"]
    assert gained["label"].startswith("Mới: ")
    # width ∝ √|Δ|, the largest change at 7 px
    assert lost["width"] == pytest.approx(7.0)
    assert gained["width"] == pytest.approx(1 + 6 * np.sqrt(40 / 90))
    assert {row["label"] for row in layers["firms"]["data"]} == {"Xưởng A", "Xưởng A2", "Nhà máy B", "Nhà máy C"}
    spec = json.loads(difference_map(*closure, lang="en").to_json())
    assert spec.get("mapStyle") in (None, "")  # offline: no tile server
    assert next(la for la in spec["layers"] if la["id"] == "changed")["data"][0]["label"].startswith("Changed: ")


def test_difference_map_without_changes_has_no_arcs(closure):
    net_a, net_b, comparison = closure
    empty = pd.DataFrame(columns=LINK_COLUMNS)
    layers = _layers(difference_map(net_a, net_b, Comparison(comparison.kpis, empty, empty, empty)))
    assert not {"gained", "lost", "changed", "firms"} & set(layers) and "parks" in layers


@pytest.fixture
def curve():
    rows = [(0.0, 900.0, 0.0), (0.5, 300.0, 2000.0), (1.0, 100.0, 5000.0), (2.0, 100.0, 6000.0), (np.nan, 100.0, 5000.0)]
    frame = pd.DataFrame(rows, columns=["fee_multiplier", "landfill_t", "tkm"])
    frame["objective"] = ["vnd"] * 4 + ["lexicographic"]
    frame["landfill_fee_vnd_per_t"] = frame.fee_multiplier * 1e6
    frame["transport_cost_vnd"] = frame.tkm * 3000
    frame["pareto"] = [True, True, True, False, True]
    frame["current"] = frame.fee_multiplier == 1.0
    return frame


def test_tradeoff_figure_marks_pareto_points_and_todays_fee(curve):
    fig = tradeoff_figure(curve, "vi")
    names = [trace.name for trace in fig.data]
    assert names == ["Phương án theo mức phí chôn lấp", "Điểm Pareto", "Tránh chôn lấp tối đa, rồi ít t·km nhất",
                     "Mức phí hiện tại"]
    line, pareto, lexico, current = fig.data
    assert list(line.x) == [0.0, 2000.0, 5000.0, 6000.0] and list(line.y) == [900.0, 300.0, 100.0, 100.0]
    assert list(pareto.x) == [0.0, 2000.0, 5000.0, 5000.0]      # the dominated ×2 point is left out
    assert list(current.x) == [5000.0] and current.marker.symbol == "star"
    assert list(lexico.x) == [5000.0]
    assert "Phí chôn lấp × 1 (1.000.000 đ/t)" in current.hovertext[0]
    assert fig.layout.separators == ",." and fig.layout.yaxis.title.text == "Còn chôn lấp (t/năm)"
    vnd = tradeoff_figure(curve, "en", x="transport_cost_vnd")
    assert list(vnd.data[0].x) == [0.0, 6e6, 15e6, 18e6] and vnd.layout.xaxis.title.text == "Transport cost (VND/yr)"
    with pytest.raises(ValueError):
        tradeoff_figure(curve, "vi", x="km")


def test_resilience_figure_shows_the_top_firms_stacked():
    table = pd.DataFrame({"firm_id": [f"F{i:02d}" for i in range(20)], "name": [f"DN {i}" for i in range(20)],
                          "tonnes_to_landfill": np.linspace(200.0, 10.0, 20), "tonnes_rerouted": np.full(20, 5.0)})
    fig = resilience_figure(table, "vi")
    assert [trace.name for trace in fig.data] == ["Quay lại chôn lấp (t/năm)", "Được chuyển hướng (t/năm)"]
    landfill, rerouted = fig.data
    assert len(landfill.y) == len(rerouted.y) == 15
    assert landfill.y[0] == "F00 · DN 0" and landfill.x[0] == 200.0 and list(rerouted.x) == [5.0] * 15
    assert landfill.orientation == "h" and fig.layout.barmode == "stack" and fig.layout.yaxis.autorange == "reversed"
    assert len(resilience_figure(table, "en", top=3).data[0].y) == 3


def test_park_deltas_keeps_parks_that_moved():
    metrics = ["diverted_t", "links", "tkm", "vnd_saved", "co2e_avoided_t"]
    rows = []
    for park, change in (("TOTAL", -5.0), ("P", -5.0), ("Q", 0.0)):
        rows += [{"park_id": park, "metric": m, "a": 10.0, "b": 10.0 + change, "delta": change} for m in metrics]
    comparison = Comparison(pd.DataFrame(rows), *[pd.DataFrame(columns=LINK_COLUMNS)] * 3)
    parks = pd.DataFrame({"park_id": ["P", "Q"], "name": ["KCN P", "KCN Q"]})
    table = park_deltas(comparison, parks)
    assert list(table.park_id) == ["P"] and table.name.iloc[0] == "KCN P"
    assert table.diverted_t_a.iloc[0] == 10.0 and table.diverted_t_b.iloc[0] == 5.0 and table.delta_links.iloc[0] == -5.0


def test_siting_map_sizes_and_colours_sites_by_value_and_rings_the_chosen_one():
    from symbiosis.viz import SITING_COLOURS, siting_map

    parks = pd.DataFrame({"park_id": ["P1", "P2", "P3", "P4"], "name": ["KCN Một", "KCN Hai", "CCN Ba", "CCN Bốn"],
                          "kind": ["KCN", "KCN", "CCN", "CCN"], "lat": [20.90, 20.80, 20.70, np.nan],
                          "lon": [106.00, 106.10, 106.20, np.nan]})
    network = SimpleNamespace(parks=parks, firms=pd.DataFrame(columns=["firm_id", "name", "lat", "lon", "park_id"]))
    ranking = pd.DataFrame({"rank": [1, 2, 3, 4], "site": ["P2", "P1", "P3", "P4"],
                            "net_value_vnd": [4e9, 1e9, -5e7, 0.0], "gain_t": [2000.0, 500.0, 0.0, 0.0],
                            "received": [6000.0, 1500.0, 0.0, 0.0]})
    deck = siting_map(network, ranking, ["P2"], "vi")
    layers = _layers(deck)
    assert set(layers) == {"sites", "chosen"} | ({"province"} if province_outline() else set())
    sites = {row["site"]: row for row in layers["sites"]["data"]}
    assert set(sites) == {"P1", "P2", "P3"}                            # P4 has no location
    assert sites["P2"]["colour"] == SITING_COLOURS["best"]             # the best value: deepest green
    assert sites["P3"]["colour"] == SITING_COLOURS["not_worth"] == [150, 150, 150]
    assert SITING_COLOURS["low"] != sites["P1"]["colour"] != SITING_COLOURS["best"]
    # area ∝ value: radius 700 m + 2300 m × √(value / best)
    assert (sites["P2"]["radius"], sites["P3"]["radius"]) == (3000.0, 700.0)
    assert sites["P1"]["radius"] == pytest.approx(700 + 2300 * 0.5)
    chosen = layers["chosen"]
    assert chosen["@@type"] == "ScatterplotLayer" and len(chosen["data"]) == 1
    ring = chosen["data"][0]
    assert ring["site"] == "P2" and ring["colour"] == [230, 97, 0] == SITING_COLOURS["chosen"]
    assert ring["radius"] > sites["P2"]["radius"] and (ring["lat"], ring["lon"]) == (20.80, 106.10)
    assert ring["label"] == ("Được chọn — 1. KCN Hai (P2): giá trị ròng 4.000.000.000 đ/năm · "
                             "tránh chôn lấp thêm 2.000 t/năm · tiếp nhận 6.000 t/năm")
    assert sites["P3"]["label"].startswith("3. CCN Ba (P3): giá trị ròng -50.000.000 đ/năm")
    assert deck._tooltip == {"text": "{label}", "style": {"fontSize": "12px"}}
    spec = json.loads(siting_map(network, ranking, [], "en").to_json())
    assert spec.get("mapStyle") in (None, "")                           # offline: no tile server
    assert "chosen" not in {layer["id"] for layer in spec["layers"]}
    label = next(la for la in spec["layers"] if la["id"] == "sites")["data"][0]["label"]
    assert label == "1. KCN Hai (P2): net value 4,000,000,000 VND/yr · extra kept from landfill 2,000 t/yr · received 6,000 t/yr"
