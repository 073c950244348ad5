"""Vietnamese/English message catalogue and locale-aware number formatting.

Messages live in ``data/i18n/messages.csv`` (``key,vi,en``) so translators edit a
data file, not code. Placeholders use :py:meth:`str.format` syntax.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache

import datetime as dt

import numpy as np

from babel.dates import format_date
from babel.numbers import get_decimal_symbol, get_group_symbol

from symbiosis.resources import data_path

LANGS = ("vi", "en")
_BABEL_LOCALE = {"vi": "vi_VN", "en": "en_US"}


@cache
def messages() -> dict[str, dict[str, str]]:
    """All messages, ``{key: {"vi": …, "en": …}}``."""
    with data_path("i18n", "messages.csv").open(encoding="utf-8", newline="") as f:
        return {row["key"]: {"vi": row["vi"], "en": row["en"]} for row in csv.DictReader(f)}


def t(key: str, lang: str = "vi", **kwargs: object) -> str:
    """Translate ``key`` into ``lang`` and fill its placeholders."""
    entry = messages()[key]
    return entry.get(lang, entry["vi"]).format(**kwargs)


@dataclass(frozen=True)
class Message:
    """A message in both languages, rendered lazily (errors carry one of these)."""

    key: str
    params: tuple[tuple[str, object], ...] = ()

    @classmethod
    def of(cls, key: str, **params: object) -> "Message":
        if key not in messages():
            raise KeyError(f"unknown message key {key!r}")
        return cls(key, tuple(sorted(params.items())))

    def render(self, lang: str = "vi") -> str:
        params = {k: v.render(lang) if isinstance(v, Message) else v for k, v in self.params}
        return t(self.key, lang, **params)


@cache
def _symbols(lang: str) -> tuple[str, str]:
    locale = _BABEL_LOCALE.get(lang, "vi_VN")
    return get_group_symbol(locale), get_decimal_symbol(locale)


def fmt_number(value: float, lang: str = "vi", digits: int = 2) -> str:
    """Format a number per locale: ``1234.5`` → ``1.234,5`` (vi) or ``1,234.5`` (en).

    Uses the locale's symbols from babel with Python's formatting (fast enough for
    tens of thousands of explanation strings); trailing zeros are dropped like
    babel's ``#,##0.##`` pattern.
    """
    group, decimal = _symbols(lang)
    text = f"{value:,.{digits}f}"
    if digits:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text.replace(",", "\0").replace(".", decimal).replace("\0", group)


_NEGATIVE_ZERO = re.compile(r"(?<=\n)-0(?=\n)")


def fmt_numbers(values, lang: str = "vi", digits: int = 2) -> list[str]:
    """:func:`fmt_number` for a whole column at once (same text for every value).

    The per-value work is one f-string; trimming zeros and swapping the separators run
    once over the joined column, which makes tens of thousands of explanations cheap.
    """
    return fmt_numbers_by_lang(values, (lang,), digits)[lang]


def fmt_numbers_by_lang(values, langs, digits: int = 2) -> dict[str, list[str]]:
    """:func:`fmt_numbers` in several languages, formatting each value once."""
    values = np.asarray(values, dtype=float).tolist()
    if not values:
        return {lang: [] for lang in langs}
    text = "\n" + "\n".join(map(f"{{:,.{digits}f}}".format, values)) + "\n"
    if digits:  # every value has ``digits`` decimals, so this never reaches past the point
        for _ in range(digits):
            text = text.replace("0\n", "\n")
        text = text.replace(".\n", "\n")
    text = _NEGATIVE_ZERO.sub("0", text)
    localised = {}
    for lang in langs:
        group, decimal = _symbols(lang)
        localised[lang] = text.replace(",", "\0").replace(".", decimal).replace("\0", group)[1:-1].split("\n")
    return localised


def fmt_date(value: str | dt.date, lang: str = "vi") -> str:
    """A date per locale: ``2025-07-01`` → ``01/07/2025`` (vi) or ``Jul 1, 2025`` (en)."""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value)
    return format_date(value, format="dd/MM/yyyy" if lang == "vi" else "medium", locale=_BABEL_LOCALE.get(lang, "vi_VN"))
