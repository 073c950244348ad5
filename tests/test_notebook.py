"""The planner's notebook runs end to end (so it cannot rot)."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "hung_yen_demo.ipynb"


def _execute(path: Path):
    """Run a notebook top to bottom in its folder; the notebook and its printed text."""
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(nb, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb, "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def test_demo_notebook_executes_and_reports_figures():
    nb, text = _execute(NOTEBOOK)
    assert "36 parks, 600 synthetic firms" in text
    assert "OPTIMAL" in text and "Diverted from landfill" in text
    figure = [o for o in nb.cells[-3].outputs if o.output_type in ("display_data", "execute_result")]
    assert figure and "application/vnd.plotly.v1+json" in figure[0]["data"]


SCENARIOS = NOTEBOOK.parent / "scenarios.ipynb"


def test_scenario_notebook_executes_with_the_planners_answers():
    nb, text = _execute(SCENARIOS)
    assert "Base: 309,704 t/yr kept from landfill (87.3%), 1378 links" in text
    assert "scenario deltas computed: 4" in text
    assert "keystone: DEMO-" in text and "MILP OPTIMAL" in text
    assert "Chosen: ['KCN-" in text and "+2,098 t/yr kept from landfill" in text
    figure = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type in ("display_data", "execute_result")
              and "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert figure
