"""Exact optimisation on a sparse graph by column generation.

At province scale almost every supply can reach almost every compatible demand
(the haul limit spans the province), so the full candidate graph has millions of
arcs. Yet an optimal transport plan uses at most (supplies + demands) of them. We
start from each supply's and each demand's ``k`` nearest compatible partners, solve
the LP, and *price* the arcs left out with the LP duals: an arc can improve the
objective only if its reduced cost ``c_a − π_s − y_a·π_d − λ·w_a`` has the improving
sign. The duals bound how far such an arc can reach, so pricing queries the k-d trees
with a per-supply radius instead of enumerating every pair. Arcs that price out are
added and the LP re-solved; when none is left the answer is optimal for the *full*
graph (LP optimality conditions), which the tests check against full enumeration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from matching.candidates import (
    CandidateContext,
    Candidates,
    build_candidates,
)
from matching.optimise import Solution, _cost_vector, _solve_sparse, arc_weights, lp_matrix
from symbiosis.catalogue import Catalogue
from symbiosis.network import Network


@dataclass(frozen=True)
class ColumnGenerationStats:
    rounds: int
    arcs_start: int
    arcs_final: int


def _key(arcs: pd.DataFrame, n: int) -> np.ndarray:
    return arcs.supply.to_numpy(dtype=np.int64) * (n + 1) + arcs.demand.to_numpy(dtype=np.int64)


def material_components(cat: Catalogue, streams: pd.DataFrame) -> np.ndarray:
    """Label each stream with the connected component of the rule graph it belongs to.

    Nodes are (role, material) pairs — ("out", X) for supplies of X, ("in", Y) for
    demands of Y — joined by exchange rules. Streams in different components can
    never share an arc, so each component is an independent, smaller LP.
    """
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in zip(cat.rules.supply_material_id, cat.rules.demand_material_id, strict=True):
        parent[find(("out", a))] = find(("in", b))
    roles = np.where(streams.direction.to_numpy() == "output", "out", "in")
    roots = [find((r, m)) if (r, m) in parent else None for r, m in zip(roles, streams.material_id, strict=True)]
    codes = {root: k for k, root in enumerate(dict.fromkeys(r for r in roots if r is not None))}
    return np.array([codes.get(r, -1) for r in roots], dtype=np.int64)


def solve_by_column_generation(network: Network, cat: Catalogue, objective: str, supply_qty: np.ndarray,
                               demand_qty: np.ndarray, is_utility: np.ndarray, ef_landfill: np.ndarray,
                               distances: pd.DataFrame | None = None, k_nearest: int = 8,
                               max_rounds: int = 200) -> tuple[Candidates, Solution, ColumnGenerationStats]:
    """Optimal flows over the full candidate graph without building it (see module docstring)."""
    context = CandidateContext.build(network, cat, distances)
    start = build_candidates(network, cat, distances, k_nearest=k_nearest, context=context)
    component = material_components(cat, network.streams)
    arc_parts, flow_parts, z1_total, rounds, status = [], [], 0.0, 0, "OPTIMAL"
    value_total = 0.0
    start_comp = component[start.arcs.supply.to_numpy()] if len(start.arcs) else np.array([], dtype=np.int64)
    for comp in np.unique(component[component >= 0]):
        in_comp = component == comp
        if not (in_comp & (supply_qty > 0)).any() or not (in_comp & (demand_qty > 0)).any():
            continue
        arcs0 = start.arcs[start_comp == comp].reset_index(drop=True)
        res = _solve_component(network, cat, objective, supply_qty, demand_qty, is_utility, ef_landfill,
                               context, arcs0, in_comp, max_rounds)
        arcs_c, flow_c, status_c, value_c, z1_c, rounds_c = res
        rounds += rounds_c
        if status_c != "OPTIMAL":
            status = status_c
        arc_parts.append(arcs_c)
        flow_parts.append(flow_c)
        z1_total += z1_c
        value_total += value_c
    arcs = pd.concat(arc_parts, ignore_index=True) if arc_parts else start.arcs.iloc[:0]
    flow = np.concatenate(flow_parts) if flow_parts else np.zeros(0)
    weights = arc_weights(arcs, is_utility)
    tkm = arcs.mass_t_per_unit.to_numpy() * arcs.distance_km.to_numpy()
    values = {"diverted": float(weights @ flow), "tkm": float(tkm @ flow), "objective": float(value_total)}
    if objective == "lexicographic":
        values["diverted_stage1"] = float(z1_total)
    cand = Candidates(arcs, start.excluded, start.compatible_supplies)
    stats = ColumnGenerationStats(rounds, len(start.arcs), len(arcs))
    if status != "OPTIMAL":
        return cand, Solution(np.zeros(len(arcs)), status, "GLOP+colgen", objective, values), stats
    return cand, Solution(flow, status, "GLOP+colgen", objective, values), stats


def _solve_component(network, cat, objective, supply_qty, demand_qty, is_utility, ef_landfill, context: CandidateContext,
                     arcs: pd.DataFrame, in_comp: np.ndarray, max_rounds: int):
    """Column generation on one component; returns arcs, flows, status, objective, stage-1 value, rounds.

    Lexicographic objective: solve ``min t·km − M·diverted`` (one LP, no dense side row,
    several times faster than a constrained second stage), then verify with a stage-1 LP
    (max diverted) over the full graph that the diverted amount is maximal — which proves
    the answer lexicographically optimal. If not, M grows tenfold; after three tries the
    classic two-stage method is used.
    """
    if objective != "lexicographic":
        return _cg(network, cat, objective, "weighted", supply_qty, demand_qty, is_utility, ef_landfill,
                   context, arcs, in_comp, max_rounds)
    limit = max(network.parameters["max_haul_km"], network.parameters["max_pipe_km"])
    if context.overrides:
        limit = max(limit, max(context.overrides.values()))
    big_m = 10.0 * max(limit, 1.0)
    rounds = 0
    for _ in range(3):
        arcs, flow, status, value, _, r1 = _cg(network, cat, objective, "lexw", supply_qty, demand_qty, is_utility,
                                               ef_landfill, context, arcs, in_comp, max_rounds, big_m=big_m)
        if status != "OPTIMAL":
            return arcs, flow, status, value, 0.0, rounds + r1
        weights = arc_weights(arcs, is_utility)
        diverted = float(weights @ flow)
        shipped = np.bincount(arcs.supply.to_numpy(), weights=flow, minlength=len(supply_qty))
        comp_supplies = np.flatnonzero(in_comp & (supply_qty > 0))
        if np.all(shipped[comp_supplies] >= supply_qty[comp_supplies] * (1 - 1e-9) - 1e-9):
            # every supply is fully shipped: no answer can divert more, so no check is needed
            tkm = arcs.mass_t_per_unit.to_numpy() * arcs.distance_km.to_numpy()
            return arcs, flow, status, float(tkm @ flow), diverted, rounds + r1
        arcs_chk, _, status1, z1, _, r2 = _cg(network, cat, objective, "stage1", supply_qty, demand_qty, is_utility,
                                              ef_landfill, context, arcs, in_comp, max_rounds)
        rounds += r1 + r2
        if status1 != "OPTIMAL":
            return arcs, flow, status1, value, 0.0, rounds
        if diverted >= z1 * (1 - 1e-7) - 1e-7:
            tkm = arcs.mass_t_per_unit.to_numpy() * arcs.distance_km.to_numpy()
            return arcs, flow, status, float(tkm @ flow), z1, rounds
        arcs = arcs_chk  # stage 1 found arcs the weighted run lacked; keep them
        big_m *= 10.0
    arcs, _, status, z1, _, r1 = _cg(network, cat, objective, "stage1", supply_qty, demand_qty, is_utility,
                                     ef_landfill, context, arcs, in_comp, max_rounds)
    arcs, flow, status, value, _, r2 = _cg(network, cat, objective, "stage2", supply_qty, demand_qty, is_utility,
                                           ef_landfill, context, arcs, in_comp, max_rounds, z1=z1)
    return arcs, flow, status, value, z1, rounds + r1 + r2


def _cg(network, cat, objective, stage, supply_qty, demand_qty, is_utility, ef_landfill, context,
        arcs: pd.DataFrame, in_comp: np.ndarray, max_rounds: int, big_m: float = 0.0, z1: float = 0.0):
    """Column-generation loop for one stage: solve, price, add improving arcs, repeat."""
    n_streams = len(network.streams)
    params = network.parameters
    keys = set(_key(arcs, n_streams).tolist())
    status, flow, value, rounds = "OPTIMAL", np.zeros(len(arcs)), 0.0, 0
    for _ in range(max_rounds):
        rounds += 1
        if len(arcs):
            ub, matrix, row_lb, row_ub, sup_rows, dem_rows = lp_matrix(arcs, supply_qty, demand_qty)
            weights = arc_weights(arcs, is_utility)
            tkm = arcs.mass_t_per_unit.to_numpy() * arcs.distance_km.to_numpy()
            if stage == "stage1":
                obj, maximize = weights, True
            elif stage == "lexw":
                obj, maximize = tkm - big_m * weights, False
            elif stage == "stage2":
                obj, maximize = tkm, False
                matrix = sp.vstack([matrix, sp.csr_matrix(weights)]).tocsr()
                row_lb = np.append(row_lb, z1 * (1 - 1e-9) - 1e-9)
                row_ub = np.append(row_ub, np.inf)
            else:
                obj, maximize = _cost_vector(arcs, objective, params, ef_landfill), False
            status, flow, value, duals = _solve_sparse(obj, maximize, ub, matrix, row_lb, row_ub)
            if status != "OPTIMAL":
                return arcs, flow, status, value, z1, rounds
            pi = np.zeros(n_streams)
            pi[sup_rows] = duals[: len(sup_rows)]
            pi[dem_rows] = duals[len(sup_rows): len(sup_rows) + len(dem_rows)]
            lam = duals[-1] if stage == "stage2" else big_m if stage == "lexw" else 0.0
        else:
            obj, pi, lam, value = np.zeros(1), np.zeros(n_streams), big_m, 0.0
        price_stage = "stage2" if stage == "lexw" else stage  # same reduced-cost form, λ = M
        new = _price(network, cat, context, price_stage, objective, pi, lam, is_utility,
                     np.where(in_comp, supply_qty, 0.0), ef_landfill)
        if len(new) == 0:
            break
        new = new[~np.isin(_key(new, n_streams), list(keys))]
        new_w = arc_weights(new, is_utility)
        tol = 1e-9 * max(1.0, float(np.abs(obj).max()) if len(obj) else 1.0)
        if stage == "stage1":
            rc = new_w - (pi[new.supply] + new["yield"].to_numpy() * pi[new.demand])
            improving = rc > tol
        else:
            new_tkm = new.mass_t_per_unit.to_numpy() * new.distance_km.to_numpy()
            if stage == "lexw":
                c = new_tkm - big_m * new_w
                rc = c - (pi[new.supply] + new["yield"].to_numpy() * pi[new.demand])
            elif stage == "stage2":
                rc = new_tkm - (pi[new.supply] + new["yield"].to_numpy() * pi[new.demand] + lam * new_w)
            else:
                c = _cost_vector(new, objective, params, ef_landfill)
                rc = c - (pi[new.supply] + new["yield"].to_numpy() * pi[new.demand])
            improving = rc < -tol
        if not improving.any():
            break
        add = new[improving]
        keys.update(_key(add, n_streams).tolist())
        arcs = pd.concat([arcs, add], ignore_index=True)
    flow = np.clip(flow, 0, None)
    flow[flow < 1e-9] = 0.0
    return arcs, flow, status, value, z1, rounds


def _price(network: Network, cat: Catalogue, context: CandidateContext, stage: str, objective: str, pi: np.ndarray, lam: float,
           is_utility: np.ndarray, supply_qty: np.ndarray, ef_landfill: np.ndarray) -> pd.DataFrame:
    """Arcs that might have an improving reduced cost, found with dual-bounded radii.

    Demand duals only ever make an arc less attractive (π_d ≥ 0 when maximising,
    ≤ 0 when minimising), so dropping them gives a valid bound for each supply; the
    exact reduced cost is then computed for the arcs found.
    """
    s = network.streams
    params = network.parameters
    mass = context.mass
    w = np.where(is_utility, 1.0, mass)
    is_supply = (s.direction == "output").to_numpy() & (supply_qty > 0)
    tol = 1e-12
    radius = None
    with np.errstate(divide="ignore", invalid="ignore"):
        if stage == "stage1":  # rc = w − π_s − y·π_d > 0 needs π_s < w
            mask = is_supply & (pi < w - tol)
        elif stage == "stage2":  # rc = m·d − π_s − y·π_d − λ·w < 0 needs m·d < λ·w + π_s
            slack = lam * w + pi
            mask = is_supply & (slack > tol)
            radius = np.where(mass > 0, slack / mass, np.inf)
        elif objective == "vnd":  # rc = k·m·d − fee − π_s − y·π_d < 0 needs k·m·d < fee + π_s
            slack = context.fee + pi
            mask = is_supply & (slack > tol)
            radius = np.where(mass > 0, slack / (params["transport_cost_vnd_per_tkm"] * mass), np.inf)
        else:  # co2e: rc = e·m·d − ef·m − π_s − y·π_d < 0 needs e·m·d < ef·m + π_s
            slack = ef_landfill * mass + pi
            mask = is_supply & (slack > tol)
            radius = np.where(mass > 0, slack / (params["ef_truck_kgco2e_per_tkm"] / 1000.0 * mass), np.inf)
    if not mask.any():
        return pd.DataFrame(columns=["supply", "demand", "rule_id", "yield", "distance_km", "mass_t_per_unit",
                                     "transport_cost_per_unit", "disposal_fee_per_unit"])
    return build_candidates(network, cat, supply_mask=mask, radius_cap=radius, context=context).arcs
