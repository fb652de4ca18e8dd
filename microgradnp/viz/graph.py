"""Pictures of the graph: `draw_graph` (Graphviz), `graph_str`/`print_graph` (text), and helpers.

This module only reads the graph, and only through `access` (a tensor's op node, the node's
inputs, name, keyword arguments and name scope). An op's inputs are its arguments: Tensors are
edges, anything else a constant (a `None` argument is no argument and is not drawn). Backward
frees saved arrays but keeps the structure, so a graph can be drawn before or after backward.

    x ──▶ (mul) ──▶ z ──▶ (sum) ──▶ loss       one box per tensor, one ellipse per op,
    y ──┘                                      edges in data-flow order

Every walk here is iterative (no recursion: a 100,000-op chain is fine) and what is drawn is
bounded by `max_nodes` (the rest collapses into one "… N more nodes" node) or `max_lines`.
"""

import sys
from collections import deque
from pathlib import Path

import graphviz
import numpy as np

from ..tensor import Tensor
from . import access

__all__ = ["GraphvizNotFoundError", "draw_graph", "graph_str", "print_graph", "render_graph",
           "retain_all_grads"]

SMALL = 6  # tensors with at most this many elements show their values (and gradients)

# ---- looks: the role of a tensor is told by its shape and border, and by colour (normal mode) ----
_FONT = "Helvetica"
_STYLES = {
    "root": dict(shape="box", style="rounded,filled,bold", peripheries="2", fillcolor="#fde68a"),
    "param": dict(shape="box", style="filled,bold", penwidth="2", fillcolor="#bbf7d0"),
    "leaf": dict(shape="box", style="filled", fillcolor="#bfdbfe"),
    "tensor": dict(shape="box", style="rounded,filled", fillcolor="#ffffff"),
    "const": dict(shape="box", style="dashed,filled", fillcolor="#f3f4f6", fontcolor="#4b5563",
                  color="#6b7280"),
    "op": dict(shape="ellipse", style="filled", fillcolor="#e5e7eb", fontsize="10"),
    "more": dict(shape="box", style="dashed,filled", fillcolor="#fef3c7"),
    "module": dict(shape="box3d", style="filled", fillcolor="#e0e7ff"),
}
_LEGEND = [  # what each shape and colour means, said exactly: (role, shape, colour)
    ("root", "output (root): double border", "yellow"),
    ("param", "parameter (named): bold square box", "green"),
    ("leaf", "leaf that requires grad: square box", "blue"),
    ("tensor", "intermediate tensor: rounded box", "white"),
    ("const", "constant (no grad): dashed box", "grey"),
    ("op", "op: ellipse", "grey"),
]
_CLUSTER_FILLS = ["#f8fafc", "#eef2ff", "#ecfeff", "#f0fdf4", "#fefce8", "#fdf2f8"]

# ---- gradient health: one viridis colour per decade of the gradient's L2 norm, 1e-8 .. 1e2 ----
HEALTH_RANGE = (-8, 2)  # log10 of the norms at the two ends of the colour scale
_VIRIDIS = ["#440154", "#482878", "#3e4989", "#31688e", "#26828e",
            "#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#fde725"]
_DARK = 5  # the first five colours need white text
BAD_COLOR = "#ef4444"  # NaN or inf gradient
ZERO_COLOR = "#9ca3af"  # gradient exactly zero everywhere (a dead ReLU layer, a detached branch)
MISSING_COLOR = "#ffffff"  # requires grad but no .grad (call retain_all_grads before backward)


# ================================================================================ walking


def _as_roots(root, who):
    roots = [root] if isinstance(root, Tensor) else list(root)
    for r in roots:
        if not isinstance(r, Tensor):
            raise TypeError(f"{who}: expected a Tensor or a list of Tensors, got "
                            f"{type(r).__name__}")
    if not roots:
        raise ValueError(f"{who}: no tensors given")
    if not any(r.requires_grad for r in roots):
        shapes = ", ".join(str(r.shape) for r in roots)
        raise ValueError(
            f"{who}: nothing to draw: the tensor(s) of shape {shapes} have no graph. A graph is "
            f"recorded only when an input has requires_grad=True and grad mode is on; this one "
            f"was computed under mg.no_grad(), or from inputs that do not require grad, or was "
            f"detached. Create the leaves with requires_grad=True (e.g. "
            f"mg.tensor(x, requires_grad=True)) and compute it again."
        )
    return roots


def _walk(roots):
    """The whole graph breadth-first from the roots, iteratively.

    Returns `nodes`, a list of ("tensor", t) / ("op", node) / ("const", value, op_position), and
    `edges`, (source position, target position, argument label) in data-flow direction; the label
    names the argument of an op whose arguments are not interchangeable (`x`/`y` of sub), else "".
    A `None` argument is no argument: it is not drawn.
    """
    nodes, edges, index = [], [], {}
    queue = deque()
    for r in roots:
        if id(r) not in index:
            index[id(r)] = len(nodes)
            nodes.append(("tensor", r))
            queue.append(r)
    while queue:
        t = queue.popleft()
        ctx = access.node(t)
        if ctx is None:
            continue
        op = len(nodes)
        nodes.append(("op", ctx))
        edges.append((op, index[id(t)], ""))
        labels = access.argument_labels(ctx)
        for x, label in zip(access.inputs(ctx), labels):
            if x is None:
                continue
            if access.is_tensor(x):
                k = index.get(id(x))
                if k is None:
                    k = index[id(x)] = len(nodes)
                    nodes.append(("tensor", x))
                    queue.append(x)
            else:
                k = len(nodes)
                nodes.append(("const", x, op))
            edges.append((k, op, label))
    return nodes, edges


def retain_all_grads(root):
    """Call `retain_grad()` on every non-leaf tensor that requires grad in `root`'s graph.

    Call it *before* `backward()`, so that afterwards every intermediate tensor has its `.grad`
    (leaves always do) and `draw_graph` can show all of them:

        loss = model(x).sum()
        mg.retain_all_grads(loss)
        loss.backward()
        mg.draw_graph(loss, model=model)

    `root` is a Tensor or a list of Tensors; returns it.
    """
    roots = [root] if isinstance(root, Tensor) else list(root)
    seen, stack = set(), list(roots)
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if access.node(t) is not None:
            t.retain_grad()
            stack.extend(x for x in access.inputs(access.node(t))
                         if access.is_tensor(x) and access.requires_grad(x))
    return root


def _param_names(params, model):
    """id(tensor) -> dotted name, from `params` (a dict or (name, tensor) pairs) and `model`."""
    names = {}
    if model is not None:
        for name, p in model.named_parameters():
            names[id(p)] = name
    if params is not None:
        items = params.items() if hasattr(params, "items") else params
        for name, p in items:
            names[id(p)] = str(name)
    return names


# ================================================================================ text pieces


def _fmt_scalar(v):
    """A number in about four significant digits."""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (complex, np.complexfloating)):
        return f"{complex(v):.4g}"
    v = float(v)
    return "0" if v == 0 else f"{v:.4g}"  # no "-0"


def _fmt_array(a):
    """`[1, 2.5, -3]`, `[[1, 2], [3, 4]]` or `0.5` for a 0-d array, compactly."""
    a = np.asarray(a)
    if a.ndim == 0:
        return _fmt_scalar(a.item())
    if a.size == 0:
        return "[]"
    items = [_fmt_scalar(v) for v in a.ravel().tolist()]
    for n in reversed(a.shape):  # group the innermost axis first: [[1, 2], [3, 4]]
        items = ["[" + ", ".join(items[i:i + n]) + "]" for i in range(0, len(items), n)]
    return items[0]


def _fmt_shape(a):
    """`[2, 3] float64` (`scalar float64` for a 0-d array)."""
    shape = "scalar" if a.ndim == 0 else "[" + ", ".join(str(n) for n in a.shape) + "]"
    return f"{shape} {a.dtype}"


def _grad_status(g):
    """("nan" | "inf" | "zero" | "ok", L2 norm) of a gradient array."""
    g = np.asarray(g)
    if g.dtype.kind in "fc" and not np.isfinite(g).all():
        return ("nan" if np.isnan(g).any() else "inf"), float("nan")
    if not g.any():
        return "zero", 0.0
    with np.errstate(over="ignore"):
        return "ok", float(np.linalg.norm(g.ravel()))


def _health_color(norm):
    """The colour of one decade of gradient norm, clamped to HEALTH_RANGE."""
    lo, hi = HEALTH_RANGE
    k = int(np.floor(np.log10(norm))) - lo if norm > 0 else 0
    k = min(max(k, 0), hi - lo - 1)
    return _VIRIDIS[k], ("white" if k < _DARK else "black")


def _const_text(v):
    if isinstance(v, np.ndarray):
        text = _fmt_shape(v)
        return text + ("\n" + _fmt_array(v) if v.size <= SMALL else "")
    if isinstance(v, (int, float, complex, np.number, np.bool_)):
        return _fmt_scalar(v)
    text = repr(v)
    return text if len(text) <= 30 else text[:29] + "…"


def _escape(text):
    """Plain text for a Graphviz label: backslashes literal, lines centred."""
    return text.replace("\\", "\\\\").replace("\n", "\\n")


# ================================================================================ draw_graph


def draw_graph(root, *, params=None, model=None, show_data=True, show_grad=True,
               show_shapes=True, rankdir="LR", max_nodes=500, cluster_modules=True,
               collapse_modules=False, legend=None):
    """The graph that computed `root` as a `graphviz.Digraph` (building it needs no `dot`).

    root: a Tensor or a list of Tensors (drawn with a double border).
    params: a dict name -> Tensor (e.g. `dict(model.named_parameters())`) naming parameters;
        `model`: a module whose `named_parameters()` are used the same way. Matched by identity.
    show_data: tensors with at most 6 elements show their values (4 significant digits).
    show_grad: True shows `.grad` (values when small, else its norm); False hides it;
        "health" colours every tensor by the decade of its gradient's L2 norm (viridis, one colour
        per decade from "<1e-7" to "≥1e1"), NaN/inf gradients red, all-zero gradients grey with
        "zero grad" (a dead ReLU layer), white when no gradient was kept.
        Intermediate tensors keep their gradients only when `retain_all_grads(root)` (or
        `retain_grad()`) was called before backward; leaves always keep theirs.
    show_shapes: each tensor shows `[shape] dtype`.
    rankdir: "LR" (left to right) or "TB" (top to bottom), as in Graphviz.
    max_nodes: the nodes nearest the root (breadth-first) are drawn; the rest collapse into one
        "… N more nodes" node. None draws everything.
    cluster_modules: ops are grouped in nested boxes by their name scope (one per nn module); a
        tensor sits in the box of the op that made it, a leaf that requires grad (a parameter) in
        the innermost box holding all the ops that use it, data constants outside every box.
    collapse_modules: True draws each module that runs ops itself (each layer of a Sequential, a
        loss) as one box with its input and output shapes and its parameter count, inside the
        boxes of the modules that contain it; an int k collapses the modules k levels deep
        (1: the outermost modules, 2: their children, ...): a larger k expands more. False
        draws every op.
    legend: draw a legend (shapes and colours); None: only with show_grad="health".

    Shapes: ellipse = op (with its keyword arguments, e.g. `sum(axis=1)`); rounded box =
    intermediate tensor; square box = leaf that requires grad (bold, green and named when it is a
    parameter); dashed box = constant (a non-Tensor argument or a tensor that does not require
    grad); double border = root. An edge into an op whose arguments cannot be swapped (sub, div,
    matmul, pow) says which argument it is (`x`, `y`).

    Show it inline in Jupyter (just return it; without `dot` the cell shows the graph as text and
    how to install Graphviz), or `.pipe(format="svg")`, `.render(...)`, or
    `mg.render_graph(g, "graph.svg")` where Graphviz's `dot` program is installed (else they raise
    `mg.GraphvizNotFoundError` saying how to install it).
    Raises ValueError when `root` has no graph (computed under `no_grad`, or a plain constant).
    """
    return _draw(root, params=params, model=model, show_data=show_data, show_grad=show_grad,
                 show_shapes=show_shapes, rankdir=rankdir, max_nodes=max_nodes,
                 cluster_modules=cluster_modules, collapse_modules=collapse_modules,
                 legend=legend)[0]


class Graph(graphviz.Digraph):
    """A `graphviz.Digraph` that behaves without Graphviz's `dot`: `.pipe()` and `.render()` raise
    `GraphvizNotFoundError` (how to install it), and a Jupyter cell showing it displays the graph
    as text with that hint instead of a traceback."""

    text_form = None  # a function returning the text tree (set by draw_graph)

    def pipe(self, *args, **kwargs):
        try:
            return super().pipe(*args, **kwargs)
        except graphviz.ExecutableNotFound as e:
            raise GraphvizNotFoundError(e) from None

    def render(self, *args, **kwargs):
        try:
            return super().render(*args, **kwargs)
        except graphviz.ExecutableNotFound as e:
            raise GraphvizNotFoundError(e) from None

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        try:
            return super()._repr_mimebundle_(include, exclude, **kwargs)
        except graphviz.ExecutableNotFound:
            text = self.text_form() if self.text_form is not None else self.source
            return {"text/plain": f"{text}\n\n(Graphviz's `dot` is not installed, so this is the "
                                  f"graph as text. {INSTALL_HINT})"}


def _draw(root, *, params=None, model=None, show_data=True, show_grad=True, show_shapes=True,
          rankdir="LR", max_nodes=500, cluster_modules=True, collapse_modules=False, legend=None,
          grads=None, titles=None):
    """draw_graph's work. Also returns {id(tensor or op node): DOT node name} for what is drawn.

    grads: {id(tensor): gradient array} shown instead of `.grad` (the step-through page);
    titles: {id(tensor): name} for tensors without a name or parameter name."""
    if show_grad not in (True, False, "health"):
        raise ValueError(f'draw_graph: show_grad must be True, False or "health", got '
                         f"{show_grad!r}")
    if max_nodes is not None and max_nodes < 1:
        raise ValueError(f"draw_graph: max_nodes must be at least 1 (or None), got {max_nodes}")
    if collapse_modules is not False and collapse_modules is not True and (
            not isinstance(collapse_modules, int) or collapse_modules < 1):
        raise ValueError(f"draw_graph: collapse_modules must be True, False or a depth >= 1, got "
                         f"{collapse_modules!r}")
    roots = _as_roots(root, "draw_graph")
    names = _param_names(params, model)
    health = show_grad == "health"
    nodes, edges = _walk(roots)
    shown = len(nodes) if max_nodes is None else min(len(nodes), max_nodes)
    root_ids = {id(r) for r in roots}

    g = Graph(
        "microgradnp",
        graph_attr=dict(rankdir=rankdir, fontname=_FONT, fontsize="11", nodesep="0.25",
                        ranksep="0.35"),
        node_attr=dict(fontname=_FONT, fontsize="11", height="0.3", margin="0.08,0.04",
                       **_STYLES["tensor"]),
        edge_attr=dict(arrowsize="0.6", color="#4b5563", fontname=_FONT, fontsize="9",
                       fontcolor="#6b7280"),
    )
    g.text_form = lambda: graph_str(roots, params=params, model=model)

    # where each shown node goes: the scope tuple of its cluster
    consumers = {}
    for src, dst, _ in edges:
        if src < shown and dst < shown and nodes[src][0] == "tensor":
            consumers.setdefault(src, []).append(dst)

    def scope_of(i):
        kind, obj = nodes[i][0], nodes[i][1]
        if kind == "op":
            return access.scope(obj)
        if kind == "const":
            return access.scope(nodes[nodes[i][2]][1])
        if access.node(obj) is not None:
            return access.scope(access.node(obj))
        if not access.requires_grad(obj):
            return ()
        scopes = [access.scope(nodes[k][1]) for k in consumers.get(i, ())]
        return _common_prefix(scopes) if scopes else ()

    scopes = [scope_of(i) for i in range(shown)]
    # collapsed modules: node position -> the scope prefix of its box (None: drawn itself)
    depth = 0 if collapse_modules is False else None if collapse_modules is True else int(
        collapse_modules)  # None: every op into its innermost module's box
    box = [(s if depth is None else s[:depth]) if s and (depth is None or len(s) >= depth)
           else None for s in scopes] if depth != 0 else [None] * shown

    # one (sub)graph per scope prefix; node statements go into the graph of their cluster
    graphs = {(): g}
    order = []  # cluster scopes in order of creation, to nest them afterwards

    def graph_for(scope):
        if not cluster_modules:
            return g
        for d in range(1, len(scope) + 1):
            prefix = scope[:d]
            if prefix not in graphs:
                fill = _CLUSTER_FILLS[(d - 1) % len(_CLUSTER_FILLS)]
                graphs[prefix] = graphviz.Digraph(
                    f"cluster_{len(order)}",
                    graph_attr=dict(label=graphviz.nohtml(_escape(prefix[-1])), labeljust="l",
                                    style="rounded,filled", color="#94a3b8", fillcolor=fill),
                )
                order.append(prefix)
        return graphs[scope]

    ids = {}
    for i in range(shown):
        if box[i] is not None:
            continue
        node = nodes[i]
        attrs = {"id": f"n{i}"}
        if node[0] == "op":
            ids[id(node[1])] = f"n{i}"
            graph_for(scopes[i]).node(f"n{i}", label=graphviz.nohtml(_escape(op_label(node[1]))),
                                      **attrs, **_own(_STYLES["op"]))
        elif node[0] == "const":
            label = graphviz.nohtml(_escape(_const_text(node[1])))
            graph_for(scopes[i]).node(f"n{i}", label=label, **attrs, **_own(_STYLES["const"]))
        else:
            t = node[1]
            ids[id(t)] = f"n{i}"
            title = names.get(id(t))
            if title is None and titles is not None and not access.name(t):
                title = titles.get(id(t))
            grad = grads.get(id(t)) if grads is not None else access.grad(t)
            label, style = _tensor_node(t, id(t) in root_ids, title, id(t) in names, grad,
                                        show_data, show_grad, show_shapes)
            graph_for(scopes[i]).node(f"n{i}", label=graphviz.nohtml(_escape(label)), **attrs,
                                      **style)

    boxes = _module_boxes(nodes, edges, shown, box, root_ids)
    for k, (prefix, label) in enumerate(boxes.items()):
        graph_for(prefix[:-1]).node(f"m{k}", label=graphviz.nohtml(_escape(label)),
                                    id=f"m{k}", **_own(_STYLES["module"]))
    box_name = {prefix: f"m{k}" for k, prefix in enumerate(boxes)}

    # nest clusters deepest first: `subgraph()` copies the child's statements into its parent
    for scope in sorted(order, key=len, reverse=True):
        graphs[scope[:-1]].subgraph(graphs[scope])

    hidden = len(nodes) - shown
    if hidden:
        g.node("more", label=f"… {hidden:,} more nodes\\n(max_nodes={max_nodes})",
               **_own(_STYLES["more"]))
    cut, drawn = set(), set()
    for src, dst, label in edges:
        if dst >= shown:
            continue
        b = box_name[box[dst]] if box[dst] is not None else f"n{dst}"
        if src < shown:
            a = box_name[box[src]] if box[src] is not None else f"n{src}"
            if a == b or (a, b) in drawn and (a[0] == "m" or b[0] == "m"):
                continue  # inside one module box, or a second edge between the same boxes
            drawn.add((a, b))
            style = dict(style="dashed", color="#9ca3af") if nodes[src][0] == "const" else {}
            if label and b[0] == "n":
                style["label"] = label
            g.edge(a, b, **style)
        elif b not in cut:  # one edge from the summary to each node with hidden inputs
            cut.add(b)
            g.edge("more", b, style="dashed", color="#9ca3af")

    if legend or (legend is None and health):
        _add_legend(g, health)
    return g, ids


def op_label(n):
    """An op node's text: its name and the keyword arguments it was called with, e.g.
    `sum(axis=1)`, `reshape(4, 2)` (a `shape` argument is written out as numbers)."""
    parts, index = [], ""
    for k, v in access.kwargs(n).items():
        if k == "shape" and isinstance(v, (tuple, list)):
            parts.extend(str(d) for d in v)
        elif k == "index":  # getitem[0, 1:3]
            items = v if isinstance(v, tuple) else (v,)
            index = "[" + ", ".join("..." if i is Ellipsis else "None" if i is None
                                    else _kwarg_text(i) for i in items) + "]"
        else:
            parts.append(f"{k}={_kwarg_text(v)}")
    return access.op_name(n) + index + (f"({', '.join(parts)})" if parts else "")


def _kwarg_text(v):
    if isinstance(v, slice):
        text = ":".join("" if p is None else str(p) for p in (v.start, v.stop, v.step))
        return text[:-1] if v.step is None else text
    if isinstance(v, np.ndarray):
        return _fmt_array(v) if v.size <= SMALL else f"array{list(v.shape)}"
    if isinstance(v, tuple):
        return "(" + ", ".join(_kwarg_text(x) for x in v) + ("," if len(v) == 1 else "") + ")"
    if isinstance(v, float):
        return _fmt_scalar(v)
    text = repr(v)
    return text if len(text) <= 24 else text[:23] + "…"


def _module_boxes(nodes, edges, shown, box, root_ids):
    """{scope prefix: label} for every collapsed module: its name, the shapes of the tensors that
    go in and come out, and how many parameters (leaves that require grad) it holds."""
    inside, ins, outs = {}, {}, {}
    for i in range(shown):
        if box[i] is not None:
            inside.setdefault(box[i], []).append(i)
    for src, dst, _ in edges:
        if src >= shown or dst >= shown or nodes[src][0] != "tensor":
            continue
        if box[dst] is not None and box[src] != box[dst]:
            ins.setdefault(box[dst], {})[src] = None
        if box[src] is not None and box[src] != box[dst]:
            outs.setdefault(box[src], {})[src] = None
    for i in range(shown):
        if box[i] is not None and nodes[i][0] == "tensor" and id(nodes[i][1]) in root_ids:
            outs.setdefault(box[i], {})[i] = None
    labels = {}
    for prefix, members in inside.items():
        n_params = sum(int(np.prod(access.shape(nodes[i][1]))) for i in members
                       if nodes[i][0] == "tensor" and access.node(nodes[i][1]) is None
                       and access.requires_grad(nodes[i][1]))
        lines = [prefix[-1]]
        for word, group in (("in", ins), ("out", outs)):
            shapes = [_shape_text(access.shape(nodes[i][1])) for i in group.get(prefix, {})]
            if shapes:
                lines.append(f"{word} " + ", ".join(shapes))
        lines.append(f"{n_params:,} parameter" + ("" if n_params == 1 else "s"))
        labels[prefix] = "\n".join(lines)
    return labels


def _shape_text(shape):
    return "scalar" if not shape else "[" + ", ".join(str(n) for n in shape) + "]"


def _own(style):
    """The attributes of `style` that differ from the default (intermediate tensor) style."""
    default = _STYLES["tensor"]
    return {k: v for k, v in style.items() if default.get(k) != v}


def _common_prefix(scopes):
    first = scopes[0]
    n = len(first)
    for s in scopes[1:]:
        n = min(n, len(s))
        for k in range(n):
            if s[k] != first[k]:
                n = k
                break
    return first[:n]


def grad_line(g):
    """The line of a tensor's label that shows its gradient `g` (an array)."""
    g = np.asarray(g)
    if g.size <= SMALL:
        return "grad " + _fmt_array(g)
    status, norm = _grad_status(g)
    return {"ok": f"‖grad‖ {norm:.3g}", "zero": "grad 0", "nan": "grad has NaN",
            "inf": "grad has inf"}[status]


def _tensor_node(t, is_root, title, is_param, grad, show_data, show_grad, show_shapes):
    """The label text and the Graphviz attributes of one tensor's node."""
    has_node = access.node(t) is not None
    if is_root:
        role = "root"
    elif is_param:
        role = "param"
    elif has_node:
        role = "tensor"
    elif access.requires_grad(t):
        role = "leaf"
    else:
        role = "const"
    attrs = _own(_STYLES[role])
    lines = []
    title = title if title is not None else access.name(t)
    if title:
        lines.append(str(title))
    data = access.value(t)
    if show_shapes:
        lines.append(_shape_text(access.shape(t)) + f" {access.dtype(t)}")
    if show_data and data is not None and data.size <= SMALL:
        lines.append(("" if data.ndim == 0 and not lines else "data ") + _fmt_array(data))
    if show_grad == "health":
        if access.requires_grad(t):
            if grad is None:
                lines.append("grad not kept" if has_node else "no grad yet")
                attrs["fillcolor"] = MISSING_COLOR
            else:
                status, norm = _grad_status(grad)
                if status == "ok":
                    attrs["fillcolor"], attrs["fontcolor"] = _health_color(norm)
                    lines.append(f"‖grad‖ {norm:.3g}")
                elif status == "zero":
                    attrs["fillcolor"] = ZERO_COLOR
                    lines.append("zero grad")
                else:
                    attrs["fillcolor"] = BAD_COLOR
                    lines.append("NaN grad" if status == "nan" else "inf grad")
    elif show_grad and grad is not None:
        lines.append(grad_line(grad))
    return "\n".join(lines) or " ", attrs


def _decade_text(k):
    """The legend's text for colour k: the decade's lower end; the two ends take all beyond."""
    lo, hi = HEALTH_RANGE
    if k == 0:
        return f"&lt;1e{lo + 1}"
    if k == hi - lo - 1:
        return f"≥1e{lo + k}"
    return f"1e{lo + k}"


def _add_legend(g, health):
    """A legend cluster: one sample node per kind of node and, in health mode, the colour scale."""
    with g.subgraph(name="cluster_legend") as c:
        c.attr(label="legend", style="dashed", color="#9ca3af", fontsize="10")
        for role, text, colour in _LEGEND:
            attrs = _own(_STYLES[role])
            if health and role != "op" and role != "const":  # colour = gradient norm, below
                attrs["fillcolor"] = "#ffffff"
            else:
                text = f"{text}, {colour}"
            c.node(f"legend_{role}", label=text, **attrs)
        if health:
            lo, hi = HEALTH_RANGE
            cells = "".join(
                f'<td bgcolor="{_VIRIDIS[k]}" width="34"><font color="'
                f'{"white" if k < _DARK else "black"}">{_decade_text(k)}</font></td>'
                for k in range(hi - lo)
            )
            rows = "".join(
                f'<tr><td colspan="2" bgcolor="{color}"></td>'
                f'<td colspan="{hi - lo - 2}" align="left">{text}</td></tr>'
                for color, text in [(BAD_COLOR, "NaN or inf gradient"),
                                    (ZERO_COLOR, "zero gradient everywhere (dead units?)"),
                                    (MISSING_COLOR, "no grad kept (retain_all_grads first)")]
            )
            table = (
                '<<table border="0" cellborder="1" cellspacing="0" cellpadding="3">'
                f'<tr><td colspan="{hi - lo}">‖grad‖, the gradient\'s L2 norm: one colour per '
                f'decade (1e-3: 0.001 ≤ ‖grad‖ &lt; 0.01)</td></tr>'
                f"<tr>{cells}</tr>{rows}</table>>"
            )
            c.node("legend_health", label=table, shape="plain")
        # invisible edges put the samples side by side along the rank direction
        keys = [f"legend_{role}" for role, _, _ in _LEGEND] + (["legend_health"] if health else [])
        for a, b in zip(keys, keys[1:]):
            c.edge(a, b, style="invis")


# ================================================================================ rendering


INSTALL_HINT = (
    "Rendering a picture needs Graphviz's `dot` program (the Python package `graphviz` only "
    "writes its input). Install it with `apt-get install graphviz` (Debian/Ubuntu), `brew install "
    "graphviz` (macOS), `conda install -c conda-forge graphviz`, or from "
    "https://graphviz.org/download/ (Windows), then make sure `dot` is on your PATH. Without it, "
    "mg.draw_graph(...).source still gives the DOT text and mg.print_graph(root) prints the "
    "graph as text."
)


class GraphvizNotFoundError(graphviz.ExecutableNotFound):
    """Graphviz's `dot` program is missing; the message says how to install it."""

    def __init__(self, cause):
        RuntimeError.__init__(self, f"{cause}.\n{INSTALL_HINT}")


def render_graph(graph, path, format=None, **draw_kwargs):  # noqa: A002 (Graphviz's name)
    """Write a picture of `graph` to `path`; returns the path.

    graph: a `graphviz.Digraph` from `draw_graph`, or a Tensor (or list) to draw with
        `draw_kwargs` (e.g. `render_graph(loss, "loss.svg", model=model)`).
    format: "svg", "png", "pdf", ...; by default the file's extension (svg when it has none).
    Raises `GraphvizNotFoundError` (an `ExecutableNotFound`) saying how to install `dot`.
    """
    if not isinstance(graph, graphviz.Digraph):
        graph = draw_graph(graph, **draw_kwargs)
    elif draw_kwargs:
        raise TypeError(f"render_graph: {sorted(draw_kwargs)} only apply when drawing a Tensor")
    path = Path(path)
    format = format or path.suffix.lstrip(".") or "svg"  # noqa: A001
    try:
        data = graph.pipe(format=format)
    except graphviz.ExecutableNotFound as e:
        raise GraphvizNotFoundError(e) from None
    path.write_bytes(data)
    return path


# ================================================================================ text form


def graph_str(root, *, params=None, model=None, max_lines=500):
    """The graph as an indented tree of ops, one line per tensor, for terminals without Graphviz.

    Each line is `name = op  [shape] dtype  (in scope)` for a computed tensor (the scope only when
    it changes) and `name  [shape] dtype  parameter | leaf | constant` for a leaf; the children of
    a line are its op's inputs. A sub-graph used twice is printed once with a `#k` tag and
    referred to as `#k` later. At most `max_lines` lines (None: all).
    """
    roots = _as_roots(root, "graph_str")
    names = _param_names(params, model)
    nodes, edges = _walk(roots)
    position = {id(n[1]): i for i, n in enumerate(nodes) if n[0] == "tensor"}
    reached = [src for src, _, _ in edges if nodes[src][0] == "tensor"]
    reached += [position[id(r)] for r in roots]
    uses = {}  # how often each tensor is reached: as an op's input or as a root
    for i in reached:
        uses[i] = uses.get(i, 0) + 1

    lines, tags, done = [], {}, set()  # done: positions of the nodes printed
    # stack of (value, line prefix, children's prefix, scope of the consuming op)
    stack = [(r, "", "", ()) for r in reversed(roots)]
    while stack:
        if max_lines is not None and len(lines) >= max_lines:
            break
        value, head, tail, outer = stack.pop()
        if not access.is_tensor(value):
            lines.append(f"{head}{_const_text(value)}  constant".replace("\n", " "))
            done.add(("const", id(value), head))
            continue
        if id(value) in tags:
            lines.append(f"{head}{tags[id(value)]} {op_label(access.node(value))} (shown above)")
            continue
        name = names.get(id(value), access.name(value))
        shape = _shape_text(access.shape(value)) + f" {access.dtype(value)}"
        text = (f"{name}  " if name else "") + shape
        ctx = access.node(value)
        if ctx is None:
            kind = ("parameter" if id(value) in names else
                    "leaf" if access.requires_grad(value) else "constant")
            lines.append(f"{head}{text}  {kind}")
            done.add(id(value))
            continue
        scope = access.scope(ctx)
        text = (f"{name} = " if name else "") + f"{op_label(ctx)}  {shape}"
        if scope != outer and scope:
            text += f"  (in {'/'.join(scope)})"
        if uses.get(position[id(value)], 0) > 1:
            tags[id(value)] = f"#{len(tags) + 1}"
            text += f"  {tags[id(value)]}"
        lines.append(head + text)
        done.update((id(value), id(ctx)))  # the tensor and its op
        children = [x for x in access.inputs(ctx) if x is not None]
        for k in range(len(children) - 1, -1, -1):
            last = k == len(children) - 1
            stack.append((children[k], tail + ("└─ " if last else "├─ "),
                          tail + ("   " if last else "│  "), scope))
    if stack:
        lines.append(f"… {max(len(nodes) - len(done), 1):,} more nodes (max_lines={max_lines})")
    return "\n".join(lines)


def print_graph(root, *, params=None, model=None, max_lines=500, file=None):
    """Print `graph_str(root, ...)` to `file` (default: sys.stdout)."""
    print(graph_str(root, params=params, model=model, max_lines=max_lines),
          file=file if file is not None else sys.stdout)
