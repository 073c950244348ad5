"""Mixed-integer mode (OR-Tools + bundled SCIP): link constraints and facility siting.

The LP mode (:mod:`matching.optimise`) lets any amount flow on any arc. Real exchanges
need a contract, a permit amendment and someone to run them, so a link is worth making
only if it carries enough. This module adds, on the same candidate arcs:

* :func:`solve_milp` — a binary ``y_a`` per arc ("the link is used") with

  - an annual fixed cost per used link (contract, sampling, paperwork),
  - a minimum lot ``x_a ≥ min_lot·y_a`` (no link for a few hundred kilograms a year),
  - a maximum number of partner firms per firm (a firm manages only so many contracts),
  - a distance cap per material class (arcs longer than the cap are dropped before solving).

* :func:`site_facilities` / :func:`site_ranking` — choose where to open a shared
  facility (e.g. a recycling or pre-treatment plant) among candidate sites, each with a
  capacity and an annualised fixed cost, competing with the existing demands for the
  same supplies.

Variables ``x_a`` are supply units per year on arc ``a`` (as in the LP); a demand receives
``yield_a·x_a``. Objective (VND/year, minimised)::

    Σ_a (transport_cost_a − disposal_fee_a)·x_a + fixed_cost·Σ_a y_a      (links)
    Σ_a (transport_cost_a − disposal_fee_a)·x_a + Σ_s fixed_cost_s·z_s   (siting)

Exact pre-solve pruning (an arc removed here can never improve an optimal answer): an arc
with ``transport_cost ≥ disposal_fee`` never saves money; an arc whose best possible
saving ``(disposal_fee − transport_cost)·U_a`` does not exceed its fixed cost never pays
for itself; an arc whose minimum lot exceeds ``U_a = min(supply, demand/yield)`` cannot
be used at all. The reasons are kept per arc.

SCIP starts from a feasible answer built with a few vectorised GLOP solves (dynamic slope
scaling, the LP's own links, greedy link opening — each made feasible and its flows
re-optimised); on province-sized instances SCIP's own heuristics alone find much worse
incumbents within a 30 s limit.

Statuses are SCIP's, through ``pywraplp``: ``OPTIMAL`` only when SCIP proved it (within the
relative gap asked for, which is reported anyway); ``FEASIBLE`` when the time limit was hit
with an incumbent (the gap says how far from proven it is); any other status carries no
flows.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from ortools.linear_solver import pywraplp
from ortools.linear_solver.python import model_builder_helper as mbh
import scipy.sparse as sp

from symbiosis.i18n import fmt_number, t

#: Reason codes for arcs dropped before solving.
DROP_DISTANCE_CAP = "distance_cap"
DROP_NO_CAPACITY = "no_capacity"
DROP_MIN_LOT = "min_lot_above_capacity"
DROP_NO_SAVING = "no_saving"
DROP_FIXED_COST = "fixed_cost_exceeds_saving"

_STATUS = {
    pywraplp.Solver.OPTIMAL: "OPTIMAL",
    pywraplp.Solver.FEASIBLE: "FEASIBLE",
    pywraplp.Solver.INFEASIBLE: "INFEASIBLE",
    pywraplp.Solver.UNBOUNDED: "UNBOUNDED",
    pywraplp.Solver.ABNORMAL: "ABNORMAL",
    pywraplp.Solver.MODEL_INVALID: "MODEL_INVALID",
    pywraplp.Solver.NOT_SOLVED: "NOT_SOLVED",
}
_FLOW_EPS = 1e-9
#: SCIP settings for the link model. Its root cut loop gains little on these fixed-charge
#: models while each round re-solves a large LP; capping it at 5 rounds lets SCIP reach its
#: root heuristics and branching sooner (measured on the 200-firm benchmark: 30 s gap 1.1 %
#: instead of 1.6 %, see docs/benchmarks.md).
SCIP_PARAMETERS = "separating/maxroundsroot = 5"


class MilpTooLarge(ValueError):
    """The MILP has more arcs than ``max_arcs``; the message is Vietnamese, then English."""

    def __init__(self, n_arcs: int, n_binaries: int, max_arcs: int, n_candidates: int) -> None:
        self.n_arcs, self.n_binaries, self.max_arcs, self.n_candidates = n_arcs, n_binaries, max_arcs, n_candidates
        super().__init__(f"{self.text('vi')}\n{self.text('en')}")

    def __reduce__(self):  # picklable (the app caches results that carry it)
        return (type(self), (self.n_arcs, self.n_binaries, self.max_arcs, self.n_candidates))

    def text(self, lang: str) -> str:
        """The message in one language."""
        return t("milp.too_large", lang, arcs=fmt_number(self.n_arcs, lang, 0),
                 binaries=fmt_number(self.n_binaries, lang, 0), candidates=fmt_number(self.n_candidates, lang, 0),
                 limit=fmt_number(self.max_arcs, lang, 0))


@dataclass(frozen=True)
class MilpOptions:
    """Link constraints for :func:`solve_milp`.

    Attributes
    ----------
    fixed_cost_vnd_per_link
        Annual cost (VND/year) charged for each used link (arc); scalar or one value per arc.
    min_lot
        Minimum supply units per year on a used link (0 = none); scalar or one value per
        arc (see :func:`min_lot_units` to convert tonnes).
    max_partners_per_firm
        Maximum number of distinct partner firms a firm may be linked to, counting links
        on either side (supplier or receiver); ``None`` = no limit. Several arcs between
        the same two firms count as one partner.
    distance_cap_km_by_class
        ``{material_class: km}``: arcs whose *supply* stream is of that class and longer than
        the cap are dropped before solving (needs ``material_class_of_stream``).
    time_limit_s
        Wall-clock budget of the whole call (build and warm start included; SCIP gets the rest,
        at least 1 s).
    relative_gap
        SCIP stops (and reports ``OPTIMAL``) once its gap ``|primal − dual| / min(|primal|, |dual|)``
        is within this.
    max_arcs
        Above this many arcs (after exact pruning) :class:`MilpTooLarge` is raised.
    """

    fixed_cost_vnd_per_link: float | np.ndarray = 0.0
    min_lot: float | np.ndarray = 0.0
    max_partners_per_firm: int | None = None
    distance_cap_km_by_class: Mapping[str, float] | None = None
    time_limit_s: float = 30.0
    relative_gap: float = 1e-4
    max_arcs: int = 20_000

    @classmethod
    def from_parameters(cls, params: Mapping[str, float], arcs: pd.DataFrame, **overrides: object) -> "MilpOptions":
        """Options from the engine parameters (``data/parameters/defaults.csv`` ids).

        ``min_lot_t_per_year`` is converted to supply units per arc with :func:`min_lot_units`.
        """
        values: dict[str, object] = {
            "fixed_cost_vnd_per_link": float(params["link_fixed_cost_vnd_per_year"]),
            "min_lot": min_lot_units(arcs, float(params["min_lot_t_per_year"])),
            "max_partners_per_firm": int(params["max_partners_per_firm"]),
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


@dataclass
class MilpSolution:
    """Result of :func:`solve_milp`.

    Attributes
    ----------
    flow
        Supply units per year on each input arc (0 where unused or dropped), clipped to ``[0, U_a]``.
    used
        Arcs with a used link (binary on and positive flow).
    status
        ``OPTIMAL`` (proved by SCIP within ``relative_gap``), ``FEASIBLE`` (limit hit with an
        incumbent) or SCIP's status name (then no flows).
    objective_vnd
        Transport cost − avoided disposal fees + fixed costs of the used links (VND/year),
        computed from the returned flows.
    best_bound_vnd
        No answer can be cheaper than this: the larger of SCIP's dual bound and the LP
        relaxation solved for the warm start (SCIP may stop before its own root LP).
    gap
        Relative gap between ``objective_vnd`` and ``best_bound_vnd`` (SCIP's definition).
    drop_reason
        Per input arc, why it was removed before solving (``""`` if kept).
    """

    flow: np.ndarray
    used: np.ndarray
    status: str
    objective_vnd: float
    best_bound_vnd: float
    gap: float
    wall_time_s: float
    build_time_s: float
    n_arcs_model: int
    n_binaries: int
    n_arcs_dropped: int
    drop_reasons: dict[str, int]
    drop_reason: np.ndarray
    diverted_t: float
    solver: str = "SCIP"

    @property
    def optimal(self) -> bool:
        return self.status == "OPTIMAL"

    @property
    def has_solution(self) -> bool:
        return self.status in ("OPTIMAL", "FEASIBLE")


def min_lot_units(arcs: pd.DataFrame, min_lot_t: float) -> np.ndarray:
    """Minimum lot per arc in supply units from tonnes; utilities (no mass) get none."""
    mass = arcs.mass_t_per_unit.to_numpy(dtype=float)
    return np.divide(min_lot_t, mass, out=np.zeros(len(mass)), where=mass > 0)


def scip_gap(primal: float, dual: float) -> float:
    """SCIP's gap: ``|primal − dual| / min(|primal|, |dual|)``; 0 if equal, inf across zero."""
    if not (np.isfinite(primal) and np.isfinite(dual)):
        return float("inf")
    if abs(primal - dual) <= 1e-9 * max(1.0, abs(primal)):
        return 0.0
    if primal * dual <= 0:
        return float("inf")
    return abs(primal - dual) / min(abs(primal), abs(dual))


def _arc_arrays(arcs: pd.DataFrame, supply_qty: np.ndarray, demand_qty: np.ndarray):
    """Supply/demand rows, yields, per-arc capacity ``U_a`` and VND per unit."""
    sup = arcs.supply.to_numpy(dtype=np.int64)
    dem = arcs.demand.to_numpy(dtype=np.int64)
    yld = arcs["yield"].to_numpy(dtype=float)
    if np.any(yld <= 0):
        raise ValueError("every arc needs a positive yield")
    cap = np.minimum(np.asarray(supply_qty, dtype=float)[sup], np.asarray(demand_qty, dtype=float)[dem] / yld)
    cost = arcs.transport_cost_per_unit.to_numpy(dtype=float) - arcs.disposal_fee_per_unit.to_numpy(dtype=float)
    return sup, dem, yld, cap, cost


def _per_arc(value: float | np.ndarray, n: int, name: str) -> np.ndarray:
    out = np.broadcast_to(np.asarray(value, dtype=float), (n,)).copy()
    if np.any(out < 0) or not np.all(np.isfinite(out)):
        raise ValueError(f"{name} must be finite and ≥ 0")
    return out


def _add_rows(solver: pywraplp.Solver, cols: list, row_of_arc: np.ndarray, coef: np.ndarray,
              rhs: np.ndarray, extra: list | None = None) -> None:
    """``Σ_{a: row_of_arc[a]=r} coef_a·col_a (− extra_r) ≤ rhs_r`` for each row ``r`` (rows < 0 skipped).

    ``extra`` is ``[(var, coefficient)]`` per row (e.g. ``−q·z_s`` for a site's rows).
    """
    inf = solver.infinity()
    rows = [solver.RowConstraint(-inf, float(b), "") for b in rhs]
    for k in np.flatnonzero(row_of_arc >= 0):
        rows[row_of_arc[k]].SetCoefficient(cols[k], float(coef[k]))
    if extra is not None:
        for row, (var, c) in zip(rows, extra, strict=True):
            row.SetCoefficient(var, float(c))


def _needed_rows(keys: np.ndarray, cap: np.ndarray, weight: np.ndarray, limit: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Row index per arc for the groups whose arcs could exceed ``limit`` (others are redundant).

    Returns ``(row_of_arc, group_keys)``; ``row_of_arc`` is −1 for arcs in redundant groups.
    """
    groups, pos = np.unique(keys, return_inverse=True)
    most = np.bincount(pos, weights=weight * cap, minlength=len(groups))
    needed = most > limit[groups] * (1 + 1e-12)
    row_id = np.full(len(groups), -1, dtype=np.int64)
    row_id[needed] = np.arange(int(needed.sum()))
    return row_id[pos], groups[needed]


@dataclass
class _Partners:
    """Unordered firm pairs of the arcs, and the pairs touching each firm that could exceed the limit."""

    pair_of_arc: np.ndarray
    pair_lo: np.ndarray  # firm code of each pair's ends (equal for a pair within one firm)
    pair_hi: np.ndarray
    pair_sizes: np.ndarray  # arcs per pair
    firm_rows: list[np.ndarray]  # pair ids per firm that needs a constraint
    n_firms: int

    @property
    def n_pair_binaries(self) -> int:
        """Pairs needing their own binary (several arcs) — only if some constraint is written."""
        return int(np.sum(self.pair_sizes > 1)) if self.firm_rows else 0


def _partner_structure(firm_s: np.ndarray, firm_d: np.ndarray, limit: int) -> _Partners:
    codes, _ = pd.factorize(np.concatenate([firm_s, firm_d]), use_na_sentinel=False)
    cs, cd = codes[: len(firm_s)], codes[len(firm_s):]
    lo, hi = np.minimum(cs, cd), np.maximum(cs, cd)
    n_firms = max(int(codes.max(initial=-1)) + 1, 1)
    pair_of_arc, pair_keys = pd.factorize(lo.astype(np.int64) * n_firms + hi, sort=True)
    pair_keys = np.asarray(pair_keys, dtype=np.int64)
    p_lo, p_hi = pair_keys // n_firms, pair_keys % n_firms
    # incidence firm → pair (a pair within one firm touches it once)
    two = p_hi != p_lo
    inc_firm = np.concatenate([p_lo, p_hi[two]])
    inc_pair = np.concatenate([np.arange(len(pair_keys)), np.flatnonzero(two)])
    order = np.argsort(inc_firm, kind="stable")
    inc_firm, inc_pair = inc_firm[order], inc_pair[order]
    _, start, count = np.unique(inc_firm, return_index=True, return_counts=True)
    over = count > limit
    firm_rows = [inc_pair[s: s + c] for s, c in zip(start[over], count[over], strict=True)]
    return _Partners(np.asarray(pair_of_arc, dtype=np.int64), p_lo, p_hi,
                     np.bincount(pair_of_arc, minlength=len(pair_keys)), firm_rows, n_firms)


class _PartnerBook:
    """Partner slots left per firm while links are opened one by one (warm-start heuristics)."""

    def __init__(self, partners: _Partners | None, limit: int | None) -> None:
        self.active = partners is not None and limit is not None and bool(partners.firm_rows)
        if self.active:
            self.limit = int(limit)
            self.degree = [0] * partners.n_firms
            self.linked = [False] * len(partners.pair_sizes)
            self.pair_of_arc = partners.pair_of_arc.tolist()
            self.pair_lo, self.pair_hi = partners.pair_lo.tolist(), partners.pair_hi.tolist()

    def admit(self, k: int) -> bool:
        """Open arc ``k``'s firm pair if both firms have a slot (or it is open already)."""
        if not self.active:
            return True
        p = self.pair_of_arc[k]
        if self.linked[p]:
            return True
        lo, hi = self.pair_lo[p], self.pair_hi[p]
        if self.degree[lo] >= self.limit or self.degree[hi] >= self.limit:
            return False
        self.linked[p] = True
        self.degree[lo] += 1
        if hi != lo:
            self.degree[hi] += 1
        return True


def _greedy(order: np.ndarray, sup: list, dem: list, yld: list, cost: list, fixed: list, lot: list,
            s_qty: np.ndarray, d_qty: np.ndarray, partners: _Partners | None, limit: int | None) -> np.ndarray:
    """Open links in ``order``, each filled as far as it can go; skip links that break a constraint."""
    r_s, r_d = s_qty.astype(float).tolist(), d_qty.astype(float).tolist()
    x = [0.0] * len(sup)
    book = _PartnerBook(partners, limit)
    for k in order.tolist():
        amount = min(r_s[sup[k]], r_d[dem[k]] / yld[k])
        if amount <= 0 or amount < lot[k] or -cost[k] * amount <= fixed[k] or not book.admit(k):
            continue
        x[k] = amount
        r_s[sup[k]] -= amount
        r_d[dem[k]] -= amount * yld[k]
    return np.asarray(x)


def _flow_matrix(sup: np.ndarray, dem: np.ndarray, yld: np.ndarray, s_qty: np.ndarray, d_qty: np.ndarray):
    """Supply rows then demand rows (as :func:`matching.optimise.lp_matrix`) for arrays of arcs."""
    n = len(sup)
    sup_rows, sup_pos = np.unique(sup, return_inverse=True)
    dem_rows, dem_pos = np.unique(dem, return_inverse=True)
    cols = np.arange(n)
    matrix = sp.vstack([sp.csr_matrix((np.ones(n), (sup_pos, cols)), shape=(len(sup_rows), n)),
                        sp.csr_matrix((yld, (dem_pos, cols)), shape=(len(dem_rows), n))]).tocsr()
    return matrix, np.concatenate([s_qty[sup_rows], d_qty[dem_rows]])


def _glop(cost: np.ndarray, lb: np.ndarray, ub: np.ndarray, matrix: sp.csr_matrix, row_ub: np.ndarray
          ) -> np.ndarray | None:
    """``min cost·x  s.t.  A x ≤ row_ub, lb ≤ x ≤ ub`` with GLOP (vectorised build); None unless optimal."""
    model = mbh.ModelBuilderHelper()
    model.fill_model_from_sparse_data(lb, ub, cost, np.full(len(row_ub), -np.inf), row_ub, matrix)
    solver = mbh.ModelSolverHelper("glop")
    solver.solve(model)
    if solver.status() != mbh.SolveStatus.OPTIMAL:
        return None
    return np.clip(np.asarray(solver.variable_values(), dtype=float), lb, ub)


def _repair(x: np.ndarray, cap: np.ndarray, cost: np.ndarray, fixed: np.ndarray, lot: np.ndarray,
            matrix: sp.csr_matrix, row_ub: np.ndarray, partners: _Partners | None, limit: int | None,
            rounds: int = 12) -> np.ndarray | None:
    """Make the support of a flow feasible for the link constraints and re-optimise its flows.

    Links are kept in order of net value (saving − fixed cost) within the partner limit; then
    repeatedly: LP over the kept links, drop links below the minimum lot, empty, or saving less
    than their fixed cost (dropping those never makes the answer worse), until nothing changes.
    """
    support = np.flatnonzero(x > _FLOW_EPS)
    order = support[np.argsort(-(x[support] * -cost[support] - fixed[support]), kind="stable")]
    book = _PartnerBook(partners, limit)
    on = np.zeros(len(x), dtype=bool)
    on[[k for k in order.tolist() if book.admit(k)]] = True
    zeros = np.zeros(len(x))
    for _ in range(rounds):
        if not on.any():
            return zeros
        flow = _glop(cost, zeros, np.where(on, cap, 0.0), matrix, row_ub)
        if flow is None:
            return None
        drop = on & ((flow <= _FLOW_EPS) | (flow < lot * (1 - 1e-9)) | (flow * -cost <= fixed))
        if not drop.any():
            flow[~on] = 0.0
            return flow
        on &= ~drop
    return None


def _warm_start(sup: np.ndarray, dem: np.ndarray, yld: np.ndarray, cap: np.ndarray, cost: np.ndarray,
                fixed: np.ndarray, lot: np.ndarray, s_qty: np.ndarray, d_qty: np.ndarray,
                partners: _Partners | None, limit: int | None, slope_rounds: int = 12) -> tuple[np.ndarray, float]:
    """A feasible answer to hand SCIP as its first incumbent, and a lower bound.

    SCIP's own heuristics find poor incumbents on these models when partner limits or lots
    bind (and its root LP alone can take most of the time limit), so candidates are built
    with cheap vectorised GLOP solves and the best feasible one is handed over:

    * dynamic slope scaling (Kim & Pardalos, 1999): solve the LP with per-unit cost
      ``c_a + f_a/x_a`` (``f_a/U_a`` at first — the LP relaxation), update ``x_a`` and
      repeat; each iterate's links are made feasible by :func:`_repair`;
    * the plain LP's links (no fixed costs), repaired the same way;
    * greedy link opening in three orders (relaxation value, saving per unit, saving per
      link), feasible by construction, then flows re-optimised with the links fixed.

    The first slope-scaling LP is a relaxation of the MILP (binaries continuous, partner
    rows left out), so its optimum is a valid lower bound; ``-inf`` if it was not solved.
    """
    matrix, row_ub = _flow_matrix(sup, dem, yld, s_qty, d_qty)
    zeros = np.zeros(len(sup))
    candidates: list[np.ndarray] = []

    def objective(x: np.ndarray) -> float:
        return float(cost @ x + fixed[x > _FLOW_EPS].sum())

    # slope scaling; the first iterate is the LP relaxation
    slope = cost + fixed / cap
    iterates, relaxed, previous = [], None, None
    for _ in range(slope_rounds):
        x = _glop(slope, zeros, cap, matrix, row_ub)
        if x is None:
            break
        relaxed = x if relaxed is None else relaxed
        support = x > _FLOW_EPS
        iterates.append(x)
        if previous is not None and np.array_equal(support, previous):
            break
        slope = np.where(support, cost + fixed / np.maximum(x, _FLOW_EPS), slope)
        previous = support
    plain = _glop(cost, zeros, cap, matrix, row_ub)
    if plain is not None:
        iterates.append(plain)
    # repair the most promising iterates (by their objective before repair)
    for x in sorted(iterates, key=objective)[:4]:
        fixed_x = _repair(x, cap, cost, fixed, lot, matrix, row_ub, partners, limit)
        if fixed_x is not None:
            candidates.append(fixed_x)

    orders = [np.argsort(cost, kind="stable"), np.argsort(cost * cap + fixed, kind="stable")]
    if relaxed is not None:
        orders.insert(0, np.lexsort((cost, -(relaxed * -(cost + fixed / cap)))))
    args = (sup.tolist(), dem.tolist(), yld.tolist(), cost.tolist(), fixed.tolist(), lot.tolist(), s_qty, d_qty,
            partners, limit)
    greedy = min((_greedy(order, *args) for order in orders), key=objective)
    on = greedy > 0
    if on.any():
        polished = _glop(cost, np.where(on, lot, 0.0), np.where(on, cap, 0.0), matrix, row_ub)
        if polished is not None:
            polished[polished < _FLOW_EPS] = 0.0
            candidates.append(polished)
    candidates.append(greedy)
    best = min(candidates, key=objective)
    bound = float((cost + fixed / cap) @ relaxed) if relaxed is not None else -np.inf
    return (best if objective(best) < 0 else zeros), bound


def _extract(solver: pywraplp.Solver, status_code: int) -> tuple[str, float]:
    status = _STATUS.get(status_code, f"STATUS_{status_code}")
    bound = solver.Objective().BestBound() if status in ("OPTIMAL", "FEASIBLE") else float("nan")
    return status, bound


def solve_milp(arcs: pd.DataFrame, supply_qty: np.ndarray, demand_qty: np.ndarray,
               firm_of_stream: np.ndarray | None = None, options: MilpOptions | None = None,
               material_class_of_stream: np.ndarray | None = None, relax: bool = False) -> MilpSolution:
    """Minimise transport cost − avoided disposal fees + fixed link costs (VND/year) with SCIP.

    Parameters
    ----------
    arcs
        Candidate arcs (columns ``supply``, ``demand``, ``yield``, ``distance_km``,
        ``mass_t_per_unit``, ``transport_cost_per_unit``, ``disposal_fee_per_unit``).
    supply_qty, demand_qty
        Per stream row, supply / demand units per year (0 where not a supply / demand).
    firm_of_stream
        Firm id per stream row; needed for ``max_partners_per_firm``.
    options
        Link constraints and solver limits (:class:`MilpOptions`).
    material_class_of_stream
        Material class per stream row; needed for ``distance_cap_km_by_class``.
    relax
        Solve the LP relaxation instead (binaries continuous in ``[0, 1]``, GLOP): a lower
        bound on the MILP objective, for benchmarks. Flows are then those of the relaxation.

    Returns
    -------
    MilpSolution

    Raises
    ------
    MilpTooLarge
        More than ``options.max_arcs`` arcs remain after exact pruning.
    """
    opts = options or MilpOptions()
    t0 = time.perf_counter()
    n = len(arcs)
    sup, dem, yld, cap, cost = _arc_arrays(arcs, supply_qty, demand_qty)
    fixed = _per_arc(opts.fixed_cost_vnd_per_link, n, "fixed_cost_vnd_per_link")
    lot = _per_arc(opts.min_lot, n, "min_lot")
    mass = arcs.mass_t_per_unit.to_numpy(dtype=float)

    # --- exact pruning, first reason wins
    reason = np.full(n, "", dtype=object)
    if opts.distance_cap_km_by_class:
        if material_class_of_stream is None:
            raise ValueError("distance_cap_km_by_class needs material_class_of_stream")
        caps = pd.Series(opts.distance_cap_km_by_class, dtype=float)
        arc_cap = pd.Series(np.asarray(material_class_of_stream, dtype=object)[sup]).map(caps).to_numpy(dtype=float)
        reason[np.nan_to_num(arc_cap, nan=np.inf) < arcs.distance_km.to_numpy(dtype=float)] = DROP_DISTANCE_CAP
    keep = reason == ""
    reason[keep & ~(cap > 0)] = DROP_NO_CAPACITY
    keep = reason == ""
    reason[keep & (lot > cap)] = DROP_MIN_LOT
    keep = reason == ""
    reason[keep & (cost >= 0)] = DROP_NO_SAVING
    keep = reason == ""
    # the best an arc can do is save −cost·U_a; if that does not beat its fixed cost, y_a = 0 is optimal
    reason[keep & (cost * cap + fixed >= 0)] = DROP_FIXED_COST
    kept = np.flatnonzero(reason == "")
    dropped = pd.Series(reason[reason != ""]).value_counts().to_dict()

    limit = opts.max_partners_per_firm
    partners: _Partners | None = None
    if limit is not None:
        if firm_of_stream is None:
            raise ValueError("max_partners_per_firm needs firm_of_stream")
        firms = np.asarray(firm_of_stream, dtype=object)
        partners = _partner_structure(firms[sup[kept]], firms[dem[kept]], int(limit))
    n_bin = len(kept) + (partners.n_pair_binaries if partners else 0)
    if len(kept) > opts.max_arcs:
        raise MilpTooLarge(len(kept), n_bin, opts.max_arcs, n)

    flow = np.zeros(n)
    used = np.zeros(n, dtype=bool)
    if len(kept) == 0:
        elapsed = time.perf_counter() - t0
        return MilpSolution(flow, used, "OPTIMAL", 0.0, 0.0, 0.0, elapsed, elapsed, 0, 0,
                            n - len(kept), dropped, reason, 0.0, "none")

    solver = pywraplp.Solver.CreateSolver("GLOP" if relax else "SCIP")
    k_sup, k_dem, k_yld, k_cap, k_cost = sup[kept], dem[kept], yld[kept], cap[kept], cost[kept]
    k_fixed, k_lot = fixed[kept], lot[kept]
    xs = [solver.NumVar(0.0, float(u), "") for u in k_cap]
    ys = [solver.NumVar(0.0, 1.0, "") if relax else solver.BoolVar("") for _ in range(len(kept))]
    objective = solver.Objective()
    inf = solver.infinity()
    for k in range(len(kept)):
        objective.SetCoefficient(xs[k], float(k_cost[k]))
        if k_fixed[k]:
            objective.SetCoefficient(ys[k], float(k_fixed[k]))
        # x_a ≤ U_a·y_a (U_a is tight: min of supply and demand/yield)
        row = solver.RowConstraint(-inf, 0.0, "")
        row.SetCoefficient(xs[k], 1.0)
        row.SetCoefficient(ys[k], -float(k_cap[k]))
        if k_lot[k] > 0:
            row = solver.RowConstraint(0.0, inf, "")
            row.SetCoefficient(xs[k], 1.0)
            row.SetCoefficient(ys[k], -float(k_lot[k]))
    s_qty, d_qty = np.asarray(supply_qty, dtype=float), np.asarray(demand_qty, dtype=float)
    row_of_arc, rows = _needed_rows(k_sup, k_cap, np.ones(len(kept)), s_qty)
    _add_rows(solver, xs, row_of_arc, np.ones(len(kept)), s_qty[rows])
    row_of_arc, rows = _needed_rows(k_dem, k_cap, k_yld, d_qty)
    _add_rows(solver, xs, row_of_arc, k_yld, d_qty[rows])
    pair_var: list = []
    lp_bound = -np.inf
    if partners is not None and partners.firm_rows:
        # partner indicator per firm pair: the arc's own y when the pair has one arc, else w_p ≥ y_a
        pair_var = [None] * len(partners.pair_sizes)
        for p in np.flatnonzero(partners.pair_sizes > 1):
            pair_var[p] = solver.NumVar(0.0, 1.0, "") if relax else solver.BoolVar("")
        for k, p in enumerate(partners.pair_of_arc.tolist()):
            if partners.pair_sizes[p] == 1:
                pair_var[p] = ys[k]
            else:
                row = solver.RowConstraint(-inf, 0.0, "")
                row.SetCoefficient(ys[k], 1.0)
                row.SetCoefficient(pair_var[p], -1.0)
        for pairs in partners.firm_rows:
            row = solver.RowConstraint(-inf, float(limit), "")
            for p in pairs.tolist():
                row.SetCoefficient(pair_var[p], 1.0)
    if not relax:
        x0, lp_bound = _warm_start(k_sup, k_dem, k_yld, k_cap, k_cost, k_fixed, k_lot, s_qty, d_qty, partners, limit)
        on0 = x0 > 0
        hint_vars, hint_vals = xs + ys, x0.tolist() + on0.astype(float).tolist()
        if pair_var:
            pair_on = np.bincount(partners.pair_of_arc, weights=on0, minlength=len(pair_var)) > 0
            extra = np.flatnonzero(partners.pair_sizes > 1)
            hint_vars += [pair_var[p] for p in extra]
            hint_vals += pair_on[extra].astype(float).tolist()
        solver.SetHint(hint_vars, hint_vals)
    objective.SetMinimization()
    build_s = time.perf_counter() - t0

    params = pywraplp.MPSolverParameters()
    if not relax:
        # the limit covers the whole call: SCIP gets what the build and warm start left
        left = max(opts.time_limit_s - (time.perf_counter() - t0), min(1.0, opts.time_limit_s))
        solver.SetTimeLimit(int(max(left, 0.001) * 1000))
        solver.SetSolverSpecificParametersAsString(SCIP_PARAMETERS)
        params.SetDoubleParam(params.RELATIVE_MIP_GAP, float(opts.relative_gap))
    status, bound = _extract(solver, solver.Solve(params))
    if status not in ("OPTIMAL", "FEASIBLE"):
        return MilpSolution(flow, used, status, float("nan"), float("nan"), float("inf"), time.perf_counter() - t0,
                            build_s, len(kept), n_bin, n - len(kept), dropped, reason, 0.0,
                            "GLOP" if relax else "SCIP")
    x = np.clip(np.array([v.solution_value() for v in xs]), 0.0, k_cap)
    y = np.array([v.solution_value() for v in ys])
    if relax:
        on = x > _FLOW_EPS
        fixed_paid = float(k_fixed @ y)
        bound = float(k_cost @ x) + fixed_paid
    else:
        # an off link carries nothing (SCIP's integrality tolerance could leave a trace)
        on = (y > 0.5) & (x > _FLOW_EPS)
        x[~on] = 0.0
        fixed_paid = float(k_fixed[on].sum())
        # SCIP may stop before its root LP is solved; the warm start's relaxation is a bound too
        bound = max(bound, lp_bound)
    flow[kept] = x
    used[kept] = on
    obj = float(k_cost @ x) + fixed_paid
    bound = min(float(bound), obj)  # solver tolerances could put a bound a hair above the incumbent
    return MilpSolution(flow, used, status, obj, bound, scip_gap(obj, bound),
                        time.perf_counter() - t0, build_s, len(kept), n_bin, n - len(kept), dropped, reason,
                        float(mass @ flow), "GLOP" if relax else "SCIP")


# ----------------------------------------------------------------------------------- siting


@dataclass
class SitingResult:
    """Result of :func:`site_facilities`.

    Attributes
    ----------
    chosen_sites
        Sites opened, in the order of ``sites``.
    sites
        One row per candidate site: ``site``, ``open``, ``received`` (Σ yield·x into the
        site, its own unit — what the capacity limits), ``tonnes_in`` (supply tonnes shipped
        to it), ``capacity``, ``fixed_cost_vnd``, ``links`` (arcs with flow into it).
    flow
        Supply units per year per input arc.
    diverted_t, diverted_t_no_site
        Supply tonnes diverted from disposal, with the chosen sites and with none open.
    gain_t
        ``diverted_t − diverted_t_no_site``.
    objective_vnd, objective_vnd_no_site
        Transport − avoided fees + site fixed costs (VND/year), with the chosen sites / none.
    """

    chosen_sites: list[str]
    sites: pd.DataFrame
    flow: np.ndarray
    diverted_t: float
    diverted_t_no_site: float
    gain_t: float
    objective_vnd: float
    objective_vnd_no_site: float
    status: str
    best_bound_vnd: float
    gap: float
    wall_time_s: float
    n_binaries: int
    n_arcs_model: int
    baseline_status: str = "OPTIMAL"

    @property
    def gain_vnd(self) -> float:
        """VND/year saved by opening the chosen sites (positive = worth it)."""
        return self.objective_vnd_no_site - self.objective_vnd

    @property
    def optimal(self) -> bool:
        return self.status == "OPTIMAL"


def _site_lookup(value: float | Mapping[str, float] | None, sites: list[str], default: float) -> np.ndarray:
    if value is None:
        return np.full(len(sites), default)
    if isinstance(value, Mapping):
        return np.array([float(value.get(s, default)) for s in sites])
    return np.full(len(sites), float(value))


@dataclass
class _SiteSolve:
    status: str
    flow: np.ndarray
    z: np.ndarray
    objective: float
    bound: float
    n_binaries: int
    n_arcs: int


def _solve_sites(arcs: pd.DataFrame, supply_qty: np.ndarray, demand_qty: np.ndarray, site_idx: np.ndarray,
                 capacity: np.ndarray, fixed: np.ndarray, max_sites: int, lower: np.ndarray, upper: np.ndarray,
                 time_limit_s: float, gap: float, max_arcs: int) -> _SiteSolve:
    """One SCIP solve of the siting model with ``lower ≤ z ≤ upper``.

    ``site_idx`` gives, per stream row, the site's position in ``capacity`` (−1 = no site).
    """
    n, n_sites = len(arcs), len(capacity)
    sup, dem, yld, cap, cost = _arc_arrays(arcs, supply_qty, demand_qty)
    arc_site = site_idx[dem]
    closed = upper[np.maximum(arc_site, 0)] < 0.5
    # exact: a money-losing arc is never used; arcs into sites that are forced closed carry nothing
    kept = np.flatnonzero((cap > 0) & (cost < 0) & ~((arc_site >= 0) & closed))
    if len(kept) > max_arcs:
        raise MilpTooLarge(len(kept), n_sites, max_arcs, n)
    solver = pywraplp.Solver.CreateSolver("SCIP")
    inf = solver.infinity()
    k_sup, k_dem, k_yld, k_cap, k_cost, k_site = sup[kept], dem[kept], yld[kept], cap[kept], cost[kept], arc_site[kept]
    xs = [solver.NumVar(0.0, float(u), "") for u in k_cap]
    zs = [solver.IntVar(float(lo), float(hi), "") for lo, hi in zip(lower, upper, strict=True)]
    objective = solver.Objective()
    for k in range(len(kept)):
        objective.SetCoefficient(xs[k], float(k_cost[k]))
        if k_site[k] >= 0:
            # disaggregated x_a ≤ U_a·z_s: a much tighter relaxation than the aggregated rows alone
            row = solver.RowConstraint(-inf, 0.0, "")
            row.SetCoefficient(xs[k], 1.0)
            row.SetCoefficient(zs[k_site[k]], -float(k_cap[k]))
    for s in range(n_sites):
        objective.SetCoefficient(zs[s], float(fixed[s]))
    s_qty, d_qty = np.asarray(supply_qty, dtype=float), np.asarray(demand_qty, dtype=float)
    row_of_arc, rows = _needed_rows(k_sup, k_cap, np.ones(len(kept)), s_qty)
    _add_rows(solver, xs, row_of_arc, np.ones(len(kept)), s_qty[rows])
    # existing demands: Σ yield·x ≤ q; a site's demand rows: Σ yield·x ≤ q·z_s (always written)
    plain = k_site < 0
    row_of_arc, rows = _needed_rows(k_dem[plain], k_cap[plain], k_yld[plain], d_qty)
    full = np.full(len(kept), -1, dtype=np.int64)
    full[plain] = row_of_arc
    _add_rows(solver, xs, full, k_yld, d_qty[rows])
    at_site = ~plain
    site_rows, pos = np.unique(k_dem[at_site], return_inverse=True)
    full = np.full(len(kept), -1, dtype=np.int64)
    full[at_site] = pos
    _add_rows(solver, xs, full, k_yld, np.zeros(len(site_rows)),
              [(zs[site_idx[r]], -d_qty[r]) for r in site_rows])
    finite = np.isfinite(capacity)
    row_id = np.full(n_sites, -1, dtype=np.int64)
    row_id[finite] = np.arange(int(finite.sum()))
    full = np.full(len(kept), -1, dtype=np.int64)
    full[at_site] = row_id[k_site[at_site]]
    _add_rows(solver, xs, full, k_yld, np.zeros(int(finite.sum())),
              [(zs[s], -capacity[s]) for s in np.flatnonzero(finite)])
    row = solver.RowConstraint(-inf, float(max_sites), "")
    for z in zs:
        row.SetCoefficient(z, 1.0)
    objective.SetMinimization()
    solver.SetTimeLimit(int(max(time_limit_s, 0.001) * 1000))
    params = pywraplp.MPSolverParameters()
    params.SetDoubleParam(params.RELATIVE_MIP_GAP, float(gap))
    status, bound = _extract(solver, solver.Solve(params))
    flow = np.zeros(n)
    if status not in ("OPTIMAL", "FEASIBLE"):
        return _SiteSolve(status, flow, np.zeros(n_sites, dtype=bool), float("nan"), float("nan"), n_sites, len(kept))
    z = np.array([v.solution_value() for v in zs]) > 0.5
    x = np.clip(np.array([v.solution_value() for v in xs]), 0.0, k_cap)
    x[(k_site >= 0) & ~z[np.maximum(k_site, 0)]] = 0.0
    x[x < _FLOW_EPS] = 0.0
    flow[kept] = x
    return _SiteSolve(status, flow, z, float(k_cost @ x + fixed @ z), float(bound), n_sites, len(kept))


def _gap_of(result: _SiteSolve) -> float:
    return scip_gap(result.objective, result.bound) if result.status in ("OPTIMAL", "FEASIBLE") else float("inf")


def _site_inputs(site_of_demand: np.ndarray, site_capacity, site_fixed_cost_vnd):
    labels = [None if s is None or pd.isna(s) or str(s) == "" else str(s)
              for s in np.asarray(site_of_demand, dtype=object).tolist()]
    sites = sorted({s for s in labels if s is not None})
    index = {s: k for k, s in enumerate(sites)}
    site_idx = np.array([-1 if s is None else index[s] for s in labels], dtype=np.int64)
    capacity = _site_lookup(site_capacity, sites, np.inf)
    fixed = _site_lookup(site_fixed_cost_vnd, sites, 0.0)
    if np.any(capacity < 0) or np.any(fixed < 0) or not np.all(np.isfinite(fixed)):
        raise ValueError("site capacities and fixed costs must be ≥ 0")
    return sites, site_idx, capacity, fixed


def _site_table(arcs: pd.DataFrame, flow: np.ndarray, sites: list[str], site_idx: np.ndarray,
                capacity: np.ndarray, fixed: np.ndarray, z: np.ndarray) -> pd.DataFrame:
    arc_site = site_idx[arcs.demand.to_numpy(dtype=np.int64)]
    into = arc_site >= 0
    received = np.bincount(arc_site[into], weights=(arcs["yield"].to_numpy(dtype=float) * flow)[into],
                           minlength=len(sites))
    tonnes = np.bincount(arc_site[into], weights=(arcs.mass_t_per_unit.to_numpy(dtype=float) * flow)[into],
                         minlength=len(sites))
    links = np.bincount(arc_site[into], weights=(flow > 0)[into].astype(float), minlength=len(sites))
    return pd.DataFrame({"site": sites, "open": z, "received": received, "tonnes_in": tonnes,
                         "capacity": capacity, "fixed_cost_vnd": fixed, "links": links.astype(int)})


def site_facilities(arcs: pd.DataFrame, supply_qty: np.ndarray, demand_qty: np.ndarray, site_of_demand: np.ndarray,
                    site_capacity: float | Mapping[str, float] | None, site_fixed_cost_vnd: float | Mapping[str, float],
                    max_sites: int = 1, *, force_open: Iterable[str] = (), force_closed: Iterable[str] = (),
                    time_limit_s: float = 30.0, relative_gap: float = 1e-4,
                    max_arcs: int = 20_000) -> SitingResult:
    """Choose up to ``max_sites`` facility sites that minimise transport − avoided fees + site fixed costs.

    Parameters
    ----------
    arcs, supply_qty, demand_qty
        As for :func:`solve_milp`; the candidate sites' intake streams are demand rows
        among them, competing with the existing demands for the same supplies.
    site_of_demand
        Per stream row, the candidate site id of that demand row, or ``None``.
    site_capacity
        Per site (mapping, or one value for all): maximum received ``Σ yield·x`` per year in
        the site's unit; ``None`` or a missing site = only its demand rows' quantities bind.
    site_fixed_cost_vnd
        Annualised fixed cost of opening each site (VND/year), mapping or one value.
    max_sites
        At most this many sites open.
    force_open, force_closed
        Sites fixed open / closed (used by :func:`site_ranking`).

    Returns
    -------
    SitingResult
        With the same model solved once more with every site closed, for the gain.
    """
    t0 = time.perf_counter()
    sites, site_idx, capacity, fixed = _site_inputs(site_of_demand, site_capacity, site_fixed_cost_vnd)
    if len(site_idx) < int(np.max(arcs.demand.to_numpy(), initial=-1)) + 1:
        raise ValueError("site_of_demand must have one entry per stream row")
    lower, upper = np.zeros(len(sites)), np.ones(len(sites))
    index = {s: k for k, s in enumerate(sites)}
    for s in force_open:
        lower[index[s]] = 1.0
    for s in force_closed:
        upper[index[s]] = 0.0
    if np.any(lower > upper):
        raise ValueError("a site cannot be forced both open and closed")
    if lower.sum() > max_sites:
        raise ValueError("more sites forced open than max_sites")
    mass = arcs.mass_t_per_unit.to_numpy(dtype=float)
    best = _solve_sites(arcs, supply_qty, demand_qty, site_idx, capacity, fixed, max_sites, lower, upper,
                        time_limit_s, relative_gap, max_arcs)
    base = _solve_sites(arcs, supply_qty, demand_qty, site_idx, capacity, fixed, 0, np.zeros(len(sites)),
                        np.zeros(len(sites)), time_limit_s, relative_gap, max_arcs)
    table = _site_table(arcs, best.flow, sites, site_idx, capacity, fixed, best.z)
    diverted, diverted0 = float(mass @ best.flow), float(mass @ base.flow)
    return SitingResult(
        chosen_sites=[s for s, on in zip(sites, best.z, strict=True) if on], sites=table, flow=best.flow,
        diverted_t=diverted, diverted_t_no_site=diverted0, gain_t=diverted - diverted0,
        objective_vnd=best.objective, objective_vnd_no_site=base.objective, status=best.status,
        best_bound_vnd=best.bound, gap=_gap_of(best), wall_time_s=time.perf_counter() - t0,
        n_binaries=best.n_binaries, n_arcs_model=best.n_arcs, baseline_status=base.status)


def site_ranking(arcs: pd.DataFrame, supply_qty: np.ndarray, demand_qty: np.ndarray, site_of_demand: np.ndarray,
                 site_capacity: float | Mapping[str, float] | None, site_fixed_cost_vnd: float | Mapping[str, float],
                 *, time_limit_s: float = 30.0, max_arcs: int = 20_000) -> pd.DataFrame:
    """Value of each candidate site opened alone (exact: with the sites fixed the model is an LP).

    Returns
    -------
    pandas.DataFrame
        One row per site, best first: ``rank``, ``site``, ``net_value_vnd`` (VND/year saved
        versus no site, after the site's fixed cost; negative = not worth opening),
        ``objective_vnd``, ``gain_t`` (extra supply tonnes diverted), ``received``,
        ``tonnes_in``, ``fixed_cost_vnd``, ``status``.
    """
    sites, site_idx, capacity, fixed = _site_inputs(site_of_demand, site_capacity, site_fixed_cost_vnd)
    mass = arcs.mass_t_per_unit.to_numpy(dtype=float)
    none = np.zeros(len(sites))
    base = _solve_sites(arcs, supply_qty, demand_qty, site_idx, capacity, fixed, 0, none, none,
                        time_limit_s, 0.0, max_arcs)
    rows = []
    for k, site in enumerate(sites):
        only = np.zeros(len(sites))
        only[k] = 1.0
        res = _solve_sites(arcs, supply_qty, demand_qty, site_idx, capacity, fixed, 1, only, only,
                           time_limit_s, 0.0, max_arcs)
        info = _site_table(arcs, res.flow, sites, site_idx, capacity, fixed, res.z).iloc[k]
        rows.append({"site": site, "net_value_vnd": base.objective - res.objective, "objective_vnd": res.objective,
                     "gain_t": float(mass @ res.flow) - float(mass @ base.flow), "received": info.received,
                     "tonnes_in": info.tonnes_in, "fixed_cost_vnd": fixed[k], "status": res.status})
    table = pd.DataFrame(rows, columns=["site", "net_value_vnd", "objective_vnd", "gain_t", "received", "tonnes_in",
                                        "fixed_cost_vnd", "status"])
    table = table.sort_values(["net_value_vnd", "site"], ascending=[False, True], kind="stable").reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table
