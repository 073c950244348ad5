"""Streamlit entry point: routing only. Run: ``streamlit run app.py``."""

import streamlit as st

from symbiosis.i18n import t

lang = st.session_state.get("lang", "vi")
st.set_page_config(page_title=t("ui.app_title", lang), page_icon="♻️", layout="wide")
pages = {
    t("ui.section_analysis", lang): [
        st.Page("views/overview.py", title=t("ui.page_overview", lang), icon="📊", default=True),
        st.Page("views/map.py", title=t("ui.page_map", lang), icon="🗺️", url_path="map"),
        st.Page("views/network.py", title=t("ui.page_network", lang), icon="🕸️", url_path="network"),
        st.Page("views/opportunities.py", title=t("ui.page_opportunities", lang), icon="🔁", url_path="opportunities"),
    ],
    t("ui.section_data", lang): [
        st.Page("views/firm_data.py", title=t("ui.page_firms", lang), icon="🏭", url_path="firms"),
        st.Page("views/parameters.py", title=t("ui.page_parameters", lang), icon="⚙️", url_path="parameters"),
    ],
}
st.navigation(pages).run()
