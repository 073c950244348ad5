"""The planner's notebook runs end to end (so it cannot rot)."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "hung_yen_demo.ipynb"


def test_demo_notebook_executes_and_reports_figures():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "36 parks, 600 synthetic firms" in text
    assert "OPTIMAL" in text and "Diverted from landfill" in text
    figure = [o for o in nb.cells[-3].outputs if o.output_type in ("display_data", "execute_result")]
    assert figure and "application/vnd.plotly.v1+json" in figure[0]["data"]
