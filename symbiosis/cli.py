"""Command-line interface ``symbiosis`` (typer + rich). Vietnamese by default, ``--lang en``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from symbiosis import schema, services
from symbiosis.catalogue import load_catalogue
from symbiosis.i18n import fmt_number, t
from symbiosis.settings import get_settings
from symbiosis.store import open_store
from symbiosis.validation import ValidatedTables

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Cộng sinh công nghiệp: ghép cặp chất thải – nguyên liệu giữa các doanh nghiệp trong KCN/CCN — industrial-symbiosis engine for Vietnamese parks.")
console = Console()
err_console = Console(stderr=True)


class _State:
    lang: str = "vi"
    db: str | None = None


state = _State()


@app.callback()
def main(
    lang: Annotated[str, typer.Option("--lang", help="vi | en")] = get_settings().lang,
    db: Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL (default: $SYMBIOSIS_DB_URL or a SQLite file)")] = None,
) -> None:
    state.lang = "en" if lang.lower().startswith("en") else "vi"
    state.db = db


def _print_issues(result: ValidatedTables) -> None:
    if not result.issues:
        return
    table = Table(show_lines=False)
    for key in ("col.severity", "col.location", "col.value", "col.message"):
        table.add_column(t(key, state.lang), overflow="fold")
    for issue in result.issues:
        style = "red" if issue.severity == "error" else "yellow"
        table.add_row(f"[{style}]{t('sev.' + issue.severity, state.lang)}[/]", issue.location(state.lang),
                      issue.value, issue.message.render(state.lang))
    err_console.print(table)


def _summary(result: ValidatedTables) -> str:
    n = {c: len(result.tables.get(c, ())) for c in ("parks", "firms", "streams", "parameters")}
    return t("report.ok", state.lang, **n)


@app.command()
def init() -> None:
    """Tạo hoặc nâng cấp cơ sở dữ liệu — create or migrate the database (Alembic)."""
    store = open_store(state.db)
    console.print(t("cli.init_done", state.lang, url=store.url))


@app.command()
def validate(path: Path) -> None:
    """Kiểm tra thư mục CSV, tệp CSV hoặc sổ .xlsx, không ghi gì — check files; writes nothing."""
    store = open_store(state.db)
    result = services.validate(path, store)
    _print_issues(result)
    if not result.ok:
        err_console.print(f"[red]{t('report.errors', state.lang, n=len(result.errors))}[/]")
        raise typer.Exit(1)
    console.print(_summary(result))


@app.command("import")
def import_(path: Path,
            replace: Annotated[bool, typer.Option(help="Replace the stored tables instead of upserting")] = False) -> None:
    """Kiểm tra rồi nhập trong một giao dịch — validate and import atomically (upsert by id)."""
    store = open_store(state.db)
    report = services.import_path(path, store, replace=replace)
    _print_issues(report.validation)
    if not report.ok:
        err_console.print(f"[red]{t('report.errors', state.lang, n=len(report.validation.errors))}[/]")
        raise typer.Exit(1)
    for component, change in report.changes.items():
        console.print(t("report.table_counts", state.lang, table=t(f"table.{component}", state.lang),
                        added=change.added, changed=change.changed, unchanged=change.unchanged))
    total = report.total()
    console.print(t("report.imported", state.lang, added=total.added, changed=total.changed, unchanged=total.unchanged))


@app.command()
def export(path: Path) -> None:
    """Xuất mọi bảng ra thư mục CSV hoặc tệp .xlsx — export all tables to CSV or a workbook."""
    store = open_store(state.db)
    services.export(store, path)
    console.print(t("cli.exported", state.lang, n=len(schema.COMPONENTS), path=path))


@app.command()
def match(out: Annotated[Path, typer.Option("--out", help="Folder for CSV, xlsx and JSON results")] = Path("ket_qua"),
          objective: Annotated[str, typer.Option(help="lexicographic | vnd | co2e")] = "lexicographic",
          distances: Annotated[Path | None, typer.Option(help="CSV from_id,to_id,distance_km (road km, firm or park ids)")] = None) -> None:
    """Đề xuất các trao đổi tối ưu, lưu và ghi kết quả — propose, save and write the optimal exchanges."""
    store = open_store(state.db)
    result = services.run_match(store, objective, services.read_distances(distances) if distances else None)
    if not result.optimal:
        err_console.print(f"[red]{t('cli.not_optimal', state.lang, status=result.status)}[/]")
        raise typer.Exit(2)
    services.write_match_result(result, out)
    total = result.kpis.set_index("park_id").loc["TOTAL"]
    console.print(t("cli.match_summary", state.lang, links=int(total.links), firms=int(total.firms_involved),
                    diverted=fmt_number(total.diverted_t, state.lang, 1),
                    share=fmt_number(100 * total.share_diverted, state.lang, 1),
                    tkm=fmt_number(total.tkm, state.lang, 0), vnd=fmt_number(total.vnd_saved, state.lang, 0),
                    co2=fmt_number(total.co2e_avoided_t, state.lang, 1), out=out))


@app.command()
def demo(out: Annotated[Path, typer.Option("--out", help="Folder for the results")] = Path("ket_qua_demo"),
         firms: Annotated[int | None, typer.Option(help="Regenerate with this many synthetic firms (e.g. 3000)")] = None,
         seed: Annotated[int | None, typer.Option(help="Random seed of the generator")] = None,
         replace: Annotated[bool, typer.Option(help="Replace the stored data with the demo")] = False) -> None:
    """Nạp dữ liệu mẫu Hưng Yên rồi ghép cặp — load the Hưng Yên demo (real parks, synthetic firms) and match it."""
    store = open_store(state.db)
    report = services.load_demo(store, firms, seed, replace)
    if report is None:
        console.print(t("cli.demo_kept", state.lang))
    elif not report.ok:
        _print_issues(report.validation)
        raise typer.Exit(1)
    else:
        n = store.counts()
        console.print(t("cli.demo_loaded", state.lang, parks=n["parks"], firms=n["firms"], streams=n["streams"]))
    match(out=out, objective="lexicographic", distances=None)


@app.command()
def why(stream_id: str,
        objective: Annotated[str, typer.Option(help="lexicographic | vnd | co2e")] = "lexicographic") -> None:
    """Giải thích một dòng đi đâu hoặc vì sao không được ghép — explain where a stream goes or why it is unmatched."""
    from matching.engine import run_matching
    from matching.explain import explain_stream
    from symbiosis.network import build_network

    store = open_store(state.db)
    network = build_network(store.read_all())
    console.print(explain_stream(run_matching(network, objective), network, stream_id, state.lang))


@app.command()
def template(path: Path) -> None:
    """Ghi mẫu nhập liệu Excel trống — write the blank Excel import template."""
    services.write_template(path, lang=state.lang)
    console.print(t("cli.template_written", state.lang, path=path))


@app.command()
def catalogue(query: str, limit: Annotated[int, typer.Option(help="Maximum results")] = 15) -> None:
    """Tra cứu vật liệu và mục Phụ lục II (không phân biệt dấu) — search materials and Annex II items."""
    cat = load_catalogue()
    hits = cat.search(query, limit=limit)
    if not hits:
        console.print(t("cli.no_match", state.lang, query=query))
        raise typer.Exit(1)
    table = Table()
    for key in ("col.kind", "col.code", "col.name"):
        table.add_column(t(key, state.lang))
    table.add_column("EN" if state.lang == "vi" else "VI")
    for hit in hits:
        extra = ""
        if hit.kind == "material":
            m = cat.materials.loc[hit.code]
            mark = f" [{m.hazard_mark}]" if m.hazard_mark else ""
            extra = f" · {t('kind.' + m.kind, state.lang)}{mark} · {m.base_unit}"
        name, other = (hit.name_vi, hit.name_en) if state.lang == "vi" else (hit.name_en, hit.name_vi)
        table.add_row(t(f"kind.{hit.kind}", state.lang), hit.code, name + extra, other)
    console.print(table)


# ------------------------------------------------------------------ scenarios

scenario_app = typer.Typer(no_args_is_help=True,
                           help="Kịch bản giả định (what-if): tạo, chạy, so sánh, đường đánh đổi, khả năng chống chịu — "
                                "what-if scenarios: create, run, compare, trade-off curve, resilience.")
app.add_typer(scenario_app, name="scenario")


def _scenario_error(err) -> None:
    for message in err.messages:
        err_console.print(f"[red]{message}[/]")
    raise typer.Exit(1)


@scenario_app.command("create")
def scenario_create(name: str,
                    author: Annotated[str, typer.Option(help="Who wrote it")] = "",
                    description: Annotated[str, typer.Option(help="Why / what it tests")] = "",
                    change: Annotated[list[str] | None, typer.Option(
                        help='One change as JSON, e.g. \'{"kind": "remove_firm", "firm_id": "DEMO-0001"}\' (repeatable)')] = None,
                    file: Annotated[Path | None, typer.Option(help="JSON file with a list of changes")] = None,
                    scenario_id: Annotated[str | None, typer.Option("--id", help="Id (default: from the name)")] = None) -> None:
    """Tạo hoặc thay thế một kịch bản — create or replace a scenario."""
    from symbiosis import scenarios

    try:
        changes = []
        if file is not None:
            changes += scenarios.parse_changes(file.read_text(encoding="utf-8"), state.lang)
        for text in change or []:
            changes += scenarios.parse_changes(text, state.lang)
        sc = scenarios.Scenario(scenario_id or scenarios.slug(name), name, author, description, changes)
        store = open_store(state.db)
        scenarios.apply_changes(store.read_all(), changes, lang=state.lang)  # refuse what cannot apply
    except scenarios.ScenarioError as err:
        _scenario_error(err)
    scenarios.save(store, sc)
    console.print(t("cli.scenario_saved", state.lang, id=sc.scenario_id, n=len(changes)))


@scenario_app.command("list")
def scenario_list() -> None:
    """Liệt kê các kịch bản đã lưu — list stored scenarios."""
    from symbiosis import scenarios
    from symbiosis.i18n import fmt_date

    table = Table()
    for key in ("col.scenario_id", "col.name", "col.author", "col.created_at", "col.changes", "col.description"):
        table.add_column(t(key, state.lang), overflow="fold")
    for sc in scenarios.load_all(open_store(state.db)):
        table.add_row(sc.scenario_id, sc.name, sc.author, fmt_date(sc.created_at.date(), state.lang),
                      str(len(sc.changes)), sc.description)
    console.print(table)


@scenario_app.command("show")
def scenario_show(scenario_id: str) -> None:
    """In các thay đổi của một kịch bản (JSON) — print a scenario's changes."""
    from symbiosis import scenarios

    try:
        sc = scenarios.get(open_store(state.db), scenario_id)
    except KeyError:
        err_console.print(f"[red]{t('cli.scenario_unknown', state.lang, id=scenario_id)}[/]")
        raise typer.Exit(1) from None
    console.print(f"[bold]{sc.name}[/] — {sc.author} — {sc.description}")
    console.print_json(scenarios.changes_to_json(sc.changes))


@scenario_app.command("delete")
def scenario_delete(scenario_id: str) -> None:
    """Xóa một kịch bản — delete a scenario."""
    if not open_store(state.db).delete_scenario(scenario_id):
        err_console.print(f"[red]{t('cli.scenario_unknown', state.lang, id=scenario_id)}[/]")
        raise typer.Exit(1)
    console.print(t("cli.scenario_deleted", state.lang, id=scenario_id))


def _run_scenario(store, scenario_id: str, objective: str):
    from symbiosis import scenarios

    try:
        return services.run_scenario(store, scenario_id, objective, lang=state.lang)
    except KeyError:
        err_console.print(f"[red]{t('cli.scenario_unknown', state.lang, id=scenario_id)}[/]")
        raise typer.Exit(1) from None
    except scenarios.ScenarioError as err:
        _scenario_error(err)


@scenario_app.command("run")
def scenario_run(scenario_ids: Annotated[list[str], typer.Argument(help='One or several scenario ids ("base" = today)')],
                 out: Annotated[Path | None, typer.Option("--out", help="Folder for CSV, xlsx and JSON results (one sub-folder per scenario when several)")] = None,
                 objective: Annotated[str, typer.Option(help="lexicographic | vnd | co2e")] = "lexicographic") -> None:
    """Chạy một hay nhiều kịch bản ("base" = hiện trạng) và lưu kết quả — run scenarios and save their results."""
    store = open_store(state.db)
    failed = False
    for scenario_id in scenario_ids:
        result = _run_scenario(store, scenario_id, objective).result
        folder = out if out is None or len(scenario_ids) == 1 else out / scenario_id
        if folder is not None and result.optimal:
            services.write_match_result(result, folder)
        total = result.kpis.set_index("park_id").loc["TOTAL"]
        console.print(f"[bold]{scenario_id}[/]: " + t(
            "cli.match_summary", state.lang, links=int(total.links), firms=int(total.firms_involved),
            diverted=fmt_number(total.diverted_t, state.lang, 1), share=fmt_number(100 * total.share_diverted, state.lang, 1),
            tkm=fmt_number(total.tkm, state.lang, 0), vnd=fmt_number(total.vnd_saved, state.lang, 0),
            co2=fmt_number(total.co2e_avoided_t, state.lang, 1), out=folder or "—"))
        if result.target_share is not None:
            key = "cli.target_met" if result.target_met else "cli.target_missed"
            console.print(t(key, state.lang, target=fmt_number(100 * result.target_share, state.lang, 1)))
        if not result.optimal:
            err_console.print(f"[red]{t('cli.not_optimal', state.lang, status=result.status)}[/]")
            failed = True
    if failed:
        raise typer.Exit(2)


@scenario_app.command("compare")
def scenario_compare(a: str, b: str,
                     out: Annotated[Path | None, typer.Option("--out", help="Folder for the comparison tables")] = None,
                     objective: Annotated[str, typer.Option(help="lexicographic | vnd | co2e")] = "lexicographic") -> None:
    """So sánh hai kịch bản (B − A): chỉ số, liên kết thêm/mất/đổi — compare two scenarios."""
    from matching.whatif import compare

    store = open_store(state.db)
    diff = compare(_run_scenario(store, a, objective).result, _run_scenario(store, b, objective).result)
    table = Table(title=t("cli.compare_title", state.lang, a=a, b=b))
    for key in ("col.metric", "col.a", "col.b", "col.delta", "col.delta_pct"):
        table.add_column(t(key, state.lang), justify="right")
    for r in diff.kpis[diff.kpis.park_id == "TOTAL"].itertuples(index=False):
        digits = 3 if r.metric == "share_diverted" else 1
        pct = "" if r.delta_pct != r.delta_pct else fmt_number(r.delta_pct, state.lang, 1) + " %"
        table.add_row(t(f"col.{r.metric}", state.lang), fmt_number(r.a, state.lang, digits),
                      fmt_number(r.b, state.lang, digits), fmt_number(r.delta, state.lang, digits), pct)
    console.print(table)
    console.print(t("cli.compare_links", state.lang, gained=len(diff.gained), lost=len(diff.lost),
                    changed=len(diff.changed)))
    if out is not None:
        services.write_comparison(diff, out)
        console.print(t("cli.written", state.lang, path=out))


def _with_progress(message_key: str, work):
    """Run ``work(progress)`` under a rich progress bar; ``progress(fraction)`` advances it."""
    from rich.progress import BarColumn, Progress, TimeElapsedColumn

    with Progress("[progress.description]{task.description}", BarColumn(), "{task.percentage:>3.0f}%",
                  TimeElapsedColumn(), console=err_console, transient=True) as bar:
        task = bar.add_task(t(message_key, state.lang), total=1.0)
        return work(lambda fraction: bar.update(task, completed=fraction))


@scenario_app.command("tradeoff")
def scenario_tradeoff(scenario_id: Annotated[str, typer.Argument()] = "base",
                      out: Annotated[Path | None, typer.Option("--out", help="CSV file for the curve")] = None) -> None:
    """Đường đánh đổi chôn lấp – vận chuyển (quét phí chôn lấp) — landfill vs transport trade-off curve."""
    from matching.whatif import tradeoff_curve

    network = _run_scenario(open_store(state.db), scenario_id, "lexicographic").network
    curve = _with_progress("cli.tradeoff_running", lambda progress: tradeoff_curve(network, progress=progress))
    table = Table()
    for key in ("col.fee_multiplier", "col.landfill_t", "col.tkm", "col.transport_cost_vnd", "col.pareto"):
        table.add_column(t(key, state.lang), justify="right")
    for r in curve.itertuples(index=False):
        mult = t("cli.lexicographic_point", state.lang) if r.objective == "lexicographic" else \
            "× " + fmt_number(r.fee_multiplier, state.lang, 2) + (" ◀" if r.current else "")
        table.add_row(mult, fmt_number(r.landfill_t, state.lang, 0), fmt_number(r.tkm, state.lang, 0),
                      fmt_number(r.transport_cost_vnd, state.lang, 0), "✔" if r.pareto else "")
    console.print(table)
    if out is not None:
        curve.to_csv(out, index=False, encoding="utf-8-sig")
        console.print(t("cli.written", state.lang, path=out))


@scenario_app.command("resilience")
def scenario_resilience(scenario_id: Annotated[str, typer.Argument()] = "base",
                        top: Annotated[int, typer.Option(help="Rows to print")] = 20,
                        out: Annotated[Path | None, typer.Option("--out", help="CSV file for every firm")] = None) -> None:
    """Doanh nghiệp then chốt: rời đi thì mất gì — keystone firms: what breaks if each one leaves."""
    from matching.whatif import resilience

    network = _run_scenario(open_store(state.db), scenario_id, "lexicographic").network
    table_df = _with_progress("cli.resilience_running", lambda progress: resilience(network, progress=progress))
    table = Table()
    for key in ("col.firm_id", "col.name", "col.tonnes_to_landfill", "col.links_lost", "col.tonnes_rerouted",
                "col.absorbed_by"):
        table.add_column(t(key, state.lang), overflow="fold")
    for r in table_df.head(top).itertuples(index=False):
        table.add_row(r.firm_id, r.name or "", fmt_number(r.tonnes_to_landfill, state.lang, 0), str(r.links_lost),
                      fmt_number(r.tonnes_rerouted, state.lang, 0), r.absorbed_by)
    console.print(table)
    if out is not None:
        table_df.to_csv(out, index=False, encoding="utf-8-sig")
        console.print(t("cli.written", state.lang, path=out))


@scenario_app.command("milp")
def scenario_milp(parks: Annotated[str, typer.Option(help="Park ids, comma-separated (one park or a few)")],
                  fixed_cost: Annotated[float | None, typer.Option(help="VND per link per year (default: parameter)")] = None,
                  min_lot: Annotated[float | None, typer.Option(help="Minimum t/yr per link (default: parameter)")] = None,
                  max_partners: Annotated[int | None, typer.Option(help="Maximum partner firms per firm (default: parameter)")] = None,
                  distance_cap: Annotated[list[str] | None, typer.Option(
                      help="Maximum km for a material class, e.g. --distance-cap food=20 (repeatable)")] = None,
                  time_limit: Annotated[float, typer.Option(help="Seconds for SCIP")] = 30.0,
                  out: Annotated[Path | None, typer.Option("--out", help="Folder for CSV, xlsx and JSON results")] = None) -> None:
    """Chế độ MILP (chi phí cố định, lô tối thiểu, số đối tác) cho một vài KCN — MILP mode for a few parks."""
    from matching.whatif import run_milp
    from symbiosis.network import build_network

    options = {"time_limit_s": time_limit}
    if fixed_cost is not None:
        options["fixed_cost_vnd_per_link"] = fixed_cost
    if min_lot is not None:
        options["min_lot_t"] = min_lot
    if max_partners is not None:
        options["max_partners_per_firm"] = max_partners
    if distance_cap:
        caps = {}
        for item in distance_cap:
            cls, _, km = item.partition("=")
            try:
                caps[cls.strip()] = float(km)
            except ValueError:
                err_console.print(f"[red]{t('cli.bad_distance_cap', state.lang, value=item)}[/]")
                raise typer.Exit(1) from None
        options["distance_cap_km_by_class"] = caps
    network = build_network(open_store(state.db).read_all())
    try:
        run = run_milp(network, [p.strip() for p in parks.split(",") if p.strip()], **options)
    except KeyError as err:
        err_console.print(f"[red]{t('cli.unknown_parks', state.lang, ids=str(err))}[/]")
        raise typer.Exit(1) from None
    if run.too_large is not None:
        err_console.print(f"[yellow]{run.fallback_message(state.lang)}[/]")
        err_console.print(f"[yellow]{t('cli.milp_fallback', state.lang)}[/]")
    else:
        m = run.milp
        console.print(t("cli.milp_summary", state.lang, status=m.status, gap=fmt_number(100 * m.gap, state.lang, 2),
                        time=fmt_number(m.wall_time_s, state.lang, 1), arcs=m.n_arcs_model, binaries=m.n_binaries,
                        objective=fmt_number(m.objective_vnd, state.lang, 0)))
    total = run.result.kpis.set_index("park_id").loc["TOTAL"]
    console.print(t("cli.milp_links", state.lang, links=int(total.links), firms=int(total.firms_involved),
                    diverted=fmt_number(total.diverted_t, state.lang, 1)))
    if out is not None:
        services.write_match_result(run.result, out)
        console.print(t("cli.written", state.lang, path=out))


@scenario_app.command("site")
def scenario_site(facility_type: Annotated[str, typer.Argument(help="ash_brick_plant | composting_plant | plastic_recycler | biomass_fuel_plant")],
                  max_sites: Annotated[int, typer.Option(help="Open at most this many sites")] = 1,
                  capacity: Annotated[float | None, typer.Option(help="t/yr per site (default: the facility type's assumption)")] = None,
                  fixed_cost: Annotated[float, typer.Option(help="Annualised fixed cost per site, VND/yr")] = 0.0,
                  sites: Annotated[Path | None, typer.Option(help="CSV site_id,lat,lon[,park_id] (default: every park)")] = None,
                  out: Annotated[Path | None, typer.Option("--out", help="CSV of the site ranking")] = None) -> None:
    """Chọn vị trí cơ sở tái chế/xử lý mới (mặc định: các KCN/CCN) — where to put a new facility."""
    import pandas as pd

    from matching.whatif import site_facility
    from symbiosis.scenarios import ScenarioError, facility_types

    if facility_type not in facility_types().index:
        err_console.print(f"[red]{t('scenario.unknown_facility', state.lang, number=1, value=facility_type, allowed=', '.join(facility_types().index))}[/]")
        raise typer.Exit(1)
    table = pd.read_csv(sites) if sites is not None else None
    try:
        result, ranking = site_facility(open_store(state.db).read_all(), facility_type, table, capacity, fixed_cost,
                                        max_sites)
    except ScenarioError as err:
        _scenario_error(err)
    console.print(t("cli.site_summary", state.lang, sites=", ".join(result.chosen_sites) or "—", status=result.status,
                    gain_t=fmt_number(result.gain_t, state.lang, 1), gain_vnd=fmt_number(result.gain_vnd, state.lang, 0)))
    view = Table()
    for key in ("col.rank", "col.site", "col.net_value_vnd", "col.gain_t", "col.received"):
        view.add_column(t(key, state.lang), justify="right")
    for r in ranking.head(10).itertuples(index=False):
        view.add_row(str(r.rank), r.site, fmt_number(r.net_value_vnd, state.lang, 0), fmt_number(r.gain_t, state.lang, 1),
                     fmt_number(r.received, state.lang, 1))
    console.print(view)
    if out is not None:
        ranking.to_csv(out, index=False, encoding="utf-8-sig")
        console.print(t("cli.written", state.lang, path=out))


if __name__ == "__main__":  # pragma: no cover
    app()
