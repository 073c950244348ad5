"""Symbiosis map: parks, firms by sector, exchange arcs; filters; offline."""

import streamlit as st

from symbiosis.viz import symbiosis_map
from views.common import current_result, lang, sidebar, tr
from views.filters import filter_matches

sidebar()
st.title(tr("ui.page_map"))
network, result = current_result()
matches = filter_matches(network, result.matches, key="map")
st.pydeck_chart(symbiosis_map(network, matches, lang()), key="deck")
st.caption(tr("ui.map_caption"))
