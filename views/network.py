"""Network: exchanges aggregated to parks, and the keystone firms."""

import streamlit as st

from symbiosis.viz import keystone_firms, park_network_figure
from views.common import current_result, headers, lang, sidebar, tr

sidebar()
st.title(tr("ui.page_network"))
network, result = current_result()
st.plotly_chart(park_network_figure(network, result.matches, lang()), key="park_graph")
st.subheader(tr("ui.keystone"))
keystone = keystone_firms(network, result.matches)
st.dataframe(keystone, hide_index=True, key="keystone", column_config=headers(keystone.columns))
