"""The pipeline: check → candidates → solve → assign → KPIs (PyPSA-style fixed order).

:func:`run_matching` turns a :class:`~symbiosis.network.Network` into a
:class:`MatchResult` of plain DataFrames: ``matches``, ``unmatched_supply``,
``unmet_demand`` and ``kpis`` (per park and total).
"""

from __future__ import annotations

import string
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matching.candidates import Candidates, build_candidates
from matching.colgen import solve_by_column_generation
from matching.optimise import OBJECTIVES, Solution, solve_lp
from symbiosis.catalogue import Catalogue, load_catalogue
from symbiosis.i18n import fmt_numbers_by_lang, messages
from symbiosis.network import Network

_EPS = 1e-9
#: The dtype pandas gives text columns (Arrow-backed ``str`` from pandas 3, ``object`` before).
_TEXT = pd.Series(["text"]).dtype
#: Above this many rule-compatible supply–demand pairs, ``method="auto"`` uses column generation.
FULL_GRAPH_LIMIT = 200_000


def pair_upper_bound(network: Network, cat: Catalogue) -> int:
    """Rule-compatible supply–demand pairs before any distance pruning (an upper bound on arcs)."""
    s = network.streams
    n_out = s[s.direction == "output"].material_id.value_counts()
    n_in = s[s.direction == "input"].material_id.value_counts()
    r = cat.rules
    return int((r.supply_material_id.map(n_out).fillna(0) * r.demand_material_id.map(n_in).fillna(0)).sum())


@dataclass
class MatchResult:
    matches: pd.DataFrame
    unmatched_supply: pd.DataFrame
    unmet_demand: pd.DataFrame
    kpis: pd.DataFrame
    status: str
    solver: str
    objective: str
    parameters: dict[str, float] = field(default_factory=dict)
    candidates: Candidates | None = None
    bound_changes: pd.DataFrame | None = None  # matches that differ when quantities sit at their min/max
    run_id: int | None = None  # set when saved in the store
    target_share: float | None = None  # minimum share of waste diverted asked for, if any
    target_met: bool | None = None

    @property
    def optimal(self) -> bool:
        return self.status == "OPTIMAL"


def run_matching(network: Network, objective: str = "lexicographic", catalogue: Catalogue | None = None,
                 distances: pd.DataFrame | None = None, method: str = "auto", k_nearest: int | None = None,
                 bounds: bool = True, min_diverted_share: float | None = None) -> MatchResult:
    """Propose the optimal set of exchanges for ``network``.

    ``method="colgen"`` solves exactly by column generation (:mod:`matching.colgen`) from each
    stream's ``k_nearest`` partners (default: :func:`matching.colgen.default_k_nearest`);
    ``method="full"`` enumerates every feasible arc first. Both give the same optimum; ``"auto"``
    (default) picks full enumeration when at most :data:`FULL_GRAPH_LIMIT` supply–demand pairs exist.

    Streams with ``quantity_min``/``quantity_max`` are solved on the expected value;
    with ``bounds=True`` the problem is re-solved with every uncertain stream at its
    minimum and at its maximum, and ``bound_changes`` lists the matches that differ.

    ``min_diverted_share`` is a planner's target (share of waste tonnes kept from
    landfill): a constraint of the ``vnd``/``co2e`` objectives (solved on the full
    graph; status ``INFEASIBLE`` if unattainable); the lexicographic objective
    already diverts the most possible, so there it is only checked (``target_met``).
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}")
    cat = catalogue or load_catalogue()
    s = network.streams
    qty = s.quantity_per_year.to_numpy(dtype=float)
    is_utility = (s.kind == "utility").to_numpy()
    ef = cat.materials.loc[s.material_id, "ef_landfill_tco2e_per_t"].to_numpy(dtype=float)
    ef = np.where(np.isnan(ef), network.parameters["ef_landfill_default_tco2e_per_t"], ef)
    supply_qty = np.where((s.direction == "output").to_numpy(), qty, 0.0)
    demand_qty = np.where((s.direction == "input").to_numpy(), qty, 0.0)
    waste_t = float(network.supplies.query("kind != 'utility' and base_unit == 't'").quantity_per_year.sum())
    constrained = min_diverted_share is not None and objective != "lexicographic"
    if method == "auto":
        method = "full" if constrained or pair_upper_bound(network, cat) <= FULL_GRAPH_LIMIT else "colgen"
    if method == "full":
        cand = build_candidates(network, cat, distances, economic_pruning=not constrained)
        sol = solve_lp(cand.arcs, supply_qty, demand_qty, is_utility, objective, network.parameters, ef,
                       min_landfill_avoided_t=min_diverted_share * waste_t if constrained else None)
        matches = _matches(network, cand, sol, ef, cat)
    elif constrained:
        raise ValueError("a diversion target with the vnd/co2e objective needs method='full'")
    elif method == "colgen":
        cand, sol, _ = solve_by_column_generation(network, cat, objective, supply_qty, demand_qty, is_utility, ef,
                                                  distances, k_nearest)
        # the exclusions of supplies without arcs are listed while the matches are built: both spend much
        # of their time outside the GIL (k-d tree queries, Arrow kernels)
        with ThreadPoolExecutor(1) as executor:
            with_exclusions = executor.submit(_with_exclusions, network, cat, distances, cand)
            matches = _matches(network, cand, sol, ef, cat)
            cand = with_exclusions.result()
    else:
        raise ValueError("method must be 'colgen' or 'full'")
    unmatched = _unmatched_supply(network, cand, matches)
    unmet = _unmet_demand(network, matches)
    kpis = _kpis(network, matches)
    result = MatchResult(matches, unmatched, unmet, kpis, sol.status, sol.solver, objective,
                         dict(network.parameters), cand, target_share=min_diverted_share)
    if min_diverted_share is not None:
        achieved = float(kpis.share_diverted.iloc[0]) if sol.status == "OPTIMAL" else 0.0
        result.target_met = sol.status == "OPTIMAL" and achieved >= min_diverted_share - 1e-9
    uncertain = s.quantity_per_year_min.notna() | s.quantity_per_year_max.notna()
    if bounds and uncertain.any() and result.optimal:
        result.bound_changes = _bound_changes(network, result, objective, cat, distances, method, k_nearest)
    return result


def _at(network: Network, which: str) -> Network:
    s = network.streams.copy()
    s["quantity_per_year"] = s[f"quantity_per_year_{which}"].fillna(s.quantity_per_year)
    return replace(network, streams=s)


def _bound_changes(network, result, objective, cat, distances, method, k_nearest) -> pd.DataFrame:
    """Matches whose quantity differs (by > 1 % or appears/disappears) at the min or max quantities."""
    key = ["supply_stream_id", "demand_stream_id"]
    table = result.matches[key + ["quantity"]].rename(columns={"quantity": "quantity_expected"})
    for which in ("min", "max"):
        other = run_matching(_at(network, which), objective, cat, distances, method, k_nearest, bounds=False)
        table = table.merge(other.matches[key + ["quantity"]].rename(columns={"quantity": f"quantity_at_{which}"}),
                            on=key, how="outer")
    table = table.fillna(0.0)
    ref = np.maximum(table.quantity_expected, 1e-9)
    changed = ((table.quantity_at_min - table.quantity_expected).abs() > 0.01 * ref) | \
              ((table.quantity_at_max - table.quantity_expected).abs() > 0.01 * ref)
    return table[changed].sort_values(key).reset_index(drop=True)


def _with_exclusions(network: Network, cat: Catalogue, distances, cand: Candidates) -> Candidates:
    """Enumerate every pair of the supplies left without any arc, so their reasons are exact.

    Column generation's arcs are only part of the full graph: a supply may have feasible arcs that
    were never worth adding (their receivers' demand is taken), so those count as reachable too."""
    supplies = np.zeros(len(network.streams), dtype=bool)
    supplies[network.supplies.index.to_numpy()] = True
    supplies[np.unique(cand.arcs.supply.to_numpy())] = False
    if not supplies.any():
        return cand
    full = build_candidates(network, cat, distances, supply_mask=supplies)
    excluded = pd.concat([cand.excluded, full.excluded], ignore_index=True).drop_duplicates(["supply", "demand", "rule_id"])
    reachable = np.union1d(cand.arcs.supply.to_numpy(), full.arcs.supply.to_numpy())
    return Candidates(cand.arcs, excluded, cand.compatible_supplies | full.compatible_supplies, reachable)


def _matches(network: Network, cand: Candidates, sol: Solution, ef: np.ndarray, cat: Catalogue) -> pd.DataFrame:
    s = network.streams
    a = cand.arcs.assign(quantity=sol.flow)
    a = a[a.quantity > _EPS]
    rank = np.empty(len(s), dtype=np.int64)  # stream row → position of its id in sorted order
    rank[np.argsort(s.stream_id.to_numpy(dtype=object), kind="stable")] = np.arange(len(s))
    # sorted by (supply id, demand id) before any column is built: sorting the finished table would
    # move every text column, explanations included
    a = a.iloc[np.lexsort((rank[a.demand.to_numpy()], rank[a.supply.to_numpy()]))].reset_index(drop=True)
    sup, dem = a.supply.to_numpy(), a.demand.to_numpy()
    p = network.parameters
    mass = a.mass_t_per_unit.to_numpy()
    tonnes = a.quantity.to_numpy() * mass
    text = {c: _as_text(s[c]) for c in ("stream_id", "firm_id", "park_id", "material_id", "base_unit",
                                         "hazard_mark_effective")}
    mark = s.hazard_mark_effective.to_numpy(dtype=object)[sup]
    out = pd.DataFrame({
        "supply_stream_id": text["stream_id"].take(sup),
        "demand_stream_id": text["stream_id"].take(dem),
        "supplier_firm_id": text["firm_id"].take(sup),
        "receiver_firm_id": text["firm_id"].take(dem),
        "supplier_park_id": text["park_id"].take(sup),
        "receiver_park_id": text["park_id"].take(dem),
        "material_id": text["material_id"].take(sup),
        "demand_material_id": text["material_id"].take(dem),
        "rule_id": a.rule_id.astype(_TEXT).array,  # a categorical in the arc tables
        "quantity": a.quantity.to_numpy(),
        "unit": text["base_unit"].take(sup),
        "quantity_received": a.quantity.to_numpy() * a["yield"].to_numpy(),
        "unit_received": text["base_unit"].take(dem),
        "distance_km": a.distance_km.to_numpy(),
        "tkm": tonnes * a.distance_km.to_numpy(),
        "transport_cost_vnd": a.transport_cost_per_unit.to_numpy() * a.quantity.to_numpy(),
        "disposal_cost_avoided_vnd": a.disposal_fee_per_unit.to_numpy() * a.quantity.to_numpy(),
        "landfill_avoided_t": np.where(s.kind.to_numpy()[sup] == "utility", 0.0, tonnes),
        "co2e_avoided_t": tonnes * ef[sup] - tonnes * a.distance_km.to_numpy() * p["ef_truck_kgco2e_per_tkm"] / 1000,
        "hazard_mark": text["hazard_mark_effective"].take(sup),
        "legal_status": np.where(mark == "NH", "licensed_receiver", np.where(mark == "KS", "hazard_test_passed", "free")),
    })
    out["vnd_saved"] = out.disposal_cost_avoided_vnd - out.transport_cost_vnd
    out["virgin_material_id"] = out.demand_material_id
    out["virgin_avoided"] = out.quantity_received
    nb_firm, nb_km = _next_best(s, cand.arcs, sup, dem)
    out["next_best_receiver_firm_id"] = nb_firm
    out["next_best_distance_km"] = nb_km
    for lang, sentences in _explanations(out, cat).items():
        out[f"explanation_{lang}"] = sentences
    return out


def _as_text(column: pd.Series) -> pd.api.extensions.ExtensionArray:
    """``column`` as an array of the text dtype, to ``take`` rows from: an Arrow-backed column is used
    as it is (a round trip through Python objects costs ~0.1 s per 10⁵ strings)."""
    return column.array if column.dtype == _TEXT else pd.Series(column.to_numpy(dtype=object)).array


def _next_best(s: pd.DataFrame, arcs: pd.DataFrame, sup: np.ndarray, dem: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each chosen (supply, demand), the nearest *other* receiver firm the supply could reach:
    the supply's nearest arc, or — when the chosen firm owns that one — its nearest arc to a firm
    other than that nearest firm (ties: the first arc)."""
    firm_code, firm_names = pd.factorize(s.firm_id.to_numpy())
    ships = np.zeros(len(s), dtype=bool)
    ships[sup] = True
    mine = np.flatnonzero(ships[arcs.supply.to_numpy()])  # only supplies that ship something need one
    a_sup, a_km = arcs.supply.to_numpy()[mine], arcs.distance_km.to_numpy()[mine]
    a_firm = firm_code[arcs.demand.to_numpy()[mine]]
    nearest = np.full(len(s), -1)
    nearest[np.unique(a_sup)] = pd.Series(a_km).groupby(a_sup).idxmin().to_numpy()
    other = np.flatnonzero(a_firm != a_firm[nearest[a_sup]])
    second = np.full(len(s), -1)
    if len(other):
        second[np.unique(a_sup[other])] = other[pd.Series(a_km[other]).groupby(a_sup[other]).idxmin().to_numpy()]
    pick = np.where(a_firm[nearest[sup]] != firm_code[dem], nearest[sup], second[sup])
    found = pick >= 0
    return (np.where(found, np.asarray(firm_names, dtype=object)[a_firm[pick]], None),
            np.where(found, a_km[pick], np.nan))


def _explanations(m: pd.DataFrame, cat: Catalogue, langs: tuple[str, ...] = ("vi", "en")) -> dict[str, pd.api.extensions.ExtensionArray]:
    """One sentence per match and language: what, who to whom, how far, which rule and source, each
    cost term, and the alternatives (disposal, the next-best partner). Templates are filled column by
    column with Arrow's element-wise join (national scale: 156 000 sentences per language in ~0.1 s,
    against ~0.9 s for a ``format`` call per sentence and the conversion of its results); numbers are
    formatted once per column for all languages."""
    text = pa.large_string()

    def column(name: str) -> pa.Array:
        return pa.array(m[name].to_numpy(dtype=object), type=text, from_pandas=True)  # NaN: null

    def looked_up(name: str, table: dict) -> pa.Array:  # e.g. material id → name: once per distinct id
        codes, distinct = pd.factorize(m[name].to_numpy(dtype=object))
        return pa.array([table[v] for v in distinct], type=text).take(pa.array(codes))

    sources = {r: source[:120] for r, source in zip(cat.rules.rule_id, cat.rules.source, strict=True)}
    columns = {c: column(c) for c in ("unit", "supplier_firm_id", "receiver_firm_id", "rule_id",
                                       "next_best_receiver_firm_id")}
    numbers = {c: fmt_numbers_by_lang(values, langs, digits) for c, values, digits in (
        ("quantity", m.quantity, 1), ("km", m.distance_km, 1), ("transport", m.transport_cost_vnd, 0),
        ("fee", m.disposal_cost_avoided_vnd, 0),
        ("next_km", np.nan_to_num(m.next_best_distance_km.to_numpy(dtype=float)), 1))}
    source = looked_up("rule_id", sources)
    has_partner = pc.is_valid(columns["next_best_receiver_firm_id"])
    sentences = {}
    for lang in langs:
        values = {"unit": columns["unit"], "supplier": columns["supplier_firm_id"],
                  "receiver": columns["receiver_firm_id"], "rule": columns["rule_id"], "source": source,
                  "firm": columns["next_best_receiver_firm_id"],
                  "material": looked_up("material_id", cat.materials[f"name_{lang}"].to_dict()),
                  **{c: pa.array(numbers[c][lang], type=text) for c in numbers}}
        values["km_next"] = values.pop("next_km")
        match, next_best, alone = (messages()[key][lang] for key in
                                   ("explain.match", "explain.next_best", "explain.no_alternative"))
        values["alternative"] = pc.if_else(has_partner, _fill(next_best.replace("{km}", "{km_next}"), values),
                                           pa.scalar(alone, type=text))  # both clauses name a distance
        sentences[lang] = pd.array(_fill(match + " {alternative}", values), dtype=_TEXT)
    return sentences


def _fill(template: str, values: dict[str, pa.Array]) -> pa.Array:
    """``template.format(**row)`` for every row of the equally long text arrays ``values`` (fields
    without format specs); rows where a field used is null come out null."""
    pieces = []
    for literal, name, spec, conversion in string.Formatter().parse(template):
        if spec or conversion:
            raise ValueError(f"unsupported field {{{name}!{conversion}:{spec}}} in {template!r}")
        if literal:
            pieces.append(pa.scalar(literal, type=pa.large_string()))
        if name is not None:
            pieces.append(values[name])
    return pc.binary_join_element_wise(*pieces, pa.scalar("", type=pa.large_string()))


def _unmatched_supply(network: Network, cand: Candidates, matches: pd.DataFrame) -> pd.DataFrame:
    s = network.supplies
    sent = matches.groupby("supply_stream_id").quantity.sum()
    left = s.quantity_per_year - s.stream_id.map(sent).fillna(0.0).to_numpy()
    rows = s.assign(quantity_left=left)
    rows = rows[rows.quantity_left > 1e-6 * np.maximum(rows.quantity_per_year, 1)]
    has_arc = cand.has_feasible_arc(len(network.streams))
    ask = cand.excluded[~has_arc[cand.excluded.supply.to_numpy()] & cand.excluded.supply.isin(rows.index)]
    # only supplies without any arc need their exclusion reasons: distinct, sorted, joined with "+" — as a
    # bit set per supply (a handful of reason codes; joining strings per group took 0.25 s at national scale)
    codes, names = pd.factorize(ask.reason.to_numpy(dtype=object), sort=True)
    bits = np.zeros(len(network.streams), dtype=np.int64)
    np.bitwise_or.at(bits, ask.supply.to_numpy(), np.left_shift(1, codes))
    joined = np.array([None] + ["+".join(n for k, n in enumerate(names) if mask >> k & 1)
                               for mask in range(1, 1 << len(names))], dtype=object)
    compatible = np.zeros(len(network.streams), dtype=bool)
    compatible[np.fromiter(cand.compatible_supplies, dtype=np.int64, count=len(cand.compatible_supplies))] = True
    idx = rows.index.to_numpy()
    named = joined[bits[idx]]
    reasons = np.where(has_arc[idx], "demand_full", np.where(
        pd.notna(named), named, np.where(compatible[idx], "too_far", "no_compatible_demand")))
    return pd.DataFrame({"stream_id": rows.stream_id, "firm_id": rows.firm_id, "material_id": rows.material_id,
                         "quantity_left": rows.quantity_left, "unit": rows.base_unit, "reason": reasons}).reset_index(drop=True)


def _unmet_demand(network: Network, matches: pd.DataFrame) -> pd.DataFrame:
    d = network.demands
    got = matches.groupby("demand_stream_id").quantity_received.sum()
    left = d.quantity_per_year - d.stream_id.map(got).fillna(0.0).to_numpy()
    rows = d.assign(quantity_left=left)
    rows = rows[rows.quantity_left > 1e-6 * np.maximum(rows.quantity_per_year, 1)]
    return pd.DataFrame({"stream_id": rows.stream_id, "firm_id": rows.firm_id, "material_id": rows.material_id,
                         "quantity_left": rows.quantity_left, "unit": rows.base_unit}).reset_index(drop=True)


def _kpis(network: Network, matches: pd.DataFrame) -> pd.DataFrame:
    s = network.supplies
    waste = s[(s.kind != "utility") & (s.base_unit == "t")]
    rows = []
    parks = [None, *sorted(network.parks.park_id)]
    for park in parks:
        m = matches if park is None else matches[matches.supplier_park_id == park]
        w = waste if park is None else waste[waste.park_id == park]
        total_t = float(w.quantity_per_year.sum())
        diverted = float(m.landfill_avoided_t.sum())
        firms = pd.unique(np.concatenate([m.supplier_firm_id.to_numpy(dtype=object),
                                          m.receiver_firm_id.to_numpy(dtype=object)]))
        rows.append({"park_id": park or "TOTAL", "waste_supply_t": total_t, "diverted_t": diverted,
                     "share_diverted": diverted / total_t if total_t else 0.0, "tkm": float(m.tkm.sum()),
                     "vnd_saved": float(m.vnd_saved.sum()), "co2e_avoided_t": float(m.co2e_avoided_t.sum()),
                     "links": len(m), "firms_involved": len(firms)})
    return pd.DataFrame(rows)
