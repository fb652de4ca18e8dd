from common import build

cells = [
("md", r"""
# 1. Autograd basics

A `Tensor` is a NumPy array that remembers how it was computed. Call `.backward()` on a result
and every input that asked for it (`requires_grad=True`) receives its gradient in `.grad`.

In this notebook:

1. tensors and the graph they record,
2. a small expression differentiated **by hand** and **by the engine**, compared number by number,
3. the picture of the graph (`mg.draw_graph`),
4. `mg.gradcheck`: the engine's gradients against finite differences.
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
"""),
("md", r"""
## One expression, two ways

Take a tiny neuron on three inputs and a squared-activation loss:

$$z_i = w_i x_i + b, \qquad a_i = \tanh(z_i), \qquad L = \frac{1}{n}\sum_i a_i^2 .$$

By the chain rule, going backwards from $L$:

$$\frac{\partial L}{\partial a_i} = \frac{2 a_i}{n}, \qquad
\frac{\partial L}{\partial z_i} = \frac{\partial L}{\partial a_i}\,(1 - a_i^2), \qquad
\frac{\partial L}{\partial w_i} = \frac{\partial L}{\partial z_i}\, x_i, \qquad
\frac{\partial L}{\partial x_i} = \frac{\partial L}{\partial z_i}\, w_i, \qquad
\frac{\partial L}{\partial b} = \sum_i \frac{\partial L}{\partial z_i}.$$

First by hand, in plain NumPy:
"""),
("code", r"""
x_np = np.array([0.5, -1.0, 2.0])
w_np = np.array([0.3, 0.8, -0.5])
b_np = 0.1
n = len(x_np)

# forward
z = w_np * x_np + b_np
a = np.tanh(z)
L = np.mean(a ** 2)

# backward, one line per rule above
dL_da = 2 * a / n
dL_dz = dL_da * (1 - a ** 2)
dL_dw = dL_dz * x_np
dL_dx = dL_dz * w_np
dL_db = dL_dz.sum()

print("L     =", L)
print("dL/dw =", dL_dw)
print("dL/dx =", dL_dx)
print("dL/db =", dL_db)
"""),
("md", r"""
Now the same expression with tensors. We write only the forward pass; `L.backward()` applies the
chain rule for us, op by op, from the loss back to the leaves.
"""),
("code", r"""
x = mg.tensor(x_np, requires_grad=True, name="x")
w = mg.tensor(w_np, requires_grad=True, name="w")
b = mg.tensor(b_np, requires_grad=True, name="b")

loss = ((w * x + b).tanh() ** 2).mean()
loss.name = "L"
mg.retain_all_grads(loss)  # also keep the gradients of intermediate results, for the picture
loss.backward()

print("L     =", loss.item())
for name, t, by_hand in [("w", w, dL_dw), ("x", x, dL_dx), ("b", b, dL_db)]:
    error = np.max(np.abs(t.grad - by_hand))
    print(f"dL/d{name} = {t.grad}   max difference from the hand-derived one: {error:.1e}")
"""),
("md", r"""
The same numbers. Note that `b` is a scalar used by all three elements: the engine
summed its three contributions (the adjoint of broadcasting is a sum), exactly as in the rule
$\partial L/\partial b = \sum_i \partial L/\partial z_i$.

## The graph

Every op recorded its inputs. `mg.draw_graph` draws that record: boxes are tensors (leaves in
blue, the output with a double border), ellipses are ops, dashed boxes are constants. Small
tensors show their values and gradients.
"""),
("code", r"""
mg.draw_graph(loss)
"""),
("md", r"""
Without Graphviz installed, `mg.print_graph` gives the same graph as text (the output on top, the
inputs of each op indented below it):
"""),
("code", r"""
mg.print_graph(loss)
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
f = p ** 2  # df/dp = 2p = 6
f.backward(retain_graph=True)
f.backward()
print("after two backward calls p.grad =", p.grad, "(6 + 6: accumulated)")

g = p ** 2
g.backward()
try:
    g.backward()
except RuntimeError as error:
    print("RuntimeError:", error)
"""),
("md", r"""
Inside `with mg.no_grad():` nothing is recorded, which is what evaluation and optimizer updates
use:
"""),
("code", r"""
with mg.no_grad():
    h = p * 2
print(h, "| requires_grad:", h.requires_grad)
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
def neuron_loss(x, w, b):
    return ((w * x + b).tanh() ** 2).mean()

mg.gradcheck(neuron_loss, [x, w, b])
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

mg.gradcheck(lambda A, B, c: (A.softmax(axis=1) @ B + c).tanh(), [A, B, c])
"""),
("md", r"""
Notebook 7 writes a new op and shows what `gradcheck` reports when its backward is wrong.
"""),
]

build("01_autograd_basics", cells)
