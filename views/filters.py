"""Filter widgets shared by the map and opportunities pages (park, sector, material, mark)."""

import pandas as pd
import streamlit as st

from symbiosis.catalogue import load_catalogue
from symbiosis.schema import enum_keys
from views.common import lang, tr


def filter_matches(network, matches: pd.DataFrame, key: str) -> pd.DataFrame:
    cat = load_catalogue()
    parks = network.parks.set_index("park_id").name
    firms = network.firms.set_index("firm_id")
    name_col = "name_vi" if lang() == "vi" else "name_en"
    cols = st.columns(4)
    park = cols[0].multiselect(tr("ui.filter_park"), list(parks.index), format_func=lambda p: parks[p], key=f"{key}_park")
    sectors = sorted(network.firms.sector_code.unique())
    sector = cols[1].multiselect(tr("ui.filter_sector"), sectors, key=f"{key}_sector",
                                 format_func=lambda c: f"{c} {cat.subsectors.at[c, name_col]}")
    materials = sorted(matches.material_id.unique())
    material = cols[2].multiselect(tr("ui.filter_material"), materials, key=f"{key}_material",
                                   format_func=lambda m: cat.materials.at[m, name_col])
    mark = cols[3].multiselect(tr("ui.filter_mark"), enum_keys("hazard_mark"), key=f"{key}_mark")
    out = matches
    if park:
        out = out[out.supplier_park_id.isin(park) | out.receiver_park_id.isin(park)]
    if sector:
        sec = firms.sector_code
        out = out[out.supplier_firm_id.map(sec).isin(sector) | out.receiver_firm_id.map(sec).isin(sector)]
    if material:
        out = out[out.material_id.isin(material)]
    if mark:
        out = out[out.hazard_mark.isin(mark)]
    return out
