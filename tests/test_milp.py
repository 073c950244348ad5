"""MILP mode (matching.milp): link constraints and facility siting on hand-made instances.

Every expected number below is worked out by hand in the comments. Costs are written per
supply unit: ``transport = 3 000 VND/t·km × km`` and ``fee = 1 000 000 VND/t`` unless said,
so an arc of ``km`` kilometres saves ``1 000 000 − 3 000·km`` VND per tonne.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from matching.milp import (DROP_DISTANCE_CAP, DROP_FIXED_COST, DROP_MIN_LOT, MilpOptions, MilpTooLarge, min_lot_units,
                           scip_gap, site_facilities, site_ranking, solve_milp)
from matching.optimise import solve_lp

FEE = 1_000_000.0
EXACT = dict(time_limit_s=20.0, relative_gap=0.0)


def make_arcs(rows: list[tuple], fee: float = FEE) -> pd.DataFrame:
    """Arcs from ``(supply, demand, km)`` or ``(supply, demand, km, yield)`` tuples (1 t per unit)."""
    records = []
    for row in rows:
        s, d, km = row[:3]
        yld = row[3] if len(row) > 3 else 1.0
        records.append({"supply": s, "demand": d, "rule_id": "R", "yield": yld, "distance_km": km,
                        "mass_t_per_unit": 1.0, "transport_cost_per_unit": 3000.0 * km,
                        "disposal_fee_per_unit": fee})
    return pd.DataFrame(records)


def quantities(n: int, supplies: dict[int, float], demands: dict[int, float]) -> tuple[np.ndarray, np.ndarray]:
    s, d = np.zeros(n), np.zeros(n)
    for k, v in supplies.items():
        s[k] = v
    for k, v in demands.items():
        d[k] = v
    return s, d


# --------------------------------------------------------------------------- link constraints


def test_fixed_cost_makes_the_marginal_link_unprofitable():
    # S0 (row 0, 100 t) and S1 (row 1, 50 t) compete for D0 (row 2, 120 t).
    # a0: S0→D0 10 km saves 970 000/t; a1: S1→D0 50 km saves 850 000/t.
    arcs = make_arcs([(0, 2, 10.0), (1, 2, 50.0)])
    sq, dq = quantities(3, {0: 100, 1: 50}, {2: 120})
    # no fixed cost: both links, 100 t + 20 t → −97 000 000 − 17 000 000
    free = solve_milp(arcs, sq, dq, options=MilpOptions(**EXACT))
    assert free.status == "OPTIMAL"
    assert free.flow.tolist() == pytest.approx([100.0, 20.0])
    assert free.objective_vnd == pytest.approx(-114_000_000.0, abs=1.0)
    # 20 M per link: both = −114 M + 40 M = −74 M; a0 alone = −97 M + 20 M = −77 M (better);
    # a1 alone = −42.5 M + 20 M. a1 still saves more than its fixed cost on its own, so it is
    # not pruned: the solver has to decide.
    sol = solve_milp(arcs, sq, dq, options=MilpOptions(fixed_cost_vnd_per_link=20_000_000, **EXACT))
    assert sol.status == "OPTIMAL" and sol.gap == 0.0
    assert sol.used.tolist() == [True, False]
    assert sol.flow.tolist() == pytest.approx([100.0, 0.0])
    assert sol.objective_vnd == pytest.approx(-77_000_000.0, abs=1.0)
    assert sol.best_bound_vnd == pytest.approx(-77_000_000.0, abs=1.0)
    assert sol.n_arcs_dropped == 0 and sol.n_binaries == 2
    assert sol.diverted_t == pytest.approx(100.0)


def test_fixed_cost_above_the_best_saving_prunes_the_arc():
    # S1 (10 t) at 50 km can save at most 8 500 000 < 10 000 000 fixed cost
    arcs = make_arcs([(0, 2, 10.0), (1, 3, 50.0)])
    sq, dq = quantities(4, {0: 100, 1: 10}, {2: 200, 3: 200})
    sol = solve_milp(arcs, sq, dq, options=MilpOptions(fixed_cost_vnd_per_link=10_000_000, **EXACT))
    assert sol.drop_reason.tolist() == ["", DROP_FIXED_COST]
    assert sol.drop_reasons == {DROP_FIXED_COST: 1} and sol.n_arcs_dropped == 1
    assert sol.objective_vnd == pytest.approx(-97_000_000.0 + 10_000_000.0, abs=1.0)


def test_min_lot_removes_a_small_link_and_reshuffles_the_rest():
    # a0: S0 (100 t) → D0 (105 t) 10 km, saves 970 000/t
    # a1: S1 (5 t)   → D1 (50 t)  ~16.67 km (transport 50 000/t), saves 950 000/t
    # a2: S2 (30 t)  → D0         ~33.33 km (transport 100 000/t), saves 900 000/t
    arcs = make_arcs([(0, 3, 10.0), (1, 4, 50 / 3), (2, 3, 100 / 3)])
    sq, dq = quantities(5, {0: 100, 1: 5, 2: 30}, {3: 105, 4: 50})
    # no lot: 100 + 5 + 5 t → −97 000 000 − 4 750 000 − 4 500 000
    free = solve_milp(arcs, sq, dq, options=MilpOptions(**EXACT))
    assert free.flow.tolist() == pytest.approx([100.0, 5.0, 5.0])
    assert free.objective_vnd == pytest.approx(-106_250_000.0, abs=1.0)
    # lot 10 t: a1 can carry only 5 t → dropped; a2 must carry 0 or ≥ 10 t. With x2 ≥ 10 the
    # cost −970 000·(105 − x2) − 900 000·x2 grows with x2, so x2 = 10, x0 = 95:
    # −92 150 000 − 9 000 000 = −101 150 000 (better than a0 alone, −97 000 000).
    sol = solve_milp(arcs, sq, dq, options=MilpOptions(min_lot=10.0, **EXACT))
    assert sol.status == "OPTIMAL"
    assert sol.drop_reason.tolist() == ["", DROP_MIN_LOT, ""]
    assert sol.used.tolist() == [True, False, True]
    assert sol.flow.tolist() == pytest.approx([95.0, 0.0, 10.0])
    assert sol.objective_vnd == pytest.approx(-101_150_000.0, abs=1.0)


def test_min_lot_in_tonnes_is_converted_per_arc():
    arcs = make_arcs([(0, 2, 10.0), (1, 2, 10.0)]).assign(mass_t_per_unit=[2.0, 0.0])
    assert min_lot_units(arcs, 10.0).tolist() == [5.0, 0.0]  # 10 t = 5 units of 2 t; utilities exempt


def test_max_partners_one_keeps_the_cheaper_partner_and_counts_firm_pairs_once():
    # firm A supplies S0 (row 0, 100 t) and S1 (row 1, 20 t); firm B needs D0 (row 2, 60 t) and
    # D2 (row 4, 20 t); firm C needs D1 (row 3, 60 t).
    # a0: S0→D0 (B) 10 km −970 000/t; a1: S0→D1 (C) 30 km −910 000/t; a2: S1→D2 (B) 10 km.
    arcs = make_arcs([(0, 2, 10.0), (0, 3, 30.0), (1, 4, 10.0)])
    sq, dq = quantities(5, {0: 100, 1: 20}, {2: 60, 3: 60, 4: 20})
    firms = np.array(["A", "A", "B", "C", "B"], dtype=object)
    # no limit: 60 t to B, 40 t to C, 20 t to B: −58 200 000 − 36 400 000 − 19 400 000
    free = solve_milp(arcs, sq, dq, firms, MilpOptions(**EXACT))
    assert free.objective_vnd == pytest.approx(-114_000_000.0, abs=1.0)
    # one partner each: A–B (two arcs, one partner) = −58.2 M − 19.4 M = −77.6 M beats A–C (−54.6 M)
    sol = solve_milp(arcs, sq, dq, firms, MilpOptions(max_partners_per_firm=1, **EXACT))
    assert sol.status == "OPTIMAL"
    assert sol.used.tolist() == [True, False, True]
    assert sol.flow.tolist() == pytest.approx([60.0, 0.0, 20.0])
    assert sol.objective_vnd == pytest.approx(-77_600_000.0, abs=1.0)
    assert sol.n_binaries == 3 + 1  # one y per arc + one indicator for the two-arc pair A–B
    with pytest.raises(ValueError, match="firm_of_stream"):
        solve_milp(arcs, sq, dq, None, MilpOptions(max_partners_per_firm=1))


def test_distance_cap_per_class_drops_the_long_arc():
    # S0 is sludge, S1 is ash; both 40 km from their receiver (−880 000/t)
    arcs = make_arcs([(0, 2, 40.0), (1, 3, 40.0)])
    sq, dq = quantities(4, {0: 10, 1: 10}, {2: 10, 3: 10})
    classes = np.array(["sludge", "ash", "sludge", "ash"], dtype=object)
    opts = MilpOptions(distance_cap_km_by_class={"sludge": 30.0}, **EXACT)
    sol = solve_milp(arcs, sq, dq, options=opts, material_class_of_stream=classes)
    assert sol.drop_reason.tolist() == [DROP_DISTANCE_CAP, ""]
    assert sol.flow.tolist() == pytest.approx([0.0, 10.0])
    assert sol.objective_vnd == pytest.approx(-8_800_000.0, abs=1.0)
    with pytest.raises(ValueError, match="material_class_of_stream"):
        solve_milp(arcs, sq, dq, options=opts)


def test_too_large_raises_with_the_vietnamese_message_first():
    arcs = make_arcs([(0, 3, 10.0), (1, 3, 10.0), (2, 3, 10.0)])
    sq, dq = quantities(4, {0: 10, 1: 10, 2: 10}, {3: 100})
    with pytest.raises(MilpTooLarge) as err:
        solve_milp(arcs, sq, dq, options=MilpOptions(max_arcs=2))
    text = str(err.value)
    vi, en = text.split("\n")
    assert vi.startswith("Bài toán MILP quá lớn: 3 liên kết ứng viên (3 biến nhị phân")
    assert "một khu/cụm công nghiệp" in vi and "chế độ LP" in vi
    assert en.startswith("MILP too large: 3 candidate links (3 binary variables")
    assert "one industrial park" in en and "LP mode" in en
    assert err.value.n_arcs == 3 and err.value.max_arcs == 2


def test_optimal_is_only_reported_within_the_gap():
    rng = np.random.default_rng(7)
    arcs, sq, dq, firms = random_instance(rng, n_sup=30, n_dem=30, n_arcs=300, n_firms=12)
    opts = MilpOptions(fixed_cost_vnd_per_link=5_000_000, min_lot=5.0, max_partners_per_firm=3, time_limit_s=5.0)
    sol = solve_milp(arcs, sq, dq, firms, opts)
    assert sol.status in ("OPTIMAL", "FEASIBLE")
    assert sol.best_bound_vnd <= sol.objective_vnd + 1.0
    if sol.status == "OPTIMAL":
        assert sol.gap <= opts.relative_gap + 1e-9
    check_feasible(sol, arcs, sq, dq, firms, opts)


def test_lp_relaxation_is_a_lower_bound_and_nothing_to_solve_is_optimal():
    rng = np.random.default_rng(3)
    arcs, sq, dq, firms = random_instance(rng, n_sup=12, n_dem=10, n_arcs=60, n_firms=6)
    opts = MilpOptions(fixed_cost_vnd_per_link=8_000_000, min_lot=10.0, max_partners_per_firm=2, **EXACT)
    exact = solve_milp(arcs, sq, dq, firms, opts)
    relaxed = solve_milp(arcs, sq, dq, firms, opts, relax=True)
    assert exact.status == relaxed.status == "OPTIMAL"
    assert relaxed.objective_vnd <= exact.objective_vnd + 1e-3
    assert exact.best_bound_vnd <= exact.objective_vnd
    empty = solve_milp(arcs.iloc[:0], sq, dq, firms, opts)
    assert empty.status == "OPTIMAL" and empty.objective_vnd == 0.0 and len(empty.flow) == 0


def test_options_from_the_shipped_parameters():
    from symbiosis.parameters import default_parameters, parameter_values

    params = parameter_values()
    arcs = make_arcs([(0, 2, 10.0), (1, 2, 10.0)]).assign(mass_t_per_unit=[0.5, 0.0])
    opts = MilpOptions.from_parameters(params, arcs, time_limit_s=5.0)
    assert opts.fixed_cost_vnd_per_link == params["link_fixed_cost_vnd_per_year"] > 0
    assert opts.min_lot.tolist() == [params["min_lot_t_per_year"] / 0.5, 0.0]
    assert opts.max_partners_per_firm == int(params["max_partners_per_firm"]) >= 1
    assert opts.time_limit_s == 5.0
    rows = default_parameters().loc[["link_fixed_cost_vnd_per_year", "min_lot_t_per_year", "max_partners_per_firm"]]
    assert rows.source.str.startswith("assumption").all()
    assert ((rows.value >= rows.min_value) & (rows.value <= rows.max_value)).all()


def test_scip_gap_definition():
    assert scip_gap(-100.0, -110.0) == pytest.approx(0.1)
    assert scip_gap(-100.0, -100.0) == 0.0
    assert scip_gap(10.0, -10.0) == float("inf")


# --------------------------------------------------------------------------- siting


def siting_instance():
    """S0 (row 0, 100 t), S1 (row 1, 50 t); existing D0 (row 2, 60 t); site N = row 3, site S = row 4.

    Savings per t: S0→D0 10 km 970 000; S0→N 20 km 940 000; S0→S 60 km 820 000;
    S1→N 15 km 955 000; S1→S 50 km 850 000. S1 cannot reach D0.
    """
    arcs = make_arcs([(0, 2, 10.0), (0, 3, 20.0), (0, 4, 60.0), (1, 3, 15.0), (1, 4, 50.0)])
    sq, dq = quantities(5, {0: 100, 1: 50}, {3: 1000, 4: 1000, 2: 60})
    site = np.array([None, None, None, "N", "S"], dtype=object)
    return arcs, sq, dq, site


def test_siting_picks_the_site_nearer_to_the_supplies():
    arcs, sq, dq, site = siting_instance()
    res = site_facilities(arcs, sq, dq, site, None, 10_000_000, max_sites=1, **EXACT)
    # no site: S0 → D0 60 t = −58 200 000, 60 t diverted.
    # N open: 60 t to D0, S0 40 t → N (−37 600 000), S1 50 t → N (−47 750 000), + 10 M fixed
    #   = −133 550 000, 150 t diverted; S open would give −123 500 000.
    assert res.status == "OPTIMAL"
    assert res.chosen_sites == ["N"]
    assert res.objective_vnd == pytest.approx(-133_550_000.0, abs=1.0)
    assert res.objective_vnd_no_site == pytest.approx(-58_200_000.0, abs=1.0)
    assert res.gain_vnd == pytest.approx(75_350_000.0, abs=1.0)
    assert res.diverted_t_no_site == pytest.approx(60.0)
    assert res.diverted_t == pytest.approx(150.0)
    assert res.gain_t == pytest.approx(90.0)
    table = res.sites.set_index("site")
    assert table.loc["N", "received"] == pytest.approx(90.0) and table.loc["S", "received"] == 0.0
    assert table.open.tolist() == [True, False]
    # the existing exchange keeps what it uses better: D0 still gets its 60 t
    assert res.flow[0] == pytest.approx(60.0)


def test_two_sites_versus_one_with_a_capacity_limit():
    arcs, sq, dq, site = siting_instance()
    cap = {"N": 60.0, "S": 1000.0}
    # max 1 site, fixed 2 M each:
    #   N alone (cap 60): S1 50 t + S0 10 t → N: −58.2 M − 47.75 M − 9.4 M + 2 M = −113 350 000
    #   S alone: S0 40 t + S1 50 t → S: −58.2 M − 32.8 M − 42.5 M + 2 M = −131 500 000  ← chosen
    one = site_facilities(arcs, sq, dq, site, cap, 2_000_000, max_sites=1, **EXACT)
    assert one.chosen_sites == ["S"]
    assert one.objective_vnd == pytest.approx(-131_500_000.0, abs=1.0)
    assert one.gain_t == pytest.approx(90.0)
    # max 2 sites: N's 60 t go to whoever gains most from N over S (S0: 120 000/t, S1: 105 000/t):
    #   S0 40 t + S1 20 t → N, S1 30 t → S: −58.2 − 37.6 − 19.1 − 25.5 + 4 = −136 400 000
    two = site_facilities(arcs, sq, dq, site, cap, 2_000_000, max_sites=2, **EXACT)
    assert two.chosen_sites == ["N", "S"]
    assert two.objective_vnd == pytest.approx(-136_400_000.0, abs=1.0)
    table = two.sites.set_index("site")
    assert table.loc["N", "received"] == pytest.approx(60.0)
    assert table.loc["S", "received"] == pytest.approx(30.0)
    assert two.gain_t == pytest.approx(90.0)
    # ranking of each site alone: S saves 131.5 − 58.2 = 73.3 M, N 113.35 − 58.2 = 55.15 M
    rank = site_ranking(arcs, sq, dq, site, cap, 2_000_000)
    assert rank.site.tolist() == ["S", "N"]
    assert rank.net_value_vnd.tolist() == pytest.approx([73_300_000.0, 55_150_000.0], abs=1.0)
    assert rank.gain_t.tolist() == pytest.approx([90.0, 60.0])
    assert (rank.status == "OPTIMAL").all()


# --------------------------------------------------------------------------- differential tests


def random_instance(rng: np.random.Generator, n_sup: int, n_dem: int, n_arcs: int, n_firms: int):
    """Supplies are rows ``0..n_sup-1``, demands the next ``n_dem`` rows; some arcs lose money."""
    n = n_sup + n_dem
    pairs = {(int(rng.integers(n_sup)), int(n_sup + rng.integers(n_dem))) for _ in range(n_arcs)}
    sup, dem = np.array(sorted(pairs)).T
    k = len(sup)
    mass = rng.choice([1.0, 0.8, 2.0], size=k)
    km = rng.uniform(1, 120, size=k)
    yld = rng.choice([1.0, 0.5, 0.9, 1.2], size=k)
    arcs = pd.DataFrame({"supply": sup, "demand": dem, "rule_id": "R", "yield": yld,
                         "distance_km": km, "mass_t_per_unit": mass,
                         "transport_cost_per_unit": 3000.0 * km * mass * 3,  # × 3: some arcs cost more than they save
                         "disposal_fee_per_unit": FEE * mass})
    qty = np.round(rng.lognormal(3, 1, n), 2)
    sq = np.where(np.arange(n) < n_sup, qty, 0.0)
    dq = np.where(np.arange(n) >= n_sup, qty, 0.0)
    firms = np.array([f"F{int(f)}" for f in rng.integers(0, n_firms, n)], dtype=object)
    return arcs, sq, dq, firms


def check_feasible(sol, arcs, sq, dq, firms, opts: MilpOptions):
    x = sol.flow
    sup, dem, yld = arcs.supply.to_numpy(), arcs.demand.to_numpy(), arcs["yield"].to_numpy()
    assert (x >= 0).all()
    assert (np.bincount(sup, weights=x, minlength=len(sq)) <= sq + 1e-6).all()
    assert (np.bincount(dem, weights=x * yld, minlength=len(dq)) <= dq + 1e-6).all()
    assert (x[sol.used] >= np.broadcast_to(opts.min_lot, x.shape)[sol.used] - 1e-6).all()
    assert (x[~sol.used] == 0).all()
    if opts.max_partners_per_firm is not None:
        used = arcs[sol.used]
        pairs = {frozenset((firms[s], firms[d])) for s, d in zip(used.supply, used.demand, strict=True)}
        degree: dict[str, int] = {}
        for pair in pairs:
            for f in pair:
                degree[f] = degree.get(f, 0) + 1
        assert max(degree.values(), default=0) <= opts.max_partners_per_firm
    cost = (arcs.transport_cost_per_unit - arcs.disposal_fee_per_unit).to_numpy()
    fixed = np.broadcast_to(opts.fixed_cost_vnd_per_link, x.shape)
    assert sol.objective_vnd == pytest.approx(float(cost @ x + fixed[sol.used].sum()), rel=1e-9, abs=1e-3)


@pytest.mark.parametrize("seed", range(20))
def test_without_link_constraints_the_milp_equals_the_glop_lp(seed):
    rng = np.random.default_rng(seed)
    arcs, sq, dq, firms = random_instance(rng, n_sup=int(rng.integers(2, 8)), n_dem=int(rng.integers(2, 6)),
                                          n_arcs=int(rng.integers(3, 25)), n_firms=5)
    lp = solve_lp(arcs, sq, dq, np.zeros(len(sq), dtype=bool), objective="vnd", params={})
    assert lp.status == "OPTIMAL"
    sol = solve_milp(arcs, sq, dq, firms, MilpOptions(**EXACT))
    assert sol.status == "OPTIMAL"
    assert sol.objective_vnd == pytest.approx(lp.objective_values["objective"], rel=1e-7, abs=1e-2)
    check_feasible(sol, arcs, sq, dq, firms, MilpOptions())


def brute_force(arcs: pd.DataFrame, sq: np.ndarray, dq: np.ndarray, firms: np.ndarray, opts: MilpOptions) -> float:
    """Minimum over every set of used links of (LP over that set with lot ≤ x ≤ U) + fixed costs."""
    n = len(arcs)
    sup, dem, yld = arcs.supply.to_numpy(), arcs.demand.to_numpy(), arcs["yield"].to_numpy()
    cost = (arcs.transport_cost_per_unit - arcs.disposal_fee_per_unit).to_numpy()
    cap = np.minimum(sq[sup], dq[dem] / yld)
    a_ub = np.zeros((2 * len(sq), n))
    a_ub[sup, np.arange(n)] = 1.0
    a_ub[len(sq) + dem, np.arange(n)] = yld
    b_ub = np.concatenate([sq, dq])
    best = 0.0  # nothing used
    for size in range(1, n + 1):
        for subset in itertools.combinations(range(n), size):
            if opts.max_partners_per_firm is not None:
                pairs = {frozenset((firms[sup[a]], firms[dem[a]])) for a in subset}
                degree: dict[str, int] = {}
                for pair in pairs:
                    for f in pair:
                        degree[f] = degree.get(f, 0) + 1
                if max(degree.values()) > opts.max_partners_per_firm:
                    continue
            on = np.zeros(n, dtype=bool)
            on[list(subset)] = True
            if np.any(opts.min_lot > cap[on] + 1e-12):
                continue
            bounds = [(opts.min_lot, cap[a]) if on[a] else (0.0, 0.0) for a in range(n)]
            res = linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
            if res.status == 0:
                best = min(best, res.fun + opts.fixed_cost_vnd_per_link * size)
    return best


@pytest.mark.parametrize("seed", range(12))
def test_fixed_costs_lots_and_partners_match_brute_force(seed):
    rng = np.random.default_rng(100 + seed)
    arcs, sq, dq, firms = random_instance(rng, n_sup=int(rng.integers(2, 5)), n_dem=int(rng.integers(2, 4)),
                                          n_arcs=7, n_firms=4)
    arcs = arcs.head(7)
    opts = MilpOptions(fixed_cost_vnd_per_link=float(rng.choice([0.0, 3e6, 1e7, 3e7])),
                       min_lot=float(rng.choice([0.0, 5.0, 20.0])),
                       max_partners_per_firm=[None, 1, 2][seed % 3], **EXACT)
    sol = solve_milp(arcs, sq, dq, firms, opts)
    assert sol.status == "OPTIMAL"
    check_feasible(sol, arcs, sq, dq, firms, opts)
    assert sol.objective_vnd == pytest.approx(brute_force(arcs, sq, dq, firms, opts), rel=1e-7, abs=1e-2)
