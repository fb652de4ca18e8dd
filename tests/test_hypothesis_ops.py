"""Property tests over random shapes: broadcasting binary ops, matmul, reductions over random axes,
elementwise ops, movement and indexing. Values against NumPy; gradients against a hand formula
(the broadcast sum is done independently with np.bincount) or mg.gradcheck."""

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

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
