"""Read and write the four user tables as a folder of CSVs or one .xlsx workbook.

Reading keeps every cell as the user typed it (strings from CSV, native values
from Excel) and indexes rows by the number the user sees in Excel or a text
editor (header = row 1), so every later error can point at the exact cell.
Parsing and checking happen in :mod:`symbiosis.validation`.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pandas as pd
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from symbiosis import schema
from symbiosis.i18n import Message, t
from symbiosis.text import fold, nfc


@dataclass
class RawTable:
    """One table as read: cells untouched, index = user-visible row number."""

    component: str
    source: str  # "firms.csv" or "book.xlsx › firms"
    frame: pd.DataFrame
    column_letters: dict[str, str] = field(default_factory=dict)  # key → Excel column letter


@dataclass
class ReadIssue:
    source: str
    message: Message
    column: str = ""
    row: int | None = None
    value: object = None
    severity: str = "error"


def _component_of(name: str) -> str | None:
    """Which table a file or sheet name holds (``firms.csv``, ``Doanh nghiệp``…)."""
    key = fold(Path(name).stem).replace(" ", "_")
    for comp in schema.COMPONENTS:
        if key in (comp, fold(t(f"table.{comp}", "vi")).replace(" ", "_"), fold(t(f"table.{comp}", "en")).replace(" ", "_")):
            return comp
    return None


def _frame_from_rows(component: str, source: str, rows: list[tuple[int, list[object]]], header: list[object],
                     issues: list[ReadIssue]) -> RawTable:
    keys: list[str | None] = []
    letters: dict[str, str] = {}
    for pos, cell in enumerate(header):
        if cell is None or (isinstance(cell, str) and not cell.strip()):
            keys.append(None)
            continue
        key = schema.resolve_header(component, nfc(str(cell)))
        if key is None:
            issues.append(ReadIssue(source, Message.of("warn.unknown_column", column=str(cell)),
                                    column=str(cell), row=1, severity="warning"))
        elif key in letters:
            key = None  # a repeated column: keep the first
        else:
            letters[key] = get_column_letter(pos + 1)
        keys.append(key)
    data = {k: [] for k in keys if k}
    index = []
    for rownum, values in rows:
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            continue  # blank line: not a record
        index.append(rownum)
        for pos, key in enumerate(keys):
            if key:
                data[key].append(values[pos] if pos < len(values) else None)
    frame = pd.DataFrame(data, index=pd.Index(index, name="row"), dtype=object)
    for attr in schema.attributes()[component]:
        if attr.name not in frame.columns:
            frame[attr.name] = None
            if attr.required:
                issues.append(ReadIssue(source, Message.of("err.missing_column", column=attr.header),
                                        column=attr.name, row=1))
    return RawTable(component, source, frame[schema.columns(component)], letters)


def read_csv_table(path: Path, issues: list[ReadIssue], component: str | None = None) -> RawTable | None:
    component = component or _component_of(path.name)
    if component is None:
        return None
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")  # with or without BOM
    except UnicodeDecodeError:
        issues.append(ReadIssue(path.name, Message.of("err.encoding")))
        return None
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample.splitlines()[0] if sample else ",", delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, [])
    rows = []
    for values in reader:
        rows.append((reader.line_num, [v if v.strip() else None for v in values]))
    return _frame_from_rows(component, path.name, rows, header, issues)


def read_workbook(path: Path, issues: list[ReadIssue]) -> dict[str, RawTable]:
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a corrupt file
        issues.append(ReadIssue(path.name, Message.of("err.unreadable_file", reason=str(exc))))
        return {}
    tables = {}
    for sheet in book.worksheets:
        component = _component_of(sheet.title)
        if component is None:
            continue
        it = sheet.iter_rows(values_only=True)
        header = list(next(it, ()))
        rows = [(n, list(values)) for n, values in enumerate(it, start=2)]
        tables[component] = _frame_from_rows(component, f"{path.name} › {sheet.title}", rows, header, issues)
    book.close()
    return tables


def read_tables(path: str | Path) -> tuple[dict[str, RawTable], list[ReadIssue]]:
    """Read a folder of CSVs, a single CSV, or a workbook into raw tables."""
    path = Path(path)
    issues: list[ReadIssue] = []
    tables: dict[str, RawTable] = {}
    if path.is_dir():
        for file in sorted(path.iterdir()):
            if file.suffix.lower() == ".csv":
                table = read_csv_table(file, issues)
                if table is not None:
                    tables[table.component] = table
            elif file.suffix.lower() == ".xlsx" and not file.name.startswith("~$"):
                tables.update(read_workbook(file, issues))
    elif path.suffix.lower() == ".xlsx":
        tables = read_workbook(path, issues)
    elif path.suffix.lower() == ".csv":
        table = read_csv_table(path, issues)
        if table is not None:
            tables[table.component] = table
    else:
        issues.append(ReadIssue(path.name, Message.of("err.unreadable_file", reason="expected a folder, .csv or .xlsx")))
    if not tables and not issues:
        issues.append(ReadIssue(path.name, Message.of("err.no_tables")))
    return tables, issues


# --------------------------------------------------------------------------- writing


def _cell_text(value: object) -> str:
    """Canonical text of a stored value: integers without ``.0``, floats by repr."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def write_csv_folder(frames: dict[str, pd.DataFrame], folder: str | Path) -> list[Path]:
    """Write one UTF-8 (with BOM, so Excel shows Vietnamese correctly) CSV per table."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for component in schema.COMPONENTS:
        if component not in frames:
            continue
        cols = schema.columns(component)
        path = folder / f"{component}.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(cols)
            for record in frames[component][cols].itertuples(index=False):
                writer.writerow([_cell_text(v) for v in record])
        written.append(path)
    return written


_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


def write_workbook(frames: dict[str, pd.DataFrame], path: str | Path, lang: str = "vi") -> Path:
    """Write the tables as a workbook in the import-template format.

    Headers are ``"Vietnamese label (key)"``; enum columns get drop-down lists; a
    first sheet explains how to fill it in. An empty ``frames`` gives the blank template.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    book = openpyxl.Workbook()
    guide = book.active
    guide.title = "Hướng dẫn" if lang == "vi" else "Guide"
    guide["A1"] = t("template.instructions_title", lang)
    guide["A1"].font = Font(bold=True, size=14)
    guide["A2"] = t("template.instructions", lang)
    row = 4
    for component in schema.COMPONENTS:
        guide.cell(row, 1, f"{component} — {t(f'table.{component}', lang)}").font = Font(bold=True)
        row += 1
        for attr in schema.attributes()[component]:
            guide.cell(row, 1, attr.header)
            guide.cell(row, 2, "bắt buộc" if attr.required and lang == "vi" else "required" if attr.required else "")
            guide.cell(row, 3, attr.description_vi if lang == "vi" else attr.description_en)
            if attr.enum:
                guide.cell(row, 4, ", ".join(schema.enum_keys(attr.enum)))
            row += 1
        row += 1
    guide.column_dimensions["A"].width = 42
    guide.column_dimensions["C"].width = 90
    for component in schema.COMPONENTS:
        sheet = book.create_sheet(component)
        attrs = schema.attributes()[component]
        for col, attr in enumerate(attrs, start=1):
            cell = sheet.cell(1, col, attr.header)
            cell.font = Font(bold=True)
            cell.fill = _HEADER_FILL
            sheet.column_dimensions[get_column_letter(col)].width = max(14, min(40, len(attr.header) + 2))
            if attr.enum:
                dv = DataValidation(type="list", formula1='"' + ",".join(schema.enum_keys(attr.enum)) + '"',
                                    allow_blank=not attr.required)
                dv.add(f"{get_column_letter(col)}2:{get_column_letter(col)}100000")
                sheet.add_data_validation(dv)
        sheet.freeze_panes = "A2"
        frame = frames.get(component)
        if frame is None:
            continue
        for r, record in enumerate(frame[[a.name for a in attrs]].itertuples(index=False), start=2):
            for c, value in enumerate(record, start=1):
                if value is None or (isinstance(value, float) and math.isnan(value)):
                    continue
                sheet.cell(r, c, value)
    book.save(path)
    return path
