"""The Hưng Yên demo: shipped, deterministic, valid, and it produces recognisable exchanges."""

from __future__ import annotations

import pytest

from matching.engine import run_matching
from symbiosis import demo, services
from symbiosis.io import read_tables, write_csv_folder
from symbiosis.network import build_network
from symbiosis.validation import validate_path


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory):
    from symbiosis.store import open_store

    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}")
    report = services.load_demo(store)
    assert report is not None and report.ok
    return store


@pytest.fixture(scope="module")
def demo_result(demo_store):
    net = build_network(demo_store.read_all())
    return net, run_matching(net)


def test_shipped_files_equal_the_generator(tmp_path):
    """The generator is deterministic and the shipped files are its output (regenerate: python -m symbiosis.demo)."""
    write_csv_folder(demo.generate_demo(), tmp_path)
    for table in ("parks", "firms", "streams"):
        assert (tmp_path / f"{table}.csv").read_bytes() == (demo.demo_dir() / f"{table}.csv").read_bytes(), table
    book = demo.demo_dir().parent / "du_lieu_mau_hung_yen.xlsx"
    raw, issues = read_tables(book)
    assert not [i for i in issues if i.severity == "error"]
    assert len(raw["firms"].frame) == 600


def test_demo_passes_the_same_validation_as_user_files():
    result = validate_path(demo.demo_dir())
    assert result.ok, [i.render("en") for i in result.errors[:5]]
    assert not result.warnings  # verified codes or group-99 placeholders only


def test_parks_are_real_and_firms_are_labelled_synthetic(demo_store):
    tables = demo_store.read_all()
    parks = tables["parks"].set_index("park_id")
    assert len(parks) == 36
    assert {"KCN Phố Nối A", "KCN Thăng Long II", "KCN Dệt may Phố Nối", "CCN Quán Đỏ", "KCN Tiền Hải"} <= set(parks.name)
    assert (parks.location_quality == "approximate").all()
    assert parks.source.str.len().gt(0).all()
    firms = tables["firms"]
    assert len(firms) == 600
    assert firms.name.str.startswith("DN mô phỏng ").all()
    # pipeline parks have no tenants yet; Dệt may Phố Nối hosts textile firms
    assert firms[firms.park_id == "KCN-P-SO-1"].empty
    textile = firms[firms.park_id == "KCN-DET-MAY-PHO-NOI"].name
    assert textile.str.contains("Dệt nhuộm|May mặc|Tái chế sợi").all()
    assert firms[firms.park_id == "KCN-TB-TIEN-HAI"].name.str.contains("Gốm sứ").any()


def test_expected_exchanges_appear(demo_result):
    net, result = demo_result
    m = result.matches
    names = net.firms.set_index("firm_id").name
    m = m.assign(receiver=m.receiver_firm_id.map(names))
    ash = m[m.material_id == "boiler_ash_mixed"]
    assert ash.receiver.str.contains("Gạch không nung").all() and ash.quantity.sum() > 1000
    grain = m[m.material_id == "brewers_spent_grain"]
    assert len(grain) >= 1 and grain.receiver.str.contains("Thức ăn chăn nuôi").all()
    assert m[(m.material_id == "occ") & (m.demand_material_id == "occ")].receiver.str.contains("Giấy").all()
    assert (m[m.material_id == "waste_heat_high"].distance_km <= 3.0).all()   # heat only by short pipe
    plastics = m[m.material_id.isin(["ldpe_film_scrap", "pp_scrap"])]
    assert len(plastics) > 50 and plastics.receiver.str.contains("Tái chế nhựa").all()
    sludge = m[m.material_id == "dyeing_sludge"]
    assert len(sludge) > 0 and sludge.receiver.str.contains("Gạch nung").all()
    slag = m[m.material_id == "eaf_steel_slag"]
    assert len(slag) > 0 and slag.receiver.str.contains("Thi công đường").all()
    # hazardous wastes go only to the licensed treatment firms
    nh = m[m.hazard_mark == "NH"]
    assert len(nh) > 50 and nh.receiver.str.contains("Xử lý chất thải nguy hại").all()
    # EAF dust has no licensed receiver: the legal gate keeps it out, with that reason
    dust = result.unmatched_supply[result.unmatched_supply.material_id == "eaf_dust"]
    assert len(dust) > 0 and dust.reason.str.contains("not_licensed|no_compatible_demand").all()
    assert "no_hazard_test" in set(result.unmatched_supply.reason)


def test_headline_figures_are_plausible(demo_result):
    _, result = demo_result
    total = result.kpis.set_index("park_id").loc["TOTAL"]
    # ranges a park authority would find credible for 600 firms (see docs/demo.md)
    assert 100_000 < total.waste_supply_t < 1_000_000
    assert 0.4 < total.share_diverted < 0.9
    assert 400 < total.links < 2000
    assert total.firms_involved > 300
    assert 0 < total.tkm / total.diverted_t < 30            # mean haul (t·km per t) of a province
    assert total.vnd_saved > 0 and total.co2e_avoided_t > 0


def test_size_parameter_scales_the_province():
    tables = demo.generate_demo(n_firms=3000)
    assert len(tables["firms"]) == 3000
    assert 8000 < len(tables["streams"]) < 12000
    assert tables["firms"].firm_id.is_unique and tables["streams"].stream_id.is_unique


def test_demo_loads_only_into_an_empty_store(demo_store):
    assert services.load_demo(demo_store) is None
