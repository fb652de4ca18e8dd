"""Build notebooks from cell lists and execute them in place with nbclient.

Regenerate one: `.venv/bin/python notebooks/build/nb01.py` (from anywhere)."""
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]  # the repository
NB = ROOT / "notebooks"


def build(name, cells, execute=True):
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    }
    for kind, text in cells:
        text = text.strip("\n")
        if kind == "md":
            nb.cells.append(nbformat.v4.new_markdown_cell(text))
        else:
            nb.cells.append(nbformat.v4.new_code_cell(text))
    # stable cell ids (nbformat 4.5 wants them): the cell's position
    for i, c in enumerate(nb.cells):
        c["id"] = f"cell-{i:02d}"
    path = NB / f"{name}.ipynb"
    if execute:
        tic = time.perf_counter()
        client = NotebookClient(nb, timeout=120, kernel_name="python3",
                                resources={"metadata": {"path": str(NB)}})
        client.execute()
        print(f"{name}: executed in {time.perf_counter() - tic:.1f} s", file=sys.stderr)
        for c in nb.cells:
            if c.cell_type == "code":
                c.metadata.pop("execution", None)
                for o in c.get("outputs", []):
                    # a Digraph's text form holds its memory address: drop it (the SVG stays)
                    data = o.get("data", {})
                    if "image/svg+xml" in data and data.get("text/plain", "").startswith("<"):
                        del data["text/plain"]
                for o in c.get("outputs", []):
                    if o.get("name") == "stderr":
                        print(f"  STDERR in {c['id']}: {o['text'][:300]}", file=sys.stderr)
    for c in nb.cells:  # merge consecutive prints to one stream (their split depends on timing)
        if c.cell_type != "code":
            continue
        merged = []
        for o in c.get("outputs", []):
            if (merged and o.output_type == "stream" and merged[-1].output_type == "stream"
                    and merged[-1].name == o.name):
                merged[-1].text += o.text
            else:
                merged.append(o)
        c.outputs = merged
    nb.metadata.pop("widgets", None)
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return path
