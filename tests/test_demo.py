"""`python -m microgradnp demo --quick`, run in-process: files written, key numbers right."""

import contextlib
import io
import re
import shutil

import pytest

from microgradnp.__main__ import main

pytest.importorskip("matplotlib")
pytest.importorskip("nn")


def _row(text, start):
    """The row of a printed table that starts with `start`, as {column header: cell text}.

    Columns are read off the table's rule line of dashes ("------  ---  ..."), so empty cells
    are fine.
    """
    lines = text.splitlines()
    found = [k for k, line in enumerate(lines) if line.startswith(start)]
    assert found, f"no line starting with {start!r} in the demo's output:\n{text}"
    k = found[0]
    rule = next(j for j in range(k, -1, -1) if re.fullmatch(r"[- ]+", lines[j]))
    spans = [m.span() for m in re.finditer(r"-+", lines[rule])]
    header, row = lines[rule - 1], lines[k]
    return {header[a:b].strip(): row[a:b].strip() for a, b in spans}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """(printed text, output directory) of one quick run, shared by the tests below."""
    out = tmp_path_factory.mktemp("demo-output")
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        status = main(["demo", "--quick", "--out", str(out), "--seed", "0"])
    assert status == 0
    return buffer.getvalue(), out


def test_writes_the_pictures(demo):
    _, out = demo
    for name in ("linear_regression_loss.png", "logistic_boundary.png", "digits_curves.png"):
        path = out / name
        assert path.exists() and path.stat().st_size > 10_000, name
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if shutil.which("dot"):
        svg = (out / "mlp_graph.svg").read_text()
        assert "<svg" in svg and "0.weight" in svg


def test_prints_a_header_per_section(demo):
    text, _ = demo
    for title in ("== 1. Linear regression", "== 2. Logistic regression", "== 3. Deep vs classic",
                  "== 4. The graph"):
        assert title in text


def test_linear_regression_reaches_least_squares(demo):
    text, _ = demo
    lstsq = _row(text, "np.linalg.lstsq")
    ls_slope, ls_intercept = float(lstsq["slope"]), float(lstsq["intercept"])
    assert 1.0 < ls_slope < 3.0 and 0.0 < ls_intercept < 2.0  # y = 2x + 1 + noise
    for method in ("batch GD", "SGD", "mini-batch GD"):
        cells = _row(text, method)
        distance = float(cells["dist. to lstsq"])
        assert distance < 1e-2, f"{method}: distance to lstsq {distance}"
        assert abs(float(cells["slope"]) - ls_slope) < 1e-2
        assert abs(float(cells["intercept"]) - ls_intercept) < 1e-2
        assert float(cells["final MSE"]) <= float(lstsq["final MSE"]) + 1e-4
    sgd = _row(text, "SGD")
    assert int(sgd["updates"]) == 100 * int(sgd["epochs"])  # one update per sample
    assert int(_row(text, "batch GD")["updates"]) == int(_row(text, "batch GD")["epochs"])


def test_logistic_regression(demo):
    text, _ = demo
    cells = _row(text, "nn.LogisticRegression")
    accuracy, log_loss = float(cells["accuracy"]), float(cells["log-loss"])
    assert 0.8 < accuracy <= 1.0
    assert 0.0 < log_loss < 0.5
    distance = float(re.search(r"maximum-likelihood weights: (\S+)", text).group(1))
    assert distance < 1e-3
    # the 0..2 labels are refused with a message that names them
    assert "What microgradnp says" in text
    said = text.split("What microgradnp says when you try:")[1].split("wrote")[0]
    assert "Error:" in said and "[0, 1, 2]" in " ".join(said.split())


def test_digits_accuracy(demo):
    text, _ = demo
    softmax = _row(text, "softmax regression")
    mlp = _row(text, "MLP 64-64-10")
    assert float(softmax["test acc."]) > 0.9
    assert float(mlp["test acc."]) > 0.9  # --quick: a few epochs; the full run reaches 0.97


def test_graph_and_gradcheck(demo):
    text, _ = demo
    assert re.search(r"mg\.gradcheck\(.*\) -> True", text)
    assert "0.weight" in text and "2.bias" in text  # the text picture names the parameters


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "demo" in capsys.readouterr().out
