"""Scenarios: exact deltas on hand-made cases, stored round trip, located errors,
trade-off curve and resilience."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from matching.whatif import compare, pareto_mask, resilience, run_scenario, tradeoff_curve
from symbiosis.network import build_network
from symbiosis.scenarios import BASE, Scenario, ScenarioError, apply_changes, get, load_all, parse_changes, save

from .test_matching import KM_PER_DEG_LAT, _scrap_pair, _tables

SENT_FOR_60 = 60 / 0.9  # scrap rule R019 yields 0.9: 66.67 t of scrap fill a 60 t need


def _run(tables, changes=(), objective="lexicographic"):
    return run_scenario(tables, Scenario("s", "s", "test", changes=parse_changes(list(changes))), objective)


def _total(run, column):
    return float(run.result.kpis.set_index("park_id").at["TOTAL", column])


def test_scaling_the_receiver_diverts_the_rest_of_the_scrap():
    base = _run(_scrap_pair(60.0))
    grown = _run(_scrap_pair(60.0), [{"kind": "scale_streams", "factor": 2.0, "firm_id": "B"}])
    diff = compare(base.result, grown.result)
    assert diff.total("diverted_t") == pytest.approx(100 - SENT_FOR_60)
    assert diff.total("tkm") == pytest.approx((100 - SENT_FOR_60) * 12.0)  # 12 km road
    assert diff.gained.empty and diff.lost.empty
    assert list(diff.changed.receiver_firm_id) == ["B"]
    assert diff.changed.quantity_a.iloc[0] == pytest.approx(SENT_FOR_60)
    assert diff.changed.quantity_b.iloc[0] == pytest.approx(100.0)


def test_a_firm_closing_loses_its_link():
    closed = _run(_scrap_pair(60.0), [{"kind": "remove_firm", "firm_id": "B"}])
    diff = compare(_run(_scrap_pair(60.0)).result, closed.result)
    assert diff.total("diverted_t") == pytest.approx(-SENT_FOR_60)
    assert diff.total("links") == -1
    assert list(diff.lost.receiver_firm_id) == ["B"] and diff.gained.empty


def test_new_tenant_takes_the_nearer_share_and_total_haul_is_unchanged():
    """Mill C opens 5 km away (6 km by road) needing 60 t: C gets 66.67 t, B keeps 33.33 t —
    66.67 × 6 + 33.33 × 12 = 800 t·km, the same as before."""
    c = {"kind": "add_firm",
         "firm": {"firm_id": "C", "name": "Nhà máy thép C", "park_id": "P", "sector_code": "IV.6",
                  "lat": 20.9 - 5.0 / KM_PER_DEG_LAT, "lon": 106.0},
         "streams": [{"stream_id": "dc", "firm_id": "C", "direction": "input", "material_id": "iron_steel_scrap",
                      "quantity": 60.0, "unit": "t", "frequency": "year"}]}
    diff = compare(_run(_scrap_pair(60.0)).result, _run(_scrap_pair(60.0), [c]).result)
    assert diff.total("diverted_t") == pytest.approx(100 - SENT_FOR_60)
    assert diff.total("tkm") == pytest.approx(0.0, abs=1e-6)
    assert list(diff.gained.receiver_firm_id) == ["C"]
    assert diff.gained.quantity_b.iloc[0] == pytest.approx(SENT_FOR_60)
    assert diff.changed.quantity_b.iloc[0] == pytest.approx(100 - SENT_FOR_60)


def test_shorter_maximum_haul_cuts_the_link():
    cut = _run(_scrap_pair(60.0), [{"kind": "set_parameter", "parameter_id": "max_haul_km", "value": 10.0}])
    assert _total(cut, "diverted_t") == 0.0
    assert cut.result.parameters["max_haul_km"] == 10.0


def test_facility_capacity_caps_what_it_takes():
    """1 000 t/yr of tested fly ash; an ash-brick plant of 400 t/yr opens 3 km away (rule R002, yield 1)."""
    tables = _tables(
        [{"firm_id": "PWR", "name": "Lò hơi", "lat": 20.9, "lon": 106.0}],
        [{"stream_id": "ash", "firm_id": "PWR", "direction": "output", "material_id": "coal_fly_ash",
          "quantity": 1000.0, "waste_code": "00 00 01", "hazard_test_result": "non_hazardous"}])
    plant = {"kind": "add_facility", "facility_type": "ash_brick_plant", "lat": 20.9 + 3.0 / KM_PER_DEG_LAT,
             "lon": 106.0, "capacity_t_per_year": 400.0, "facility_id": "BRICK"}
    run = _run(tables, [plant])
    m = run.result.matches
    assert list(m.receiver_firm_id) == ["BRICK"] and m.rule_id.iloc[0] == "R002"
    assert m.quantity.iloc[0] == pytest.approx(400.0)
    assert m.distance_km.iloc[0] == pytest.approx(3.6, rel=1e-6)
    assert _total(run, "diverted_t") == pytest.approx(400.0)


def test_diversion_target_forces_an_uneconomic_haul_and_reports_when_unattainable():
    dear = {"kind": "set_parameter", "parameter_id": "transport_cost_vnd_per_tkm", "value": 100_000.0}
    free = _run(_scrap_pair(60.0), [dear], "vnd")
    assert _total(free, "diverted_t") == 0.0  # 12 km × 100 000 VND > 1 000 000 VND landfill fee
    half = _run(_scrap_pair(60.0), [dear, {"kind": "min_diversion", "share": 0.5}], "vnd")
    assert half.result.optimal and half.result.target_met
    assert _total(half, "diverted_t") == pytest.approx(50.0)  # exactly the target, not more
    much = _run(_scrap_pair(60.0), [dear, {"kind": "min_diversion", "share": 0.9}], "vnd")
    assert much.result.status == "INFEASIBLE" and much.result.target_met is False
    lexi = _run(_scrap_pair(60.0), [{"kind": "min_diversion", "share": 0.9}])
    assert lexi.result.optimal and lexi.result.target_met is False  # 66.7 % is the most possible


def test_new_park_gets_synthetic_tenants_from_the_generator():
    from symbiosis.demo import demo_inputs

    base = _scrap_pair(60.0)
    tables, _ = apply_changes(base, parse_changes([{"kind": "add_park", "park_id": "KCN-P-SO-6", "tenants": 12}]))
    new = tables["firms"][tables["firms"].park_id == "KCN-P-SO-6"]
    assert len(new) == 12 and new.firm_id.str.startswith("SCN-KCN-P-SO-6-").all()
    assert new.name.str.contains("mô phỏng").all()
    assert "KCN-P-SO-6" in set(tables["parks"].park_id)
    assert set(demo_inputs()["parks"].park_id) >= {"KCN-P-SO-6"}
    assert tables["streams"].firm_id.isin(new.firm_id).sum() > 12


def test_changes_are_checked_with_located_bilingual_errors():
    with pytest.raises(ScenarioError) as err:
        parse_changes('[{"kind": "scale_streams", "factor": -1}]')
    assert "Thay đổi #1" in str(err.value) and "factor" in str(err.value)
    with pytest.raises(ScenarioError, match="Change #2: no firm"):
        apply_changes(_scrap_pair(60.0), parse_changes([{"kind": "remove_firm", "firm_id": "A"},
                                                        {"kind": "remove_firm", "firm_id": "NOPE"}]), lang="en")
    bad_stream = {"kind": "add_firm", "firm": {"firm_id": "C", "name": "C", "park_id": "P", "sector_code": "IV.6"},
                  "streams": [{"stream_id": "x", "firm_id": "C", "direction": "input", "material_id": "unobtainium",
                               "quantity": 1, "unit": "t", "frequency": "year"}]}
    with pytest.raises(ScenarioError) as err:
        apply_changes(_scrap_pair(60.0), parse_changes([bad_stream]))
    text = str(err.value)
    assert "Thay đổi #1" in text and "unobtainium" in text and "material_id" in text
    with pytest.raises(ScenarioError, match="landfill_fee_vnd_per_t"):  # lists the known parameters
        apply_changes(_scrap_pair(60.0), parse_changes([{"kind": "set_parameter", "parameter_id": "fee", "value": 1}]))


def test_scenarios_are_stored_with_author_date_and_changes(store):
    changes = parse_changes([{"kind": "set_parameter", "parameter_id": "landfill_fee_vnd_per_t", "value": 2e6},
                             {"kind": "remove_firm", "firm_id": "DEMO-0001"}])
    save(store, Scenario("phi-x2", "Phí chôn lấp × 2", "Phòng Quy hoạch", "Phí tăng gấp đôi", changes))
    loaded = load_all(store)
    assert [s.scenario_id for s in loaded] == ["phi-x2"]
    assert loaded[0].author == "Phòng Quy hoạch" and loaded[0].created_at is not None
    assert loaded[0].changes == changes
    assert get(store, BASE).changes == []
    assert store.delete_scenario("phi-x2") and load_all(store) == []


def test_tradeoff_curve_trades_landfill_for_haulage():
    tables = _tables(
        [{"firm_id": "A", "name": "A", "lat": 20.9, "lon": 106.0},
         {"firm_id": "NEAR", "name": "N", "lat": 20.9 + 5 / KM_PER_DEG_LAT, "lon": 106.0},
         {"firm_id": "FAR", "name": "F", "lat": 20.9 + 60 / KM_PER_DEG_LAT, "lon": 106.0}],
        [{"stream_id": "s", "firm_id": "A", "direction": "output", "material_id": "brewers_spent_grain",
          "quantity": 100.0},
         {"stream_id": "near", "firm_id": "NEAR", "direction": "input", "material_id": "animal_feed", "quantity": 40.0},
         {"stream_id": "far", "firm_id": "FAR", "direction": "input", "material_id": "animal_feed", "quantity": 200.0}])
    curve = tradeoff_curve(build_network(tables), multipliers=(0.0, 0.1, 1.0))
    vnd = curve[curve.objective == "vnd"]
    assert list(vnd.landfill_t) == sorted(vnd.landfill_t, reverse=True)  # more penalty, less landfill
    assert list(vnd.tkm) == sorted(vnd.tkm)  # … bought with more haulage
    assert vnd.landfill_t.iloc[0] == pytest.approx(100.0) and vnd.tkm.iloc[0] == 0.0
    assert curve.landfill_t.iloc[-1] == pytest.approx(0.0)  # lexicographic end: all diverted
    assert curve.pareto.all() and curve.current.sum() == 1


def test_pareto_mask():
    landfill = np.array([10.0, 5.0, 5.0, 0.0, 7.0])
    tkm = np.array([0.0, 50.0, 60.0, 100.0, 80.0])
    assert list(pareto_mask(landfill, tkm)) == [True, True, False, True, False]


def test_resilience_names_what_returns_to_landfill_and_who_absorbs():
    """A has 100 t of scrap; mills B (12 km) and C (24 km) each take 50 t; D (36 km) has room for 50 t
    too but is only used when a nearer mill leaves."""
    dlat = 1 / KM_PER_DEG_LAT
    firms = [{"firm_id": f, "name": f, "lat": 20.9 + km * dlat, "lon": 106.0}
             for f, km in (("A", 0), ("B", 10), ("C", 20), ("D", 30))]
    streams = [{"stream_id": "s", "firm_id": "A", "direction": "output", "material_id": "iron_steel_scrap",
                "quantity": 100.0, "waste_code": "00 00 01"}] + \
              [{"stream_id": f"d{f}", "firm_id": f, "direction": "input", "material_id": "iron_steel_scrap",
                "quantity": 45.0} for f in "BCD"]
    table = resilience(build_network(_tables(firms, streams))).set_index("firm_id")
    assert table.at["B", "tonnes_to_landfill"] == 0.0
    assert table.at["B", "tonnes_rerouted"] == pytest.approx(50.0)
    assert table.at["B", "absorbed_by"] == "D (+50 t)"
    assert table.at["A", "tonnes_own"] == pytest.approx(100.0) and table.at["A", "links_lost"] == 2
    assert "D" not in table.index  # not in today's answer
    no_spare = resilience(build_network(_tables(firms[:3], streams[:3]))).set_index("firm_id")
    assert no_spare.at["B", "tonnes_to_landfill"] == pytest.approx(50.0)
    assert no_spare.index[0] in ("B", "C")  # a mill is the keystone, not the supplier


def test_milp_mode_drops_a_link_whose_fixed_cost_exceeds_its_saving_and_falls_back_when_too_large():
    """66.67 t/yr of scrap over 12 km saves 66.67 × (1 000 000 − 12 × 3 000) = 64.27 M VND/yr."""
    from matching.whatif import run_milp

    net = build_network(_scrap_pair(60.0))
    saving = SENT_FOR_60 * (1_000_000 - 12 * 3_000)
    cheap = run_milp(net, ["P"], fixed_cost_vnd_per_link=10e6, min_lot=0.0)
    assert cheap.milp.status == "OPTIMAL" and cheap.fallback_message() is None
    assert cheap.milp.objective_vnd == pytest.approx(-saving + 10e6, rel=1e-6)
    assert list(cheap.result.matches.receiver_firm_id) == ["B"]
    dear = run_milp(net, fixed_cost_vnd_per_link=100e6, min_lot=0.0)
    assert dear.milp.objective_vnd == pytest.approx(0.0, abs=1e-3) and dear.result.matches.empty
    lot = run_milp(net, fixed_cost_vnd_per_link=0.0, min_lot_t=70.0)  # more than the 66.67 t it could carry
    assert lot.result.matches.empty
    big = run_milp(net, max_arcs=0)
    assert big.milp is None and "quá lớn" in big.fallback_message() and "too large" in big.fallback_message("en")
    assert big.result.optimal and len(big.result.matches) == 1  # the LP answer instead
    with pytest.raises(KeyError):
        run_milp(net, ["NO-PARK"])


def test_siting_picks_the_site_next_to_the_ash_and_ranks_the_far_one_second():
    from matching.whatif import site_facility

    tables = _tables(
        [{"firm_id": "PWR", "name": "Lò hơi", "lat": 20.9, "lon": 106.0}],
        [{"stream_id": "ash", "firm_id": "PWR", "direction": "output", "material_id": "coal_fly_ash",
          "quantity": 1000.0, "waste_code": "00 00 01", "hazard_test_result": "non_hazardous"}])
    sites = pd.DataFrame({"site_id": ["NEAR", "FAR"], "lat": [20.9 + 3 / KM_PER_DEG_LAT, 20.9 + 30 / KM_PER_DEG_LAT],
                          "lon": [106.0, 106.0]})
    result, ranking = site_facility(tables, "ash_brick_plant", sites, capacity_t_per_year=400.0)
    assert result.chosen_sites == ["NEAR"] and result.status == "OPTIMAL"
    assert result.gain_t == pytest.approx(400.0)
    assert result.gain_vnd == pytest.approx(400 * (1_000_000 - 3.6 * 3_000), rel=1e-6)
    assert list(ranking.site) == ["NEAR", "FAR"]
    both, _ = site_facility(tables, "ash_brick_plant", sites, capacity_t_per_year=400.0, max_sites=2, ranking=False)
    assert both.chosen_sites == ["FAR", "NEAR"] or sorted(both.chosen_sites) == ["FAR", "NEAR"]
    assert both.gain_t == pytest.approx(800.0)
    costly, _ = site_facility(tables, "ash_brick_plant", sites, capacity_t_per_year=400.0, max_sites=2,
                              fixed_cost_vnd_per_year=390e6, ranking=False)
    assert costly.chosen_sites == ["NEAR"]  # the far plant saves 400 × (1 M − 108 000) = 356.8 M < 390 M
