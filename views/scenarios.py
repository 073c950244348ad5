"""Scenarios: named what-if change lists, their comparison, the landfill–transport trade-off and
resilience (what breaks if a firm leaves). Thin: widgets in, ``symbiosis``/``matching`` calls, display."""

import json

import pandas as pd
import streamlit as st

from matching.whatif import compare, resilience, run_scenario, tradeoff_curve
from symbiosis import services
from symbiosis.catalogue import load_catalogue
from symbiosis.demo import demo_inputs
from symbiosis.i18n import fmt_date
from symbiosis.parameters import default_parameters, effective_parameters
from symbiosis.scenarios import (BASE, Scenario, ScenarioError, apply_changes, changes_to_json, facility_types, get,
                                 load_all, parse_changes, save, slug)
from symbiosis.viz import difference_map, keystone_firms, park_deltas, resilience_figure, tradeoff_figure
from views.common import get_store, headers, lang, num, sidebar, tr

KINDS = ["set_parameter", "remove_firm", "scale_streams", "add_park", "add_facility", "min_diversion"]
PENDING, FLASH = "scn_pending", "scn_flash"


# ------------------------------------------------------------------ cached solves (data version + scenario)


@st.cache_data(show_spinner=False, max_entries=12)
def _run(version: str, scenario_id: str, changes_json: str, _base_tables, _lang: str = "vi"):
    """The scenario applied to the stored data and solved; re-run exactly when data or changes change."""
    del version  # only the cache key
    scenario = Scenario(scenario_id, scenario_id, "", changes=parse_changes(changes_json, _lang))
    return run_scenario(_base_tables, scenario, lang=_lang)


@st.cache_data(show_spinner=False, max_entries=8)
def _tradeoff(version: str, scenario_id: str, changes_json: str, _network, _label: str = ""):
    del version, scenario_id, changes_json  # only the cache key
    bar = st.progress(0.0, text=_label)
    curve = tradeoff_curve(_network, progress=lambda f: bar.progress(min(f, 1.0), text=_label))
    bar.empty()
    return curve


@st.cache_data(show_spinner=False, max_entries=8)
def _resilience(version: str, scenario_id: str, changes_json: str, top_n: int, _network, _matches, _label: str = ""):
    del version, scenario_id, changes_json  # only the cache key
    firms = list(keystone_firms(_network, _matches, top=top_n).firm_id)  # most tonnes handled first
    bar = st.progress(0.0, text=_label)
    table = resilience(_network, firms, progress=lambda f: bar.progress(min(f, 1.0), text=_label))
    bar.empty()
    return table


def solved(scenario: Scenario):
    """The scenario's run, or None after showing why it cannot be applied."""
    try:
        with st.spinner(tr("ui.scn_running", name=label_of(scenario.scenario_id))):
            run = _run(version, scenario.scenario_id, changes_to_json(scenario.changes), base_tables, lang())
    except ScenarioError as err:
        st.error(tr("ui.scn_cannot_apply", name=label_of(scenario.scenario_id)))
        for message in err.messages:
            st.error(message)
        return None
    if not run.result.optimal:
        st.warning(tr("ui.scn_not_optimal", name=label_of(scenario.scenario_id), status=run.result.status))
    return run


def label_of(scenario_id: str) -> str:
    return scenario_labels.get(scenario_id, scenario_id)


def signed(value: float, digits: int = 0) -> str:
    text = num(value, digits)
    return text if text.startswith("-") or text == "0" else "+" + text


def localised(frame: pd.DataFrame, digits: int = 1) -> pd.DataFrame:
    """Float columns as locale-formatted text (1.234,5 in Vietnamese), like the overview page."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]):
            out[column] = [("" if pd.isna(v) else num(v, digits)) for v in out[column]]
    return out


def flash(level: str, text: str) -> None:
    st.session_state.setdefault(FLASH, []).append((level, text))


def pick_scenario(key: str, default: str = BASE) -> str:
    options = [BASE, *names]
    return st.selectbox(tr("ui.scn_pick"), options, index=options.index(default), key=key, format_func=label_of)


# ------------------------------------------------------------------ page

sidebar()
st.title(tr("ui.page_scenarios"))
st.caption(tr("ui.scn_intro"))
store = get_store()
base_tables = store.read_all()
version = services.data_version(store)
stored = load_all(store)
names = {s.scenario_id: s.name for s in stored}
# labels are computed here, not in format_func callbacks, so they follow the page's language
scenario_labels = {BASE: tr("ui.scn_base"), **names}
kind_labels = {k: tr(f"ui.scn_kind_{k}") for k in [*KINDS, "add_firm"]}
ALL = tr("ui.all")
pending: list[dict] = st.session_state.setdefault(PENDING, [])
for key in ("scn_name", "scn_author", "scn_description", "scn_json"):  # keep the typed text while other tabs are open
    if key in st.session_state:
        st.session_state[key] = st.session_state[key]

tab_create, tab_compare, tab_tradeoff, tab_resilience = st.tabs(
    [tr("ui.scn_tab_create"), tr("ui.scn_tab_compare"), tr("ui.scn_tab_tradeoff"), tr("ui.scn_tab_resilience")],
    key="scn_tabs", on_change="rerun")

if tab_create.open:
    with tab_create:
        for level, text in st.session_state.pop(FLASH, []):
            getattr(st, level)(text)
        if st.session_state.pop("scn_clear", False):  # after a save: a blank form for the next scenario
            for key in ("scn_name", "scn_description"):
                st.session_state[key] = ""
        if st.session_state.pop("scn_json_clear", False):
            st.session_state["scn_json"] = ""
        st.subheader(tr("ui.scn_new"))
        c1, c2 = st.columns(2)
        name = c1.text_input(tr("ui.scn_name"), key="scn_name", placeholder=tr("ui.scn_name_placeholder"))
        author = c2.text_input(tr("ui.scn_author"), key="scn_author")
        description = st.text_area(tr("ui.scn_description"), key="scn_description", height=80)

        # ---- change builder
        with st.container(border=True):
            st.markdown(f"**{tr('ui.scn_builder')}**")
            kind = st.selectbox(tr("ui.scn_kind"), KINDS, key="scn_kind", format_func=kind_labels.get)
            cat = load_catalogue()
            name_col = "name_vi" if lang() == "vi" else "name_en"
            firms = base_tables["firms"].set_index("firm_id")
            firm_parks = firms.park_id.fillna("—")
            known_parks = pd.concat([base_tables["parks"], demo_inputs()["parks"]], ignore_index=True) \
                .drop_duplicates("park_id").set_index("park_id")
            change = None
            if kind == "set_parameter":
                params = effective_parameters(base_tables["parameters"]).set_index("parameter_id", drop=False)
                defaults = default_parameters()
                labels = defaults[f"label_{lang()}"]
                param_labels = {p: f"{labels.get(p, p)} — {num(r.value, 2)} {r.unit}" for p, r in params.iterrows()}
                pid = st.selectbox(tr("ui.scn_parameter"), list(params.index), key="scn_param",
                                   format_func=param_labels.get)
                current = float(params.at[pid, "value"])
                st.caption(tr("ui.scn_param_current", value=num(current, 2), unit=params.at[pid, "unit"]))
                low, high = defaults.at[pid, "min_value"], defaults.at[pid, "max_value"]
                value = st.number_input(tr("ui.scn_param_value"), value=current, key=f"scn_param_value_{pid}",
                                        min_value=None if pd.isna(low) else float(low),
                                        max_value=None if pd.isna(high) else float(high),
                                        format="%.0f" if abs(current) >= 1000 else "%g")
                change = {"kind": kind, "parameter_id": pid, "value": float(value)}
            elif kind == "remove_firm":
                firm = st.selectbox(tr("ui.firm_pick"), list(firms.index), key="scn_firm",
                                    format_func=lambda f: f"{f} · {firms.at[f, 'name']} ({firm_parks[f]})")
                change = {"kind": kind, "firm_id": firm}
            elif kind == "scale_streams":
                st.caption(tr("ui.scn_scale_help"))
                c1, c2, c3, c4 = st.columns(4)
                codes = sorted(set(base_tables["firms"].sector_code.dropna()))
                # each sector (it covers its sub-sectors) followed by its sub-sectors, in Phụ lục II order
                sectors = [x for top in cat.sectors.index for x in [top] + [c for c in codes if c.split(".")[0] == top]
                           if any(c.split(".")[0] == top for c in codes)]
                sector_names = pd.concat([cat.sectors[name_col], cat.subsectors[name_col]])
                sector = c1.selectbox(tr("ui.filter_sector"), [None, *sectors], key="scn_scale_sector",
                                      format_func=lambda c: ALL if c is None else f"{c} {sector_names.get(c, '')}")
                materials = sorted(set(base_tables["streams"].material_id))
                material = c2.selectbox(tr("ui.filter_material"), [None, *materials], key="scn_scale_material",
                                        format_func=lambda m: ALL if m is None else cat.materials[name_col].get(m, m))
                parks_with = sorted(set(base_tables["firms"].park_id.dropna()))
                park = c3.selectbox(tr("ui.filter_park"), [None, *parks_with], key="scn_scale_park",
                                    format_func=lambda p: ALL if p is None else known_parks.name.get(p, p))
                directions = {None: tr("ui.scn_direction_any"), "output": tr("ui.scn_direction_output"),
                              "input": tr("ui.scn_direction_input")}
                direction = c4.selectbox(tr("ui.scn_direction"), list(directions), key="scn_scale_direction",
                                         format_func=directions.get)
                factor = st.number_input(tr("ui.scn_factor"), value=1.3, min_value=0.01, max_value=100.0, step=0.1,
                                         key="scn_scale_factor")
                change = {"kind": kind, "factor": float(factor), "sector_code": sector, "material_id": material,
                          "park_id": park, "direction": direction}
            elif kind == "add_park":
                tenanted = set(base_tables["firms"].park_id.dropna())
                empty = [p for p in known_parks.index if p not in tenanted]
                if not empty:
                    st.info(tr("ui.scn_no_empty_park"))
                else:
                    park = st.selectbox(tr("ui.scn_new_park"), empty, key="scn_new_park",
                                        format_func=lambda p: f"{known_parks.at[p, 'name']} ({p})")
                    tenants = st.number_input(tr("ui.scn_tenants"), value=20, min_value=1, max_value=2000, step=1,
                                              key="scn_tenants")
                    st.caption(tr("ui.scn_tenants_note"))
                    change = {"kind": kind, "park_id": park, "tenants": int(tenants)}
            elif kind == "add_facility":
                types = facility_types()
                ftype = st.selectbox(tr("ui.scn_facility_type"), list(types.index), key="scn_fac_type",
                                     format_func=lambda f: types.at[f, name_col])
                located = [p for p in known_parks.index if pd.notna(known_parks.at[p, "lat"])]
                park = st.selectbox(tr("ui.scn_facility_park"), located, key="scn_fac_park",
                                    format_func=lambda p: f"{known_parks.at[p, 'name']} ({p})")
                c1, c2, c3 = st.columns(3)
                lat = c1.number_input(tr("ui.latitude"), value=float(known_parks.at[park, "lat"]), format="%.4f",
                                      min_value=-90.0, max_value=90.0, key=f"scn_fac_lat_{park}")
                lon = c2.number_input(tr("ui.longitude"), value=float(known_parks.at[park, "lon"]), format="%.4f",
                                      min_value=-180.0, max_value=180.0, key=f"scn_fac_lon_{park}")
                default_capacity = float(types.at[ftype, "default_capacity_t_per_year"])
                capacity = c3.number_input(tr("ui.scn_capacity"), value=default_capacity, min_value=1.0, step=1000.0,
                                           format="%.0f", key=f"scn_fac_capacity_{ftype}")
                st.caption(tr("ui.scn_capacity_note", value=num(default_capacity)))
                change = {"kind": kind, "facility_type": ftype, "lat": float(lat), "lon": float(lon),
                          "capacity_t_per_year": float(capacity),
                          "park_id": park if park in set(base_tables["parks"].park_id) else None}
            elif kind == "min_diversion":
                share = st.number_input(tr("ui.scn_share"), value=90.0, min_value=1.0, max_value=100.0, step=1.0,
                                        key="scn_share")
                change = {"kind": kind, "share": float(share) / 100}
            if st.button(tr("ui.scn_add"), key="scn_add", disabled=change is None):
                try:
                    parsed = parse_changes([{k: v for k, v in change.items() if v is not None}], lang())
                except ScenarioError as err:
                    for message in err.messages:
                        st.error(message)
                else:
                    pending.append(parsed[0].model_dump(exclude_none=True))
                    st.rerun()

        with st.expander(tr("ui.scn_json")):
            st.text_area(tr("ui.scn_json_label"), key="scn_json", height=140, placeholder=tr("ui.scn_json_placeholder"))
            if st.button(tr("ui.scn_json_add"), key="scn_json_add"):
                try:
                    parsed = parse_changes(st.session_state.get("scn_json") or "[]", lang())
                except ScenarioError as err:
                    for message in err.messages:
                        st.error(message)
                else:
                    pending.extend(c.model_dump(exclude_none=True) for c in parsed)
                    flash("success", tr("ui.scn_json_added", n=len(parsed)))
                    st.session_state["scn_json_clear"] = True
                    st.rerun()

        # ---- the pending list
        st.markdown(f"**{tr('ui.scn_pending', n=len(pending))}**")
        if not pending:
            st.caption(tr("ui.scn_pending_empty"))
        else:
            table = pd.DataFrame({"number": range(1, len(pending) + 1),
                                  "kind": [kind_labels.get(c["kind"], c["kind"]) for c in pending],
                                  "details": [", ".join(f"{k} = {json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v}"
                                                        for k, v in c.items() if k != "kind") for c in pending]})
            st.dataframe(table, hide_index=True, key="scn_pending_table", column_config=headers(table.columns))
            c1, c2 = st.columns([3, 1])
            drop = c1.multiselect(tr("ui.scn_remove_pick"), list(range(len(pending))), key="scn_remove_pick",
                                  format_func=lambda i: f"#{i + 1} {table.kind[i]}")
            if c2.button(tr("ui.scn_remove"), key="scn_remove", disabled=not drop):
                st.session_state[PENDING] = [c for i, c in enumerate(pending) if i not in set(drop)]
                st.rerun()

        if st.button(tr("ui.scn_save"), key="scn_save", type="primary"):
            problems = [tr(key) for key, missing in (("ui.scn_need_name", not name.strip()),
                                                     ("ui.scn_need_author", not author.strip()),
                                                     ("ui.scn_need_change", not pending)) if missing]
            scenario_id = slug(name)
            if name.strip() and scenario_id in names:
                problems.append(tr("ui.scn_exists", id=scenario_id))
            if problems:
                for problem in problems:
                    st.error(problem)
            else:
                try:
                    changes = parse_changes(pending, lang())
                    with st.spinner(tr("ui.scn_checking")):
                        apply_changes(base_tables, changes, lang=lang())  # refuse what cannot apply
                except ScenarioError as err:
                    for message in err.messages:
                        st.error(message)
                else:
                    save(store, Scenario(scenario_id, name.strip(), author.strip(), description.strip(), changes))
                    st.session_state[PENDING] = []
                    st.session_state["scn_clear"] = True
                    flash("success", tr("ui.scn_saved", name=name.strip(), n=len(changes)))
                    st.rerun()

        # ---- stored scenarios
        st.subheader(tr("ui.scn_stored"))
        if not stored:
            st.info(tr("ui.scn_none"))
        else:
            listing = pd.DataFrame({"scenario_id": [s.scenario_id for s in stored], "name": [s.name for s in stored],
                                    "author": [s.author for s in stored],
                                    "created_at": [fmt_date(s.created_at.date(), lang()) if s.created_at else "" for s in stored],
                                    "description": [s.description for s in stored],
                                    "changes": [len(s.changes) for s in stored]})
            st.dataframe(listing, hide_index=True, key="scn_list", column_config=headers(listing.columns))
            c1, c2 = st.columns([3, 1])
            victim = c1.selectbox(tr("ui.scn_delete_pick"), list(names), key="scn_delete_pick", format_func=label_of)
            if c2.button(tr("ui.scn_delete"), key="scn_delete"):
                store.delete_scenario(victim)
                flash("success", tr("ui.scn_deleted", name=names[victim]))
                st.rerun()

if tab_compare.open:
    with tab_compare:
        options = [BASE, *names]
        c1, c2 = st.columns(2)
        a_id = c1.selectbox(tr("ui.scn_a"), options, index=0, key="scn_a", format_func=label_of)
        b_id = c2.selectbox(tr("ui.scn_b"), options, index=len(options) - 1, key="scn_b", format_func=label_of)
        if not names:
            st.info(tr("ui.scn_none"))
        run_a, run_b = solved(get(store, a_id)), solved(get(store, b_id))
        if run_a is not None and run_b is not None:
            diff = compare(run_a.result, run_b.result)
            total_b = run_b.result.kpis.set_index("park_id").loc["TOTAL"]
            st.caption(tr("ui.scn_compare_note", a=label_of(a_id), b=label_of(b_id)))
            cards = [("ui.kpi_diverted", "diverted_t", 1, 0, "normal"), ("ui.kpi_share", "share_diverted", 100, 1, "normal"),
                     ("ui.kpi_tkm", "tkm", 1, 0, "inverse"), ("ui.kpi_vnd_bn", "vnd_saved", 1e-9, 1, "normal"),
                     ("ui.kpi_co2", "co2e_avoided_t", 1, 0, "normal"), ("ui.kpi_links", "links", 1, 0, "normal")]
            for row in (cards[:3], cards[3:]):
                for col, (key, metric, scale, digits, colour) in zip(st.columns(3), row, strict=True):
                    change = signed(diff.total(metric) * scale, digits)
                    suffix = " %" if metric == "share_diverted" else ""
                    still = change == "0"  # no visible change: no arrow, no colour
                    col.metric(tr(key), num(total_b[metric] * scale, digits) + suffix,
                               delta=tr("ui.scn_pp", value=change) if suffix else change,
                               delta_color="off" if still else colour, delta_arrow="off" if still else "auto",
                               border=True)
            for run in (run_a, run_b):
                if run.result.target_share is not None:
                    share = float(run.result.kpis.set_index("park_id").at["TOTAL", "share_diverted"])
                    met = bool(run.result.target_met)
                    (st.success if met else st.warning)(
                        tr("ui.scn_target_line", name=label_of(run.scenario.scenario_id),
                           target=num(100 * run.result.target_share, 1), share=num(100 * share, 1))
                        + " " + tr("ui.target_met" if met else "ui.target_not_met"))

            st.subheader(tr("ui.scn_per_park"))
            per_park = park_deltas(diff, pd.concat([run_a.network.parks, run_b.network.parks]))
            st.dataframe(localised(per_park.drop(columns="park_id")), hide_index=True, key="scn_per_park",
                         column_config=headers(per_park.columns))

            st.subheader(tr("ui.scn_links"))
            gained_tab, lost_tab, changed_tab = st.tabs([tr("ui.scn_links_gained", n=len(diff.gained)),
                                                         tr("ui.scn_links_lost", n=len(diff.lost)),
                                                         tr("ui.scn_links_changed", n=len(diff.changed))])
            for container, frame, key in ((gained_tab, diff.gained, "scn_gained"), (lost_tab, diff.lost, "scn_lost"),
                                          (changed_tab, diff.changed, "scn_changed")):
                with container:
                    frame = frame.reindex(frame.delta_t.abs().sort_values(ascending=False).index)
                    st.dataframe(localised(frame), hide_index=True, key=key, column_config=headers(frame.columns))

            st.subheader(tr("ui.scn_diffmap"))
            st.pydeck_chart(difference_map(run_a.network, run_b.network, diff, lang()), key="scn_diff_map")
            st.caption(tr("ui.scn_diffmap_caption"))

if tab_tradeoff.open:
    with tab_tradeoff:
        c1, c2 = st.columns([2, 1])
        with c1:
            sid = pick_scenario("scn_tradeoff_pick")
        vnd = c2.toggle(tr("ui.scn_tradeoff_vnd"), key="scn_tradeoff_vnd")
        run = solved(get(store, sid))
        if run is not None:
            curve = _tradeoff(version, sid, changes_to_json(run.scenario.changes), run.network, tr("ui.scn_tradeoff_running"))
            st.plotly_chart(tradeoff_figure(curve, lang(), "transport_cost_vnd" if vnd else "tkm"), key="scn_tradeoff_fig")
            st.caption(tr("ui.scn_tradeoff_caption"))
            with st.expander(tr("ui.scn_tradeoff_table")):
                columns = ["fee_multiplier", "landfill_fee_vnd_per_t", "landfill_t", "diverted_t", "tkm",
                           "transport_cost_vnd", "links", "pareto", "current"]
                st.dataframe(localised(curve[columns], 2), hide_index=True, key="scn_tradeoff_table",
                             column_config=headers(columns))

if tab_resilience.open:
    with tab_resilience:
        c1, c2 = st.columns([2, 1])
        with c1:
            sid = pick_scenario("scn_res_pick")
        run = solved(get(store, sid))
        if run is not None:
            involved = max(int(run.result.kpis.set_index("park_id").at["TOTAL", "firms_involved"]), 1)
            top_n = c2.number_input(tr("ui.scn_top_n"), value=min(30, involved), min_value=1, max_value=involved,
                                    step=5, key="scn_top_n")
            table = _resilience(version, sid, changes_to_json(run.scenario.changes), int(top_n), run.network,
                                run.result.matches, tr("ui.scn_resilience_running"))
            st.caption(tr("ui.scn_resilience_caption", n=num(len(table))))
            st.plotly_chart(resilience_figure(table, lang()), key="scn_resilience_fig")
            columns = ["firm_id", "name", "park_id", "tonnes_to_landfill", "links_lost", "tonnes_rerouted", "tonnes_own",
                       "absorbed_by"]
            st.dataframe(localised(table[columns]), hide_index=True, key="scn_resilience_table",
                         column_config=headers(columns))
