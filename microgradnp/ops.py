"""Every op of the engine: forward in NumPy, backward as a vector-Jacobian product, side by side.

Vocabulary, everywhere below: `x`, `y` are the inputs, `out` the forward result, `grad` the
incoming gradient dL/d(out); backward returns dL/dx (and dL/dy). `formula` is the local
derivative d(out)/d(input), one per input, as the step-through page shows it.

One backward formula serves both passes: in a plain backward, `grad` and `ctx.saved` are bare
ndarrays; with create_graph=True they are Tensors and the same lines are recorded. So formulas
use operators, `.sum/.reshape/.transpose`, indexing, NumPy ufuncs (`np.exp(t)` on a Tensor is
the engine's Exp) and the `call` helper for the engine's own ops. Masks (relu, abs, max) are
plain ndarrays: their derivative is zero almost everywhere. Gradients may come back in the
broadcast shape: the engine's `unbroadcast` sums them down to each input's shape.

How to add an op:
  1. a `Function` subclass here, under its banner: forward, backward, `formula`, and the math
     as a comment on the backward line;
  2. its method on `Tensor` (tensor.py), and a free function at the bottom of this file if
     NumPy has one (`mg.exp`), and its NumPy function in `UFUNCS` (np.exp) or `FUNCTIONS`
     (np.prod) so that NumPy-style code reaches it (the README's list follows these tables);
  3. one row in the op table of tests/test_ops.py (a test fails while an op has no row).
A primitive is here because it needs its own derivative for speed or stability; composites
(min, var, set_item) are a line of math over primitives; `mean` is a primitive only so that a
loss's `.mean()` is one node, not two.
"""

import inspect
import math

import numpy as np

from .function import Function, _NullContext
from .tensor import Tensor, _axis, _data


def call(fn, *args, **kwargs):
    """`fn` on Tensors records the op; on bare arrays (a plain backward) it is just the forward.
    For backward formulas that use another op: `call(Sigmoid, x)` works in both passes."""
    for a in args:
        if isinstance(a, Tensor):
            return fn.apply(*args, **kwargs)
    return fn.forward(_NullContext(), *args, **kwargs)


# ============================================================================ binary ops


class Add(Function):
    formula = ("1", "1")

    @staticmethod
    def forward(ctx, x, y):
        return x + y

    @staticmethod
    def backward(ctx, grad):  # d(x + y) = dx + dy
        return grad, grad


class Sub(Function):
    formula = ("1", "-1")

    @staticmethod
    def forward(ctx, x, y):
        return x - y

    @staticmethod
    def backward(ctx, grad):  # d(x - y) = dx - dy
        return grad, -grad if ctx.needs_input_grad[1] else None


class Mul(Function):
    formula = ("y", "x")

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, grad):  # d(xy) = y dx + x dy
        x, y = ctx.saved
        need_x, need_y = ctx.needs_input_grad
        return grad * y if need_x else None, grad * x if need_y else None


class Div(Function):
    formula = ("1 / y", "-x / y²")

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x / y

    @staticmethod
    def backward(ctx, grad):  # d(x/y) = dx / y - x dy / y^2
        x, y = ctx.saved
        need_x, need_y = ctx.needs_input_grad
        return (grad / y if need_x else None,
                -grad * x / (y * y) if need_y else None)


class Pow(Function):
    formula = ("y · x^(y-1)", "out · log(x)")

    @staticmethod
    def forward(ctx, x, y):
        out = np.power(x, y)
        ctx.save_for_backward(x, y, out)
        return out

    @staticmethod
    def backward(ctx, grad):  # d(x^y) = y x^(y-1) dx + x^y log(x) dy
        x, y, out = ctx.saved
        need_x, need_y = ctx.needs_input_grad
        gx = gy = None
        if need_x:  # at x = y = 0 the slope is 0 (not 0 * 0^-1 = NaN): base 1 there only
            both_zero = (_data(x) == 0) & (_data(y) == 0)
            base = _where(both_zero, 1.0, x) if np.any(both_zero) else x
            gx = grad * y * base ** (y - 1)
        if need_y:  # where x == 0 the slope is 0 (PyTorch's choice), not 0 * log(0) = NaN
            gy = grad * out * np.log(_where(_data(x) == 0, 1.0, x))
        return gx, gy


class MatMul(Function):
    """`x @ y` exactly like np.matmul: 1-D operands are promoted to a row / column, then dropped."""

    formula = ("grad @ yᵀ", "xᵀ @ grad")

    @staticmethod
    def forward(ctx, x, y):
        x, y = np.asarray(x), np.asarray(y)
        if x.ndim == 0 or y.ndim == 0:
            raise ValueError(f"matmul: operands must be at least 1-D, got shapes {x.shape} and "
                             f"{y.shape} (use * for scalars)")
        kx, ky = x.shape[-1], y.shape[-2 if y.ndim > 1 else 0]
        if kx != ky:
            raise ValueError(f"matmul: shapes {x.shape} and {y.shape} do not align "
                             f"({kx} != {ky})")
        ctx.save_for_backward(x, y)
        return np.matmul(x, y)

    @staticmethod
    def backward(ctx, grad):  # d(xy) = dx y + x dy  ->  gx = grad y^T, gy = x^T grad
        x, y = ctx.saved
        need_x, need_y = ctx.needs_input_grad
        if x.ndim == 2 and y.ndim == 2:  # the common case, without the reshapes below
            return grad @ y.T if need_x else None, x.T @ grad if need_y else None
        x2 = x.reshape(1, -1) if x.ndim == 1 else x
        y2 = y.reshape(-1, 1) if y.ndim == 1 else y
        if x.ndim == 1:
            grad = grad.reshape(grad.shape[:-1] + (1,) + grad.shape[-1:])
        if y.ndim == 1:
            grad = grad.reshape(grad.shape + (1,))
        gx = gy = None
        if need_x:
            gx = grad @ y2.swapaxes(-1, -2)
            gx = gx.reshape(gx.shape[:-2] + gx.shape[-1:]) if x.ndim == 1 else gx
        if need_y:
            gy = x2.swapaxes(-1, -2) @ grad
            gy = gy.reshape(gy.shape[:-1]) if y.ndim == 1 else gy
        return gx, gy


class Where(Function):
    """`where(condition, x, y)`: x where condition holds, else y (condition is a constant)."""

    formula = (None, "[condition]", "[not condition]")

    @staticmethod
    def forward(ctx, condition, x, y):
        ctx.condition = condition = np.asarray(condition, dtype=bool)
        return np.where(condition, x, y)

    @staticmethod
    def backward(ctx, grad):  # the gradient goes to whichever input was chosen
        c = ctx.condition
        need_x, need_y = ctx.needs_input_grad[1:]
        return None, grad * c if need_x else None, grad * ~c if need_y else None


def _where(condition, x, y):
    return call(Where, condition, x, y)


def _share(win, tie, dtype):
    """The part of the gradient an input of maximum/minimum gets: 1 where it won, ½ on a tie."""
    return (win + 0.5 * tie).astype(dtype)


class Maximum(Function):
    formula = ("[x > y] + ½ [x == y]", "[y > x] + ½ [x == y]")

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return np.maximum(x, y)

    @staticmethod
    def backward(ctx, grad):  # the gradient goes to the larger input; a tie splits it evenly
        x, y = _data(ctx.saved[0]), _data(ctx.saved[1])
        need_x, need_y = ctx.needs_input_grad
        tie, dtype = x == y, _data(grad).dtype
        return (grad * _share(x > y, tie, dtype) if need_x else None,
                grad * _share(y > x, tie, dtype) if need_y else None)


class Minimum(Function):
    formula = ("[x < y] + ½ [x == y]", "[y < x] + ½ [x == y]")

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return np.minimum(x, y)

    @staticmethod
    def backward(ctx, grad):  # the gradient goes to the smaller input; a tie splits it evenly
        x, y = _data(ctx.saved[0]), _data(ctx.saved[1])
        need_x, need_y = ctx.needs_input_grad
        tie, dtype = x == y, _data(grad).dtype
        return (grad * _share(x < y, tie, dtype) if need_x else None,
                grad * _share(y < x, tie, dtype) if need_y else None)


class LogAddExp(Function):
    name = "logaddexp"
    formula = ("exp(x - out)", "exp(y - out)")

    @staticmethod
    def forward(ctx, x, y):
        out = np.logaddexp(x, y)  # log(e^x + e^y), stably
        ctx.save_for_backward(x, y, out)
        return out

    @staticmethod
    def backward(ctx, grad):  # d log(e^x + e^y) = (e^x dx + e^y dy) / (e^x + e^y)
        x, y, out = ctx.saved
        need_x, need_y = ctx.needs_input_grad
        return (grad * np.exp(x - out) if need_x else None,
                grad * np.exp(y - out) if need_y else None)


# ============================================================================ unary ops


class Neg(Function):
    formula = ("-1",)

    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, grad):  # d(-x) = -dx
        return -grad


class Exp(Function):
    formula = ("out",)

    @staticmethod
    def forward(ctx, x):
        out = np.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):  # d exp(x) = exp(x) dx
        (out,) = ctx.saved
        return grad * out


class Log(Function):
    formula = ("1 / x",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, grad):  # d log(x) = dx / x
        (x,) = ctx.saved
        return grad / x


class Sqrt(Function):
    formula = ("1 / (2 out)",)

    @staticmethod
    def forward(ctx, x):
        out = np.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):  # d sqrt(x) = dx / (2 sqrt(x))
        (out,) = ctx.saved
        return grad / (out * 2)


class Abs(Function):
    formula = ("sign(x)",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, grad):  # d|x| = sign(x) dx  (0 at the kink, as in PyTorch)
        (x,) = ctx.saved
        return grad * np.sign(_data(x))


class Tanh(Function):
    formula = ("1 - out²",)

    @staticmethod
    def forward(ctx, x):
        out = np.tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):  # d tanh(x) = (1 - tanh(x)^2) dx
        (out,) = ctx.saved
        return grad * (1 - out * out)


def _stable_sigmoid(x):
    """1 / (1 + e^-x) without overflow: e^-|x| <= 1, and sigmoid(-50) keeps all its digits."""
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))


class Sigmoid(Function):
    formula = ("out (1 - out)",)

    @staticmethod
    def forward(ctx, x):
        out = _stable_sigmoid(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):  # d sigmoid(x) = sigmoid(x) (1 - sigmoid(x)) dx
        (out,) = ctx.saved
        return grad * out * (1 - out)


class Relu(Function):
    formula = ("[x > 0]",)

    @staticmethod
    def forward(ctx, x):
        out = np.maximum(x, 0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):  # d relu(x) = [x > 0] dx
        (out,) = ctx.saved
        return grad * (_data(out) > 0)


class LeakyRelu(Function):
    name = "leaky_relu"
    formula = ("1 if x > 0 else negative_slope",)

    @staticmethod
    def forward(ctx, x, negative_slope=0.01):
        ctx.save_for_backward(x)
        return np.where(x > 0, x, x * negative_slope)

    @staticmethod
    def backward(ctx, grad):  # slope 1 for x > 0, negative_slope otherwise
        (x,) = ctx.saved
        slope = np.where(_data(x) > 0, 1.0, ctx.kwargs.get("negative_slope", 0.01))
        return grad * slope.astype(x.dtype)


class Softplus(Function):
    formula = ("sigmoid(x)",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))  # log(1 + e^x), stably

    @staticmethod
    def backward(ctx, grad):  # d softplus(x) = sigmoid(x) dx
        (x,) = ctx.saved
        return grad * call(Sigmoid, x)


class Clip(Function):
    formula = ("[lo <= x <= hi]",)

    @staticmethod
    def forward(ctx, x, lo=None, hi=None):
        ctx.save_for_backward(x)
        return np.clip(x, lo, hi)

    @staticmethod
    def backward(ctx, grad):  # gradient passes where x is inside [lo, hi]
        (x,) = ctx.saved
        x, lo, hi = _data(x), ctx.kwargs.get("lo"), ctx.kwargs.get("hi")
        inside = np.ones(x.shape, dtype=bool)
        if lo is not None:
            inside &= x >= lo
        if hi is not None:
            inside &= x <= hi
        return grad * inside


class Sin(Function):
    formula = ("cos(x)",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, grad):  # d sin(x) = cos(x) dx
        (x,) = ctx.saved
        return grad * np.cos(x)


class Cos(Function):
    formula = ("-sin(x)",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.cos(x)

    @staticmethod
    def backward(ctx, grad):  # d cos(x) = -sin(x) dx
        (x,) = ctx.saved
        return -grad * np.sin(x)


class Tan(Function):
    formula = ("1 + out²",)

    @staticmethod
    def forward(ctx, x):
        out = np.tan(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):  # d tan(x) = (1 + tan(x)^2) dx
        (out,) = ctx.saved
        return grad * (1 + out * out)


class Arctan(Function):
    formula = ("1 / (1 + x²)",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.arctan(x)

    @staticmethod
    def backward(ctx, grad):  # d arctan(x) = dx / (1 + x^2)
        (x,) = ctx.saved
        return grad / (1 + x * x)


class Sinh(Function):
    formula = ("cosh(x)",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sinh(x)

    @staticmethod
    def backward(ctx, grad):  # d sinh(x) = cosh(x) dx
        (x,) = ctx.saved
        return grad * np.cosh(x)


class Cosh(Function):
    formula = ("sinh(x)",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.cosh(x)

    @staticmethod
    def backward(ctx, grad):  # d cosh(x) = sinh(x) dx
        (x,) = ctx.saved
        return grad * np.sinh(x)


class Log1p(Function):
    formula = ("1 / (1 + x)",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log1p(x)  # log(1 + x), exact for tiny x

    @staticmethod
    def backward(ctx, grad):  # d log(1 + x) = dx / (1 + x)
        (x,) = ctx.saved
        return grad / (1 + x)


class Expm1(Function):
    formula = ("out + 1",)

    @staticmethod
    def forward(ctx, x):
        out = np.expm1(x)  # e^x - 1, exact for tiny x
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):  # d (e^x - 1) = e^x dx = (out + 1) dx
        (out,) = ctx.saved
        return grad * (out + 1)


_LN2, _LN10 = float(np.log(2.0)), float(np.log(10.0))  # Python floats keep float32 float32


class Log2(Function):
    formula = ("1 / (x ln 2)",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log2(x)

    @staticmethod
    def backward(ctx, grad):  # d log2(x) = dx / (x ln 2)
        (x,) = ctx.saved
        return grad / (x * _LN2)


class Log10(Function):
    formula = ("1 / (x ln 10)",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log10(x)

    @staticmethod
    def backward(ctx, grad):  # d log10(x) = dx / (x ln 10)
        (x,) = ctx.saved
        return grad / (x * _LN10)


class Reciprocal(Function):
    formula = ("-out²",)

    @staticmethod
    def forward(ctx, x):
        out = np.reciprocal(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):  # d (1/x) = -dx / x^2 = -out^2 dx
        (out,) = ctx.saved
        return -grad * out * out


class Square(Function):
    formula = ("2 x",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.square(x)

    @staticmethod
    def backward(ctx, grad):  # d x^2 = 2 x dx
        (x,) = ctx.saved
        return grad * (2 * x)


class Sign(Function):
    formula = ("0",)

    @staticmethod
    def forward(ctx, x):
        return np.sign(x)

    @staticmethod
    def backward(ctx, grad):  # a step function: flat everywhere but at 0 (0 there, as in PyTorch)
        return grad * 0


# ============================================================================ reductions


def _keepdims_shape(shape, axis):
    """The shape a reduction over `axis` has with keepdims=True."""
    if axis is None:
        return (1,) * len(shape)
    axes = (axis,) if isinstance(axis, int) else axis
    axes = {a % len(shape) for a in axes} if shape else set()
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _expand(grad, shape, axis):
    """Undo a reduction: reshape grad to keepdims form, broadcast to `shape` (a reduction over
    every axis broadcasts as it is, 0-d or all ones)."""
    if axis is not None:
        grad = grad.reshape(_keepdims_shape(shape, axis))
    if type(grad) is np.ndarray:  # a plain backward: BroadcastTo's forward, two calls fewer
        return _broadcast_copy(grad, shape)
    return call(BroadcastTo, grad, shape=shape)


class Sum(Function):
    formula = ("1",)

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.in_shape = x.shape
        return np.add.reduce(x, axis=axis, keepdims=keepdims)  # x.sum(), minus a Python layer

    @staticmethod
    def backward(ctx, grad):  # every summand gets the gradient of the sum
        return _expand(grad, ctx.in_shape, ctx.kwargs.get("axis"))


def _broadcast_copy(x, shape):
    """x broadcast to `shape`, as a new array: a copy, not np.broadcast_to's read-only view
    (several times faster for small arrays, and writable)."""
    out = np.empty(shape, dtype=x.dtype)
    out[...] = x
    return out


class BroadcastTo(Function):
    name = "broadcast_to"
    formula = ("1",)

    @staticmethod
    def forward(ctx, x, shape):
        x = np.asarray(x)
        if x.ndim > len(shape):
            raise ValueError(f"cannot broadcast shape {x.shape} to fewer dimensions {shape}")
        return _broadcast_copy(x, shape)

    @staticmethod
    def backward(ctx, grad):  # the adjoint of broadcast is sum: the engine's unbroadcast does it
        return grad


class Max(Function):
    formula = ("[x == out] / ties",)

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        out = x.max(axis=axis, keepdims=keepdims)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):  # the gradient goes to the maximum; ties split it evenly
        x, out = ctx.saved
        axis = ctx.kwargs.get("axis")
        mask = _data(x) == _data(out).reshape(_keepdims_shape(x.shape, axis))
        share = mask / mask.sum(axis=axis, keepdims=True)
        return _expand(grad, x.shape, axis) * share.astype(x.dtype)


class LogSumExp(Function):
    formula = ("exp(x - out)",)

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        m = np.max(x, axis=axis, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)  # all -inf rows: log(0) = -inf, not NaN
        out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
        if not keepdims:
            out = out.reshape(np.shape(np.sum(x, axis=axis)))
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):  # d logsumexp(x) = softmax(x) dx = exp(x - out) dx
        x, out = ctx.saved
        axis = ctx.kwargs.get("axis")
        out = out.reshape(_keepdims_shape(x.shape, axis))
        return _expand(grad, x.shape, axis) * np.exp(x - out)


class Softmax(Function):
    formula = ("out (grad - Σ(grad out))",)

    @staticmethod
    def forward(ctx, x, axis=-1):  # ufunc reductions: x.max(), x.sum() minus a Python layer
        e = np.exp(x - np.maximum.reduce(x, axis=axis, keepdims=True))
        out = e / np.add.reduce(e, axis=axis, keepdims=True)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):  # J = diag(s) - s s^T, so J^T g = s * (g - <g, s>)
        (out,) = ctx.saved
        axis = ctx.kwargs.get("axis", -1)
        return out * (grad - np.add.reduce(grad * out, axis=axis, keepdims=True))


class LogSoftmax(Function):
    name = "log_softmax"
    formula = ("grad - exp(out) Σ grad",)

    @staticmethod
    def forward(ctx, x, axis=-1):
        shifted = x - np.maximum.reduce(x, axis=axis, keepdims=True)
        out = shifted - np.log(np.add.reduce(np.exp(shifted), axis=axis, keepdims=True))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):  # d log_softmax(x) = dx - softmax(x) <1, dx>
        (out,) = ctx.saved
        axis = ctx.kwargs.get("axis", -1)
        return grad - np.exp(out) * np.add.reduce(grad, axis=axis, keepdims=True)


class Prod(Function):
    formula = ("out / x (the product of the others)",)

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        out = np.prod(x, axis=axis, keepdims=keepdims)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):  # d prod(x) / dx_i = the product of the other x_j
        x, out = ctx.saved
        axis = ctx.kwargs.get("axis")
        out = out.reshape(_keepdims_shape(x.shape, axis))
        zero = _data(x) == 0
        others = out / x if not zero.any() else _product_of_others(x, out, zero, axis)
        return _expand(grad, x.shape, axis) * others


def _product_of_others(x, out, zero, axis):
    """prod_{j != i} x_j along `axis` when some x are 0, without dividing by 0 and right to second
    order: out / x_i where x_i != 0 (0 in value, not in slope). At a zero: the product of the
    nonzero x times the other zeros: with one zero that product; with two, times the other zero
    (0, but its slope is the product); with more, 0."""
    nonzero_product = call(Prod, _where(zero, 1.0, x), axis=axis, keepdims=True)
    count = zero.sum(axis=axis, keepdims=True)
    other_zero = call(Sum, _where(zero, x, 0.0), axis=axis, keepdims=True) - x
    at_zero = nonzero_product * _where(count == 1, 1.0, _where(count == 2, other_zero, 0.0))
    return _where(zero, at_zero, out / _where(zero, 1.0, x))


class Cumsum(Function):
    formula = ("1 for each later position",)

    @staticmethod
    def forward(ctx, x, axis=None):
        ctx.in_shape = x.shape
        return np.cumsum(x, axis=axis)  # axis=None: of the flattened array

    @staticmethod
    def backward(ctx, grad):  # out_k = sum_{i<=k} x_i, so dx_i = sum_{k>=i} grad_k (reversed)
        axis = ctx.kwargs.get("axis")
        axis = 0 if axis is None else axis
        reverse = call(Flip, call(Cumsum, call(Flip, grad, axis=axis), axis=axis), axis=axis)
        return reverse.reshape(ctx.in_shape)


class Norm(Function):
    formula = ("x / out (0 where out = 0)",)

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        out = np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims))  # the 2-norm
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):  # d |x| = <x, dx> / |x|; at x = 0 the subgradient 0 (finite)
        x, out = ctx.saved
        axis = ctx.kwargs.get("axis")
        out = out.reshape(_keepdims_shape(x.shape, axis))
        return _expand(grad, x.shape, axis) * x / _where(_data(out) == 0, 1.0, out)


class Argmax(Function):
    """The index of the largest element: integers, so the result carries no gradient."""

    formula = (None,)

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        return np.argmax(x, axis=axis, keepdims=keepdims)


class Argmin(Function):
    """The index of the smallest element: integers, so the result carries no gradient."""

    formula = (None,)

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        return np.argmin(x, axis=axis, keepdims=keepdims)


class Mean(Function):
    """The sum divided by the number of summed elements N, in one node (not a sum and a
    division: a loss's `.mean()` is one op of the graph, as it is one in NumPy)."""

    formula = ("1 / N",)

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        total = np.add.reduce(x, axis=axis, keepdims=keepdims)  # first: names a bad axis
        ctx.in_shape = x.shape
        ctx.n = _count(x.shape, axis)
        return total / ctx.n  # np.mean's arithmetic: the sum, then one division

    @staticmethod
    def backward(ctx, grad):  # every element gets 1/N of the gradient of the mean
        return _expand(grad / ctx.n, ctx.in_shape, ctx.kwargs.get("axis"))


def mean(x, axis=None, keepdims=False):
    """Sum divided by the number of summed elements."""
    return _reduce(Mean, x, axis, keepdims)


def _reduce(fn, x, axis, keepdims):
    """`fn.apply(x, axis=axis, keepdims=keepdims)`, without keyword arguments for the usual
    whole-array reduction (`loss.sum()`, `.mean()`): apply's path without them is shorter, and
    the node keeps no dict of them."""
    if axis is None and not keepdims:
        return fn.apply(x)
    return fn.apply(x, axis=axis, keepdims=keepdims)


def minimum_reduce(x, axis=None, keepdims=False):
    """min(x) = -max(-x) (ties split the gradient, as in max)."""
    try:
        return -((-x).max(axis=axis, keepdims=keepdims))
    except ValueError as e:
        raise ValueError(str(e).replace("max:", "min:", 1)) from None


def var(x, axis=None, ddof=0, keepdims=False):
    """The variance as np.var: sum((x - mean(x))²) / (n - ddof) over `axis`."""
    x = _tensor(x)
    d = x - x.mean(axis=axis, keepdims=True)
    return (d * d).sum(axis=axis, keepdims=keepdims) / (_count(x.shape, axis) - ddof)


def std(x, axis=None, ddof=0, keepdims=False):
    """The standard deviation as np.std: sqrt(var(x))."""
    return Sqrt.apply(var(x, axis=axis, ddof=ddof, keepdims=keepdims))


def _axes(axis):
    return (axis,) if isinstance(axis, int) else tuple(axis)


def _count(shape, axis):
    """How many elements a reduction over `axis` combines into each result."""
    return math.prod(shape) if axis is None else math.prod(shape[a] for a in _axes(axis))


# ============================================================================ movement ops


class Reshape(Function):
    formula = ("1 (reshaped back)",)

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise ValueError(f"cannot reshape shape {ctx.in_shape} ({np.size(x)} elements) "
                             f"into {tuple(shape)}") from None

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.in_shape)


class Transpose(Function):
    formula = ("1 (transposed back)",)

    @staticmethod
    def forward(ctx, x, axes=None):
        return x.transpose(axes)

    @staticmethod
    def backward(ctx, grad):  # transpose back with the inverse permutation
        axes = ctx.kwargs.get("axes")
        if axes is None:
            return grad.transpose()
        return grad.transpose(tuple(np.argsort([a % grad.ndim for a in axes])))


def _is_basic(index):
    """Basic indexing (ints, slices, None, ...) never repeats an element: no scatter-add needed."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis
               for i in parts)


def _own(index):
    """A private copy of the arrays and lists in an index: the caller may change theirs later."""
    if isinstance(index, tuple):
        return tuple(_own(i) for i in index)
    return np.array(index) if isinstance(index, (np.ndarray, list)) else index


class GetItem(Function):
    name = "getitem"
    formula = ("1 at the indexed places",)

    @staticmethod
    def forward(ctx, x, index):
        ctx.in_shape, ctx.index = x.shape, _own(index)
        return x[index]

    @staticmethod
    def backward(ctx, grad):  # scatter the gradient back; repeated indices accumulate
        return call(IndexAdd, grad, shape=ctx.in_shape, index=ctx.index)


class IndexAdd(Function):
    """zeros(shape) with `grad` added at `index` (np.add.at): the adjoint of indexing."""

    name = "index_add"
    formula = ("1 (gathered back)",)

    @staticmethod
    def forward(ctx, grad, shape, index):
        ctx.index = index
        out = np.zeros(shape, dtype=grad.dtype)
        if _is_basic(index):
            out[index] = grad
        else:
            np.add.at(out, index, grad)
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad[ctx.index]


class Concatenate(Function):
    formula = ("1 (its slice)",)

    @staticmethod
    def forward(ctx, *xs, axis=0):
        out = np.concatenate(xs, axis=axis)  # first: it names a bad axis or shape clearly
        ctx.sizes = [np.shape(x)[axis] for x in xs]
        return out

    @staticmethod
    def backward(ctx, grad):  # each input gets its slice back
        bounds = np.cumsum([0] + ctx.sizes)
        axis = ctx.kwargs.get("axis", 0) % grad.ndim
        lead = (slice(None),) * axis
        return tuple(grad[lead + (slice(a, b),)] for a, b in zip(bounds[:-1], bounds[1:]))


class Stack(Function):
    formula = ("1 (its slice)",)

    @staticmethod
    def forward(ctx, *xs, axis=0):
        return np.stack(xs, axis=axis)

    @staticmethod
    def backward(ctx, grad):  # input i is the i-th slice along the new axis
        axis = ctx.kwargs.get("axis", 0) % grad.ndim
        lead = (slice(None),) * axis
        return tuple(grad[lead + (i,)] for i in range(grad.shape[axis]))


class Flip(Function):
    formula = ("1 (flipped back)",)

    @staticmethod
    def forward(ctx, x, axis=None):
        return np.flip(x, axis)

    @staticmethod
    def backward(ctx, grad):  # a flip is its own inverse
        return call(Flip, grad, axis=ctx.kwargs.get("axis"))


class Pad(Function):
    formula = ("1 inside, 0 on the padding",)

    @staticmethod
    def forward(ctx, x, pad_width, constant_values=0):
        widths = np.broadcast_to(np.asarray(pad_width), (np.ndim(x), 2))
        if widths.dtype.kind not in "iu" or (widths < 0).any():
            raise ValueError(f"pad: pad_width must be non-negative integers, got {pad_width!r}")
        ctx.inside = tuple(slice(int(b), int(b) + n) for (b, _), n in zip(widths, np.shape(x)))
        return np.pad(x, pad_width, constant_values=constant_values)

    @staticmethod
    def backward(ctx, grad):  # the padding is constant: the gradient is the inner part
        return grad[ctx.inside]


class AsType(Function):
    name = "astype"
    formula = ("1 (cast back)",)

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.in_dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad):  # the identity, in the input's dtype
        return grad.astype(ctx.in_dtype)


def _einsum_parts(subscripts, n_operands):
    """'ij,jk->ik' -> (['ij', 'jk'], 'ik'), with the cases the gradient cannot take refused."""
    spec = subscripts.replace(" ", "")
    if "->" not in spec or "." in spec:
        raise ValueError(f"einsum: needs explicit subscripts without '...', such as 'ij,jk->ik'; "
                         f"got {subscripts!r}")
    inputs, out = spec.split("->")
    inputs = inputs.split(",")
    if len(inputs) != n_operands:
        raise ValueError(f"einsum: {subscripts!r} names {len(inputs)} operands, "
                         f"got {n_operands}")
    for k, s in enumerate(inputs):
        if len(set(s)) != len(s):
            raise ValueError(f"einsum: an index repeated within operand {k} ({s!r} in "
                             f"{subscripts!r}) is a diagonal: take it with diagonal() first")
    return inputs, out


class Einsum(Function):
    formula = ("grad contracted with the other operands",)

    @staticmethod
    def forward(ctx, *operands, subscripts):
        _einsum_parts(subscripts, len(operands))
        ctx.save_for_backward(*operands)
        return np.einsum(subscripts, *operands, optimize=len(operands) > 2)

    @staticmethod
    def backward(ctx, grad):  # out is linear in each x_i: dx_i = grad contracted with the others
        xs = ctx.saved
        inputs, out = _einsum_parts(ctx.kwargs["subscripts"], len(xs))
        grads = []
        for i, need in enumerate(ctx.needs_input_grad):
            if not need:
                grads.append(None)
                continue
            others = inputs[:i] + inputs[i + 1:]
            seen = set(out).union(*others)
            kept = "".join(c for c in inputs[i] if c in seen)
            g = call(Einsum, grad, *xs[:i], *xs[i + 1:],
                     subscripts=",".join([out, *others]) + "->" + kept)
            sizes = dict(zip(kept, g.shape))
            shape = tuple(sizes.get(c, 1) for c in inputs[i])
            full = np.broadcast_shapes(shape, xs[i].shape)
            if g.shape != shape:  # an index summed in x_i alone: length 1 for now
                g = g.reshape(shape)
            if full != shape:  # ... and the gradient is flat along it
                g = call(BroadcastTo, g, shape=full)
            grads.append(g)
        return tuple(grads)


def set_item(x, index, value):
    """x with `value` written at `index` (a new tensor): where(mask, value, x) for the scatter."""
    mask = np.zeros(x.shape, dtype=bool)
    mask[index] = True
    if not (isinstance(value, Tensor) and value.requires_grad):
        spread = np.zeros(x.shape, dtype=x.dtype)
        spread[index] = _data(value)
        return where(mask, spread, x)
    value = value.broadcast_to(np.shape(np.zeros(x.shape)[index]))
    return where(mask, 0.0, x) + IndexAdd.apply(value, shape=x.shape, index=_own(index))


# ---- shape composites: each a line or two over the primitives above (they are also mg.squeeze,
# mg.repeat, ...; a NumPy array is taken as a constant Tensor)


def _axis_in(axis, shape, name):
    """`axis` as an index into `shape` (negative counts from the end), or a clear error."""
    if not -len(shape) <= axis < len(shape):
        raise ValueError(f"{name}: axis {axis} is out of range for shape {shape}")
    return axis % len(shape)


def _shape_after(name, fn, shape):
    """The shape NumPy's `fn` gives an array of `shape` (tried on a stand-in holding no data)."""
    try:
        return fn(np.broadcast_to(False, shape)).shape
    except ValueError as e:
        raise ValueError(f"{name}: {e} (input shape {shape})") from None


def squeeze(x, axis=None):
    """Drop the axes of length 1 (those in `axis`, or all), as np.squeeze: a reshape."""
    x = _tensor(x)
    return x.reshape(_shape_after("squeeze", lambda a: np.squeeze(a, axis), x.shape))


def expand_dims(x, axis):
    """A new axis of length 1 at `axis` (an int or a tuple), as np.expand_dims: a reshape."""
    x = _tensor(x)
    return x.reshape(_shape_after("expand_dims", lambda a: np.expand_dims(a, axis), x.shape))


def moveaxis(x, source, destination):
    """Move axes to new positions, the others keeping their order (np.moveaxis): a transpose."""
    x = _tensor(x)
    source = [_axis_in(a, x.shape, "moveaxis") for a in np.atleast_1d(source).tolist()]
    destination = [_axis_in(a, x.shape, "moveaxis") for a in np.atleast_1d(destination).tolist()]
    if len(source) != len(destination) or len(set(source)) != len(source) or len(
            set(destination)) != len(destination):
        raise ValueError(f"moveaxis: source {source} and destination {destination} must be "
                         f"distinct axes, as many of each (input shape {x.shape})")
    order = [a for a in range(x.ndim) if a not in source]
    for dest, src in sorted(zip(destination, source)):
        order.insert(dest, src)
    return x.transpose(order)


def repeat(x, repeats, axis=None):
    """Each element repeated `repeats` times along `axis` (np.repeat; axis=None flattens first):
    indexing with each output's source position, so the gradient sums the copies."""
    x = _tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    axis = _axis_in(axis, x.shape, "repeat")
    try:
        source = np.repeat(np.arange(x.shape[axis]), repeats)
    except ValueError as e:
        raise ValueError(f"repeat: {e} (repeats {repeats!r}, input shape {x.shape})") from None
    return x[(slice(None),) * axis + (source,)]


def tile(x, reps):
    """The whole array repeated `reps` times along each axis (np.tile): each axis of length s
    becomes a pair (1, s), broadcast to (r, s), and merged to r * s."""
    x = _tensor(x)
    reps = tuple(np.atleast_1d(reps).tolist())
    n = max(len(reps), x.ndim)
    reps, shape = (1,) * (n - len(reps)) + reps, (1,) * (n - x.ndim) + x.shape
    if any(r < 0 for r in reps):
        raise ValueError(f"tile: reps must be non-negative, got {reps}")
    pairs = x.reshape([d for s in shape for d in (1, s)])
    tiled = pairs.broadcast_to([d for r, s in zip(reps, shape) for d in (r, s)])
    return tiled.reshape([r * s for r, s in zip(reps, shape)])


def pad(x, pad_width, mode="constant", constant_values=0):
    """`x` with `pad_width` constant values around it (np.pad, mode="constant" only)."""
    if mode != "constant":
        raise ValueError(f"pad: only mode='constant' is differentiable here, got mode={mode!r}")
    return Pad.apply(_tensor(x), pad_width=pad_width, constant_values=constant_values)


def split(x, indices_or_sections, axis=0):
    """A list of consecutive pieces along `axis` (np.split): `n` equal ones, or cut at the given
    indices. Each piece is a slice of x."""
    x = _tensor(x)
    axis = _axis_in(axis, x.shape, "split")
    n = x.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0 or n % k:
            raise ValueError(f"split: length {n} of axis {axis} (shape {x.shape}) does not split "
                             f"into {k} equal parts; pass the indices to cut at instead")
        bounds = [i * (n // k) for i in range(k + 1)]
    else:
        bounds = [0, *indices_or_sections, n]
    lead = (slice(None),) * axis
    return [x[lead + (slice(a, b),)] for a, b in zip(bounds[:-1], bounds[1:])]


def _last_two(x, name):
    if x.ndim < 2:
        raise ValueError(f"{name}: needs at least 2 dimensions, got shape {x.shape}")
    return x.shape[-2:]


def tril(x, k=0):
    """The lower triangle of the last two axes (at and below diagonal k), zeros above (np.tril)."""
    x = _tensor(x)
    return where(np.tri(*_last_two(x, "tril"), k=k, dtype=bool), x, 0.0)


def triu(x, k=0):
    """The upper triangle of the last two axes (at and above diagonal k), zeros below (np.triu)."""
    x = _tensor(x)
    return where(~np.tri(*_last_two(x, "triu"), k=k - 1, dtype=bool), x, 0.0)


def diagonal(x, offset=0, axis1=0, axis2=1):
    """The diagonal `offset` of the planes (axis1, axis2), as a new last axis (np.diagonal)."""
    x = moveaxis(x, (axis1, axis2), (-2, -1))
    n, m = x.shape[-2:]
    i = np.arange(max(0, min(n + min(offset, 0), m - max(offset, 0))))
    return x[..., i - min(offset, 0), i + max(offset, 0)]


def trace(x, offset=0, axis1=0, axis2=1):
    """The sum of a diagonal (np.trace)."""
    return diagonal(x, offset, axis1, axis2).sum(axis=-1)


def einsum(subscripts, *operands):
    """np.einsum with explicit subscripts ('ij,jk->ik'), any number of operands."""
    return Einsum.apply(*operands, subscripts=subscripts)


def outer(x, y):
    """out[i, j] = x[i] * y[j] over the flattened inputs (np.outer)."""
    return _tensor(x).reshape(-1, 1) * _tensor(y).reshape(1, -1)


def dot(x, y):
    """np.dot: a product when one is a scalar, matmul up to 2-D y, and for N-D y the sum over
    x's last axis and y's second-to-last (y's axis moved first, then one matmul)."""
    x, y = _tensor(x), _tensor(y)
    if x.ndim == 0 or y.ndim == 0:
        return x * y
    if y.ndim <= 2:
        return x @ y
    flat = moveaxis(y, -2, 0).reshape(y.shape[-2], -1)
    return (x @ flat).reshape(x.shape[:-1] + y.shape[:-2] + y.shape[-1:])


# ============================================================================ free functions
# mg.exp(x), mg.relu(x), ...: the same ops as the Tensor methods, for arrays, numbers or Tensors.
# The composites above (var, std, squeeze, repeat, tile, split, tril, einsum, dot, ...) are
# mg functions as they stand.


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def exp(x):
    return Exp.apply(_tensor(x))


def log(x):
    return Log.apply(_tensor(x))


def sqrt(x):
    return Sqrt.apply(_tensor(x))


def tanh(x):
    return Tanh.apply(_tensor(x))


def sigmoid(x):
    return Sigmoid.apply(_tensor(x))


def relu(x):
    return Relu.apply(_tensor(x))


def leaky_relu(x, negative_slope=0.01):
    return LeakyRelu.apply(_tensor(x), negative_slope=negative_slope)


def softplus(x):
    return Softplus.apply(_tensor(x))


def softmax(x, axis=-1):
    return Softmax.apply(_tensor(x), axis=axis)


def log_softmax(x, axis=-1):
    return LogSoftmax.apply(_tensor(x), axis=axis)


def where(condition, x, y):
    """Elementwise `x if condition else y`, differentiable in x and y."""
    return Where.apply(_data(condition), x, y)


def concatenate(tensors, axis=0):
    """Join tensors along an existing axis (like np.concatenate; axis=None flattens them first)."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("concatenate: needs at least one tensor")
    if axis is None:
        tensors, axis = [_tensor(t).reshape(-1) for t in tensors], 0
    return Concatenate.apply(*tensors, axis=axis)


def stack(tensors, axis=0):
    """Join same-shaped tensors along a new axis (like np.stack)."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    return Stack.apply(*tensors, axis=axis)


def sin(x):
    return Sin.apply(_tensor(x))


def cos(x):
    return Cos.apply(_tensor(x))


def tan(x):
    return Tan.apply(_tensor(x))


def arctan(x):
    return Arctan.apply(_tensor(x))


def sinh(x):
    return Sinh.apply(_tensor(x))


def cosh(x):
    return Cosh.apply(_tensor(x))


def log1p(x):
    return Log1p.apply(_tensor(x))


def expm1(x):
    return Expm1.apply(_tensor(x))


def log2(x):
    return Log2.apply(_tensor(x))


def log10(x):
    return Log10.apply(_tensor(x))


def reciprocal(x):
    return Reciprocal.apply(_tensor(x))


def sign(x):
    return Sign.apply(_tensor(x))


def square(x):
    return Square.apply(_tensor(x))


def maximum(x, y):
    """Elementwise max(x, y) (ties split the gradient evenly)."""
    return Maximum.apply(_tensor(x), y)


def minimum(x, y):
    """Elementwise min(x, y) (ties split the gradient evenly)."""
    return Minimum.apply(_tensor(x), y)


def logaddexp(x, y):
    """log(exp(x) + exp(y)), stably."""
    return LogAddExp.apply(_tensor(x), y)


def prod(x, axis=None, keepdims=False):
    return Prod.apply(_tensor(x), axis=_axis(axis), keepdims=keepdims)


def cumsum(x, axis=None):
    return Cumsum.apply(_tensor(x), axis=axis)


def argmax(x, axis=None, keepdims=False):
    return Argmax.apply(_tensor(x), axis=axis, keepdims=keepdims)


def argmin(x, axis=None, keepdims=False):
    return Argmin.apply(_tensor(x), axis=axis, keepdims=keepdims)


def flip(x, axis=None):
    return Flip.apply(_tensor(x), axis=axis)


# ============================================================================ NumPy's protocol
# np.exp(t), np.add(a, t), ndarray * t: NumPy hands the call to Tensor.__array_ufunc__;
# np.sum(t), np.concatenate([t, u]), np.where(c, t, u): to Tensor.__array_function__. Each table
# says what runs instead; the README lists them (tests/test_numpy_protocol.py keeps it in step).

UFUNCS = {
    np.add: Add, np.subtract: Sub, np.multiply: Mul, np.true_divide: Div, np.power: Pow,
    np.matmul: MatMul, np.negative: Neg, np.exp: Exp, np.log: Log, np.sqrt: Sqrt,
    np.absolute: Abs, np.tanh: Tanh, np.sin: Sin, np.cos: Cos, np.tan: Tan, np.arctan: Arctan,
    np.sinh: Sinh, np.cosh: Cosh, np.log1p: Log1p, np.expm1: Expm1, np.log2: Log2,
    np.log10: Log10, np.reciprocal: Reciprocal, np.sign: Sign, np.square: Square,
    np.maximum: Maximum, np.minimum: Minimum, np.logaddexp: LogAddExp,
}
NOT_DIFFERENTIABLE = {  # results carry no gradient (booleans, integers, steps)
    np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal,
    np.isfinite, np.isnan, np.isinf, np.floor, np.ceil, np.rint, np.trunc,
    np.logical_and, np.logical_or, np.logical_not, np.logical_xor,
}


def array_ufunc(ufunc, method, inputs, kwargs):
    if method == "reduce" and ufunc is np.add and len(inputs) == 1 and set(kwargs) <= {
            "axis", "keepdims"}:  # np.add.reduce(t, axis, keepdims=...): t.sum
        return Sum.apply(inputs[0], axis=_axis(kwargs.get("axis", 0)),
                         keepdims=kwargs.get("keepdims", False))
    if method == "__call__" and not kwargs:
        fn = UFUNCS.get(ufunc)
        if fn is not None:
            return fn.apply(*inputs)
        if ufunc in NOT_DIFFERENTIABLE:
            return Tensor._wrap(ufunc(*[_data(x) for x in inputs]))
    what = f"np.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
    extra = f" with {', '.join(kwargs)}=" if kwargs else ""
    raise TypeError(f"{what}{extra} on a Tensor: microgradnp does not differentiate this; "
                    f"use np.asarray(t) to leave the graph explicitly")


def _np_reshape(a, shape):
    return _tensor(a).reshape(shape)


def _np_clip(a, a_min=None, a_max=None, *, min=None, max=None):  # noqa: A002 (NumPy's names)
    return _tensor(a).clip(a_min if min is None else min, a_max if max is None else max)


def _np_where(condition, x=None, y=None):
    if x is None and y is None:  # np.where(c) is np.nonzero(c): indices, no gradient
        return np.nonzero(_data(condition))
    if x is None or y is None:
        raise ValueError("np.where: either both or neither of x and y should be given")
    return where(condition, x, y)


def _np_norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 (NumPy's name)
    if ord not in (None, 2, "fro") or (ord == 2 and axis is None and np.ndim(x) > 1):
        raise TypeError(f"np.linalg.norm with ord={ord!r} on a Tensor: microgradnp "
                        f"differentiates the 2-norm only (ord=None)")
    return Norm.apply(_tensor(x), axis=_axis(axis), keepdims=keepdims)


# NumPy function -> the engine's function, with NumPy's argument names. Arguments the engine
# does not take (dtype=, out=, order=) are a TypeError naming the function.
FUNCTIONS = {
    # ---- reductions
    np.sum: lambda a, axis=None, keepdims=False: _tensor(a).sum(axis, keepdims),
    np.mean: lambda a, axis=None, keepdims=False: _tensor(a).mean(axis, keepdims),
    np.max: lambda a, axis=None, keepdims=False: _tensor(a).max(axis, keepdims),
    np.amax: lambda a, axis=None, keepdims=False: _tensor(a).max(axis, keepdims),
    np.min: lambda a, axis=None, keepdims=False: _tensor(a).min(axis, keepdims),
    np.amin: lambda a, axis=None, keepdims=False: _tensor(a).min(axis, keepdims),
    np.prod: prod,
    np.var: lambda a, axis=None, ddof=0, keepdims=False: var(a, _axis(axis), ddof, keepdims),
    np.std: lambda a, axis=None, ddof=0, keepdims=False: std(a, _axis(axis), ddof, keepdims),
    np.cumsum: cumsum,
    np.linalg.norm: _np_norm,
    # ---- elementwise (beyond the ufuncs)
    np.clip: _np_clip,
    np.where: _np_where,
    # ---- shape
    np.reshape: _np_reshape,
    np.ravel: lambda a: _tensor(a).reshape(-1),
    np.transpose: lambda a, axes=None: _tensor(a).transpose(() if axes is None else axes),
    np.swapaxes: lambda a, axis1, axis2: _tensor(a).swapaxes(axis1, axis2),
    np.moveaxis: moveaxis,
    np.squeeze: squeeze,
    np.expand_dims: expand_dims,
    np.broadcast_to: lambda array, shape: _tensor(array).broadcast_to(shape),
    np.flip: flip,
    np.repeat: repeat,
    np.tile: lambda A, reps: tile(A, reps),
    np.pad: pad,
    np.split: split,
    np.tril: lambda m, k=0: tril(m, k),
    np.triu: lambda m, k=0: triu(m, k),
    np.diagonal: diagonal,
    np.trace: trace,
    np.concatenate: concatenate,
    np.stack: stack,
    # ---- products
    np.dot: dot,
    np.outer: outer,
    np.einsum: einsum,
}
INFORMATION = {  # computed on the data: shapes, indices, booleans, comparisons
    np.shape, np.ndim, np.size, np.argmax, np.argmin, np.argsort, np.nonzero, np.argwhere,
    np.flatnonzero, np.count_nonzero, np.all, np.any, np.allclose, np.isclose, np.array_equal,
    np.array_equiv, np.result_type, np.may_share_memory, np.shares_memory, np.iscomplexobj,
    np.isrealobj, np.zeros_like, np.ones_like, np.empty_like, np.full_like, np.array2string,
    np.array_repr, np.array_str,
}


def _np_name(func):
    module = getattr(func, "__module__", None) or "numpy"
    return module.replace("numpy", "np", 1) + "." + func.__name__


def _plain(x):
    """Tensors (also inside a list or tuple) as their arrays."""
    if isinstance(x, (list, tuple)):
        return type(x)(_plain(v) for v in x)
    return _data(x)


def array_function(func, types, args, kwargs):
    if not all(issubclass(t, (Tensor, np.ndarray)) for t in types):
        return NotImplemented
    fn = FUNCTIONS.get(func)
    if fn is not None:
        try:
            return fn(*args, **kwargs)
        except TypeError:
            try:  # an argument NumPy takes and the engine does not (dtype=, out=): say which
                inspect.signature(fn).bind(*args, **kwargs)
            except TypeError as e:
                raise TypeError(f"{_np_name(func)} on a Tensor: {e}; microgradnp takes "
                                f"{_np_name(func)}{inspect.signature(fn)}") from None
            raise
    if func in INFORMATION:
        return func(*_plain(args), **{k: _plain(v) for k, v in kwargs.items()})
    raise TypeError(f"{_np_name(func)} on a Tensor: microgradnp does not differentiate this; "
                    f"use np.asarray(t) to leave the graph explicitly")


def supported_numpy_functions():
    """The NumPy functions that work on Tensors, by name: the ones that build the graph, and the
    ones computed on the data (no gradient)."""
    differentiable = {f"np.{u.__name__}" for u in UFUNCS} | {_np_name(f) for f in FUNCTIONS}
    data = {f"np.{u.__name__}" for u in NOT_DIFFERENTIABLE} | {_np_name(f) for f in INFORMATION}
    return sorted(differentiable), sorted(data)
