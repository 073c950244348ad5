"""One definition of every table the user supplies (PyPSA style: components are tables).

Column names, types, requirement, units and Vietnamese/English labels come from
``data/schema/attributes.csv``; enumerations and their accepted aliases from
``data/schema/enums.csv``. Validation, the Excel template, the store and
docs/data-format.md are all derived from these two files.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache

from symbiosis.resources import data_path
from symbiosis.text import fold

#: Tables in dependency order (a table only references tables before it).
COMPONENTS = ("parks", "firms", "streams", "parameters")


@dataclass(frozen=True)
class Attribute:
    """One column of a component table."""

    component: str
    name: str
    type: str  # id, text, enum, number, quantity, latitude, longitude, date, ref:<table>, ...
    required: bool
    enum: str
    unit: str
    label_vi: str
    label_en: str
    description_vi: str
    description_en: str

    def label(self, lang: str = "vi") -> str:
        return self.label_en if lang == "en" else self.label_vi

    @property
    def header(self) -> str:
        """Header used in the Excel template: Vietnamese label with the English key."""
        return f"{self.label_vi} ({self.name})"

    @property
    def ref_table(self) -> str | None:
        return self.type.split(":", 1)[1] if self.type.startswith("ref:") else None


@dataclass(frozen=True)
class EnumValue:
    enum: str
    key: str
    label_vi: str
    label_en: str
    aliases: tuple[str, ...]

    def label(self, lang: str = "vi") -> str:
        return self.label_en if lang == "en" else self.label_vi


def _read(name: str) -> list[dict[str, str]]:
    with data_path("schema", name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@cache
def attributes() -> dict[str, tuple[Attribute, ...]]:
    """Attributes per component, in file order."""
    out: dict[str, list[Attribute]] = {c: [] for c in COMPONENTS}
    for row in _read("attributes.csv"):
        out[row["component"]].append(
            Attribute(
                component=row["component"],
                name=row["attribute"],
                type=row["type"],
                required=row["required"] == "true",
                enum=row["enum"],
                unit=row["unit"],
                label_vi=row["label_vi"],
                label_en=row["label_en"],
                description_vi=row["description_vi"],
                description_en=row["description_en"],
            )
        )
    return {k: tuple(v) for k, v in out.items()}


def columns(component: str) -> list[str]:
    """Column keys of a component, in canonical order."""
    return [a.name for a in attributes()[component]]


def attribute(component: str, name: str) -> Attribute:
    return next(a for a in attributes()[component] if a.name == name)


@cache
def enums() -> dict[str, tuple[EnumValue, ...]]:
    out: dict[str, list[EnumValue]] = {}
    for row in _read("enums.csv"):
        out.setdefault(row["enum"], []).append(
            EnumValue(
                enum=row["enum"],
                key=row["key"],
                label_vi=row["label_vi"],
                label_en=row["label_en"],
                aliases=tuple(a for a in row["aliases"].split(";") if a),
            )
        )
    return {k: tuple(v) for k, v in out.items()}


@cache
def enum_lookup(enum: str) -> dict[str, str]:
    """Map every accepted spelling (folded: no case, no diacritics) to the canonical key."""
    lookup: dict[str, str] = {}
    for value in enums()[enum]:
        for spelling in (value.key, value.label_vi, value.label_en, *value.aliases):
            lookup[fold(spelling)] = value.key
    return lookup


def enum_keys(enum: str) -> list[str]:
    return [v.key for v in enums()[enum]]


@cache
def header_lookup(component: str) -> dict[str, str]:
    """Map accepted header spellings to column keys.

    Accepted: the key itself, the Vietnamese or English label, or the template's
    ``"Nhãn (key)"`` form — compared without case or diacritics.
    """
    lookup: dict[str, str] = {}
    for a in attributes()[component]:
        for spelling in (a.name, a.label_vi, a.label_en, a.header):
            lookup.setdefault(fold(spelling), a.name)
    return lookup


def resolve_header(component: str, header: str) -> str | None:
    """Column key for a header cell, or ``None`` if it is not a column of ``component``."""
    text = fold(str(header))
    if text.endswith(")") and "(" in text:  # "Nhãn (key)": trust the key in brackets
        inner = text[text.rindex("(") + 1 : -1].strip()
        if inner in {a.name for a in attributes()[component]}:
            return inner
    return header_lookup(component).get(text)


def markdown_reference() -> str:
    """The column reference of docs/data-format.md, generated from the schema files."""
    lines: list[str] = []
    for component in COMPONENTS:
        lines += [f"### `{component}`", "", "| key | Vietnamese header | required | type | unit | meaning |",
                  "|---|---|---|---|---|---|"]
        for a in attributes()[component]:
            kind = a.type
            if a.enum:
                kind = "one of " + ", ".join(f"`{k}`" for k in enum_keys(a.enum))
            lines.append(f"| `{a.name}` | {a.label_vi} | {'yes' if a.required else ''} | {kind} | {a.unit} | "
                         f"{a.description_en} |")
        lines.append("")
    lines += ["### Accepted spellings of coded values", "", "| value | Vietnamese | English | also accepted |",
              "|---|---|---|---|"]
    for values in enums().values():
        for v in values:
            lines.append(f"| `{v.key}` | {v.label_vi} | {v.label_en} | {', '.join(v.aliases)} |")
    return "\n".join(lines) + "\n"
