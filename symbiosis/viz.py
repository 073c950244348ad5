"""Figures for the app and notebooks: functions return pydeck/plotly objects, pages render them.

Everything renders offline: no tile server is used; the province outline (public-domain
geoBoundaries, read at run time from ``shared/geodata`` where present) is the base layer.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pydeck as pdk

from symbiosis.catalogue import load_catalogue
from symbiosis.i18n import fmt_number, t

#: Where the shared, public-domain province boundaries live in a checkout (never copied in).
GEODATA = Path(__file__).resolve().parents[2] / "shared" / "geodata" / "vietnam-adm1-geoboundaries" / \
    "geoBoundaries-VNM-ADM1_simplified.geojson"
PROVINCE_NAMES = ("Hưng Yên", "Thái Bình", "Hung Yen", "Thai Binh")

_PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
            (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]


def colour_for(keys: pd.Series) -> list[list[int]]:
    """A stable colour per category (sector, material class)."""
    cats = sorted(keys.dropna().unique())
    lookup = {k: list(_PALETTE[i % len(_PALETTE)]) for i, k in enumerate(cats)}
    return [lookup.get(k, [120, 120, 120]) for k in keys]


@cache
def province_outline(path: Path = GEODATA) -> dict | None:
    """GeoJSON of the province (former Hưng Yên + Thái Bình), or None if the file is absent."""
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    features = [f for f in data["features"] if f["properties"].get("shapeName") in PROVINCE_NAMES]
    return {"type": "FeatureCollection", "features": features} if features else None


def flows_table(matches: pd.DataFrame, network) -> pd.DataFrame:
    """Matches with coordinates, names and material class, ready for a map layer."""
    firms = network.firms.set_index("firm_id")
    cat = load_catalogue()
    out = matches.copy()
    for side, col in (("from", "supplier_firm_id"), ("to", "receiver_firm_id")):
        out[f"{side}_lon"] = out[col].map(firms.lon)
        out[f"{side}_lat"] = out[col].map(firms.lat)
        out[f"{side}_name"] = out[col].map(firms.name)
    out["material_class"] = out.material_id.map(cat.materials.material_class)
    out["material_vi"] = out.material_id.map(cat.materials.name_vi)
    out["material_en"] = out.material_id.map(cat.materials.name_en)
    return out


def symbiosis_map(network, matches: pd.DataFrame, lang: str = "vi") -> pdk.Deck:
    """Parks, firms (coloured by sector) and exchange arcs (width ∝ tonnes, colour by material class)."""
    layers = []
    outline = province_outline()
    if outline is not None:
        layers.append(pdk.Layer("GeoJsonLayer", outline, id="province", stroked=True, filled=True,
                                get_fill_color=[235, 240, 235, 120], get_line_color=[120, 120, 120], line_width_min_pixels=1))
    per_year = "năm" if lang == "vi" else "yr"
    firms = network.firms.assign(colour=colour_for(network.firms.sector_code),
                                 label=network.firms.name + " · " + network.firms.sector_code)
    layers.append(pdk.Layer("ScatterplotLayer", firms, id="firms", get_position=["lon", "lat"], get_fill_color="colour",
                            get_radius=250, radius_min_pixels=2, pickable=True))
    parks = network.parks.assign(label=network.parks.name + " (" + network.parks.kind + ")")
    layers.append(pdk.Layer("ScatterplotLayer", parks, id="parks", get_position=["lon", "lat"],
                            get_fill_color=[0, 0, 0, 40], get_line_color=[0, 0, 0], stroked=True,
                            get_radius=1500, line_width_min_pixels=1, pickable=True))
    if len(matches):
        flows = flows_table(matches, network)
        flows["colour"] = colour_for(flows.material_class)
        flows["width"] = 1 + 6 * np.sqrt(flows.landfill_avoided_t / max(flows.landfill_avoided_t.max(), 1e-9))
        flows["label"] = [f"{a} → {b}: {m} {fmt_number(q, lang, 1)} {u}/{per_year} · {fmt_number(d, lang, 1)} km"
                          for a, b, m, q, u, d in zip(flows.from_name, flows.to_name, flows[f"material_{lang}"],
                                                      flows.quantity, flows.unit, flows.distance_km, strict=True)]
        layers.append(pdk.Layer("ArcLayer", flows, id="flows", get_source_position=["from_lon", "from_lat"],
                                get_target_position=["to_lon", "to_lat"], get_source_color="colour",
                                get_target_color="colour", get_width="width", pickable=True))
    tooltip = {"text": "{label}", "style": {"fontSize": "12px"}}
    view = pdk.ViewState(latitude=float(parks.lat.mean()), longitude=float(parks.lon.mean()), zoom=8.5, pitch=0)
    return pdk.Deck(layers=layers, initial_view_state=view, map_style=None, tooltip=tooltip)


def park_network_figure(network, matches: pd.DataFrame, lang: str = "vi") -> go.Figure:
    """Exchanges aggregated to parks (readable at 600+ firms): edge width ∝ tonnes."""
    parks = network.parks.set_index("park_id")
    agg = (matches.groupby(["supplier_park_id", "receiver_park_id"]).landfill_avoided_t.sum().reset_index()
           if len(matches) else pd.DataFrame(columns=["supplier_park_id", "receiver_park_id", "landfill_avoided_t"]))
    fig = go.Figure()
    top = max(float(agg.landfill_avoided_t.max()) if len(agg) else 1.0, 1e-9)
    for r in agg.itertuples(index=False):
        if r.supplier_park_id not in parks.index or r.receiver_park_id not in parks.index:
            continue
        a, b = parks.loc[r.supplier_park_id], parks.loc[r.receiver_park_id]
        fig.add_trace(go.Scatter(x=[a.lon, b.lon], y=[a.lat, b.lat], mode="lines", hoverinfo="skip", showlegend=False,
                                 line=dict(width=1 + 8 * r.landfill_avoided_t / top, color="rgba(46,139,87,0.6)")))
    handled = pd.concat([matches.groupby("supplier_park_id").landfill_avoided_t.sum(),
                         matches.groupby("receiver_park_id").landfill_avoided_t.sum()]).groupby(level=0).sum() \
        if len(matches) else pd.Series(dtype=float)
    size = 8 + 30 * np.sqrt(parks.index.map(handled).fillna(0).to_numpy() / max(float(handled.max()) if len(handled) else 1, 1e-9))
    fig.add_trace(go.Scatter(x=parks.lon, y=parks.lat, mode="markers+text", text=parks.name, textposition="top center",
                             marker=dict(size=size, color="darkorange"), name=t("ui.parks", lang),
                             hovertext=[f"{n}: {h:,.0f} t" for n, h in zip(parks.name, parks.index.map(handled).fillna(0))]))
    fig.update_layout(xaxis_title=t("ui.longitude", lang), yaxis_title=t("ui.latitude", lang), yaxis_scaleanchor="x",
                      height=600, margin=dict(l=10, r=10, t=30, b=10))
    return fig


def keystone_firms(network, matches: pd.DataFrame, top: int = 15) -> pd.DataFrame:
    """Firms ranked by tonnes handled, with degree and betweenness centrality of the exchange graph."""
    if matches.empty:
        return pd.DataFrame(columns=["firm_id", "name", "park_id", "tonnes_handled", "partners", "betweenness"])
    g = nx.Graph()
    g.add_edges_from(zip(matches.supplier_firm_id, matches.receiver_firm_id, strict=True))
    between = nx.betweenness_centrality(g)
    handled = pd.concat([matches.groupby("supplier_firm_id").landfill_avoided_t.sum(),
                         matches.groupby("receiver_firm_id").landfill_avoided_t.sum()]).groupby(level=0).sum()
    firms = network.firms.set_index("firm_id")
    out = pd.DataFrame({"firm_id": list(g.nodes)})
    out["name"] = out.firm_id.map(firms.name)
    out["park_id"] = out.firm_id.map(firms.park_id)
    out["tonnes_handled"] = out.firm_id.map(handled).fillna(0.0)
    out["partners"] = out.firm_id.map(dict(g.degree))
    out["betweenness"] = out.firm_id.map(between)
    return out.sort_values(["tonnes_handled", "partners"], ascending=False).head(top).reset_index(drop=True)
