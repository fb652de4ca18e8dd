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
     NumPy has one (`mg.exp`), and its ufunc in `UFUNCS` if it is one;
  3. one row in the op table of tests/test_ops.py (a test fails while an op has no row).
A primitive is here because it needs its own derivative for speed or stability; composites
(mean, min, set_item) are a line of math over primitives.
"""

import numpy as np

from .function import Function, _NullContext
from .tensor import Tensor, _data


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


# ============================================================================ reductions


def _keepdims_shape(shape, axis):
    """The shape a reduction over `axis` has with keepdims=True."""
    if axis is None:
        return (1,) * len(shape)
    axes = (axis,) if isinstance(axis, int) else axis
    axes = {a % len(shape) for a in axes} if shape else set()
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _expand(grad, shape, axis):
    """Undo a reduction: reshape grad to keepdims form, broadcast to `shape`."""
    return call(BroadcastTo, grad.reshape(_keepdims_shape(shape, axis)), shape=shape)


class Sum(Function):
    formula = ("1",)

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.in_shape = np.shape(x)
        return x.sum(axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):  # every summand gets the gradient of the sum
        return _expand(grad, ctx.in_shape, ctx.kwargs.get("axis"))


class BroadcastTo(Function):
    name = "broadcast_to"
    formula = ("1",)

    @staticmethod
    def forward(ctx, x, shape):
        return np.broadcast_to(x, shape)

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
    formula = ("diag(out) - out outᵀ",)

    @staticmethod
    def forward(ctx, x, axis=-1):
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        out = e / e.sum(axis=axis, keepdims=True)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):  # J = diag(s) - s s^T, so J^T g = s * (g - <g, s>)
        (out,) = ctx.saved
        axis = ctx.kwargs.get("axis", -1)
        return out * (grad - (grad * out).sum(axis=axis, keepdims=True))


class LogSoftmax(Function):
    name = "log_softmax"
    formula = ("I - softmax(x) 1ᵀ",)

    @staticmethod
    def forward(ctx, x, axis=-1):
        m = x.max(axis=axis, keepdims=True)
        out = x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):  # d log_softmax(x) = dx - softmax(x) <1, dx>
        (out,) = ctx.saved
        axis = ctx.kwargs.get("axis", -1)
        return grad - np.exp(out) * grad.sum(axis=axis, keepdims=True)


def mean(x, axis=None, keepdims=False):
    """Sum divided by the number of summed elements."""
    total = x.sum(axis=axis, keepdims=keepdims)  # first: it names a bad axis clearly
    n = x.data.size if axis is None else int(np.prod([x.shape[a] for a in _axes(axis)]))
    return total / n


def minimum_reduce(x, axis=None, keepdims=False):
    """min(x) = -max(-x) (ties split the gradient, as in max)."""
    try:
        return -((-x).max(axis=axis, keepdims=keepdims))
    except ValueError as e:
        raise ValueError(str(e).replace("max:", "min:", 1)) from None


def _axes(axis):
    return (axis,) if isinstance(axis, int) else tuple(axis)


# ============================================================================ movement ops


class Reshape(Function):
    formula = ("1 (reshaped back)",)

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = np.shape(x)
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
        ctx.in_shape, ctx.index = np.shape(x), _own(index)
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


# ============================================================================ free functions
# mg.exp(x), mg.relu(x), ...: the same ops as the Tensor methods, for arrays, numbers or Tensors.


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
    """Join tensors along an existing axis (like np.concatenate)."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("concatenate: needs at least one tensor")
    return Concatenate.apply(*tensors, axis=axis)


def stack(tensors, axis=0):
    """Join same-shaped tensors along a new axis (like np.stack)."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    return Stack.apply(*tensors, axis=axis)


# ============================================================================ NumPy's ufuncs
# np.exp(t), np.add(a, t), ndarray * t: NumPy hands the call to Tensor.__array_ufunc__.

UFUNCS = {
    np.add: Add, np.subtract: Sub, np.multiply: Mul, np.true_divide: Div, np.power: Pow,
    np.matmul: MatMul, np.negative: Neg, np.exp: Exp, np.log: Log, np.sqrt: Sqrt,
    np.absolute: Abs, np.tanh: Tanh,
}
NOT_DIFFERENTIABLE = {  # results carry no gradient (booleans, integers, steps)
    np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal,
    np.isfinite, np.isnan, np.isinf, np.sign, np.floor, np.ceil, np.rint, np.trunc,
    np.logical_and, np.logical_or, np.logical_not, np.logical_xor,
}


def array_ufunc(ufunc, method, inputs, kwargs):
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
