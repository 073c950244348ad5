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

* :func:`solve_lp` — GLOP linear programme; handles any yields. Stage 1 finds the
  largest diversion; stage 2 solves ``min t·km − M·diverted`` and is accepted only if it
  reaches that maximum (then it is provably lexicographically optimal); otherwise M grows,
  and as a last resort stage 1's optimum becomes a constraint (relative tolerance 1e-9).
* :func:`solve_min_cost_flow` — ``SimpleMinCostFlow`` when every yield is 1
  (a pure network). Integer scaling: amounts × ``quantity_scale`` (default 1000,
  i.e. kg for tonnes) rounded down; t·km per unit × ``cost_scale`` (default 100)
  rounded; the lexicographic order is enforced with a disposal penalty
  ``BIG = (2·nodes + 1) · max arc cost + 1`` per unit, larger than any reroute
  could save.
"""

from __future__ import annotations

import ctypes
import os
import tempfile
from dataclasses import dataclass

import numpy as np
import pandas as pd
from ortools.graph.python import min_cost_flow
from ortools.linear_solver import linear_solver_pb2, pywraplp
from ortools.linear_solver.python import model_builder_helper as mbh
import scipy.sparse as sp

OBJECTIVES = ("lexicographic", "vnd", "co2e")
#: GLOP parameters (text format) per kind of LP, chosen by measurement on province-scale
#: instances (see docs/benchmarks.md): the dual simplex without presolve is ~2× faster on the
#: min-cost problems, the primal simplex without presolve on the max-diversion problems.
GLOP_MIN_COST = "use_dual_simplex: true use_preprocessing: false"
GLOP_MAX_DIVERSION = "use_preprocessing: false"
#: After columns are added the previous basis is still primal feasible: primal simplex, no presolve
#: (presolve would transform the problem and lose the basis).
GLOP_WARM = "use_preprocessing: false"


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


def _solve_sparse(objective: np.ndarray, maximize: bool, ub: np.ndarray, matrix: sp.csr_matrix,
                  row_lb: np.ndarray, row_ub: np.ndarray, parameters: str | None = None,
                  ) -> tuple[str, np.ndarray, float, np.ndarray]:
    """One GLOP solve of ``opt objective·x  s.t. row_lb ≤ A x ≤ row_ub, 0 ≤ x ≤ ub`` (vectorised build).

    Returns status, primal values, objective value and row duals (reduced cost of a
    column = objective − Aᵀ·duals, GLOP's convention).
    """
    model = mbh.ModelBuilderHelper()
    model.fill_model_from_sparse_data(np.zeros(len(ub)), ub, objective, row_lb, row_ub, matrix)
    model.set_maximize(maximize)
    solver = mbh.ModelSolverHelper("glop")
    if parameters is None:
        parameters = GLOP_MAX_DIVERSION if maximize else GLOP_MIN_COST
    if parameters:
        solver.set_solver_specific_parameters(parameters)
    solver.solve(model)
    status = solver.status()
    if status != mbh.SolveStatus.OPTIMAL:
        return str(status).rsplit(".", 1)[-1], np.zeros(len(ub)), float("nan"), np.zeros(len(row_ub))
    return ("OPTIMAL", np.asarray(solver.variable_values(), dtype=float), solver.objective_value(),
            np.asarray(solver.dual_values(), dtype=float))


def column_upper(arcs: pd.DataFrame, supply_qty: np.ndarray, demand_qty: np.ndarray) -> np.ndarray:
    """Most an arc can carry (supply units): its supply, or what its demand can take at the arc's yield."""
    yld = arcs["yield"].to_numpy(dtype=float)
    return np.minimum(supply_qty[arcs.supply.to_numpy()], demand_qty[arcs.demand.to_numpy()] / yld)


def pair_keys(arcs: pd.DataFrame, n_streams: int) -> np.ndarray:
    """One integer per (supply, demand) pair of stream rows."""
    return arcs.supply.to_numpy(dtype=np.int64) * (n_streams + 1) + arcs.demand.to_numpy(dtype=np.int64)


def lp_matrix(arcs: pd.DataFrame, supply_qty: np.ndarray, demand_qty: np.ndarray):
    """Bounds and the sparse constraint matrix: one row per supply used, then one per demand used."""
    n = len(arcs)
    sup = arcs.supply.to_numpy()
    dem = arcs.demand.to_numpy()
    yld = arcs["yield"].to_numpy(dtype=float)
    ub = column_upper(arcs, supply_qty, demand_qty)
    sup_rows, sup_pos = np.unique(sup, return_inverse=True)
    dem_rows, dem_pos = np.unique(dem, return_inverse=True)
    cols = np.arange(n)
    a_sup = sp.csr_matrix((np.ones(n), (sup_pos, cols)), shape=(len(sup_rows), n))
    a_dem = sp.csr_matrix((yld, (dem_pos, cols)), shape=(len(dem_rows), n))
    matrix = sp.vstack([a_sup, a_dem]).tocsr()
    row_ub = np.concatenate([supply_qty[sup_rows], demand_qty[dem_rows]])
    row_lb = np.full(len(row_ub), -np.inf)
    return ub, matrix, row_lb, row_ub, sup_rows, dem_rows


def solve_lp(arcs: pd.DataFrame, supply_qty: np.ndarray, demand_qty: np.ndarray, supply_is_utility: np.ndarray,
             objective: str = "lexicographic", params: dict[str, float] | None = None,
             ef_landfill: np.ndarray | None = None, min_landfill_avoided_t: float | None = None) -> Solution:
    """Solve with GLOP. ``supply_qty``/``demand_qty`` are indexed by stream row.

    ``min_landfill_avoided_t`` adds a diversion target (tonnes of waste kept from
    landfill) as a constraint of the ``vnd``/``co2e`` objectives; an unattainable
    target gives status ``INFEASIBLE``. (The lexicographic objective diverts the
    most possible anyway.)

    The constraint matrix is assembled as a scipy CSR matrix and handed to OR-Tools in
    one call, so building costs O(arcs) numpy work rather than Python objects per term.
    """
    n = len(arcs)
    if n == 0:
        return Solution(np.zeros(0), "OPTIMAL", "GLOP", objective, {"diverted": 0.0, "tkm": 0.0, "diverted_stage1": 0.0})
    ub, matrix, row_lb, row_ub, _, _ = lp_matrix(arcs, supply_qty, demand_qty)
    weights = arc_weights(arcs, supply_is_utility)
    tkm = arcs.mass_t_per_unit.to_numpy(dtype=float) * arcs.distance_km.to_numpy(dtype=float)
    values: dict[str, float] = {}
    if objective == "lexicographic":
        status, _, best, _ = _solve_sparse(weights, True, ub, matrix, row_lb, row_ub)
        if status != "OPTIMAL":
            return Solution(np.zeros(n), status, "GLOP", objective, {})
        values["diverted_stage1"] = best
        # one weighted LP (min t·km − M·diverted) is much faster than a second stage with a dense
        # row; it is lexicographically optimal whenever it reaches the stage-1 maximum (checked)
        per_unit = np.divide(tkm, weights, out=np.zeros_like(tkm), where=weights > 0)
        big_m = 10.0 * max(float(per_unit.max(initial=0.0)), 1.0)
        for _ in range(3):
            status, flow, obj, _ = _solve_sparse(tkm - big_m * weights, False, ub, matrix, row_lb, row_ub)
            if status == "OPTIMAL" and float(weights @ flow) >= best * (1 - 1e-7) - 1e-7:
                flow = np.clip(flow, 0, ub)
                flow[flow < 1e-9] = 0.0
                values.update(tkm=float(tkm @ flow), diverted=float(weights @ flow), objective=float(tkm @ flow))
                return Solution(flow, "OPTIMAL", "GLOP", objective, values)
            big_m *= 10.0
        matrix = sp.vstack([matrix, sp.csr_matrix(weights)]).tocsr()
        row_lb = np.append(row_lb, best * (1 - 1e-9) - 1e-9)
        row_ub = np.append(row_ub, np.inf)
        cost, maximize = tkm, False
    else:
        ef = ef_landfill if ef_landfill is not None else np.zeros(len(supply_qty))
        cost, maximize = _cost_vector(arcs, objective, params or {}, ef), False
        if min_landfill_avoided_t is not None:
            landfill_row = np.where(supply_is_utility[arcs.supply.to_numpy()], 0.0, arcs.mass_t_per_unit.to_numpy())
            matrix = sp.vstack([matrix, sp.csr_matrix(landfill_row)]).tocsr()
            row_lb = np.append(row_lb, min_landfill_avoided_t)
            row_ub = np.append(row_ub, np.inf)
    status, flow, obj, _ = _solve_sparse(cost, maximize, ub, matrix, row_lb, row_ub)
    if status != "OPTIMAL":
        return Solution(np.zeros(n), status, "GLOP", objective, values)
    flow = np.clip(flow, 0, ub)
    flow[flow < 1e-9] = 0.0
    values["tkm"] = float(tkm @ flow)
    values["diverted"] = float(weights @ flow)
    values["objective"] = obj
    return Solution(flow, "OPTIMAL", "GLOP", objective, values)


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
    sup, dem = arcs.supply.to_numpy(), arcs.demand.to_numpy()
    sup_rows, sup_node = np.unique(sup, return_inverse=True)  # node k = k-th supply row used
    dem_rows, dem_pos = np.unique(dem, return_inverse=True)
    dem_node = len(sup_rows) + dem_pos
    sink = len(sup_rows) + len(dem_rows)
    n_nodes = sink + 1
    tkm = arcs.mass_t_per_unit.to_numpy(dtype=float) * arcs.distance_km.to_numpy(dtype=float)
    match_cost = np.rint(tkm * cost_scale).astype(np.int64)
    big = int((2 * n_nodes + 1) * (int(match_cost.max()) if len(match_cost) else 0) + 1)
    mass_w = np.zeros(len(sup_rows))
    mass_w[sup_node] = arcs.mass_t_per_unit.to_numpy(dtype=float)  # one value per supply
    weights = np.where(supply_is_utility[sup_rows], 1.0, mass_w)
    # disposal cost per unit must be an integer ≥ big per tonne-equivalent
    disposal_cost = np.rint(big * weights).astype(np.int64)
    q_sup = np.floor(supply_qty[sup_rows] * quantity_scale).astype(np.int64)
    q_dem = np.floor(demand_qty[dem_rows] * quantity_scale).astype(np.int64)
    tails = np.concatenate([sup_node, len(sup_rows) + np.arange(len(dem_rows)), np.arange(len(sup_rows))])
    heads = np.concatenate([dem_node, np.full(len(dem_rows), sink), np.full(len(sup_rows), sink)])
    caps = np.concatenate([np.minimum(q_sup[sup_node], q_dem[dem_pos]), q_dem, q_sup])
    tails, heads, caps = tails.astype(np.int64), heads.astype(np.int64), caps.astype(np.int64)
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


#: Rebuild (cold dual simplex) instead of warm-starting when a round adds more columns than
#: ``REBUILD_FACTOR - 1`` times the LP's columns or ``REBUILD_NEW_PER_ROW`` times its rows: every new
#: attractive column costs primal-simplex pivots from the old basis, and past that many a fresh dual
#: simplex is faster. Measured: province colgen always warm 2.15 s, factor 1.25 1.91 s, always
#: cold 3.2 s; national, largest LP (72 000 rows, 746 000 → 852 000 columns) warm 32 s vs cold ~16 s.
REBUILD_FACTOR = 1.25
REBUILD_NEW_PER_ROW = 1.0


class IncrementalLP:
    """A GLOP LP whose columns only grow, re-solved from the previous optimal basis.

    Column generation adds a few arcs per round to an LP of ~10⁵ arcs; re-solving it from
    scratch costs the same every round, while GLOP's revised simplex, kept alive in one
    ``pywraplp`` solver, starts from the last basis (still primal feasible when only
    columns are added) and needs a handful of pivots. Rows are fixed up front — one per
    supply and one per demand the LP may ever touch — because adding rows and columns
    together would discard the basis.

    The first solve loads the whole model in one call (built as sparse arrays, passed as an
    ``MPModelProto``); later solves add only the new columns and change only objective
    coefficients that differ.
    """

    def __init__(self, supply_rows: np.ndarray, demand_rows: np.ndarray, supply_qty: np.ndarray,
                 demand_qty: np.ndarray) -> None:
        self.supply_rows, self.demand_rows = np.asarray(supply_rows), np.asarray(demand_rows)
        self.supply_qty, self.demand_qty = supply_qty, demand_qty
        self.row_of_supply = {int(r): k for k, r in enumerate(self.supply_rows)}
        self.row_of_demand = {int(r): len(self.supply_rows) + k for k, r in enumerate(self.demand_rows)}
        self.solver: pywraplp.Solver | None = None
        self.columns: list = []
        self.cost = np.zeros(0)
        self.upper = np.zeros(0)
        self.pairs = np.zeros(0, dtype=np.int64)
        self.maximize = False
        self.warm = False  # GLOP parameters switched to the warm-start set

    def _load(self, arcs: pd.DataFrame, cost: np.ndarray, maximize: bool, upper: np.ndarray) -> None:
        self.solver, self.columns, self.rows = None, [], []  # free a previous model before building the next
        sup, dem = arcs.supply.to_numpy(), arcs.demand.to_numpy()
        yld = arcs["yield"].to_numpy(dtype=float)
        n, n_sup = len(arcs), len(self.supply_rows)
        rows_s = np.searchsorted(self.supply_rows, sup)
        rows_d = n_sup + np.searchsorted(self.demand_rows, dem)
        matrix = sp.csr_matrix((np.concatenate([np.ones(n), yld]),
                                (np.concatenate([rows_s, rows_d]), np.concatenate([np.arange(n)] * 2))),
                               shape=(n_sup + len(self.demand_rows), n))
        row_ub = np.concatenate([self.supply_qty[self.supply_rows], self.demand_qty[self.demand_rows]])
        model = mbh.ModelBuilderHelper()
        model.fill_model_from_sparse_data(np.zeros(n), upper, cost, np.full(len(row_ub), -np.inf), row_ub, matrix)
        model.set_maximize(maximize)
        with tempfile.TemporaryDirectory() as tmp:  # the only bulk route from model_builder into pywraplp
            path = os.path.join(tmp, "model.pb")
            model.write_model_to_proto_file(path)
            proto = linear_solver_pb2.MPModelProto()
            with open(path, "rb") as handle:
                proto.ParseFromString(handle.read())
        self.solver = pywraplp.Solver.CreateSolver("GLOP")
        error = self.solver.LoadModelFromProto(proto)
        if error:
            raise RuntimeError(error)
        del proto, model, matrix
        if n > TRIM_ABOVE_COLUMNS:
            return_freed_memory()
        self.columns = _LazyColumns(self.solver, n)
        self.rows = list(self.solver.constraints())
        self.cost, self.maximize, self.upper = np.asarray(cost, dtype=float).copy(), maximize, upper.copy()
        self.pairs = pair_keys(arcs, len(self.supply_qty))
        self.solver.SetSolverSpecificParametersAsString(GLOP_MAX_DIVERSION if maximize else GLOP_MIN_COST)
        self.warm = False

    def _same_prefix(self, arcs: pd.DataFrame) -> bool:
        """Whether ``arcs`` starts with this LP's columns, in order (else the LP is rebuilt)."""
        return bool(np.array_equal(pair_keys(arcs.iloc[: len(self.pairs)], len(self.supply_qty)), self.pairs))

    def solve(self, arcs: pd.DataFrame, cost: np.ndarray, maximize: bool,
              upper: np.ndarray | None = None) -> tuple[str, np.ndarray, float, np.ndarray]:
        """Optimise ``cost`` over ``arcs``, whose first rows are the columns of the previous call.

        ``upper`` bounds each column (default: what its supply and demand allow); a column
        closed with bound 0 — an arc beyond a shortened haul limit — keeps its place, so the
        basis survives. Returns status, flows, objective value and row duals (supply rows,
        then demand rows, in the order given at construction).
        """
        cost = np.asarray(cost, dtype=float)
        upper = column_upper(arcs, self.supply_qty, self.demand_qty) if upper is None else np.asarray(upper, dtype=float)
        n_new = len(arcs) - len(self.columns)
        if (self.solver is None or n_new < 0 or len(arcs) > REBUILD_FACTOR * len(self.columns)
                or n_new > REBUILD_NEW_PER_ROW * len(self.rows) or not self._same_prefix(arcs)):
            self._load(arcs, cost, maximize, upper)  # first solve, or so many new columns that the dual simplex
            # from scratch beats the primal simplex from the old basis
        else:
            old = len(self.columns)
            changed = np.flatnonzero(cost[:old] != self.cost)
            objective = self.solver.Objective()
            # one wrapper at a time: a list of all variables would cost ~250 bytes per column
            for k, c in zip(changed.tolist(), cost[changed].tolist(), strict=True):
                objective.SetCoefficient(self.columns[k], c)
            if maximize != self.maximize:
                objective.SetOptimizationDirection(maximize)
            for k in np.flatnonzero(upper[:old] != self.upper).tolist():
                self.columns[k].SetUb(float(upper[k]))
            new = arcs.iloc[old:]
            for (s, d, y), ub, c in zip(new[["supply", "demand", "yield"]].itertuples(index=False, name=None),
                                        upper[old:], cost[old:], strict=True):
                var = self.solver.NumVar(0.0, float(ub), "")
                self.rows[self.row_of_supply[s]].SetCoefficient(var, 1.0)
                self.rows[self.row_of_demand[d]].SetCoefficient(var, float(y))
                objective.SetCoefficient(var, float(c))
                self.columns.append(var)
            self.cost, self.maximize, self.upper = cost.copy(), maximize, upper.copy()
            self.pairs = pair_keys(arcs, len(self.supply_qty))
            if not self.warm:  # the previous basis stays primal feasible: the primal simplex goes on from it
                self.solver.SetSolverSpecificParametersAsString(GLOP_WARM)
                self.warm = True
        status = self.solver.Solve()
        if status != pywraplp.Solver.OPTIMAL:
            names = {pywraplp.Solver.INFEASIBLE: "INFEASIBLE", pywraplp.Solver.UNBOUNDED: "UNBOUNDED"}
            return names.get(status, f"GLOP_STATUS_{status}"), np.zeros(len(arcs)), float("nan"), np.zeros(len(self.rows))
        response = linear_solver_pb2.MPSolutionResponse()
        self.solver.FillSolutionResponseProto(response)
        if len(arcs) > TRIM_ABOVE_COLUMNS:
            return_freed_memory()
        return ("OPTIMAL", np.asarray(response.variable_value, dtype=float), response.objective_value,
                np.asarray(response.dual_value, dtype=float))


#: Hand freed pages back to the OS only after LPs this large: it costs a heap walk and later page
#: faults (~0.1 s per province solve if done after every load), and only large LPs free enough to matter.
TRIM_ABOVE_COLUMNS = 200_000


def return_freed_memory() -> None:
    """Ask glibc to hand freed heap pages back to the OS (loading a 10⁶-column model leaves
    hundreds of MB of freed protobuf buffers in the heap); a no-op elsewhere."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class _LazyColumns:
    """The solver's variables, wrapped in Python objects only when touched (10⁵ wrappers cost 50 ms)."""

    def __init__(self, solver: pywraplp.Solver, n: int) -> None:
        self.solver, self.n, self.added = solver, n, []

    def __len__(self) -> int:
        return self.n + len(self.added)

    def __getitem__(self, k: int):
        return self.solver.variable(k) if k < self.n else self.added[k - self.n]

    def append(self, var) -> None:
        self.added.append(var)
