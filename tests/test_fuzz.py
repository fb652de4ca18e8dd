"""Fuzzer: random expression graphs built from every public op, their first and second
derivatives checked against central differences in float64 (`mg.gradcheck`, `mg.gradgradcheck`).

A graph is a program: each step applies one row of OPS to values made earlier (the inputs or
earlier steps), chosen at random, so values are reused (diamonds, one value twice in one op),
shapes broadcast, indices repeat. The program is built once on the sample inputs (to choose
shapes and axes that fit, and to keep values moderate: a value beyond +-20 is squashed by tanh)
and then replayed as `fn(*inputs)` for the checks. The output is a weighted sum of every value no
later step used, so every branch reaches the gradient.

Hypothesis draws the program's structure (it shrinks a failure to a short program); the numbers
come from a seeded generator. `make fuzz` runs many more examples (MG_FUZZ_EXAMPLES) and checks
second derivatives element by element instead of by random projections.
Ops go through the public Tensor methods and operators only, so this file survives rewrites of
the engine; a public Tensor method without a row in OPS fails `test_every_public_op_has_a_row`.
"""

import os

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import microgradnp as mg

EXAMPLES = int(os.environ.get("MG_FUZZ_EXAMPLES", "20"))  # random graphs of any ops
PER_OP = max(2, EXAMPLES // 25)  # and, for each op, graphs that start with it
THOROUGH = "MG_FUZZ_EXAMPLES" in os.environ  # make fuzz: full second-derivative Jacobians
MAX_STEPS = 8


def positive(x):
    """Map any value into [0.5, inf): the domain guard for log, sqrt, pow and division."""
    return x * x + 0.5


# ============================================================================ the table of ops
# Each row: name -> build(draw, values) returning (indices of the operands, apply), where apply
# takes those operands (Tensors) and returns a Tensor. `values` are the Tensors so far (for their
# shapes); `draw` draws from a hypothesis strategy. Each row covers the public names in COVERS.


def _pick(draw, values):
    return draw(st.integers(0, len(values) - 1))


def _pick_broadcastable(draw, values, i):
    """An operand for a binary op with values[i]: any value whose shape broadcasts with it
    (possibly values[i] itself: one value twice in one op)."""
    j = _pick(draw, values)
    try:
        np.broadcast_shapes(values[i].shape, values[j].shape)
    except ValueError:
        return i
    return j


def _pick_into(draw, values, i):
    """An operand that broadcasts *into* values[i]'s shape (for the in-place ops)."""
    j = _pick(draw, values)
    try:
        ok = np.broadcast_shapes(values[i].shape, values[j].shape) == values[i].shape
    except ValueError:
        ok = False
    return j if ok else i


def _axis(draw, ndim, allow_none=True, allow_tuple=True):
    choices = [st.integers(-ndim, ndim - 1)] if ndim else []
    if allow_none or not ndim:
        choices.append(st.none())
    if allow_tuple and ndim >= 2:
        choices.append(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim,
                                unique=True).map(tuple))
    return draw(st.one_of(*choices))


def _constant(draw, shape):
    """A Python float, or an ndarray that broadcasts with `shape`."""
    if draw(st.booleans()):
        return draw(st.sampled_from([-1.5, 0.5, 2.0]))
    tail = shape[len(shape) - draw(st.integers(0, len(shape))):]
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    return rng.uniform(0.5, 1.5, tail) * draw(st.sampled_from([-1.0, 1.0]))


def binary(fn):
    def build(draw, values):
        i = _pick(draw, values)
        return (i, _pick_broadcastable(draw, values, i)), fn
    return build


def unary(fn):
    def build(draw, values):
        return (_pick(draw, values),), fn
    return build


def with_constant(fn):
    """fn(x, c) with c a float or an array broadcastable with x, on either side."""
    def build(draw, values):
        i = _pick(draw, values)
        c = _constant(draw, values[i].shape)
        return (i,), lambda x: fn(x, c)
    return build


def reduction(method, keepdims=True, tuples=True):
    def build(draw, values):
        i = _pick(draw, values)
        axis = _axis(draw, values[i].ndim, allow_tuple=tuples)
        kw = {"keepdims": draw(st.booleans())} if keepdims else {}
        return (i,), lambda x: getattr(x, method)(axis=axis, **kw)
    return build


def along_axis(method):
    """softmax / log_softmax: one axis of a value with at least one dimension."""
    def build(draw, values):
        i = _pick(draw, values)
        if values[i].ndim == 0:
            return (i,), lambda x: getattr(x.reshape(1), method)(axis=0)
        axis = _axis(draw, values[i].ndim, allow_none=False, allow_tuple=False)
        return (i,), lambda x: getattr(x, method)(axis=axis)
    return build


def clip(draw, values):
    lo = draw(st.sampled_from([-1.0, -0.3, None]))
    hi = draw(st.sampled_from([0.4, 1.2, None if lo is not None else 1.0]))
    return (_pick(draw, values),), lambda x: x.clip(lo, hi)


def leaky_relu(draw, values):
    slope = draw(st.sampled_from([0.01, 0.2]))
    return (_pick(draw, values),), lambda x: x.leaky_relu(slope)


def matmul(draw, values):
    """x @ y when the shapes fit, else x against itself (x @ x^T, or a dot product for 1-D)."""
    i, j = _pick(draw, values), _pick(draw, values)
    x, y = values[i], values[j]
    if x.ndim == 0:
        return (i,), lambda a: (a.reshape(1, 1) @ a.reshape(1, 1)).reshape(())
    fits = (y.ndim >= 1 and x.shape[-1] == y.shape[0 if y.ndim == 1 else -2])
    if fits and x.ndim > 2 and y.ndim > 2:
        try:
            np.broadcast_shapes(x.shape[:-2], y.shape[:-2])
        except ValueError:
            fits = False
    if fits:
        return (i, j), lambda a, b: a @ b
    if x.ndim == 1:
        return (i,), lambda a: a @ a
    return (i,), lambda a: a @ a.swapaxes(-1, -2)


def rmatmul(draw, values):
    """ndarray @ x (NumPy on the left)."""
    i = _pick(draw, values)
    x = values[i]
    if x.ndim == 0:
        return (i,), lambda a: np.ones((2, 1)) @ a.reshape(1, 1)
    rows = x.shape[-2] if x.ndim >= 2 else x.shape[0]
    m = np.random.default_rng(draw(st.integers(0, 2**16))).normal(size=(2, rows))
    return (i,), lambda a: m @ a


def reshape(draw, values):
    i = _pick(draw, values)
    shape = values[i].shape
    size = int(np.prod(shape))
    choice = draw(st.sampled_from(["reversed", "flat", "minus_one", "unit"]))
    new = {"reversed": shape[::-1], "flat": (size,), "minus_one": (-1, 1),
           "unit": (1,) + shape}[choice]
    if draw(st.booleans()):
        return (i,), lambda x: x.reshape(*new)
    return (i,), lambda x: x.reshape(new)


def transpose(draw, values):
    i = _pick(draw, values)
    axes = draw(st.permutations(range(values[i].ndim)))
    return (i,), lambda x: x.transpose(*axes)


def swapaxes(draw, values):
    i = _pick(draw, values)
    n = values[i].ndim
    if n == 0:
        return (i,), lambda x: x.reshape(1, 1).swapaxes(0, 1)
    a, b = draw(st.integers(-n, n - 1)), draw(st.integers(-n, n - 1))
    return (i,), lambda x: x.swapaxes(a, b)


def broadcast_to(draw, values):
    i = _pick(draw, values)
    shape = (2,) + tuple(values[i].shape)
    return (i,), lambda x: x.broadcast_to(shape)


def getitem_basic(draw, values):
    i = _pick(draw, values)
    shape = values[i].shape
    if not shape:
        return (i,), lambda x: x[None][0]
    n = shape[0]
    index = draw(st.sampled_from([
        (slice(None, None, -1),), (slice(1, None),) if n > 1 else (0,), (-1,),
        (None, Ellipsis), (Ellipsis, slice(None, None, 2)),
    ]))
    return (i,), lambda x: x[index]


def getitem_repeated(draw, values):
    """Integer-array indexing with repeated indices (their gradients add up)."""
    i = _pick(draw, values)
    shape = values[i].shape
    if not shape:
        return (i,), lambda x: x.reshape(1)[[0, 0, 0]]
    idx = draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1, max_size=5))
    if len(shape) >= 2 and draw(st.booleans()):
        cols = draw(st.lists(st.integers(0, shape[1] - 1), min_size=len(idx),
                             max_size=len(idx)))
        return (i,), lambda x: x[np.array(idx), np.array(cols)]
    return (i,), lambda x: x[idx]


def concatenate(draw, values):
    i, j = _pick(draw, values), _pick(draw, values)
    if values[i].ndim == 0:
        return (i,), lambda x: mg.concatenate([x.reshape(1), x.reshape(1).exp()], 0)
    axis = _axis(draw, values[i].ndim, allow_none=False, allow_tuple=False)
    a, b = values[i].shape, values[j].shape
    same_but_axis = len(a) == len(b) and all(
        p == q for k, (p, q) in enumerate(zip(a, b)) if k != axis % len(a))
    if same_but_axis:
        return (i, j), lambda x, y: mg.concatenate([x, y], axis=axis)
    return (i,), lambda x: mg.concatenate([x, x.tanh()], axis=axis)


def stack(draw, values):
    i, j = _pick(draw, values), _pick(draw, values)
    axis = draw(st.integers(0, values[i].ndim))
    if values[i].shape == values[j].shape:
        return (i, j), lambda x, y: mg.stack([x, y], axis=axis)
    return (i,), lambda x: mg.stack([x, -x, x], axis=axis)


def masked_by_comparison(op):
    """x * (y <op> 0): comparisons are not differentiable, but make masks that are used."""
    def build(draw, values):
        i = _pick(draw, values)
        j = _pick_broadcastable(draw, values, i)
        return (i, j), lambda x, y: x * op(y, 0.1)
    return build


def in_place(method, guard=None):
    """t = x * 1 (a fresh non-leaf), then t.<method>(y) in place, y broadcasting into t."""
    def build(draw, values):
        i = _pick(draw, values)
        j = _pick_into(draw, values, i)

        def apply(x, y=None):
            t = x * 1.0
            operand = x if y is None else y
            getattr(t, method)(guard(operand) if guard else operand)
            return t
        return ((i,) if j == i else (i, j)), apply
    return build


def clamp_(draw, values):
    lo, hi = draw(st.sampled_from([(-0.5, 0.7), (None, 0.3), (-0.2, None)]))

    def apply(x):
        t = x * 1.0
        t.clamp_(lo, hi)
        return t
    return (_pick(draw, values),), apply


def fill_or_zero_(method):
    """t overwritten by a constant: no gradient flows through t any more, only through x."""
    def build(draw, values):
        i = _pick(draw, values)

        def apply(x):
            t = x * 1.0
            t.fill_(0.25) if method == "fill_" else t.zero_()
            return t * x + x  # x again: a diamond through the overwritten value
        return (i,), apply
    return build


def add_with_alpha(method):
    def build(draw, values):
        i = _pick(draw, values)
        j = _pick_into(draw, values, i)
        alpha = draw(st.sampled_from([0.5, -2.0]))

        def apply(x, y=None):
            t = x * 1.0
            getattr(t, method)(x if y is None else y, alpha=alpha)
            return t
        return ((i,) if j == i else (i, j)), apply
    return build


def setitem(draw, values):
    """t[index] = (something made from another value), basic or integer-array index."""
    i, j = _pick(draw, values), _pick(draw, values)
    shape = values[i].shape

    def apply(x, y):
        t = x * 1.0
        if not shape:
            t[...] = y.sum().tanh()
        elif len(shape) >= 1 and draw_index == "first":
            t[0] = y.sum() * 2
        else:  # distinct indices (a repeated one in an assignment: NumPy's last write wins)
            t[[0, -1] if shape[0] > 1 else [0]] = y.mean().sigmoid()
        return t
    draw_index = draw(st.sampled_from(["first", "array"]))
    return (i, j), apply


def copy_(draw, values):
    i = _pick(draw, values)
    j = _pick_into(draw, values, i)

    def apply(x, y):
        t = x * 1.0
        t.copy_(y.exp())
        return t + x
    return (i, j), apply


def _spread(x, axis):
    """True when the values reduced over `axis` are not all equal (std and norm are smooth)."""
    a = x.data
    if a.size == 0:
        return False
    return bool(np.all(np.std(a, axis=axis) > 1e-3)) and bool(np.all(np.abs(a) > 0))


def std_or_var(method):
    """std / norm where they are smooth (spread-out values), var / sum of squares elsewhere."""
    def build(draw, values):
        i = _pick(draw, values)
        x = values[i]
        axis = _axis(draw, x.ndim, allow_tuple=True)
        keepdims = draw(st.booleans())
        smooth = _spread(x, axis) and x.size > 1
        if method == "norm":
            if smooth:
                return (i,), lambda t: t.norm(axis=axis, keepdims=keepdims)
            return (i,), lambda t: (t * t).sum(axis=axis, keepdims=keepdims)
        ddof = draw(st.sampled_from([0, 1])) if x.size > 1 else 0
        n = x.size if axis is None else int(np.prod([x.shape[a] for a in np.atleast_1d(axis)]))
        ddof = ddof if n > ddof else 0
        if method == "std" and smooth:
            return (i,), lambda t: t.std(axis=axis, ddof=ddof, keepdims=keepdims)
        return (i,), lambda t: t.var(axis=axis, ddof=ddof, keepdims=keepdims)
    return build


def at_least_2d(fn):
    """Ops on matrices (diagonal, trace, tril, triu): lower-rank values become columns first."""
    def build(draw, values):
        i = _pick(draw, values)
        k = draw(st.integers(-1, 1))
        return (i,), lambda x: fn(x if x.ndim >= 2 else x.reshape(-1, 1), k)
    return build


def cumsum(draw, values):
    i = _pick(draw, values)
    axis = _axis(draw, values[i].ndim, allow_tuple=False)
    return (i,), lambda x: x.cumsum(axis=axis)


def flip(draw, values):
    i = _pick(draw, values)
    axis = _axis(draw, values[i].ndim, allow_tuple=True)
    return (i,), lambda x: x.flip(axis=axis)


def expand_dims(method):
    def build(draw, values):
        i = _pick(draw, values)
        n = values[i].ndim
        axis = draw(st.integers(-n - 1, n))
        return (i,), lambda x: getattr(x, method)(axis)
    return build


def squeeze(draw, values):
    i = _pick(draw, values)
    ones = [a for a, n in enumerate(values[i].shape) if n == 1]
    axis = draw(st.sampled_from([None] + ones))
    return (i,), lambda x: x.squeeze(axis)


def moveaxis(draw, values):
    i = _pick(draw, values)
    n = values[i].ndim
    if n == 0:
        return (i,), lambda x: x.reshape(1, 1).moveaxis(0, 1)
    src, dst = draw(st.integers(0, n - 1)), draw(st.integers(-n, n - 1))
    return (i,), lambda x: x.moveaxis(src, dst)


def pad(draw, values):
    i = _pick(draw, values)
    width = draw(st.sampled_from([1, (0, 2)]))
    fill = draw(st.sampled_from([0, 0.5]))
    return (i,), lambda x: (x if x.ndim else x.reshape(1)).pad(width, constant_values=fill)


def repeat(draw, values):
    i = _pick(draw, values)
    axis = _axis(draw, values[i].ndim, allow_tuple=False)
    repeats = draw(st.integers(1, 3))
    return (i,), lambda x: x.repeat(repeats, axis=axis)


def tile(draw, values):
    i = _pick(draw, values)
    reps = draw(st.sampled_from([2, (2, 1), (1, 2, 1)]))
    return (i,), lambda x: x.tile(reps)


def split(draw, values):
    """x.split([1], axis): the first slice and the rest, both used."""
    i = _pick(draw, values)
    if values[i].ndim == 0:
        return (i,), lambda x: x.reshape(1).split(1)[0]
    axis = draw(st.integers(0, values[i].ndim - 1))

    def apply(x):
        first, rest = x.split([1], axis=axis)
        return first.sum() * 2 + (rest * rest).sum()
    return (i,), apply


def dot(draw, values):
    i, j = _pick(draw, values), _pick(draw, values)
    x, y = values[i], values[j]
    if x.ndim == 2 and y.ndim == 2 and x.shape[1] == y.shape[0]:
        return (i, j), lambda a, b: a.dot(b)
    if x.size == y.size:
        return (i, j), lambda a, b: a.flatten().dot(b.flatten())
    return (i,), lambda a: a.flatten().dot(a.flatten().tanh())


def outer(draw, values):
    i, j = _pick(draw, values), _pick(draw, values)
    return (i, j), lambda a, b: a.outer(b)


OPS = {
    # arithmetic, broadcasting, both sides
    "add": binary(lambda x, y: x + y),
    "sub": binary(lambda x, y: x - y),
    "mul": binary(lambda x, y: x * y),
    "truediv": binary(lambda x, y: x / positive(y)),
    "pow": binary(lambda x, y: positive(x) ** y.tanh()),
    "pow_number": with_constant(lambda x, c: positive(x) ** (c if np.isscalar(c) else 2.0)),
    "pow_integer": unary(lambda x: x**3 - x**2),
    "radd": with_constant(lambda x, c: c + x),
    "rsub": with_constant(lambda x, c: c - x),
    "rmul": with_constant(lambda x, c: c * x),
    "rtruediv": with_constant(lambda x, c: c / positive(x)),
    "rpow": with_constant(lambda x, c: 1.5 ** x.tanh() + 0 * c),
    "matmul": matmul,
    "rmatmul": rmatmul,
    "neg": unary(lambda x: -x),
    "pos": unary(lambda x: +x),
    "abs_operator": unary(lambda x: abs(x)),
    # elementwise
    "exp": unary(lambda x: x.tanh().exp()),
    "log": unary(lambda x: positive(x).log()),
    "sqrt": unary(lambda x: positive(x).sqrt()),
    "abs": unary(lambda x: x.abs()),
    "tanh": unary(lambda x: x.tanh()),
    "sigmoid": unary(lambda x: x.sigmoid()),
    "relu": unary(lambda x: x.relu()),
    "leaky_relu": leaky_relu,
    "softplus": unary(lambda x: x.softplus()),
    "clip": clip,
    "sin": unary(lambda x: x.sin()),
    "cos": unary(lambda x: x.cos()),
    "tan": unary(lambda x: x.tanh().tan()),
    "arctan": unary(lambda x: x.arctan()),
    "sinh": unary(lambda x: x.sinh()),
    "cosh": unary(lambda x: x.cosh()),
    "expm1": unary(lambda x: x.expm1()),
    "log1p": unary(lambda x: positive(x).log1p()),
    "log2": unary(lambda x: positive(x).log2()),
    "log10": unary(lambda x: positive(x).log10()),
    "reciprocal": unary(lambda x: positive(x).reciprocal()),
    "square": unary(lambda x: x.square()),
    "sign": unary(lambda x: x * x.sign()),
    "astype": unary(lambda x: x.astype(np.float64) * x.astype("float64")),
    "maximum": binary(lambda x, y: x.maximum(y)),
    "minimum": binary(lambda x, y: x.minimum(y)),
    "logaddexp": binary(lambda x, y: x.logaddexp(y)),
    "dot": dot,
    "outer": outer,
    # reductions
    "sum": reduction("sum"),
    "mean": reduction("mean"),
    "max": reduction("max"),
    "min": reduction("min"),
    "logsumexp": reduction("logsumexp", keepdims=False, tuples=False),
    "prod": reduction("prod"),
    "var": std_or_var("var"),
    "std": std_or_var("std"),
    "norm": std_or_var("norm"),
    "cumsum": cumsum,
    "softmax": along_axis("softmax"),
    "log_softmax": along_axis("log_softmax"),
    # movement and indexing
    "reshape": reshape,
    "transpose": transpose,
    "T": unary(lambda x: x.T),
    "swapaxes": swapaxes,
    "flatten": unary(lambda x: x.flatten()),
    "broadcast_to": broadcast_to,
    "getitem": getitem_basic,
    "getitem_repeated": getitem_repeated,
    "concatenate": concatenate,
    "expand_dims": expand_dims("expand_dims"),
    "unsqueeze": expand_dims("unsqueeze"),
    "squeeze": squeeze,
    "flip": flip,
    "moveaxis": moveaxis,
    "pad": pad,
    "repeat": repeat,
    "tile": tile,
    "split": split,
    "diagonal": at_least_2d(lambda x, k: x.diagonal(offset=k)),
    "trace": at_least_2d(lambda x, k: x.trace(offset=k)),
    "tril": at_least_2d(lambda x, k: x.tril(k)),
    "triu": at_least_2d(lambda x, k: x.triu(k)),
    "stack": stack,
    # comparisons (as masks)
    "lt": masked_by_comparison(lambda y, c: y < c),
    "le": masked_by_comparison(lambda y, c: y <= c),
    "gt": masked_by_comparison(lambda y, c: y > c),
    "ge": masked_by_comparison(lambda y, c: y >= c),
    "eq": masked_by_comparison(lambda y, c: (y == y) * (y != c)),
    # in place, on a fresh non-leaf (recorded in the graph)
    "add_": add_with_alpha("add_"),
    "sub_": add_with_alpha("sub_"),
    "mul_": in_place("mul_"),
    "div_": in_place("div_", guard=positive),
    "clamp_": clamp_,
    "fill_": fill_or_zero_("fill_"),
    "zero_": fill_or_zero_("zero_"),
    "copy_": copy_,
    "setitem": setitem,
}

# the public names each row exercises, where they differ from the row's name
COVERS = {
    "add": {"__add__"}, "sub": {"__sub__"}, "mul": {"__mul__"}, "truediv": {"__truediv__"},
    "pow": {"__pow__"}, "pow_number": {"__pow__"}, "pow_integer": {"__pow__"},
    "radd": {"__radd__"}, "rsub": {"__rsub__"}, "rmul": {"__rmul__"},
    "rtruediv": {"__rtruediv__"}, "rpow": {"__rpow__"}, "matmul": {"__matmul__"},
    "rmatmul": {"__rmatmul__", "__array_ufunc__"}, "neg": {"__neg__"}, "pos": {"__pos__"},
    "abs_operator": {"__abs__"}, "getitem": {"__getitem__"},
    "getitem_repeated": {"__getitem__"}, "setitem": {"__setitem__"},
    "lt": {"__lt__"}, "le": {"__le__"}, "gt": {"__gt__"}, "ge": {"__ge__"},
    "eq": {"__eq__", "__ne__"},
}

# public Tensor methods that are not ops on values (nothing to differentiate)
NOT_OPS = {"backward", "detach", "numpy", "item", "tolist", "requires_grad_", "retain_grad",
           "register_hook",
           "argmax", "argmin"}  # integer results: nothing to differentiate


# ============================================================================ building and checking


def build_program(data, inputs, first=None, max_steps=MAX_STEPS):
    """Random steps over `inputs` (Tensors), the first one `first` when given; returns the
    steps [(name, indices, apply)]. A step whose result is empty is dropped."""
    values = list(inputs)
    steps = []
    for k in range(data.draw(st.integers(1, max_steps), label="steps")):
        name = first if k == 0 and first else data.draw(st.sampled_from(sorted(OPS)), label="op")
        indices, apply = OPS[name](data.draw, values)
        out = apply(*[values[i] for i in indices])
        if out.size == 0:
            continue
        steps.append((name, indices, apply))
        values.append(out)
        if not np.isfinite(out.data).all() or np.abs(out.data).max(initial=0) > 20:
            steps.append(("squash", (len(values) - 1,), lambda x: (x / 20).tanh() * 20))
            values.append(steps[-1][2](out))
    return steps


def replay(steps, inputs, weights):
    """The program as a function of its inputs: the weighted sum of every unused value."""
    values = list(inputs)
    used = set()
    for _, indices, apply in steps:
        values.append(apply(*[values[i] for i in indices]))
        used.update(indices)
    total = None
    for k, v in enumerate(values):
        if k not in used and v.dtype.kind == "f":
            term = (v * weights(k, v.shape)).sum()
            total = term if total is None else total + term
    return total


def describe(steps):
    return " -> ".join(f"{name}{tuple(indices)}" for name, indices, _ in steps)


def shapes_of_inputs(max_dims):
    return st.integers(1, 3).flatmap(
        lambda n: hnp.mutually_broadcastable_shapes(num_shapes=n, min_dims=0, max_dims=max_dims,
                                                    min_side=1, max_side=3))


def check_random_graph(shapes, seed, data, first=None, max_steps=MAX_STEPS):
    rng = np.random.default_rng(seed)
    inputs = [mg.tensor(rng.normal(size=s), requires_grad=True) for s in shapes.input_shapes]
    steps = build_program(data, inputs, first, max_steps)
    weight_table = {}

    def weights(k, shape):
        if k not in weight_table:
            weight_table[k] = rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
        return weight_table[k]

    def fn(*xs):
        return replay(steps, xs, weights)

    program = describe(steps)
    assert mg.gradcheck(fn, inputs), program
    assert mg.gradgradcheck(fn, inputs, fast_mode=not THOROUGH), program


FUZZ = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                  HealthCheck.data_too_large])


@pytest.mark.parametrize("op", sorted(OPS))
@settings(max_examples=PER_OP, **FUZZ)
@given(shapes=shapes_of_inputs(2), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_each_op_in_random_graphs(op, shapes, seed, data):
    """Every row, in every run: a small random graph that starts with it."""
    check_random_graph(shapes, seed, data, first=op, max_steps=4)


@settings(max_examples=EXAMPLES, **FUZZ)
@given(shapes=shapes_of_inputs(3), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_random_graphs_first_and_second_derivatives(shapes, seed, data):
    check_random_graph(shapes, seed, data)


def test_every_public_op_has_a_row():
    """A public op without a row in OPS would never be fuzzed: this test names it."""
    covered = set(OPS) | set().union(*COVERS.values())
    public = {name for name, value in vars(mg.Tensor).items()
              if callable(value) and (not name.startswith("_") or name in _OPERATORS)}
    missing = sorted(public - covered - NOT_OPS)
    assert not missing, f"public Tensor ops with no row in tests/test_fuzz.py OPS: {missing}"


_OPERATORS = {"__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
              "__truediv__", "__rtruediv__", "__pow__", "__rpow__", "__matmul__",
              "__rmatmul__", "__neg__", "__pos__", "__abs__", "__getitem__", "__setitem__",
              "__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"}
