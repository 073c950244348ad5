"""Engine input built from the store: unit conversion, locations, effective marks, parameters."""

from __future__ import annotations

import os
import sqlite3

import pytest

from symbiosis import services
from symbiosis.network import build_network
from symbiosis.settings import DB_URL_ENV, get_settings
from symbiosis.store import open_store

from .conftest import VALID


@pytest.fixture
def network(store):
    assert services.import_path(VALID, store).ok
    return build_network(store.read_all())


def test_quantities_become_base_unit_per_year(network):
    q = network.streams.set_index("stream_id").quantity_per_year
    assert q["S004"] == pytest.approx(50 * 365)          # 50 t/day
    assert q["S005"] == pytest.approx(12.5 * 12)         # 12,5 t/month
    assert q["S008"] == pytest.approx(0.8)               # 800 kg/year → t
    assert q["S010"] == pytest.approx(150 * 365)         # m3/day of treated wastewater
    assert q["S011"] == pytest.approx(200 * 365)         # 200 000 L/day → m3
    assert q["S012"] == pytest.approx(1500)              # MWh/year
    s = network.streams.set_index("stream_id")
    assert s.at["S001", "quantity_per_year_min"] == 1000 and s.at["S001", "quantity_per_year_max"] == 1500
    assert s.at["S002", "quantity_per_year"] == pytest.approx(300)


def test_firms_fall_back_to_their_park_point(network):
    firms = network.firms.set_index("firm_id")
    assert (firms.at["F001", "lat"], firms.at["F001", "lon"]) == (20.954, 106.033)
    assert firms.at["F001", "location_source"] == "park"
    assert (firms.at["F002", "lat"], firms.at["F002", "location_source"]) == (20.956, "firm")
    assert firms.at["F005", "lat"] == 20.8  # outside any park, own point


def test_effective_hazard_mark_prefers_the_firm_record(network):
    s = network.streams.set_index("stream_id")
    assert s.at["S001", "hazard_mark_effective"] == "KS"      # firm's record
    assert s.at["S008", "hazard_mark_effective"] == "NH"
    assert s.at["S005", "hazard_mark_effective"] == "TT-R"    # catalogue's (assumed) mark


def test_user_parameters_override_defaults(network):
    assert network.parameters["landfill_fee_vnd_per_t"] == 1_200_000
    assert network.parameters["circuity_factor"] == 1.3
    assert network.parameters["transport_cost_vnd_per_tkm"] == 3000  # default kept


def test_db_url_from_environment_and_sqlite_pragmas(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'env.db'}"
    monkeypatch.setenv(DB_URL_ENV, url)
    assert get_settings().db_url == url
    store = open_store()
    assert services.import_path(VALID, store).ok
    assert os.path.exists(tmp_path / "env.db")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    with sqlite3.connect(tmp_path / "env.db") as con:
        assert con.execute("SELECT version_num FROM alembic_version").fetchone() == ("0003",)
