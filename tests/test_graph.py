"""Graph pictures: draw_graph (structure, labels, clusters, health colours, collapse), text form."""

import html
import io
import re
import shutil

import graphviz
import numpy as np
import pytest

import microgradnp as mg

NEEDS_DOT = pytest.mark.skipif(
    shutil.which("dot") is None,
    reason="Graphviz's `dot` program is not installed (apt-get install graphviz)",
)


# ---- reading a Digraph back: node statements and edges, by node name ----------------------------
_NODE = re.compile(r'^\s*(\w+) \[label=(".*?(?<!\\)"|\w+|<.*>)(.*)\]$')
_EDGE = re.compile(r"^\s*(\w+) -> (\w+)")


def parse(g):
    """(nodes: name -> (label, attribute text), edges: [(a, b)]), the legend left out."""
    nodes, edges = {}, []
    for line in g.body:
        m = _EDGE.match(line)
        if m:
            if not m.group(1).startswith("legend"):
                edges.append((m.group(1), m.group(2)))
            continue
        m = _NODE.match(line)
        if m and not m.group(1).startswith("legend"):
            nodes[m.group(1)] = (m.group(2).strip('"').replace("\\n", "\n"), m.group(3))
    return nodes, edges


def svg_texts(svg):
    """The text lines of a rendered SVG, unescaped."""
    return [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def find(nodes, text):
    """The names of the nodes whose label contains `text`."""
    return [k for k, (label, _) in nodes.items() if text in label]


def fill(nodes, name):
    return re.search(r'fillcolor="(#\w+)"', nodes[name][1]).group(1)


def small_expression():
    """loss = sum(relu(w * x + b)) with three leaves: 3 ops, 6 tensor nodes, 6 edges."""
    x = mg.tensor([1.0, -2.0, 3.0], requires_grad=True)
    w = mg.tensor([0.5, 0.25, -1.0], requires_grad=True)
    b = mg.tensor(0.1, requires_grad=True)
    x.name, w.name, b.name = "x", "w", "b"
    z = w * x
    a = z + b
    h = a.relu()
    loss = h.sum()
    loss.name = "loss"
    return x, w, b, z, a, h, loss


# ---- structure --------------------------------------------------------------------------------
def test_returns_a_digraph_with_one_node_per_tensor_and_op():
    *_, loss = small_expression()
    g = mg.draw_graph(loss)
    assert isinstance(g, graphviz.Digraph)
    nodes, edges = parse(g)
    ops = [k for k, (_, attrs) in nodes.items() if "ellipse" in attrs]
    assert sorted(nodes[k][0] for k in ops) == ["add", "mul", "relu", "sum"]
    assert len(nodes) == 4 + 7  # ops + tensors (x, w, z, b, a, h, loss)
    assert len(edges) == 4 + 6  # one edge per op output, one per op input (2 + 2 + 1 + 1)
    # edges follow the data flow: input tensor -> op -> output tensor
    (x_node,) = find(nodes, "x\n")
    (mul,) = [k for k in ops if nodes[k][0] == "mul"]
    (loss_node,) = find(nodes, "loss")
    assert (x_node, mul) in edges
    (sum_op,) = [k for k in ops if nodes[k][0] == "sum"]
    assert (sum_op, loss_node) in edges
    assert not any(b == x_node for _, b in edges)  # a leaf has no incoming edge


def test_labels_show_names_shapes_values_and_grads():
    x, w, b, z, a, h, loss = small_expression()
    nodes, _ = parse(mg.draw_graph(loss))
    (x_node,) = find(nodes, "x\n")
    label = nodes[x_node][0]
    assert "[3] float64" in label
    assert "data [1, -2, 3]" in label
    assert "grad" not in label  # forward only: no gradient yet
    assert "loss\nscalar float64\ndata 0" in nodes[find(nodes, "loss")[0]][0]

    loss.backward()
    nodes, _ = parse(mg.draw_graph(loss))
    assert "grad [0.5, 0, 0]" in nodes[find(nodes, "x\n")[0]][0]  # relu passes only z+b > 0
    assert "grad [1, 0, 0]" in nodes[find(nodes, "w\n")[0]][0]
    assert "grad 1" in nodes[find(nodes, "b\n")[0]][0]
    nodes, _ = parse(mg.draw_graph(loss, show_data=False, show_grad=False, show_shapes=False))
    assert nodes[find(nodes, "x")[0]][0] == "x"


def test_values_are_compact_and_large_tensors_show_the_grad_norm():
    x = mg.tensor([1 / 3, 123456.0, 1e-9], requires_grad=True)
    big = mg.ones(10, requires_grad=True)
    big.name = "big"
    y = (x.sum() + (big * 2.0).sum())
    y.backward()
    nodes, _ = parse(mg.draw_graph(y))
    assert find(nodes, "data [0.3333, 1.235e+05, 1e-09]")
    (big_node,) = find(nodes, "big\n[10] float64")
    big_label = nodes[big_node][0]
    assert "data" not in big_label
    assert f"‖grad‖ {np.sqrt(40):.3g}" in big_label


def test_params_and_model_name_parameters_by_identity():
    x, w, b, *_, loss = small_expression()
    w.name = None
    nodes, _ = parse(mg.draw_graph(loss, params={"layer.weight": w, "layer.bias": b}))
    (w_node,) = find(nodes, "layer.weight")
    assert "penwidth=2" in nodes[w_node][1]  # parameters look different from other leaves
    (x_node,) = find(nodes, "x\n")
    assert "penwidth" not in nodes[x_node][1]

    class Model:
        def named_parameters(self):
            return iter([("lin.weight", w)])

    nodes, _ = parse(mg.draw_graph(loss, model=Model()))
    assert find(nodes, "lin.weight")


def test_roles_look_different():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    w = mg.tensor([3.0, 4.0], requires_grad=True)
    c = mg.tensor([5.0, 6.0])  # does not require grad: a constant
    out = ((x * w + c) * 2.0).sum()
    nodes, edges = parse(mg.draw_graph(out, params={"w": w}))
    attrs = {label.split("\n")[0]: a for label, a in nodes.values()}
    styles = {k: (re.search(r"style=(\"[^\"]*\"|\w+)", a).group(1),
                  re.search(r'fillcolor="(#\w+)"', a).group(1)) for k, a in attrs.items()}
    (root,) = [label for label, a in nodes.values() if "peripheries=2" in a]
    assert root == "scalar float64\ndata 44"  # sum(2 * (x * w + c)) = 2 * (8 + 14)
    assert len({styles["w"], styles["[2] float64"], styles["2"]}) == 3
    const_nodes = [k for k, (label, a) in nodes.items() if "dashed" in a]
    assert {nodes[k][0].split("\n")[-1] for k in const_nodes} == {"data [5, 6]", "2"}
    # edges from constants are dashed too
    assert sum(1 for a, _ in edges if a in const_nodes) == 2


def test_list_of_roots_and_shared_subgraph_drawn_once():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    h = x.exp()
    out1, out2 = h.sum(), (h * h).sum()
    nodes, edges = parse(mg.draw_graph([out1, out2]))
    assert len([k for k, (label, _) in nodes.items() if label == "exp"]) == 1
    assert sum("peripheries=2" in a for _, a in nodes.values()) == 2
    (mul,) = find(nodes, "mul")
    assert sum(1 for a, b in edges if b == mul) == 2  # h used twice as an input: two edges


# ---- no graph, single leaf ----------------------------------------------------------------------
def test_no_graph_is_a_clear_error():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with mg.no_grad():
        y = (x * 2).sum()
    with pytest.raises(ValueError, match="no graph.*no_grad"):
        mg.draw_graph(y)
    with pytest.raises(ValueError, match="requires_grad=True"):
        mg.draw_graph(mg.tensor([1.0]))
    with pytest.raises(ValueError, match="no graph"):
        mg.graph_str(y)
    with pytest.raises(TypeError, match="Tensor"):
        mg.draw_graph(np.ones(3))


def test_single_leaf_that_requires_grad_is_one_node():
    x = mg.tensor(2.0, requires_grad=True)
    x.name = "x"
    nodes, edges = parse(mg.draw_graph(x))
    assert list(nodes.values())[0][0] == "x\nscalar float64\ndata 2"
    assert len(nodes) == 1 and edges == []
    assert mg.graph_str(x) == "x  scalar float64  leaf"


# ---- gradients of every node ------------------------------------------------------------------
def test_retain_all_grads_gives_intermediate_grads():
    x, w, b, z, a, h, loss = small_expression()
    assert mg.retain_all_grads(loss) is loss
    loss.backward()
    np.testing.assert_allclose(h.grad, [1.0, 1.0, 1.0])
    np.testing.assert_allclose(a.grad, [1.0, 0.0, 0.0])
    np.testing.assert_allclose(z.grad, [1.0, 0.0, 0.0])
    np.testing.assert_allclose(loss.grad, 1.0)
    assert x.grad is not None and w.grad is not None
    nodes, _ = parse(mg.draw_graph(loss))
    assert len(find(nodes, "grad")) == 7  # every tensor node shows its gradient


def test_without_retain_intermediate_grads_are_absent():
    *_, z, a, h, loss = small_expression()
    loss.backward()
    assert z.grad is None and h.grad is None


def test_drawing_after_backward_with_freed_graph_works():
    x, w, b, z, a, h, loss = small_expression()
    before = parse(mg.draw_graph(loss, show_data=False, show_grad=False))
    loss.backward()  # frees the saved arrays
    assert loss.grad_fn.freed
    with pytest.raises(RuntimeError, match="second time"):
        loss.backward()
    after = parse(mg.draw_graph(loss, show_data=False, show_grad=False))
    assert after == before
    assert "add" in mg.graph_str(loss)


def test_intermediate_names_survive_the_tensors_and_backward():
    """The graph keeps no intermediate tensor; a name given to one is kept by its node."""
    x, w, b, z, a, h, loss = small_expression()
    z.name, h.name = "pre", "hidden"
    del z, a, h
    before = mg.graph_str(loss)
    loss.backward()
    for text in (before, mg.graph_str(loss)):
        assert "pre = mul" in text and "hidden = relu" in text, text


# ---- clusters ---------------------------------------------------------------------------------
def scoped_mlp():
    mg.manual_seed(0)
    x = mg.randn(4, 2)
    w1, b1 = mg.randn(2, 3, requires_grad=True), mg.zeros(3, requires_grad=True)
    w2, b2 = mg.randn(3, 1, requires_grad=True), mg.zeros(1, requires_grad=True)
    with mg.name_scope("Sequential"):
        with mg.name_scope("0: Linear(2→3)"):
            h = x @ w1 + b1
        with mg.name_scope("1: ReLU"):
            h = h.relu()
        with mg.name_scope("2: Linear(3→1)"):
            out = h @ w2 + b2
    with mg.name_scope("MSELoss"):
        loss = (out * out).mean()
    params = {"0.weight": w1, "0.bias": b1, "2.weight": w2, "2.bias": b2}
    return x, params, loss


def cluster_tree(g):
    """{cluster label: (parent label, [node labels])} read from the DOT source."""
    tree, stack = {}, [None]
    labels_by_name, _ = parse(g)
    for line in g.source.splitlines():
        s = line.strip()
        if s.startswith("subgraph cluster"):
            stack.append(("pending", stack[-1]))
        elif s.startswith("graph [") and stack[-1] and stack[-1][0] == "pending":
            label = re.search(r'label=("[^"]*"|[^ \]]+)', s).group(1).strip('"')
            parent = stack[-1][1]
            stack[-1] = label
            tree[label] = (parent, [])
        elif s == "}":
            stack.pop()
        else:
            m = _NODE.match(line)
            if m and stack[-1] and m.group(1) in labels_by_name:
                tree[stack[-1]][1].append(labels_by_name[m.group(1)][0])
    return tree


def test_clusters_follow_scopes_and_nest():
    x, params, loss = scoped_mlp()
    g = mg.draw_graph(loss, params=params)
    tree = cluster_tree(g)
    assert tree["Sequential"][0] is None and tree["MSELoss"][0] is None
    assert tree["0: Linear(2→3)"][0] == "Sequential"
    assert tree["1: ReLU"][0] == "Sequential"
    assert tree["2: Linear(3→1)"][0] == "Sequential"
    lin0 = tree["0: Linear(2→3)"][1]
    assert "matmul" in lin0 and "add" in lin0
    assert any(label.startswith("0.weight") for label in lin0)  # parameter: with its consumer
    assert any(label.startswith("0.bias") for label in lin0)
    assert "relu" in tree["1: ReLU"][1]
    assert tree["Sequential"][1] == []  # everything sits in a sub-module's box
    # the data input (a constant tensor) sits outside every cluster
    in_clusters = {label for _, labels in tree.values() for label in labels}
    nodes, _ = parse(g)
    (x_node,) = find(nodes, "[4, 2] float64")
    assert nodes[x_node][0] not in in_clusters
    # subgraph names must start with "cluster" for Graphviz to draw boxes
    assert all(s.strip().startswith("subgraph cluster_") for s in g.source.splitlines()
               if s.strip().startswith("subgraph"))


def test_parameter_shared_by_two_scopes_goes_to_their_common_cluster():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    with mg.name_scope("net"):
        with mg.name_scope("a"):
            h = w * 2.0
        with mg.name_scope("b"):
            out = (h * w).sum()
    tree = cluster_tree(mg.draw_graph(out, params={"tied": w}))
    assert any(label.startswith("tied") for label in tree["net"][1])
    assert not any(label.startswith("tied") for label in tree["a"][1] + tree["b"][1])


def test_cluster_modules_false_is_flat():
    x, params, loss = scoped_mlp()
    g = mg.draw_graph(loss, params=params, cluster_modules=False)
    assert "subgraph" not in g.source
    assert len(parse(g)[0]) == len(parse(mg.draw_graph(loss, params=params))[0])


def test_graph_without_scopes_has_no_clusters():
    *_, loss = small_expression()
    assert "subgraph" not in mg.draw_graph(loss).source


# ---- gradient health --------------------------------------------------------------------------
def test_health_colours_nan_red_zero_flagged_and_legend():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    dead = mg.tensor([-5.0, -6.0], requires_grad=True)
    bad = mg.tensor([0.0, 1.0], requires_grad=True)
    tiny = mg.tensor([1.0], requires_grad=True)
    x.name, dead.name, bad.name, tiny.name = "x", "dead", "bad", "tiny"
    loss = (x * x).sum() + dead.relu().sum() + bad.sqrt().sum() + (tiny * 1e-6).sum()
    mg.retain_all_grads(loss)
    with np.errstate(divide="ignore"):
        loss.backward()
    g = mg.draw_graph(loss, show_grad="health")
    nodes, _ = parse(g)
    (bad_node,) = find(nodes, "bad")
    assert fill(nodes, bad_node) == mg.viz.graph.BAD_COLOR  # d sqrt(x)/dx at 0 is inf
    assert "inf grad" in nodes[bad_node][0]
    (dead_node,) = find(nodes, "dead")
    assert fill(nodes, dead_node) == mg.viz.graph.ZERO_COLOR
    assert "zero grad" in nodes[dead_node][0]
    (x_node,) = find(nodes, "x\n")
    assert fill(nodes, x_node) == mg.viz.graph._health_color(np.linalg.norm([2.0, 4.0]))[0]
    (tiny_node,) = find(nodes, "tiny")
    assert fill(nodes, tiny_node) != fill(nodes, x_node)  # 1e-6 and 4.5 are different decades
    assert "legend_health" in g.source and "cluster_legend" in g.source

    nan_leaf = mg.tensor([1.0, 2.0], requires_grad=True)
    nan_loss = (nan_leaf * np.array([np.nan, 1.0])).sum()
    nan_loss.backward()
    nodes, _ = parse(mg.draw_graph(nan_loss, show_grad="health"))
    (leaf_node,) = find(nodes, "[2] float64\ndata [1, 2]")
    assert fill(nodes, leaf_node) == mg.viz.graph.BAD_COLOR
    assert "NaN grad" in nodes[leaf_node][0]


def test_health_colour_scale_is_log10_by_decade():
    colour = lambda n: mg.viz.graph._health_color(n)[0]  # noqa: E731
    assert colour(1e-12) == colour(1e-8) == mg.viz.graph._VIRIDIS[0]
    assert colour(5e1) == colour(1e9) == mg.viz.graph._VIRIDIS[-1]
    assert colour(1e-3) != colour(1e-2)
    assert colour(2e-3) == colour(9e-3)


def test_health_without_backward_or_retain_says_grad_not_kept():
    *_, h, loss = small_expression()
    nodes, _ = parse(mg.draw_graph(loss, show_grad="health"))
    assert find(nodes, "no grad yet")  # leaves before backward
    loss.backward()
    nodes, _ = parse(mg.draw_graph(loss, show_grad="health"))
    assert find(nodes, "grad not kept")  # intermediates without retain_all_grads
    assert not find(nodes, "no grad yet")


def test_bad_show_grad_value():
    *_, loss = small_expression()
    with pytest.raises(ValueError, match="show_grad"):
        mg.draw_graph(loss, show_grad="colour")


# ---- big graphs -------------------------------------------------------------------------------
def test_collapse_past_max_nodes_with_summary_count():
    x = mg.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100):
        y = y.tanh()  # 100 ops + 101 tensors = 201 nodes
    nodes, edges = parse(mg.draw_graph(y, max_nodes=20))
    assert "more" in nodes
    assert nodes["more"][0].startswith("… 181 more nodes")
    assert len(nodes) == 21
    assert [b for a, b in edges if a == "more"]  # the summary feeds the cut edge
    assert len(parse(mg.draw_graph(y, max_nodes=None))[0]) == 201


def test_collapse_count_uses_thousands_separator():
    x = mg.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(5000):
        y = y.tanh()
    nodes, _ = parse(mg.draw_graph(y, max_nodes=500))
    assert nodes["more"][0].startswith("… 9,501 more nodes")


def test_100k_op_chain_without_recursion():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    g = mg.draw_graph(y)
    nodes, _ = parse(g)
    assert len(nodes) == 501
    text = mg.graph_str(y, max_lines=50)
    assert len(text.splitlines()) == 51 and "more nodes" in text
    mg.retain_all_grads(y)
    y.sum().backward()
    np.testing.assert_allclose(y.grad, [1.0, 1.0])


# ---- text form --------------------------------------------------------------------------------
def test_graph_str_tree_with_names_shapes_scopes_and_shared_references():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    x.name = "x"
    with mg.name_scope("block"):
        h = x.exp()
        h.name = "h"
    out = (h * h + 3.0).sum()
    text = mg.graph_str(out)
    assert text.splitlines() == [
        "sum  scalar float64",
        "└─ add  [2] float64",
        "   ├─ mul  [2] float64",
        "   │  ├─ h = exp  [2] float64  (in block)  #1",
        "   │  │  └─ x  [2] float64  leaf",
        "   │  └─ #1 exp (shown above)",
        "   └─ 3  constant",
    ]
    buf = io.StringIO()
    mg.print_graph(out, file=buf)
    assert buf.getvalue() == text + "\n"


def test_graph_str_names_parameters():
    x, params, loss = scoped_mlp()
    text = mg.graph_str(loss, params=params)
    assert "0.weight  [2, 3] float64  parameter" in text
    assert "[4, 2] float64  constant" in text
    assert "(in Sequential/0: Linear(2→3))" in text


# ---- rendering --------------------------------------------------------------------------------
@NEEDS_DOT
def test_svg_rendered_with_dot(tmp_path):
    x, params, loss = scoped_mlp()
    mg.retain_all_grads(loss)
    loss.backward()
    svg = mg.draw_graph(loss, params=params, legend=True).pipe(format="svg").decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "0.weight" in svg and "Linear(2→3)" in svg and "matmul" in svg
    path = mg.render_graph(loss, tmp_path / "health.svg", params=params, show_grad="health")
    texts = svg_texts(path.read_text())
    for name in ("0.weight", "0.bias", "2.weight", "2.bias"):  # each parameter: its norm
        (k,) = [i for i, t in enumerate(texts) if t == name]
        norm = np.linalg.norm(params[name].grad)
        assert f"‖grad‖ {norm:.3g}" in texts[k + 1:k + 4], name  # after its shape and data
    # the legend says what the colours are, the two ends of the scale included
    assert {"<1e-7", "≥1e1", "NaN or inf gradient", "zero gradient everywhere (dead units?)",
            "no grad kept (retain_all_grads first)"} <= set(texts)
    png = mg.render_graph(mg.draw_graph(loss), tmp_path / "g.png")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_missing_dot_says_how_to_install(monkeypatch, tmp_path):
    *_, loss = small_expression()
    g = mg.draw_graph(loss)

    def no_dot(*args, **kwargs):
        raise graphviz.ExecutableNotFound(["dot"])

    monkeypatch.setattr(graphviz.Digraph, "pipe", no_dot)
    with pytest.raises(graphviz.ExecutableNotFound, match="apt-get install graphviz"):
        mg.render_graph(g, tmp_path / "g.svg")
    assert "digraph" in g.source  # building the Digraph and the text form need no dot
    assert "sum" in mg.graph_str(loss)


# ---- with the real nn package -----------------------------------------------------------------
def test_real_nn_mlp_clusters_and_parameter_names():
    nn = pytest.importorskip("nn")
    if not all(hasattr(nn, k) for k in ("Sequential", "Linear", "ReLU", "MSELoss")):
        pytest.skip("nn does not define Sequential/Linear/ReLU/MSELoss yet")
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
    x = np.random.default_rng(0).normal(size=(5, 2))
    loss = nn.MSELoss()(model(x), np.zeros((5, 1)))
    mg.retain_all_grads(loss)
    loss.backward()
    g = mg.draw_graph(loss, model=model)
    tree = cluster_tree(g)
    assert "Sequential" in tree
    linear0 = next(k for k in tree if k.startswith("0: Linear"))
    assert tree[linear0][0] == "Sequential"
    assert any(label.startswith("0.weight") for label in tree[linear0][1])
    names = {n for n, _ in model.named_parameters()}
    nodes, _ = parse(g)
    assert all(find(nodes, n + "\n") for n in names)


# ---- pictures that never mislead ----------------------------------------------------------------
def test_op_nodes_show_their_keyword_arguments():
    x = mg.tensor(np.arange(8.0), requires_grad=True)
    y = x.reshape(4, 2).sum(axis=1)[1:3].sum()
    text = mg.graph_str(y)
    assert "reshape(4, 2)" in text and "sum(axis=1)" in text and "getitem[1:3]" in text
    assert "sum  scalar" in text.splitlines()[0]  # defaults (axis=None) are not shown
    nodes, _ = parse(mg.draw_graph(y))
    assert find(nodes, "reshape(4, 2)") and find(nodes, "sum(axis=1)")


def test_edges_into_ops_whose_arguments_cannot_be_swapped_say_which_they_are():
    a = mg.tensor([1.0, 2.0], requires_grad=True, name="a")
    b = mg.tensor([3.0, 4.0], requires_grad=True, name="b")
    g = mg.draw_graph(((a - b) / (b @ a) + a * b) ** 2.0)
    edges = {}
    nodes, _ = parse(g)
    for line in g.body:
        m = re.match(r"\s*(\w+) -> (\w+)(?: \[(.*)\])?", line)
        if m:
            label = re.search(r"label=(\w+)", m.group(3) or "")
            op = nodes[m.group(2)][0]
            edges.setdefault(op, []).append(label.group(1) if label else None)
    assert sorted(edges["sub"]) == ["x", "y"] and sorted(edges["div"]) == ["x", "y"]
    assert sorted(edges["matmul"]) == ["x", "y"] and sorted(edges["pow"]) == ["x", "y"]
    assert edges["add"] == [None, None] and edges["mul"] == [None, None]


def test_loss_targets_are_drawn_as_passed_and_no_none_constants():
    nn = pytest.importorskip("nn")
    p = mg.tensor([0.2, -1.0, 3.0], requires_grad=True, name="p")
    text = mg.graph_str(nn.BCEWithLogitsLoss()(p, np.array([1, 0, 1])))
    assert "target  [3] float64  constant" in text and "None" not in text
    logits = mg.tensor(np.zeros((3, 2)), requires_grad=True)
    loss = nn.CrossEntropyLoss()(logits, np.array([1, 0, 1]))
    assert "target  [3] int64  constant" in mg.graph_str(loss)  # the labels, not a one-hot array
    nodes, _ = parse(mg.draw_graph(loss))
    (target,) = find(nodes, "target")
    assert nodes[target][0] == "target\n[3] int64\ndata [1, 0, 1]"


def test_collapse_modules_draws_one_box_per_module():
    x, params, loss = scoped_mlp()
    nodes, edges = parse(mg.draw_graph(loss, params=params, collapse_modules=True))
    labels = [label for label, _ in nodes.values()]
    assert "0: Linear(2→3)\nin [4, 2]\nout [4, 3]\n9 parameters" in labels
    assert "1: ReLU\nin [4, 3]\nout [4, 3]\n0 parameters" in labels
    assert "2: Linear(3→1)\nin [4, 3]\nout [4, 1]\n4 parameters" in labels
    assert not find(nodes, "matmul") and not find(nodes, "0.weight")  # inside the boxes
    nodes, _ = parse(mg.draw_graph(loss, params=params, collapse_modules=1))
    labels = [label for label, _ in nodes.values()]
    assert "Sequential\nin [4, 2]\nout [4, 1]\n13 parameters" in labels
    with pytest.raises(ValueError, match="collapse_modules"):
        mg.draw_graph(loss, collapse_modules=0)


def test_legend_says_what_each_colour_is():
    *_, loss = small_expression()
    body = "".join(mg.draw_graph(loss, legend=True).body)
    for text in ("output (root): double border, yellow",
                 "parameter (named): bold square box, green",
                 "leaf that requires grad: square box, blue",
                 "constant (no grad): dashed box, grey"):
        assert text in body
    health = "".join(mg.draw_graph(loss, legend=True, show_grad="health").body)
    assert "square box, blue" not in health  # in health mode colour is the gradient's norm


def test_without_dot_the_digraph_explains_itself(tmp_path, monkeypatch):
    *_, loss = small_expression()
    g = mg.draw_graph(loss)
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot
    with pytest.raises(mg.GraphvizNotFoundError, match="apt-get install graphviz"):
        g.pipe(format="svg")
    with pytest.raises(mg.GraphvizNotFoundError, match="brew install graphviz"):
        g.render(tmp_path / "g")
    shown = g._repr_mimebundle_()  # what a Jupyter cell displays
    assert set(shown) == {"text/plain"}
    assert shown["text/plain"].startswith(mg.graph_str(loss))
    assert "Graphviz's `dot` is not installed" in shown["text/plain"]


def test_after_a_plain_backward_the_picture_shows_what_was_kept():
    x = mg.tensor([1.0, -2.0], requires_grad=True, name="x")
    loss = ((x * 3.0).tanh() * 2.0).sum()
    loss.name = "loss"
    before = parse(mg.draw_graph(loss))[0]
    loss.backward()
    after = parse(mg.draw_graph(loss))[0]
    ops = lambda n: sorted(label for label, a in n.values() if "ellipse" in a)  # noqa: E731
    assert ops(after) == ops(before) == ["mul", "mul", "sum", "tanh"]
    # intermediates nobody holds: shape and dtype, no values; constants are gone
    assert sum(label == "[2] float64" for label, _ in after.values()) == 3
    assert not find(after, "data [3")
    assert find(after, "x\n[2] float64\ndata [1, -2]\ngrad")  # the leaf keeps everything
