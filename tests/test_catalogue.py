"""The shipped catalogue: Phụ lục II completeness against the seed, materials, rules."""

from __future__ import annotations

import re

import pytest

from symbiosis.catalogue import HAZARD_MARKS, LEGAL_CONDITIONS, MATERIAL_KINDS, load_catalogue
from symbiosis.units import DIMENSION_OF_BASE

from .conftest import SHARED

SEED = SHARED / "seed" / "ke-hoach-56-KH-UBND-hung-yen-kinh-te-tuan-hoan-2035.txt"
ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X"]


def _squash(text: str) -> str:
    """Compare text ignoring whitespace only (the seed writes "CO 2  " for CO2)."""
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def cat():
    return load_catalogue()


@pytest.fixture(scope="module")
def seed_annex() -> list[str]:
    if not SEED.exists():
        pytest.skip(f"seed text not found at {SEED}")
    lines = SEED.read_text(encoding="utf-8").splitlines()
    start = lines.index("PHỤ LỤC II")
    body = lines[start:]
    first = body.index("I")
    last = next(i for i, line in enumerate(body) if line.startswith("[1]"))
    return [line.strip() for line in body[first:last] if line.strip()]


def test_annex_counts_match_the_plan(cat):
    assert len(cat.sectors) == 10
    assert len(cat.subsectors) == 34
    assert len(cat.items) == 68
    assert list(cat.sectors.index) == ROMAN
    # the seed's own numbering: sector I has subsectors 1, 2 and 4 (no 3)
    assert [c for c in cat.subsectors.index if c.startswith("I.")] == ["I.1", "I.2", "I.4"]
    assert "IV.5.1" in cat.items.index and cat.items.at["IV.5.1", "parent_code"] == "IV.5"


def test_every_seed_line_is_in_the_catalogue_verbatim(cat, seed_annex):
    names = {_squash(n) for n in cat.annex.name_vi}
    codes = set(cat.annex.code)
    missing = []
    sector = None
    for line in seed_annex:
        if line in ROMAN:
            sector = line
            assert sector in codes
            continue
        if line.isdigit():
            assert f"{sector}.{line}" in codes, f"subsector {sector}.{line} missing"
            continue
        text = line[2:] if line.startswith("- ") else line
        if _squash(text) not in names:
            missing.append(text)
    assert not missing, missing


def test_seed_items_sit_under_their_seed_subsector(cat, seed_annex):
    """Item codes follow the seed's order: IV.5's first bullet is the plastics packaging line."""
    assert cat.items.at["IV.5.1", "name_vi"].startswith("Bao bì, sản phẩm làm từ nguyên liệu nhựa")
    assert cat.items.at["II.1.1", "name_vi"] == "Các loại vật liệu, tro bay, xỉ đáy lò của nhà máy nhiệt điện"
    assert cat.items.at["VIII.2.1", "parent_code"] == "VIII.2"
    assert all(cat.annex.name_en.str.len() > 0)


def test_materials_are_complete_and_classified(cat):
    m = cat.materials
    assert len(m) >= 120
    assert m.index.is_unique
    assert set(m.kind) <= set(MATERIAL_KINDS)
    assert set(m.base_unit) <= set(DIMENSION_OF_BASE)
    for mid, row in m.iterrows():
        items = [c.strip() for c in row.phu_luc_items.split(";") if c.strip()]
        assert items, f"{mid} has no Phụ lục II item"
        assert set(items) <= set(cat.items.index), f"{mid}: unknown item in {items}"
        assert row.name_vi and row.name_en and row.source, mid
        if row.hazard_mark:
            assert row.hazard_mark in HAZARD_MARKS, mid
            assert row.kind in ("waste", "by-product"), f"{mid}: a {row.kind} cannot carry a hazard mark"
            assert row.hazard_mark_basis, f"{mid}: mark without basis"
        if row.waste_code:
            assert re.fullmatch(r"\d\d \d\d \d\d", row.waste_code), mid
            assert row.waste_code_status, f"{mid}: code without status"


def test_required_materials_present(cat):
    for mid in ("coal_fly_ash", "coal_bottom_ash", "fgd_gypsum", "eaf_steel_slag", "iron_steel_scrap",
                "aluminium_chips", "pet_bottle_scrap", "pvc_scrap", "abs_scrap", "pu_foam_scrap", "occ",
                "brewers_spent_grain", "rice_husk", "sawdust", "dyeing_sludge", "used_lubricating_oil",
                "spent_organic_solvents", "end_of_life_tyres", "glass_cullet_clear", "process_steam",
                "waste_heat_low", "treated_wastewater", "co2_offgas"):
        assert mid in cat.materials.index, mid
    assert cat.materials.at["coal_fly_ash", "name_vi"].lower().startswith("tro bay")
    assert cat.materials.at["treated_wastewater", "base_unit"] == "m3"
    assert cat.materials.at["waste_heat_low", "base_unit"] == "MWh"


def test_waste_codes_only_from_the_verified_list(cat):
    """A material may suggest a code only if that code was seen in a source (never invented)."""
    coded = cat.materials[cat.materials.waste_code != ""]
    assert set(coded.waste_code) <= set(cat.waste_codes.index)
    assert (cat.waste_codes.source_url.str.len() > 0).all()
    assert (cat.waste_codes.quote.str.len() > 0).all()


def test_rules_reference_existing_materials_and_cite_a_source(cat):
    r = cat.rules
    assert len(r) >= 60
    assert r.index.is_unique
    assert set(r.supply_material_id) <= set(cat.materials.index)
    assert set(r.demand_material_id) <= set(cat.materials.index)
    assert (r["yield"] > 0).all()
    assert set(r.legal_condition) <= set(LEGAL_CONDITIONS)
    assert set(r.certainty) <= {"established", "uncertain"}
    assert (r.source.str.strip().str.len() > 0).all()
    # a rule whose source is only an assumption must be marked uncertain
    assumed = r[r.source.str.lower().str.startswith("assumption")]
    assert (assumed.certainty == "uncertain").all()


def test_key_exchanges_have_rules(cat):
    pairs = set(zip(cat.rules.supply_material_id, cat.rules.demand_material_id))
    for pair in [("coal_fly_ash", "unfired_brick_raw_material"), ("coal_fly_ash", "cement_mineral_additive"),
                 ("fgd_gypsum", "natural_gypsum"), ("brewers_spent_grain", "animal_feed"),
                 ("iron_steel_scrap", "iron_steel_scrap"), ("treated_wastewater", "process_water"),
                 ("waste_heat_low", "process_heat")]:
        assert pair in pairs, pair


def test_hazardous_materials_need_a_licence_in_their_rules(cat):
    nh = set(cat.materials.index[cat.materials.hazard_mark == "NH"])
    rules = cat.rules[cat.rules.supply_material_id.isin(nh)]
    assert len(rules) > 0
    assert (rules.legal_condition == "hazardous_licence").all(), rules[["rule_id", "legal_condition"]]


@pytest.mark.parametrize("query", ["tro bay", "tro bày", "Tro bay", "TRO BAY", "fly ash", "Fly Ash"])
def test_search_finds_fly_ash_without_diacritics(cat, query):
    hits = cat.search(query)
    assert hits and hits[0].code == "coal_fly_ash", [h.code for h in hits[:3]]


def test_search_finds_annex_items_and_english_names(cat):
    assert any(h.code == "IV.6.2" for h in cat.search("phế liệu sắt thép"))
    assert cat.search("spent grain")[0].code == "brewers_spent_grain"
    assert cat.search("bã hèm")[0].code == "brewers_spent_grain"
    assert cat.search("zzzzqqq") == []
