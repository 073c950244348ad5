"""What-if scenarios: the base data plus a named list of changes.

A scenario never edits the stored firm data. It is stored as JSON (table
``scenarios``) and applied on the fly: :func:`apply_changes` turns the base tables
into the scenario's tables, which then flow through the usual pipeline
(network → engine → result). Change kinds:

``set_parameter``   a parameter's value (landfill fee, transport cost, maximum haul …)
``remove_firm``     a firm closes or leaves: its streams disappear
``scale_streams``   streams grow or shrink by a factor, filtered by sector, material,
                    park, firm and/or direction (e.g. "dyeing grows 30 %")
``add_firm``        a new tenant with its streams (validated like an import)
``add_park``        a new park (or a pipeline KCN) opening with SYNTHETIC tenants from
                    the demo generator (:func:`symbiosis.demo.generate_tenants`)
``add_facility``    an enabling facility (ash-brick, composting, plastics recycling …,
                    ``data/scenarios/facility_types.csv``) with a capacity at a chosen point
``min_diversion``   a minimum share of waste tonnes kept from landfill
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from symbiosis import schema
from symbiosis.i18n import t
from symbiosis.parameters import parameter_values
from symbiosis.resources import data_path

#: Scenario id of the unchanged base data in comparisons.
BASE = "base"


class _Change(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SetParameter(_Change):
    kind: Literal["set_parameter"] = "set_parameter"
    parameter_id: str
    value: float


class RemoveFirm(_Change):
    kind: Literal["remove_firm"] = "remove_firm"
    firm_id: str


class ScaleStreams(_Change):
    kind: Literal["scale_streams"] = "scale_streams"
    factor: float = Field(gt=0)
    sector_code: str | None = None
    material_id: str | None = None
    park_id: str | None = None
    firm_id: str | None = None
    direction: Literal["input", "output"] | None = None


class AddFirm(_Change):
    kind: Literal["add_firm"] = "add_firm"
    firm: dict
    streams: list[dict] = []


class AddPark(_Change):
    kind: Literal["add_park"] = "add_park"
    park_id: str
    tenants: int = Field(gt=0, le=2000)
    seed: int = 56
    park: dict | None = None  # the park's row when it is not among the stored/demo parks


class AddFacility(_Change):
    kind: Literal["add_facility"] = "add_facility"
    facility_type: str
    lat: float
    lon: float
    capacity_t_per_year: float | None = Field(default=None, gt=0)
    park_id: str | None = None
    facility_id: str | None = None
    name: str | None = None


class MinDiversion(_Change):
    kind: Literal["min_diversion"] = "min_diversion"
    share: float = Field(gt=0, le=1)


Change = Annotated[SetParameter | RemoveFirm | ScaleStreams | AddFirm | AddPark | AddFacility | MinDiversion,
                   Field(discriminator="kind")]
_CHANGES = TypeAdapter(list[Change])


class ScenarioError(ValueError):
    """A scenario that cannot be applied; ``messages`` are located and bilingual."""

    def __init__(self, messages: list[str]):
        super().__init__("\n".join(messages))
        self.messages = messages


@dataclass
class Scenario:
    """A named list of changes with who wrote it, when and why."""

    scenario_id: str
    name: str
    author: str
    description: str = ""
    changes: list = field(default_factory=list)
    created_at: dt.datetime | None = None

    def to_record(self) -> dict:
        return {"scenario_id": self.scenario_id, "name": self.name, "author": self.author,
                "description": self.description, "changes_json": changes_to_json(self.changes),
                **({"created_at": self.created_at} if self.created_at else {})}


def slug(name: str) -> str:
    """``"Phí chôn lấp × 2"`` → ``"phi-chon-lap-x-2"`` (ids stay ASCII for URLs and files)."""
    text = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D").replace("×", "x"))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:64] or "scenario"


def parse_changes(data: str | list, lang: str = "vi") -> list:
    """Changes from JSON text or a list of dicts; errors name the change number and field."""
    try:
        raw = json.loads(data) if isinstance(data, str) else data
    except json.JSONDecodeError as err:
        raise ScenarioError([t("scenario.bad_json", lang, line=err.lineno, column=err.colno, error=err.msg)]) from err
    if isinstance(raw, dict):
        raw = [raw]
    try:
        return _CHANGES.validate_python(raw)
    except ValidationError as err:
        messages = []
        for e in err.errors():
            loc = e["loc"]
            number = loc[0] + 1 if loc and isinstance(loc[0], int) else 1
            fieldname = ".".join(str(x) for x in loc[2:] if not isinstance(x, int)) or str(loc[-1])
            messages.append(t("scenario.bad_change", lang, number=number, field=fieldname, error=e["msg"]))
        raise ScenarioError(messages) from err


def changes_to_json(changes: list) -> str:
    return json.dumps([c.model_dump(exclude_none=True) for c in changes], ensure_ascii=False, indent=1)


# ------------------------------------------------------------------ store


def save(store, scenario: Scenario) -> None:
    store.save_scenario(scenario.to_record())


def load_all(store) -> list[Scenario]:
    return [Scenario(r.scenario_id, r.name, r.author, r.description or "", parse_changes(r.changes_json),
                     r.created_at) for r in store.read_scenarios().itertuples(index=False)]


def get(store, scenario_id: str) -> Scenario:
    """The stored scenario, or the unchanged base for :data:`BASE`."""
    if scenario_id == BASE:
        return Scenario(BASE, "Hiện trạng (dữ liệu gốc)", "", "")
    for s in load_all(store):
        if s.scenario_id == scenario_id:
            return s
    raise KeyError(scenario_id)


# ------------------------------------------------------------------ applying changes


@cache
def facility_types() -> pd.DataFrame:
    """Enabling facilities a scenario can add (``data/scenarios/facility_types.csv``)."""
    return pd.read_csv(data_path("scenarios", "facility_types.csv"), dtype=str).set_index("facility_type")


def facility_tables(change: AddFacility, number: int) -> dict[str, pd.DataFrame]:
    """The facility as a firm with one input stream of its raw material, capacity = quantity."""
    types = facility_types()
    if change.facility_type not in types.index:
        raise ScenarioError([t("scenario.unknown_facility", "vi", number=number, value=change.facility_type,
                               allowed=", ".join(types.index))])
    ft = types.loc[change.facility_type]
    firm_id = change.facility_id or f"FAC-{number:02d}-{change.facility_type}"
    capacity = change.capacity_t_per_year or float(ft.default_capacity_t_per_year)
    firm = {c: None for c in schema.columns("firms")}
    firm.update(firm_id=firm_id, name=change.name or f"{ft.name_vi} (kịch bản)", park_id=change.park_id,
                sector_code=ft.sector_code, lat=change.lat, lon=change.lon,
                notes=f"cơ sở đề xuất trong kịch bản; công suất: {ft.capacity_basis}")
    stream = {c: None for c in schema.columns("streams")}
    stream.update(stream_id=f"{firm_id}-IN", firm_id=firm_id, direction="input", material_id=ft.demand_material_id,
                  quantity=capacity, unit="t", frequency="year", notes="công suất tiếp nhận (kịch bản)")
    return {"firms": pd.DataFrame([firm]), "streams": pd.DataFrame([stream])}


def _validate_additions(base: dict[str, pd.DataFrame], extra: dict[str, pd.DataFrame], number: int,
                        lang: str) -> dict[str, pd.DataFrame]:
    """Check added rows exactly like an import (schema, catalogue, references); typed rows back."""
    from symbiosis.io import write_csv_folder
    from symbiosis.validation import ExistingData, validate_path

    existing = ExistingData(park_ids=frozenset(base["parks"].park_id), firm_ids=frozenset(base["firms"].firm_id))
    clash = sorted(set(extra.get("firms", pd.DataFrame(columns=["firm_id"])).firm_id) & existing.firm_ids)
    if clash:
        raise ScenarioError([t("scenario.firm_exists", lang, number=number, value=", ".join(clash))])
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / f"thay_doi_{number}"
        write_csv_folder({k: v for k, v in extra.items() if len(v)}, folder)
        checked = validate_path(folder, existing)
    if not checked.ok:
        raise ScenarioError([t("scenario.in_change", lang, number=number) + " " + i.render(lang)
                             for i in checked.errors])
    return {k: v.reset_index(drop=True) for k, v in checked.tables.items()}


def apply_changes(base: dict[str, pd.DataFrame], changes: list, lang: str = "vi") -> tuple[dict[str, pd.DataFrame], float | None]:
    """The scenario's tables (a copy) and its minimum diversion share (None if not set).

    Changes apply in order. Every id a change names must exist at that point; an
    unknown id, parameter or facility type raises :class:`ScenarioError` naming the
    change, and nothing is modified.
    """
    tables = {k: v.copy() for k, v in base.items()}
    tables.setdefault("parameters", pd.DataFrame(columns=schema.columns("parameters")))
    known_parameters = set(parameter_values(None))
    target = None
    for number, change in enumerate(changes, start=1):
        firms, streams = tables["firms"], tables["streams"]
        if isinstance(change, SetParameter):
            if change.parameter_id not in known_parameters:
                raise ScenarioError([t("scenario.unknown_parameter", lang, number=number, value=change.parameter_id,
                                       allowed=", ".join(sorted(known_parameters)))])
            params = tables["parameters"]
            params = params[params.parameter_id != change.parameter_id]
            row = {c: None for c in schema.columns("parameters")}
            row.update(parameter_id=change.parameter_id, value=change.value,
                       source=f"kịch bản / scenario (thay đổi #{number})", source_date=dt.date.today().isoformat())
            tables["parameters"] = pd.concat([params, pd.DataFrame([row])], ignore_index=True)
        elif isinstance(change, RemoveFirm):
            if change.firm_id not in set(firms.firm_id):
                raise ScenarioError([t("scenario.unknown_firm", lang, number=number, value=change.firm_id)])
            tables["firms"] = firms[firms.firm_id != change.firm_id].reset_index(drop=True)
            tables["streams"] = streams[streams.firm_id != change.firm_id].reset_index(drop=True)
        elif isinstance(change, ScaleStreams):
            mask = np.ones(len(streams), dtype=bool)
            firm_info = streams.firm_id.map(firms.set_index("firm_id").sector_code)
            park_of = streams.firm_id.map(firms.set_index("firm_id").park_id)
            for value, column in ((change.sector_code, firm_info), (change.material_id, streams.material_id),
                                  (change.park_id, park_of), (change.firm_id, streams.firm_id),
                                  (change.direction, streams.direction)):
                if value is not None:
                    # a sector code selects its sub-codes too: "IV" covers "IV.8"
                    hit = column.astype(str).eq(value) | column.astype(str).str.startswith(value + ".") \
                        if column is firm_info else column.astype(str).eq(value)
                    mask &= hit.to_numpy()
            if not mask.any():
                raise ScenarioError([t("scenario.no_streams", lang, number=number)])
            streams = streams.copy()
            for column in ("quantity", "quantity_min", "quantity_max"):
                values = streams[column].astype(float)
                streams[column] = np.where(mask, values * change.factor, values)
            tables["streams"] = streams
        elif isinstance(change, (AddFirm, AddPark, AddFacility)):
            if isinstance(change, AddFirm):
                extra = {"firms": pd.DataFrame([change.firm]), "streams": pd.DataFrame(change.streams)}
            elif isinstance(change, AddFacility):
                extra = facility_tables(change, number)
            else:
                from symbiosis.demo import demo_inputs, generate_tenants

                known = pd.concat([tables["parks"], demo_inputs()["parks"]], ignore_index=True) \
                    .drop_duplicates("park_id")
                if change.park is not None:
                    known = pd.concat([known, pd.DataFrame([change.park])], ignore_index=True)
                if change.park_id not in set(known.park_id):
                    raise ScenarioError([t("scenario.unknown_park", lang, number=number, value=change.park_id)])
                extra = generate_tenants(change.park_id, change.tenants, change.seed, known)
                if change.park_id not in set(tables["parks"].park_id):
                    extra["parks"] = known[known.park_id == change.park_id][schema.columns("parks")]
            for k in ("firms", "streams"):
                for column in schema.columns(k):
                    if column not in extra[k]:
                        extra[k][column] = None
            typed = _validate_additions(tables, extra, number, lang)
            for k, frame in typed.items():
                tables[k] = pd.concat([tables[k], frame[schema.columns(k)]], ignore_index=True)
        elif isinstance(change, MinDiversion):
            target = change.share
    return tables, target
