"""Validation on published eco-industrial-park networks (Li 2014 "EIPs" data set).

Each published network lists links (supplier, accepter, transaction, attribute) but
no tonnages or coordinates. For every by-product link whose transaction maps to a
catalogue material (``data/validation/eip_transaction_map.csv``) we give the
supplier one unit of supply and the accepter the matching demand, put every firm at
the same point (no geography is published), let the engine choose, and measure the
share of published by-product links it proposes (recall).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from matching.engine import run_matching
from symbiosis import schema
from symbiosis.catalogue import load_catalogue
from symbiosis.network import build_network
from symbiosis.resources import data_path

PLACEHOLDER_CODE = "00 00 01"  # legality is not what is being validated


def load_links(path: Path) -> pd.DataFrame:
    """One network's links with columns supplier, accepter, transaction, attribute (normalised)."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    raw.columns = ["supplier", "accepter", "transaction", "attribute"]
    for col in raw.columns:
        raw[col] = raw[col].str.strip()
    raw["attribute"] = raw.attribute.str.lower().str.replace("-", "").str.replace(" ", "")
    return raw


def transaction_map() -> pd.DataFrame:
    return pd.read_csv(data_path("validation", "eip_transaction_map.csv"), dtype=str, keep_default_na=False)


def _tables(links: pd.DataFrame) -> dict[str, pd.DataFrame]:
    cat = load_catalogue()
    names = sorted(set(links.supplier) | set(links.accepter))
    firm_id = {n: f"F{k:03d}" for k, n in enumerate(names)}
    parks = pd.DataFrame([{"park_id": "EIP", "name": "published network", "kind": "other", "province": "-",
                           "lat": 21.0, "lon": 106.0, "area_ha": None, "operator": None,
                           "location_quality": "approximate", "location_method": "no geography published",
                           "source": "Li 2014 EIPs data set", "notes": None}])
    firms = pd.DataFrame({"firm_id": [firm_id[n] for n in names], "name": names, "park_id": "EIP",
                          "sector_code": "X.2", "lat": None, "lon": None, "licences": PLACEHOLDER_CODE, "notes": None})
    rows = []
    for k, link in enumerate(links.itertuples(index=False)):
        y = float(cat.rules[(cat.rules.supply_material_id == link.supply_material_id)
                            & (cat.rules.demand_material_id == link.demand_material_id)]["yield"].max())
        base = {c: None for c in schema.columns("streams")}
        rows.append({**base, "stream_id": f"S{k:04d}", "firm_id": firm_id[link.supplier], "direction": "output",
                     "material_id": link.supply_material_id, "quantity": 1.0, "frequency": "year",
                     "unit": cat.materials.at[link.supply_material_id, "base_unit"],
                     "waste_code": PLACEHOLDER_CODE, "hazard_test_result": "non_hazardous"})
        rows.append({**base, "stream_id": f"D{k:04d}", "firm_id": firm_id[link.accepter], "direction": "input",
                     "material_id": link.demand_material_id, "quantity": y, "frequency": "year",
                     "unit": cat.materials.at[link.demand_material_id, "base_unit"]})
    return {"parks": parks, "firms": firms, "streams": pd.DataFrame(rows),
            "parameters": pd.DataFrame(columns=schema.columns("parameters"))}, firm_id


def recall(network_dir: Path, attributes: tuple[str, ...] = ("byproduct",)) -> pd.DataFrame:
    """Recall per network: published links of the given attributes that the engine proposes."""
    mapping = transaction_map()
    rows = []
    for path in sorted(network_dir.glob("*.csv")):
        links = load_links(path)
        links = links[links.attribute.isin(attributes) & (links.supplier != links.accepter)]
        links = links.merge(mapping[mapping.network == path.stem], on="transaction", how="left")
        mappable = links[links.mapping_quality.isin(["exact", "approximate"])].reset_index(drop=True)
        recovered = 0
        if len(mappable):
            tables, firm_id = _tables(mappable)
            result = run_matching(build_network(tables))
            proposed = set(zip(result.matches.supplier_firm_id, result.matches.receiver_firm_id,
                               result.matches.material_id, strict=True))
            published = list(zip(mappable.supplier.map(firm_id), mappable.accepter.map(firm_id),
                                 mappable.supply_material_id, strict=True))
            recovered = sum(1 for p in published if p in proposed)
        rows.append({"network": path.stem, "links": len(links), "mappable": len(mappable), "recovered": recovered,
                     "recall_mappable": recovered / len(mappable) if len(mappable) else np.nan,
                     "recall_all": recovered / len(links) if len(links) else np.nan})
    return pd.DataFrame(rows)
