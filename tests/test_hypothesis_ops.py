"""Property tests over random shapes: broadcasting binary ops, matmul, reductions over random axes,
elementwise ops, movement and indexing. Values against NumPy; gradients against a hand formula
(the broadcast sum is done independently with np.bincount) or mg.gradcheck."""

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import assume, given, settings

import microgradnp as mg

T = mg.Tensor
SETTINGS = settings(max_examples=40, deadline=None)
seeds = st.integers(0, 2**32 - 1)


def sum_to(g, shape):
    """Sum `g` (broadcast shape) down to `shape`: every output element adds into the input
    element it was copied from. Independent of the engine's unbroadcast: it maps each output
    position to its source position by broadcasting an index array."""
    source = np.broadcast_to(np.arange(int(np.prod(shape))).reshape(shape), g.shape)
    return np.bincount(source.ravel(), weights=g.ravel(), minlength=int(np.prod(shape))).reshape(
        shape)


def expand(w, shape, axis, keepdims):
    """The upstream gradient `w` of a reduction, broadcast back over the reduced axes."""
    if not keepdims:
        axes = range(len(shape)) if axis is None else np.atleast_1d(axis)
        w = np.expand_dims(w, tuple(int(a) % len(shape) for a in axes)) if len(shape) else w
    return np.broadcast_to(w, shape)


# ============================================================================ binary ops


# op -> (engine op, value reference, partial derivatives (dx, dy), domain of x, domain of y)
def _normal(rng, shape):
    return rng.standard_normal(shape)


def _positive(rng, shape):
    return rng.uniform(0.5, 2.0, shape)


BINARY = {
    "add": (lambda x, y: x + y, np.add, lambda x, y: (np.ones_like(x * y), np.ones_like(x * y)),
            _normal, _normal),
    "sub": (lambda x, y: x - y, np.subtract,
            lambda x, y: (np.ones_like(x * y), -np.ones_like(x * y)), _normal, _normal),
    "mul": (lambda x, y: x * y, np.multiply, lambda x, y: (y + 0 * x, x + 0 * y),
            _normal, _normal),
    "div": (lambda x, y: x / y, np.divide, lambda x, y: (1 / y + 0 * x, -x / y**2),
            _normal, _positive),
    "pow": (lambda x, y: x**y, np.power, lambda x, y: (y * x ** (y - 1), x**y * np.log(x)),
            _positive, _normal),
    "maximum": (lambda x, y: mg.maximum(x, y), np.maximum,
                lambda x, y: ((x > y) + 0.5 * (x == y), (y > x) + 0.5 * (x == y)),
                _normal, _normal),
    "minimum": (lambda x, y: np.minimum(x, y), np.minimum,
                lambda x, y: ((x < y) + 0.5 * (x == y), (y < x) + 0.5 * (x == y)),
                _normal, _normal),
    "logaddexp": (lambda x, y: np.logaddexp(x, y), np.logaddexp,
                  lambda x, y: (np.exp(x - np.logaddexp(x, y)), np.exp(y - np.logaddexp(x, y))),
                  _normal, _normal),
}

pair_shapes = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4,
                                                min_side=1, max_side=3)


@pytest.mark.parametrize("op", list(BINARY))
@SETTINGS
@given(shapes=pair_shapes, seed=seeds)
def test_binary_op_broadcasting(op, shapes, seed):
    fn, ref, partials, dom_x, dom_y = BINARY[op]
    rng = np.random.default_rng(seed)
    (sx, sy), out_shape = shapes.input_shapes, shapes.result_shape
    a, b = dom_x(rng, sx), dom_y(rng, sy)
    x, y = T(a.copy(), requires_grad=True), T(b.copy(), requires_grad=True)
    out = fn(x, y)
    assert out.shape == out_shape
    np.testing.assert_allclose(out.data, ref(a, b), rtol=1e-15, atol=0)
    w = rng.standard_normal(out_shape)
    (out * w).sum().backward()
    dx, dy = partials(a, b)
    assert x.grad.shape == sx and y.grad.shape == sy
    np.testing.assert_allclose(x.grad, sum_to(w * dx, sx), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(y.grad, sum_to(w * dy, sy), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("op", list(BINARY))
@SETTINGS
@given(shapes=pair_shapes, seed=seeds, tensor_on_left=st.booleans())
def test_binary_op_with_an_ndarray_operand(op, shapes, seed, tensor_on_left):
    """One operand is a plain ndarray (on either side): only the Tensor gets a gradient."""
    fn, ref, partials, dom_x, dom_y = BINARY[op]
    rng = np.random.default_rng(seed)
    (sx, sy), out_shape = shapes.input_shapes, shapes.result_shape
    a, b = dom_x(rng, sx), dom_y(rng, sy)
    t = T((a if tensor_on_left else b).copy(), requires_grad=True)
    out = fn(t, b) if tensor_on_left else fn(a, t)
    assert isinstance(out, T) and out.shape == out_shape
    np.testing.assert_allclose(out.data, ref(a, b), rtol=1e-15, atol=0)
    w = rng.standard_normal(out_shape)
    (out * w).sum().backward()
    d = partials(a, b)[0 if tensor_on_left else 1]
    np.testing.assert_allclose(t.grad, sum_to(w * d, t.shape), rtol=1e-10, atol=1e-12)


@SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3,
                                                 max_side=3), seed=seeds)
def test_where_broadcasting(shapes, seed):
    rng = np.random.default_rng(seed)
    sc, sx, sy = shapes.input_shapes
    cond = rng.random(sc) < 0.5
    a, b = rng.standard_normal(sx), rng.standard_normal(sy)
    x, y = T(a, requires_grad=True), T(b, requires_grad=True)
    out = mg.where(cond, x, y)
    np.testing.assert_array_equal(out.data, np.where(cond, a, b))
    w = rng.standard_normal(shapes.result_shape)
    (out * w).sum().backward()
    full = np.broadcast_to(cond, shapes.result_shape)
    np.testing.assert_allclose(x.grad, sum_to(w * full, sx), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(y.grad, sum_to(w * ~full, sy), rtol=1e-12, atol=1e-14)


@SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(signature=np.matmul.signature, max_dims=2,
                                                 max_side=3), seed=seeds)
def test_matmul_any_ranks_and_batch_broadcasting(shapes, seed):
    rng = np.random.default_rng(seed)
    sx, sy = shapes.input_shapes
    a, b = rng.standard_normal(sx), rng.standard_normal(sy)
    x, y = T(a, requires_grad=True), T(b, requires_grad=True)
    out = x @ y
    expected = np.matmul(a, b)
    assert out.shape == expected.shape == shapes.result_shape
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    (out * rng.standard_normal(out.shape)).sum().backward()
    assert x.grad.shape == sx and y.grad.shape == sy
    assert mg.gradcheck(lambda p, q: p @ q, [x, y], fast_mode=True)


# ============================================================================ reductions


@st.composite
def shape_and_axis(draw, max_dims=4):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=1, max_side=4))
    n = len(shape)
    choices = [st.none(), hnp.valid_tuple_axes(n)]
    if n:
        choices.append(st.integers(-n, n - 1))
    return shape, draw(st.one_of(choices))


def _distinct(rng, shape):
    n = int(np.prod(shape))
    return (rng.permutation(n) + rng.uniform(0, 0.5, n)).reshape(shape)


def _lse(a, axis):
    m = np.max(a, axis=axis, keepdims=True)
    return np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m


REDUCTIONS = {
    # name: (engine, numpy value(a, axis, keepdims), d out / d a with keepdims (broadcastable))
    "sum": (lambda x, **k: x.sum(**k), np.sum, lambda a, axis: np.ones_like(a)),
    "mean": (lambda x, **k: x.mean(**k), np.mean,
             lambda a, axis: np.ones_like(a) * np.sum(np.ones_like(a), axis=axis,
                                                      keepdims=True) ** -1),
    "max": (lambda x, **k: x.max(**k), np.max,
            lambda a, axis: (a == np.max(a, axis=axis, keepdims=True)).astype(float)),
    "min": (lambda x, **k: x.min(**k), np.min,
            lambda a, axis: (a == np.min(a, axis=axis, keepdims=True)).astype(float)),
    "logsumexp": (lambda x, **k: x.logsumexp(**k),
                  lambda a, axis, keepdims: _lse(a, axis) if keepdims else np.squeeze(
                      _lse(a, axis), axis=axis),
                  lambda a, axis: np.exp(a - _lse(a, axis))),
}


@pytest.mark.parametrize("name", list(REDUCTIONS))
@SETTINGS
@given(shape_axis=shape_and_axis(), keepdims=st.booleans(), seed=seeds)
def test_reduction_over_random_axes(name, shape_axis, keepdims, seed):
    fn, ref, local = REDUCTIONS[name]
    shape, axis = shape_axis
    rng = np.random.default_rng(seed)
    a = _distinct(rng, shape)  # no ties, so max/min have a unique derivative
    x = T(a, requires_grad=True)
    out = fn(x, axis=axis, keepdims=keepdims)
    expected = ref(a, axis=axis, keepdims=keepdims)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)
    w = rng.standard_normal(out.shape)
    (out * w).sum().backward()
    assert x.grad.shape == shape
    np.testing.assert_allclose(x.grad, expand(w, shape, axis, keepdims) * local(a, axis),
                               rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=4, max_side=4), data=st.data(), seed=seeds)
def test_softmax_over_random_axis(name, shape, data, seed):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape) * 3
    x = T(a, requires_grad=True)
    s = np.exp(a - _lse(a, axis))
    out = getattr(x, name)(axis=axis)
    np.testing.assert_allclose(out.data, s if name == "softmax" else np.log(s), rtol=1e-12,
                               atol=1e-14)
    np.testing.assert_allclose(s.sum(axis=axis), 1.0, rtol=1e-12)
    w = rng.standard_normal(shape)
    (out * w).sum().backward()
    if name == "softmax":
        expected = s * (w - (w * s).sum(axis=axis, keepdims=True))
    else:
        expected = w - s * w.sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(x.grad, expected, rtol=1e-10, atol=1e-12)


# ============================================================================ elementwise

UNARY = {
    # name: (engine, numpy value, derivative, domain)
    "exp": (lambda x: x.exp(), np.exp, np.exp, _normal),
    "log": (lambda x: x.log(), np.log, lambda a: 1 / a, _positive),
    "sqrt": (lambda x: x.sqrt(), np.sqrt, lambda a: 0.5 / np.sqrt(a), _positive),
    "tanh": (lambda x: x.tanh(), np.tanh, lambda a: 1 / np.cosh(a) ** 2, _normal),
    "sigmoid": (lambda x: x.sigmoid(), lambda a: 1 / (1 + np.exp(-a)),
                lambda a: np.exp(-a) / (1 + np.exp(-a)) ** 2, _normal),
    "softplus": (lambda x: x.softplus(), lambda a: np.log1p(np.exp(a)),
                 lambda a: 1 / (1 + np.exp(-a)), _normal),
    "neg": (lambda x: -x, np.negative, lambda a: -np.ones_like(a), _normal),
    "relu": (lambda x: x.relu(), lambda a: np.maximum(a, 0), lambda a: (a > 0) * 1.0, _normal),
    "abs": (lambda x: x.abs(), np.abs, np.sign, _normal),
    "square": (lambda x: x**2, np.square, lambda a: 2 * a, _normal),
    "square_op": (lambda x: x.square(), np.square, lambda a: 2 * a, _normal),
    "sin": (lambda x: x.sin(), np.sin, np.cos, _normal),
    "cos": (lambda x: np.cos(x), np.cos, lambda a: -np.sin(a), _normal),
    "tan": (lambda x: x.tan(), np.tan, lambda a: 1 / np.cos(a) ** 2,
            lambda rng, shape: rng.uniform(-1.3, 1.3, shape)),
    "arctan": (lambda x: x.arctan(), np.arctan, lambda a: 1 / (1 + a * a), _normal),
    "sinh": (lambda x: x.sinh(), np.sinh, np.cosh, _normal),
    "cosh": (lambda x: x.cosh(), np.cosh, np.sinh, _normal),
    "log1p": (lambda x: x.log1p(), np.log1p, lambda a: 1 / (1 + a),
              lambda rng, shape: rng.uniform(-0.9, 3.0, shape)),
    "expm1": (lambda x: x.expm1(), np.expm1, np.exp, _normal),
    "log2": (lambda x: x.log2(), np.log2, lambda a: 1 / (a * np.log(2)), _positive),
    "log10": (lambda x: np.log10(x), np.log10, lambda a: 1 / (a * np.log(10)), _positive),
    "reciprocal": (lambda x: x.reciprocal(), np.reciprocal, lambda a: -1 / (a * a), _positive),
    "sign": (lambda x: x.sign(), np.sign, lambda a: 0 * a, _normal),
}


@pytest.mark.parametrize("name", list(UNARY))
@settings(max_examples=25, deadline=None)
@given(shape=hnp.array_shapes(min_dims=0, max_dims=4, max_side=4), seed=seeds)
def test_elementwise_over_random_shapes(name, shape, seed):
    fn, ref, deriv, domain = UNARY[name]
    rng = np.random.default_rng(seed)
    a = domain(rng, shape)
    x = T(a, requires_grad=True)
    out = fn(x)
    assert out.shape == shape
    np.testing.assert_allclose(out.data, ref(a), rtol=1e-12, atol=1e-300)
    w = rng.standard_normal(shape)
    (out * w).sum().backward()
    np.testing.assert_allclose(x.grad, w * deriv(a), rtol=1e-10, atol=1e-300)


# ============================================================================ movement, indexing


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=0, max_dims=4, max_side=3), data=st.data(), seed=seeds)
def test_transpose_with_random_permutation(shape, data, seed):
    perm = data.draw(st.permutations(range(len(shape))), label="perm")
    # write each axis as positive or negative at random: both name the same axis
    axes = tuple(data.draw(st.sampled_from([p, p - len(shape)])) for p in perm)
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    x = T(a, requires_grad=True)
    out = x.transpose(*axes) if axes else x.transpose()
    np.testing.assert_array_equal(out.data, np.transpose(a, axes or None))
    w = rng.standard_normal(out.shape)
    (out * w).sum().backward()
    np.testing.assert_array_equal(x.grad, np.transpose(w, np.argsort(perm) if perm else None))


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=0, max_dims=4, max_side=4), data=st.data(), seed=seeds)
def test_reshape_to_random_compatible_shape(shape, data, seed):
    size = int(np.prod(shape))
    new = data.draw(hnp.array_shapes(min_dims=0, max_dims=4, max_side=size or 1).filter(
        lambda s: int(np.prod(s)) == size), label="new_shape")
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    x = T(a, requires_grad=True)
    out = x.reshape(new)
    np.testing.assert_array_equal(out.data, a.reshape(new))
    w = rng.standard_normal(new)
    (out * w).sum().backward()
    np.testing.assert_array_equal(x.grad, w.reshape(shape))


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), data=st.data(), seed=seeds)
def test_basic_indexing(shape, data, seed):
    index = data.draw(hnp.basic_indices(shape, allow_newaxis=True), label="index")
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    x = T(a, requires_grad=True)
    out = x[index]
    np.testing.assert_array_equal(out.data, a[index])
    w = rng.standard_normal(out.shape)
    (out * w).sum().backward()
    expected = np.zeros(shape)
    expected[index] += w  # basic indexing is a view: no element is selected twice
    np.testing.assert_array_equal(x.grad, expected)


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), data=st.data(), seed=seeds)
def test_integer_array_indexing_accumulates_repeats(shape, data, seed):
    index = data.draw(hnp.integer_array_indices(shape), label="index")
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    x = T(a, requires_grad=True)
    out = x[index]
    np.testing.assert_array_equal(out.data, a[index])
    w = rng.standard_normal(out.shape)
    (out * w).sum().backward()
    expected = np.zeros(shape)
    np.add.at(expected, index, w)
    np.testing.assert_allclose(x.grad, expected, rtol=1e-12, atol=1e-15)


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), seed=seeds)
def test_boolean_mask_indexing(shape, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    mask = rng.random(shape) < 0.5
    x = T(a, requires_grad=True)
    out = x[mask]
    np.testing.assert_array_equal(out.data, a[mask])
    w = rng.standard_normal(out.shape)
    (out * w).sum().backward()
    expected = np.zeros(shape)
    expected[mask] = w
    np.testing.assert_array_equal(x.grad, expected)


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=3), n=st.integers(1, 3),
       data=st.data(), seed=seeds)
def test_concatenate_and_stack(shape, n, data, seed):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    rng = np.random.default_rng(seed)
    sizes = [data.draw(st.integers(1, 3)) for _ in range(n)]
    parts = []
    for k in sizes:
        s = list(shape)
        s[axis] = k
        parts.append(rng.standard_normal(s))
    xs = [T(p, requires_grad=True) for p in parts]
    out = mg.concatenate(xs, axis=axis)
    np.testing.assert_array_equal(out.data, np.concatenate(parts, axis=axis))
    w = rng.standard_normal(out.shape)
    (out * w).sum().backward()
    for x, g in zip(xs, np.split(w, np.cumsum(sizes)[:-1], axis=axis)):
        np.testing.assert_array_equal(x.grad, g)

    same = [T(rng.standard_normal(shape), requires_grad=True) for _ in range(n)]
    stack_axis = data.draw(st.integers(-len(shape) - 1, len(shape)), label="stack_axis")
    out = mg.stack(same, axis=stack_axis)
    np.testing.assert_array_equal(out.data, np.stack([s.data for s in same], axis=stack_axis))
    w = rng.standard_normal(out.shape)
    (out * w).sum().backward()
    for i, s in enumerate(same):
        np.testing.assert_array_equal(s.grad, np.take(w, i, axis=stack_axis))


@SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=1, min_dims=0, max_dims=3,
                                                 max_side=3), seed=seeds)
def test_broadcast_to_sums_back(shapes, seed):
    (shape,), target = shapes.input_shapes, shapes.result_shape
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    x = T(a, requires_grad=True)
    out = x.broadcast_to(target)
    np.testing.assert_array_equal(out.data, np.broadcast_to(a, target))
    w = rng.standard_normal(target)
    (out * w).sum().backward()
    np.testing.assert_allclose(x.grad, sum_to(w, shape), rtol=1e-12, atol=1e-14)


# ============================================================================ NumPy-style ops


def _signed(rng, shape):
    """|x| in [0.5, 1.5] with random signs: products neither overflow nor vanish."""
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 1.5, shape)


def _count(shape, axis):
    return int(np.prod([shape[a] for a in np.atleast_1d(axis)])) if axis is not None else int(
        np.prod(shape))


MORE_REDUCTIONS = {
    # name: (engine, numpy value(a, axis, keepdims), d out / d a with keepdims, ddof)
    "prod": (lambda x, **k: x.prod(**k), np.prod,
             lambda a, axis: np.prod(a, axis=axis, keepdims=True) / a, 0),
    "var": (lambda x, **k: x.var(**k), np.var,
            lambda a, axis: 2 * (a - a.mean(axis=axis, keepdims=True)) / _count(a.shape, axis), 0),
    "var_ddof1": (lambda x, **k: np.var(x, ddof=1, **k),
                  lambda a, axis, keepdims: np.var(a, axis=axis, ddof=1, keepdims=keepdims),
                  lambda a, axis: 2 * (a - a.mean(axis=axis, keepdims=True)) / (
                      _count(a.shape, axis) - 1), 1),
    "std": (lambda x, **k: x.std(**k), np.std,
            lambda a, axis: (a - a.mean(axis=axis, keepdims=True)) / _count(a.shape, axis)
            / np.std(a, axis=axis, keepdims=True), 0),
    "norm": (lambda x, **k: x.norm(**k),
             lambda a, axis, keepdims: np.sqrt(np.sum(a * a, axis=axis, keepdims=keepdims)),
             lambda a, axis: a / np.sqrt(np.sum(a * a, axis=axis, keepdims=True)), 0),
}


@pytest.mark.parametrize("name", list(MORE_REDUCTIONS))
@SETTINGS
@given(shape_axis=shape_and_axis(), keepdims=st.booleans(), seed=seeds)
def test_numpy_style_reduction_over_random_axes(name, shape_axis, keepdims, seed):
    fn, ref, local, ddof = MORE_REDUCTIONS[name]
    shape, axis = shape_axis
    if name.startswith(("var", "std")):
        assume(_count(shape, axis) > ddof + 1)  # a spread to differentiate
    rng = np.random.default_rng(seed)
    a = _signed(rng, shape)
    x = T(a, requires_grad=True)
    out = fn(x, axis=axis, keepdims=keepdims)
    expected = ref(a, axis=axis, keepdims=keepdims)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-14)
    w = rng.standard_normal(out.shape)
    (out * w).sum().backward()
    assert x.grad.shape == shape
    np.testing.assert_allclose(x.grad, expand(w, shape, axis, keepdims) * local(a, axis),
                               rtol=1e-9, atol=1e-12)


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=4, max_side=4), data=st.data(), seed=seeds)
def test_prod_with_zeros_is_the_product_of_the_others(shape, data, seed):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    rng = np.random.default_rng(seed)
    a = _signed(rng, shape) * (rng.random(shape) < 0.7)  # about a third are exact zeros
    x = T(a, requires_grad=True)
    out = x.prod(axis=axis)
    np.testing.assert_array_equal(out.data, np.prod(a, axis=axis))
    w = rng.standard_normal(out.shape)
    (out * w).sum().backward()
    moved = np.moveaxis(a, axis, -1)  # the product of the others, one position at a time
    others = np.stack([np.prod(np.delete(moved, i, axis=-1), axis=-1)
                       for i in range(moved.shape[-1])], axis=-1)
    expected = np.expand_dims(w, axis) * np.moveaxis(others, -1, axis)
    np.testing.assert_allclose(x.grad, expected, rtol=1e-12, atol=1e-300)


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), data=st.data(), seed=seeds)
def test_argmax_argmin_over_random_axis(shape, data, seed):
    axis = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)), label="axis")
    a = _distinct(np.random.default_rng(seed), shape)
    x = T(a, requires_grad=True)
    for fn in ("argmax", "argmin"):
        out = getattr(x, fn)(axis=axis)
        np.testing.assert_array_equal(out.data, getattr(np, fn)(a, axis=axis))
        assert not out.requires_grad and out.dtype.kind == "i"


def check_linear(fn, ref, a, rng):
    """`fn` (engine) equals `ref` (NumPy) on `a`, and its gradient is the adjoint of ref:
    <grad of sum(w * fn(x)), v> == <w, ref(v)> for a random v (the dot-product test)."""
    x = T(a, requires_grad=True)
    out = fn(x)
    expected = ref(a)
    assert isinstance(out, T) and out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-14)
    w = rng.standard_normal(out.shape)
    (out * w).sum().backward()
    assert x.grad.shape == a.shape
    v = rng.standard_normal(a.shape)
    np.testing.assert_allclose(np.sum(x.grad * v), np.sum(w * ref(v)), rtol=1e-10, atol=1e-10)


shapes_1_to_4 = hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=3)


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=3), data=st.data(),
       seed=seeds)
def test_squeeze_and_expand_dims(shape, data, seed):
    rng = np.random.default_rng(seed)
    ones = [i for i, n in enumerate(shape) if n == 1]
    axis = data.draw(st.one_of(st.none(), st.sampled_from(ones) if ones else st.none()))
    check_linear(lambda x: x.squeeze(axis), lambda a: np.squeeze(a, axis),
                 rng.standard_normal(shape), rng)
    new = data.draw(st.integers(-len(shape) - 1, len(shape)), label="new axis")
    check_linear(lambda x: x.unsqueeze(new), lambda a: np.expand_dims(a, new),
                 rng.standard_normal(shape), rng)


@SETTINGS
@given(shape=shapes_1_to_4, data=st.data(), seed=seeds)
def test_flip_moveaxis_cumsum_over_random_axes(shape, data, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    n = len(shape)
    axes = data.draw(st.one_of(st.none(), hnp.valid_tuple_axes(n, min_size=1)), label="flip")
    check_linear(lambda x: x.flip(axes), lambda v: np.flip(v, axes), a, rng)
    src = data.draw(hnp.valid_tuple_axes(n), label="source")
    dst = data.draw(st.permutations(range(n)).map(lambda p: tuple(p[:len(src)])), label="dst")
    check_linear(lambda x: x.moveaxis(src, dst), lambda v: np.moveaxis(v, src, dst), a, rng)
    axis = data.draw(st.one_of(st.none(), st.integers(-n, n - 1)), label="cumsum")
    check_linear(lambda x: x.cumsum(axis), lambda v: np.cumsum(v, axis), a, rng)


@SETTINGS
@given(shape=shapes_1_to_4, data=st.data(), seed=seeds)
def test_repeat_tile_pad_split(shape, data, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    n = len(shape)
    axis = data.draw(st.one_of(st.none(), st.integers(-n, n - 1)), label="repeat axis")
    length = a.size if axis is None else shape[axis]
    repeats = data.draw(st.one_of(st.integers(0, 3), st.lists(st.integers(0, 3), min_size=length,
                                                                 max_size=length)))
    check_linear(lambda x: x.repeat(repeats, axis), lambda v: np.repeat(v, repeats, axis), a, rng)
    reps = data.draw(st.lists(st.integers(0, 3), min_size=0, max_size=5).map(tuple), label="reps")
    check_linear(lambda x: x.tile(reps), lambda v: np.tile(v, reps), a, rng)
    widths = data.draw(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), min_size=n,
                                max_size=n), label="pad")
    check_linear(lambda x: x.pad(widths), lambda v: np.pad(v, widths), a, rng)
    axis = data.draw(st.integers(-n, n - 1), label="split axis")
    cuts = data.draw(st.lists(st.integers(0, shape[axis]), max_size=3).map(sorted), label="cuts")
    check_linear(lambda x: mg.concatenate(
                     [p * (k + 1) for k, p in enumerate(x.split(cuts, axis))], axis=axis),
                 lambda v: np.concatenate(
                     [p * (k + 1) for k, p in enumerate(np.split(v, cuts, axis))], axis=axis),
                 a, rng)


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=2, max_dims=4, min_side=1, max_side=4), data=st.data(),
       seed=seeds)
def test_triangles_diagonals_and_traces(shape, data, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    n = len(shape)
    k = data.draw(st.integers(-4, 4), label="k")
    check_linear(lambda x: x.tril(k), lambda v: np.tril(v, k), a, rng)
    check_linear(lambda x: x.triu(k), lambda v: np.triu(v, k), a, rng)
    axis1, axis2 = data.draw(st.permutations(range(n)), label="axes")[:2]
    check_linear(lambda x: x.diagonal(k, axis1, axis2), lambda v: np.diagonal(v, k, axis1, axis2),
                 a, rng)
    check_linear(lambda x: x.trace(k, axis1, axis2), lambda v: np.trace(v, k, axis1, axis2), a, rng)


@st.composite
def einsum_problems(draw):
    """Random explicit subscripts over 2 or 3 operands ('ab,bc->ca') with letter sizes 1 to 3."""
    sizes = {c: draw(st.integers(1, 3)) for c in "abcd"}
    operands = []
    for _ in range(draw(st.integers(2, 3))):
        order = draw(st.permutations("abcd"))
        operands.append("".join(order[:draw(st.integers(0, 3))]))
    used = draw(st.permutations(sorted(set("".join(operands)))))
    out = "".join(used[:draw(st.integers(0, len(used)))])
    return ",".join(operands) + "->" + out, [tuple(sizes[c] for c in s) for s in operands]


@SETTINGS
@given(problem=einsum_problems(), seed=seeds)
def test_einsum_with_random_subscripts(problem, seed):
    subscripts, shapes = problem
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) for s in shapes]
    xs = [T(a, requires_grad=True) for a in arrays]
    out = mg.einsum(subscripts, *xs)
    np.testing.assert_allclose(out.data, np.einsum(subscripts, *arrays), rtol=1e-10, atol=1e-12)
    w = rng.standard_normal(out.shape)
    (out * w).sum().backward()
    for i, (x, a) in enumerate(zip(xs, arrays)):  # linear in each operand: the dot-product test
        v = rng.standard_normal(a.shape)
        moved = [v if j == i else b for j, b in enumerate(arrays)]
        np.testing.assert_allclose(np.sum(x.grad * v), np.sum(w * np.einsum(subscripts, *moved)),
                                   rtol=1e-9, atol=1e-10)


@SETTINGS
@given(x_dims=st.integers(0, 3), y_dims=st.integers(0, 3), data=st.data(), seed=seeds)
def test_dot_over_random_ranks(x_dims, y_dims, data, seed):
    side = st.integers(1, 3)
    k = data.draw(side, label="k")
    sx = tuple(data.draw(side) for _ in range(x_dims - 1)) + (k,) if x_dims else ()
    sy = (tuple(data.draw(side) for _ in range(y_dims - 2)) + (k, data.draw(side)) if y_dims >= 2
          else (k,) * y_dims)
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal(sx), rng.standard_normal(sy)
    x, y = T(a, requires_grad=True), T(b, requires_grad=True)
    out = mg.dot(x, y)
    np.testing.assert_allclose(out.data, np.dot(a, b), rtol=1e-10, atol=1e-12)
    assert mg.gradcheck(mg.dot, [x, y], fast_mode=True)


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=3), seed=seeds)
def test_astype_keeps_the_graph_between_float_dtypes(shape, seed):
    a = np.random.default_rng(seed).standard_normal(shape)
    x = T(a, requires_grad=True)
    y = x.astype(np.float32)
    assert y.dtype == np.float32 and y.requires_grad
    (y.astype(np.float64) * 3).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad, np.full(shape, 3.0))
