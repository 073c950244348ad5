"""Parameters: each with its source and date; edit and re-run."""

import datetime as dt

import streamlit as st

from symbiosis import services
from symbiosis.parameters import default_parameters, effective_parameters
from symbiosis.i18n import fmt_date
from views.common import get_store, headers, lang, sidebar, tr

sidebar()
st.title(tr("ui.page_parameters"))
st.caption(tr("ui.param_intro"))
store = get_store()
params = effective_parameters(store.read_all()["parameters"])
defaults = default_parameters()
label = "label_vi" if lang() == "vi" else "label_en"
table = params.assign(label=params.parameter_id.map(defaults[label]), min=defaults.min_value, max=defaults.max_value,
                      source_date=params.source_date.map(lambda d: fmt_date(d, lang())))
edited = st.data_editor(table[["parameter_id", "label", "value", "unit", "min", "max", "source", "source_date", "origin"]],
                        hide_index=True, key="param_editor", column_config=headers(table.columns), disabled=["parameter_id", "label", "unit", "min", "max",
                                                                       "source", "source_date", "origin"])
source = st.text_input(tr("ui.param_source"), key="param_source")
date = st.date_input(tr("ui.param_date"), value=dt.date.today(), key="param_date")
if st.button(tr("ui.param_save"), key="param_save", type="primary"):
    changed = {r.parameter_id: r.value for r in edited.itertuples() if r.value != params.at[r.parameter_id, "value"]}
    report = services.save_parameters(store, changed, source or "", date.isoformat())
    if report.ok:
        st.success(tr("ui.param_saved", n=len(changed)))
    else:
        for issue in report.validation.errors:
            st.error(issue.render(lang()))
