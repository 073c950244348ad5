"""Opportunities: the proposed exchanges, their explanations, why-not, downloads."""

import io

import pandas as pd
import streamlit as st

from matching.explain import explain_stream
from views.common import current_result, headers, lang, sidebar, tr
from views.filters import filter_matches

sidebar()
st.title(tr("ui.page_opportunities"))
network, result = current_result()
matches = filter_matches(network, result.matches, key="opp")
columns = ["supplier_firm_id", "receiver_firm_id", "material_id", "quantity", "unit", "distance_km",
           "transport_cost_vnd", "landfill_avoided_t", "co2e_avoided_t", "legal_status", "rule_id"]
if matches.empty:
    st.info(tr("ui.no_matches"))
else:
    st.dataframe(matches[columns].round(2), hide_index=True, key="matches_table", column_config=headers(columns))
    pick = st.selectbox(tr("ui.explain_pick"), matches.index, key="explain_pick",
                        format_func=lambda i: f"{matches.at[i, 'supplier_firm_id']} → {matches.at[i, 'receiver_firm_id']}: "
                                              f"{matches.at[i, 'material_id']}")
    st.info(matches.at[pick, f"explanation_{lang()}"])
    c1, c2 = st.columns(2)
    c1.download_button(tr("ui.download_csv"), matches.to_csv(index=False).encode("utf-8-sig"),
                       file_name="co_hoi_trao_doi.csv", mime="text/csv", key="dl_csv")
    book = io.BytesIO()
    with pd.ExcelWriter(book, engine="openpyxl") as xl:
        matches.to_excel(xl, sheet_name="matches", index=False)
    c2.download_button(tr("ui.download_xlsx"), book.getvalue(), file_name="co_hoi_trao_doi.xlsx", key="dl_xlsx")

st.subheader(tr("ui.why_pick"))
unmatched = result.unmatched_supply.stream_id.tolist()
stream = st.selectbox(tr("ui.why_pick"), unmatched, key="why_pick", label_visibility="collapsed")
if stream:
    st.warning(explain_stream(result, network, stream, lang()))
