from common import build

cells = [
("md", r"""
# 7. Writing your own op

Every op in microgradnp is an `mg.Function`: a `forward` on NumPy arrays, a `backward` that turns
the gradient of the output into gradients of the inputs (a vector-Jacobian product), and a name
for the graph picture. Adding an op means writing one class. This notebook

1. writes two ops, a numerically stable **softplus** and **swish**,
2. checks them with `mg.gradcheck` (first derivatives) and `mg.gradgradcheck` (second),
3. shows what the checks report when a backward is wrong.
"""),
("code", r"""
import numpy as np

import microgradnp as mg

np.set_printoptions(precision=4)
"""),
("md", r"""
## Softplus, stable

$\mathrm{softplus}(x) = \log(1 + e^x)$ overflows for large $x$ if written that way
(`np.exp(1000)` is `inf`). NumPy's `np.logaddexp(0, x)` computes the same
$\log(e^0 + e^x)$ safely. Its derivative is the sigmoid: $\frac{d}{dx}\mathrm{softplus}(x) = \sigma(x)$.

The contract:

* `forward(ctx, x)` receives **NumPy arrays** and returns an array; `ctx.save_for_backward(...)`
  keeps what backward needs;
* `backward(ctx, grad)` receives `grad` (shaped like the output) and returns the gradient of each
  input; `ctx.saved` gives back what forward saved. One backward serves two kinds of pass: in a
  plain `backward()`, `grad` and the saved values are **NumPy arrays** (fast, nothing recorded);
  with `create_graph=True` (second derivatives) they are **Tensors** and every operation is
  recorded. So write backward with operators and NumPy functions, which work on both
  (`np.tanh(t)` on a Tensor is the engine's `tanh`). Here
  $\sigma(x) = \frac{1}{2}(1 + \tanh\frac{x}{2})$, a form that never overflows.
"""),
("code", r"""
class StableSoftplus(mg.Function):
    name = "softplus (mine)"  # shown in graph pictures

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.logaddexp(0.0, x)  # log(1 + e^x) without overflow

    @staticmethod
    def backward(ctx, grad):  # d softplus(x) = sigmoid(x) dx
        (x,) = ctx.saved
        return grad * 0.5 * (1.0 + np.tanh(0.5 * x))


def softplus(x):
    return StableSoftplus.apply(x)


x = mg.tensor([-1000.0, -2.0, 0.0, 2.0, 1000.0], requires_grad=True)
y = softplus(x)
y.sum().backward()
print("softplus(x) =", y.data)
print("gradient    =", x.grad, "(= sigmoid(x))")
assert np.isfinite(y.data).all() and y.data[-1] == 1000.0
assert np.allclose(x.grad, 1 / (1 + np.exp(-np.clip(x.data, -50, 50))))
"""),
("md", r"""
No overflow at $\pm 1000$. Now the checks. `gradcheck` compares backward with central finite
differences element by element; `gradgradcheck` does the same for the derivative of the
gradient (it differentiates `backward` itself, with `create_graph=True`). Both need float64
inputs.
"""),
("code", r"""
rng = np.random.default_rng(0)
t = mg.tensor(rng.normal(scale=3.0, size=6), requires_grad=True)  # values on both sides of 0

print("gradcheck:    ", mg.gradcheck(softplus, [t]))
print("gradgradcheck:", mg.gradgradcheck(softplus, [t]))
print("matches the built-in Tensor.softplus:", np.allclose(softplus(t).data, t.softplus().data))
assert mg.gradcheck(softplus, [t]) and mg.gradgradcheck(softplus, [t])
assert np.allclose(softplus(t).data, t.softplus().data)
"""),
("md", r"""
## Swish

$\mathrm{swish}(x) = x\,\sigma(x)$ (also called SiLU). By the product rule its derivative is
$\sigma(x) + x\,\sigma(x)\,(1 - \sigma(x))$. We save the input and recompute $\sigma$ in backward.
A `formula` attribute (the local derivative, in the names `x` and `out`) is what
`mg.backprop_steps` shows for this op; it is optional.
"""),
("code", r"""
def sigmoid(x):  # works on NumPy arrays and on Tensors alike
    return 0.5 * (1.0 + np.tanh(0.5 * x))


class Swish(mg.Function):
    formula = ("σ(x) + x σ(x) (1 - σ(x))",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * (0.5 * (1.0 + np.tanh(0.5 * x)))  # sigmoid(x) = (1 + tanh(x/2)) / 2: stable

    @staticmethod
    def backward(ctx, grad):  # d swish(x) = (s + x s (1 - s)) dx with s = sigmoid(x)
        (x,) = ctx.saved
        s = sigmoid(x)
        return grad * (s + x * s * (1 - s))


a = mg.tensor(np.linspace(-4, 4, 9), requires_grad=True)
print("gradcheck:    ", mg.gradcheck(Swish.apply, [a]))
print("gradgradcheck:", mg.gradgradcheck(Swish.apply, [a]))
assert mg.gradcheck(Swish.apply, [a]) and mg.gradgradcheck(Swish.apply, [a])
"""),
("md", r"""
A custom op is a node like any other in the graph picture (the class's name, or its `name`
attribute):
"""),
("code", r"""
b = mg.tensor([0.5, -1.0], requires_grad=True, name="b")
out = (softplus(b) + Swish.apply(b)).sum()
out.backward()
mg.draw_graph(out)
"""),
("md", r"""
and a step of the backward pass like any other (its `formula` with the names filled in):
"""),
("code", r"""
c = mg.tensor(0.5, requires_grad=True, name="c")
(step,) = mg.backprop_steps(Swish.apply(c))
print(step)
assert step.formulas == ("σ(c) + c σ(c) (1 - σ(c))",)
"""),
("md", r"""
## When backward is wrong

A classic slip: differentiating swish as if $x$ were a constant, forgetting the product rule
term $x\,\sigma(x)(1 - \sigma(x))$. The forward is still right, so nothing looks wrong until the
model trains badly. `gradcheck` catches it and its report names the input, the worst element, and
the analytic vs numerical values:
"""),
("code", r"""
class WrongSwish(Swish):
    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved
        return grad * sigmoid(x)  # forgot the x s (1 - s) term


try:
    mg.gradcheck(WrongSwish.apply, [a])
except mg.GradcheckError as error:
    print(error.report)
else:
    raise AssertionError("expected gradcheck to catch the wrong backward")
"""),
("md", r"""
A subtler slip: a backward that takes the raw NumPy values out of the Tensors it is given
(`x.data`) to compute with. Its values are right, so `gradcheck` passes; but under
`create_graph=True` a NumPy array carries no graph, so that part of the gradient is a constant to
the engine, and second derivatives (Hessian-vector products, gradient penalties) silently come out
wrong. `gradgradcheck` catches that:
"""),
("code", r"""
def raw(v):  # the NumPy array inside a Tensor: no graph
    return v.data if isinstance(v, mg.Tensor) else v


class NumpySwish(Swish):
    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved
        x = raw(x)  # right values, but x's graph is gone
        s = sigmoid(x)
        return grad * (s + x * s * (1 - s))


print("gradcheck:", mg.gradcheck(NumpySwish.apply, [a]))
assert mg.gradcheck(NumpySwish.apply, [a])
try:
    mg.gradgradcheck(NumpySwish.apply, [a])
except mg.GradcheckError as error:
    print(error.report)
else:
    raise AssertionError("expected gradgradcheck to catch the lost second derivative")
"""),
("md", r"""
With `raise_exception=False` both checks return `False` instead of raising, handy in a loop over
many ops. The failure is also available as data, e.g. for a test that wants the worst error:
"""),
("code", r"""
try:
    mg.gradcheck(WrongSwish.apply, [a])
except mg.GradcheckError as error:
    worst = error.failures[0]
    print({k: worst[k] for k in ("input", "input_index", "analytic", "numerical", "max_abs_error")})
else:
    raise AssertionError("expected gradcheck to catch the wrong backward")

print("raise_exception=False ->", mg.gradcheck(WrongSwish.apply, [a], raise_exception=False))
assert mg.gradcheck(WrongSwish.apply, [a], raise_exception=False) is False
"""),
("md", r"""
## Testing your op with pytest

`microgradnp.testing` turns the checks into assertions for your own test files:
`assert_gradcheck` and `assert_gradgradcheck` raise an `AssertionError` that carries gradcheck's
report (so pytest shows it at your line), and `tensors()` is a hypothesis strategy for float64
tensors of random shapes. In a file `test_cube.py`, `pytest` finds the three functions below by
their names; here we call them.
"""),
("code", r"""
import pytest
from hypothesis import given, settings

from microgradnp.testing import assert_gradcheck, assert_gradgradcheck, tensors


class Cube(mg.Function):  # x³: forward in NumPy, backward as a vector-Jacobian product
    formula = ("3 x²",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad):  # d x^3 = 3 x^2 dx (arrays in a plain backward, Tensors otherwise)
        (x,) = ctx.saved
        return grad * 3 * x * x


class WrongCube(Cube):
    @staticmethod
    def backward(ctx, grad):  # forgot the 3
        (x,) = ctx.saved
        return grad * x * x


def test_cube_first_and_second_derivatives():
    x = mg.tensor(np.linspace(-2, 2, 7), requires_grad=True)
    assert_gradcheck(Cube.apply, [x])
    assert_gradgradcheck(Cube.apply, [x])


@settings(max_examples=20, deadline=None)
@given(x=tensors())  # float64 tensors of 0 to 3 axes, values in [-3, 3]
def test_cube_on_random_shapes(x):
    np.testing.assert_allclose(Cube.apply(x).data, x.data**3)
    assert_gradcheck(Cube.apply, [x])


def test_a_wrong_backward_fails_with_gradchecks_report():
    x = mg.tensor(np.linspace(-2, 2, 7), requires_grad=True)
    with pytest.raises(AssertionError, match="input 0"):
        assert_gradcheck(WrongCube.apply, [x])


test_cube_first_and_second_derivatives()
test_cube_on_random_shapes()
test_a_wrong_backward_fails_with_gradchecks_report()
print("all three tests pass")
"""),
]

build("07_custom_ops", cells)
