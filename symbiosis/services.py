"""The functions the CLI and the app call: validate, import, export, template.

Each takes a :class:`~symbiosis.store.Store` explicitly; none prints or imports a UI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from symbiosis import schema
from symbiosis.io import write_csv_folder, write_workbook
from symbiosis.store.db import Store, TableChange
from symbiosis.validation import ExistingData, ValidatedTables, validate_path


@dataclass
class ImportReport:
    """Outcome of an import: the validation result and, if written, what changed."""

    validation: ValidatedTables
    changes: dict[str, TableChange] = field(default_factory=dict)
    written: bool = False

    @property
    def ok(self) -> bool:
        return self.validation.ok

    def total(self) -> TableChange:
        return TableChange(*(sum(getattr(c, f) for c in self.changes.values()) for f in ("added", "changed", "unchanged")))


def existing_data(store: Store) -> ExistingData:
    """Ids already stored, so a file of streams can reference firms imported earlier."""
    if not store.is_initialised():
        return ExistingData()
    tables = store.read_all()
    return ExistingData(park_ids=frozenset(tables["parks"].park_id), firm_ids=frozenset(tables["firms"].firm_id))


def validate(path: str | Path, store: Store | None = None) -> ValidatedTables:
    """Check a file or folder against the schema, the catalogue and (if given) the store."""
    return validate_path(path, existing_data(store) if store is not None else None)


def import_path(path: str | Path, store: Store, replace: bool = False) -> ImportReport:
    """Validate then write atomically; with any error nothing is written."""
    result = validate(path, None if replace else store)
    report = ImportReport(result)
    if not result.ok:
        return report
    tables = {c: f.reset_index(drop=True) for c, f in result.tables.items()}
    report.changes = store.upsert(tables, source=str(path), replace=replace)
    report.written = True
    return report


def export(store: Store, path: str | Path) -> list[Path]:
    """Export every table: ``.xlsx`` → one workbook (template format), else a CSV folder."""
    tables = store.read_all()
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        return [write_workbook(tables, path)]
    return write_csv_folder(tables, path)


def write_template(path: str | Path, lang: str = "vi") -> Path:
    """The blank import workbook, generated from the schema."""
    empty = {c: pd.DataFrame(columns=schema.columns(c)) for c in schema.COMPONENTS}
    return write_workbook(empty, path, lang=lang)


def read_distances(path: str | Path) -> pd.DataFrame:
    """A road-distance table (CSV: from_id, to_id, distance_km — firm or park ids)."""
    frame = pd.read_csv(path, dtype={"from_id": str, "to_id": str}, encoding="utf-8-sig")
    missing = {"from_id", "to_id", "distance_km"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)}")
    frame["distance_km"] = frame.distance_km.astype(float)
    return frame


def run_match(store: Store, objective: str = "lexicographic", distances: pd.DataFrame | None = None,
              save: bool = True):
    """Solve the stored network (and save the result with its parameters); returns a MatchResult."""
    from matching.engine import run_matching  # the engine is optional for data-only use
    from symbiosis.network import build_network

    result = run_matching(build_network(store.read_all()), objective=objective, distances=distances)
    if save and result.optimal:
        result.run_id = store.save_run(result)
    return result


def write_match_result(result, folder: str | Path) -> list[Path]:
    """Write matches, unmatched supply, unmet demand and KPIs as CSV, one .xlsx and a JSON summary."""
    import json

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tables = {"matches": result.matches, "unmatched_supply": result.unmatched_supply,
              "unmet_demand": result.unmet_demand, "kpis": result.kpis}
    if result.bound_changes is not None:
        tables["bound_changes"] = result.bound_changes
    written = _write_tables(tables, folder, "ket_qua.xlsx")
    summary = {"status": result.status, "solver": result.solver, "objective": result.objective,
               "parameters": result.parameters, "kpis": result.kpis.to_dict("records"),
               "links": len(result.matches)}
    path = folder / "result.json"
    path.write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    written.append(path)
    return written


def load_demo(store: Store, n_firms: int | None = None, seed: int | None = None, replace: bool = False) -> ImportReport | None:
    """Load the Hưng Yên demo (shipped files, or regenerated at another size/seed).

    Loads only into an empty store unless ``replace``; returns ``None`` when nothing was loaded.
    """
    from symbiosis import demo

    if not replace and any(store.counts()[c] for c in ("parks", "firms", "streams")):
        return None
    if n_firms is None and seed is None:
        return import_path(demo.demo_dir(), store, replace=True)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        folder = demo.write_demo(Path(tmp) / "demo", n_firms or demo.DEFAULT_FIRMS, seed or demo.DEFAULT_SEED)
        return import_path(folder, store, replace=True)


def data_version(store: Store) -> str:
    """A key that changes exactly when stored data or parameters change (import log + row hash)."""
    import hashlib

    tables = store.read_all()
    digest = hashlib.sha256()
    for name in ("parks", "firms", "streams", "parameters"):
        digest.update(pd.util.hash_pandas_object(tables[name].astype(str), index=False).values.tobytes())
    return digest.hexdigest()[:16]


def save_parameters(store: Store, values: dict[str, float], source: str, source_date: str) -> ImportReport:
    """Store user parameter values (validated like an import) with their source and date."""
    from symbiosis.parameters import default_parameters

    defaults = default_parameters()
    rows = [{"parameter_id": pid, "value": float(v), "unit": defaults.at[pid, "unit"], "source": source,
             "source_date": source_date, "notes": None} for pid, v in values.items()]
    return import_frames({"parameters": pd.DataFrame(rows, columns=schema.columns("parameters"))}, store, "parameters")


def import_frames(frames: dict[str, pd.DataFrame], store: Store, source: str = "app") -> ImportReport:
    """Validate and upsert tables edited in the app, exactly like a file import (atomic, located errors)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / source.replace(":", "").replace(" ", "_").replace("/", "_")
        write_csv_folder(frames, folder)
        return import_path(folder, store)


def per_year(streams: pd.DataFrame) -> pd.DataFrame:
    """Each stream's amount converted to its material's base unit per year (what the engine uses)."""
    from symbiosis.catalogue import load_catalogue
    from symbiosis.units import to_base_per_year

    mats = load_catalogue().materials.loc[streams.material_id]
    values = to_base_per_year(streams.quantity.to_numpy(dtype=float), streams.unit.to_numpy(),
                              streams.frequency.to_numpy(), mats.base_unit.to_numpy(),
                              mats.density_t_per_m3.to_numpy(dtype=float))
    return pd.DataFrame({"stream_id": streams.stream_id.to_numpy(), "material_id": streams.material_id.to_numpy(),
                         "quantity": streams.quantity.to_numpy(), "unit": streams.unit.to_numpy(),
                         "frequency": streams.frequency.to_numpy(), "per_year": values,
                         "base_unit": mats.base_unit.to_numpy()})


def run_scenario(store: Store, scenario_id: str, objective: str = "lexicographic", save: bool = True,
                 lang: str = "vi"):
    """Apply a stored scenario (or :data:`~symbiosis.scenarios.BASE`) to the stored data and solve.

    The result is saved with the scenario's id when optimal. Returns a
    :class:`matching.whatif.ScenarioRun`.
    """
    from matching.whatif import run_scenario as solve_scenario
    from symbiosis import scenarios

    run = solve_scenario(store.read_all(), scenarios.get(store, scenario_id), objective, lang=lang)
    if save and run.result.optimal:
        run.result.run_id = store.save_run(run.result, scenario_id=None if scenario_id == scenarios.BASE else scenario_id)
    return run


def write_comparison(comparison, folder: str | Path) -> list[Path]:
    """KPI deltas and the links gained, lost and changed as CSV files and one workbook."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tables = {"kpi_deltas": comparison.kpis, "links_gained": comparison.gained, "links_lost": comparison.lost,
              "links_changed": comparison.changed}
    return _write_tables(tables, folder, "so_sanh.xlsx")


def _write_tables(tables: dict[str, pd.DataFrame], folder: Path, workbook: str) -> list[Path]:
    """One CSV per table (UTF-8 with BOM, so Excel shows Vietnamese) and one workbook with a sheet each."""
    written = []
    for name, frame in tables.items():
        path = folder / f"{name}.csv"
        frame.to_csv(path, index=False, encoding="utf-8-sig")
        written.append(path)
    book = folder / workbook
    with pd.ExcelWriter(book, engine="openpyxl") as xl:
        for name, frame in tables.items():
            frame.to_excel(xl, sheet_name=name, index=False)
    return [*written, book]
