"""The single settings module: every tunable default lives here, documented.

Values are read once from the environment; tests may construct their own
:class:`Settings` and pass it explicitly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

#: Environment variable that overrides the database URL (SQLAlchemy syntax).
DB_URL_ENV = "SYMBIOSIS_DB_URL"
#: Environment variable for the user-facing language (``vi`` or ``en``).
LANG_ENV = "SYMBIOSIS_LANG"

#: Viet Nam's mainland and islands (Hoàng Sa, Trường Sa) fit in this box; a
#: coordinate outside it is certainly not in Viet Nam. Checked loosely on purpose:
#: a polygon test would reject points near the coast of a simplified outline.
VIETNAM_LAT_RANGE = (8.0, 23.5)
VIETNAM_LON_RANGE = (102.0, 117.5)

#: Default quantity above which a single stream is reported as absurd, in base
#: units per year (t, m³ or MWh). The largest single industrial streams in Viet Nam
#: (coal-plant ash ≈ 10⁶ t/yr, see docs/data-format.md) stay well below it.
MAX_STREAM_QUANTITY_PER_YEAR = 5.0e7

#: Waste-code group reserved for placeholders in synthetic data. Circular 02/2022's
#: groups stop at 19, so "99 NN NN" can never be mistaken for a real code.
PLACEHOLDER_WASTE_CODE_GROUP = "99"

#: Environment variable: threads for solving independent LP components at once
#: (GLOP releases the GIL, so two cores solve two components in parallel).
SOLVER_THREADS_ENV = "SYMBIOSIS_SOLVER_THREADS"


def solver_threads() -> int:
    """Threads used for independent LP solves (default: every core)."""
    value = os.environ.get(SOLVER_THREADS_ENV)
    return max(1, int(value)) if value else max(1, os.cpu_count() or 1)


def default_db_path() -> Path:
    """SQLite file used when :data:`DB_URL_ENV` is not set."""
    base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "cong-sinh" / "symbiosis.db"


@dataclass(frozen=True)
class Settings:
    """Run-time settings.

    Attributes
    ----------
    db_url
        SQLAlchemy URL of the store; SQLite file by default.
    lang
        Language of user-facing messages: ``"vi"`` (default) or ``"en"``.
    """

    db_url: str = field(default_factory=lambda: os.environ.get(DB_URL_ENV) or f"sqlite:///{default_db_path()}")
    lang: str = field(default_factory=lambda: os.environ.get(LANG_ENV, "vi"))


def get_settings() -> Settings:
    """Settings from the current environment."""
    return Settings()
