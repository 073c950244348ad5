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
REASON_NO_RULE = "no_compatible_demand"


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

    ``arcs`` columns: supply (row in ``network.streams``), demand (row), rule_id, yield,
    distance_km (road), mass_t_per_unit, transport_cost_per_unit (VND per supply unit),
    disposal_fee_per_unit. ``excluded`` columns: supply, demand, rule_id, reason, distance_km.
    """

    arcs: pd.DataFrame
    excluded: pd.DataFrame
    compatible_supplies: frozenset[int] = frozenset()


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


def build_candidates(network: Network, catalogue: Catalogue | None = None,
                     distances: pd.DataFrame | None = None, supply_mask: np.ndarray | None = None,
                     radius_cap: np.ndarray | None = None, k_nearest: int | None = None) -> Candidates:
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
    """
    cat = catalogue or load_catalogue()
    params = network.parameters
    s = network.streams
    circuity = params["circuity_factor"]
    cost_tkm = params["transport_cost_vnd_per_tkm"]
    mass = _mass_per_unit(s, cat)
    fee = disposal_fee_per_unit(s, params, mass)
    is_utility = (s.kind == "utility").to_numpy()
    # economic haul per supply: fee == cost_tkm × mass × distance; utilities go by pipe
    with np.errstate(divide="ignore", invalid="ignore"):
        econ = np.where(mass > 0, fee / (cost_tkm * mass), np.inf)
    limit = np.minimum(econ, params["max_haul_km"])
    limit = np.where(is_utility, params["max_pipe_km"], limit)
    if radius_cap is not None:
        limit = np.minimum(limit, radius_cap)
    xyz = unit_vectors(s.lat.to_numpy(dtype=float), s.lon.to_numpy(dtype=float))
    firm = s.firm_id.to_numpy()
    park = s.park_id.to_numpy()
    overrides = distance_override(distances)
    licences = network.firms.set_index("firm_id").licences.fillna("").map(
        lambda text: frozenset(c.strip() for c in text.split(";") if c.strip()))
    receiver_licences = s.firm_id.map(licences).to_numpy()

    is_out = (s.direction == "output").to_numpy()
    if supply_mask is not None:
        is_out = is_out & supply_mask
    out_idx = np.flatnonzero(is_out)
    in_idx = np.flatnonzero((s.direction == "input").to_numpy())
    by_material_out = pd.Series(out_idx).groupby(s.material_id.to_numpy()[out_idx]).apply(np.asarray).to_dict()
    by_material_in = pd.Series(in_idx).groupby(s.material_id.to_numpy()[in_idx]).apply(np.asarray).to_dict()
    trees: dict[str, cKDTree] = {}

    arc_parts, excl_parts = [], []
    compatible: set[int] = set()  # supplies with some rule-compatible demand at any distance
    rules = cat.rules
    for rule in rules.to_dict("records"):
        sup = by_material_out.get(rule["supply_material_id"])
        dem = by_material_in.get(rule["demand_material_id"])
        if sup is None or dem is None:
            continue
        other_firms = set(firm[dem])
        compatible.update(int(k) for k in sup if len(other_firms - {firm[k]}) > 0)
        if rule["demand_material_id"] not in trees:
            trees[rule["demand_material_id"]] = cKDTree(xyz[dem])
        tree_d = trees[rule["demand_material_id"]]
        radius = float(np.max(limit[sup])) / circuity
        if not np.isfinite(radius) or radius <= 0:
            radius = 0.0
        chord = great_circle_to_chord(radius) + 1e-9
        if k_nearest is None:
            pairs = cKDTree(xyz[sup]).sparse_distance_matrix(tree_d, chord, output_type="ndarray")
            pi, pj, pv = pairs["i"], pairs["j"], pairs["v"]
        else:
            pi, pj, pv = _nearest_pairs(xyz[sup], tree_d, xyz[dem], k_nearest, chord)
        i = sup[pi]
        j = dem[pj]
        road = chord_to_great_circle(pv) * circuity
        if overrides:
            i, j, road = _apply_overrides(i, j, road, sup, dem, firm, park, overrides)
        if len(i) == 0:
            continue
        keep = firm[i] != firm[j]
        i, j, road = i[keep], j[keep], road[keep]
        # legal gate
        mark = s.hazard_mark_effective.to_numpy()[i]
        test = s.hazard_test_result.to_numpy()[i]
        needs_licence = (mark == "NH") | (test == "hazardous") | (rule["legal_condition"] == "hazardous_licence")
        code = s.waste_code.to_numpy()[i]
        licensed = np.array([c is not None and c in lic for c, lic in zip(code, receiver_licences[j], strict=True)],
                            dtype=bool)
        needs_test = ((mark == "KS") | (rule["legal_condition"] == "hazard_test")) & ~needs_licence
        tested = test == "non_hazardous"
        reason = np.full(len(i), "", dtype=object)
        reason[needs_licence & ~licensed] = REASON_NOT_LICENSED
        reason[needs_test & ~tested] = REASON_NO_HAZARD_TEST
        reason[(reason == "") & (road > limit[i] + 1e-9)] = REASON_TOO_FAR
        ok = reason == ""
        cols = dict(rule_id=rule["rule_id"], distance_km=road)
        excl_parts.append(pd.DataFrame(dict(supply=i[~ok], demand=j[~ok], reason=reason[~ok], **{
            k: (v[~ok] if isinstance(v, np.ndarray) else v) for k, v in cols.items()})))
        arc_parts.append(pd.DataFrame({"supply": i[ok], "demand": j[ok], "rule_id": rule["rule_id"],
                                       "yield": float(rule["yield"]), "distance_km": road[ok]}))
    arc_cols = ["supply", "demand", "rule_id", "yield", "distance_km"]
    arcs = pd.concat(arc_parts, ignore_index=True) if arc_parts else pd.DataFrame(columns=arc_cols)
    excluded = pd.concat(excl_parts, ignore_index=True) if excl_parts else pd.DataFrame(
        columns=["supply", "demand", "reason", "rule_id", "distance_km"])
    # one arc per (supply, demand): keep the rule with the best yield (ties: lowest rule id)
    arcs = (arcs.sort_values(["supply", "demand", "yield", "rule_id"], ascending=[True, True, False, True])
            .drop_duplicates(["supply", "demand"]).reset_index(drop=True))
    arcs = arcs.astype({"supply": int, "demand": int, "yield": float, "distance_km": float})
    arcs["mass_t_per_unit"] = mass[arcs.supply.to_numpy()]
    arcs["transport_cost_per_unit"] = cost_tkm * arcs.mass_t_per_unit * arcs.distance_km
    arcs["disposal_fee_per_unit"] = fee[arcs.supply.to_numpy()]
    return Candidates(arcs, excluded.reset_index(drop=True), frozenset(compatible))
