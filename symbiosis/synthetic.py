"""Random, clearly SYNTHETIC instances for tests and benchmarks.

Firms are scattered uniformly over a box the size of the merged Hưng Yên province
(or any box); each stream takes the supply or demand side of a random exchange rule.
Names say "DN mô phỏng" (simulated firm); nothing here describes a real company.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from symbiosis import schema
from symbiosis.catalogue import load_catalogue

HUNG_YEN_BOX = ((20.35, 21.0), (105.9, 106.65))  # rough extent of the merged province


def synthetic_tables(n_firms: int, n_streams: int, seed: int = 0, box=HUNG_YEN_BOX) -> dict[str, pd.DataFrame]:
    """Tables shaped like :meth:`Store.read_all` with ``n_firms`` firms and ``n_streams`` streams.

    Quantities are log-normal (median ≈ 150 base units per year); 5 % of firms hold a
    licence for the placeholder code ``00 00 01`` that every synthetic waste carries.
    """
    rng = np.random.default_rng(seed)
    cat = load_catalogue()
    rules = cat.rules
    park = pd.DataFrame([{"park_id": "SYN", "name": "KCN mô phỏng", "kind": "KCN", "province": "Hưng Yên",
                          "lat": 20.9, "lon": 106.0, "area_ha": None, "operator": None,
                          "location_quality": "approximate", "location_method": "synthetic", "source": "synthetic",
                          "notes": "synthetic benchmark"}])
    firms = pd.DataFrame({"firm_id": [f"F{k:06d}" for k in range(n_firms)],
                          "name": [f"DN mô phỏng {k:06d}" for k in range(n_firms)],
                          "park_id": None, "sector_code": "IV.6",
                          "lat": rng.uniform(*box[0], n_firms), "lon": rng.uniform(*box[1], n_firms),
                          "licences": None, "notes": "synthetic"})
    pick = rules.iloc[rng.integers(0, len(rules), n_streams)]
    output = rng.random(n_streams) < 0.5
    material = np.where(output, pick.supply_material_id, pick.demand_material_id)
    streams = pd.DataFrame({c: None for c in schema.columns("streams")}, index=range(n_streams))
    streams["stream_id"] = [f"S{k:07d}" for k in range(n_streams)]
    streams["firm_id"] = firms.firm_id.to_numpy()[rng.integers(0, n_firms, n_streams)]
    streams["direction"] = np.where(output, "output", "input")
    streams["material_id"] = material
    streams["quantity"] = np.round(rng.lognormal(5, 1.2, n_streams), 3)
    streams["unit"] = cat.materials.loc[material, "base_unit"].to_numpy()
    streams["frequency"] = "year"
    streams["hazard_test_result"] = "non_hazardous"
    streams["waste_code"] = "00 00 01"
    lic = firms.firm_id.sample(frac=0.05, random_state=seed)
    firms.loc[lic.index, "licences"] = "00 00 01"
    return {"parks": park, "firms": firms, "streams": streams,
            "parameters": pd.DataFrame(columns=schema.columns("parameters"))}


