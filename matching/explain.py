""""Why was this stream (not) matched?" — a concrete answer for any stream."""

from __future__ import annotations

import numpy as np

from matching.candidates import haversine_km
from matching.engine import MatchResult
from symbiosis.catalogue import Catalogue, load_catalogue
from symbiosis.i18n import fmt_number, t
from symbiosis.network import Network


def explain_stream(result: MatchResult, network: Network, stream_id: str, lang: str = "vi",
                   catalogue: Catalogue | None = None) -> str:
    """Explain what happened to ``stream_id`` in ``result``, in Vietnamese or English."""
    cat = catalogue or load_catalogue()
    s = network.streams.set_index("stream_id")
    if stream_id not in s.index:
        return t("why.unknown_stream", lang, stream=stream_id)
    row = s.loc[stream_id]
    unit = row.base_unit
    if row.direction == "output":
        sent = result.matches[result.matches.supply_stream_id == stream_id]
        left = row.quantity_per_year - sent.quantity.sum()
        parts = [t("why.sent", lang, quantity=fmt_number(q, lang, 1), unit=unit, firm=f, km=fmt_number(d, lang, 1))
                 for q, f, d in zip(sent.quantity, sent.receiver_firm_id, sent.distance_km, strict=True)]
        if left <= 1e-6 * max(row.quantity_per_year, 1):
            return " ".join(parts) or t("why.fully_matched", lang)
        reason = result.unmatched_supply.set_index("stream_id").reason.get(stream_id, "demand_full")
        detail = _supply_detail(network, cat, row, stream_id, reason, lang)
        return " ".join([*parts, t("why.left", lang, quantity=fmt_number(left, lang, 1), unit=unit), detail])
    got = result.matches[result.matches.demand_stream_id == stream_id]
    parts = [t("why.received", lang, quantity=fmt_number(q, lang, 1), unit=row.base_unit, firm=f)
             for q, f in zip(got.quantity_received, got.supplier_firm_id, strict=True)]
    left = row.quantity_per_year - got.quantity_received.sum()
    if left <= 1e-6 * max(row.quantity_per_year, 1):
        return " ".join(parts) or t("why.fully_matched", lang)
    rules = cat.rules[cat.rules.demand_material_id == row.material_id]
    supplies = network.supplies[network.supplies.material_id.isin(rules.supply_material_id)]
    supplies = supplies[supplies.firm_id != row.firm_id]
    key = "why.demand_no_supply" if supplies.empty else "why.demand_supplies_used"
    return " ".join([*parts, t("why.unmet", lang, quantity=fmt_number(left, lang, 1), unit=row.base_unit),
                     t(key, lang, n=len(supplies))])


def _supply_detail(network: Network, cat: Catalogue, row, stream_id: str, reason: str, lang: str) -> str:
    rules = cat.rules[cat.rules.supply_material_id == row.material_id]
    demands = network.demands[network.demands.material_id.isin(rules.demand_material_id)]
    demands = demands[demands.firm_id != row.firm_id]
    if reason == "no_compatible_demand" or demands.empty:
        return t("why.no_compatible_demand", lang)
    if reason == "demand_full":
        return t("why.demand_full", lang)
    km = haversine_km(row.lat, row.lon, demands.lat.to_numpy(), demands.lon.to_numpy()) * network.parameters["circuity_factor"]
    nearest = int(np.argmin(km))
    base = t("why.nearest", lang, firm=demands.firm_id.iloc[nearest], km=fmt_number(km[nearest], lang, 1))
    return " ".join([t(f"why.{r}", lang) for r in reason.split("+")] + [base])
