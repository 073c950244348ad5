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


def test_scenario_commands_create_compare_and_refuse_bad_changes(tmp_path):
    """On the valid sample: close the firm with the most links and compare with the base."""
    import json

    import pandas as pd

    from symbiosis import scenarios
    from symbiosis.store import open_store

    db = _db(tmp_path)
    assert runner.invoke(app, [*db, "import", str(VALID)]).exit_code == 0
    base = runner.invoke(app, [*db, "scenario", "run", "base", "--out", str(tmp_path / "base")])
    assert base.exit_code == 0, base.output
    links = pd.read_csv(tmp_path / "base" / "matches.csv")
    busiest = pd.concat([links.supplier_firm_id, links.receiver_firm_id]).value_counts().index[0]
    lost = int((links.supplier_firm_id == busiest).sum() + (links.receiver_firm_id == busiest).sum())
    change = json.dumps({"kind": "remove_firm", "firm_id": busiest})
    made = runner.invoke(app, [*db, "scenario", "create", "Đóng cửa DN", "--author", "QH", "--change", change])
    assert made.exit_code == 0 and "dong-cua-dn" in made.output
    assert "Đóng cửa DN" in runner.invoke(app, [*db, "scenario", "list"]).output
    both = runner.invoke(app, [*db, "scenario", "run", "base", "dong-cua-dn", "--out", str(tmp_path / "runs")])
    assert both.exit_code == 0, both.output
    assert len(pd.read_csv(tmp_path / "runs" / "base" / "matches.csv")) == len(links)
    assert len(pd.read_csv(tmp_path / "runs" / "dong-cua-dn" / "matches.csv")) > 0
    out = tmp_path / "cmp"
    cmp = runner.invoke(app, [*db, "--lang", "en", "scenario", "compare", "base", "dong-cua-dn", "--out", str(out)])
    assert cmp.exit_code == 0, cmp.output
    deltas = pd.read_csv(out / "kpi_deltas.csv")
    total = deltas[(deltas.park_id == "TOTAL")].set_index("metric")
    assert total.at["links", "a"] == len(links)
    lost_links = pd.read_csv(out / "links_lost.csv")
    assert (lost_links.supplier_firm_id.eq(busiest) | lost_links.receiver_firm_id.eq(busiest)).sum() == lost
    bad = runner.invoke(app, [*db, "scenario", "create", "x", "--change", '{"kind": "remove_firm", "firm_id": "NOPE"}'])
    assert bad.exit_code == 1 and "Thay đổi #1" in bad.output
    assert [s.scenario_id for s in scenarios.load_all(open_store(db[1]))] == ["dong-cua-dn"]  # nothing written
    curve = runner.invoke(app, [*db, "scenario", "tradeoff", "base", "--out", str(tmp_path / "curve.csv")])
    assert curve.exit_code == 0
    c = pd.read_csv(tmp_path / "curve.csv")
    assert c.current.sum() == 1 and c.pareto.any()
    res = runner.invoke(app, [*db, "scenario", "resilience", "--out", str(tmp_path / "res.csv")])
    assert res.exit_code == 0
    r = pd.read_csv(tmp_path / "res.csv")
    assert set(r.firm_id) >= {busiest} and (r.tonnes_to_landfill >= 0).all()


def test_scenario_milp_and_siting_commands(tmp_path):
    import pandas as pd

    db = _db(tmp_path)
    assert runner.invoke(app, [*db, "import", str(VALID)]).exit_code == 0
    milp = runner.invoke(app, [*db, "--lang", "en", "scenario", "milp", "--parks", "TEST-A,TEST-B", "--out",
                               str(tmp_path / "milp")])
    assert milp.exit_code == 0, milp.output
    assert "MILP (SCIP): OPTIMAL" in milp.output
    assert pd.read_csv(tmp_path / "milp" / "matches.csv").supplier_firm_id.notna().all()
    uncapped = pd.read_csv(tmp_path / "milp" / "matches.csv")
    assert {"coal_fly_ash", "coal_bottom_ash"} <= set(uncapped.material_id)  # hauled 0.5 km
    capped = runner.invoke(app, [*db, "--lang", "en", "scenario", "milp", "--parks", "TEST-A,TEST-B",
                                 "--distance-cap", "ash=0.3", "--out", str(tmp_path / "capped")])
    assert capped.exit_code == 0, capped.output
    kept = pd.read_csv(tmp_path / "capped" / "matches.csv")
    assert not ({"coal_fly_ash", "coal_bottom_ash"} & set(kept.material_id))
    assert len(kept) == len(uncapped) - 2
    assert runner.invoke(app, [*db, "scenario", "milp", "--parks", "TEST-A", "--distance-cap", "food"]).exit_code == 1
    unknown = runner.invoke(app, [*db, "scenario", "milp", "--parks", "NOPE"])
    assert unknown.exit_code == 1
    site = runner.invoke(app, [*db, "--lang", "en", "scenario", "site", "ash_brick_plant", "--capacity", "100",
                               "--out", str(tmp_path / "sites.csv")])
    assert site.exit_code == 0, site.output
    ranking = pd.read_csv(tmp_path / "sites.csv")
    assert set(ranking.site) == {"TEST-A", "TEST-B", "TEST-C"} and list(ranking["rank"]) == [1, 2, 3]
    assert runner.invoke(app, [*db, "scenario", "site", "rocket_factory"]).exit_code == 1
