"""Overview: headline KPIs, per-park table, progress toward the plan's targets."""

import streamlit as st

from views.common import current_result, num, sidebar, tr

sidebar()
st.title(tr("ui.page_overview"))
network, result = current_result()
total = result.kpis.set_index("park_id").loc["TOTAL"]
cols = st.columns(4)
cols[0].metric(tr("ui.kpi_diverted"), num(total.diverted_t))
cols[1].metric(tr("ui.kpi_share"), f"{num(100 * total.share_diverted, 1)} %")
cols[2].metric(tr("ui.kpi_tkm"), num(total.tkm))
cols[3].metric(tr("ui.kpi_vnd_bn"), num(total.vnd_saved / 1e9, 1))
cols = st.columns(3)
cols[0].metric(tr("ui.kpi_co2"), num(total.co2e_avoided_t))
cols[1].metric(tr("ui.kpi_links"), int(total.links))
cols[2].metric(tr("ui.kpi_firms"), int(total.firms_involved))
st.caption(tr("ui.kpi_caption"))

st.subheader(tr("ui.target_title"))
landfill_share = 100 * (1 - total.share_diverted)
met = landfill_share < 50
st.progress(min(1.0, total.share_diverted), text=tr("ui.target_landfill", share=num(landfill_share, 1)))
(st.success if met else st.warning)(tr("ui.target_met" if met else "ui.target_not_met"))

st.subheader(tr("ui.per_park"))
names = network.parks.set_index("park_id").name
per_park = result.kpis[result.kpis.park_id != "TOTAL"].assign(name=lambda k: k.park_id.map(names))
per_park = per_park[per_park.waste_supply_t > 0].sort_values("diverted_t", ascending=False)
for column in ("waste_supply_t", "diverted_t"):  # locale-formatted tonnes (1.234 in Vietnamese)
    per_park[column] = per_park[column].map(num)
st.dataframe(per_park[["name", "waste_supply_t", "diverted_t", "share_diverted", "links", "firms_involved"]],
             hide_index=True, key="per_park",
             column_config={"name": tr("ui.parks"), "waste_supply_t": tr("ui.kpi_waste"),
                            "diverted_t": tr("ui.kpi_diverted"),
                            "share_diverted": st.column_config.ProgressColumn(tr("ui.kpi_share"), min_value=0, max_value=1),
                            "links": tr("ui.kpi_links"), "firms_involved": tr("ui.kpi_firms")})
