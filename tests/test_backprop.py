"""The step-through backward pass: backprop_steps (numbers and texts) and render_backprop (a page
checked in a real headless Chromium: stepped with the keyboard and the slider, its DOM read)."""

import html
import json
import os
import re
import select
import shutil
import subprocess
import time
from pathlib import Path

import custom_ops
import numpy as np
import pytest

import microgradnp as mg

NEEDS_DOT = pytest.mark.skipif(
    shutil.which("dot") is None,
    reason="Graphviz's `dot` program is not installed (apt-get install graphviz)",
)
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(n)), None)
NEEDS_BROWSER = pytest.mark.skipif(
    CHROMIUM is None or shutil.which("dot") is None,
    reason="needs a headless browser (apt-get install chromium) and Graphviz's `dot`",
)


def micrograd_example():
    """micrograd's classic L = (a*b + c) * f."""
    a = mg.tensor(2.0, requires_grad=True, name="a")
    b = mg.tensor(-3.0, requires_grad=True, name="b")
    c = mg.tensor(10.0, requires_grad=True, name="c")
    f = mg.tensor(-2.0, requires_grad=True, name="f")
    e = a * b
    e.name = "e"
    d = e + c
    d.name = "d"
    L = d * f
    L.name = "L"
    return a, b, c, f, e, d, L


# ---- the steps ---------------------------------------------------------------------------------
def test_steps_follow_the_chain_rule_with_numbers_filled_in():
    a, b, c, f, e, d, L = micrograd_example()
    steps = mg.backprop_steps(L)
    assert [s.output for s in steps] == [L, d, e]  # outputs before inputs
    assert [s.op for s in steps] == ["mul", "add", "mul"]
    assert steps[0].equations == ("∂L/∂d = ∂L/∂L · ∂L/∂d = 1 · f = 1 · (-2) = -2",
                                  "∂L/∂f = ∂L/∂L · ∂L/∂f = 1 · d = 1 · 4 = 4")
    assert steps[1].equations == ("∂L/∂e = ∂L/∂d · ∂d/∂e = -2 · 1 = -2",
                                  "∂L/∂c = ∂L/∂d · ∂d/∂c = -2 · 1 = -2")
    assert steps[2].equations[0] == "∂L/∂a = ∂L/∂e · ∂e/∂a = -2 · b = -2 · (-3) = 6"
    assert steps[2].formulas == ("b", "a")
    np.testing.assert_allclose(steps[2].grad_output, -2.0)
    # the graph keeps no intermediate tensor: a step shows one standing for it (same node,
    # values and name), the same object in every step
    assert [s.output.name for s in steps] == ["L", "d", "e"]
    assert [s.output.grad_fn for s in steps] == [L.grad_fn, d.grad_fn, e.grad_fn]
    assert steps[1].output is steps[0].inputs[0] and steps[2].output is steps[1].inputs[0]
    shown = {a, b, c, f, L, steps[1].output, steps[2].output}
    assert steps[-1].complete == {id(t) for t in shown}
    assert "step 3: e = a * b" in repr(steps[2])
    # nothing was touched: no .grad, and the graph is still there for a real backward
    assert a.grad is None and not L.grad_fn.freed
    L.backward()
    assert a.grad == 6.0 and b.grad == -4.0 and c.grad == -2.0 and f.grad == 4.0


def test_step_gradients_equal_the_engines_with_broadcasting_and_shared_inputs():
    mg.manual_seed(0)
    x = mg.randn(3, 2, requires_grad=True)
    w = mg.randn(2, requires_grad=True)
    b = mg.tensor(0.5, requires_grad=True)
    h = (x * w + b).tanh()
    loss = (h * h + x[0, 0]).mean() / (w ** 2).sum()
    steps = mg.backprop_steps(loss)
    totals = {}  # leaf or the node that made an intermediate (the step's tensor stands for h)
    for s in steps:
        for t, total in zip(s.inputs, s.totals):
            if total is not None:
                totals[t.grad_fn or t] = total
    expected = mg.grad(loss, [x, w, b, h], retain_graph=True)
    for t, g in zip([x, w, b, h], expected):
        np.testing.assert_allclose(totals[t.grad_fn or t], g.data, rtol=1e-12)
        assert totals[t.grad_fn or t].shape == t.shape
    # x is used twice: its second contribution is added ("+="), and the text says the total
    assert any("∂L/∂" in e and "+=" in e and "(so " in e
               for s in steps for e in s.equations if e)


def test_without_a_formula_a_step_shows_the_numbers_only():
    class Cube(custom_ops.Cube):  # its own class: the test gives it a formula below
        pass

    x = mg.tensor(2.0, requires_grad=True, name="x")
    (step,) = mg.backprop_steps(Cube.apply(x))
    assert step.formulas == (None,)
    assert step.equations == ("∂L/∂x = 12",)

    Cube.formula = ("3 · x²",)  # a custom Function may supply its own
    (step,) = mg.backprop_steps(Cube.apply(x))
    assert step.equations == ("∂L/∂x = ∂L/∂L · ∂L/∂x = 1 · (3 · x²) = 1 · (3 · 2²) = 12",)


def test_formula_with_grad_is_the_whole_product_and_unnamed_tensors_get_names():
    x = mg.tensor([[1.0, 2.0]], requires_grad=True)
    w = mg.tensor([[3.0], [4.0]], requires_grad=True, name="W")
    out = (x @ w).sum()
    steps = mg.backprop_steps(out)
    assert steps[0].output is out and out.name is None  # the root is called L
    matmul = steps[1]
    assert matmul.op == "matmul"
    assert matmul.equations[0].startswith("∂L/∂t1 = ∂L/∂t2 @ Wᵀ = [[3, 4]]")


def test_too_big_a_graph_is_a_clear_error_and_constants_and_freed_graphs_too():
    x = mg.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(150):
        y = y.tanh()
    with pytest.raises(ValueError, match="more than max_nodes=200.*smaller"):
        mg.backprop_steps(y.sum())
    assert len(mg.backprop_steps(y.sum(), max_nodes=None)) == 151
    with pytest.raises(ValueError, match="one element"):
        mg.backprop_steps(mg.tensor([1.0, 2.0], requires_grad=True) * 2)
    z = (x * 3).sum()
    z.backward()
    with pytest.raises(RuntimeError, match="before backward"):
        mg.backprop_steps(z)


def test_page_without_dot_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot on the PATH
    *_, L = micrograd_example()
    with pytest.raises(mg.GraphvizNotFoundError, match="apt-get install graphviz"):
        mg.render_backprop(L, tmp_path / "page.html")


@NEEDS_DOT
def test_page_is_self_contained_and_its_last_frame_is_draw_graph(tmp_path):
    a, b, c, f, e, d, L = micrograd_example()
    path = mg.render_backprop(L, tmp_path / "page.html")
    page = path.read_text(encoding="utf-8")
    assert page.count("<svg") == 1 and "<script>" in page
    assert "http://" not in page.replace("http://www.w3.org", "")  # nothing fetched
    assert "https://" not in page and " src=" not in page
    frames = json.loads(page.split("const frames = ", 1)[1].split(";\n", 1)[0])
    assert len(frames) == 1 + 3 + 1  # forward done, three steps, done
    # the last frame shows the picture as drawn: the labels of draw_graph after backward
    mg.retain_all_grads(L)
    L.backward()
    final = mg.draw_graph(L).pipe(format="svg").decode()
    final = final[final.index("<svg"):]
    shown = page[page.index("<svg"):page.index("</svg>") + 6].replace(' class="grad"', "")
    assert shown == final.strip()
    texts = [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", final)]
    for label in ("grad 6", "grad -4", "grad -2", "grad 4", "grad 1"):
        assert label in texts


# ---- in a real browser --------------------------------------------------------------------------
class Chromium:
    """A headless Chromium driven over the DevTools protocol on a pipe (fds 3 and 4): no
    network, no downloads, only the system browser."""

    def __init__(self, url, profile):
        to_child_r, self._w = os.pipe()
        self._r, from_child_w = os.pipe()
        # the child must see them as fds 3 and 4: move ours out of the way first
        keep = [os.dup(fd) for fd in (to_child_r, from_child_w)]
        for fd in (to_child_r, from_child_w):
            os.close(fd)

        def fds():
            os.dup2(keep[0], 3)
            os.dup2(keep[1], 4)

        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--remote-debugging-pipe", f"--user-data-dir={profile}", "--window-size=1200,900",
             "about:blank"],
            preexec_fn=fds, pass_fds=(3, 4), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for fd in keep:
            os.close(fd)
        self._id, self._buffer, self.session = 0, b"", None
        target = self.call("Target.createTarget", url=url)["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target,
                                 flatten=True)["sessionId"]
        for _ in range(200):
            if self.js("document.readyState") == "complete" and self.js(
                    "document.body && document.body.dataset.frame") is not None:
                break
            time.sleep(0.05)

    def call(self, method, **params):
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if self.session:
            message["sessionId"] = self.session
        os.write(self._w, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self._buffer:
                if not select.select([self._r], [], [], 60)[0]:
                    raise RuntimeError(f"no answer from the browser to {method} within 60 s")
                chunk = os.read(self._r, 1 << 16)
                if not chunk:
                    raise RuntimeError("the browser closed the pipe")
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(reply["error"])
                return reply["result"]

    def js(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def key(self, key, code=None):
        vk = {"ArrowRight": 39, "ArrowLeft": 37, "End": 35, "Home": 36}[key]
        for kind in ("keyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent", type=kind, key=key, code=code or key,
                      windowsVirtualKeyCode=vk)

    def state(self):
        return self.js("""({frame: +document.body.dataset.frame,
            lines: document.getElementById('lines').textContent,
            current: [...document.querySelectorAll('g.current text')].map(t => t.textContent),
            receiving: [...document.querySelectorAll('g.receiving text')]
                .map(t => t.textContent),
            grads: [...document.querySelectorAll('text.grad')].map(t => t.textContent)})""")

    def close(self):
        self.proc.kill()
        self.proc.wait()
        os.close(self._w)
        os.close(self._r)


@pytest.fixture
def page(tmp_path):
    *_, L = micrograd_example()
    path = mg.render_backprop(L, tmp_path / "backprop.html")
    browser = Chromium(path.resolve().as_uri(), tmp_path / "profile")
    yield browser
    browser.close()


@NEEDS_BROWSER
def test_browser_steps_with_keys_and_slider(page):
    first = page.state()
    assert first["frame"] == 0 and first["lines"] == "∂L/∂L = 1"
    assert first["grads"].count("grad ?") == 6  # only the root's gradient is known
    page.key("ArrowRight")
    one = page.state()
    assert one["frame"] == 1 and one["current"] == ["mul"]
    assert "∂L/∂d = ∂L/∂L · ∂L/∂d = 1 · f = 1 · (-2) = -2" in one["lines"]
    assert any(t.startswith("d") for t in one["receiving"])
    assert one["grads"].count("grad ?") == 4
    page.key("ArrowRight")
    two = page.state()
    assert two["frame"] == 2 and two["current"] == ["add"] and two["lines"] != one["lines"]
    page.key("ArrowLeft")
    assert page.state() == one  # back is back
    # the slider, focused, moves with the arrow keys the browser's own way
    page.js("document.getElementById('slider').focus()")
    page.key("ArrowRight")
    page.key("ArrowRight")
    three = page.state()
    assert three["frame"] == 3 and "∂L/∂a = ∂L/∂e · ∂e/∂a = -2 · b = -2 · (-3) = 6" in three[
        "lines"]
    page.js("document.getElementById('slider').blur()")
    page.key("End")
    last = page.state()
    assert last["current"] == [] and "grad ?" not in last["grads"]
    assert sorted(last["grads"]) == sorted(["grad 6", "grad -4", "grad -2", "grad -2", "grad 4",
                                            "grad -2", "grad 1"])
    page.key("ArrowRight")  # past the end: stays on the last frame
    assert page.state()["frame"] == last["frame"]


@NEEDS_BROWSER
def test_browser_screenshot_of_a_frame(page, tmp_path):
    page.key("ArrowRight")
    page.key("ArrowRight")
    page.key("ArrowRight")
    shot = page.call("Page.captureScreenshot", format="png")["data"]
    import base64

    png = base64.b64decode(shot)
    assert png[:4] == b"\x89PNG" and len(png) > 10_000
    Path(tmp_path / "frame.png").write_bytes(png)


def test_every_op_has_a_formula_per_input():
    """The step-through's texts: each op in ops.py says its local derivative for each input."""
    import inspect

    from microgradnp import ops

    for name, cls in vars(ops).items():
        if not (inspect.isclass(cls) and issubclass(cls, mg.Function) and cls is not mg.Function
                and cls.__module__ == ops.__name__):
            continue
        formula = getattr(cls, "formula", None)
        assert isinstance(formula, tuple), name
        params = list(inspect.signature(cls.forward).parameters.values())[1:]
        if any(p.kind is p.VAR_POSITIONAL for p in params):
            assert len(formula) == 1, name  # one text for every input of *xs
        else:  # one per tensor argument (keyword-only ones such as shape= have none)
            assert 1 <= len(formula) <= len(params), name


def test_texts_for_many_ops_with_remarks_none_and_keyword_arguments():
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, name="x")
    y = mg.tensor(2.0, requires_grad=True, name="y")
    parts = mg.concatenate([x ** y, x.sqrt(), mg.where(x.data > 2, x, -x)], axis=1)
    loss = parts.sum(axis=1).max() + x[0, 1].sigmoid()
    steps = mg.backprop_steps(loss)
    texts = [e for s in steps for e in s.equations if e]
    ops_ = [s.op for s in steps]
    assert "sum(axis=1)" in ops_ and "concatenate(axis=1)" in ops_ and "getitem[0, 1]" in ops_
    assert any(e.endswith("(its slice)") for e in texts)  # the remark after the numbers
    assert any("y · x^(y-1)" in e for e in texts)
    by_engine = mg.grad(loss, [x, y], retain_graph=True)
    totals = {}
    for s in steps:
        for t, total in zip(s.inputs, s.totals):
            if total is not None:
                totals[id(t)] = total
    np.testing.assert_allclose(totals[id(x)], by_engine[0].data)
    np.testing.assert_allclose(totals[id(y)], by_engine[1].data)


def test_model_names_parameters_and_data_shows_its_values():
    nn = pytest.importorskip("nn")
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 1))
    loss = nn.MSELoss()(model(np.array([[1.0, 2.0]])), np.array([[0.5]]))
    steps = mg.backprop_steps(loss, model=model)
    assert repr(steps[-1]).startswith("step 4: t1 = linear([[1, 2]], 0.weight, 0.bias)")
    assert steps[-1].equations[1].startswith("∂L/∂0.weight = ")
    (by_engine,) = mg.grad(loss, [model[0].weight], retain_graph=True)
    np.testing.assert_allclose(steps[-1].input_grads[1], by_engine.data)
