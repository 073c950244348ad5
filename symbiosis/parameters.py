"""Model parameters (transport cost, landfill fee, circuity, maximum haul, emission
factors): defaults with their source and date from ``data/parameters/defaults.csv``,
overridden by the user's ``parameters`` table.
"""

from __future__ import annotations

from functools import cache

import pandas as pd

from symbiosis.resources import data_path


@cache
def default_parameters() -> pd.DataFrame:
    """Shipped defaults indexed by ``parameter_id`` (value, unit, range, source, date)."""
    frame = pd.read_csv(data_path("parameters", "defaults.csv"), dtype=str, keep_default_na=False)
    for col in ("value", "min_value", "max_value"):
        frame[col] = pd.to_numeric(frame[col].replace("", None)).astype(float)
    return frame.set_index("parameter_id", drop=False)


def effective_parameters(user: pd.DataFrame | None = None) -> pd.DataFrame:
    """Defaults with the user's rows laid over them (value, unit, source, date, notes)."""
    params = default_parameters()[["parameter_id", "value", "unit", "source", "source_date", "notes"]].copy()
    params["origin"] = "default"
    if user is not None and len(user):
        user = user.set_index("parameter_id", drop=False)
        for col in ("value", "unit", "source", "source_date", "notes"):
            params.loc[user.index, col] = user[col].astype(params[col].dtype if col == "value" else object)
        params.loc[user.index, "origin"] = "user"
    return params


def parameter_values(user: pd.DataFrame | None = None) -> dict[str, float]:
    """``{parameter_id: value}`` ready for the engine."""
    return effective_parameters(user)["value"].astype(float).to_dict()
