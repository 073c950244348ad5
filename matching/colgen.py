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

What makes it fast: each rule-graph component keeps one GLOP solver that re-solves from
its previous basis (:class:`matching.optimise.IncrementalLP`); pricing filters a pool of
arcs already generated and only queries the trees beyond the radius a supply's pool is
complete to (:class:`_ArcPool`); large components run as tasks of their own in parallel
threads while the small ones share lock-step rounds.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from matching.candidates import (
    REASON_TOO_FAR,
    CandidateContext,
    Candidates,
    arc_table,
    build_candidates,
    cost_columns,
    feasible_arcs,
)
from matching.optimise import (
    IncrementalLP,
    Solution,
    _cost_vector,
    _solve_sparse,
    arc_weights,
    column_upper,
    lp_matrix,
    pair_keys,
    return_freed_memory,
)
from symbiosis.catalogue import Catalogue
from symbiosis.network import Network
from symbiosis.settings import solver_threads


#: A component of at least this many streams is solved as its own task; the many small ones
#: advance together in lock-step (one pricing query per round serves them all, where solving each
#: on its own would repeat the per-round Python overhead dozens of times). A task's LPs live until
#: the task ends, so large components in one lock-step group would hold memory together (national
#: scale: 2.1 GB when its 28 smaller components, up to 18 000 streams each, shared one task).
#: Counted in streams, not start arcs, so that the split does not depend on the start set's size.
OWN_TASK_STREAMS = 2_000


@functools.cache
def _lp_pool() -> ThreadPoolExecutor:
    """Threads that solve the LPs of one lock-step round side by side.

    Tasks already run in parallel, but the task of many small components is the longest (its
    components' LPs one after another, then one pricing query); solving them side by side lets it use
    the core the large components' task leaves idle once it is done. Measured at province scale:
    column generation 1.7 → 1.6 s.
    """
    return ThreadPoolExecutor(solver_threads(), thread_name_prefix="lp")


#: Each pricing round adds to a component only the ``ADD_PER_ROW`` most improving new arcs of every
#: supply and of every demand (an arc stays if it is among the best of either end). Adding every
#: improving arc made the LPs large and their restarts slow: at national scale the first round from
#: a one-partner start found 916 000 improving arcs for the largest LP (72 000 rows); with 2 per row
#: its column generation took 23 s instead of 39 s, with 1 per row 26 s (more rounds), 3 or 4 per
#: row 28 s. Exactness is untouched: arcs left out are priced again next round, and the loop ends
#: only when no arc improves.
ADD_PER_ROW = 2

#: In its first ``DROP_ROUNDS`` rounds, an LP of at least ``DROP_MIN_COLUMNS`` columns sheds the
#: columns at zero whose reduced cost is worse than ``DROP_ABOVE_KM`` km of haul per tonne (they can
#: come back: pricing sees them again). GLOP keeps its basis across the deletion, and the smaller LP
#: restarts faster: the largest national LP ends with 178 000 columns instead of 375 000, its column
#: generation 21.6 s instead of 23.0 s (paired runs); thresholds 5 and 20 km gave 25.1 and 24.3 s.
#: After those rounds the LP only grows, so column generation converges as usual.
DROP_ABOVE_KM = 10.0
DROP_MIN_COLUMNS = 100_000
DROP_ROUNDS = 4

#: A component of at least this many streams is first solved as two halves side by side (see
#: :meth:`_Runner.split_start`): the largest national component (72 000 streams) is ~20 s of
#: single-threaded work, while the other core idles for the last third of column generation;
#: split, both cores stay busy to the end: national column generation 25.0 → 21.5 s (same hour).
SPLIT_STREAMS = 40_000
#: The halves stop after this many rounds: their last rounds add few columns, which the whole LP's
#: pricing finds as well (national column generation 22.1 s when the halves run to the end,
#: 21.0–21.2 s after 4 rounds, 21.2–21.5 s after 2 or 3).
SPLIT_ROUNDS = 4


def _rank_in_group(group: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Rank of each element by ``score`` (ascending, from 0; ties by position) among the elements of its
    ``group``. One integer key (group, then rank of score) sorts ~2× faster than ``np.lexsort``."""
    by_score = np.argsort(score, kind="stable")
    score_rank = np.empty(len(score), dtype=np.int64)
    score_rank[by_score] = np.arange(len(score))
    order = np.argsort(group.astype(np.int64) * len(score) + score_rank)  # distinct keys: any sort is stable
    sorted_group = group[order]
    starts = np.flatnonzero(np.r_[True, sorted_group[1:] != sorted_group[:-1]])
    rank = np.empty(len(group), dtype=np.int64)
    rank[order] = np.arange(len(group)) - np.repeat(starts, np.diff(np.r_[starts, len(group)]))
    return rank


def best_per_row(supply: np.ndarray, demand: np.ndarray, score: np.ndarray, per_row: int) -> np.ndarray:
    """Mask of the arcs among the ``per_row`` lowest ``score`` of their supply or of their demand."""
    return (_rank_in_group(supply, score) < per_row) | (_rank_in_group(demand, score) < per_row)


def _tasks(parts: list[_Part]) -> list[list[_Part]]:
    """Large components one per task, the small ones in one task; largest task first.

    Only the LPs of running tasks are alive at once, which bounds memory at national scale.
    """
    own = [int(p.in_comp.sum()) >= OWN_TASK_STREAMS for p in parts]
    tasks = [[p] for p, alone in zip(parts, own, strict=True) if alone]
    small = [p for p, alone in zip(parts, own, strict=True) if not alone]
    if small:
        tasks.append(small)
    return sorted(tasks, key=lambda task: -sum(len(p.arcs) for p in task))


def default_k_nearest(n_streams: int) -> int:
    """Partners per stream in the starting set: 8 up to 50 000 streams, 1 beyond.

    Measured (docs/benchmarks.md): at province scale 8 is ~10 % faster than 4. At national scale
    (with :data:`ADD_PER_ROW` arcs per row and round) the largest LP grows from 200 000 columns with
    1 partner to 375 000, against 383 000 → 481 000 with 2 and 746 000 → 786 000 with 4; column
    generation took 25, 27 and 38 s, and the smaller LPs need less memory. Exactness does not
    depend on it.
    """
    return 8 if n_streams <= 50_000 else 1


@dataclass(frozen=True)
class ColumnGenerationStats:
    rounds: int
    arcs_start: int
    arcs_final: int


def _member(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """``np.isin`` for a sorted right-hand side (numpy's own re-sorts both sides: 10× slower here)."""
    pos = np.minimum(np.searchsorted(sorted_keys, keys), max(len(sorted_keys) - 1, 0))
    return (sorted_keys[pos] == keys) if len(sorted_keys) else np.zeros(len(keys), dtype=bool)


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
    is_out = streams.direction.to_numpy() == "output"
    # roots per distinct (role, material) — a few hundred, against ~15 000 streams in a province — taken in
    # order of first appearance, so components are numbered as the streams first meet them (integer codes:
    # factorising (role, material) tuples took 0.2 s for 200 000 streams)
    material_code, materials = pd.factorize(streams.material_id.to_numpy(dtype=object))
    pair_of_stream, pair_codes = pd.factorize(material_code * 2 + is_out)
    pairs = [("out" if code % 2 else "in", materials[code // 2]) for code in pair_codes]
    roots = [find(pair) if pair in parent else None for pair in pairs]
    codes = {root: k for k, root in enumerate(dict.fromkeys(root for root in roots if root is not None))}
    return np.array([codes.get(root, -1) for root in roots], dtype=np.int64)[pair_of_stream]


@dataclass
class _Part:
    """Column-generation state of one rule-graph component."""

    in_comp: np.ndarray  # stream rows of the component
    arcs: pd.DataFrame
    flow: np.ndarray | None = None
    status: str = "OPTIMAL"
    value: float = 0.0
    z1: float = 0.0  # stage-1 optimum (largest diversion), once known
    rounds: int = 0
    lp: IncrementalLP | None = None  # kept between rounds so each re-solve starts from the last basis
    solved_objective: tuple[np.ndarray, bool] | None = None  # cost vector and direction ``flow`` is optimal for
    cost_scale: float = 1.0  # largest |cost coefficient| of the last solve: scales the pricing tolerance


def solve_by_column_generation(network: Network, cat: Catalogue, objective: str, supply_qty: np.ndarray,
                               demand_qty: np.ndarray, is_utility: np.ndarray, ef_landfill: np.ndarray,
                               distances: pd.DataFrame | None = None, k_nearest: int | None = None,
                               max_rounds: int = 200) -> tuple[Candidates, Solution, ColumnGenerationStats]:
    """Optimal flows over the full candidate graph without building it (see module docstring).

    Components are independent LPs. Large ones are tasks of their own; the small ones advance
    together in lock-step rounds so that one pricing query serves all of them. Tasks run in
    parallel threads.
    """
    k_nearest = default_k_nearest(len(network.streams)) if k_nearest is None else k_nearest
    context = CandidateContext.build(network, cat, distances)
    structure, fingerprint = _fingerprints(network, context, objective, supply_qty, demand_qty, is_utility,
                                           ef_landfill, k_nearest)
    cached = _SOLVED.get(fingerprint)
    if cached is not None:  # nothing the optimum depends on has changed: refresh the cost columns only
        cand, sol, stats = cached
        return Candidates(_with_costs(cand.arcs, context), cand.excluded, cand.compatible_supplies), sol, stats
    with _WARM_LOCK:  # one caller at a time may continue a kept state
        warm = _WARM.pop(structure, None)
    if warm is not None:  # same firms, streams and rules; only limits or costs changed: continue from there
        tasks, excluded, compatible, n_start, old_limit = warm
        for task, run in tasks:
            run.rebind(network, context, ef_landfill)
            for p in task:
                p.arcs, p.rounds = _with_costs(p.arcs, context), 0
    else:
        start = build_candidates(network, cat, distances, k_nearest=k_nearest, context=context)
        component = material_components(cat, network.streams)
        start_comp = component[start.arcs.supply.to_numpy()] if len(start.arcs) else np.array([], dtype=np.int64)
        order = np.argsort(start_comp, kind="stable")  # each component's arcs together, in their order
        bounds = np.searchsorted(start_comp[order], np.arange(component.max(initial=-1) + 2))
        parts = []
        for comp in np.unique(component[component >= 0]):
            in_comp = component == comp
            if (in_comp & (supply_qty > 0)).any() and (in_comp & (demand_qty > 0)).any():
                arcs = start.arcs.take(order[bounds[comp]: bounds[comp + 1]])
                arcs.index = pd.RangeIndex(len(arcs))  # a new frame already: no copy to renumber it
                parts.append(_Part(in_comp, arcs))
        n_start, excluded, compatible = len(start.arcs), start.excluded, start.compatible_supplies
        del start  # the parts hold the arcs
        tasks = [(task, _Runner(network, objective, supply_qty, demand_qty, is_utility, ef_landfill, context,
                                max_rounds, pd.concat([p.arcs for p in task], ignore_index=True)))
                 for task in _tasks(parts)]
    parts = [p for task, _ in tasks for p in task]
    keep = sum(int(p.in_comp.sum()) for p in parts) <= WARM_MAX_STREAMS

    def solve_task(task: list[_Part], run: _Runner) -> None:
        run.keep_lps = keep
        if warm is not None:  # a component the change cannot affect keeps its answer
            task = [p for p in task if not run.unaffected(p, old_limit)]
        if task and objective == "lexicographic":
            run.lexicographic(task)
        elif task:
            for p in task:
                run.split_start(p, "weighted", 0.0)
            run.loop("weighted", task)
        if not keep:  # free the solvers and the arc pool as soon as the task is done (the next tasks reuse
            # the memory; handing it back to the OS after each task cost 0.4–0.8 s of page faults nationally)
            for p in task:
                p.lp = None
            run.pool = None

    if solver_threads() > 1 and len(tasks) > 1:  # GLOP releases the GIL: tasks run in parallel threads
        with ThreadPoolExecutor(solver_threads()) as executor:
            list(executor.map(lambda task_run: solve_task(*task_run), tasks))
    else:
        for task, run in tasks:
            solve_task(task, run)
    if not keep:
        return_freed_memory()
    arcs = pd.concat([p.arcs for p in parts], ignore_index=True) if parts else _empty_arcs()
    flow = np.concatenate([p.flow for p in parts]) if parts else np.zeros(0)
    status = next((p.status for p in parts if p.status != "OPTIMAL"), "OPTIMAL")
    # arcs kept in the LPs but beyond today's limits (bound 0) are not candidates; they are too far
    allowed = _allowed(arcs, context)
    excluded = _reclassified(excluded, arcs[~allowed], context)
    arcs, flow = arcs[allowed].reset_index(drop=True), flow[allowed]
    weights = arc_weights(arcs, is_utility)
    tkm = arcs.mass_t_per_unit.to_numpy() * arcs.distance_km.to_numpy()
    values = {"diverted": float(weights @ flow), "tkm": float(tkm @ flow),
              "objective": float(sum(p.value for p in parts))}
    if objective == "lexicographic":
        values["diverted_stage1"] = float(sum(p.z1 for p in parts))
    cand = Candidates(arcs, excluded, compatible)
    stats = ColumnGenerationStats(max((p.rounds for p in parts), default=0), n_start, len(arcs))
    if keep and status == "OPTIMAL":
        with _WARM_LOCK:
            _WARM[structure] = (tasks, excluded, compatible, n_start, context.limit)
            while len(_WARM) > _WARM_MAX:
                _WARM.pop(next(iter(_WARM)))
    if status != "OPTIMAL":
        flow = np.zeros(len(arcs))
    solution = Solution(flow, status, "GLOP+colgen", objective, values)
    _SOLVED[fingerprint] = (cand, solution, stats)
    while len(_SOLVED) > _SOLVED_MAX:
        _SOLVED.pop(next(iter(_SOLVED)))
    return cand, solution, stats


#: Recently solved instances by fingerprint (oldest first). A planner who changes a
#: parameter the optimum does not depend on — the landfill fee under the lexicographic
#: objective when the haul limit, not the fee, bounds every arc — gets the answer back
#: without solving again; the fee-dependent cost columns are recomputed.
_SOLVED: dict[bytes, tuple[Candidates, Solution, ColumnGenerationStats]] = {}
_SOLVED_MAX = 4

#: Solved states kept to continue from (components, their LPs and arc pools), by a fingerprint of
#: the firms, streams, quantities and rules — not of limits and costs. When a planner shortens
#: the maximum haul or changes a fee (with the vnd or co2e objective), the kept LPs close the arcs
#: now too long (bound 0), take the new costs, and re-solve from their last basis. States are kept
#: only for instances of up to ``WARM_MAX_STREAMS`` streams in their components (a province of 15 000
#: streams: ~260 000 arcs, ~100 MB). Keeping every LP of the national instance (200 000 streams)
#: alive raised its peak memory from 1.7 to 2.2 GB.
_WARM: dict[bytes, tuple] = {}
_WARM_MAX = 2
_WARM_LOCK = threading.Lock()
WARM_MAX_STREAMS = 50_000


def _with_costs(arcs: pd.DataFrame, context: CandidateContext) -> pd.DataFrame:
    """The arc columns that depend on prices, recomputed for ``context``'s parameters."""
    return arcs.assign(**cost_columns(context, arcs.supply.to_numpy(), arcs.distance_km.to_numpy()))


def _allowed(arcs: pd.DataFrame, context: CandidateContext) -> np.ndarray:
    """Arcs within today's haul limit of their supply (kept-state LPs may hold longer ones)."""
    return arcs.distance_km.to_numpy() <= context.limit[arcs.supply.to_numpy()] + 1e-9


def _reclassified(excluded: pd.DataFrame, closed: pd.DataFrame, context: CandidateContext) -> pd.DataFrame:
    """Excluded pairs under today's limits: legal reasons stand; "too far" only beyond the limit;
    arcs closed by a shorter limit join as too far."""
    far = excluded.reason.to_numpy() == REASON_TOO_FAR
    still_far = excluded.distance_km.to_numpy() > context.limit[excluded.supply.to_numpy()] + 1e-9
    closed = closed[["supply", "demand", "rule_id", "distance_km"]].assign(reason=REASON_TOO_FAR)
    return pd.concat([excluded[~far | still_far], closed[excluded.columns]], ignore_index=True)


def _empty_arcs() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=float) for c in ("supply", "demand", "rule_id", "yield", "distance_km",
                                                             "mass_t_per_unit", "transport_cost_per_unit",
                                                             "disposal_fee_per_unit")})


def _fingerprints(network: Network, context: CandidateContext, objective: str, supply_qty: np.ndarray,
                  demand_qty: np.ndarray, is_utility: np.ndarray, ef_landfill: np.ndarray,
                  k_nearest: int) -> tuple[bytes, bytes]:
    """Digests of the structure (firms, streams, quantities, rules) and of everything the optimal flows
    depend on (the structure plus limits and prices), computed in one pass.

    Candidate arcs depend on positions, materials, the legal gate, circuity, distance
    overrides and each supply's haul limit (which folds in the fee, transport cost and
    maximum haul); the LP on quantities and the objective. Cost parameters enter the
    objective only for ``vnd`` and ``co2e``.
    """
    h = hashlib.blake2b(digest_size=20)
    for array in (context.xyz, context.mass, supply_qty, demand_qty, is_utility):
        h.update(np.ascontiguousarray(array).tobytes())
    for column in (context.firm, context.material, context.mark, context.test, context.code,
                   context.receiver_licences):
        # codes and distinct values: hashing the repr of 200 000 strings (or their fixed-width bytes) took 0.15 s
        codes, distinct = pd.factorize(np.asarray(column, dtype=object), use_na_sentinel=True)
        h.update(codes.astype(np.int64).tobytes() + repr(list(distinct)).encode())
    h.update(repr((objective, k_nearest, context.circuity, sorted(context.overrides.items()),
                   [sorted(rule.items()) for rule in context.rules])).encode())
    structure = h.digest()
    h.update(np.ascontiguousarray(context.limit).tobytes())
    if objective != "lexicographic":
        h.update(repr(sorted(network.parameters.items())).encode())
        h.update(np.ascontiguousarray(ef_landfill).tobytes())
    return structure, h.digest()


class _Runner:
    """Column generation for many components at once (one pricing query per round)."""

    def __init__(self, network, objective, supply_qty, demand_qty, is_utility, ef_landfill, context,
                 max_rounds, start: pd.DataFrame):
        self.network, self.objective = network, objective
        self.supply_qty, self.demand_qty, self.is_utility, self.ef = supply_qty, demand_qty, is_utility, ef_landfill
        self.context, self.max_rounds = context, max_rounds
        self.n = len(network.streams)
        self.pool = _ArcPool(context, start)
        self.keep_lps = False  # keep every component's LP after it converged (to continue from later)
        self.big_m = 0.0

    def rebind(self, network: Network, context: CandidateContext, ef_landfill: np.ndarray) -> None:
        """Continue with new parameters (same streams): new limits and prices, same LPs and pool."""
        self.network, self.context, self.ef = network, context, ef_landfill
        self.pool.rebind(context)

    def lexicographic(self, parts: list[_Part]) -> None:
        """``min t·km − M·diverted`` per component, proven lexicographic by a stage-1 check.

        One weighted LP (no dense side row) is several times faster than a constrained
        second stage. A component whose supplies all ship in full cannot divert more, so
        it needs no check; otherwise a stage-1 LP (max diverted) over the full graph
        must reach the same amount. If not, M grows tenfold; after three tries the
        classic two stages run.
        """
        params = self.network.parameters
        limit = max(params["max_haul_km"], params["max_pipe_km"])
        if self.context.overrides:
            limit = max(limit, max(self.context.overrides.values()))
        big_m = self.big_m = max(self.big_m, 10.0 * max(limit, 1.0))  # a kept M stays valid: no re-pricing
        for p in parts:
            self.split_start(p, "lexw", big_m)
        pending = parts
        for _ in range(3):
            self.loop("lexw", pending, big_m=big_m)
            unsure = []
            for p in pending:
                if p.status != "OPTIMAL":
                    continue
                weights = arc_weights(p.arcs, self.is_utility)
                p.z1 = float(weights @ p.flow)
                p.value = float(self._tkm(p.arcs) @ p.flow)
                shipped = np.bincount(p.arcs.supply.to_numpy(), weights=p.flow, minlength=self.n)
                rows = np.flatnonzero(p.in_comp & (self.supply_qty > 0))
                if not np.all(shipped[rows] >= self.supply_qty[rows] * (1 - 1e-9) - 1e-9):
                    unsure.append(p)
            unsure_ids = {id(p) for p in unsure}
            for p in pending:
                if id(p) not in unsure_ids and not self.keep_lps:
                    p.lp = None  # done: free the solver
            # the check runs in the component's own LP: switching the objective keeps the basis, which is
            # primal feasible and usually already optimal for stage 1 (0 pivots at national scale)
            checks = [_Part(p.in_comp, p.arcs, lp=p.lp) for p in unsure]
            self.loop("stage1", checks)
            pending = []
            for p, chk in zip(unsure, checks, strict=True):
                p.rounds += chk.rounds
                if chk.status != "OPTIMAL":
                    p.status = chk.status
                elif p.z1 >= chk.value * (1 - 1e-7) - 1e-7:
                    p.z1 = chk.value
                    if len(chk.arcs) > len(p.arcs):  # arcs the check's pricing added are in the LP now; the
                        # answer (optimal over the full graph) carries nothing on them
                        p.flow = np.concatenate([p.flow, np.zeros(len(chk.arcs) - len(p.arcs))])
                        p.arcs = chk.arcs
                else:  # stage 1 found arcs the weighted run lacked; keep them and raise M
                    p.arcs = chk.arcs
                    pending.append(p)
            if not pending:
                return
            big_m *= 10.0
        self.loop("stage1", pending)
        for p in pending:
            p.z1 = p.value
        self.loop("stage2", pending)

    def unaffected(self, p: _Part, old_limit: np.ndarray) -> bool:
        """Whether ``p``'s kept optimum is still optimal: no supply's limit grew (the new graph is part
        of the old one), no arc carrying flow was closed (the answer is still feasible), and the
        objective is unchanged. Optimal over the larger graph and feasible in the smaller, it is optimal."""
        if p.lp is None or p.flow is None or p.status != "OPTIMAL" or len(p.flow) != len(p.arcs):
            return False
        supplies = np.flatnonzero(p.in_comp & (self.supply_qty > 0))
        if np.any(self.context.limit[supplies] > old_limit[supplies]):
            return False
        if np.any(p.flow[~_allowed(p.arcs, self.context)] > 0):
            return False
        if p.solved_objective is None:
            return False
        solved_cost, solved_maximize = p.solved_objective
        lexicographic = self.objective == "lexicographic"
        cost, maximize = self._objective("lexw" if lexicographic else "weighted", p.arcs, self.big_m)
        # arcs after the solved ones came from the stage-1 check; the cost formula is the same for all arcs
        return maximize == solved_maximize and bool(np.array_equal(cost[: len(solved_cost)], solved_cost))

    @staticmethod
    def _tkm(arcs: pd.DataFrame) -> np.ndarray:
        return arcs.mass_t_per_unit.to_numpy() * arcs.distance_km.to_numpy()

    def _objective(self, stage: str, arcs: pd.DataFrame, big_m: float) -> tuple[np.ndarray, bool]:
        if stage == "stage1":
            return arc_weights(arcs, self.is_utility), True
        if stage == "lexw":
            return self._tkm(arcs) - big_m * arc_weights(arcs, self.is_utility), False
        if stage == "stage2":
            return self._tkm(arcs), False
        return _cost_vector(arcs, self.objective, self.network.parameters, self.ef), False

    def _upper(self, arcs: pd.DataFrame) -> np.ndarray:
        """Column bounds: what supply and demand allow, 0 for arcs beyond today's haul limit."""
        return np.where(_allowed(arcs, self.context), column_upper(arcs, self.supply_qty, self.demand_qty), 0.0)

    def _solve(self, p: _Part, stage: str, big_m: float):
        """LP of one component; returns its row duals scattered to stream rows and λ."""
        obj, maximize = self._objective(stage, p.arcs, big_m)
        p.cost_scale = float(np.abs(obj).max(initial=1.0))
        if stage != "stage2":
            if p.lp is None:
                rows = np.flatnonzero(p.in_comp)
                p.lp = IncrementalLP(rows[self.supply_qty[rows] > 0], rows[self.demand_qty[rows] > 0],
                                     self.supply_qty, self.demand_qty)
            status, flow, value, duals = p.lp.solve(p.arcs, obj, maximize, self._upper(p.arcs))
            if stage in ("lexw", "weighted"):
                p.solved_objective = (obj, maximize)
            pi = np.zeros(self.n)
            n_sup = len(p.lp.supply_rows)
            pi[p.lp.supply_rows] = duals[:n_sup]
            pi[p.lp.demand_rows] = duals[n_sup:]
            return status, flow, value, pi, big_m if stage == "lexw" else 0.0
        # stage 2: least t·km with diversion held at its optimum (a dense side row), solved from scratch
        _, matrix, row_lb, row_ub, sup_rows, dem_rows = lp_matrix(p.arcs, self.supply_qty, self.demand_qty)
        matrix = sp.vstack([matrix, sp.csr_matrix(arc_weights(p.arcs, self.is_utility))]).tocsr()
        row_lb = np.append(row_lb, p.z1 * (1 - 1e-9) - 1e-9)
        row_ub = np.append(row_ub, np.inf)
        status, flow, value, duals = _solve_sparse(obj, maximize, self._upper(p.arcs), matrix, row_lb, row_ub)
        pi = np.zeros(self.n)
        pi[sup_rows] = duals[: len(sup_rows)]
        pi[dem_rows] = duals[len(sup_rows): len(sup_rows) + len(dem_rows)]
        return status, flow, value, pi, duals[-1] if status == "OPTIMAL" else 0.0

    def loop(self, stage: str, parts: list[_Part], big_m: float = 0.0, max_rounds: int | None = None) -> None:
        """Solve, price, add improving arcs, repeat — all ``parts`` in lock-step (at most ``max_rounds``
        solves each, default the runner's limit)."""
        for p in parts:
            p.status, p.flow, p.value, p.cost_scale = "OPTIMAL", np.zeros(len(p.arcs)), 0.0, 1.0
        keys = [np.sort(pair_keys(p.arcs, self.n)) for p in parts]  # each LP's arcs (parts of one task differ)
        active = list(range(len(parts)))
        for _ in range(self.max_rounds if max_rounds is None else max_rounds):
            if not active:
                break
            pi, lam = np.zeros(self.n), np.zeros(self.n)
            order = sorted(active, key=lambda k: -len(parts[k].arcs))
            todo = [k for k in order if len(parts[k].arcs)]
            if len(todo) > 1 and solver_threads() > 1:  # GLOP releases the GIL: this task's LPs in parallel
                solved = list(_lp_pool().map(lambda k: self._solve(parts[k], stage, big_m), todo))
            else:
                solved = [self._solve(parts[k], stage, big_m) for k in todo]
            for k, (status, flow, value, pi_k, lam_k) in zip(todo, solved, strict=True):
                p = parts[k]
                p.status, p.flow, p.value = status, flow, value
                pi += pi_k  # zero outside the component
                lam[p.in_comp] = lam_k
            if stage in ("lexw", "weighted"):
                for k in todo:
                    self._shed(parts[k], stage, pi, lam, big_m, keys, k)
            for k in order:
                parts[k].rounds += 1
                if not len(parts[k].arcs):
                    lam[parts[k].in_comp] = big_m
            active = [k for k in order if parts[k].status == "OPTIMAL"]
            in_active = np.zeros(self.n, dtype=bool)
            for k in active:
                in_active |= parts[k].in_comp
            price_stage = "stage2" if stage == "lexw" else stage  # same reduced-cost form, λ = M
            mask, radius = _pricing_bounds(self.context, self.network.parameters, price_stage, self.objective, pi,
                                           lam, self.is_utility, np.where(in_active, self.supply_qty, 0.0), self.ef)
            found = self.pool.within(mask, radius)
            new = self.pool.columns(found)
            rc = self._reduced_cost(stage, new, pi, lam, big_m)
            new_supply, new_demand = new.supply.to_numpy(), new.demand.to_numpy()
            still = []
            for k in active:
                p = parts[k]
                tol = 1e-9 * max(1.0, p.cost_scale)
                mine = p.in_comp[new_supply] & p.in_comp[new_demand] & (rc > tol if stage == "stage1" else rc < -tol)
                if not mine.any():
                    continue
                sel = np.flatnonzero(mine)
                sel = sel[~_member(self.pool["key"][found[sel]], keys[k])]  # arcs at their bound price out too
                sel = sel[best_per_row(new_supply[sel], new_demand[sel], -rc[sel] if stage == "stage1" else rc[sel],
                                       ADD_PER_ROW)]
                add = found[sel]
                if len(add) == 0:
                    continue
                keys[k] = np.sort(np.concatenate([keys[k], self.pool["key"][add]]))
                p.arcs = pd.concat([p.arcs, self.pool.table(add)], ignore_index=True)
                still.append(k)
            active = still
        for p in parts:
            if len(p.flow) != len(p.arcs):  # arcs were added after the last solve (round limit)
                p.status = p.status if p.status != "OPTIMAL" else "NOT_CONVERGED"
                p.flow = np.zeros(len(p.arcs))
            p.flow = np.clip(p.flow, 0, None)
            p.flow[p.flow < 1e-9] = 0.0

    def split_start(self, p: _Part, stage: str, big_m: float) -> None:
        """Warm start for a component of at least :data:`SPLIT_STREAMS` streams: solve its two halves
        (streams either side of the median along the axis where they spread most; arcs between the
        halves left out) side by side for up to :data:`SPLIT_ROUNDS` rounds, then load the whole with
        the columns solved and the union of the halves' last optimal bases. That basis is optimal for
        the block-diagonal LP of those columns; column generation goes on from it over the whole
        component, so the answer is the same."""
        rows = np.flatnonzero(p.in_comp)
        if len(rows) < SPLIT_STREAMS or p.lp is not None or len(p.arcs) == 0:
            return
        xyz = self.context.xyz[rows]
        axis = int(np.argmax(xyz.max(axis=0) - xyz.min(axis=0)))
        side = np.zeros(self.n, dtype=np.int8)
        side[rows] = 1 + (xyz[:, axis] > np.median(xyz[:, axis]))
        sup, dem = p.arcs.supply.to_numpy(), p.arcs.demand.to_numpy()
        halves = [_Part(side == h, p.arcs[(side[sup] == h) & (side[dem] == h)].reset_index(drop=True)) for h in (1, 2)]
        self.loop(stage, halves, big_m, max_rounds=SPLIT_ROUNDS)
        if any(h.status not in ("OPTIMAL", "NOT_CONVERGED") or h.lp is None or h.lp.basis is None for h in halves):
            return  # go on from the plain start
        arcs = pd.concat([h.arcs.iloc[: h.lp.n_columns] for h in halves], ignore_index=True)  # the columns solved
        lp = IncrementalLP(rows[self.supply_qty[rows] > 0], rows[self.demand_qty[rows] > 0], self.supply_qty,
                           self.demand_qty)
        n_sup = len(lp.supply_rows)
        row_status = np.zeros(lp.n_rows, dtype=np.int64)
        duals = np.zeros(lp.n_rows)
        column_ids, column_status, offset = [], [], 0
        for h in halves:
            half_rows = np.concatenate([np.searchsorted(lp.supply_rows, h.lp.supply_rows),
                                        n_sup + np.searchsorted(lp.demand_rows, h.lp.demand_rows)])
            constraints = h.lp.basis.constraint_status
            row_status[half_rows[np.asarray(constraints.ids, dtype=np.int64)]] = constraints.values
            duals[half_rows] = h.lp.duals
            variables = h.lp.basis.variable_status
            column_ids.append(offset + np.searchsorted(h.lp.ids, np.asarray(variables.ids, dtype=np.int64)))
            column_status.append(np.asarray(variables.values, dtype=np.int64))
            offset += h.lp.n_columns
            h.lp = None  # free the half's solver
        basis = IncrementalLP.new_basis(np.concatenate(column_ids), np.concatenate(column_status), row_status)
        cost, maximize = self._objective(stage, arcs, big_m)
        lp.adopt(arcs, cost, maximize, self._upper(arcs), basis, duals)
        p.arcs, p.lp = arcs, lp
        p.rounds = max(h.rounds for h in halves)

    def _shed(self, p: _Part, stage: str, pi: np.ndarray, lam: np.ndarray, big_m: float, keys: list[np.ndarray],
              k: int) -> None:
        """Drop the columns of ``p``'s LP that sit at zero far from entering (see :data:`DROP_ABOVE_KM`);
        ``pi`` and ``lam`` hold the duals of the round's solves."""
        lp = p.lp
        if (p.rounds >= DROP_ROUNDS or len(p.arcs) < DROP_MIN_COLUMNS or p.status != "OPTIMAL" or lp is None
                or lp.basis is None or lp.n_columns != len(p.arcs)):
            return
        at_zero = lp.nonbasic_at_zero()
        with np.errstate(divide="ignore", invalid="ignore"):  # utilities weigh nothing: any positive cost is far
            per_tonne_km = self._reduced_cost(stage, p.arcs, pi, lam, big_m) / p.arcs.mass_t_per_unit.to_numpy()
        keep = ~(at_zero & (per_tonne_km > DROP_ABOVE_KM))
        if keep.mean() > 0.95:  # not worth an update
            return
        lp.drop(keep)
        p.arcs = p.arcs[keep].reset_index(drop=True)
        p.flow = p.flow[keep]
        keys[k] = np.sort(pair_keys(p.arcs, self.n))

    def _reduced_cost(self, stage: str, new: pd.DataFrame, pi: np.ndarray, lam: np.ndarray,
                      big_m: float) -> np.ndarray:
        if len(new) == 0:
            return np.zeros(0)
        sup, dem = new.supply.to_numpy(), new.demand.to_numpy()
        dual_part = pi[sup] + new["yield"].to_numpy() * pi[dem]
        w = arc_weights(new, self.is_utility)
        if stage == "stage1":
            return w - dual_part
        if stage == "stage2":
            return self._tkm(new) - dual_part - lam[sup] * w
        obj, _ = self._objective(stage, new, big_m)
        return obj - dual_part


def _pricing_bounds(context: CandidateContext, params: dict[str, float], stage: str, objective: str,
                    pi: np.ndarray, lam: np.ndarray, is_utility: np.ndarray, supply_qty: np.ndarray,
                    ef_landfill: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Supplies that might have an improving arc, and how far (road km) such an arc can reach.

    Demand duals only ever make an arc less attractive (π_d ≥ 0 when maximising,
    ≤ 0 when minimising), so dropping them gives a valid bound for each supply; the
    exact reduced cost is then computed for the arcs found.
    """
    mass = context.mass
    w = np.where(is_utility, 1.0, mass)
    is_supply = context.is_out & (supply_qty > 0)
    tol = 1e-12
    radius = np.full(len(mass), np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        if stage == "stage1":  # rc = w − π_s − y·π_d > 0 needs π_s < w; distance does not enter
            mask = is_supply & (pi < w - tol)
        else:
            if stage == "stage2":  # rc = m·d − π_s − y·π_d − λ·w < 0 needs m·d < λ·w + π_s
                slack, per_km = lam * w + pi, mass
            elif objective == "vnd":  # rc = k·m·d − fee − π_s − y·π_d < 0 needs k·m·d < fee + π_s
                slack, per_km = context.fee + pi, params["transport_cost_vnd_per_tkm"] * mass
            else:  # co2e: rc = e·m·d − ef·m − π_s − y·π_d < 0 needs e·m·d < ef·m + π_s
                slack, per_km = ef_landfill * mass + pi, params["ef_truck_kgco2e_per_tkm"] / 1000.0 * mass
            mask = is_supply & (slack > tol)
            radius = np.where(per_km > 0, slack / per_km, np.inf)
    return mask, np.minimum(radius, context.limit)


class _ArcPool:
    """Every arc generated so far: the starting set and what pricing found.

    Successive pricing rounds ask the same supplies for arcs within similar radii; once a
    supply's arcs up to ``covered`` km are in the pool, a later query within that radius
    is a filter on the pool rather than a new k-d tree search and legal-gate check. The arcs
    are kept as arrays that grow in place (at national scale the pool reaches ~1.4 million
    arcs; concatenating a table of them every round cost more than the queries' new arcs).
    Price-dependent columns are not stored: :meth:`columns` and :meth:`table` compute them
    from the context's current prices.
    """

    FIELDS = {"supply": np.int64, "demand": np.int64, "rule": np.int32, "yield": float, "distance_km": float,
              "key": np.int64}

    def __init__(self, context: CandidateContext, start: pd.DataFrame) -> None:
        self.context = context
        self.n = len(context.mass)
        self.covered = np.full(self.n, -1.0)
        self.size = 0
        self._data = {f: np.empty(max(len(start), 1024), dtype=t) for f, t in self.FIELDS.items()}
        self.keys = np.zeros(0, dtype=np.int64)  # every arc's pair key, sorted
        self._append({"supply": start.supply.to_numpy(dtype=np.int64), "demand": start.demand.to_numpy(dtype=np.int64),
                      "rule": start.rule_id.cat.codes.to_numpy(dtype=np.int32), "yield": start["yield"].to_numpy(),
                      "distance_km": start.distance_km.to_numpy()})

    def rebind(self, context: CandidateContext) -> None:
        """New limits and prices: complete coverage now ends at the (possibly shorter) limit."""
        self.context = context
        self.covered = np.minimum(self.covered, context.limit)

    def __getitem__(self, field: str) -> np.ndarray:
        """One of :data:`FIELDS` (``key``: the pair key) of every arc in the pool so far."""
        return self._data[field][: self.size]

    def _append(self, arcs: dict[str, np.ndarray]) -> None:
        n_new = len(arcs["supply"])
        arcs = dict(arcs, key=arcs["supply"] * (self.n + 1) + arcs["demand"])  # as optimise.pair_keys
        if self.size + n_new > len(self._data["supply"]):  # grow geometrically: appends stay cheap on average
            capacity = max(2 * len(self._data["supply"]), self.size + n_new)
            for f, old in self._data.items():
                self._data[f] = np.empty(capacity, dtype=old.dtype)
                self._data[f][: self.size] = old[: self.size]
        for f in self.FIELDS:
            self._data[f][self.size: self.size + n_new] = arcs[f]
        self.size += n_new
        fresh = np.sort(arcs["key"])
        self.keys = np.insert(self.keys, np.searchsorted(self.keys, fresh), fresh)

    def columns(self, rows: np.ndarray) -> pd.DataFrame:
        """The numeric columns pricing needs, for the given pool rows (:meth:`table` without ``rule_id``)."""
        return arc_table(self.context, {f: self._data[f][rows] for f in ("supply", "demand", "yield", "distance_km")},
                         with_rule=False)

    def table(self, rows: np.ndarray) -> pd.DataFrame:
        """The arc table (as :class:`~matching.candidates.Candidates` ``arcs``) of the given pool rows."""
        return arc_table(self.context, {f: self._data[f][rows] for f in self.FIELDS})

    def within(self, mask: np.ndarray, radius: np.ndarray) -> np.ndarray:
        """Positions of all feasible arcs of the supplies in ``mask`` no longer than their ``radius`` (road km)."""
        query = mask & (radius > self.covered + 1e-9)
        if query.any():
            found = feasible_arcs(self.context, query, radius)
            fresh = found["distance_km"] > self.covered[found["supply"]] + 1e-9
            fresh[fresh] = ~_member(found["supply"][fresh] * (self.n + 1) + found["demand"][fresh], self.keys)
            self._append({f: v[fresh] for f, v in found.items()})  # not yet in the pool (e.g. start arcs)
            self.covered[query] = radius[query]
        supply = self["supply"]
        keep = mask[supply] & (self["distance_km"] <= radius[supply] + 1e-9)
        return np.flatnonzero(keep)
