"""Planner's analyses on top of the engine: scenario runs and comparisons, the
landfill–transport trade-off curve, and resilience (what breaks if a firm leaves).

Everything here calls the same exact solver as :func:`matching.engine.run_matching`;
nothing is approximated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from matching.candidates import build_candidates
from matching.colgen import material_components
from matching.engine import MatchResult, run_matching
from matching.optimise import arc_weights, solve_lp
from symbiosis.catalogue import Catalogue, load_catalogue
from symbiosis.network import Network, build_network
from symbiosis.scenarios import Scenario, apply_changes

_LINK_KEY = ["supply_stream_id", "demand_stream_id"]
#: KPIs compared between scenarios (column of ``MatchResult.kpis``), in display order.
KPI_COLUMNS = ["diverted_t", "share_diverted", "waste_supply_t", "tkm", "vnd_saved", "co2e_avoided_t", "links",
               "firms_involved"]


@dataclass
class ScenarioRun:
    scenario: Scenario
    network: Network
    result: MatchResult


def run_scenario(base_tables: dict[str, pd.DataFrame], scenario: Scenario, objective: str = "lexicographic",
                 catalogue: Catalogue | None = None, lang: str = "vi") -> ScenarioRun:
    """Apply the scenario's changes to the base tables and solve."""
    cat = catalogue or load_catalogue()
    tables, target = apply_changes(base_tables, scenario.changes, lang)
    network = build_network(tables, cat)
    result = run_matching(network, objective, cat, bounds=False, min_diverted_share=target)
    return ScenarioRun(scenario, network, result)


@dataclass
class Comparison:
    """B minus A: KPI deltas (total and per park) and the links gained, lost and changed."""

    kpis: pd.DataFrame  # park_id, metric, a, b, delta, delta_pct
    gained: pd.DataFrame  # links in B only
    lost: pd.DataFrame  # links in A only
    changed: pd.DataFrame  # links in both whose quantity moved by more than 1 %

    def total(self, metric: str) -> float:
        row = self.kpis[(self.kpis.park_id == "TOTAL") & (self.kpis.metric == metric)]
        return float(row.delta.iloc[0])


def compare(a: MatchResult, b: MatchResult, tolerance: float = 0.01) -> Comparison:
    """Side-by-side difference of two results (typically base vs scenario)."""
    ka = a.kpis.set_index("park_id")[KPI_COLUMNS]
    kb = b.kpis.set_index("park_id")[KPI_COLUMNS]
    parks = list(dict.fromkeys([*ka.index, *kb.index]))
    ka, kb = ka.reindex(parks).fillna(0.0), kb.reindex(parks).fillna(0.0)
    long = (ka.stack().rename("a").to_frame().join(kb.stack().rename("b")).reset_index()
            .rename(columns={"level_1": "metric"}))
    long["delta"] = long.b - long.a
    with np.errstate(divide="ignore", invalid="ignore"):
        long["delta_pct"] = np.where(long.a != 0, 100 * long.delta / long.a.abs(), np.nan)
    cols = _LINK_KEY + ["supplier_firm_id", "receiver_firm_id", "material_id", "quantity", "unit", "distance_km",
                        "landfill_avoided_t"]
    merged = a.matches[cols].merge(b.matches[cols], on=_LINK_KEY, how="outer", suffixes=("_a", "_b"),
                                   indicator=True)
    for c in cols[2:]:  # one value per column: B's if present, else A's
        merged[c] = merged[f"{c}_b"].where(merged[f"{c}_b"].notna(), merged[f"{c}_a"])
    merged["quantity_a"] = merged.quantity_a.fillna(0.0)
    merged["quantity_b"] = merged.quantity_b.fillna(0.0)
    merged["landfill_avoided_t_a"] = merged.landfill_avoided_t_a.fillna(0.0)
    merged["landfill_avoided_t_b"] = merged.landfill_avoided_t_b.fillna(0.0)
    merged["delta_t"] = merged.landfill_avoided_t_b - merged.landfill_avoided_t_a
    keep = _LINK_KEY + ["supplier_firm_id", "receiver_firm_id", "material_id", "unit", "distance_km",
                        "quantity_a", "quantity_b", "delta_t"]
    gained = merged[merged._merge == "right_only"][keep].reset_index(drop=True)
    lost = merged[merged._merge == "left_only"][keep].reset_index(drop=True)
    both = merged[merged._merge == "both"]
    moved = (both.quantity_b - both.quantity_a).abs() > tolerance * both.quantity_a.abs().clip(lower=1e-9)
    changed = both[moved][keep].reset_index(drop=True)
    return Comparison(long, gained, lost, changed)


# ------------------------------------------------------------------ trade-off curve


def tradeoff_curve(network: Network, multipliers: tuple[float, ...] = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0),
                   catalogue: Catalogue | None = None, progress: Callable[[float], None] | None = None) -> pd.DataFrame:
    """Landfill against transport, sweeping the landfill penalty.

    Each point minimises transport cost − landfill fee × tonnes diverted (the ``vnd``
    objective) with the fee scaled by a multiplier; a higher penalty buys diversion
    with longer hauls. The lexicographic optimum (most diversion, then fewest t·km)
    closes the curve. ``pareto`` marks points no other point beats on both axes;
    ``current`` marks today's fee.
    """
    cat = catalogue or load_catalogue()
    fee = network.parameters["landfill_fee_vnd_per_t"]
    rows = []
    points = [(m, "vnd") for m in multipliers] + [(np.nan, "lexicographic")]
    for k, (mult, objective) in enumerate(points):
        params = network.parameters if objective == "lexicographic" else \
            {**network.parameters, "landfill_fee_vnd_per_t": fee * mult}
        result = run_matching(replace(network, parameters=params), objective, cat, bounds=False)
        total = result.kpis.iloc[0]
        rows.append({"fee_multiplier": mult, "landfill_fee_vnd_per_t": fee * mult if objective == "vnd" else np.nan,
                     "objective": objective, "status": result.status,
                     "landfill_t": total.waste_supply_t - total.diverted_t, "diverted_t": total.diverted_t,
                     "tkm": total.tkm, "transport_cost_vnd": float(result.matches.transport_cost_vnd.sum()),
                     "links": int(total.links)})
        if progress:
            progress((k + 1) / len(points))
    curve = pd.DataFrame(rows)
    curve["pareto"] = pareto_mask(curve.landfill_t.to_numpy(), curve.tkm.to_numpy())
    curve["current"] = curve.fee_multiplier == 1.0
    return curve


def pareto_mask(landfill: np.ndarray, tkm: np.ndarray, rel: float = 1e-9) -> np.ndarray:
    """True where no other point has both less-or-equal landfill and t·km, one strictly less."""
    n = len(landfill)
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        le = (landfill <= landfill[i] * (1 + rel) + 1e-9) & (tkm <= tkm[i] * (1 + rel) + 1e-9)
        lt = (landfill < landfill[i] * (1 - rel) - 1e-9) | (tkm < tkm[i] * (1 - rel) - 1e-9)
        keep[i] = not np.any(le & lt)
    return keep


# ------------------------------------------------------------------ resilience


def resilience(network: Network, firms: list[str] | None = None, catalogue: Catalogue | None = None,
               progress: Callable[[float], None] | None = None) -> pd.DataFrame:
    """For each firm: what breaks if it leaves, after re-solving without it.

    Columns: firm_id, name, park_id, links_lost (its links in today's answer),
    tonnes_own (its own waste diverted today — that simply stops existing),
    tonnes_to_landfill (other firms' waste that is diverted today but cannot be
    re-routed), tonnes_rerouted, absorbed_by (receivers taking more, largest first).
    Sorted by tonnes_to_landfill: the keystone firms come first.

    Only the rule-graph components the firm touches are re-solved (the others cannot
    change), each with the exact lexicographic LP on the full candidate graph.
    """
    cat = catalogue or load_catalogue()
    s = network.streams
    qty = s.quantity_per_year.to_numpy(dtype=float)
    util = (s.kind == "utility").to_numpy()
    sup_q = np.where((s.direction == "output").to_numpy(), qty, 0.0)
    dem_q = np.where((s.direction == "input").to_numpy(), qty, 0.0)
    arcs = build_candidates(network, cat).arcs
    base = solve_lp(arcs, sup_q, dem_q, util)
    if not base.optimal:
        raise RuntimeError(f"base problem not solved: {base.status}")
    comp = material_components(cat, s)
    arc_comp = comp[arcs.supply.to_numpy()]
    firm_of = s.firm_id.to_numpy()
    sup_firm, dem_firm = firm_of[arcs.supply.to_numpy()], firm_of[arcs.demand.to_numpy()]
    weight = arc_weights(arcs, util) * ~util[arcs.supply.to_numpy()]  # tonnes kept from landfill per unit
    used = base.flow > 1e-9
    if firms is None:
        firms = sorted(set(sup_firm[used]) | set(dem_firm[used]))
    info = network.firms.set_index("firm_id")
    rows = []
    for k, firm in enumerate(firms):
        touched = np.setdiff1d(np.unique(comp[firm_of == firm]), [-1])
        in_comp = np.isin(arc_comp, touched)
        mine = (sup_firm == firm) | (dem_firm == firm)
        keep = in_comp & ~mine
        gone = firm_of == firm
        sol = solve_lp(arcs[keep].reset_index(drop=True), np.where(gone, 0.0, sup_q), np.where(gone, 0.0, dem_q), util)
        before_others = float(weight[in_comp & (sup_firm != firm)] @ base.flow[in_comp & (sup_firm != firm)])
        after = float(weight[keep] @ sol.flow) if sol.optimal else np.nan
        received_before = pd.Series(weight[keep] * base.flow[keep]).groupby(dem_firm[keep]).sum()
        received_after = pd.Series(weight[keep] * sol.flow).groupby(dem_firm[keep]).sum()
        gain = (received_after - received_before.reindex(received_after.index).fillna(0.0))
        gain = gain[gain > 1e-6].sort_values(ascending=False)
        lost_flow = float(weight[mine & (sup_firm != firm)] @ base.flow[mine & (sup_firm != firm)])
        to_landfill = before_others - after
        to_landfill = to_landfill if to_landfill > 1e-6 * max(before_others, 1.0) else 0.0  # LP round-off
        rows.append({"firm_id": firm, "name": info.name.get(firm), "park_id": info.park_id.get(firm),
                     "links_lost": int((mine & used).sum()),
                     "tonnes_own": float(weight[sup_firm == firm] @ base.flow[sup_firm == firm]),
                     "tonnes_to_landfill": to_landfill, "tonnes_rerouted": max(lost_flow - to_landfill, 0.0),
                     "absorbed_by": "; ".join(f"{f} (+{v:,.0f} t)" for f, v in gain.head(3).items()),
                     "status": sol.status})
        if progress:
            progress((k + 1) / len(firms))
    out = pd.DataFrame(rows, columns=["firm_id", "name", "park_id", "links_lost", "tonnes_own", "tonnes_to_landfill",
                                      "tonnes_rerouted", "absorbed_by", "status"])
    return out.sort_values(["tonnes_to_landfill", "links_lost"], ascending=False).reset_index(drop=True)


# ------------------------------------------------------------------ MILP mode for a few parks


@dataclass
class MilpRun:
    """Link-constrained answer for a few parks (or the LP answer when the MILP is too large)."""

    network: Network
    result: MatchResult
    milp: object | None  # matching.milp.MilpSolution, None after a fallback
    too_large: object | None = None  # matching.milp.MilpTooLarge when the LP answer is shown instead

    def fallback_message(self, lang: str = "vi") -> str | None:
        """Why the LP answer is shown instead of the MILP's, in ``lang``; None if it is not."""
        return None if self.too_large is None else self.too_large.text(lang)


def restrict_to_parks(network: Network, park_ids: list[str]) -> Network:
    """The firms of ``park_ids`` and their streams only (a park authority's own question)."""
    unknown = sorted(set(park_ids) - set(network.parks.park_id))
    if unknown:
        raise KeyError(", ".join(unknown))
    firms = network.firms[network.firms.park_id.isin(park_ids)].reset_index(drop=True)
    streams = network.streams[network.streams.firm_id.isin(firms.firm_id)].reset_index(drop=True)
    parks = network.parks[network.parks.park_id.isin(park_ids)].reset_index(drop=True)
    return replace(network, parks=parks, firms=firms, streams=streams)


def run_milp(network: Network, park_ids: list[str] | None = None, catalogue: Catalogue | None = None,
             **options) -> MilpRun:
    """MILP mode (fixed cost per link, minimum lot, partner limit, distance caps) with SCIP.

    ``options`` override :class:`matching.milp.MilpOptions` (defaults from the parameters
    ``link_fixed_cost_vnd_per_year``, ``min_lot_t_per_year``, ``max_partners_per_firm``);
    ``min_lot_t`` gives the minimum lot in tonnes per year.
    An instance above ``max_arcs`` falls back to the exact LP (objective ``vnd``) with the
    reason in ``fallback_message(lang)``. The result's status is SCIP's: ``OPTIMAL`` only when
    proved, ``FEASIBLE`` at the time limit (see ``milp.gap``).
    """
    from matching.engine import _kpis, _matches, _unmatched_supply, _unmet_demand
    from matching.milp import MilpOptions, MilpTooLarge, solve_milp
    from matching.optimise import Solution

    cat = catalogue or load_catalogue()
    net = restrict_to_parks(network, park_ids) if park_ids else network
    s = net.streams
    qty = s.quantity_per_year.to_numpy(dtype=float)
    sup_q = np.where((s.direction == "output").to_numpy(), qty, 0.0)
    dem_q = np.where((s.direction == "input").to_numpy(), qty, 0.0)
    cand = build_candidates(net, cat)
    if "min_lot_t" in options:  # tonnes per year → supply units per arc
        from matching.milp import min_lot_units

        options["min_lot"] = min_lot_units(cand.arcs, float(options.pop("min_lot_t")))
    opts = MilpOptions.from_parameters(net.parameters, cand.arcs, **options)
    try:
        milp = solve_milp(cand.arcs, sup_q, dem_q, s.firm_id.to_numpy(), opts, s.material_class.to_numpy())
    except MilpTooLarge as err:
        return MilpRun(net, run_matching(net, "vnd", cat, bounds=False), None, err)
    ef = cat.materials.loc[s.material_id, "ef_landfill_tco2e_per_t"].to_numpy(dtype=float)
    ef = np.where(np.isnan(ef), net.parameters["ef_landfill_default_tco2e_per_t"], ef)
    flow = milp.flow if milp.has_solution else np.zeros(len(cand.arcs))
    sol = Solution(flow, milp.status, "SCIP (MILP)", "vnd", {"objective": milp.objective_vnd})
    matches = _matches(net, cand, sol, ef, cat)
    result = MatchResult(matches, _unmatched_supply(net, cand, matches), _unmet_demand(net, matches),
                         _kpis(net, matches), milp.status, "SCIP (MILP)", "vnd", dict(net.parameters), cand)
    return MilpRun(net, result, milp)


# ------------------------------------------------------------------ facility siting


def candidate_sites(network: Network) -> pd.DataFrame:
    """Default candidate sites: every park and cluster with a location (approximate points)."""
    parks = network.parks.dropna(subset=["lat", "lon"])
    return pd.DataFrame({"site_id": parks.park_id.to_numpy(), "name": parks.name.to_numpy(),
                         "lat": parks.lat.to_numpy(dtype=float), "lon": parks.lon.to_numpy(dtype=float),
                         "park_id": parks.park_id.to_numpy()})


def site_facility(base_tables: dict[str, pd.DataFrame], facility_type: str, sites: pd.DataFrame | None = None,
                  capacity_t_per_year: float | None = None, fixed_cost_vnd_per_year: float = 0.0, max_sites: int = 1,
                  catalogue: Catalogue | None = None, time_limit_s: float = 30.0, ranking: bool = True):
    """Where should the province put an ash-brick (composting, recycling …) plant?

    Every candidate site gets the facility (one intake stream of its raw material, the
    capacity as quantity); a MILP then opens at most ``max_sites`` of them so that
    transport − avoided disposal fees + fixed costs is least, with the existing demands
    competing for the same supplies. Only the rule-graph components the facility's
    material belongs to enter the model (the others cannot change). Returns the
    :class:`matching.milp.SitingResult` (chosen sites, per-site intake, the gain in tonnes
    and VND against opening none) and, with ``ranking``, each site's value alone.
    """
    from matching.milp import site_facilities, site_ranking
    from symbiosis.scenarios import AddFacility, facility_tables

    cat = catalogue or load_catalogue()
    base_network = build_network(base_tables, cat)
    sites = candidate_sites(base_network) if sites is None else sites.reset_index(drop=True)
    extra_firms, extra_streams = [], []
    for k, site in enumerate(sites.itertuples(index=False), start=1):
        change = AddFacility(facility_type=facility_type, lat=float(site.lat), lon=float(site.lon),
                             capacity_t_per_year=capacity_t_per_year, park_id=getattr(site, "park_id", None),
                             facility_id=f"SITE-{site.site_id}", name=f"{facility_type} @ {site.site_id}")
        rows = facility_tables(change, k)
        extra_firms.append(rows["firms"])
        extra_streams.append(rows["streams"])
    tables = dict(base_tables)
    tables["firms"] = pd.concat([base_tables["firms"], *extra_firms], ignore_index=True)
    tables["streams"] = pd.concat([base_tables["streams"], *extra_streams], ignore_index=True)
    network = build_network(tables, cat)
    s = network.streams
    site_rows = s.firm_id.str.startswith("SITE-").to_numpy() & (s.direction == "input").to_numpy()
    site_of_demand = np.where(site_rows, s.firm_id.str.removeprefix("SITE-").to_numpy(), None)
    comp = material_components(cat, s)
    arcs = build_candidates(network, cat).arcs
    arcs = arcs[np.isin(comp[arcs.supply.to_numpy()], np.unique(comp[site_rows]))].reset_index(drop=True)
    qty = s.quantity_per_year.to_numpy(dtype=float)
    sup_q = np.where((s.direction == "output").to_numpy(), qty, 0.0)
    dem_q = np.where((s.direction == "input").to_numpy(), qty, 0.0)
    result = site_facilities(arcs, sup_q, dem_q, site_of_demand, None, fixed_cost_vnd_per_year, max_sites,
                             time_limit_s=time_limit_s)
    table = site_ranking(arcs, sup_q, dem_q, site_of_demand, None, fixed_cost_vnd_per_year,
                         time_limit_s=time_limit_s) if ranking else None
    return result, table
