"""The Hưng Yên demo: the province's real parks and clusters with SYNTHETIC tenants.

Parks (``data/demo/parks.csv``) are real, with approximate points and their sources.
Tenants are generated — deterministically from a seed — by archetypes
(``data/demo/archetypes.csv``) whose typical streams and magnitudes are listed, each
with its basis or the word "assumption", in ``data/demo/archetype_streams.csv``.
Which archetypes a park hosts follows its known tenant industries
(``data/demo/park_industries.csv``). Every firm is named "DN mô phỏng NNNN – …";
no real company is invented.

Waste codes: where the catalogue has a code seen in a source it is used; otherwise
the stream gets a *placeholder* in group 99 (``99 NN NN``), which does not exist in
Circular 02/2022 (its groups stop at 19) and marks the code as synthetic.

Run ``python -m symbiosis.demo`` to regenerate the shipped files.
"""

from __future__ import annotations

import argparse
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from symbiosis import schema
from symbiosis.catalogue import load_catalogue
from symbiosis.io import write_csv_folder, write_workbook
from symbiosis.resources import data_path
from symbiosis.settings import PLACEHOLDER_WASTE_CODE_GROUP

DEFAULT_FIRMS = 600
DEFAULT_SEED = 56  # Kế hoạch 56/KH-UBND
SPREAD_SIGMA = 0.5  # log-normal spread of a stream around its archetype median (assumption)
KM_PER_DEG = 111.2


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(data_path("demo", name), dtype=str, keep_default_na=False, encoding="utf-8")


@cache
def demo_inputs() -> dict[str, pd.DataFrame]:
    parks = _read("parks.csv")
    for col in ("lat", "lon", "area_ha"):
        parks[col] = pd.to_numeric(parks[col].replace("", None)).astype(float)
    streams = _read("archetype_streams.csv")
    streams["median_per_year"] = streams.median_per_year.astype(float)
    streams["probability"] = streams.probability.astype(float)
    industries = _read("park_industries.csv")
    industries["weight"] = industries.weight.astype(float)
    industries["occupancy"] = industries.occupancy.astype(float)
    return {"parks": parks, "archetypes": _read("archetypes.csv").set_index("archetype_id", drop=False),
            "streams": streams, "industries": industries}


def waste_code_for(material_id: str) -> str:
    """The catalogue's code if one was seen in a source, else a group-99 placeholder."""
    cat = load_catalogue()
    code = cat.materials.at[material_id, "waste_code"]
    if code:
        return code
    k = list(cat.materials.index).index(material_id)
    return f"{PLACEHOLDER_WASTE_CODE_GROUP} {k // 100:02d} {k % 100:02d}"


def _allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Largest-remainder rounding of ``total`` in proportion to ``weights``."""
    raw = total * weights / weights.sum()
    base = np.floor(raw).astype(int)
    order = np.argsort(-(raw - base), kind="stable")
    base[order[: total - base.sum()]] += 1
    return base


def generate_demo(n_firms: int = DEFAULT_FIRMS, seed: int = DEFAULT_SEED) -> dict[str, pd.DataFrame]:
    """Parks, synthetic firms and their streams, shaped like the import tables."""
    inputs = demo_inputs()
    cat = load_catalogue()
    rng = np.random.default_rng(seed)
    parks = inputs["parks"]
    industries = inputs["industries"]
    hosts = parks[parks.park_id.isin(industries.park_id)].reset_index(drop=True)
    occupancy = industries.groupby("park_id").occupancy.first()
    occupied_ha = hosts.area_ha.fillna(hosts.area_ha.median()) * hosts.park_id.map(occupancy)
    counts = _allocate(n_firms, occupied_ha.to_numpy())  # tenants in proportion to occupied land
    firms, streams = [], []
    number = 0
    # wastes that must show a hazard-threshold test: KS-marked, or a rule demands one
    needs_test = set(cat.rules[cat.rules.legal_condition == "hazard_test"].supply_material_id)
    for park, count in zip(hosts.itertuples(index=False), counts, strict=True):
        mix = industries[industries.park_id == park.park_id]
        kinds = rng.choice(mix.archetype_id.to_numpy(), size=count, p=(mix.weight / mix.weight.sum()).to_numpy())
        radius_km = np.sqrt((park.area_ha if park.area_ha == park.area_ha else 100.0) / 100.0 / np.pi)
        for kind in kinds:
            number += 1
            firm, rows = _tenant(park, kind, f"DEMO-{number:04d}", number, rng, inputs, cat, needs_test, radius_km)
            firms.append(firm)
            streams.extend(rows)
    return {
        "parks": parks[schema.columns("parks")].copy(),
        "firms": pd.DataFrame(firms, columns=schema.columns("firms")),
        "streams": pd.DataFrame(streams, columns=schema.columns("streams")),
    }


def _tenant(park, kind: str, firm_id: str, number: int, rng: np.random.Generator, inputs: dict, cat,
            needs_test: set, radius_km: float) -> tuple[dict, list[dict]]:
    """One synthetic tenant of archetype ``kind`` placed at random inside ``park``, with its streams."""
    arche = inputs["archetypes"].loc[kind]
    r = radius_km * np.sqrt(rng.random())
    angle = 2 * np.pi * rng.random()
    lat = park.lat + r * np.sin(angle) / KM_PER_DEG
    lon = park.lon + r * np.cos(angle) / (KM_PER_DEG * np.cos(np.radians(park.lat)))
    licences = "; ".join(sorted(waste_code_for(m) for m in arche.licensed_for.split(";") if m)) or None
    firm = {"firm_id": firm_id, "name": f"DN mô phỏng {number:04d} – {arche.name_vi}",
            "park_id": park.park_id, "sector_code": arche.sector_code,
            "lat": round(float(lat), 5), "lon": round(float(lon), 5), "licences": licences,
            "notes": "dữ liệu mô phỏng (synthetic); vị trí gần đúng trong khu"}
    streams = []
    for k, s in enumerate(inputs["streams"][inputs["streams"].archetype_id == kind].itertuples(index=False)):
        if rng.random() >= s.probability:
            continue
        m = cat.materials.loc[s.material_id]
        quantity = float(f"{s.median_per_year * rng.lognormal(0.0, SPREAD_SIGMA):.3g}")
        uncertain = rng.random() < 0.2
        is_waste_output = s.direction == "output" and m.kind == "waste"
        ks = (s.direction == "output" and m.kind in ("waste", "by-product")
              and (m.hazard_mark == "KS" or s.material_id in needs_test))
        streams.append({
            "stream_id": f"{firm_id}-{k + 1:02d}", "firm_id": firm_id, "direction": s.direction,
            "material_id": s.material_id, "quantity": quantity, "unit": m.base_unit, "frequency": "year",
            "quantity_min": float(f"{quantity * 0.7:.3g}") if uncertain else None,
            "quantity_max": float(f"{quantity * 1.3:.3g}") if uncertain else None,
            "waste_code": waste_code_for(s.material_id) if is_waste_output else None,
            "hazard_mark": None,
            "hazard_test_result": ("non_hazardous" if rng.random() < 0.7 else None) if ks else None,
            "notes": "mô phỏng (synthetic)",
        })
    return firm, streams


def generate_tenants(park_id: str, n_firms: int, seed: int = DEFAULT_SEED,
                     parks: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """SYNTHETIC tenants for one park (e.g. a pipeline KCN opening in a scenario).

    The tenant mix follows the park's known industries (``park_industries.csv``); a park
    without a recorded mix gets the average mix of all recorded parks. Firm ids are
    ``SCN-<park>-NNN`` so they never clash with stored firms.
    """
    inputs = demo_inputs()
    cat = load_catalogue()
    rng = np.random.default_rng(seed)
    table = parks if parks is not None and park_id in set(parks.park_id) else inputs["parks"]
    if park_id not in set(table.park_id):
        raise KeyError(park_id)
    park = table[table.park_id == park_id].iloc[0]
    industries = inputs["industries"]
    mix = industries[industries.park_id == park_id]
    if mix.empty:  # no recorded mix: the province-wide average
        mix = industries.groupby("archetype_id", as_index=False).weight.sum()
    kinds = rng.choice(mix.archetype_id.to_numpy(), size=n_firms, p=(mix.weight / mix.weight.sum()).to_numpy())
    area = park.area_ha if park.area_ha == park.area_ha and park.area_ha else 100.0
    radius_km = np.sqrt(area / 100.0 / np.pi)
    needs_test = set(cat.rules[cat.rules.legal_condition == "hazard_test"].supply_material_id)
    firms, streams = [], []
    for number, kind in enumerate(kinds, start=1):
        firm, rows = _tenant(park, kind, f"SCN-{park_id}-{number:03d}", number, rng, inputs, cat, needs_test,
                             radius_km)
        firms.append(firm)
        streams.extend(rows)
    return {"firms": pd.DataFrame(firms, columns=schema.columns("firms")),
            "streams": pd.DataFrame(streams, columns=schema.columns("streams"))}


def demo_dir() -> Path:
    return data_path("demo", "dataset")


def write_demo(folder: Path | None = None, n_firms: int = DEFAULT_FIRMS, seed: int = DEFAULT_SEED) -> Path:
    """Write the demo as CSVs (``folder``, default the shipped dataset) plus the worked-example workbook."""
    folder = folder or demo_dir()
    tables = generate_demo(n_firms, seed)
    write_csv_folder(tables, folder)
    write_workbook(tables, folder.parent / "du_lieu_mau_hung_yen.xlsx" if folder == demo_dir()
                   else folder / "du_lieu_mau_hung_yen.xlsx")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firms", type=int, default=DEFAULT_FIRMS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    print(write_demo(args.out, args.firms, args.seed))


if __name__ == "__main__":
    main()
