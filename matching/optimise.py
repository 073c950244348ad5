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
from dataclasses import dataclass

import numpy as np
import pandas as pd
from ortools.graph.python import min_cost_flow
from ortools.linear_solver.python import model_builder_helper as mbh
from ortools.math_opt import callback_pb2 as mo_callback
from ortools.math_opt import model_parameters_pb2 as mo_model_parameters
from ortools.math_opt import model_pb2 as mo_model
from ortools.math_opt import model_update_pb2 as mo_update
from ortools.math_opt import parameters_pb2 as mo_parameters
from ortools.math_opt import result_pb2 as mo_result
from ortools.math_opt import solution_pb2 as mo_solution
from ortools.math_opt.core.python import solver as mathopt_core
import scipy.sparse as sp

OBJECTIVES = ("lexicographic", "vnd", "co2e")
#: GLOP parameters (text format) per kind of LP, chosen by measurement on province-scale
#: instances (see docs/benchmarks.md): the dual simplex without presolve is ~2× faster on the
#: min-cost problems, the primal simplex without presolve on the max-diversion problems.
GLOP_MIN_COST = "use_dual_simplex: true use_preprocessing: false"
GLOP_MAX_DIVERSION = "use_preprocessing: false"


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


#: When only columns were added since the last optimal solve, the *dual* simplex restarts from the old
#: basis (new improving columns at their bound, :meth:`IncrementalLP._flipped_status`). GLOP's primal
#: simplex from the old basis was much slower on large LPs: on the largest national LP (72 000 rows)
#: a round adding 29 000 columns took 61 s primal against 6.8 s dual (flipped), and one adding
#: 106 000 columns 26 s primal, 12–16 s cold dual, ~7–8.5 s dual (flipped); at province scale the two
#: are within noise (paired runs, colgen 1.56 s primal vs 1.54 s flipped). A round that adds more
#: columns than ``REBUILD_FACTOR - 1`` times the LP's columns or ``REBUILD_NEW_PER_ROW`` times its
#: rows while costs or bounds changed too (the old duals no longer tell which columns improve)
#: rebuilds the LP and solves it cold; fewer such columns, the primal simplex goes on.
REBUILD_FACTOR = 1.25
REBUILD_NEW_PER_ROW = 1.0


def _varint(value: int) -> bytes:
    """One non-negative integer as a protobuf varint (a field's tag or length)."""
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _append(message, field: str, values) -> None:
    """Append ``values`` to a repeated numeric ``field`` of a protobuf ``message``.

    Doubles go in as their packed wire encoding (raw little-endian bytes) merged into the message,
    ~10× faster than ``extend``, which converts element by element; integers (ids, enums, booleans)
    as a Python list, which ``extend`` takes ~4× faster than a numpy array (a numpy varint encoder
    was no faster). It matters for LPs of 10⁵–10⁶ columns; tests check it equals ``extend``."""
    descriptor = message.DESCRIPTOR.fields_by_name[field]
    if descriptor.type != descriptor.TYPE_DOUBLE:
        getattr(message, field).extend(np.asarray(values).tolist())
        return
    payload = np.asarray(values, dtype="<f8").tobytes()
    if payload:
        message.MergeFromString(_varint(descriptor.number << 3 | 2) + _varint(len(payload)) + payload)
    else:
        message.SetInParent()  # as ``extend([])`` does: the sub-message is present, if empty


def _glop_parameters(algorithm: int) -> mo_parameters.SolveParametersProto:
    """GLOP through MathOpt without presolve (presolve would transform the LP and lose its basis).

    The basis is refactorised every 200 updates instead of 64 (GLOP still refactorises earlier when
    it sees fit): national column generation 0.1–0.35 s faster in 3 of 3 paired runs; 500 was slower.
    """
    parameters = mo_parameters.SolveParametersProto(lp_algorithm=algorithm, presolve=mo_parameters.EMPHASIS_OFF)
    parameters.glop.basis_refactorization_period = 200
    return parameters


#: Which simplex runs when (chosen by measurement, see docs/benchmarks.md): the dual simplex from
#: scratch on min-cost LPs (~2× faster than the primal), the primal simplex on max-diversion LPs
#: and whenever a primal feasible basis is at hand (after a few columns were added, or the objective
#: switched); the dual simplex again after many columns, from the flipped old basis.
GLOP_DUAL = _glop_parameters(mo_parameters.LP_ALGORITHM_DUAL_SIMPLEX)
GLOP_PRIMAL = _glop_parameters(mo_parameters.LP_ALGORITHM_PRIMAL_SIMPLEX)


class IncrementalLP:
    """A GLOP LP whose columns only grow, re-solved from the previous optimal basis.

    Column generation adds a few arcs per round to an LP of ~10⁵ arcs; re-solving it from
    scratch costs the same every round, while GLOP's revised simplex, kept alive in one
    MathOpt solver, starts from the last basis (still primal feasible when only columns are
    added) and needs a handful of pivots. Rows are fixed up front — one per supply and one
    per demand the LP may ever touch.

    Everything crosses into the solver as array-valued protocol buffers (MathOpt's model,
    model-update and basis messages hold parallel id/value arrays): the model in one message,
    then only the new columns, changed objective coefficients and changed bounds — so switching
    the objective (the stage-1 check) costs one vectorised update and keeps the basis.
    """

    def __init__(self, supply_rows: np.ndarray, demand_rows: np.ndarray, supply_qty: np.ndarray,
                 demand_qty: np.ndarray) -> None:
        self.supply_rows, self.demand_rows = np.asarray(supply_rows), np.asarray(demand_rows)
        self.supply_qty, self.demand_qty = supply_qty, demand_qty
        self.n_rows = len(self.supply_rows) + len(self.demand_rows)
        self.solver = None
        self.n_columns = 0
        self.ids = np.zeros(0, dtype=np.int64)  # MathOpt's id of each column (ids of dropped columns are not reused)
        self.next_id = 0
        self.cost = np.zeros(0)
        self.upper = np.zeros(0)
        self.pairs = np.zeros(0, dtype=np.int64)
        self.maximize = False
        self.warm = False  # a basis is in place: the primal simplex goes on from it
        self.basis: mo_solution.BasisProto | None = None  # of the last optimal solve
        self.duals = np.zeros(0)  # of the last optimal solve
        self.basis_pending = False  # ``basis`` was adopted, not solved for: the next solve starts from it
        self.iterations = 0  # simplex iterations of the last solve

    def _entries(self, arcs: pd.DataFrame, ids: np.ndarray):
        """Matrix entries of ``arcs`` (column ids ``ids``, ascending) in row-major order."""
        n, n_sup = len(arcs), len(self.supply_rows)
        rows = np.concatenate([np.searchsorted(self.supply_rows, arcs.supply.to_numpy()),
                               n_sup + np.searchsorted(self.demand_rows, arcs.demand.to_numpy())])
        cols = np.tile(ids, 2)
        coef = np.concatenate([np.ones(n), arcs["yield"].to_numpy(dtype=float)])
        order = np.argsort(rows, kind="stable")  # columns already ascend within a row
        return rows[order], cols[order], coef[order]

    def _load(self, arcs: pd.DataFrame, keys: np.ndarray, cost: np.ndarray, maximize: bool,
              upper: np.ndarray) -> None:
        self.solver = None  # free a previous model before building the next
        n = len(arcs)
        model = mo_model.ModelProto()
        ids = np.arange(n)
        _append(model.variables, "ids", ids)
        _append(model.variables, "lower_bounds", np.zeros(n))
        _append(model.variables, "upper_bounds", upper)
        _append(model.variables, "integers", np.zeros(n, dtype=bool))
        model.objective.maximize = maximize
        _append(model.objective.linear_coefficients, "ids", ids)
        _append(model.objective.linear_coefficients, "values", cost)
        row_ub = np.concatenate([self.supply_qty[self.supply_rows], self.demand_qty[self.demand_rows]])
        _append(model.linear_constraints, "ids", np.arange(self.n_rows))
        _append(model.linear_constraints, "lower_bounds", np.full(self.n_rows, -np.inf))
        _append(model.linear_constraints, "upper_bounds", row_ub)
        rows, cols, coef = self._entries(arcs, ids)
        matrix = model.linear_constraint_matrix
        _append(matrix, "row_ids", rows)
        _append(matrix, "column_ids", cols)
        _append(matrix, "coefficients", coef)
        del rows, cols, coef
        self.solver = mathopt_core.new(mo_parameters.SOLVER_TYPE_GLOP, model, mo_parameters.SolverInitializerProto())
        del model
        if n > TRIM_ABOVE_COLUMNS:
            return_freed_memory()
        self.n_columns, self.ids, self.next_id = n, ids, n
        self.cost, self.maximize, self.upper = np.asarray(cost, dtype=float).copy(), maximize, upper.copy()
        self.pairs = keys
        self.warm = False

    def _update(self, arcs: pd.DataFrame, keys: np.ndarray, cost: np.ndarray, maximize: bool,
                upper: np.ndarray) -> None:
        """Send only what changed: new columns, objective coefficients, direction, bounds."""
        old, n = self.n_columns, len(arcs)
        update = mo_update.ModelUpdateProto()
        changed = self.ids[np.flatnonzero(cost[:old] != self.cost)]
        new = self.next_id + np.arange(n - old)
        objective = update.objective_updates
        _append(objective.linear_coefficients, "ids", np.concatenate([changed, new]))
        _append(objective.linear_coefficients, "values",
                np.concatenate([cost[np.searchsorted(self.ids, changed)], cost[old:]]))
        if maximize != self.maximize:
            objective.direction_update = maximize
        bounds = np.flatnonzero(upper[:old] != self.upper)
        _append(update.variable_updates.upper_bounds, "ids", self.ids[bounds])
        _append(update.variable_updates.upper_bounds, "values", upper[bounds])
        if len(new):
            _append(update.new_variables, "ids", new)
            _append(update.new_variables, "lower_bounds", np.zeros(len(new)))
            _append(update.new_variables, "upper_bounds", upper[old:])
            _append(update.new_variables, "integers", np.zeros(len(new), dtype=bool))
            rows, cols, coef = self._entries(arcs.iloc[old:], new)
            _append(update.linear_constraint_matrix_updates, "row_ids", rows)
            _append(update.linear_constraint_matrix_updates, "column_ids", cols)
            _append(update.linear_constraint_matrix_updates, "coefficients", coef)
        if not self.solver.update(update):  # GLOP takes all of these in place; never expected
            raise RuntimeError("GLOP refused an incremental update")
        self.n_columns, self.ids, self.next_id = n, np.concatenate([self.ids, new]), self.next_id + len(new)
        self.cost, self.maximize, self.upper = cost.copy(), maximize, upper.copy()
        self.pairs = keys
        self.warm = True

    def adopt(self, arcs: pd.DataFrame, cost: np.ndarray, maximize: bool, upper: np.ndarray,
              basis: mo_solution.BasisProto, duals: np.ndarray) -> None:
        """Load ``arcs`` with an optimal basis and duals known from elsewhere (the optimal bases of
        independent blocks of this LP); the next solve starts from them."""
        self._load(arcs, pair_keys(arcs, len(self.supply_qty)), cost, maximize, upper)
        self.basis, self.duals, self.basis_pending = basis, np.asarray(duals, dtype=float), True

    @staticmethod
    def new_basis(column_ids: np.ndarray, column_status: np.ndarray, row_status: np.ndarray) -> mo_solution.BasisProto:
        """A basis message: statuses of the columns ``column_ids`` (ascending) and of every row."""
        basis = mo_solution.BasisProto()
        _append(basis.variable_status, "ids", column_ids)
        _append(basis.variable_status, "values", column_status)
        _append(basis.constraint_status, "ids", np.arange(len(row_status)))
        _append(basis.constraint_status, "values", row_status)
        basis.basic_dual_feasibility = mo_solution.SOLUTION_STATUS_FEASIBLE
        return basis

    def nonbasic_at_zero(self) -> np.ndarray:
        """Per column: nonbasic at its lower bound (zero) in the last optimal basis."""
        status = self.basis.variable_status
        out = np.zeros(self.n_columns, dtype=bool)
        out[np.searchsorted(self.ids, np.asarray(status.ids, dtype=np.int64))] = (
            np.asarray(status.values) == mo_solution.BASIS_STATUS_AT_LOWER_BOUND)
        return out

    def drop(self, keep: np.ndarray) -> None:
        """Delete the columns where ``keep`` is False; each must be nonbasic at zero (GLOP keeps the basis).

        The caller drops the same rows from its arcs (the LP's columns stay its arcs' first rows).
        """
        gone = self.ids[~keep]
        if len(gone) == 0:
            return
        update = mo_update.ModelUpdateProto()
        _append(update, "deleted_variable_ids", gone)
        if not self.solver.update(update):
            raise RuntimeError("GLOP refused to delete columns")
        self.ids, self.cost, self.upper, self.pairs = self.ids[keep], self.cost[keep], self.upper[keep], self.pairs[keep]
        self.n_columns = len(self.ids)
        if self.basis is not None:
            status = self.basis.variable_status
            status_ids = np.asarray(status.ids, dtype=np.int64)
            kept = np.isin(status_ids, self.ids, assume_unique=True)
            basis = mo_solution.BasisProto()
            basis.constraint_status.CopyFrom(self.basis.constraint_status)
            _append(basis.variable_status, "ids", status_ids[kept])
            _append(basis.variable_status, "values", np.asarray(status.values, dtype=np.int64)[kept])
            basis.basic_dual_feasibility = self.basis.basic_dual_feasibility
            self.basis = basis

    def _can_flip(self, cost: np.ndarray, maximize: bool, upper: np.ndarray) -> bool:
        """Whether the last basis with its duals can start a dual simplex: only columns were added."""
        old = self.n_columns
        return (self.basis is not None and maximize == self.maximize and np.array_equal(cost[:old], self.cost)
                and np.array_equal(upper[:old], self.upper))

    def _flipped_status(self, new: pd.DataFrame, cost: np.ndarray, upper: np.ndarray, maximize: bool) -> np.ndarray:
        """Basis status of new columns that keeps the old basis dual feasible: a column whose reduced cost
        (under the last duals) improves the objective sits at its upper bound, the others at zero.

        Every column is bounded, so this is always possible; the dual simplex then restores primal
        feasibility. (GLOP's dual simplex moves a boxed nonbasic column to the bound its reduced cost
        asks for anyway — the new columns given at zero took the same pivots — so this states the
        start explicitly rather than changing it.) Measured in column generation on the national LP (72 000 rows, 746 000 + 106 000
        columns, the other core busy): ~7 s, against 12–16 s from scratch and 26 s for the primal
        simplex from the old basis."""
        n_sup = len(self.supply_rows)
        dual_part = (self.duals[np.searchsorted(self.supply_rows, new.supply.to_numpy())]
                     + new["yield"].to_numpy(dtype=float)
                     * self.duals[n_sup + np.searchsorted(self.demand_rows, new.demand.to_numpy())])
        reduced = cost - dual_part
        improving = (reduced > 0 if maximize else reduced < 0) & (upper > 0)
        return np.where(improving, mo_solution.BASIS_STATUS_AT_UPPER_BOUND, mo_solution.BASIS_STATUS_AT_LOWER_BOUND)

    @staticmethod
    def _set_basis(model_parameters, basis: mo_solution.BasisProto, new_ids: np.ndarray,
                   new_status: np.ndarray) -> None:
        """Start from ``basis`` with the columns added after it (``new_ids``) in ``new_status``."""
        start = model_parameters.initial_basis
        start.constraint_status.CopyFrom(basis.constraint_status)
        start.variable_status.CopyFrom(basis.variable_status)
        _append(start.variable_status, "ids", new_ids)
        _append(start.variable_status, "values", new_status)

    def _same_prefix(self, keys: np.ndarray) -> bool:
        """Whether the arcs (by their pair ``keys``) start with this LP's columns, in order (else the LP is
        rebuilt)."""
        return bool(np.array_equal(keys[: len(self.pairs)], self.pairs))

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
        n_new = len(arcs) - self.n_columns
        keys = pair_keys(arcs, len(self.supply_qty))
        model_parameters = mo_model_parameters.ModelSolveParametersProto()
        # only what is used comes back: nonzero flows and duals, no reduced costs (halves a warm re-solve)
        model_parameters.variable_values_filter.skip_zero_values = True
        model_parameters.dual_values_filter.skip_zero_values = True
        model_parameters.reduced_costs_filter.filter_by_ids = True
        parameters = None
        many = n_new > (REBUILD_FACTOR - 1) * self.n_columns or n_new > REBUILD_NEW_PER_ROW * self.n_rows
        fresh = self.solver is None or n_new < 0 or not self._same_prefix(keys)
        can_flip = not fresh and n_new > 0 and self._can_flip(cost, maximize, upper)
        if fresh or (many and not can_flip):
            self._load(arcs, keys, cost, maximize, upper)  # first solve, columns not a prefix, or many new columns
            # while the objective or bounds changed too (the old duals no longer tell which columns improve)
        elif can_flip:  # only columns added: the dual simplex from the old basis, new improving columns at their bound
            new_status = self._flipped_status(arcs.iloc[self.n_columns:], cost[self.n_columns:], upper[self.n_columns:],
                                              maximize)
            basis = self.basis
            self._update(arcs, keys, cost, maximize, upper)
            self._set_basis(model_parameters, basis, self.ids[len(self.ids) - len(new_status):], new_status)
            parameters = GLOP_DUAL
        else:
            self._update(arcs, keys, cost, maximize, upper)
            if self.basis_pending and self.basis is not None:  # adopted basis, no columns added
                self._set_basis(model_parameters, self.basis, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
        self.basis_pending = False
        if parameters is None:
            parameters = GLOP_PRIMAL if self.warm or maximize else GLOP_DUAL
        result = self.solver.solve(parameters, model_parameters, None, mo_callback.CallbackRegistrationProto(),
                                   None, None)
        self.iterations = int(result.solve_stats.simplex_iterations)
        if result.termination.reason != mo_result.TERMINATION_REASON_OPTIMAL or not result.solutions:
            self.basis = None
            name = mo_result.TerminationReasonProto.Name(result.termination.reason).removeprefix("TERMINATION_REASON_")
            return name, np.zeros(len(arcs)), float("nan"), np.zeros(self.n_rows)
        solution = result.solutions[0]
        flow = np.zeros(len(arcs))
        flow[np.searchsorted(self.ids, np.asarray(solution.primal_solution.variable_values.ids, dtype=np.int64))] = \
            solution.primal_solution.variable_values.values
        duals = np.zeros(self.n_rows)
        duals[np.asarray(solution.dual_solution.dual_values.ids, dtype=np.int64)] = \
            solution.dual_solution.dual_values.values
        self.basis = solution.basis if solution.HasField("basis") else None
        self.duals = duals
        if len(arcs) > TRIM_ABOVE_COLUMNS:
            return_freed_memory()
        return "OPTIMAL", flow, solution.primal_solution.objective_value, duals


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
