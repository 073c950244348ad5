"""Streamlit entry point: routing only. Run: ``streamlit run app.py``."""

import streamlit as st

from symbiosis.i18n import t

st.set_page_config(page_title="Cộng sinh công nghiệp", page_icon=":material/recycling:", layout="wide")
# the language switch lives in the entry frame, so it survives page changes
lang = st.sidebar.selectbox("Ngôn ngữ / Language", ["vi", "en"], key="lang",
                            format_func=lambda v: {"vi": "Tiếng Việt", "en": "English"}[v])
pages = {
    t("ui.section_analysis", lang): [
        st.Page("views/overview.py", title=t("ui.page_overview", lang), icon=":material/dashboard:", default=True),
        st.Page("views/map.py", title=t("ui.page_map", lang), icon=":material/map:", url_path="map"),
        st.Page("views/network.py", title=t("ui.page_network", lang), icon=":material/hub:", url_path="network"),
        st.Page("views/opportunities.py", title=t("ui.page_opportunities", lang), icon=":material/swap_horiz:", url_path="opportunities"),
        st.Page("views/scenarios.py", title=t("ui.page_scenarios", lang), icon=":material/science:", url_path="scenarios"),
    ],
    t("ui.section_data", lang): [
        st.Page("views/firm_data.py", title=t("ui.page_firms", lang), icon=":material/factory:", url_path="firms"),
        st.Page("views/parameters.py", title=t("ui.page_parameters", lang), icon=":material/tune:", url_path="parameters"),
    ],
}
st.navigation(pages).run()
