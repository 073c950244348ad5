"""Firm data: upload a file with a per-row error report, or edit one firm's streams."""

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from symbiosis import schema, services
from symbiosis.catalogue import load_catalogue
from views.common import get_store, lang, sidebar, tr

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
                 hide_index=True, key="material_hits")

# --- edit one firm's streams ---
tables = store.read_all()
firms = tables["firms"].set_index("firm_id")
firm_id = st.selectbox(tr("ui.firm_pick"), list(firms.index), key="firm_pick",
                       format_func=lambda f: f"{f} – {firms.at[f, 'name']}")
streams = tables["streams"][tables["streams"].firm_id == firm_id].reset_index(drop=True)
st.subheader(tr("ui.firm_streams"))
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
