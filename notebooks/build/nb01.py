from common import build

cells = [
("md", r"""
# 1. Autograd basics

A `Tensor` is a NumPy array that remembers how it was computed. Call `.backward()` on a result
and every input that asked for it (`requires_grad=True`) receives its gradient in `.grad`.

Two words that are easy to blur, said plainly once: **backpropagation computes gradients** (the
chain rule, applied from the loss back to every parameter), and **gradient descent uses them**
(it moves each parameter a small step against its gradient). Backprop is how we get
$\partial L / \partial w$; gradient descent is one way to use it, `w -= lr * w.grad`.

In this notebook:

1. tensors and the graph they record,
2. one neuron, $z = \sum_i w_i x_i + b$, differentiated **by hand** and **by the engine**,
3. backpropagation **step by step** on micrograd's classic `L = (a*b + c) * f`,
4. gradient descent using those gradients,
5. the picture of the graph (`mg.draw_graph`) and `mg.gradcheck`.
"""),
("code", r"""
import numpy as np

import microgradnp as mg

np.set_printoptions(precision=4, suppress=True)
"""),
("md", r"""
## Tensors

`mg.tensor(data, requires_grad=True)` makes a leaf of the graph. Python floats become
`float64`. Every operation on tensors gives a new tensor whose `grad_fn` is the op that made it.
"""),
("code", r"""
x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = x * 2 + 1
print(x)
print(y)
print("x is a leaf:", x.is_leaf, "| y was made by:", y.grad_fn.name)
assert x.is_leaf and not y.is_leaf and y.grad_fn.name == "add"
assert np.array_equal(y.data, [3.0, 5.0, 7.0])
"""),
("md", r"""
## One neuron, two ways

A neuron takes a weighted sum of its inputs plus a bias, one number, and passes it through an
activation:

$$z = \sum_i w_i x_i + b, \qquad a = \tanh(z), \qquad L = (a - t)^2$$

for a target $t$. By the chain rule, going backwards from $L$:

$$\frac{\partial L}{\partial a} = 2(a - t), \qquad
\frac{\partial L}{\partial z} = \frac{\partial L}{\partial a}\,(1 - a^2), \qquad
\frac{\partial L}{\partial w_i} = \frac{\partial L}{\partial z}\, x_i, \qquad
\frac{\partial L}{\partial x_i} = \frac{\partial L}{\partial z}\, w_i, \qquad
\frac{\partial L}{\partial b} = \frac{\partial L}{\partial z}.$$

First by hand, in plain NumPy:
"""),
("code", r"""
x_np = np.array([0.5, -1.0, 2.0])
w_np = np.array([0.3, 0.8, -0.5])
b_np = 0.1
target = 0.5

# forward
z = np.sum(w_np * x_np) + b_np   # one number: the weighted sum
a = np.tanh(z)
L = (a - target) ** 2

# backward, one line per rule above
dL_da = 2 * (a - target)
dL_dz = dL_da * (1 - a ** 2)
dL_dw = dL_dz * x_np
dL_dx = dL_dz * w_np
dL_db = dL_dz

print("z =", z, "| a =", a, "| L =", L)
print("dL/dw =", dL_dw)
print("dL/dx =", dL_dx)
print("dL/db =", dL_db)
"""),
("md", r"""
Now the same neuron with tensors. We write only the forward pass; `L.backward()` applies the
chain rule for us, op by op, from the loss back to the leaves. `w @ x` is the weighted sum
$\sum_i w_i x_i$.
"""),
("code", r"""
x = mg.tensor(x_np, requires_grad=True, name="x")
w = mg.tensor(w_np, requires_grad=True, name="w")
b = mg.tensor(b_np, requires_grad=True, name="b")

z_t = w @ x + b
z_t.name = "z"
a_t = z_t.tanh()
a_t.name = "a"
loss = (a_t - target) ** 2
loss.name = "L"
mg.retain_all_grads(loss)  # also keep the gradients of intermediate results, for the picture
loss.backward()

print("L     =", loss.item())
for name, t, by_hand in [("w", w, dL_dw), ("x", x, dL_dx), ("b", b, dL_db)]:
    error = np.max(np.abs(t.grad - by_hand))
    print(f"dL/d{name} = {t.grad}   max difference from the hand-derived one: {error:.1e}")
    assert error < 1e-15, name
assert np.isclose(loss.item(), L)
"""),
("md", r"""
The same numbers, to the last digit.

## Backpropagation, step by step

What did `backward()` do, exactly? `mg.backprop_steps` replays it one op at a time, in the
engine's order, without touching `.grad`. Here is micrograd's classic example,
$L = (a b + c) f$:
"""),
("code", r"""
a = mg.tensor(2.0, requires_grad=True, name="a")
b = mg.tensor(-3.0, requires_grad=True, name="b")
c = mg.tensor(10.0, requires_grad=True, name="c")
f = mg.tensor(-2.0, requires_grad=True, name="f")
e = a * b; e.name = "e"
d = e + c; d.name = "d"
L = d * f; L.name = "L"

steps = mg.backprop_steps(L)
for step in steps:
    print(step)
assert [s.op for s in steps] == ["mul", "add", "mul"]
assert steps[-1].equations[0] == "∂L/∂a = ∂L/∂e · ∂e/∂a = -2 · b = -2 · (-3) = 6"
"""),
("md", r"""
Each step takes an op whose output's gradient is complete and hands each input its share:
the incoming gradient times the op's **local derivative** ($\partial e/\partial a = b$ for
$e = a b$, $1$ for an addition). The gradient flows backwards; nothing else happens.

`mg.render_backprop(L, "backprop.html")` writes the same as a page you can step through in a
browser: a slider, previous/next buttons and the arrow keys; each frame colours the op that runs,
the inputs that receive their gradient and the gradients already known. It needs Graphviz's `dot`
for the picture. Here it is, embedded (run the cell to step through it):
"""),
("code", r"""
import html
import tempfile
from pathlib import Path

from IPython.display import HTML

try:
    page = mg.render_backprop(L, Path(tempfile.gettempdir()) / "backprop.html")
    print("wrote", page.name)
    shown = HTML(f'<div><iframe srcdoc="{html.escape(page.read_text(encoding="utf-8"))}" '
                 f'width="100%" height="620" style="border: 1px solid #ddd"></iframe></div>')
except mg.GraphvizNotFoundError:
    shown = "(Graphviz's `dot` is not installed: no page; the steps above say the same.)"
shown
"""),
("md", r"""
The engine's `backward()` gives the same numbers (and, unlike `backprop_steps`, writes them into
`.grad` and frees the graph):
"""),
("code", r"""
L.backward()
print("a.grad", a.grad, "| b.grad", b.grad, "| c.grad", c.grad, "| f.grad", f.grad)
assert (a.grad, b.grad, c.grad, f.grad) == (6.0, -4.0, -2.0, 4.0)
"""),
("md", r"""
## Gradient descent uses the gradients

Backprop told us how $L$ changes when each input moves. Gradient descent takes a small step
against the gradient, here to make the neuron's output approach its target: compute the loss,
backpropagate, update, repeat.
"""),
("code", r"""
w = mg.tensor(w_np, requires_grad=True, name="w")
b = mg.tensor(b_np, requires_grad=True, name="b")
lr = 0.1
losses = []
for step in range(20):
    loss = ((w @ x_np + b).tanh() - target) ** 2   # forward
    w.grad = b.grad = None                         # gradients accumulate: reset them first
    loss.backward()                                # backpropagation: the gradients
    with mg.no_grad():                             # gradient descent: the update
        w.data -= lr * w.grad
        b.data -= lr * b.grad
    losses.append(loss.item())
print("loss at steps 0, 5, 10, 19:", [f"{losses[k]:.2e}" for k in (0, 5, 10, 19)])
assert losses[-1] < 1e-3 * losses[0]
"""),
("md", r"""
## The graph

Every op recorded its inputs. `mg.draw_graph` draws that record: boxes are tensors (leaves in
blue, the output yellow with a double border), ellipses are ops, dashed grey boxes are constants;
an edge into an op whose arguments cannot be swapped (like `sub`) says which argument it is
(`x`, `y`). Small tensors show their values and gradients. A plain `backward()` drops what it
no longer needs (the constants, the values of intermediate results nobody holds) and a picture
drawn after it shows what was kept; `retain_graph=True` keeps everything. Without Graphviz's
`dot`, the cell shows the same graph as text.
"""),
("code", r"""
x = mg.tensor(x_np, requires_grad=True, name="x")
w = mg.tensor(w_np, requires_grad=True, name="w")
b = mg.tensor(b_np, requires_grad=True, name="b")
neuron_loss = ((w @ x + b).tanh() - target) ** 2
neuron_loss.name = "L"
mg.retain_all_grads(neuron_loss)
neuron_loss.backward(retain_graph=True)  # keep the whole graph, constants included
mg.draw_graph(neuron_loss)
"""),
("md", r"""
`mg.print_graph` always gives the text form (the output on top, the inputs of each op indented
below it):
"""),
("code", r"""
mg.print_graph(neuron_loss)
"""),
("md", r"""
## Two things to know about `backward`

**Gradients accumulate.** A second backward adds to `.grad` (this is what lets several losses
share parameters). Training loops therefore reset gradients before each step
(`optimizer.zero_grad()`).

**The graph is freed after backward**, to save memory. Backpropagating twice through the same
graph is an error unless the first call kept it with `retain_graph=True`:
"""),
("code", r"""
p = mg.tensor(3.0, requires_grad=True)
g = p ** 2  # dg/dp = 2p = 6
g.backward(retain_graph=True)
g.backward()
print("after two backward calls p.grad =", p.grad, "(6 + 6: accumulated)")
assert p.grad == 12.0

h = p ** 2
h.backward()
try:
    h.backward()
except RuntimeError as error:
    print("RuntimeError:", error)
else:
    raise AssertionError("expected a RuntimeError: the graph was freed by the first backward")
"""),
("md", r"""
Inside `with mg.no_grad():` nothing is recorded, which is what evaluation and optimizer updates
use:
"""),
("code", r"""
with mg.no_grad():
    q = p * 2
print(q, "| requires_grad:", q.requires_grad)
assert not q.requires_grad and q.grad_fn is None
"""),
("md", r"""
## Checking gradients against finite differences

A derivative can be approximated without any calculus, by nudging one input element at a time:
$\partial f / \partial x_k \approx (f(x + \varepsilon e_k) - f(x - \varepsilon e_k)) / 2\varepsilon$.
`mg.gradcheck(fn, inputs)` does this for every element of every input that requires grad and
compares with the engine's backward. It returns `True` or raises `mg.GradcheckError` with a report.
It needs float64: in float32 the finite differences themselves are too inaccurate.
"""),
("code", r"""
def neuron(x, w, b):
    return ((w @ x + b).tanh() - target) ** 2

assert mg.gradcheck(neuron, [x, w, b])
mg.gradcheck(neuron, [x, w, b])
"""),
("md", r"""
It works for any output shape and for every op. For instance a softmax followed by a matrix
product, with broadcasting:
"""),
("code", r"""
mg.manual_seed(0)
A = mg.randn(4, 3, requires_grad=True)
B = mg.randn(3, 2, requires_grad=True)
c = mg.randn(2, requires_grad=True)

assert mg.gradcheck(lambda A, B, c: (A.softmax(axis=1) @ B + c).tanh(), [A, B, c])
"""),
("md", r"""
Notebook 7 writes a new op and shows what `gradcheck` reports when its backward is wrong.
"""),
]

build("01_autograd_basics", cells)
