"""Choose how much flows on each candidate arc — exactly, with OR-Tools.

Variables ``x_a`` are amounts of the *supply* material (its base unit per year)
sent along arc ``a``; a demand receives ``yield_a · x_a`` of its own material.

Constraints: each supply ships at most its quantity (the rest goes to disposal);
each demand receives at most its quantity.

Objectives
----------
``lexicographic`` (default)
    1. maximise the amount diverted from disposal (tonnes for materials; utilities
       count in their own unit — they only ever compete with each other);
    2. among all answers that divert that much, minimise tonne-kilometres.
``vnd``
    minimise transport cost − avoided disposal fees (VND).
``co2e``
    minimise truck emissions − avoided landfill emissions (t CO2e).

Two solvers, cross-checked in the tests:

* :func:`solve_lp` — GLOP linear programme; handles any yields. Stage 2 keeps
  stage 1's optimum as a constraint (relative tolerance 1e-9).
* :func:`solve_min_cost_flow` — ``SimpleMinCostFlow`` when every yield is 1
  (a pure network). Integer scaling: amounts × ``quantity_scale`` (default 1000,
  i.e. kg for tonnes) rounded down; t·km per unit × ``cost_scale`` (default 100)
  rounded; the lexicographic order is enforced with a disposal penalty
  ``BIG = (2·nodes + 1) · max arc cost + 1`` per unit, larger than any reroute
  could save.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from ortools.graph.python import min_cost_flow
from ortools.linear_solver import pywraplp

OBJECTIVES = ("lexicographic", "vnd", "co2e")


@dataclass(frozen=True)
class Solution:
    """Flows per arc and how they were obtained."""

    flow: np.ndarray  # supply units per arc
    status: str  # "OPTIMAL" or the solver's status name
    solver: str
    objective: str
    objective_values: dict[str, float]

    @property
    def optimal(self) -> bool:
        return self.status == "OPTIMAL"


def arc_weights(arcs: pd.DataFrame, supply_is_utility: np.ndarray) -> np.ndarray:
    """Diverted amount counted per unit of supply on each arc (tonnes, or 1 for utilities)."""
    mass = arcs.mass_t_per_unit.to_numpy(dtype=float)
    return np.where(supply_is_utility[arcs.supply.to_numpy()], 1.0, mass)


def _cost_vector(arcs: pd.DataFrame, objective: str, params: dict[str, float], ef_landfill: np.ndarray) -> np.ndarray:
    mass = arcs.mass_t_per_unit.to_numpy(dtype=float)
    dist = arcs.distance_km.to_numpy(dtype=float)
    if objective == "vnd":
        return arcs.transport_cost_per_unit.to_numpy(dtype=float) - arcs.disposal_fee_per_unit.to_numpy(dtype=float)
    if objective == "co2e":
        truck = params["ef_truck_kgco2e_per_tkm"] / 1000.0 * mass * dist
        return truck - ef_landfill[arcs.supply.to_numpy()] * mass
    raise ValueError(f"unknown objective {objective!r}")


def solve_lp(arcs: pd.DataFrame, supply_qty: np.ndarray, demand_qty: np.ndarray, supply_is_utility: np.ndarray,
             objective: str = "lexicographic", params: dict[str, float] | None = None,
             ef_landfill: np.ndarray | None = None) -> Solution:
    """Solve with GLOP. ``supply_qty``/``demand_qty`` are indexed by stream row."""
    n = len(arcs)
    if n == 0:
        return Solution(np.zeros(0), "OPTIMAL", "GLOP", objective, {"diverted": 0.0, "tkm": 0.0})
    solver = pywraplp.Solver.CreateSolver("GLOP")
    sup = arcs.supply.to_numpy()
    dem = arcs.demand.to_numpy()
    yld = arcs["yield"].to_numpy(dtype=float)
    ub = np.minimum(supply_qty[sup], demand_qty[dem] / yld)
    x = [solver.NumVar(0.0, float(u), "") for u in ub]
    for s_row, idx in pd.Series(np.arange(n)).groupby(sup):
        solver.Add(solver.Sum([x[k] for k in idx]) <= float(supply_qty[s_row]))
    for d_row, idx in pd.Series(np.arange(n)).groupby(dem):
        solver.Add(solver.Sum([float(yld[k]) * x[k] for k in idx]) <= float(demand_qty[d_row]))
    weights = arc_weights(arcs, supply_is_utility)
    tkm = arcs.mass_t_per_unit.to_numpy(dtype=float) * arcs.distance_km.to_numpy(dtype=float)
    values: dict[str, float] = {}
    if objective == "lexicographic":
        solver.Maximize(solver.Sum([float(w) * v for w, v in zip(weights, x, strict=True)]))
        status = solver.Solve()
        if status != pywraplp.Solver.OPTIMAL:
            return Solution(np.zeros(n), _status_name(status), "GLOP", objective, {})
        best = solver.Objective().Value()
        values["diverted"] = best
        solver.Add(solver.Sum([float(w) * v for w, v in zip(weights, x, strict=True)]) >= best * (1 - 1e-9) - 1e-9)
        solver.Minimize(solver.Sum([float(c) * v for c, v in zip(tkm, x, strict=True)]))
    else:
        cost = _cost_vector(arcs, objective, params or {}, ef_landfill if ef_landfill is not None else np.zeros(len(supply_qty)))
        solver.Minimize(solver.Sum([float(c) * v for c, v in zip(cost, x, strict=True)]))
    status = solver.Solve()
    if status != pywraplp.Solver.OPTIMAL:
        return Solution(np.zeros(n), _status_name(status), "GLOP", objective, values)
    flow = np.clip(np.array([v.solution_value() for v in x]), 0, None)
    flow[flow < 1e-9] = 0.0
    values["tkm"] = float(tkm @ flow)
    values["diverted"] = float(weights @ flow)
    values["objective"] = solver.Objective().Value()
    return Solution(flow, "OPTIMAL", "GLOP", objective, values)


def _status_name(status: int) -> str:
    names = {pywraplp.Solver.INFEASIBLE: "INFEASIBLE", pywraplp.Solver.UNBOUNDED: "UNBOUNDED",
             pywraplp.Solver.ABNORMAL: "ABNORMAL", pywraplp.Solver.FEASIBLE: "FEASIBLE_NOT_PROVEN_OPTIMAL",
             pywraplp.Solver.NOT_SOLVED: "NOT_SOLVED"}
    return names.get(status, f"STATUS_{status}")


@dataclass(frozen=True)
class IntegerNetwork:
    """The scaled integer min-cost-flow instance (shared by OR-Tools and networkx in tests)."""

    tails: np.ndarray
    heads: np.ndarray
    capacities: np.ndarray
    costs: np.ndarray
    supplies: np.ndarray  # per node
    n_match_arcs: int
    quantity_scale: float


def integer_network(arcs: pd.DataFrame, supply_qty: np.ndarray, demand_qty: np.ndarray,
                    supply_is_utility: np.ndarray, quantity_scale: float = 1000.0,
                    cost_scale: float = 100.0) -> IntegerNetwork:
    """Lexicographic problem as integer min-cost flow (requires all yields == 1).

    Nodes: one per supply row used, one per demand row used, and a sink. Arcs:
    supply→demand (cost = scaled t·km per unit), demand→sink (capacity = demand),
    supply→sink "disposal" (cost = BIG × weight).
    """
    if len(arcs) and not np.allclose(arcs["yield"].to_numpy(dtype=float), 1.0):
        raise ValueError("min-cost flow needs yield 1 on every arc; use solve_lp")
    sup_rows = np.unique(arcs.supply.to_numpy())
    dem_rows = np.unique(arcs.demand.to_numpy())
    s_node = {r: k for k, r in enumerate(sup_rows)}
    d_node = {r: len(sup_rows) + k for k, r in enumerate(dem_rows)}
    sink = len(sup_rows) + len(dem_rows)
    n_nodes = sink + 1
    tkm = arcs.mass_t_per_unit.to_numpy(dtype=float) * arcs.distance_km.to_numpy(dtype=float)
    match_cost = np.rint(tkm * cost_scale).astype(np.int64)
    big = int((2 * n_nodes + 1) * (int(match_cost.max()) if len(match_cost) else 0) + 1)
    mass_w = arcs.groupby("supply").mass_t_per_unit.first().reindex(sup_rows).to_numpy(dtype=float)
    weights = np.where(supply_is_utility[sup_rows], 1.0, mass_w)
    # disposal cost per unit must be an integer ≥ big per tonne-equivalent
    disposal_cost = np.rint(big * weights).astype(np.int64)
    q_sup = np.floor(supply_qty[sup_rows] * quantity_scale).astype(np.int64)
    q_dem = np.floor(demand_qty[dem_rows] * quantity_scale).astype(np.int64)
    tails = np.concatenate([[s_node[r] for r in arcs.supply], [d_node[r] for r in dem_rows],
                            [s_node[r] for r in sup_rows]]).astype(np.int64)
    heads = np.concatenate([[d_node[r] for r in arcs.demand], np.full(len(dem_rows), sink),
                            np.full(len(sup_rows), sink)]).astype(np.int64)
    caps = np.concatenate([np.minimum(q_sup[[s_node[r] for r in arcs.supply]],
                                      q_dem[[d_node[r] - len(sup_rows) for r in arcs.demand]]),
                           q_dem, q_sup]).astype(np.int64)
    costs = np.concatenate([match_cost, np.zeros(len(dem_rows), dtype=np.int64), disposal_cost])
    supplies = np.zeros(n_nodes, dtype=np.int64)
    supplies[: len(sup_rows)] = q_sup
    supplies[sink] = -q_sup.sum()
    if int(costs.max(initial=0)) * int(q_sup.sum()) >= 2**62:
        raise OverflowError("scaled costs overflow int64; lower quantity_scale or cost_scale")
    return IntegerNetwork(tails, heads, caps, costs, supplies, len(arcs), quantity_scale)


def solve_min_cost_flow(arcs: pd.DataFrame, supply_qty: np.ndarray, demand_qty: np.ndarray,
                        supply_is_utility: np.ndarray, quantity_scale: float = 1000.0) -> tuple[Solution, int]:
    """Lexicographic objective with OR-Tools ``SimpleMinCostFlow``; returns the solution and integer cost."""
    net = integer_network(arcs, supply_qty, demand_qty, supply_is_utility, quantity_scale)
    mcf = min_cost_flow.SimpleMinCostFlow()
    mcf.add_arcs_with_capacity_and_unit_cost(net.tails, net.heads, net.capacities, net.costs)
    mcf.set_nodes_supplies(np.arange(len(net.supplies)), net.supplies)
    status = mcf.solve()
    if status != mcf.OPTIMAL:
        return Solution(np.zeros(len(arcs)), f"MCF_STATUS_{status}", "SimpleMinCostFlow", "lexicographic", {}), 0
    flows = mcf.flows(np.arange(net.n_match_arcs)) / quantity_scale if net.n_match_arcs else np.zeros(0)
    weights = arc_weights(arcs, supply_is_utility)
    tkm = arcs.mass_t_per_unit.to_numpy(dtype=float) * arcs.distance_km.to_numpy(dtype=float)
    values = {"diverted": float(weights @ flows), "tkm": float(tkm @ flows)}
    return Solution(flows, "OPTIMAL", "SimpleMinCostFlow", "lexicographic", values), int(mcf.optimal_cost())
