"""ORM tables mirroring ``data/schema/attributes.csv`` (one row per park, firm, stream,
parameter) plus an import log. Migrations in ``migrations/versions`` create them.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, ForeignKey, Integer, String, Text, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Park(Base):
    __tablename__ = "parks"
    park_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    province: Mapped[str] = mapped_column(Text)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    area_ha: Mapped[float | None] = mapped_column(Float)
    operator: Mapped[str | None] = mapped_column(Text)
    location_quality: Mapped[str] = mapped_column(String(16))
    location_method: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)


class Firm(Base):
    __tablename__ = "firms"
    firm_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    park_id: Mapped[str | None] = mapped_column(ForeignKey("parks.park_id"), index=True)
    sector_code: Mapped[str] = mapped_column(String(16))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    licences: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)


class Stream(Base):
    __tablename__ = "streams"
    stream_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    firm_id: Mapped[str] = mapped_column(ForeignKey("firms.firm_id"), index=True)
    direction: Mapped[str] = mapped_column(String(8))
    material_id: Mapped[str] = mapped_column(String(64), index=True)
    quantity: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(8))
    frequency: Mapped[str] = mapped_column(String(8))
    quantity_min: Mapped[float | None] = mapped_column(Float)
    quantity_max: Mapped[float | None] = mapped_column(Float)
    waste_code: Mapped[str | None] = mapped_column(String(16))
    hazard_mark: Mapped[str | None] = mapped_column(String(8))
    hazard_test_result: Mapped[str | None] = mapped_column(String(16))
    notes: Mapped[str | None] = mapped_column(Text)


class Parameter(Base):
    __tablename__ = "parameters"
    parameter_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    source_date: Mapped[str] = mapped_column(String(10))
    notes: Mapped[str | None] = mapped_column(Text)


class ImportLog(Base):
    __tablename__ = "import_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    imported_at: Mapped[dt.datetime] = mapped_column(server_default=func.current_timestamp())
    source: Mapped[str] = mapped_column(Text)
    added: Mapped[int] = mapped_column(Integer)
    changed: Mapped[int] = mapped_column(Integer)
    unchanged: Mapped[int] = mapped_column(Integer)


class MatchRun(Base):
    __tablename__ = "match_runs"
    run_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.current_timestamp())
    objective: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32))
    solver: Mapped[str] = mapped_column(String(32))
    parameters_json: Mapped[str] = mapped_column(Text)
    kpis_json: Mapped[str] = mapped_column(Text)
    links: Mapped[int] = mapped_column(Integer)
    scenario_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # None = the base data


class MatchLink(Base):
    __tablename__ = "match_links"
    run_id: Mapped[int] = mapped_column(ForeignKey("match_runs.run_id", ondelete="CASCADE"), primary_key=True)
    supply_stream_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    demand_stream_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    supplier_firm_id: Mapped[str] = mapped_column(String(64))
    receiver_firm_id: Mapped[str] = mapped_column(String(64))
    material_id: Mapped[str] = mapped_column(String(64))
    rule_id: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[float] = mapped_column(Float)
    quantity_received: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(8))
    distance_km: Mapped[float] = mapped_column(Float)
    transport_cost_vnd: Mapped[float] = mapped_column(Float)
    landfill_avoided_t: Mapped[float] = mapped_column(Float)
    co2e_avoided_t: Mapped[float] = mapped_column(Float)
    legal_status: Mapped[str] = mapped_column(String(32))
    explanation_vi: Mapped[str | None] = mapped_column(Text)
    explanation_en: Mapped[str | None] = mapped_column(Text)


#: Component name → ORM class, in dependency order.
TABLES = {"parks": Park, "firms": Firm, "streams": Stream, "parameters": Parameter}


class Scenario(Base):
    """A named list of changes to the base data (JSON, see :mod:`symbiosis.scenarios`)."""

    __tablename__ = "scenarios"
    scenario_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    author: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.current_timestamp())
    description: Mapped[str] = mapped_column(Text, default="")
    changes_json: Mapped[str] = mapped_column(Text)
