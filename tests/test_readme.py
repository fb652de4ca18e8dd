"""The README's code blocks run as written (so the front door stays true)."""

import importlib.util
import re
import shutil
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_the_readme_has_its_examples():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_block_runs(index, tmp_path, monkeypatch):
    code = BLOCKS[index]
    if "render_graph" in code and shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    if "import torch" in code and importlib.util.find_spec("torch") is None:
        pytest.skip("PyTorch is not installed")
    monkeypatch.chdir(tmp_path)
    namespace = {}
    if index > 0:  # later blocks continue the first one's session, as a reader would
        exec(compile(BLOCKS[0].replace('mg.render_graph(loss, "mlp.svg", model=model)', ""),
                     "README block 0", "exec"), namespace)
    exec(compile(code, f"README block {index}", "exec"), namespace)
    if "render_graph" in code:
        assert (tmp_path / "mlp.svg").read_text().lstrip().startswith("<?xml")
    if "x.grad" in code:
        assert namespace["x"].grad.tolist() == [2.0, 4.0, 6.0]
