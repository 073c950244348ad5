"""Firm data: upload a file with a per-row error report, or edit one firm's streams."""

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from symbiosis import schema, services
from symbiosis.catalogue import load_catalogue
from views.common import get_store, headers, lang, sidebar, tr

sidebar()
st.title(tr("ui.page_firms"))
store = get_store()
cat = load_catalogue()

# --- upload: the same validation as the CLI import; nothing is written on error ---
uploaded = st.file_uploader(tr("ui.upload"), type=["xlsx", "csv"], key="upload")
if uploaded is not None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / uploaded.name
        path.write_bytes(uploaded.getvalue())
        report = services.import_path(path, store)
    if report.ok:
        total = report.total()
        st.success(tr("ui.firm_saved", added=total.added, changed=total.changed))
    else:
        st.error(tr("ui.upload_errors", n=len(report.validation.errors)))
        st.dataframe(pd.DataFrame([{"location": i.location(lang()), "value": i.value, "message": i.message.render(lang())}
                                   for i in report.validation.errors]), hide_index=True, key="upload_errors")
with tempfile.TemporaryDirectory() as tmp:
    template = services.write_template(Path(tmp) / "mau_nhap_lieu.xlsx", lang=lang()).read_bytes()
st.download_button(tr("ui.template"), template, file_name="mau_nhap_lieu.xlsx", key="dl_template")

# --- material picker: diacritics-insensitive search in Vietnamese or English ---
query = st.text_input(tr("ui.material_search"), key="material_query")
if query:
    hits = cat.search(query, limit=8, kinds=("material",))
    st.dataframe(pd.DataFrame([{"material_id": h.code, "vi": h.name_vi, "en": h.name_en,
                                "unit": cat.materials.at[h.code, "base_unit"]} for h in hits]),
                 hide_index=True, key="material_hits", column_config=headers(["material_id", "vi", "en", "unit"]))

# --- create a firm: a form validated exactly like an import ---
tables = store.read_all()
with st.form("new_firm", clear_on_submit=False):
    st.subheader(tr("ui.firm_new"))
    parks = tables["parks"].set_index("park_id").name
    c1, c2 = st.columns(2)
    new_id = c1.text_input(schema.attribute("firms", "firm_id").label(lang()), key="new_firm_id")
    new_name = c2.text_input(schema.attribute("firms", "name").label(lang()), key="new_firm_name")
    new_park = c1.selectbox(schema.attribute("firms", "park_id").label(lang()), [None, *parks.index], key="new_firm_park",
                            format_func=lambda p: "—" if p is None else parks[p])
    new_sector = c2.selectbox(schema.attribute("firms", "sector_code").label(lang()), list(cat.subsectors.index),
                              key="new_firm_sector",
                              format_func=lambda c: f"{c} {cat.subsectors.at[c, 'name_vi' if lang() == 'vi' else 'name_en']}")
    new_lat = c1.text_input(schema.attribute("firms", "lat").label(lang()), key="new_firm_lat")
    new_lon = c2.text_input(schema.attribute("firms", "lon").label(lang()), key="new_firm_lon")
    if st.form_submit_button(tr("ui.firm_save")):
        frame = pd.DataFrame([{"firm_id": new_id, "name": new_name, "park_id": new_park, "sector_code": new_sector,
                               "lat": new_lat or None, "lon": new_lon or None, "licences": None, "notes": None}])
        report = services.import_frames({"firms": frame}, store, source="app: new firm")
        if report.ok:
            st.success(tr("ui.firm_saved", added=report.total().added, changed=report.total().changed))
            tables = store.read_all()
        else:
            for issue in report.validation.errors:  # each error names its field
                st.error(f"**{schema.attribute('firms', issue.column).label(lang())}** — {issue.message.render(lang())}"
                         if issue.column in schema.columns("firms") else issue.render(lang()))

# --- edit one firm's streams ---
firms = tables["firms"].set_index("firm_id")
firm_id = st.selectbox(tr("ui.firm_pick"), list(firms.index), key="firm_pick",
                       format_func=lambda f: f"{f} – {firms.at[f, 'name']}")
streams = tables["streams"][tables["streams"].firm_id == firm_id].reset_index(drop=True)
st.subheader(tr("ui.firm_streams"))
if len(streams):  # the conversion the engine will use: base unit per year
    converted = services.per_year(streams)
    st.caption(tr("ui.per_year_note"))
    st.dataframe(converted, hide_index=True, key="per_year", column_config=headers(converted.columns))
edited = st.data_editor(
    streams, key="streams_editor", num_rows="dynamic", hide_index=True,
    column_config={
        "direction": st.column_config.SelectboxColumn(options=schema.enum_keys("direction")),
        "material_id": st.column_config.SelectboxColumn(options=list(cat.materials.index)),
        "unit": st.column_config.SelectboxColumn(options=schema.enum_keys("unit")),
        "frequency": st.column_config.SelectboxColumn(options=schema.enum_keys("frequency")),
        "quantity": st.column_config.NumberColumn(min_value=0.0),
    },
)
if st.button(tr("ui.firm_save"), key="firm_save", type="primary"):
    edited = edited.assign(firm_id=edited.firm_id.fillna(firm_id))
    report = services.import_frames({"streams": edited}, store, source=f"app: {firm_id}")
    if report.ok:
        total = report.total()
        st.success(tr("ui.firm_saved", added=total.added, changed=total.changed))
    else:
        for issue in report.validation.errors:
            st.error(issue.render(lang()))
