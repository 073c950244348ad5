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


def _outline_layers() -> list:
    """The province outline (when the shared geodata is there) as the bottom layer of every map."""
    outline = province_outline()
    if outline is None:
        return []
    return [pdk.Layer("GeoJsonLayer", outline, id="province", stroked=True, filled=True,
                      get_fill_color=[235, 240, 235, 120], get_line_color=[120, 120, 120], line_width_min_pixels=1)]


def _parks_layer(parks: pd.DataFrame) -> pdk.Layer:
    return pdk.Layer("ScatterplotLayer", parks, id="parks", get_position=["lon", "lat"],
                     get_fill_color=[0, 0, 0, 40], get_line_color=[0, 0, 0], stroked=True,
                     get_radius=1500, line_width_min_pixels=1, pickable=True)


def _deck(layers: list, centre: pd.DataFrame) -> pdk.Deck:
    """Offline deck (no base-map tiles) centred on ``centre``'s points, tooltips from ``label``."""
    tooltip = {"text": "{label}", "style": {"fontSize": "12px"}}
    view = pdk.ViewState(latitude=float(centre.lat.mean()), longitude=float(centre.lon.mean()), zoom=8.5, pitch=0)
    return pdk.Deck(layers=layers, initial_view_state=view, map_style=None, tooltip=tooltip)


def symbiosis_map(network, matches: pd.DataFrame, lang: str = "vi") -> pdk.Deck:
    """Parks, firms (coloured by sector) and exchange arcs (width ∝ tonnes, colour by material class)."""
    layers = _outline_layers()
    per_year = "năm" if lang == "vi" else "yr"
    firms = network.firms.assign(colour=colour_for(network.firms.sector_code),
                                 label=network.firms.name + " · " + network.firms.sector_code)
    layers.append(pdk.Layer("ScatterplotLayer", firms, id="firms", get_position=["lon", "lat"], get_fill_color="colour",
                            get_radius=250, radius_min_pixels=2, pickable=True))
    parks = network.parks.assign(label=network.parks.name + " (" + network.parks.kind + ")")
    layers.append(_parks_layer(parks))
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
    return _deck(layers, parks)


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


# ------------------------------------------------------------------ scenarios: comparison, trade-off, resilience

#: Colours of the difference map: links only in B, only in A, and in both with a changed quantity.
DIFFERENCE_COLOURS = {"gained": [46, 160, 67], "lost": [214, 39, 40], "changed": [255, 165, 0]}


def difference_map(network_a, network_b, comparison, lang: str = "vi") -> pdk.Deck:
    """Links gained (green, only in B), lost (red, only in A) and changed (amber) between two results.

    ``comparison`` is a :class:`matching.whatif.Comparison` of A's and B's results. Firm
    positions come from both networks (a firm that closes exists only in A, a new one only in
    B). Arc width ∝ the change in tonnes kept from landfill. Offline like :func:`symbiosis_map`.
    """
    layers = _outline_layers()
    parks = pd.concat([network_a.parks, network_b.parks], ignore_index=True).drop_duplicates("park_id", keep="last")
    parks = parks.assign(label=parks.name + " (" + parks.kind + ")")
    layers.append(_parks_layer(parks))
    firms = pd.concat([network_a.firms[["firm_id", "name", "lat", "lon"]], network_b.firms[["firm_id", "name", "lat", "lon"]]],
                      ignore_index=True).drop_duplicates("firm_id", keep="last").set_index("firm_id")
    frames = {"gained": comparison.gained, "lost": comparison.lost, "changed": comparison.changed}
    top = max([float(f.delta_t.abs().max()) for f in frames.values() if len(f)] + [1e-9])
    materials = load_catalogue().materials[f"name_{lang}" if lang in ("vi", "en") else "name_vi"]
    per_year = "năm" if lang == "vi" else "yr"
    involved, arc_layers = set(), []
    for kind, frame in frames.items():
        if frame.empty:
            continue
        arcs = frame.copy()
        for side, col in (("from", "supplier_firm_id"), ("to", "receiver_firm_id")):
            arcs[f"{side}_lon"] = arcs[col].map(firms.lon)
            arcs[f"{side}_lat"] = arcs[col].map(firms.lat)
            arcs[f"{side}_name"] = arcs[col].map(firms.name).fillna(arcs[col])
        arcs = arcs.dropna(subset=["from_lon", "from_lat", "to_lon", "to_lat"]).reset_index(drop=True)
        if arcs.empty:
            continue
        involved |= set(arcs.supplier_firm_id) | set(arcs.receiver_firm_id)
        arcs["colour"] = [list(DIFFERENCE_COLOURS[kind])] * len(arcs)
        arcs["width"] = 1 + 6 * np.sqrt(arcs.delta_t.abs() / top)
        prefix = t(f"ui.scn_map_{kind}", lang)
        arcs["label"] = [f"{prefix}: {a} → {b}: {materials.get(m, m)} {fmt_number(qa, lang, 1)} → {fmt_number(qb, lang, 1)} "
                         f"{u}/{per_year} · {fmt_number(d, lang, 1)} km"
                         for a, b, m, qa, qb, u, d in zip(arcs.from_name, arcs.to_name, arcs.material_id, arcs.quantity_a,
                                                          arcs.quantity_b, arcs.unit, arcs.distance_km, strict=True)]
        keep = ["from_lon", "from_lat", "to_lon", "to_lat", "colour", "width", "label", "delta_t"]
        arc_layers.append(pdk.Layer("ArcLayer", arcs[keep], id=kind, get_source_position=["from_lon", "from_lat"],
                                get_target_position=["to_lon", "to_lat"], get_source_color="colour",
                                get_target_color="colour", get_width="width", pickable=True))
    if involved:
        points = firms.loc[sorted(involved)].reset_index()
        points = points.assign(label=points.name.fillna(points.firm_id))[["lon", "lat", "label"]]
        layers.append(pdk.Layer("ScatterplotLayer", points, id="firms", get_position=["lon", "lat"],
                                get_fill_color=[90, 90, 90, 200], get_radius=250, radius_min_pixels=2, pickable=True))
    layers += arc_layers
    return _deck(layers, parks)


def _plotly_separators(lang: str) -> str:
    """Plotly's decimal and thousands marks: ``1.234,5`` in Vietnamese, ``1,234.5`` in English."""
    return ",." if lang == "vi" else ".,"


def tradeoff_figure(curve: pd.DataFrame, lang: str = "vi", x: str = "tkm") -> go.Figure:
    """Landfill (t) against haulage — t·km, or ``x="transport_cost_vnd"`` — along the fee sweep of
    :func:`matching.whatif.tradeoff_curve`: the curve, its Pareto points, today's fee (star) and
    the lexicographic optimum (diamond)."""
    if x not in ("tkm", "transport_cost_vnd"):
        raise ValueError(f"x must be 'tkm' or 'transport_cost_vnd', not {x!r}")
    per_t = "đ/t" if lang == "vi" else "VND/t"

    def hover(frame: pd.DataFrame) -> list[str]:
        out = []
        for r in frame.itertuples(index=False):
            head = t("ui.fig_lexicographic", lang) if r.objective == "lexicographic" else \
                t("ui.fig_fee_point", lang, m=fmt_number(r.fee_multiplier, lang, 2),
                  fee=fmt_number(r.landfill_fee_vnd_per_t, lang, 0), unit=per_t)
            out.append(f"{head}<br>{t('ui.fig_landfill_t', lang)}: {fmt_number(r.landfill_t, lang, 0)}"
                       f"<br>{t('ui.kpi_tkm', lang)}: {fmt_number(r.tkm, lang, 0)}"
                       f"<br>{t('ui.fig_transport_vnd', lang)}: {fmt_number(r.transport_cost_vnd, lang, 0)}")
        return out

    sweep = curve[curve.objective == "vnd"].sort_values(x)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=sweep[x], y=sweep.landfill_t, mode="lines+markers", name=t("ui.fig_curve", lang),
                             line=dict(color="rgba(100,100,100,0.7)"), marker=dict(size=7, color="grey"),
                             hovertext=hover(sweep), hoverinfo="text"))
    pareto = curve[curve.pareto]
    fig.add_trace(go.Scatter(x=pareto[x], y=pareto.landfill_t, mode="markers", name=t("ui.fig_pareto", lang),
                             marker=dict(size=12, color="seagreen", line=dict(width=1, color="black")),
                             hovertext=hover(pareto), hoverinfo="text"))
    lexico = curve[curve.objective == "lexicographic"]
    if len(lexico):
        fig.add_trace(go.Scatter(x=lexico[x], y=lexico.landfill_t, mode="markers", name=t("ui.fig_lexicographic", lang),
                                 marker=dict(size=14, symbol="diamond-open", color="royalblue", line=dict(width=2)),
                                 hovertext=hover(lexico), hoverinfo="text"))
    current = curve[curve.current]
    if len(current):
        fig.add_trace(go.Scatter(x=current[x], y=current.landfill_t, mode="markers", name=t("ui.fig_current", lang),
                                 marker=dict(size=20, symbol="star", color="crimson", line=dict(width=1, color="black")),
                                 hovertext=hover(current), hoverinfo="text"))
    fig.update_layout(xaxis_title=t("ui.kpi_tkm" if x == "tkm" else "ui.fig_transport_vnd", lang),
                      yaxis_title=t("ui.fig_landfill_t", lang), separators=_plotly_separators(lang), height=480,
                      margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h", y=-0.2))
    return fig


def resilience_figure(table: pd.DataFrame, lang: str = "vi", top: int = 15) -> go.Figure:
    """The first ``top`` rows of :func:`matching.whatif.resilience` as stacked horizontal bars: the
    tonnes that go back to landfill (red) and those re-routed to other receivers (green) if the firm
    leaves; the most critical firm is at the top."""
    head = table.head(top)
    labels = [f"{f} · {n}" if isinstance(n, str) and n else str(f) for f, n in zip(head.firm_id, head.name, strict=True)]
    fig = go.Figure()
    for column, key, colour in (("tonnes_to_landfill", "ui.fig_to_landfill", "crimson"),
                                ("tonnes_rerouted", "ui.fig_rerouted", "seagreen")):
        fig.add_trace(go.Bar(y=labels, x=head[column], orientation="h", name=t(key, lang), marker_color=colour,
                             hovertext=[f"{label}: {fmt_number(v, lang, 0)} t" for label, v in zip(labels, head[column], strict=True)],
                             hoverinfo="text"))
    fig.update_layout(barmode="stack", xaxis_title=t("ui.fig_tonnes", lang), yaxis=dict(autorange="reversed", automargin=True),
                      separators=_plotly_separators(lang), height=max(320, 28 * len(head) + 140),
                      margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h", y=-0.15))
    return fig


def park_deltas(comparison, parks: pd.DataFrame) -> pd.DataFrame:
    """Per-park difference B − A (parks whose figures moved), for display beside the totals."""
    kpis = comparison.kpis[comparison.kpis.park_id != "TOTAL"]
    wide = kpis.pivot(index="park_id", columns="metric", values=["a", "b", "delta"])
    out = pd.DataFrame({"park_id": wide.index.to_numpy()})
    out["name"] = out.park_id.map(parks.drop_duplicates("park_id").set_index("park_id").name).fillna(out.park_id)
    out["diverted_t_a"] = wide[("a", "diverted_t")].to_numpy()
    out["diverted_t_b"] = wide[("b", "diverted_t")].to_numpy()
    for metric in ("diverted_t", "links", "tkm", "vnd_saved", "co2e_avoided_t"):
        out[f"delta_{metric}"] = wide[("delta", metric)].to_numpy()
    deltas = out.filter(like="delta_")
    out = out[(deltas.abs() > 1e-6).any(axis=1)]
    return out.reindex(out.delta_diverted_t.abs().sort_values(ascending=False).index).reset_index(drop=True)


# ------------------------------------------------------------------ facility siting

#: Colours of the siting map: the chosen site(s), the deepest green of a site worth opening, the
#: palest one (a small positive value), and a site not worth opening (net value ≤ 0).
SITING_COLOURS = {"chosen": [230, 97, 0], "best": [0, 109, 44], "low": [186, 228, 179], "not_worth": [150, 150, 150]}


def siting_map(network, ranking: pd.DataFrame, chosen, lang: str = "vi") -> pdk.Deck:
    """Candidate sites of a new facility, from the ranking of :func:`matching.whatif.site_facility`.

    One circle per candidate site (layer ``sites``): area ∝ its net value opened alone (VND/year
    against building none), green from pale to deep with that value, grey when it is not worth
    opening (net value ≤ 0). The chosen site(s) are drawn again on top, larger, in orange with a
    black ring (layer ``chosen``). A site is a park (``site`` = ``park_id``, its approximate
    point) unless ``ranking`` carries its own ``lat``/``lon``. Tooltips give rank, name, net value,
    extra tonnes kept from landfill and intake, in ``lang``. Offline like :func:`symbiosis_map`.
    """
    layers = _outline_layers()
    parks = network.parks.drop_duplicates("park_id").set_index("park_id")
    sites = ranking.copy()
    if not {"lat", "lon"} <= set(sites.columns):
        sites["lat"] = sites.site.map(parks.lat)
        sites["lon"] = sites.site.map(parks.lon)
    names = sites.site.map(parks.name) if "name" not in sites.columns else sites["name"]
    sites["name"] = names.where(names.notna(), sites.site)
    sites = sites.dropna(subset=["lat", "lon"]).reset_index(drop=True)
    value = sites.net_value_vnd.to_numpy(dtype=float)
    top = max(float(value.max()) if len(value) else 0.0, 1e-9)
    share = np.clip(value, 0.0, None) / top
    low, best = np.array(SITING_COLOURS["low"], dtype=float), np.array(SITING_COLOURS["best"], dtype=float)
    sites["colour"] = [list(SITING_COLOURS["not_worth"]) if v <= 0 else [int(round(c)) for c in low + s * (best - low)]
                       for v, s in zip(value, share, strict=True)]
    sites["radius"] = 700.0 + 2300.0 * np.sqrt(share)
    per_year = "năm" if lang == "vi" else "yr"
    unit_vnd = "đ" if lang == "vi" else "VND"
    head = [f"{r}. {n} ({s})" if "rank" in sites.columns else f"{n} ({s})"
            for r, n, s in zip(sites.get("rank", sites.site), sites.name, sites.site, strict=True)]
    sites["label"] = [f"{h}: {t('ui.site_map_net', lang)} {fmt_number(v, lang, 0)} {unit_vnd}/{per_year} · "
                      f"{t('ui.site_map_gain', lang)} {fmt_number(g, lang, 1)} t/{per_year} · "
                      f"{t('ui.site_map_received', lang)} {fmt_number(q, lang, 1)} t/{per_year}"
                      for h, v, g, q in zip(head, value, sites.gain_t, sites.received, strict=True)]
    keep = ["site", "lon", "lat", "colour", "radius", "label"]
    layers.append(pdk.Layer("ScatterplotLayer", sites[keep], id="sites", get_position=["lon", "lat"],
                            get_fill_color="colour", get_line_color=[60, 60, 60], stroked=True, get_radius="radius",
                            radius_min_pixels=3, line_width_min_pixels=1, pickable=True))
    picked = sites[sites.site.isin(list(chosen))].reset_index(drop=True)
    if len(picked):
        prefix = t("ui.site_map_chosen", lang)
        picked = picked.assign(colour=[list(SITING_COLOURS["chosen"])] * len(picked), radius=picked.radius + 600.0,
                               label=prefix + " — " + picked.label)
        layers.append(pdk.Layer("ScatterplotLayer", picked[keep], id="chosen", get_position=["lon", "lat"],
                                get_fill_color="colour", get_line_color=[0, 0, 0], stroked=True, get_radius="radius",
                                radius_min_pixels=6, line_width_min_pixels=3, pickable=True))
    return _deck(layers, sites if len(sites) else parks)
