"""Matching engine: hand-worked cases, legal gate, differential and property tests."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching.candidates import build_candidates, haversine_km
from matching.engine import run_matching
from matching.optimise import integer_network, pair_keys, solve_lp, solve_min_cost_flow
from symbiosis import schema, services
from symbiosis.catalogue import load_catalogue
from symbiosis.network import build_network

from .conftest import VALID

CAT = load_catalogue()
KM_PER_DEG_LAT = haversine_km(0.0, 0.0, 1.0, 0.0)


def _tables(firms: list[dict], streams: list[dict], parameters: list[dict] | None = None) -> dict[str, pd.DataFrame]:
    parks = pd.DataFrame([{"park_id": "P", "name": "KCN thử", "kind": "KCN", "province": "Hưng Yên", "lat": 20.9,
                           "lon": 106.0, "area_ha": None, "operator": None, "location_quality": "approximate",
                           "location_method": None, "source": None, "notes": None}])
    f = pd.DataFrame([{**{c: None for c in schema.columns("firms")}, "park_id": "P", "sector_code": "IV.6", **x}
                      for x in firms])
    s = pd.DataFrame([{**{c: None for c in schema.columns("streams")}, "unit": "t", "frequency": "year", **x}
                      for x in streams])
    p = pd.DataFrame(parameters or [], columns=schema.columns("parameters"))
    return {"parks": parks, "firms": f, "streams": s, "parameters": p}


def _scrap_pair(demand_t: float) -> dict[str, pd.DataFrame]:
    """Firm A (100 t/yr of steel scrap) and a mill B 10 km due north needing ``demand_t``."""
    dlat = 10.0 / KM_PER_DEG_LAT
    return _tables(
        [{"firm_id": "A", "name": "A", "lat": 20.9, "lon": 106.0}, {"firm_id": "B", "name": "B", "lat": 20.9 + dlat, "lon": 106.0}],
        [{"stream_id": "s", "firm_id": "A", "direction": "output", "material_id": "iron_steel_scrap", "quantity": 100.0,
          "waste_code": "00 00 01"},
         {"stream_id": "d", "firm_id": "B", "direction": "input", "material_id": "iron_steel_scrap", "quantity": demand_t}])


def test_hand_worked_scrap_exchange():
    """100 t/yr of steel scrap, a mill 10 km away needing 60 t; rule R019 yields 0.9."""
    result = run_matching(build_network(_scrap_pair(60.0)))
    assert result.optimal
    m = result.matches.iloc[0]
    assert (m.supplier_firm_id, m.receiver_firm_id, m.rule_id) == ("A", "B", "R019")
    assert m.quantity == pytest.approx(60 / 0.9)           # 66.67 t of scrap fill the 60 t need
    assert m.quantity_received == pytest.approx(60.0)
    assert m.distance_km == pytest.approx(12.0, rel=1e-6)  # 10 km great-circle × circuity 1.2
    assert m.tkm == pytest.approx(60 / 0.9 * 12.0)
    assert m.transport_cost_vnd == pytest.approx(60 / 0.9 * 12.0 * 3000)
    assert m.disposal_cost_avoided_vnd == pytest.approx(60 / 0.9 * 1_000_000)
    left = result.unmatched_supply.set_index("stream_id")
    assert left.at["s", "quantity_left"] == pytest.approx(100 - 60 / 0.9)
    assert left.at["s", "reason"] == "demand_full"
    total = result.kpis.set_index("park_id").loc["TOTAL"]
    assert total.diverted_t == pytest.approx(60 / 0.9)
    assert total.share_diverted == pytest.approx(0.6667, abs=1e-4)
    assert total.links == 1 and total.firms_involved == 2


def _grain_and_two_feed_mills(near_km: float, far_km: float, **supply) -> dict[str, pd.DataFrame]:
    """A brewery A with spent grain; feed mills NEAR and FAR due north, each needing 80 t/yr."""
    dlat = 1.0 / KM_PER_DEG_LAT
    return _tables(
        [{"firm_id": "A", "name": "A", "lat": 20.9, "lon": 106.0},
         {"firm_id": "NEAR", "name": "N", "lat": 20.9 + near_km * dlat, "lon": 106.0},
         {"firm_id": "FAR", "name": "F", "lat": 20.9 + far_km * dlat, "lon": 106.0}],
        [{"stream_id": "s", "firm_id": "A", "direction": "output", "material_id": "brewers_spent_grain", **supply},
         {"stream_id": "near", "firm_id": "NEAR", "direction": "input", "material_id": "animal_feed", "quantity": 80.0},
         {"stream_id": "far", "firm_id": "FAR", "direction": "input", "material_id": "animal_feed", "quantity": 80.0}])


def test_nearest_receiver_wins_when_landfill_is_equal():
    m = run_matching(build_network(_grain_and_two_feed_mills(5, 20, quantity=50.0))).matches
    assert list(m.receiver_firm_id) == ["NEAR"]
    assert m.quantity.iloc[0] == pytest.approx(50.0)


def test_hazardous_waste_only_to_licensed_receiver():
    tables = _tables(
        [{"firm_id": "A", "name": "A", "lat": 20.9, "lon": 106.0},
         {"firm_id": "NOLIC", "name": "no licence", "lat": 20.901, "lon": 106.0},
         {"firm_id": "LIC", "name": "licensed", "lat": 21.2, "lon": 106.0, "licences": "19 06 01"}],
        [{"stream_id": "s", "firm_id": "A", "direction": "output", "material_id": "lead_acid_batteries",
          "quantity": 10.0, "waste_code": "19 06 01", "hazard_mark": "NH"},
         {"stream_id": "d1", "firm_id": "NOLIC", "direction": "input", "material_id": "lead_acid_batteries", "quantity": 10.0},
         {"stream_id": "d2", "firm_id": "LIC", "direction": "input", "material_id": "lead_acid_batteries", "quantity": 10.0}])
    result = run_matching(build_network(tables))
    assert list(result.matches.receiver_firm_id) == ["LIC"]
    assert result.matches.legal_status.iloc[0] == "licensed_receiver"
    excluded = result.candidates.excluded
    assert list(excluded.reason) == ["not_licensed"]


def test_every_reason_a_supply_was_excluded_for_is_named():
    """A supply without any feasible arc gets each distinct reason its pairs were excluded for,
    in alphabetical order, joined with '+' (here: one receiver unlicensed, two too far)."""
    from matching.candidates import Candidates
    from matching.engine import _unmatched_supply

    net = build_network(_scrap_pair(60.0))
    s, d = int(net.supplies.index[0]), int(net.demands.index[0])
    result = run_matching(net)
    excluded = pd.DataFrame({"supply": [s, s, s], "demand": [d, d, d], "rule_id": ["R019"] * 3,
                             "reason": ["too_far", "not_licensed", "too_far"], "distance_km": [300.0, 12.0, 310.0]})
    no_arcs = Candidates(result.candidates.arcs.iloc[:0], excluded, frozenset({s}))
    left = _unmatched_supply(net, no_arcs, result.matches.iloc[:0])
    assert list(left.reason) == ["not_licensed+too_far"]
    assert left.quantity_left.iloc[0] == pytest.approx(100.0)


def test_ks_waste_without_test_is_excluded_with_reason():
    tables = _tables(
        [{"firm_id": "A", "name": "A", "lat": 20.9, "lon": 106.0}, {"firm_id": "B", "name": "B", "lat": 20.91, "lon": 106.0}],
        [{"stream_id": "s", "firm_id": "A", "direction": "output", "material_id": "coal_fly_ash", "quantity": 100.0,
          "waste_code": "00 00 01", "hazard_mark": "KS"},
         {"stream_id": "d", "firm_id": "B", "direction": "input", "material_id": "unfired_brick_raw_material", "quantity": 100.0}])
    result = run_matching(build_network(tables))
    assert result.matches.empty
    assert result.unmatched_supply.reason.iloc[0] == "no_hazard_test"
    tables["streams"].loc[0, "hazard_test_result"] = "non_hazardous"
    assert len(run_matching(build_network(tables)).matches) == 1


def test_valid_example_proposes_expected_links(store):
    assert services.import_path(VALID, store).ok
    result = run_matching(build_network(store.read_all()))
    pairs = set(zip(result.matches.supply_stream_id, result.matches.demand_stream_id))
    assert {("S001", "S003"), ("S006", "S007"), ("S008", "S009"), ("S005", "S004")} <= pairs
    left = result.unmatched_supply.set_index("stream_id").reason
    assert left["S010"] == "too_far"      # treated water 30 km away: beyond the pipe distance


# ------------------------------------------------------------------ differential tests


def _random_instance(rng: np.random.Generator, n_sup: int, n_dem: int, unit_yield: bool):
    n = n_sup + n_dem
    arcs = []
    for i in range(n_sup):
        for j in rng.choice(n_dem, size=rng.integers(1, min(4, n_dem) + 1), replace=False):
            arcs.append((i, n_sup + j, 1.0 if unit_yield else float(rng.choice([0.5, 0.8, 1.0, 1.25])),
                         float(rng.integers(1, 60))))
    arcs = pd.DataFrame(arcs, columns=["supply", "demand", "yield", "distance_km"])
    arcs["rule_id"] = "R"
    arcs["mass_t_per_unit"] = 1.0
    qty = rng.integers(1, 100, size=n).astype(float)
    sup_q = np.where(np.arange(n) < n_sup, qty, 0.0)
    dem_q = np.where(np.arange(n) >= n_sup, qty, 0.0)
    return arcs, sup_q, dem_q, np.zeros(n, dtype=bool)


@pytest.mark.parametrize("seed", range(50))
def test_or_tools_matches_networkx_network_simplex(seed):
    rng = np.random.default_rng(seed)
    arcs, sup_q, dem_q, util = _random_instance(rng, int(rng.integers(2, 9)), int(rng.integers(2, 9)), True)
    mcf, mcf_cost = solve_min_cost_flow(arcs, sup_q, dem_q, util)
    net = integer_network(arcs, sup_q, dem_q, util)
    g = nx.DiGraph()
    for node, b in enumerate(net.supplies):
        g.add_node(node, demand=-int(b))
    for t, h, c, w in zip(net.tails, net.heads, net.capacities, net.costs, strict=True):
        g.add_edge(int(t), int(h), capacity=int(c), weight=int(w))
    nx_cost, _ = nx.network_simplex(g)
    assert mcf_cost == nx_cost
    lp = solve_lp(arcs, sup_q, dem_q, util)
    assert lp.optimal and mcf.optimal
    assert lp.objective_values["diverted"] == pytest.approx(mcf.objective_values["diverted"], rel=1e-9, abs=1e-6)
    assert lp.objective_values["tkm"] == pytest.approx(mcf.objective_values["tkm"], rel=1e-6, abs=1e-3)


# ------------------------------------------------------------------ properties


def _greedy_diverted(arcs, sup_q, dem_q) -> float:
    """Baseline: each supply, largest first, fills its nearest partners first."""
    sup_left, dem_left = sup_q.copy(), dem_q.copy()
    total = 0.0
    for _, a in arcs.sort_values(["distance_km"]).iterrows():
        send = min(sup_left[a.supply], dem_left[a.demand] / a["yield"])
        if send > 0:
            sup_left[a.supply] -= send
            dem_left[a.demand] -= send * a["yield"]
            total += send
    return total


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_sup=st.integers(1, 8), n_dem=st.integers(1, 8))
def test_lp_respects_capacities_and_beats_greedy(seed, n_sup, n_dem):
    rng = np.random.default_rng(seed)
    arcs, sup_q, dem_q, util = _random_instance(rng, n_sup, n_dem, unit_yield=False)
    sol = solve_lp(arcs, sup_q, dem_q, util)
    assert sol.optimal
    flow = sol.flow
    assert (flow >= 0).all()
    shipped = np.bincount(arcs.supply, weights=flow, minlength=len(sup_q))
    received = np.bincount(arcs.demand, weights=flow * arcs["yield"].to_numpy(), minlength=len(sup_q))
    assert (shipped <= sup_q + 1e-6).all()        # no supply over-allocated
    assert (received <= dem_q + 1e-6).all()       # no demand over-filled
    assert sol.objective_values["diverted"] >= _greedy_diverted(arcs, sup_q, dem_q) - 1e-6


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(licensed=st.lists(st.booleans(), min_size=3, max_size=3), marks=st.lists(st.sampled_from(["NH", "TT-R"]), min_size=2, max_size=2))
def test_hazardous_never_reaches_an_unlicensed_receiver(licensed, marks):
    firms = [{"firm_id": "S1", "name": "s", "lat": 20.9, "lon": 106.0}, {"firm_id": "S2", "name": "s", "lat": 20.95, "lon": 106.05}]
    firms += [{"firm_id": f"R{k}", "name": "r", "lat": 20.9 + 0.02 * k, "lon": 106.01,
               "licences": "00 00 09" if ok else None} for k, ok in enumerate(licensed)]
    streams = [{"stream_id": f"s{k}", "firm_id": f"S{k + 1}", "direction": "output", "material_id": "lead_acid_batteries",
                "quantity": 5.0, "waste_code": "00 00 09", "hazard_mark": mark} for k, mark in enumerate(marks)]
    streams += [{"stream_id": f"d{k}", "firm_id": f"R{k}", "direction": "input", "material_id": "lead_acid_batteries",
                 "quantity": 4.0} for k in range(3)]
    result = run_matching(build_network(_tables(firms, streams)))
    lic = {f"R{k}" for k, ok in enumerate(licensed) if ok}
    assert set(result.matches.receiver_firm_id) <= lic
    if lic:  # a licensed receiver exists within reach, so the oil is exchanged
        assert result.matches.quantity.sum() > 0


def test_explanations_in_both_languages():
    m = run_matching(build_network(_scrap_pair(200.0))).matches.iloc[0]
    assert m.explanation_vi.startswith("100 t/năm Phế liệu sắt thép từ A tới B (12 km) theo quy tắc R019")
    assert "3.600.000 đ" in m.explanation_vi               # 100 t × 12 km × 3 000 VND
    assert m.explanation_en.startswith("100 t/yr of")
    assert "3,600,000 VND" in m.explanation_en



def test_next_best_partner_is_the_nearest_other_firm():
    """A ships scrap to mill B (10 km; two small input streams) and mill C (20 km). For A→B the
    alternative is C, not B's other stream; for A→C it is B, the nearest firm overall."""
    dlat = 10.0 / KM_PER_DEG_LAT
    tables = _tables(
        [{"firm_id": "A", "name": "A", "lat": 20.9, "lon": 106.0},
         {"firm_id": "B", "name": "B", "lat": 20.9 + dlat, "lon": 106.0},
         {"firm_id": "C", "name": "C", "lat": 20.9 + 2 * dlat, "lon": 106.0}],
        [{"stream_id": "s", "firm_id": "A", "direction": "output", "material_id": "iron_steel_scrap", "quantity": 100.0,
          "waste_code": "00 00 01"},
         {"stream_id": "b1", "firm_id": "B", "direction": "input", "material_id": "iron_steel_scrap", "quantity": 1.0},
         {"stream_id": "b2", "firm_id": "B", "direction": "input", "material_id": "iron_steel_scrap", "quantity": 1.0},
         {"stream_id": "c", "firm_id": "C", "direction": "input", "material_id": "iron_steel_scrap", "quantity": 500.0}])
    m = run_matching(build_network(tables)).matches.set_index("demand_stream_id")
    assert list(m.index) == ["b1", "b2", "c"]  # sorted by supply, then demand id
    assert m.loc[["b1", "b2"], "quantity"].tolist() == pytest.approx([1 / 0.9, 1 / 0.9])
    assert m.loc[["b1", "b2", "c"], "next_best_receiver_firm_id"].tolist() == ["C", "C", "B"]
    assert m.loc[["b1", "b2", "c"], "next_best_distance_km"].tolist() == pytest.approx([24.0, 24.0, 12.0], rel=1e-6)
    assert m.at["b1", "explanation_vi"].endswith("Phương án kế tiếp: C (24 km); nếu không trao đổi thì phải trả "
                                                 "phí xử lý nêu trên.")
    assert "Next-best partner: B (12 km)" in m.at["c", "explanation_en"]
    alone = run_matching(build_network(_scrap_pair(200.0))).matches.iloc[0]
    assert pd.isna(alone.next_best_receiver_firm_id) and np.isnan(alone.next_best_distance_km)
    assert alone.explanation_en.endswith("No other feasible partner; without an exchange the disposal fee above is paid.")


# ------------------------------------------------------------------ column generation vs full graph


def _assert_same_optimum(full, sparse, objective: str) -> None:
    """Column generation reached the optimum full enumeration found (the objective's own figures)."""
    f, s = full.kpis.set_index("park_id").loc["TOTAL"], sparse.kpis.set_index("park_id").loc["TOTAL"]
    if objective == "lexicographic":
        assert s.diverted_t == pytest.approx(f.diverted_t, rel=1e-7, abs=1e-6)
        assert s.tkm == pytest.approx(f.tkm, rel=1e-6, abs=1e-4)
    elif objective == "vnd":
        assert s.vnd_saved == pytest.approx(f.vnd_saved, rel=1e-7, abs=1.0)
    else:
        assert s.co2e_avoided_t == pytest.approx(f.co2e_avoided_t, rel=1e-7, abs=1e-6)


@pytest.mark.parametrize("seed", range(24))
def test_column_generation_equals_full_enumeration(seed):
    from symbiosis.synthetic import synthetic_tables

    rng = np.random.default_rng(seed)
    n_firms = int(rng.integers(5, 40))
    tables = synthetic_tables(n_firms, int(rng.integers(20, 160)), seed=seed)
    net = build_network(tables)
    objective = ["lexicographic", "vnd", "co2e"][seed % 3]
    full = run_matching(net, objective, method="full")
    sparse = run_matching(net, objective, method="colgen", k_nearest=1 + seed % 3)
    assert full.optimal and sparse.optimal
    _assert_same_optimum(full, sparse, objective)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("shed", [False, True])
def test_column_generation_adding_one_arc_per_row_and_round_equals_full_enumeration(seed, shed, monkeypatch):
    """Pricing adds only the best new arcs of each row per round (the rest must be found later); with
    ``shed``, every LP also drops its columns at zero with a positive reduced cost in its first rounds."""
    import matching.colgen as colgen
    from symbiosis.synthetic import synthetic_tables

    monkeypatch.setattr(colgen, "ADD_PER_ROW", 1)
    held_back, shed_columns = [], []
    original = colgen.best_per_row

    def recording(*args):
        keep = original(*args)
        held_back.append(int((~keep).sum()))
        return keep

    monkeypatch.setattr(colgen, "best_per_row", recording)
    if shed:
        from matching.optimise import IncrementalLP

        monkeypatch.setattr(colgen, "DROP_MIN_COLUMNS", 1)
        monkeypatch.setattr(colgen, "DROP_ABOVE_KM", 0.0)
        drop = IncrementalLP.drop

        def recording_drop(lp, keep):
            shed_columns.append(int((~keep).sum()))
            drop(lp, keep)

        monkeypatch.setattr(IncrementalLP, "drop", recording_drop)
    monkeypatch.setattr(colgen, "_SOLVED", {})
    monkeypatch.setattr(colgen, "_WARM", {})
    net = build_network(synthetic_tables(30, 150, seed=100 + seed))
    objective = ["lexicographic", "vnd"][seed % 2]
    full = run_matching(net, objective, method="full")
    sparse = run_matching(net, objective, method="colgen", k_nearest=1)
    assert full.optimal and sparse.optimal and sum(held_back) > 0  # the cap did hold arcs back
    assert not shed or sum(shed_columns) > 0
    _assert_same_optimum(full, sparse, objective)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("half_rounds", [1, 200])
def test_column_generation_warm_started_from_two_halves_equals_full_enumeration(seed, half_rounds, monkeypatch):
    """Large components start from the optimal bases of their two halves (after one round, or solved to
    the end); the answer must not change."""
    import matching.colgen as colgen
    from symbiosis.synthetic import synthetic_tables

    monkeypatch.setattr(colgen, "SPLIT_STREAMS", 10)
    monkeypatch.setattr(colgen, "SPLIT_ROUNDS", half_rounds)
    merged = []
    adopt = colgen.IncrementalLP.adopt

    def recording_adopt(lp, arcs, *args):
        merged.append(len(arcs))
        adopt(lp, arcs, *args)

    first_pivots = []  # simplex iterations of each merged LP's first solve: its adopted basis is optimal
    solve = colgen.IncrementalLP.solve

    def recording_solve(lp, arcs, *args):
        pending = lp.basis_pending and len(arcs) == lp.n_columns
        result = solve(lp, arcs, *args)
        if pending:
            first_pivots.append(lp.iterations)
        return result

    monkeypatch.setattr(colgen.IncrementalLP, "adopt", recording_adopt)
    monkeypatch.setattr(colgen.IncrementalLP, "solve", recording_solve)
    monkeypatch.setattr(colgen, "_SOLVED", {})
    monkeypatch.setattr(colgen, "_WARM", {})
    net = build_network(synthetic_tables(30, 200, seed=200 + seed))
    objective = ["lexicographic", "vnd", "co2e"][seed % 3]
    full = run_matching(net, objective, method="full")
    sparse = run_matching(net, objective, method="colgen", k_nearest=1 + seed % 2)
    assert full.optimal and sparse.optimal and merged  # at least one component was split and merged
    assert first_pivots and not any(first_pivots)
    _assert_same_optimum(full, sparse, objective)


@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4), st.integers(-50, 50)), max_size=40),
       st.integers(1, 3))
def test_best_per_row_keeps_the_best_arcs_of_each_supply_or_demand(arcs, per_row):
    from matching.colgen import best_per_row

    frame = pd.DataFrame(arcs, columns=["supply", "demand", "score"], dtype=np.int64)
    frame["score"] = frame.score + np.arange(len(frame)) / 1000  # distinct scores: the ranking is unique
    keep = best_per_row(frame.supply.to_numpy(), frame.demand.to_numpy(), frame.score.to_numpy(), per_row)
    by_supply = frame.groupby("supply").score.rank(method="first") <= per_row
    by_demand = frame.groupby("demand").score.rank(method="first") <= per_row
    assert keep.tolist() == (by_supply | by_demand).tolist()


def test_why_not_matched_answers_concretely(store):
    from matching.explain import explain_stream

    assert services.import_path(VALID, store).ok
    net = build_network(store.read_all())
    result = run_matching(net)
    too_far = explain_stream(result, net, "S010", "en")
    assert "too far" in too_far and "Nearest compatible receiver: F003" in too_far
    assert "không có doanh nghiệp nào cần" in explain_stream(result, net, "S012", "vi")   # waste heat: no taker
    sent = explain_stream(result, net, "S008", "en")
    assert sent.startswith("Sends 0.8 t/yr to F006")
    assert "Receives" in explain_stream(result, net, "S007", "en")
    m = result.matches.set_index("supply_stream_id").loc["S001"]
    assert m.virgin_material_id == "unfired_brick_raw_material" and m.virgin_avoided == pytest.approx(m.quantity_received)


def test_uncertain_quantities_report_changes_at_bounds():
    tables = _grain_and_two_feed_mills(2, 9, quantity=100.0, quantity_min=60.0, quantity_max=150.0)
    result = run_matching(build_network(tables))
    m = result.matches.set_index("demand_stream_id").quantity
    assert m["near"] == pytest.approx(80) and m["far"] == pytest.approx(20)   # expected value: 100 t
    changes = result.bound_changes.set_index("demand_stream_id")
    assert changes.at["far", "quantity_at_min"] == pytest.approx(0)          # 60 t all go to the near firm
    assert changes.at["far", "quantity_at_max"] == pytest.approx(70)         # 150 t: the far one takes 70
    assert changes.at["near", "quantity_at_min"] == pytest.approx(60)


def test_networkx_view(store):
    from matching.graph import to_networkx

    assert services.import_path(VALID, store).ok
    net = build_network(store.read_all())
    result = run_matching(net)
    g = to_networkx(result, net)
    assert g.number_of_nodes() == 7 and g.number_of_edges() == 5
    assert g.has_edge("F004", "F005")
    assert g.nodes["F001"]["park_id"] == "TEST-A"


def test_resolve_reuses_the_optimum_only_when_nothing_it_depends_on_changed(monkeypatch):
    """Doubling the landfill fee cannot move the lexicographic optimum while the haul limit binds:
    the same flows come back with the fee-dependent cost columns recomputed. A quantity change
    must solve again, and one or two solver threads give the same answer."""
    from dataclasses import replace

    from symbiosis.synthetic import synthetic_tables

    tables = synthetic_tables(60, 300, seed=7)
    net = build_network(tables)
    first = run_matching(net, method="colgen")
    fee = net.parameters["landfill_fee_vnd_per_t"]
    doubled = run_matching(replace(net, parameters={**net.parameters, "landfill_fee_vnd_per_t": 2 * fee}),
                           method="colgen")
    key = ["supply_stream_id", "demand_stream_id", "quantity"]
    pd.testing.assert_frame_equal(first.matches[key], doubled.matches[key])
    ordinary = (first.matches.hazard_mark != "NH").to_numpy()
    assert ordinary.sum() > 10
    np.testing.assert_allclose(doubled.matches.disposal_cost_avoided_vnd.to_numpy()[ordinary],
                               2 * first.matches.disposal_cost_avoided_vnd.to_numpy()[ordinary])
    streams = net.streams.copy()
    row = streams.index[streams.direction == "output"][0]
    streams.loc[row, "quantity_per_year"] *= 3
    grown = run_matching(replace(net, streams=streams), method="colgen")
    assert grown.kpis.diverted_t.iloc[0] != pytest.approx(first.kpis.diverted_t.iloc[0])
    monkeypatch.setenv("SYMBIOSIS_SOLVER_THREADS", "1")
    import matching.colgen as colgen

    colgen._SOLVED.clear()
    serial = run_matching(replace(net, streams=streams), method="colgen")
    assert serial.kpis.diverted_t.iloc[0] == pytest.approx(grown.kpis.diverted_t.iloc[0], rel=1e-9)
    assert serial.kpis.tkm.iloc[0] == pytest.approx(grown.kpis.tkm.iloc[0], rel=1e-7)


@pytest.mark.parametrize("seed", [3, 11])
def test_classic_two_stages_equal_full_enumeration(seed, monkeypatch):
    """The fallback when the weighted LP keeps missing diversion (stage 1, then least t·km with the
    diversion held by a side row) must give the same optimum as full enumeration."""
    import matching.colgen as colgen
    from symbiosis.synthetic import synthetic_tables

    def two_stages(self, parts):
        self.loop("stage1", parts)
        for p in parts:
            p.z1 = p.value
        self.loop("stage2", parts)

    net = build_network(synthetic_tables(30, 150, seed=seed))
    full = run_matching(net, method="full").kpis.iloc[0]
    monkeypatch.setattr(colgen._Runner, "lexicographic", two_stages)
    monkeypatch.setattr(colgen, "_SOLVED", {})
    monkeypatch.setattr(colgen, "_WARM", {})
    staged = run_matching(net, method="colgen")
    assert staged.optimal
    got = staged.kpis.iloc[0]
    assert got.diverted_t == pytest.approx(full.diverted_t, rel=1e-7, abs=1e-6)
    assert got.tkm == pytest.approx(full.tkm, rel=1e-6)


@settings(max_examples=60, deadline=None)
@given(ids=st.lists(st.integers(0, 2**40), max_size=40), values=st.lists(st.floats(allow_nan=False), max_size=40),
       flags=st.lists(st.booleans(), max_size=40), statuses=st.lists(st.integers(0, 5), max_size=40))
def test_packed_append_equals_protobuf_extend(ids, values, flags, statuses):
    """``IncrementalLP`` fills MathOpt messages' doubles as packed wire bytes; the result must be what
    protobuf's own ``extend`` builds (over 15 doubles the length needs a 2-byte varint; an empty list
    still marks the sub-message present)."""
    from ortools.math_opt import model_pb2, solution_pb2

    from matching.optimise import _append

    fast, slow = model_pb2.ModelProto(), model_pb2.ModelProto()
    for message in (fast.variables, fast.objective.linear_coefficients):
        _append(message, "ids", ids)
    _append(fast.variables, "upper_bounds", values)
    _append(fast.variables, "integers", flags)
    _append(fast.objective.linear_coefficients, "values", values)
    _append(fast.variables, "ids", ids)  # appending twice keeps both
    slow.variables.ids.extend(ids + ids)
    slow.objective.linear_coefficients.ids.extend(ids)
    slow.variables.upper_bounds.extend(values)
    slow.variables.integers.extend(flags)
    slow.objective.linear_coefficients.values.extend(values)
    assert fast == slow
    basis_fast, basis_slow = solution_pb2.BasisProto(), solution_pb2.BasisProto()
    _append(basis_fast.variable_status, "values", statuses)
    basis_slow.variable_status.values.extend(statuses)
    assert basis_fast == basis_slow


def _assert_lp_optimal(part, cost, maximize, result, sup_q, dem_q, sup_rows, dem_rows):
    """Same optimum as a cold solve, feasible flows, and duals whose reduced costs prove optimality."""
    from matching.optimise import _solve_sparse, lp_matrix

    status, flow, value, duals = result
    ub, matrix, row_lb, row_ub, _, _ = lp_matrix(part, sup_q, dem_q)
    _, _, cold_value, _ = _solve_sparse(cost, maximize, ub, matrix, row_lb, row_ub)
    assert status == "OPTIMAL"
    assert value == pytest.approx(cold_value, rel=1e-9, abs=1e-6)
    assert float(cost @ flow) == pytest.approx(value, rel=1e-9, abs=1e-6)
    assert np.all(np.bincount(part.supply, weights=flow, minlength=len(sup_q)) <= sup_q + 1e-6)
    assert np.all(np.bincount(part.demand, weights=flow * part["yield"], minlength=len(dem_q)) <= dem_q + 1e-6)
    pi = np.zeros(len(sup_q))
    pi[sup_rows], pi[dem_rows] = duals[: len(sup_rows)], duals[len(sup_rows):]
    reduced = cost - pi[part.supply.to_numpy()] - part["yield"].to_numpy() * pi[part.demand.to_numpy()]
    at_zero = flow < 1e-9
    assert np.all(reduced[at_zero] <= 1e-6) if maximize else np.all(reduced[at_zero] >= -1e-6)


@pytest.mark.parametrize("seed", range(15))
def test_incremental_lp_equals_a_fresh_solve_after_each_batch_of_columns(seed, monkeypatch):
    """Every way the LP goes on from its last basis must reach the optimum of a cold solve, with valid duals:
    the dual simplex with new improving columns at their bound after columns were added, the primal simplex
    after costs changed too, after columns at zero were deleted (ids no longer contiguous), and a switch of
    objective (the stage-1 check)."""
    from matching import optimise
    from matching.optimise import IncrementalLP, arc_weights

    route = ("flipped", "primal", "drop")[seed % 3]
    if route == "primal":  # never rebuild, however many columns a batch adds
        monkeypatch.setattr(optimise, "REBUILD_FACTOR", np.inf)
        monkeypatch.setattr(optimise, "REBUILD_NEW_PER_ROW", np.inf)
    rng = np.random.default_rng(seed)
    arcs, sup_q, dem_q, util = _random_instance(rng, int(rng.integers(3, 12)), int(rng.integers(3, 12)),
                                                unit_yield=seed % 2 == 0)
    arcs = arcs.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    sup_rows, dem_rows = np.flatnonzero(sup_q > 0), np.flatnonzero(dem_q > 0)
    lp = IncrementalLP(sup_rows, dem_rows, sup_q, dem_q)
    part, dropped = arcs.iloc[:0], 0
    for batch, cut in enumerate(sorted({len(arcs), *rng.integers(1, len(arcs) + 1, size=3).tolist()})):
        part = pd.concat([part, arcs.iloc[len(part) + dropped: cut]], ignore_index=True)
        per_km = 1.0 + 0.1 * batch if route == "primal" else 1.0  # the primal route changes costs as well
        cost = per_km * part.distance_km.to_numpy() - 1000.0 * arc_weights(part, util)
        _assert_lp_optimal(part, cost, False, lp.solve(part, cost, False), sup_q, dem_q, sup_rows, dem_rows)
        if route == "drop":  # delete every other column sitting at zero, as column generation sheds them
            at_zero = np.flatnonzero(lp.nonbasic_at_zero())
            keep = np.ones(len(part), dtype=bool)
            keep[at_zero[::2]] = False
            lp.drop(keep)
            part, dropped = part[keep].reset_index(drop=True), dropped + int((~keep).sum())
            cost = cost[keep]
            _assert_lp_optimal(part, cost, False, lp.solve(part, cost, False), sup_q, dem_q, sup_rows, dem_rows)
    assert route != "drop" or dropped > 0
    w = arc_weights(part, util)  # the stage-1 check switches the objective of the same LP, and back
    _assert_lp_optimal(part, w, True, lp.solve(part, w, True), sup_q, dem_q, sup_rows, dem_rows)
    _assert_lp_optimal(part, cost, False, lp.solve(part, cost, False), sup_q, dem_q, sup_rows, dem_rows)


def test_arc_pool_returns_exactly_the_arcs_a_fresh_query_would():
    """Pricing filters the pool instead of querying; for any supplies and radii the two must agree."""
    from matching.candidates import CandidateContext
    from matching.colgen import _ArcPool
    from symbiosis.synthetic import synthetic_tables

    net = build_network(synthetic_tables(60, 400, seed=3))
    ctx = CandidateContext.build(net, CAT)
    start = build_candidates(net, CAT, k_nearest=2, context=ctx).arcs
    pool = _ArcPool(ctx, start)
    rng = np.random.default_rng(0)
    for _ in range(8):
        mask = ctx.is_out & (rng.random(len(ctx.is_out)) < 0.6)
        radius = np.minimum(rng.uniform(0, 80, len(ctx.is_out)), ctx.limit)
        found = pool.within(mask, radius)  # may grow the pool: take rows afterwards
        got = pool.table(found)
        want = build_candidates(net, CAT, supply_mask=mask, radius_cap=radius, context=ctx).arcs
        key = ["supply", "demand"]
        assert len(got) > 0
        pd.testing.assert_frame_equal(got.sort_values(key).reset_index(drop=True),
                                      want.sort_values(key).reset_index(drop=True))
        pd.testing.assert_frame_equal(pool.columns(found), got[list(pool.columns(found).columns)])
    everything = pool.table(np.arange(pool.size))
    assert not everything.duplicated(["supply", "demand"]).any()
    np.testing.assert_array_equal(pool.keys, np.sort(pair_keys(everything, len(net.streams))))
    np.testing.assert_array_equal(pool["key"], pair_keys(everything, len(net.streams)))


@pytest.mark.parametrize("objective, changes", [
    ("lexicographic", [{"max_haul_km": 0.5}]),
    ("lexicographic", [{"max_haul_km": 0.4}, {"max_haul_km": 1.0}, {"max_haul_km": 0.7}]),
    ("vnd", [{"landfill_fee_vnd_per_t": 0.5}, {"transport_cost_vnd_per_tkm": 1.7}]),
    ("co2e", [{"ef_truck_kgco2e_per_tkm": 3.0}]),
])
def test_continuing_from_a_kept_state_gives_the_fresh_optimum(objective, changes):
    """After a change of limits or prices the kept LPs continue; the answer must be the one a solve
    from scratch gives, with no arc beyond today's limit and 'too far' meaning beyond it."""
    from dataclasses import replace

    import matching.colgen as colgen
    from matching.candidates import CandidateContext
    from symbiosis.synthetic import synthetic_tables

    base = build_network(synthetic_tables(80, 400, seed=11))
    colgen._WARM.clear()
    colgen._SOLVED.clear()
    run_matching(base, objective, method="colgen", k_nearest=2)
    net = base
    for change in changes:
        net = replace(net, parameters={**net.parameters, **{k: base.parameters[k] * f for k, f in change.items()}})
        assert colgen._WARM, "a state should have been kept"
        warm = run_matching(net, objective, method="colgen", k_nearest=2)
        kept = dict(colgen._WARM)
        colgen._WARM.clear()
        colgen._SOLVED.clear()
        fresh = run_matching(net, objective, method="colgen", k_nearest=2)
        colgen._WARM.clear()
        colgen._WARM.update(kept)  # go on from the warm run's state
        assert warm.optimal and fresh.optimal
        w, f = warm.kpis.iloc[0], fresh.kpis.iloc[0]
        assert w.diverted_t == pytest.approx(f.diverted_t, rel=1e-7, abs=1e-6)
        if objective == "lexicographic":
            assert w.tkm == pytest.approx(f.tkm, rel=1e-6, abs=1e-4)
        elif objective == "vnd":
            assert w.vnd_saved == pytest.approx(f.vnd_saved, rel=1e-7, abs=1.0)
        else:
            assert w.co2e_avoided_t == pytest.approx(f.co2e_avoided_t, rel=1e-7, abs=1e-6)
        limit = CandidateContext.build(net, CAT).limit
        arcs, excluded = warm.candidates.arcs, warm.candidates.excluded
        assert np.all(arcs.distance_km.to_numpy() <= limit[arcs.supply.to_numpy()] + 1e-9)
        far = excluded[excluded.reason == "too_far"]
        assert np.all(far.distance_km.to_numpy() > limit[far.supply.to_numpy()] + 1e-9)


def test_state_is_kept_only_for_instances_up_to_the_size_limit(monkeypatch):
    """Keeping LPs costs memory: above WARM_MAX_STREAMS nothing is kept and a change solves from scratch."""
    from dataclasses import replace

    import matching.colgen as colgen
    from symbiosis.synthetic import synthetic_tables

    net = build_network(synthetic_tables(40, 200, seed=5))
    colgen._WARM.clear()
    monkeypatch.setattr(colgen, "WARM_MAX_STREAMS", 10)
    first = run_matching(net, method="colgen")
    assert first.optimal and not colgen._WARM
    monkeypatch.setattr(colgen, "WARM_MAX_STREAMS", 50_000)
    run_matching(net, method="colgen")  # answered from the solved-instance cache: still nothing kept
    colgen._SOLVED.clear()
    run_matching(net, method="colgen")
    assert len(colgen._WARM) == 1
    shorter = replace(net, parameters={**net.parameters, "max_haul_km": 0.5 * net.parameters["max_haul_km"]})
    again = run_matching(shorter, method="colgen")
    assert again.optimal and len(colgen._WARM) == 1  # taken, continued, kept again


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8)), min_size=1, max_size=20))
def test_template_fill_by_columns_equals_format_per_row(rows):
    """Explanations are filled column-wise with Arrow; each sentence must be what ``str.format`` gives."""
    import pyarrow as pa

    from matching.engine import _fill

    template = "Từ {a} ({b} km) tới {a}; {{không phải trường}} {b}."
    values = {"a": pa.array([a for a, _ in rows], type=pa.large_string()),
              "b": pa.array([b for _, b in rows], type=pa.large_string())}
    assert _fill(template, values).to_pylist() == [template.format(a=a, b=b) for a, b in rows]
    with_null = dict(values, b=pa.array([None] + [b for _, b in rows[1:]], type=pa.large_string()))
    assert _fill(template, with_null).to_pylist()[0] is None


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_unmatched_reasons_are_the_same_with_column_generation_and_full_enumeration(seed):
    """Column generation never adds the feasible arcs of a supply whose receivers' demand is taken;
    'why not matched' must still say so ("demand_full"), as full enumeration does — not name a
    legal gate or distance that only excluded its other pairs."""
    from symbiosis.synthetic import synthetic_tables

    net = build_network(synthetic_tables(150, 1500, seed=seed))
    reasons = {}
    for method in ("full", "colgen"):
        left = run_matching(net, method=method, k_nearest=1, bounds=False).unmatched_supply
        reasons[method] = left.set_index("stream_id").reason.sort_index()
    assert (reasons["full"] == "demand_full").sum() > 0
    both = reasons["full"].index.intersection(reasons["colgen"].index)  # optima may differ by a stream or two
    assert len(both) > 0.95 * len(reasons["full"])
    pd.testing.assert_series_equal(reasons["colgen"][both], reasons["full"][both])
