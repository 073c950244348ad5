"""Unit conversion of stream quantities to the material's base unit per year.

Base units are those of the materials catalogue: ``t`` (mass), ``m3`` (volume) or
``MWh`` (energy). Mass and volume convert through the material's bulk density
(t/m³). A "day" is a calendar day (× 365), so a figure per working day must be
converted by the user or entered per month or year — see docs/data-format.md.
"""

from __future__ import annotations

import math

import numpy as np

#: Unit key → (dimension, factor to the dimension's base unit).
UNITS: dict[str, tuple[str, float]] = {
    "kg": ("mass", 1e-3),
    "t": ("mass", 1.0),
    "m3": ("volume", 1.0),
    "L": ("volume", 1e-3),
    "kWh": ("energy", 1e-3),
    "MWh": ("energy", 1.0),
}
#: Base unit of each dimension.
BASE_UNIT = {"mass": "t", "volume": "m3", "energy": "MWh"}
DIMENSION_OF_BASE = {v: k for k, v in BASE_UNIT.items()}

#: Frequency key → occurrences per year.
PER_YEAR: dict[str, float] = {"day": 365.0, "week": 52.0, "month": 12.0, "year": 1.0}


def conversion_factor(unit: str, base_unit: str, density_t_per_m3: float | None = None) -> float | None:
    """Factor turning one ``unit`` into ``base_unit``; ``None`` when impossible.

    >>> conversion_factor("kg", "t")
    0.001
    >>> conversion_factor("m3", "t", density_t_per_m3=1.2)
    1.2
    >>> conversion_factor("kWh", "t") is None
    True
    """
    dim, factor = UNITS[unit]
    target = DIMENSION_OF_BASE[base_unit]
    if dim == target:
        return factor
    has_density = density_t_per_m3 is not None and not math.isnan(density_t_per_m3) and density_t_per_m3 > 0
    if dim == "volume" and target == "mass" and has_density:
        return factor * density_t_per_m3
    if dim == "mass" and target == "volume" and has_density:
        return factor / density_t_per_m3
    return None


def to_base_per_year(
    quantity: np.ndarray,
    unit: np.ndarray,
    frequency: np.ndarray,
    base_unit: np.ndarray,
    density: np.ndarray,
) -> np.ndarray:
    """Vectorised conversion of many streams; NaN where a unit cannot be converted."""
    factors = np.array(
        [
            np.nan if (f := conversion_factor(u, b, d)) is None else f
            for u, b, d in zip(unit, base_unit, density, strict=True)
        ],
        dtype=float,
    )
    per_year = np.array([PER_YEAR[f] for f in frequency], dtype=float)
    return np.asarray(quantity, dtype=float) * factors * per_year
