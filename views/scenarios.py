"""Scenarios: named what-if change lists, their comparison, the landfill–transport trade-off,
resilience (what breaks if a firm leaves), the MILP mode for a few parks and facility siting.
Thin: widgets in, ``symbiosis``/``matching`` calls, display."""

import json

import numpy as np
import pandas as pd
import streamlit as st

from matching.engine import run_matching
from matching.milp import MilpTooLarge
from matching.whatif import (candidate_sites, compare, resilience, restrict_to_parks, run_milp, run_scenario,
                             site_facility, tradeoff_curve)
from symbiosis import services
from symbiosis.catalogue import load_catalogue
from symbiosis.demo import demo_inputs
from symbiosis.i18n import fmt_date, messages
from symbiosis.network import build_network
from symbiosis.parameters import default_parameters, effective_parameters
from symbiosis.scenarios import (BASE, Scenario, ScenarioError, apply_changes, changes_to_json, facility_types, get,
                                 load_all, parse_changes, save, slug)
from symbiosis.viz import (difference_map, keystone_firms, park_deltas, resilience_figure, siting_map,
                           tradeoff_figure)
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


@st.cache_data(show_spinner=False, max_entries=4)
def _engine_network(version: str, _base_tables):
    """The engine input of the stored data (MILP mode, siting map)."""
    del version  # only the cache key
    return build_network(_base_tables)


@st.cache_data(show_spinner=False, max_entries=8)
def _milp(version: str, park_ids: tuple[str, ...], fixed_cost: float, min_lot_t: float, max_partners: int,
          time_limit_s: float, _network):
    del version  # only the cache key
    return run_milp(_network, list(park_ids), fixed_cost_vnd_per_link=fixed_cost, min_lot_t=min_lot_t,
                    max_partners_per_firm=max_partners, time_limit_s=time_limit_s)


@st.cache_data(show_spinner=False, max_entries=8)
def _lp_parks(version: str, park_ids: tuple[str, ...], _network):
    """The same parks in the ordinary LP mode (cost objective), beside the MILP answer."""
    del version  # only the cache key
    return run_matching(restrict_to_parks(_network, list(park_ids)), "vnd", bounds=False)


@st.cache_data(show_spinner=False, max_entries=8)
def _siting(version: str, facility_type: str, capacity: float, fixed_cost: float, max_sites: int, _base_tables):
    """Chosen sites and the ranking of every candidate park (about 1.5–3 s on the demo)."""
    del version  # only the cache key
    return site_facility(_base_tables, facility_type, None, capacity, fixed_cost, max_sites)


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


#: The KPI cards of the MILP tab: message, KPI column, digits.
MILP_CARDS = [("ui.kpi_links", "links", 0), ("ui.kpi_firms", "firms_involved", 0), ("ui.kpi_diverted", "diverted_t", 0)]


def parameter_help(params: pd.DataFrame, labels: pd.Series, pid: str) -> str:
    """Where a MILP default comes from: the parameter's label, source and date (and whether the user set it)."""
    row = params.loc[pid]
    try:
        date = fmt_date(row.source_date, lang())
    except (TypeError, ValueError):
        date = str(row.source_date) if pd.notna(row.source_date) else "—"
    source = str(row.source).strip() if pd.notna(row.source) else ""
    return tr("ui.milp_help", origin=tr("ui.milp_origin_user" if row.origin == "user" else "ui.milp_origin_default"),
              label=labels.get(pid, pid), source=source or "—", date=date)


def reason_label(code: str) -> str:
    """Why a candidate link was removed before the MILP solve, in words (the code if unknown)."""
    key = f"ui.milp_drop_{code}"
    return tr(key) if key in messages() else code


def kpi_cards(container, total: pd.Series, mode: str, reference: pd.Series | None = None) -> None:
    """Links, firms and tonnes diverted of one answer; with ``reference``, the difference from it."""
    for col, (key, metric, digits) in zip(container.columns(len(MILP_CARDS)), MILP_CARDS, strict=True):
        value = float(total[metric])
        delta = None
        if reference is not None:
            change = signed(value - float(reference[metric]), digits)
            delta = tr("ui.milp_vs_lp", value=change)
        col.metric(tr("ui.milp_kpi", kpi=tr(key), mode=mode), num(value, digits), delta=delta, delta_color="off",
                   border=True)


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

tab_create, tab_compare, tab_tradeoff, tab_resilience, tab_milp, tab_siting = st.tabs(
    [tr("ui.scn_tab_create"), tr("ui.scn_tab_compare"), tr("ui.scn_tab_tradeoff"), tr("ui.scn_tab_resilience"),
     tr("ui.scn_tab_milp"), tr("ui.scn_tab_siting")],
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

if tab_milp.open:
    with tab_milp:
        st.caption(tr("ui.milp_intro"))
        network = _engine_network(version, base_tables)
        park_names = network.parks.drop_duplicates("park_id").set_index("park_id").name
        firms_per_park = base_tables["firms"].park_id.value_counts()  # most firms first
        park_options = [p for p in firms_per_park.index if p in park_names.index]
        park_labels = {p: tr("ui.milp_park_label", name=park_names[p], n=num(firms_per_park[p])) for p in park_options}
        chosen_parks = st.multiselect(tr("ui.milp_parks"), park_options, default=park_options[:1], key="milp_parks",
                                      format_func=lambda p: park_labels.get(p, p))
        params = effective_parameters(base_tables["parameters"]).set_index("parameter_id", drop=False)
        param_labels = default_parameters()[f"label_{lang()}"]
        c1, c2, c3, c4 = st.columns(4)
        fixed_cost = c1.number_input(
            tr("ui.milp_fixed_cost"), value=float(params.at["link_fixed_cost_vnd_per_year", "value"]), min_value=0.0,
            step=1_000_000.0, format="%.0f", key="milp_fixed_cost",
            help=parameter_help(params, param_labels, "link_fixed_cost_vnd_per_year"))
        min_lot = c2.number_input(
            tr("ui.milp_min_lot"), value=float(params.at["min_lot_t_per_year", "value"]), min_value=0.0, step=1.0,
            format="%g", key="milp_min_lot", help=parameter_help(params, param_labels, "min_lot_t_per_year"))
        max_partners = c3.number_input(
            tr("ui.milp_max_partners"), value=int(params.at["max_partners_per_firm", "value"]), min_value=1,
            max_value=1000, step=1, key="milp_max_partners",
            help=parameter_help(params, param_labels, "max_partners_per_firm"))
        time_limit = c4.number_input(tr("ui.milp_time_limit"), value=30, min_value=1, max_value=600, step=5,
                                     key="milp_time_limit")
        milp_args = (version, tuple(chosen_parks), float(fixed_cost), float(min_lot), int(max_partners),
                     float(time_limit))
        if not chosen_parks:
            st.caption(tr("ui.milp_need_park"))
        if st.button(tr("ui.milp_run"), key="milp_run", type="primary", disabled=not chosen_parks):
            st.session_state["milp_args"] = milp_args
        if st.session_state.get("milp_args") not in (None, milp_args):
            st.info(tr("ui.run_inputs_changed"))
        elif st.session_state.get("milp_args") == milp_args:
            with st.spinner(tr("ui.milp_running")):
                milp_run = _milp(*milp_args, network)
            if milp_run.too_large is not None:  # too large for the MILP: its result is the LP answer
                st.warning(milp_run.fallback_message(lang()))
                st.info(tr("ui.milp_fallback_info"))
                st.markdown(f"**{tr('ui.milp_heading_lp')}**")
                kpi_cards(st.container(), milp_run.result.kpis.set_index("park_id").loc["TOTAL"], "LP")
            else:
                m = milp_run.milp
                gap = num(100 * m.gap, 2) if np.isfinite(m.gap) else "—"
                if m.status == "OPTIMAL":
                    st.success(tr("ui.milp_optimal", gap=gap))
                elif m.status == "FEASIBLE":
                    st.warning(tr("ui.milp_feasible", gap=gap))
                else:
                    st.error(tr("ui.milp_no_solution", status=m.status))
                cols = st.columns(5)
                for col, (key, value) in zip(cols, [("ui.milp_status", m.status), ("ui.milp_gap", gap),
                                                    ("ui.milp_time", num(m.wall_time_s, 1)),
                                                    ("ui.milp_arcs", num(m.n_arcs_model)),
                                                    ("ui.milp_binaries", num(m.n_binaries))], strict=True):
                    col.metric(tr(key), value, border=True)
                c1, c2 = st.columns([1, 2])
                c1.metric(tr("ui.milp_objective"), num(m.objective_vnd) if m.has_solution else "—", border=True)
                c2.caption(tr("ui.milp_objective_note"))
                dropped = {k: v for k, v in m.drop_reasons.items() if v}
                if dropped:
                    st.markdown(f"**{tr('ui.milp_dropped', n=num(sum(dropped.values())))}**")
                    reasons = pd.DataFrame({"drop_reason": [reason_label(k) for k in dropped],
                                            "arcs": [num(v) for v in dropped.values()]})
                    st.dataframe(reasons, hide_index=True, key="milp_drops", column_config=headers(reasons.columns))
                else:
                    st.caption(tr("ui.milp_none_dropped"))
                with st.spinner(tr("ui.milp_running")):
                    lp_total = _lp_parks(version, tuple(chosen_parks), network).kpis.set_index("park_id").loc["TOTAL"]
                left, right = st.columns(2)
                left.markdown(f"**{tr('ui.milp_heading_milp')}**")
                kpi_cards(left, milp_run.result.kpis.set_index("park_id").loc["TOTAL"], "MILP", lp_total)
                right.markdown(f"**{tr('ui.milp_heading_lp')}**")
                kpi_cards(right, lp_total, "LP")
                st.caption(tr("ui.milp_compare_caption"))
            st.subheader(tr("ui.milp_matches_lp" if milp_run.too_large is not None else "ui.milp_matches"))
            columns = ["supplier_firm_id", "receiver_firm_id", "material_id", "quantity", "unit", "distance_km",
                       "transport_cost_vnd", "landfill_avoided_t"]
            matches = milp_run.result.matches.sort_values("landfill_avoided_t", ascending=False)
            if matches.empty:
                st.info(tr("ui.no_matches"))
            else:
                st.dataframe(localised(matches[columns]), hide_index=True, key="milp_matches",
                             column_config=headers(columns))

if tab_siting.open:
    with tab_siting:
        st.caption(tr("ui.site_intro"))
        types = facility_types()
        type_labels = {f: types.at[f, "name_vi" if lang() == "vi" else "name_en"] for f in types.index}
        ftype = st.selectbox(tr("ui.scn_facility_type"), list(types.index), key="site_type",
                             format_func=lambda f: type_labels.get(f, f))
        basis = types.at[ftype, "capacity_basis_vi" if lang() == "vi" else "capacity_basis"]
        basis = basis.removeprefix("assumption:").removeprefix("giả định:").strip()
        st.caption(tr("ui.site_capacity_basis", text=basis))
        c1, c2, c3 = st.columns(3)
        capacity = c1.number_input(tr("ui.scn_capacity"), value=float(types.at[ftype, "default_capacity_t_per_year"]),
                                   min_value=1.0, step=1000.0, format="%.0f", key=f"site_capacity_{ftype}")
        site_fixed = c2.number_input(tr("ui.site_fixed_cost"), value=0.0, min_value=0.0, step=100_000_000.0,
                                     format="%.0f", key="site_fixed_cost", help=tr("ui.site_fixed_help"))
        max_sites = c3.number_input(tr("ui.site_max"), value=1, min_value=1, max_value=5, step=1, key="site_max")
        network = _engine_network(version, base_tables)
        st.caption(tr("ui.site_candidates", n=num(len(candidate_sites(network)))))
        site_args = (version, ftype, float(capacity), float(site_fixed), int(max_sites))
        if st.button(tr("ui.site_run"), key="site_run", type="primary"):
            st.session_state["site_args"] = site_args
        if st.session_state.get("site_args") not in (None, site_args):
            st.info(tr("ui.run_inputs_changed"))
        elif st.session_state.get("site_args") == site_args:
            try:
                with st.spinner(tr("ui.site_running")):
                    siting, ranking = _siting(*site_args, base_tables)
            except MilpTooLarge as err:
                st.error(err.text(lang()))
            else:
                park_names = network.parks.drop_duplicates("park_id").set_index("park_id").name
                named = [f"{park_names.get(s, s)} ({s})" for s in siting.chosen_sites]
                if siting.chosen_sites:
                    st.success(tr("ui.site_chosen", sites="; ".join(named)))
                else:
                    st.info(tr("ui.site_none_chosen"))
                if not siting.optimal:
                    st.warning(tr("ui.site_not_optimal", status=siting.status))
                c1, c2, c3 = st.columns(3)
                c1.metric(tr("ui.milp_status"), siting.status, border=True)
                c2.metric(tr("ui.site_gain_t"), num(siting.gain_t, 1), help=tr("ui.site_gain_help"), border=True)
                c3.metric(tr("ui.site_gain_vnd"), num(siting.gain_vnd), help=tr("ui.site_gain_help"), border=True)
                if siting.chosen_sites and abs(siting.gain_t) < 0.5:
                    st.info(tr("ui.site_no_extra_t", vnd=num(siting.gain_vnd)))
                if siting.chosen_sites:
                    st.subheader(tr("ui.site_table"))
                    opened = siting.sites[siting.sites.open]
                    opened = opened.assign(name=opened.site.map(park_names).fillna(opened.site),
                                           fixed_cost_vnd=[num(v) for v in opened.fixed_cost_vnd])
                    columns = ["site", "name", "received", "tonnes_in", "links", "fixed_cost_vnd"]
                    st.dataframe(localised(opened[columns]), hide_index=True, key="site_chosen",
                                 column_config=headers(columns))
                st.subheader(tr("ui.site_map"))
                st.pydeck_chart(siting_map(network, ranking, siting.chosen_sites, lang()), key="site_map")
                st.caption(tr("ui.site_map_caption"))
                st.subheader(tr("ui.site_ranking"))
                table = ranking.assign(name=ranking.site.map(park_names).fillna(ranking.site),
                                       net_value_vnd=[num(v) for v in ranking.net_value_vnd])
                columns = ["rank", "site", "name", "net_value_vnd", "gain_t", "received"]
                st.dataframe(localised(table[columns]), hide_index=True, key="site_ranking",
                             column_config=headers(columns))
