"""Candidate exchange arcs: exchange rule × legal gate × distance, without all-pairs work.

For each rule (supply material → demand material) the supplies and demands of
those materials are put in k-d trees of 3-D points on the Earth's surface and
only pairs within the haul radius are generated (``cKDTree.sparse_distance_matrix``).
An arc survives if the two firms differ, the legal gate allows it, and its road
distance is within both the user's maximum haul and the *economic* haul — the
distance at which trucking one unit costs more than disposing of it. Beyond that
an arc can never be part of a cost-optimal answer, so pruning it is exact.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from symbiosis.catalogue import Catalogue, load_catalogue
from symbiosis.network import Network

EARTH_RADIUS_KM = 6371.0088

#: Reason codes for excluded pairs (also used by explanations).
REASON_NOT_LICENSED = "not_licensed"
REASON_NO_HAZARD_TEST = "no_hazard_test"
REASON_TOO_FAR = "too_far"
_REASONS = np.array(["", REASON_NOT_LICENSED, REASON_NO_HAZARD_TEST, REASON_TOO_FAR], dtype=object)


def unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Points on a sphere of Earth's radius (km) — chord distance ≈ great-circle for short hauls."""
    la, lo = np.radians(lat), np.radians(lon)
    return EARTH_RADIUS_KM * np.column_stack((np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)))


def chord_to_great_circle(chord_km: np.ndarray) -> np.ndarray:
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.clip(chord_km / (2 * EARTH_RADIUS_KM), 0, 1))


def great_circle_to_chord(km: float) -> float:
    return float(2 * EARTH_RADIUS_KM * np.sin(min(km, np.pi * EARTH_RADIUS_KM) / (2 * EARTH_RADIUS_KM)))


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in km (reference implementation for tests and explanations)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a))


@dataclass(frozen=True)
class Candidates:
    """Feasible arcs and the pairs excluded by the legal gate or distance.

    ``arcs`` columns: supply (row in ``network.streams``), demand (row), rule_id (categorical over the
    catalogue's rule ids: column generation slices and concatenates arc tables every round), yield,
    distance_km (road), mass_t_per_unit, transport_cost_per_unit (VND per supply unit),
    disposal_fee_per_unit. ``excluded`` columns: supply, demand, rule_id, reason, distance_km.
    ``reachable_supplies``: supplies with at least one feasible arc in the full candidate graph, when
    ``arcs`` is only part of it (column generation); ``None`` when every feasible arc is in ``arcs``.
    """

    arcs: pd.DataFrame
    excluded: pd.DataFrame
    compatible_supplies: frozenset[int] = frozenset()
    reachable_supplies: np.ndarray | None = None

    def has_feasible_arc(self, n_streams: int) -> np.ndarray:
        """Per stream row: a supply with at least one feasible arc (within reach, legal)."""
        out = np.zeros(n_streams, dtype=bool)
        out[self.arcs.supply.to_numpy() if self.reachable_supplies is None else self.reachable_supplies] = True
        return out


def _mass_per_unit(streams: pd.DataFrame, cat: Catalogue) -> np.ndarray:
    """Tonnes per base unit (1 for t; density for m³; 0 for MWh — energy is not trucked)."""
    density = cat.materials.loc[streams.material_id, "density_t_per_m3"].to_numpy(dtype=float)
    base = streams.base_unit.to_numpy()
    return np.where(base == "t", 1.0, np.where(base == "m3", np.nan_to_num(density, nan=1.0), 0.0))


def disposal_fee_per_unit(streams: pd.DataFrame, params: dict[str, float], mass: np.ndarray) -> np.ndarray:
    """VND per base unit to dispose of a supply: hazardous fee for NH, landfill fee otherwise.

    Utilities (heat, steam, water) are vented or discharged at no gate fee.
    """
    hazardous = (streams.hazard_mark_effective == "NH").to_numpy() | (streams.hazard_test_result == "hazardous").to_numpy()
    fee = np.where(hazardous, params["hazardous_treatment_fee_vnd_per_t"], params["landfill_fee_vnd_per_t"])
    return np.where(streams.kind.to_numpy() == "utility", 0.0, fee * mass)


def distance_override(pairs: pd.DataFrame | None) -> dict[tuple[str, str], float]:
    """User distance table (firm or park pairs, road km), symmetric."""
    if pairs is None:
        return {}
    out = {}
    for a, b, d in pairs[["from_id", "to_id", "distance_km"]].itertuples(index=False):
        out[(a, b)] = out[(b, a)] = float(d)
    return out


def _group_rows(rows: np.ndarray, keys: np.ndarray) -> dict[str, np.ndarray]:
    """``{key: rows with that key}``, preserving row order."""
    if len(rows) == 0:
        return {}
    order = np.argsort(keys, kind="stable")
    keys_sorted, rows_sorted = keys[order], rows[order]
    cuts = np.flatnonzero(keys_sorted[1:] != keys_sorted[:-1]) + 1
    return {k[0]: r for k, r in zip(np.split(keys_sorted, cuts), np.split(rows_sorted, cuts), strict=True)}


@dataclass
class CandidateContext:
    """Everything about a network that candidate generation reuses across calls."""

    circuity: float
    cost_tkm: float
    mass: np.ndarray
    fee: np.ndarray
    limit: np.ndarray
    xyz: np.ndarray
    firm: np.ndarray
    park: np.ndarray
    material: np.ndarray
    is_out: np.ndarray
    mark: np.ndarray
    test: np.ndarray
    hazardous: np.ndarray  # per stream: marked NH or tested hazardous (needs a licensed receiver)
    marked_ks: np.ndarray  # per stream: marked KS (needs a hazard test)
    tested_safe: np.ndarray  # per stream: hazard test result non-hazardous
    code: np.ndarray
    overrides: dict
    receiver_licences: np.ndarray
    licence_code: np.ndarray  # per stream: integer id of its waste code (-1: none)
    firm_code: np.ndarray  # per stream: integer id of its firm (licence lookups, same-firm checks)
    licence_keys: np.ndarray  # sorted firm id × n_codes + code id of every licence held
    n_codes: int
    by_material_out: dict
    by_material_in: dict
    rules: list
    rule_ids: np.ndarray  # categories of the arcs' rule_id column, in catalogue order
    trees: dict

    @classmethod
    def build(cls, network: Network, cat: Catalogue, distances: pd.DataFrame | None = None,
              economic_pruning: bool = True) -> "CandidateContext":
        params = network.parameters
        s = network.streams
        mass = _mass_per_unit(s, cat)
        fee = disposal_fee_per_unit(s, params, mass)
        is_utility = (s.kind == "utility").to_numpy()
        cost_tkm = params["transport_cost_vnd_per_tkm"]
        # economic haul per supply: fee == cost_tkm × mass × distance; utilities go by pipe
        with np.errstate(divide="ignore", invalid="ignore"):
            econ = np.where(mass > 0, fee / (cost_tkm * mass), np.inf)
        if not economic_pruning:  # a diversion target may need hauls that cost more than landfill
            econ = np.full(len(s), np.inf)
        limit = np.where(is_utility, params["max_pipe_km"], np.minimum(econ, params["max_haul_km"]))
        licence_text = network.firms.set_index("firm_id").licences.fillna("")
        parse = {text: frozenset(c.strip() for c in text.split(";") if c.strip()) for text in licence_text.unique()}
        licences = licence_text.map(parse)  # most firms hold none: parse each distinct text once
        material = s.material_id.to_numpy().astype(str)
        is_out = (s.direction == "output").to_numpy()
        out_idx = np.flatnonzero(is_out)
        in_idx = np.flatnonzero(~is_out)
        # integer keys, so the licence check on hundreds of thousands of pairs is one np.isin
        held = [(f, c) for f, codes in licences[licence_text.to_numpy() != ""].items() for c in codes]
        code_ids = {c: k for k, c in enumerate(dict.fromkeys([c for _, c in held] + s.waste_code.dropna().tolist()))}
        n_codes = max(len(code_ids), 1)
        # firm ids: the licence holders first, then every stream's firm (one factorisation of both)
        firm_code, _ = pd.factorize(np.concatenate([np.array([f for f, _ in held], dtype=object),
                                                    s.firm_id.to_numpy(dtype=object)]))
        holder_code, firm_code = firm_code[: len(held)], firm_code[len(held):]
        licence_keys = np.unique(holder_code.astype(np.int64) * n_codes
                                 + np.array([code_ids[c] for _, c in held], dtype=np.int64))
        return cls(
            licence_code=pd.Index(list(code_ids), dtype=object).get_indexer(s.waste_code.to_numpy(dtype=object)),
            firm_code=firm_code.astype(np.int64),
            licence_keys=licence_keys, n_codes=n_codes,
            circuity=params["circuity_factor"], cost_tkm=cost_tkm, mass=mass, fee=fee, limit=limit,
            xyz=unit_vectors(s.lat.to_numpy(dtype=float), s.lon.to_numpy(dtype=float)),
            firm=s.firm_id.to_numpy(), park=s.park_id.to_numpy(), material=material, is_out=is_out,
            mark=s.hazard_mark_effective.to_numpy(), test=s.hazard_test_result.to_numpy(), code=s.waste_code.to_numpy(),
            # the legal gate as booleans: comparing strings for every candidate pair costs more than the query
            hazardous=((s.hazard_mark_effective == "NH") | (s.hazard_test_result == "hazardous")).to_numpy(dtype=bool),
            marked_ks=(s.hazard_mark_effective == "KS").to_numpy(dtype=bool),
            tested_safe=(s.hazard_test_result == "non_hazardous").to_numpy(dtype=bool),
            overrides=distance_override(distances), receiver_licences=s.firm_id.map(licences).to_numpy(),
            by_material_out=_group_rows(out_idx, material[out_idx]),
            by_material_in=_group_rows(in_idx, material[in_idx]),
            rules=cat.rules.to_dict("records"), rule_ids=cat.rules.rule_id.to_numpy(dtype=object), trees={},
        )


def _apply_overrides(i, j, road, sup, dem, firm, park, overrides):
    """Use the user's road distances: replace them on generated pairs and add the pairs the
    spatial query could not see (a road table may bring two far-apart points within reach)."""
    pairs = pd.DataFrame({"i": i, "j": j, "road": road})
    s_df = pd.DataFrame({"i": sup, "firm_s": firm[sup], "park_s": park[sup]})
    d_df = pd.DataFrame({"j": dem, "firm_d": firm[dem], "park_d": park[dem]})
    table = pd.DataFrame([(a, b, d) for (a, b), d in overrides.items()], columns=["a", "b", "km"])
    found = []
    for left, right in (("firm_s", "firm_d"), ("park_s", "park_d")):
        hit = s_df.merge(table, left_on=left, right_on="a").merge(d_df, left_on="b", right_on=right)
        found.append(hit[["i", "j", "km"]].assign(priority=0 if left == "firm_s" else 1))
    explicit = pd.concat(found).sort_values("priority").drop_duplicates(["i", "j"])
    merged = pairs.merge(explicit[["i", "j", "km"]], on=["i", "j"], how="outer")
    merged["road"] = merged.km.where(merged.km.notna(), merged.road)
    return (merged.i.to_numpy(dtype=np.int64), merged.j.to_numpy(dtype=np.int64),
            merged.road.to_numpy(dtype=float))


def _nearest_pairs(sup_xyz: np.ndarray, tree_d: cKDTree, dem_xyz: np.ndarray, k: int,
                   chord: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Union of each supply's k nearest demands and each demand's k nearest supplies within ``chord``."""
    parts = []
    kd = min(k, len(dem_xyz))
    dist, idx = tree_d.query(sup_xyz, k=kd, distance_upper_bound=chord)
    dist, idx = dist.reshape(len(sup_xyz), kd), idx.reshape(len(sup_xyz), kd)
    ok = np.isfinite(dist)
    parts.append((np.nonzero(ok)[0], idx[ok], dist[ok]))
    ks = min(k, len(sup_xyz))
    dist, idx = cKDTree(sup_xyz).query(dem_xyz, k=ks, distance_upper_bound=chord)
    dist, idx = dist.reshape(len(dem_xyz), ks), idx.reshape(len(dem_xyz), ks)
    ok = np.isfinite(dist)
    parts.append((idx[ok], np.nonzero(ok)[0], dist[ok]))
    i = np.concatenate([p[0] for p in parts])
    j = np.concatenate([p[1] for p in parts])
    v = np.concatenate([p[2] for p in parts])
    _, first = np.unique(i.astype(np.int64) * (len(dem_xyz) + 1) + j, return_index=True)
    return i[first], j[first], v[first]


def _pairs_within(sup_xyz: np.ndarray, tree_d: cKDTree, dem_xyz: np.ndarray,
                  radius_km: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs within each supply's *own* radius (pricing radii differ widely between supplies;
    one query at the largest radius would generate most pairs only to discard them)."""
    radius_km = np.where(np.isfinite(radius_km), np.maximum(radius_km, 0.0), np.pi * EARTH_RADIUS_KM)
    chords = 2 * EARTH_RADIUS_KM * np.sin(np.minimum(radius_km, np.pi * EARTH_RADIUS_KM) / (2 * EARTH_RADIUS_KM))
    hits = tree_d.query_ball_point(sup_xyz, r=chords + 1e-9, return_sorted=False)
    counts = np.fromiter(map(len, hits), dtype=np.int64, count=len(hits))
    if counts.sum() == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
    pi = np.repeat(np.arange(len(sup_xyz)), counts)
    pj = np.fromiter(itertools.chain.from_iterable(hits), dtype=np.int64, count=int(counts.sum()))
    pv = np.linalg.norm(sup_xyz[pi] - dem_xyz[pj], axis=1)
    return pi, pj, pv


def build_candidates(network: Network, catalogue: Catalogue | None = None,
                     distances: pd.DataFrame | None = None, supply_mask: np.ndarray | None = None,
                     radius_cap: np.ndarray | None = None, k_nearest: int | None = None,
                     context: "CandidateContext | None" = None, economic_pruning: bool = True,
                     list_excluded: bool = True) -> Candidates:
    """Generate feasible supply→demand arcs (see module docstring).

    Parameters
    ----------
    supply_mask
        Only supplies (stream rows) where this is True — used by pricing in column generation.
    radius_cap
        Per stream row, a further cap on road km (pricing: beyond it no arc can improve).
    k_nearest
        Only each supply's ``k`` nearest compatible demands and each demand's ``k``
        nearest compatible supplies (the sparse starting set of column generation).
        ``None`` generates every feasible arc.
    context
        Per-network arrays and k-d trees to reuse across calls (column generation prices
        the same network many times).
    economic_pruning
        Drop arcs longer than the economic haul (exact for every objective without a
        diversion target; a target can make such hauls worthwhile).
    list_excluded
        Also return the pairs the legal gate or the distance excluded, with their reasons
        (column generation's pricing asks for arcs only: at province scale it would build
        ~145 000 such rows per query and discard them).
    """
    ctx = context or CandidateContext.build(network, catalogue or load_catalogue(), distances, economic_pruning)
    flat, compatible = _rule_pairs(ctx, supply_mask, radius_cap, k_nearest, want_compatible=True)
    ok = flat["reason"] == 0
    shown = ~ok if list_excluded else np.zeros(len(ok), dtype=bool)
    excluded = pd.DataFrame({"supply": flat["i"][shown], "demand": flat["j"][shown],
                             "reason": _REASONS[flat["reason"][shown]], "rule_id": ctx.rule_ids[flat["rule"][shown]],
                             "distance_km": flat["road"][shown]})
    arcs = arc_table(ctx, _best_rule_per_pair({k: v[ok] for k, v in flat.items()}, len(network.streams)))
    return Candidates(arcs, excluded, frozenset(compatible))


def feasible_arcs(ctx: CandidateContext, supply_mask: np.ndarray, radius_cap: np.ndarray) -> dict[str, np.ndarray]:
    """Every feasible arc of the supplies in ``supply_mask`` within their ``radius_cap`` (road km), as arrays
    ``supply``, ``demand``, ``rule`` (position in the catalogue's rules), ``yield``, ``distance_km`` — what
    column generation's pricing needs, without building tables (:func:`arc_table` makes one)."""
    flat, _ = _rule_pairs(ctx, supply_mask, radius_cap, None, want_compatible=False)
    ok = np.flatnonzero(flat["reason"] == 0)
    return _best_rule_per_pair({k: v[ok] for k, v in flat.items()}, len(ctx.mass))


def arc_table(ctx: CandidateContext, arcs: dict[str, np.ndarray], with_rule: bool = True) -> pd.DataFrame:
    """The ``Candidates.arcs`` table of arcs given as arrays (see :func:`feasible_arcs`); without the
    ``rule_id`` column if not ``with_rule`` (pricing needs the numbers only)."""
    rule = {"rule_id": pd.Categorical.from_codes(arcs["rule"], categories=ctx.rule_ids)} if with_rule else {}
    return pd.DataFrame({  # the arrays are new: no copy (consolidating them would copy every column)
        "supply": arcs["supply"], "demand": arcs["demand"], **rule, "yield": arcs["yield"],
        "distance_km": arcs["distance_km"], **cost_columns(ctx, arcs["supply"], arcs["distance_km"]),
    }, copy=False)


def cost_columns(ctx: CandidateContext, supply: np.ndarray, distance_km: np.ndarray) -> dict[str, np.ndarray]:
    """The arc columns that follow from the supply, the distance and ``ctx``'s prices."""
    mass = ctx.mass[supply]
    return {"mass_t_per_unit": mass, "transport_cost_per_unit": ctx.cost_tkm * mass * distance_km,
            "disposal_fee_per_unit": ctx.fee[supply]}


def _rule_pairs(ctx: CandidateContext, supply_mask: np.ndarray | None, radius_cap: np.ndarray | None,
                k_nearest: int | None, want_compatible: bool) -> tuple[dict[str, np.ndarray], set[int]]:
    """Every rule-compatible pair the spatial search finds, rule by rule, as arrays ``i`` (supply row),
    ``j`` (demand row), ``road`` (km), ``rule``, ``yield`` and ``reason`` (0 feasible, 1 not licensed,
    2 no hazard test, 3 too far); and the supplies with a rule-compatible demand at any distance."""
    circuity, xyz, firm, park = ctx.circuity, ctx.xyz, ctx.firm, ctx.park
    overrides = ctx.overrides
    limit = ctx.limit if radius_cap is None else np.minimum(ctx.limit, radius_cap)
    if supply_mask is None:
        by_material_out = ctx.by_material_out
    else:
        out_idx = np.flatnonzero(ctx.is_out & supply_mask)
        by_material_out = _group_rows(out_idx, ctx.material[out_idx])
    by_material_in = ctx.by_material_in
    trees = ctx.trees
    rules_records = ctx.rules

    compatible: set[int] = set()  # supplies with some rule-compatible demand at any distance
    firm_id = ctx.firm_code  # integers: cheaper to compare than the id strings
    cols: dict[str, list] = {k: [] for k in ("i", "j", "road", "rule", "yield", "reason")}
    for rule_no, rule in enumerate(rules_records):
        sup = by_material_out.get(rule["supply_material_id"])
        dem = by_material_in.get(rule["demand_material_id"])
        if sup is None or dem is None:
            continue
        dem_firm = firm_id[dem]
        one_firm = bool(np.all(dem_firm == dem_firm[0]))  # then its own supplies have no partner
        if want_compatible:
            compatible.update((sup[firm_id[sup] != dem_firm[0]] if one_firm else sup).tolist())
        if rule["demand_material_id"] not in trees:
            trees[rule["demand_material_id"]] = cKDTree(xyz[dem])
        tree_d = trees[rule["demand_material_id"]]
        radius = float(np.max(limit[sup])) / circuity
        if not np.isfinite(radius) or radius <= 0:
            radius = 0.0
        chord = great_circle_to_chord(radius) + 1e-9
        if k_nearest is None and radius_cap is not None:
            pi, pj, pv = _pairs_within(xyz[sup], tree_d, xyz[dem], limit[sup] / circuity)
        elif k_nearest is None:
            pairs = cKDTree(xyz[sup]).sparse_distance_matrix(tree_d, chord, output_type="ndarray")
            pi, pj, pv = pairs["i"], pairs["j"], pairs["v"]
        else:
            pi, pj, pv = _nearest_pairs(xyz[sup], tree_d, xyz[dem], k_nearest, chord)
        i = sup[pi]
        j = dem[pj]
        road = chord_to_great_circle(pv) * circuity
        if overrides:
            i, j, road = _apply_overrides(i, j, road, sup, dem, firm, park, overrides)
        keep = firm_id[i] != firm_id[j]
        i, j, road = i[keep], j[keep], road[keep]
        if len(i) == 0:
            continue
        # legal gate
        needs_licence = ctx.hazardous[i] | (rule["legal_condition"] == "hazardous_licence")
        code_i = ctx.licence_code[i]
        licensed = np.zeros(len(i), dtype=bool)
        ask = needs_licence & (code_i >= 0)  # only hazardous pairs need the (costly) licence lookup
        if ask.any():
            licensed[ask] = np.isin(ctx.firm_code[j[ask]] * ctx.n_codes + code_i[ask], ctx.licence_keys)
        needs_test = (ctx.marked_ks[i] | (rule["legal_condition"] == "hazard_test")) & ~needs_licence
        reason = np.zeros(len(i), dtype=np.int8)  # 0 ok, 1 not licensed, 2 no test, 3 too far
        reason[needs_licence & ~licensed] = 1
        reason[needs_test & ~ctx.tested_safe[i]] = 2
        reason[(reason == 0) & (road > limit[i] + 1e-9)] = 3
        cols["i"].append(i)
        cols["j"].append(j)
        cols["road"].append(road)
        cols["rule"].append(np.full(len(i), rule_no, dtype=np.int32))
        cols["yield"].append(np.full(len(i), float(rule["yield"])))
        cols["reason"].append(reason)
    if cols["i"]:
        return {k: np.concatenate(v) for k, v in cols.items()}, compatible
    return {k: np.zeros(0, dtype=t) for k, t in (("i", np.int64), ("j", np.int64), ("road", float), ("rule", np.int32),
                                                 ("yield", float), ("reason", np.int8))}, compatible


def _best_rule_per_pair(flat: dict[str, np.ndarray], n_streams: int) -> dict[str, np.ndarray]:
    """One arc per (supply, demand) of the feasible pairs ``flat``: the rule with the best yield (ties: the
    first rule in the file, which comes first already — pairs were appended rule by rule — so one stable
    sort on a single integer key (pair, then yield from the best) does what a four-key lexsort would)."""
    levels, yield_rank = np.unique(-flat["yield"], return_inverse=True)
    pair = flat["i"].astype(np.int64) * n_streams + flat["j"]
    order = np.argsort(pair * max(len(levels), 1) + yield_rank.reshape(-1), kind="stable")
    i, j = flat["i"][order], flat["j"][order]
    first = np.ones(len(i), dtype=bool)
    first[1:] = (i[1:] != i[:-1]) | (j[1:] != j[:-1])
    pick = order[first]
    return {"supply": flat["i"][pick].astype(np.int64), "demand": flat["j"][pick].astype(np.int64),
            "rule": flat["rule"][pick], "yield": flat["yield"][pick], "distance_km": flat["road"][pick]}
