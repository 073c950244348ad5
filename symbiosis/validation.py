"""Validate user tables: parse every cell, check each table with pandera, then
check the tables against each other and the catalogue.

Every problem becomes an :class:`Issue` that names the file or sheet, the row as
the user sees it, the column, the bad value and what was expected — in Vietnamese
and English. Nothing here writes anywhere; :mod:`symbiosis.services` only writes
when there is no error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from symbiosis import schema, settings
from symbiosis.catalogue import Catalogue, load_catalogue
from symbiosis.i18n import Message, fmt_number, t
from symbiosis.io import RawTable, ReadIssue, read_tables
from symbiosis.parameters import default_parameters
from symbiosis.parsing import CellError, is_blank, parse_date, parse_id, parse_number, parse_waste_code
from symbiosis.text import fold, nfc, split_list
from symbiosis.units import PER_YEAR, conversion_factor

TEXT_LIMIT = 500


@dataclass(frozen=True)
class Issue:
    """One located problem in the user's data."""

    severity: str  # "error" or "warning"
    source: str
    row: int | None
    column: str
    value: str
    message: Message
    column_letter: str = ""

    def location(self, lang: str = "vi") -> str:
        if self.row is None:
            return t("report.location_table", lang, file=self.source)
        column = f"{self.column_letter} ({self.column})" if self.column_letter else self.column
        return t("report.location", lang, file=self.source, row=self.row, column=column)

    def render(self, lang: str = "vi") -> str:
        value = f" — {t('report.value', lang, value=self.value)}" if self.value else ""
        return f"{self.location(lang)}{value}: {self.message.render(lang)}"


@dataclass
class ValidatedTables:
    """Typed tables (index = user row number) and the issues found."""

    tables: dict[str, pd.DataFrame]
    issues: list[Issue] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class ExistingData:
    """What the store already holds, for cross-references in a partial import."""

    park_ids: frozenset[str] = frozenset()
    firm_ids: frozenset[str] = frozenset()


def _display(value: object) -> str:
    if is_blank(value):
        return ""
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "…"


class _Collector:
    def __init__(self, table: RawTable):
        self.table = table
        self.issues: list[Issue] = []
        self.failed: set[tuple[int, str]] = set()

    def add(self, row: int | None, column: str, value: object, message: Message, severity: str = "error") -> None:
        if row is not None and (row, column) in self.failed and severity == "error":
            return  # one error per cell is enough
        if row is not None and severity == "error":
            self.failed.add((row, column))
        self.issues.append(Issue(severity, self.table.source, row, column, _display(value), message,
                                 self.table.column_letters.get(column, "")))


# ----------------------------------------------------------------------- parsing


def _parse_cell(attr: schema.Attribute, value: object, cat: Catalogue) -> object:
    kind = attr.type
    if kind in ("id",) or kind.startswith("ref:"):
        return parse_id(value)
    if kind in ("latitude", "longitude"):
        return parse_number(value, thousands=False)
    if kind in ("number", "quantity"):
        return parse_number(value)
    if kind == "date":
        return parse_date(value).isoformat()
    if kind == "enum":
        key = schema.enum_lookup(attr.enum).get(fold(str(value)))
        if key is None:
            raise CellError(Message.of("err.bad_enum", expected=", ".join(schema.enum_keys(attr.enum))))
        return key
    if kind == "waste_code":
        return parse_waste_code(value)
    if kind == "waste_code_list":
        return "; ".join(sorted({parse_waste_code(v) for v in split_list(str(value))}))
    if kind == "subsector":
        code = nfc(str(value)).upper().replace(" ", "")
        if code not in cat.subsectors.index:
            subs = cat.subsectors
            suggestions = cat.suggest(str(value), list(subs.index) + list(subs.name_vi) + list(subs.name_en))
            codes = [s if s in subs.index else subs.index[(subs.name_vi == s) | (subs.name_en == s)][0] for s in suggestions]
            extra = Message.of("err.suggest", suggestions=", ".join(f"{c} ({subs.name_vi[c]})" for c in dict.fromkeys(codes)))
            raise CellError(Message.of("err.unknown_sector") if not codes else _join(Message.of("err.unknown_sector"), extra))
        return code
    if kind == "material":
        mid = nfc(str(value))
        if mid not in cat.materials.index:
            folded = fold(mid).replace(" ", "_")
            if folded in cat.materials.index:
                return folded
            suggestions = cat.suggest_material(mid)
            msg = Message.of("err.unknown_material")
            raise CellError(_join(msg, Message.of("err.suggest", suggestions=", ".join(suggestions))) if suggestions else msg)
        return mid
    if kind == "parameter":
        pid = nfc(str(value))
        if pid not in default_parameters().index:
            suggestions = cat.suggest(pid, list(default_parameters().index))
            msg = Message.of("err.unknown_parameter")
            raise CellError(_join(msg, Message.of("err.suggest", suggestions=", ".join(suggestions))) if suggestions else msg)
        return pid
    text = nfc(str(value))
    if len(text) > TEXT_LIMIT:
        raise CellError(Message.of("err.text_too_long", limit=TEXT_LIMIT))
    return text


def _join(first: Message, second: Message) -> Message:
    """Two messages shown as one (``first`` then ``second``)."""
    return Message.of("msg.pair", first=first, second=second)


def _parse_table(table: RawTable, cat: Catalogue, col: _Collector) -> pd.DataFrame:
    out = pd.DataFrame(index=table.frame.index)
    for attr in schema.attributes()[table.component]:
        values = table.frame[attr.name].tolist()
        parsed: list[object] = []
        for row, value in zip(table.frame.index, values, strict=True):
            if is_blank(value):
                parsed.append(None)
                continue
            try:
                parsed.append(_parse_cell(attr, value, cat))
            except CellError as err:
                col.add(row, attr.name, value, err.message)
                parsed.append(None)
        numeric = attr.type in ("number", "quantity", "latitude", "longitude")
        out[attr.name] = pd.Series(parsed, index=out.index, dtype=float if numeric else object)
    return out


# --------------------------------------------------------------- per-table checks


def _pandera_schema(component: str) -> tuple[pa.DataFrameSchema, dict[tuple[str, int], Message]]:
    """The pandera schema of a parsed table and the message of each (column, check number)."""
    lat_lo, lat_hi = settings.VIETNAM_LAT_RANGE
    lon_lo, lon_hi = settings.VIETNAM_LON_RANGE
    cols = {}
    messages: dict[tuple[str, int], Message] = {}
    for attr in schema.attributes()[component]:
        checks: list[tuple[pa.Check, Message]] = []
        if attr.type == "latitude":
            checks.append((pa.Check.in_range(lat_lo, lat_hi), Message.of("err.lat_outside_vietnam", lo=lat_lo, hi=lat_hi)))
        elif attr.type == "longitude":
            checks.append((pa.Check.in_range(lon_lo, lon_hi), Message.of("err.lon_outside_vietnam", lo=lon_lo, hi=lon_hi)))
        elif attr.name == "quantity":
            checks.append((pa.Check.gt(0), Message.of("err.not_positive")))
        elif attr.type in ("quantity", "number") and attr.name != "value":
            checks.append((pa.Check.ge(0), Message.of("err.negative")))
        for number, (_, message) in enumerate(checks):
            messages[(attr.name, number)] = message
        numeric = attr.type in ("number", "quantity", "latitude", "longitude")
        cols[attr.name] = pa.Column(float if numeric else object, nullable=not attr.required,
                                    checks=[c for c, _ in checks], coerce=False, required=True)
    return pa.DataFrameSchema(cols, strict=False), messages


def _check_table(frame: pd.DataFrame, component: str, col: _Collector) -> None:
    table_schema, messages = _pandera_schema(component)
    try:
        table_schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        for case in exc.failure_cases.itertuples(index=False):
            if case.index is None or pd.isna(case.index):
                continue
            row, column = int(case.index), str(case.column)
            if case.check == "not_nullable":
                col.add(row, column, None, Message.of("err.required"))
            else:
                col.add(row, column, case.failure_case, messages[(column, int(case.check_number))])
    # duplicate identifiers: report every repeat with the row of the first occurrence
    id_col = schema.columns(component)[0]
    ids = frame[id_col]
    dup = ids.notna() & ids.duplicated(keep="first")
    first_row = {v: r for r, v in ids[ids.notna() & ~ids.duplicated(keep="first")].items()}
    for row, value in ids[dup].items():
        col.add(row, id_col, value, Message.of("err.duplicate_id", first_row=first_row[value]))


# --------------------------------------------------------------- cross-table checks


def _check_firms(frame: pd.DataFrame, parks: pd.DataFrame | None, existing: ExistingData,
                 col: _Collector) -> None:
    known = set(existing.park_ids) | (set(parks.park_id.dropna()) if parks is not None else set())
    for r in frame.itertuples():
        row = r.Index
        if r.park_id is not None and r.park_id not in known and (row, "park_id") not in col.failed:
            col.add(row, "park_id", r.park_id, Message.of("err.unknown_ref", table=t("table.parks", "vi")))
        lat_blank, lon_blank = pd.isna(r.lat), pd.isna(r.lon)
        raw_lat, raw_lon = col.table.frame.at[row, "lat"], col.table.frame.at[row, "lon"]
        if lat_blank != lon_blank and is_blank(raw_lat) != is_blank(raw_lon):
            missing = "lat" if is_blank(raw_lat) else "lon"
            col.add(row, missing, None, Message.of("err.coord_pair"))
        if r.park_id is None and is_blank(raw_lat) and is_blank(raw_lon) and (row, "park_id") not in col.failed:
            col.add(row, "lat", None, Message.of("err.firm_no_location"))


def _check_streams(frame: pd.DataFrame, firms: pd.DataFrame | None, existing: ExistingData, cat: Catalogue,
                   col: _Collector) -> None:
    known = set(existing.firm_ids) | (set(firms.firm_id.dropna()) if firms is not None else set())
    mats = cat.materials
    for r in frame.itertuples():
        row = r.Index
        if r.firm_id is not None and r.firm_id not in known and (row, "firm_id") not in col.failed:
            col.add(row, "firm_id", r.firm_id, Message.of("err.unknown_ref", table=t("table.firms", "vi")))
        if r.material_id is None:
            continue
        m = mats.loc[r.material_id]
        name = m.name_vi
        # units and absurd quantities
        if r.unit is not None and r.frequency is not None and not pd.isna(r.quantity):
            factor = conversion_factor(r.unit, m.base_unit, m.density_t_per_m3)
            if factor is None:
                col.add(row, "unit", r.unit, Message.of("err.unit_mismatch", unit=r.unit, base_unit=m.base_unit,
                                                        material=name))
            elif r.quantity * factor * PER_YEAR[r.frequency] > settings.MAX_STREAM_QUANTITY_PER_YEAR:
                per_year = r.quantity * factor * PER_YEAR[r.frequency]
                col.add(row, "quantity", r.quantity, Message.of(
                    "err.absurd_quantity", value_per_year=fmt_number(per_year, "vi", 0), unit=m.base_unit,
                    limit=fmt_number(settings.MAX_STREAM_QUANTITY_PER_YEAR, "vi", 0)))
        lo, hi, q = r.quantity_min, r.quantity_max, r.quantity
        if not pd.isna(lo) and not pd.isna(hi) and lo > hi:
            col.add(row, "quantity_min", lo, Message.of("err.min_gt_max", min=_num(lo), max=_num(hi)))
        elif not pd.isna(q) and ((not pd.isna(lo) and q < lo) or (not pd.isna(hi) and q > hi)):
            col.add(row, "quantity", q, Message.of("err.quantity_outside_bounds", value=_num(q),
                                                   min=_num(lo) if not pd.isna(lo) else "–",
                                                   max=_num(hi) if not pd.isna(hi) else "–"))
        # waste codes and marks
        code_mark = None
        if r.waste_code is not None:
            if r.waste_code in cat.waste_codes.index:
                code_mark = cat.waste_codes.at[r.waste_code, "hazard_mark"] or None
            elif not r.waste_code.startswith(settings.PLACEHOLDER_WASTE_CODE_GROUP + " "):
                col.add(row, "waste_code", r.waste_code, Message.of("warn.unverified_waste_code", code=r.waste_code),
                        severity="warning")
        if r.direction == "output" and m.kind == "waste" and r.waste_code is None \
                and (row, "waste_code") not in col.failed:
            col.add(row, "waste_code", None, Message.of("err.waste_code_required", material=name))
        mark = r.hazard_mark or code_mark
        if mark == "NH" and m.kind != "waste":
            column = "hazard_mark" if r.hazard_mark else "waste_code"
            col.add(row, column, r.hazard_mark or r.waste_code,
                    Message.of("err.nh_on_non_waste", material=name, kind=t(f"kind.{m.kind}", "vi")))


def _num(x: float) -> str:
    return fmt_number(x, "vi", 6)


def _check_parameters(frame: pd.DataFrame, col: _Collector) -> None:
    defaults = default_parameters()
    for r in frame.itertuples():
        row = r.Index
        if r.parameter_id is None or pd.isna(r.value):
            continue
        lo, hi = defaults.at[r.parameter_id, "min_value"], defaults.at[r.parameter_id, "max_value"]
        if (not pd.isna(lo) and r.value < lo) or (not pd.isna(hi) and r.value > hi):
            col.add(row, "value", r.value, Message.of("err.parameter_range", value=_num(r.value), lo=_num(lo), hi=_num(hi)))


# ----------------------------------------------------------------------- entry points


def validate_tables(raw: dict[str, RawTable], read_issues: list[ReadIssue] | None = None,
                    existing: ExistingData | None = None, catalogue: Catalogue | None = None) -> ValidatedTables:
    """Parse and check raw tables; returns typed tables and every issue found."""
    cat = catalogue or load_catalogue()
    existing = existing or ExistingData()
    issues = [Issue(i.severity, i.source, i.row, i.column, _display(i.value), i.message) for i in read_issues or []]
    typed: dict[str, pd.DataFrame] = {}
    collectors: dict[str, _Collector] = {}
    for component in schema.COMPONENTS:
        if component not in raw:
            continue
        col = _Collector(raw[component])
        frame = _parse_table(raw[component], cat, col)
        _check_table(frame, component, col)
        typed[component] = frame
        collectors[component] = col
    if "firms" in typed:
        _check_firms(typed["firms"], typed.get("parks"), existing, collectors["firms"])
    if "streams" in typed:
        _check_streams(typed["streams"], typed.get("firms"), existing, cat, collectors["streams"])
    if "parameters" in typed:
        _check_parameters(typed["parameters"], collectors["parameters"])
    for component in schema.COMPONENTS:
        if component in collectors:
            issues += sorted(collectors[component].issues, key=lambda i: (i.row or 0, schema.columns(component).index(i.column)
                                                                           if i.column in schema.columns(component) else 99))
    return ValidatedTables(typed, issues, {c: raw[c].source for c in raw})


def validate_path(path: str | Path, existing: ExistingData | None = None) -> ValidatedTables:
    """Read and validate a CSV folder, a CSV file or a workbook."""
    raw, read_issues = read_tables(path)
    return validate_tables(raw, read_issues, existing)

