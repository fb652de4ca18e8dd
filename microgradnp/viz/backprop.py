"""Backpropagation you can step through: `backprop_steps(root)` and `render_backprop(root, path)`.

One backward pass, replayed in the engine's order (outputs before inputs) without touching
`.grad` or freeing the graph. Each step is one op node: the gradient of its output is complete, so
the chain rule gives its inputs their share:

    c = a * b          step: ∂L/∂a = ∂L/∂c · ∂c/∂a = 1 · b = 1 · (-3) = -3
                             ∂L/∂b = ∂L/∂c · ∂c/∂b = 1 · a = 1 · 2 = 2

The local derivative ∂c/∂a comes from the op class's `formula` (one text per input, written with
the inputs' names in the op's forward, `x` and `y` for the built-in ops, `out` for the result and
numeric keyword arguments by name; a text that uses `grad` is the whole vector-Jacobian product,
e.g. matmul's `grad @ yᵀ`). Without one, a step shows the numbers only. Every read of the graph
goes through `access`.
"""

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

import graphviz
import numpy as np

from ..tensor import Tensor
from . import access
from .graph import (
    GraphvizNotFoundError,
    _as_roots,
    _draw,
    _fmt_array,
    _fmt_scalar,
    _walk,
    grad_line,
    op_label,
)

__all__ = ["BackpropStep", "backprop_steps", "render_backprop"]

MAX_NODES = 200  # a page for more than this many nodes is too long to step through


@dataclass
class BackpropStep:
    """One step of a backward pass: the op that made `output` passes `grad_output` to its inputs.

    index: 1, 2, ... in the engine's order. output: the tensor whose op runs (its gradient is
    complete). op: the op's text (`mul`, `sum(axis=1)`). inputs: the op's arguments (Tensors, or
    constants). names: the names used in the texts, {id(tensor): name}. grad_output: ∂L/∂output.
    formulas: per input, the local derivative with the tensors' names (None: a constant, or an
    op without a formula). equations: per input that gets a gradient, the chain rule with the
    numbers filled in, e.g. `∂L/∂a = ∂L/∂c · ∂c/∂a = 1 · b = 1 · (-3) = -3`; else None.
    input_grads: per input, this step's contribution to its gradient (ndarray or None).
    totals: per input, its gradient after this step (contributions of later steps still to come
    when the input is used more than once). complete: ids of the tensors whose gradient is final
    after this step."""

    index: int
    output: Tensor
    op: str
    inputs: tuple
    names: dict
    grad_output: np.ndarray
    formulas: tuple
    equations: tuple
    input_grads: tuple
    totals: tuple
    complete: frozenset

    def __repr__(self):
        lines = [f"step {self.index}: {_forward_text(self)}"]
        lines += ["  " + e for e in self.equations if e]
        return "\n".join(lines)


def backprop_steps(root, *, max_nodes=MAX_NODES, names=None, model=None):
    """The backward pass from `root` (a scalar Tensor, usually a loss) as a list of steps.

    The steps follow the engine's order; their gradients are the engine's own (each op's backward
    runs on the side: `.grad` is not touched and the graph is not freed, so call it before
    `backward()`). `names` ({id(tensor): name} or a dict name -> tensor such as
    `dict(model.named_parameters())`) and `model` (its parameters' dotted names) name tensors in
    the texts; other unnamed ones are called t1, t2, ... and the root L. Raises ValueError for a
    graph of more than `max_nodes` nodes (tensors, ops and constants): a step-by-step page is for
    small examples.
    """
    roots = _as_roots(root, "backprop_steps")
    if len(roots) != 1:
        raise ValueError("backprop_steps: give one root tensor (the loss)")
    root = roots[0]
    nodes, _ = _walk([root])
    if max_nodes is not None and len(nodes) > max_nodes:
        raise ValueError(
            f"backprop_steps: the graph has {len(nodes):,} nodes (tensors, ops and constants), "
            f"more than max_nodes={max_nodes}: a page to step through is for small examples. Try "
            f"a smaller one (a scalar neuron, a batch of 2, one layer), or pass max_nodes=None "
            f"to build it anyway"
        )
    if np.prod(access.shape(root)) != 1:
        raise ValueError(f"backprop_steps: the root must have one element (a loss), got shape "
                         f"{access.shape(root)}; reduce it first, e.g. out.sum()")
    order = access.topological_order(root)
    for t in order:
        n = access.node(t)
        if n is not None and access.is_freed(n):
            raise RuntimeError(
                "backprop_steps: the graph was freed by an earlier backward(); build the "
                "expression again, or call backprop_steps (or render_backprop) before backward()"
            )
    given = {id(p): k for k, p in model.named_parameters()} if model is not None else {}
    given.update(names or {})
    titles = _names(order, root, given)
    L = titles[id(root)]
    remaining = {}  # id(tensor) -> how many op inputs it still has to receive gradients from
    for t in order:
        n = access.node(t)
        if n is not None:
            for x in access.inputs(n):
                if access.is_tensor(x) and access.requires_grad(x):
                    remaining[id(x)] = remaining.get(id(x), 0) + 1
    value = access.value(root)
    grads = {id(root): np.ones_like(value, dtype=value.dtype)}
    complete = {id(root)}
    steps = []
    for t in reversed(order):
        n = access.node(t)
        g = grads.get(id(t))
        if n is None or g is None:
            continue
        contributions = access.vjp(n, g)
        inputs = access.inputs(n)
        formulas, equations, totals = [], [], []
        local = access.formula(n)
        for k, (x, gx) in enumerate(zip(inputs, contributions)):
            f = (None if local is None or local[k] is None or not access.is_tensor(x)
                 else _named(local[k], n, titles, out=t))
            formulas.append(f)
            if gx is None:
                equations.append(None)
                totals.append(None)
                continue
            before = grads.get(id(x))
            total = gx if before is None else before + gx
            grads[id(x)] = total
            remaining[id(x)] -= 1
            if remaining[id(x)] == 0:
                complete.add(id(x))
            totals.append(total)
            equations.append(_equation(L, n, t, x, k, g, gx, local, titles, before, total))
        steps.append(BackpropStep(
            index=len(steps) + 1, output=t, op=op_label(n), inputs=inputs, names=titles,
            grad_output=g, formulas=tuple(formulas), equations=tuple(equations),
            input_grads=tuple(contributions), totals=tuple(totals), complete=frozenset(complete),
        ))
    return steps


# ---- texts -----------------------------------------------------------------------------------


def _names(order, root, given):
    """{id(tensor): name} for every tensor in `order` and the constants' tensors: the tensor's
    own name, a name from `given`, else t1, t2, ... (the root: L)."""
    titles = {}
    if given:
        for k, v in given.items():
            if access.is_tensor(v):
                titles[id(v)] = str(k)
            else:
                titles[k] = str(v)
    taken = {access.name(t) for t in order if access.name(t)} | set(titles.values())
    counter = 0
    for t in order:
        if id(t) in titles:
            continue
        if access.name(t):
            titles[id(t)] = str(access.name(t))
        elif t is root and "L" not in taken:
            titles[id(t)] = "L"
        else:
            counter += 1
            while f"t{counter}" in taken:
                counter += 1
            titles[id(t)] = f"t{counter}"
    return titles


def _title(x, titles):
    if access.is_tensor(x):
        name = titles.get(id(x)) or access.name(x)
        if name:
            return name
        v = access.value(x)  # a constant tensor (the data): its values when they are few
        return _fmt_value(v) if v is not None and np.size(v) <= 6 else "(data)"
    return _fmt_value(np.asarray(x)) if isinstance(x, (np.ndarray, int, float)) else repr(x)


_SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "matmul": "@", "pow": "**"}


def _forward_text(step):
    """`c = a * b`, `o = tanh(n)`, `s = sum(axis=1)(h)`."""
    out = step.names.get(id(step.output), "?")
    args = [_title(x, step.names) for x in step.inputs if x is not None]
    symbol = _SYMBOLS.get(step.op)
    if symbol and len(args) == 2:
        return f"{out} = {args[0]} {symbol} {args[1]}"
    if "(" in step.op:  # keyword arguments: sum(axis=1) -> sum(h, axis=1)
        name, rest = step.op.split("(", 1)
        return f"{out} = {name}({', '.join(args)}, {rest}"
    return f"{out} = {step.op}({', '.join(args)})"


_GRAD = re.compile(r"(?<![A-Za-z_])grad(?![A-Za-z_])")
_SIMPLE = re.compile(r"-?[\w.]+")
_PRODUCT = re.compile(  # "2 0.7071", "0.5 σ(0.5)", "2 log(3)": a space that means a product
    r"(?<=[\d)]) (?=[\d(]|(?![A-Za-z])[^\W\d_]"
    r"|(?:log|exp|sqrt|sin|cos|tan|sigmoid|sign|nan|inf)\b)")
_MATH_WORDS = {"out", "log", "exp", "sin", "cos", "tan", "sinh", "cosh", "sign", "sigmoid",
               "diag", "softmax", "grad"}


def _symbols(n, out):
    """{symbol: what it stands for} in node `n`'s formulas: its arguments by their names in the
    op's forward (`x`, `y`, `weight`, ...), `out` for its result, and its keyword arguments."""
    table = {k: ("kwarg", v) for k, v in access.all_kwargs(n).items()
             if isinstance(v, (int, float)) and not isinstance(v, bool)}
    for name, x in zip(access.argument_names(n), access.inputs(n)):
        if name:
            table[name] = ("input", x)
    table["out"] = ("input", out)
    return table


def _pattern(symbols):
    words = "|".join(re.escape(k) for k in sorted(symbols, key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z_])({words})(?![A-Za-z_])")


def _named(formula, n, titles, values=False, out=None):
    """`formula` with its symbols (x, y, out, ...) replaced by the tensors' names (or, with
    values=True, by their one-number values); keyword arguments by their values."""
    symbols = _symbols(n, out)

    def word(m):
        kind, t = symbols[m.group(1)]
        if kind == "kwarg":
            return _fmt_scalar(t)
        if t is None:
            return m.group(1)
        if values:
            v = access.value(t) if access.is_tensor(t) else np.asarray(t)
            text = _fmt_scalar(np.asarray(v).reshape(()).item())
            return f"({text})" if text.startswith("-") else text
        return _title(t, titles)

    text = _pattern(symbols).sub(word, formula)
    if values:  # "2 out" reads as a product; "2 0.7071" would not: write the dot
        text = _PRODUCT.sub(" · ", text)
    return text


def _fmt_value(a):
    a = np.asarray(a)
    if a.size <= 6:
        return _fmt_array(a)
    return f"[{'×'.join(map(str, a.shape))} array]"


def _is_one(a):
    return a is not None and np.size(a) == 1


def _equation(L, n, out, x, k, g, gx, local, titles, before, total):
    """The chain rule for input `x` of node `n`, with the numbers filled in where they fit."""
    lhs = f"∂{L}/∂{_title(x, titles)}"
    o = _title(out, titles)
    head = lhs + (" += " if before is not None else " = ")
    result = _fmt_value(gx)
    f = local[k] if local is not None else None
    remark = ""
    if f is not None:  # "1 (its slice)": the math, then the words after the result
        m = re.fullmatch(r"(.*?\S) \(([^()]*)\)", f)
        if (m and m.group(1).count("(") == m.group(1).count(")")
                and set(re.findall(r"[A-Za-z]{3,}", m.group(2))) - _MATH_WORDS):
            f, remark = m.group(1), f"   ({m.group(2)})"
    if f is None:
        text = head + result
    elif _GRAD.search(f):  # the whole vector-Jacobian product, e.g. matmul's `grad @ yᵀ`
        text = head + _named(_GRAD.sub(f"∂{L}/∂{o}", f), n, titles, out=out) + " = " + result
    else:
        named = _named(f, n, titles, out=out)
        text = head + f"∂{L}/∂{o} · ∂{o}/∂{_title(x, titles)} = {_fmt_value(g)} · "
        text += named if _SIMPLE.fullmatch(named) else f"({named})"
        tensors = [v for v in access.inputs(n) if access.is_tensor(v)]
        if (_is_one(g) and _is_one(gx) and _pattern(_symbols(n, out)).search(f)
                and all(_is_one(access.value(v)) for v in tensors + [out])):
            numbers = _named(f, n, titles, values=True, out=out)
            if numbers != named:  # "1 · 2 = 1 · 2" says nothing new
                text += f" = {_fmt_value(g)} · " + (
                    numbers if re.fullmatch(r"[-\w.()]+", numbers) else f"({numbers})")
        text += " = " + result
    text += remark
    if before is not None:
        text += f"   (so {lhs} = {_fmt_value(total)})"
    return text


# ---- the page ----------------------------------------------------------------------------------

_UNKNOWN = "#ffffff"  # no gradient yet
_PARTIAL = "#fde68a"  # some of its gradient is known, more comes from later steps
_DONE = "#bbf7d0"  # its gradient is complete
_NOW = "#fb923c"  # receives (part of) its gradient in this step
_OP_NOW = "#f87171"  # the op that runs in this step
_KEY = [(_UNKNOWN, "no gradient yet"), (_PARTIAL, "gradient partly known (used again later)"),
        (_DONE, "gradient known"), (_NOW, "gradient computed in this step"),
        (_OP_NOW, "op whose backward runs in this step")]


def render_backprop(root, path, *, max_nodes=MAX_NODES, names=None, params=None, model=None,
                    title=None, rankdir="LR"):
    """Write one self-contained HTML page that steps through the backward pass from `root`.

    Frame 0 is the graph after the forward pass (∂L/∂L = 1); frame k the k-th step of
    `backprop_steps(root)`: its op in red, the inputs that receive a gradient in orange, gradients
    already known in green (yellow while more contributions are to come), and the chain rule with
    the numbers filled in. The last frame is the picture of `mg.draw_graph(root)` after
    `backward()`, every gradient shown. A slider, buttons and the arrow keys move between frames;
    no network is needed (inline SVG from Graphviz's `dot`, a few lines of JavaScript).

    params / model name parameters as in `draw_graph`; names as in `backprop_steps`.
    Returns the path. Raises `mg.GraphvizNotFoundError` without `dot`, ValueError for a graph of
    more than `max_nodes` nodes.
    """
    given = {}
    if model is not None:
        given.update({id(p): k for k, p in model.named_parameters()})
    if params is not None:
        items = params.items() if hasattr(params, "items") else params
        given.update({id(p): str(k) for k, p in items})
    if names:
        given.update({id(v) if access.is_tensor(v) else k: (str(k) if access.is_tensor(v) else v)
                      for k, v in names.items()})
    steps = backprop_steps(root, max_nodes=max_nodes, names=given)
    titles = steps[0].names if steps else _names([root], root, given)
    final = {id(root): np.ones_like(access.value(root))}
    for s in steps:
        for x, total in zip(s.inputs, s.totals):
            if total is not None:
                final[id(x)] = total
    g, ids = _draw(root, params=params, model=model, rankdir=rankdir, max_nodes=None,
                   grads=final, titles=titles)
    try:
        svg = g.pipe(format="svg").decode("utf-8")
    except graphviz.ExecutableNotFound as e:
        raise GraphvizNotFoundError(e) from None
    svg = _mark_grad_lines(svg[svg.index("<svg"):])
    frames = _frames(root, steps, ids, titles)
    page = _PAGE.format(
        title=html.escape(title or f"Backpropagation, step by step: {titles[id(root)]}"),
        svg=svg,
        frames=json.dumps(frames, ensure_ascii=False).replace("</", "<\\/"),
        key="".join(f'<span class="key"><i style="background:{c}"></i>{html.escape(t)}</span>'
                    for c, t in _KEY),
        last=len(frames) - 1,
        size="small" if len(ids) <= 30 else "large",  # a small graph is scaled up to the width
    )
    path = Path(path)
    path.write_text(page, encoding="utf-8")
    return path


def _mark_grad_lines(svg):
    """Give the text line of each node that shows its gradient the class `grad` (the page fills
    it in frame by frame)."""
    return re.sub(r"<text ([^>]*)>((?:grad |‖grad‖ )[^<]*)</text>",
                  lambda m: f'<text class="grad" {m.group(1)}>{m.group(2)}</text>', svg)


def _frames(root, steps, ids, titles):
    """The page's frames: a caption, the equations, the current op, and per tensor node its fill
    colour and gradient text (null: as in the final picture)."""
    tensors = {}  # DOT name -> tensor, for every drawn tensor that requires grad
    for s in steps:
        for t in (s.output, *s.inputs):
            if access.is_tensor(t) and access.requires_grad(t) and id(t) in ids:
                tensors[ids[id(t)]] = t
    tensors[ids[id(root)]] = root
    L = titles[id(root)]
    frames = []
    known = {id(root): np.ones_like(access.value(root))}

    def state(now, complete):
        fill, text = {}, {}
        for name, t in tensors.items():
            if id(t) in now:
                fill[name] = _NOW
            elif id(t) in complete:
                fill[name] = _DONE
            elif id(t) in known:
                fill[name] = _PARTIAL
            else:
                fill[name] = _UNKNOWN
            text[name] = grad_line(known[id(t)]) if id(t) in known else "grad ?"
        return fill, text

    fill, text = state({id(root)}, {id(root)})
    frames.append(dict(
        caption=f"Forward pass done. Backward starts at the output: ∂{L}/∂{L} = 1.",
        lines=[f"∂{L}/∂{L} = 1"], op=None, fill=fill, text=text,
    ))
    for s in steps:
        now = set()
        for x, total in zip(s.inputs, s.totals):
            if total is not None:
                known[id(x)] = total
                now.add(id(x))
        fill, text = state(now, s.complete)
        op = ids.get(id(access.node(s.output)))
        if op is not None:
            fill[op] = _OP_NOW
        frames.append(dict(
            caption=f"Step {s.index} of {len(steps)}: {_forward_text(s)}. Its output's gradient "
                    f"∂{L}/∂{titles[id(s.output)]} is known; the chain rule passes it to the "
                    f"inputs.",
            lines=[e for e in s.equations if e] or ["(no input needs a gradient)"],
            op=op, fill=fill, text=text,
        ))
    frames.append(dict(
        caption="Done: every gradient is known. This is the picture of mg.draw_graph(root) "
                "after backward() (with every gradient kept).",
        lines=[f"∂{L}/∂{titles[id(t)]} = {_fmt_value(known[id(t)])}"
               for t in tensors.values() if access.node(t) is None and id(t) in known],
        op=None, fill={}, text={},
    ))
    return frames


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: Helvetica, Arial, sans-serif; margin: 1em 2em; color: #111827; }}
#controls {{ display: flex; gap: .6em; align-items: center; margin: .5em 0; }}
#slider {{ flex: 1; max-width: 40em; }}
#caption {{ font-size: 1.05em; margin: .4em 0; min-height: 1.4em; }}
#lines {{ font-family: "DejaVu Sans Mono", Menlo, monospace; font-size: 1.05em;
  background: #f9fafb; border: 1px solid #e5e7eb; border-radius: 6px; padding: .5em .8em;
  margin: .3em 0 .8em; white-space: pre-wrap; min-height: 3em; }}
#graph svg {{ max-width: 100%; height: auto; }}
#graph.small svg {{ width: 100%; max-width: 75em; }}
g.current > ellipse, g.current > polygon, g.current > path {{ stroke: #b91c1c; stroke-width: 3; }}
g.receiving > polygon, g.receiving > path {{ stroke: #c2410c; stroke-width: 2.5; }}
.key {{ margin-right: 1.2em; font-size: .9em; white-space: nowrap; }}
.key i {{ display: inline-block; width: 1em; height: 1em; border: 1px solid #6b7280;
  vertical-align: middle; margin-right: .3em; }}
</style></head>
<body>
<h2>{title}</h2>
<div id="controls">
<button id="prev" title="previous step (←)">◀ prev</button>
<input id="slider" type="range" min="0" max="{last}" value="0" step="1">
<button id="next" title="next step (→)">next ▶</button>
<span id="counter"></span>
</div>
<div id="caption"></div>
<div id="lines"></div>
<div>{key}</div>
<div id="graph" class="{size}">{svg}</div>
<script>
const frames = {frames};
const slider = document.getElementById("slider");
const shapes = g => g.querySelectorAll("polygon, ellipse, path");
document.querySelectorAll("#graph g.node").forEach(g => {{
  shapes(g).forEach(s => s.dataset.fill = s.getAttribute("fill"));
  g.querySelectorAll("text.grad").forEach(t => t.dataset.text = t.textContent);
}});
function show(k) {{
  k = Math.max(0, Math.min(frames.length - 1, k));
  const f = frames[k];
  slider.value = k;
  document.body.dataset.frame = k;
  document.getElementById("counter").textContent = "frame " + k + " / " + (frames.length - 1);
  document.getElementById("caption").textContent = f.caption;
  document.getElementById("lines").textContent = f.lines.join("\\n");
  document.querySelectorAll("#graph g.node").forEach(g => {{
    const fill = f.fill[g.id], text = f.text[g.id];
    shapes(g).forEach(s => {{ if (s.dataset.fill !== "none")
      s.setAttribute("fill", fill || s.dataset.fill); }});
    g.querySelectorAll("text.grad").forEach(t => t.textContent = text || t.dataset.text);
    g.classList.toggle("current", g.id === f.op);
    g.classList.toggle("receiving", fill === "{now}");
  }});
}}
slider.addEventListener("input", () => show(+slider.value));
document.getElementById("prev").onclick = () => show(+slider.value - 1);
document.getElementById("next").onclick = () => show(+slider.value + 1);
document.addEventListener("keydown", e => {{
  const k = {{ArrowLeft: -1, ArrowRight: 1}}[e.key];
  if (k && e.target !== slider) {{ show(+slider.value + k); e.preventDefault(); }}
  if (e.key === "Home") show(0);
  if (e.key === "End") show(frames.length - 1);
}});
show(parseInt(location.hash.slice(1)) || 0);  // page.html#3 opens frame 3
</script>
</body></html>
""".replace("{now}", _NOW)
