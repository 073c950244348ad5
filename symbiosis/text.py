"""Text normalisation for Vietnamese input: NFC, diacritic folding, id cleaning."""

from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")


def nfc(text: str) -> str:
    """NFC-normalise and trim; Vietnamese typed on some keyboards arrives decomposed (NFD)."""
    return unicodedata.normalize("NFC", text).strip()


def fold(text: str) -> str:
    """Lower-case, strip diacritics (``đ`` → ``d``) and collapse spaces, for search and aliases.

    >>> fold("Tro bày")
    'tro bay'
    >>> fold("  Đầu RA ")
    'dau ra'
    """
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return _SPACE.sub(" ", stripped.lower()).strip()


def split_list(text: str) -> list[str]:
    """Split a ``;`` or ``,``-separated cell into trimmed, non-empty parts."""
    return [p.strip() for p in re.split(r"[;,]", text) if p.strip()]
