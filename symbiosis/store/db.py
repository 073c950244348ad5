"""Open the database, run migrations, read tables and upsert imports atomically.

SQLite (file, WAL journal, foreign keys enforced) is the default; any SQLAlchemy
URL — e.g. PostgreSQL — can be given through ``SYMBIOSIS_DB_URL``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, bindparam, create_engine, delete, event, insert, inspect, select, update
from sqlalchemy.engine import Connection, make_url

from symbiosis import schema
from symbiosis.settings import get_settings
from symbiosis.store.models import TABLES, ImportLog, MatchLink, MatchRun, Scenario

_HERE = Path(__file__).resolve().parent


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # pragma: no cover - driver callback
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` with Alembic (idempotent)."""
    cfg = Config(str(_HERE / "alembic.ini"))
    cfg.set_main_option("script_location", str(_HERE / "migrations"))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


@dataclass
class TableChange:
    """What an upsert did to one table."""

    added: int = 0
    changed: int = 0
    unchanged: int = 0


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts with ``None`` for missing values (the DB's NULL)."""
    clean = frame.astype(object).where(frame.notna(), None)
    return clean.to_dict("records")


def _same(a: pd.DataFrame, b: pd.DataFrame) -> np.ndarray:
    """Row-wise equality of two aligned frames, treating missing == missing."""
    eq = (a.values == b.values) | (pd.isna(a).values & pd.isna(b).values)
    return eq.all(axis=1)


class Store:
    """A database holding parks, firms, streams and parameters."""

    def __init__(self, engine: Engine):
        self.engine = engine

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def is_initialised(self) -> bool:
        return inspect(self.engine).has_table("streams")

    def read_table(self, component: str, conn: Connection | None = None) -> pd.DataFrame:
        """A component table as a DataFrame with canonical columns, ordered by id."""
        model = TABLES[component]
        cols = schema.columns(component)
        stmt = select(*[model.__table__.c[c] for c in cols]).order_by(model.__table__.c[cols[0]])
        if conn is None:
            with self.engine.connect() as own:
                rows = own.execute(stmt).all()
        else:
            rows = conn.execute(stmt).all()
        frame = pd.DataFrame(rows, columns=cols)
        for attr in schema.attributes()[component]:
            if attr.type in ("number", "quantity", "latitude", "longitude"):
                frame[attr.name] = frame[attr.name].astype(float)
            else:
                frame[attr.name] = frame[attr.name].astype(object)
        return frame

    def read_all(self) -> dict[str, pd.DataFrame]:
        with self.engine.connect() as conn:
            return {c: self.read_table(c, conn) for c in schema.COMPONENTS}

    def counts(self) -> dict[str, int]:
        return {c: len(f) for c, f in self.read_all().items()}

    def upsert(self, tables: dict[str, pd.DataFrame], source: str, replace: bool = False) -> dict[str, TableChange]:
        """Insert or update rows by id, in ONE transaction; nothing is written on error.

        With ``replace=True`` the tables given replace the stored ones entirely
        (rows absent from the import are deleted).
        """
        changes: dict[str, TableChange] = {}
        with self.engine.begin() as conn:
            if replace:
                for component in reversed(schema.COMPONENTS):
                    if component in tables:
                        conn.execute(TABLES[component].__table__.delete())
            for component in schema.COMPONENTS:
                if component in tables:
                    changes[component] = self._upsert_table(conn, component, tables[component])
            total = TableChange(*(sum(getattr(c, f) for c in changes.values()) for f in ("added", "changed", "unchanged")))
            conn.execute(insert(ImportLog.__table__).values(source=source, added=total.added, changed=total.changed,
                                                            unchanged=total.unchanged))
        return changes

    def _upsert_table(self, conn: Connection, component: str, frame: pd.DataFrame) -> TableChange:
        table = TABLES[component].__table__
        cols = schema.columns(component)
        key = cols[0]
        new = frame[cols].reset_index(drop=True).set_index(key, drop=False)
        old = self.read_table(component, conn).set_index(key, drop=False)
        exists = new.index.isin(old.index)
        added = new[~exists]
        both = new[exists]
        same = _same(both[cols], old.loc[both.index, cols]) if len(both) else np.array([], dtype=bool)
        changed = both[~same]
        if len(added):
            conn.execute(insert(table), _records(added[cols]))
        if len(changed):
            stmt = (update(table).where(table.c[key] == bindparam("_key"))
                    .values({c: bindparam(c) for c in cols if c != key}))
            payload = _records(changed[cols])
            for rec in payload:
                rec["_key"] = rec.pop(key)
            conn.execute(stmt, payload)
        return TableChange(added=len(added), changed=len(changed), unchanged=int(same.sum()))


    def save_scenario(self, record: dict) -> None:
        """Insert or replace a scenario (keys as :class:`~symbiosis.store.models.Scenario`)."""
        table = Scenario.__table__
        with self.engine.begin() as conn:
            conn.execute(delete(table).where(table.c.scenario_id == record["scenario_id"]))
            conn.execute(insert(table).values(**record))

    def read_scenarios(self) -> pd.DataFrame:
        """Every stored scenario, oldest first."""
        table = Scenario.__table__
        with self.engine.connect() as conn:
            rows = conn.execute(select(table).order_by(table.c.created_at, table.c.scenario_id)).mappings().all()
        return pd.DataFrame(rows, columns=[c.name for c in table.columns])

    def delete_scenario(self, scenario_id: str) -> bool:
        table = Scenario.__table__
        with self.engine.begin() as conn:
            return conn.execute(delete(table).where(table.c.scenario_id == scenario_id)).rowcount > 0

    def save_run(self, result, scenario_id: str | None = None) -> int:
        """Save a match result (links, KPIs, the parameters used); returns the run id."""
        links = result.matches[[c.name for c in MatchLink.__table__.columns if c.name != "run_id"]]
        with self.engine.begin() as conn:
            run_id = conn.execute(insert(MatchRun.__table__).values(
                objective=result.objective, status=result.status, solver=result.solver,
                parameters_json=json.dumps(result.parameters, sort_keys=True),
                kpis_json=result.kpis.to_json(orient="records", force_ascii=False), links=len(links),
                scenario_id=scenario_id,
            )).inserted_primary_key[0]
            if len(links):
                conn.execute(insert(MatchLink.__table__), [{**r, "run_id": run_id} for r in _records(links)])
        return int(run_id)

    def read_run(self, run_id: int | None = None) -> tuple[dict, pd.DataFrame]:
        """A saved run (the latest if ``run_id`` is None): its metadata and its links."""
        runs, links = MatchRun.__table__, MatchLink.__table__
        with self.engine.connect() as conn:
            stmt = select(runs).order_by(runs.c.run_id.desc()).limit(1) if run_id is None else \
                select(runs).where(runs.c.run_id == run_id)
            meta = conn.execute(stmt).mappings().first()
            if meta is None:
                raise KeyError(run_id)
            rows = conn.execute(select(links).where(links.c.run_id == meta["run_id"])
                                .order_by(links.c.supply_stream_id, links.c.demand_stream_id)).mappings().all()
        meta = dict(meta)
        meta["parameters"] = json.loads(meta.pop("parameters_json"))
        meta["kpis"] = json.loads(meta.pop("kpis_json"))
        return meta, pd.DataFrame(rows, columns=[c.name for c in links.columns])


def open_store(url: str | None = None, migrate_schema: bool = True) -> Store:
    """Open (and by default create or migrate) the store at ``url`` or the configured one."""
    engine = make_engine(url or get_settings().db_url)
    if migrate_schema:
        migrate(engine)
    return Store(engine)
