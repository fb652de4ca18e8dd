"""Without Graphviz's `dot`, the notebooks still run: picture cells show the graph as text and
say how to install Graphviz, never a traceback (notebook 01, executed with `dot` off the PATH)."""

import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "01_autograd_basics.ipynb"


def test_notebook_01_degrades_without_dot(monkeypatch):
    # only the virtual environment's programs: no dot (the kernel is this Python)
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    texts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.output_type != "error", out.get("evalue")
            assert "Traceback" not in str(out.get("text", "")), out["text"]
            texts.append(str(out.get("text", "")) + str(out.get("data", {}).get("text/plain", "")))
    everything = "\n".join(texts)
    assert "Graphviz's `dot` is not installed" in everything  # draw_graph's cell, as text
    assert "apt-get install graphviz" in everything
    assert "└─" in everything  # the text tree
    assert os.environ["PATH"] == str(Path(sys.executable).parent)
