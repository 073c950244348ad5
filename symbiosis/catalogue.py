"""The reference catalogue: Phụ lục II of Plan 56/KH-UBND, materials, exchange rules
and the verified waste codes of Circular 02/2022/TT-BTNMT.

Everything is read from ``data/catalogue/*.csv`` (each row with its source) into
pandas DataFrames, once per process. Search is diacritics-insensitive and fuzzy
("tro bay", "tro bày" and "fly ash" all find fly ash).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property

import pandas as pd
from rapidfuzz import fuzz, process

from symbiosis.resources import data_path
from symbiosis.text import fold, split_list

MATERIAL_KINDS = ("waste", "by-product", "product", "utility")
HAZARD_MARKS = ("NH", "KS", "TT-R", "TT")
LEGAL_CONDITIONS = ("none", "hazardous_licence", "hazard_test", "quality_standard")


def _read_csv(name: str) -> pd.DataFrame:
    return pd.read_csv(data_path("catalogue", name), dtype=str, keep_default_na=False, encoding="utf-8")


@dataclass(frozen=True)
class SearchHit:
    """One catalogue search result."""

    kind: str  # "material" or "item"
    code: str
    name_vi: str
    name_en: str
    score: float


@dataclass(frozen=True)
class Catalogue:
    """All reference tables, indexed by their ids.

    Attributes
    ----------
    annex
        Phụ lục II rows: ``level`` (sector/subsector/item), ``code``, ``parent_code``,
        ``name_vi``, ``name_en``.
    materials
        One row per material, indexed by ``material_id``; numeric columns are floats.
    rules
        Exchange rules, indexed by ``rule_id``; ``yield`` is a float.
    waste_codes
        Circular 02/2022 codes seen in a source, indexed by ``waste_code``.
    """

    annex: pd.DataFrame
    materials: pd.DataFrame
    rules: pd.DataFrame
    waste_codes: pd.DataFrame

    @cached_property
    def sectors(self) -> pd.DataFrame:
        return self.annex[self.annex.level == "sector"].set_index("code")

    @cached_property
    def subsectors(self) -> pd.DataFrame:
        return self.annex[self.annex.level == "subsector"].set_index("code")

    @cached_property
    def items(self) -> pd.DataFrame:
        return self.annex[self.annex.level == "item"].set_index("code")

    @cached_property
    def _search_index(self) -> pd.DataFrame:
        """One row per searchable spelling (folded) pointing at a material or item."""
        rows = []
        for mid, m in self.materials.iterrows():
            names = [mid, m.name_vi, m.name_en, *split_list(m.synonyms_vi), *split_list(m.synonyms_en)]
            rows += [("material", mid, m.name_vi, m.name_en, fold(n)) for n in names if n]
        for code, it in self.items.iterrows():
            rows += [("item", code, it.name_vi, it.name_en, fold(n)) for n in (code, it.name_vi, it.name_en)]
        return pd.DataFrame(rows, columns=["kind", "code", "name_vi", "name_en", "text"])

    def search(self, query: str, limit: int = 10, kinds: tuple[str, ...] = ("material", "item")) -> list[SearchHit]:
        """Search materials and Phụ lục II items by Vietnamese or English name.

        Matching ignores case and diacritics; an exact word-prefix match ranks first,
        then fuzzy matches (rapidfuzz ``WRatio``) above a threshold.
        """
        q = fold(query)
        if not q:
            return []
        index = self._search_index[self._search_index.kind.isin(kinds)]
        contains = index.text.str.contains(q, regex=False)
        best: dict[tuple[str, str], SearchHit] = {}

        def offer(row: pd.Series, score: float) -> None:
            key = (row.kind, row.code)
            if key not in best or best[key].score < score:
                best[key] = SearchHit(row.kind, row.code, row.name_vi, row.name_en, score)

        for _, row in index[contains].iterrows():
            starts = row.text.startswith(q) or f" {q}" in f" {row.text}"
            offer(row, 100.0 + (20 if starts else 0) + (10 if row.text == q else 0) - len(row.text) / 100)
        matches = process.extract(q, index.text.tolist(), scorer=fuzz.WRatio, limit=limit * 4, score_cutoff=80)
        for _, score, pos in matches:
            offer(index.iloc[pos], float(score))
        hits = sorted(best.values(), key=lambda h: (-h.score, h.kind, h.code))
        return hits[:limit]

    def suggest(self, value: str, choices: list[str], limit: int = 3) -> list[str]:
        """Closest valid identifiers to a bad one (for error messages)."""
        found = process.extract(fold(value), {c: fold(c) for c in choices}, scorer=fuzz.WRatio, limit=limit)
        return [key for _, score, key in found if score >= 50]

    def suggest_material(self, value: str, limit: int = 3) -> list[str]:
        """Closest material ids, also matching names ("tro bay" → ``coal_fly_ash``)."""
        ids = [h.code for h in self.search(value, limit=limit, kinds=("material",))]
        return ids or self.suggest(value, list(self.materials.index), limit)


@cache
def load_catalogue() -> Catalogue:
    """Read and index the shipped catalogue files (cached per process)."""
    annex = _read_csv("phu_luc_ii.csv")
    materials = _read_csv("materials.csv").set_index("material_id", drop=False)
    for col in ("density_t_per_m3", "ef_landfill_tco2e_per_t", "ef_substitution_tco2e_per_t"):
        materials[col] = pd.to_numeric(materials[col].replace("", None), errors="raise").astype(float)
    rules = _read_csv("exchange_rules.csv").set_index("rule_id", drop=False)
    rules["yield"] = rules["yield"].astype(float)
    path = data_path("catalogue", "waste_codes.csv")
    if path.exists():
        waste_codes = _read_csv("waste_codes.csv").drop_duplicates("waste_code").set_index("waste_code", drop=False)
    else:  # pragma: no cover - the file ships with the package
        waste_codes = pd.DataFrame(columns=["waste_code", "name_vi", "hazard_mark"]).set_index("waste_code", drop=False)
    return Catalogue(annex=annex, materials=materials, rules=rules, waste_codes=waste_codes)
