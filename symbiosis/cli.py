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


if __name__ == "__main__":  # pragma: no cover
    app()
