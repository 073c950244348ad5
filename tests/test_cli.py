"""The ``symbiosis`` command line: exit codes, messages, language switch."""

from __future__ import annotations

from typer.testing import CliRunner

from symbiosis.cli import app

from .conftest import BAD, VALID

runner = CliRunner()


def _db(tmp_path) -> list[str]:
    return ["--db", f"sqlite:///{tmp_path / 'cli.db'}"]


def test_init_import_export_cycle(tmp_path):
    db = _db(tmp_path)
    assert runner.invoke(app, [*db, "init"]).exit_code == 0
    result = runner.invoke(app, [*db, "import", str(VALID)])
    assert result.exit_code == 0, result.output
    assert "24 thêm mới" in result.output
    again = runner.invoke(app, [*db, "--lang", "en", "import", str(VALID)])
    assert "0 added, 0 changed, 24 unchanged" in again.output
    out = tmp_path / "out"
    assert runner.invoke(app, [*db, "export", str(out)]).exit_code == 0
    assert (out / "streams.csv").exists()
    assert runner.invoke(app, [*db, "export", str(tmp_path / "all.xlsx")]).exit_code == 0
    assert (tmp_path / "all.xlsx").stat().st_size > 0


def test_validate_reports_and_fails_on_bad_input(tmp_path):
    result = runner.invoke(app, [*_db(tmp_path), "validate", str(BAD / "19_stream_negative_quantity")])
    assert result.exit_code == 1
    assert "không ghi gì" in result.output
    en = runner.invoke(app, [*_db(tmp_path), "--lang", "en", "validate", str(BAD / "19_stream_negative_quantity")])
    assert en.exit_code == 1 and "Must be greater than 0" in en.output
    ok = runner.invoke(app, [*_db(tmp_path), "validate", str(VALID)])
    assert ok.exit_code == 0 and "7 doanh nghiệp" in ok.output


def test_catalogue_search(tmp_path):
    for query in ("tro bay", "tro bày", "fly ash"):
        result = runner.invoke(app, ["catalogue", query])
        assert result.exit_code == 0
        assert "coal_fly_ash" in result.output
    assert runner.invoke(app, ["catalogue", "qqqzzzxx"]).exit_code == 1


def test_template(tmp_path):
    path = tmp_path / "mau_nhap_lieu.xlsx"
    result = runner.invoke(app, ["template", str(path)])
    assert result.exit_code == 0 and path.exists()


def test_match_writes_results(tmp_path):
    import json

    db = _db(tmp_path)
    assert runner.invoke(app, [*db, "import", str(VALID)]).exit_code == 0
    out = tmp_path / "kq"
    result = runner.invoke(app, [*db, "--lang", "en", "match", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Optimal: 5 links among 7 firms" in result.output
    summary = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert summary["status"] == "OPTIMAL" and summary["links"] == 5
    assert summary["parameters"]["circuity_factor"] == 1.3
    for name in ("matches.csv", "unmatched_supply.csv", "unmet_demand.csv", "kpis.csv", "ket_qua.xlsx"):
        assert (out / name).exists()


def test_match_run_is_saved_with_parameters_and_why(tmp_path):
    from symbiosis.store import open_store

    db = _db(tmp_path)
    runner.invoke(app, [*db, "import", str(VALID)])
    distances = tmp_path / "road.csv"
    distances.write_text("from_id,to_id,distance_km\nTEST-B,TEST-C,2.5\n", encoding="utf-8")
    result = runner.invoke(app, [*db, "match", "--out", str(tmp_path / "kq"), "--distances", str(distances)])
    assert result.exit_code == 0, result.output
    store = open_store(db[1])
    meta, links = store.read_run()
    assert meta["status"] == "OPTIMAL" and meta["parameters"]["landfill_fee_vnd_per_t"] == 1_200_000
    assert meta["kpis"][0]["park_id"] == "TOTAL"
    # the road table puts the brewery 2.5 km from the steel mill: treated water now fits in a pipe
    water = links[links.supply_stream_id == "S010"]
    assert list(water.demand_stream_id) == ["S011"] and water.distance_km.iloc[0] == 2.5
    why = runner.invoke(app, [*db, "--lang", "en", "why", "S012"])
    assert "no firm needs a material" in why.output
