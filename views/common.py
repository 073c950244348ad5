"""Shared page frame: language switch, cached store and results. The only module besides
the page files that imports streamlit; all logic comes from ``symbiosis`` and ``matching``."""

from __future__ import annotations

import streamlit as st

from symbiosis import services
from symbiosis.i18n import fmt_number, t
from matching.engine import run_matching
from symbiosis.network import build_network
from symbiosis.store import open_store


@st.cache_resource
def get_store():
    """The store, with the Hưng Yên demo loaded on first start if it is empty."""
    store = open_store()
    services.load_demo(store)
    return store


def lang() -> str:
    return st.session_state.get("lang", "vi")


def tr(key: str, **kwargs) -> str:
    return t(key, lang(), **kwargs)


def num(value: float, digits: int = 0) -> str:
    return fmt_number(value, lang(), digits)


@st.cache_data(show_spinner=False, max_entries=8)
def _solve(version: str, objective: str, _store):
    """Cached on the data version: re-solved exactly when data or parameters change."""
    del version  # only the cache key
    network = build_network(_store.read_all())
    return network, run_matching(network, objective)


def current_result(objective: str = "lexicographic"):
    """Network and match result for the stored data, with the stages shown while solving."""
    store = get_store()
    version = services.data_version(store)
    with st.status(tr("ui.solving"), expanded=False) as status:
        st.write(tr("ui.stage_load"))
        st.write(tr("ui.stage_solve"))
        network, result = _solve(version, objective, store)
        st.write(tr("ui.stage_kpis"))
        status.update(label=tr("ui.solved", status=result.status), state="complete")
    return network, result


def sidebar() -> None:
    """Per-page sidebar content (the language switch itself is in app.py)."""
    st.sidebar.caption(tr("ui.synthetic_note"))


def headers(columns) -> dict[str, str]:
    """Column labels in the current language (``col.<name>`` messages), for ``column_config``."""
    from symbiosis.i18n import messages

    return {c: tr(f"col.{c}") for c in columns if f"col.{c}" in messages()}
