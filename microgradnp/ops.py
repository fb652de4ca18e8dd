"""Every op of the engine: forward in NumPy, backward as a vector-Jacobian product, side by side.

Vocabulary, everywhere below: `x`, `y` are the inputs, `out` the forward result, `grad` the
incoming gradient dL/d(out); backward returns dL/dx (and dL/dy). Forward sees ndarrays; backward
sees Tensors (from `ctx.saved`) and uses Tensor ops, so it is itself differentiable
(`create_graph=True`). Gradients may come back in the broadcast shape: the engine's
`unbroadcast` sums them down to each input's shape. Constant masks (relu, abs, max) are plain
ndarrays: their derivative is zero almost everywhere.

A primitive is here because it needs its own derivative for speed or stability; composites
(mean, min, concatenate's helpers) are a line of math over primitives.
"""

import numpy as np

from .function import Function
from .tensor import _data

# ============================================================================ binary ops


class Add(Function):
    @staticmethod
    def forward(ctx, x, y):
        return x + y

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class Sub(Function):
    @staticmethod
    def forward(ctx, x, y):
        return x - y

    @staticmethod
    def backward(ctx, grad):
        return grad, -grad if ctx.needs_input_grad[1] else None


class Mul(Function):
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
        if need_x:  # where y == 0 the slope is 0, even at x = 0 (not 0 * 0^-1 = NaN)
            base = x if _is_number(y) and y != 0 else where(_data(y) == 0, 1.0, x)
            gx = grad * y * base ** (y - 1)
        if need_y:  # where x == 0 the slope is 0 (PyTorch's choice), not 0 * log(0) = NaN
            gy = grad * out * where(_data(x) == 0, 1.0, x).log()
        return gx, gy


def _is_number(y):
    return isinstance(y, (int, float, np.number))


class MatMul(Function):
    """`x @ y` exactly like np.matmul: 1-D operands are promoted to a row / column, then dropped."""

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
        x2 = x.reshape(1, -1) if x.ndim == 1 else x
        y2 = y.reshape(-1, 1) if y.ndim == 1 else y
        if x.ndim == 1:
            grad = grad.reshape(grad.shape[:-1] + (1,) + grad.shape[-1:])
        if y.ndim == 1:
            grad = grad.reshape(grad.shape + (1,))
        gx = gy = None
        if need_x:
            gx = grad @ _mT(y2)
            gx = gx.reshape(gx.shape[:-2] + gx.shape[-1:]) if x.ndim == 1 else gx
        if need_y:
            gy = _mT(x2) @ grad
            gy = gy.reshape(gy.shape[:-1]) if y.ndim == 1 else gy
        return gx, gy


def _mT(t):
    """The matrix transpose of a stack of matrices: swap the last two axes."""
    return t.transpose() if t.ndim == 2 else t.swapaxes(-1, -2)


class Where(Function):
    """`where(condition, x, y)`: x where condition holds, else y (condition is a constant)."""

    @staticmethod
    def forward(ctx, condition, x, y):
        ctx.condition = condition = np.asarray(condition, dtype=bool)
        return np.where(condition, x, y)

    @staticmethod
    def backward(ctx, grad):
        c = ctx.condition
        need_x, need_y = ctx.needs_input_grad[1:]
        return None, grad * c if need_x else None, grad * ~c if need_y else None


def where(condition, x, y):
    """Elementwise `x if condition else y`, differentiable in x and y."""
    condition = _data(condition)
    return Where.apply(condition, x, y)


# ============================================================================ unary ops


class Neg(Function):
    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Exp(Function):
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
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, grad):  # d log(x) = dx / x
        (x,) = ctx.saved
        return grad / x


class Sqrt(Function):
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
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, grad):  # d|x| = sign(x) dx  (0 at the kink, as in PyTorch)
        (x,) = ctx.saved
        return grad * np.sign(x.data)


class Tanh(Function):
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
    @staticmethod
    def forward(ctx, x):
        out = np.maximum(x, 0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):  # d relu(x) = [x > 0] dx
        (out,) = ctx.saved
        return grad * (out.data > 0)


class LeakyRelu(Function):
    name = "leaky_relu"

    @staticmethod
    def forward(ctx, x, negative_slope=0.01):
        ctx.save_for_backward(x)
        ctx.negative_slope = negative_slope
        return np.where(x > 0, x, x * negative_slope)

    @staticmethod
    def backward(ctx, grad):  # slope 1 for x > 0, negative_slope otherwise
        (x,) = ctx.saved
        return grad * np.where(x.data > 0, 1.0, ctx.negative_slope).astype(x.dtype)


class Softplus(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))  # log(1 + e^x), stably

    @staticmethod
    def backward(ctx, grad):  # d softplus(x) = sigmoid(x) dx
        (x,) = ctx.saved
        return grad * x.sigmoid()


class Clip(Function):
    @staticmethod
    def forward(ctx, x, lo=None, hi=None):
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi = lo, hi
        return np.clip(x, lo, hi)

    @staticmethod
    def backward(ctx, grad):  # gradient passes where x is inside [lo, hi]
        (x,) = ctx.saved
        inside = np.ones(x.shape, dtype=bool)
        if ctx.lo is not None:
            inside &= x.data >= ctx.lo
        if ctx.hi is not None:
            inside &= x.data <= ctx.hi
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
    return grad.reshape(_keepdims_shape(shape, axis)).broadcast_to(shape)


class Sum(Function):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape, ctx.axis = np.shape(x), axis
        return x.sum(axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):  # every summand gets the gradient of the sum
        return _expand(grad, ctx.shape, ctx.axis)


class BroadcastTo(Function):
    name = "broadcast_to"

    @staticmethod
    def forward(ctx, x, shape):
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad):  # the adjoint of broadcast is sum: the engine's unbroadcast does it
        return grad


class Max(Function):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        out = x.max(axis=axis, keepdims=keepdims)
        ctx.save_for_backward(x, out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad):  # the gradient goes to the maximum; ties split it evenly
        x, out = ctx.saved
        kshape = _keepdims_shape(x.shape, ctx.axis)
        mask = x.data == out.data.reshape(kshape)
        share = mask / mask.sum(axis=ctx.axis, keepdims=True)
        return _expand(grad, x.shape, ctx.axis) * share.astype(x.dtype)


class LogSumExp(Function):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        m = np.max(x, axis=axis, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)  # all -inf rows: log(0) = -inf, not NaN
        out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
        if not keepdims:
            out = out.reshape(np.shape(np.sum(x, axis=axis)))
        ctx.save_for_backward(x, out)  # the returned array, so backward sees the output Tensor
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad):  # d logsumexp(x) = softmax(x) dx = exp(x - out) dx
        x, out = ctx.saved
        out = out.reshape(_keepdims_shape(x.shape, ctx.axis))
        return _expand(grad, x.shape, ctx.axis) * (x - out).exp()


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, axis=-1):
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        out = e / e.sum(axis=axis, keepdims=True)
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad):  # J = diag(s) - s s^T, so J^T g = s * (g - <g, s>)
        (out,) = ctx.saved
        return out * (grad - (grad * out).sum(axis=ctx.axis, keepdims=True))


class LogSoftmax(Function):
    name = "log_softmax"

    @staticmethod
    def forward(ctx, x, axis=-1):
        m = x.max(axis=axis, keepdims=True)
        out = x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad):  # d log_softmax(x) = dx - softmax(x) <1, dx>
        (out,) = ctx.saved
        return grad - out.exp() * grad.sum(axis=ctx.axis, keepdims=True)


def mean(x, axis=None, keepdims=False):
    """Sum divided by the number of summed elements."""
    total = x.sum(axis=axis, keepdims=keepdims)  # first: it names a bad axis clearly
    n = x.data.size if axis is None else int(np.prod([x.shape[a] for a in _axes(axis)]))
    return total / n


def minimum_reduce(x, axis=None, keepdims=False):
    """min(x) = -max(-x) (ties split the gradient, as in max)."""
    return -((-x).max(axis=axis, keepdims=keepdims))


def _axes(axis):
    return (axis,) if isinstance(axis, int) else tuple(axis)


# ============================================================================ movement ops


class Reshape(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = np.shape(x)
        try:
            return x.reshape(shape)
        except ValueError:
            raise ValueError(f"cannot reshape shape {ctx.shape} ({np.size(x)} elements) "
                             f"into {tuple(shape)}") from None

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape)


class Transpose(Function):
    @staticmethod
    def forward(ctx, x, axes=None):
        ctx.axes = axes
        return x.transpose(axes)

    @staticmethod
    def backward(ctx, grad):  # transpose back with the inverse permutation
        if ctx.axes is None:
            return grad.transpose()
        return grad.transpose(tuple(np.argsort([a % grad.ndim for a in ctx.axes])))


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

    @staticmethod
    def forward(ctx, x, index):
        ctx.shape, ctx.index = np.shape(x), _own(index)
        return x[index]

    @staticmethod
    def backward(ctx, grad):  # scatter the gradient back; repeated indices accumulate
        return IndexAdd.apply(grad, shape=ctx.shape, index=ctx.index)


class IndexAdd(Function):
    """zeros(shape) with `grad` added at `index` (np.add.at): the adjoint of indexing."""

    name = "index_add"

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
    @staticmethod
    def forward(ctx, *xs, axis=0):
        out = np.concatenate(xs, axis=axis)  # first: it names a bad axis or shape clearly
        ctx.axis = axis
        ctx.sizes = [np.shape(x)[axis] for x in xs]
        return out

    @staticmethod
    def backward(ctx, grad):  # each input gets its slice back
        bounds = np.cumsum([0] + ctx.sizes)
        axis = ctx.axis % grad.ndim
        lead = (slice(None),) * axis
        return tuple(grad[lead + (slice(a, b),)] for a, b in zip(bounds[:-1], bounds[1:]))


class Stack(Function):
    @staticmethod
    def forward(ctx, *xs, axis=0):
        ctx.axis = axis
        return np.stack(xs, axis=axis)

    @staticmethod
    def backward(ctx, grad):  # input i is the i-th slice along the new axis
        axis = ctx.axis % grad.ndim
        lead = (slice(None),) * axis
        return tuple(grad[lead + (i,)] for i in range(grad.shape[axis]))


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


def set_item(x, index, value):
    """x with `value` written at `index` (a new tensor): where(mask, value, x) for the scatter."""
    mask = np.zeros(x.shape, dtype=bool)
    mask[index] = True
    spread = np.zeros(x.shape, dtype=np.result_type(x.dtype, np.asarray(_data(value)).dtype))
    spread[index] = _data(value)
    if not (hasattr(value, "requires_grad") and value.requires_grad):
        return where(mask, spread.astype(x.dtype, copy=False), x)
    value = value.broadcast_to(np.shape(np.zeros(x.shape)[index]))
    return where(mask, 0.0, x) + IndexAdd.apply(value, shape=x.shape, index=_own(index))
