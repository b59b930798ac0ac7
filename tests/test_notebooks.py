"""The notebooks run headless, top to bottom, without errors (nbclient, kernel ``python3`` = the
running interpreter via ipykernel). The corpus notebook tags a small sample of the shared corpus."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT, require_shared

NOTEBOOKS = ROOT / "notebooks"


def run_notebook(path: Path, cwd: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("matplotlib")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=600,
                                     resources={"metadata": {"path": str(cwd)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors


def test_notebooks_are_committed_without_outputs():
    import json

    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None, path.name


def test_quickstart_notebook(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    run_notebook(NOTEBOOKS / "quickstart.ipynb", NOTEBOOKS)


def test_corpus_analysis_notebook(monkeypatch, tmp_path):
    require_shared()
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("IMR_NLP_OUT", str(tmp_path / "tagged"))
    monkeypatch.setenv("IMR_NLP_SAMPLE", "12")
    run_notebook(NOTEBOOKS / "corpus_analysis.ipynb", NOTEBOOKS)
    assert len(list((tmp_path / "tagged" / "_batches").glob("part-*.json"))) >= 1
