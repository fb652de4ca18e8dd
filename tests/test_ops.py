"""Every op in one table, with its input domain: value against NumPy, gradients against finite
differences (mg.gradcheck), second derivatives (mg.gradgradcheck). Then closed forms, ties, and
numerical stability at extreme inputs."""

import warnings

import numpy as np
import pytest

import microgradnp as mg

T = mg.Tensor


# ============================================================================ input domains
# Each domain is a function rng -> float64 array. Kinked ops (relu, abs, max, clip) get inputs
# well away from their kinks, where finite differences are meaningful.


def normal(*shape):
    return lambda rng: rng.standard_normal(shape)


def positive(*shape):
    return lambda rng: rng.uniform(0.5, 2.0, shape)


def nonzero(*shape):
    """Away from 0 (relu, abs, leaky_relu): |x| >= 0.2."""
    return lambda rng: rng.choice([-1.0, 1.0], shape) * rng.uniform(0.2, 2.0, shape)


def distinct(*shape):
    """No two entries within 0.1 of each other (max, min: no ties, so no kinks)."""
    n = int(np.prod(shape))
    return lambda rng: (rng.permutation(n) * 0.3 - 0.15 * n + rng.uniform(0, 0.1, n)).reshape(
        shape)


def clip_domain(*shape):
    """Away from the clip bounds -0.5 and 0.5: on both sides of each, and inside."""
    values = np.array([-1.3, -0.8, -0.3, 0.0, 0.3, 0.8, 1.3])
    return lambda rng: rng.choice(values, shape) + rng.uniform(-0.1, 0.1, shape)


def softmax_ref(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def logsumexp_ref(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def sigmoid_ref(x):
    return 1 / (1 + np.exp(-x))


def softplus_ref(x):
    return np.log1p(np.exp(x))


A23 = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])  # a constant ndarray operand
MASK23 = np.array([[True, False, True], [False, False, True]])


def case(name, fn, ref, *domains):
    """One table row: `fn` on Tensors, `ref` the same on ndarrays, one domain per input."""
    return pytest.param(fn, ref, domains, id=name)


# ============================================================================ the table

OPS = [
    # ---- binary arithmetic, broadcasting, reflected forms ---------------------------------
    case("add", lambda x, y: x + y, lambda x, y: x + y, normal(2, 3), normal(2, 3)),
    case("add_broadcast", lambda x, y: x + y, lambda x, y: x + y, normal(2, 3), normal(3)),
    case("add_scalar_left", lambda x: 2 + x, lambda x: 2 + x, normal(2, 3)),
    case("add_ndarray_left", lambda x: A23 + x, lambda x: A23 + x, normal(3)),
    case("sub", lambda x, y: x - y, lambda x, y: x - y, normal(2, 3), normal(2, 1)),
    case("sub_scalar_left", lambda x: 2 - x, lambda x: 2 - x, normal(2, 3)),
    case("sub_ndarray_left", lambda x: A23 - x, lambda x: A23 - x, normal(2, 1)),
    case("mul", lambda x, y: x * y, lambda x, y: x * y, normal(2, 3), normal(1, 3)),
    case("mul_self", lambda x: x * x, lambda x: x * x, normal(2, 3)),
    case("mul_scalar_0d", lambda x, y: x * y, lambda x, y: x * y, normal(2, 3), normal()),
    case("mul_ndarray_left", lambda x: A23 * x, lambda x: A23 * x, normal(2, 3)),
    case("div", lambda x, y: x / y, lambda x, y: x / y, normal(2, 3), positive(3)),
    case("div_scalar_left", lambda x: 1 / x, lambda x: 1 / x, positive(2, 3)),
    case("div_ndarray_left", lambda x: A23 / x, lambda x: A23 / x, positive(2, 3)),
    case("div_scalar_right", lambda x: x / 4.0, lambda x: x / 4.0, normal(2, 3)),
    case("pow_int", lambda x: x**3, lambda x: x**3, normal(2, 3)),
    case("pow_float", lambda x: x**2.5, lambda x: x**2.5, positive(2, 3)),
    case("pow_negative", lambda x: x**-1.5, lambda x: x**-1.5, positive(2, 3)),
    case("pow_scalar_base", lambda x: 2.0**x, lambda x: 2.0**x, normal(2, 3)),
    case("pow_ndarray_base", lambda x: np.abs(A23) ** x, lambda x: np.abs(A23) ** x,
         normal(2, 3)),
    case("pow_tensor_tensor", lambda x, y: x**y, lambda x, y: x**y, positive(2, 3), normal(3)),
    case("neg", lambda x: -x, lambda x: -x, normal(2, 3)),
    # ---- matmul: every np.matmul rank combination, batch broadcasting, reflected ----------
    case("matmul_1d_1d", lambda x, y: x @ y, np.matmul, normal(4), normal(4)),
    case("matmul_1d_2d", lambda x, y: x @ y, np.matmul, normal(3), normal(3, 2)),
    case("matmul_2d_1d", lambda x, y: x @ y, np.matmul, normal(2, 3), normal(3)),
    case("matmul_2d_2d", lambda x, y: x @ y, np.matmul, normal(2, 3), normal(3, 4)),
    case("matmul_batched", lambda x, y: x @ y, np.matmul, normal(2, 2, 3), normal(2, 3, 2)),
    case("matmul_batch_broadcast", lambda x, y: x @ y, np.matmul,
         normal(2, 1, 2, 3), normal(3, 3, 2)),
    case("matmul_batch_2d", lambda x, y: x @ y, np.matmul, normal(2, 2, 3), normal(3, 2)),
    case("matmul_batch_1d", lambda x, y: x @ y, np.matmul, normal(2, 2, 3), normal(3)),
    case("matmul_1d_batch", lambda x, y: x @ y, np.matmul, normal(3), normal(2, 3, 2)),
    case("matmul_ndarray_left", lambda x: A23 @ x, lambda x: A23 @ x, normal(3, 2)),
    case("matmul_ndarray_right", lambda x: x @ A23, lambda x: x @ A23, normal(2, 2)),
    case("matmul_self", lambda x: x @ x, lambda x: x @ x, normal(3, 3)),
    # ---- elementwise --------------------------------------------------------------------------
    case("exp", lambda x: x.exp(), np.exp, normal(2, 3)),
    case("log", lambda x: x.log(), np.log, positive(2, 3)),
    case("sqrt", lambda x: x.sqrt(), np.sqrt, positive(2, 3)),
    case("abs", lambda x: x.abs(), np.abs, nonzero(2, 3)),
    case("tanh", lambda x: x.tanh(), np.tanh, normal(2, 3)),
    case("sigmoid", lambda x: x.sigmoid(), sigmoid_ref, normal(2, 3)),
    case("relu", lambda x: x.relu(), lambda x: np.maximum(x, 0), nonzero(2, 3)),
    case("leaky_relu", lambda x: x.leaky_relu(0.1), lambda x: np.where(x > 0, x, 0.1 * x),
         nonzero(2, 3)),
    case("leaky_relu_default", lambda x: x.leaky_relu(), lambda x: np.where(x > 0, x, 0.01 * x),
         nonzero(2, 3)),
    case("softplus", lambda x: x.softplus(), softplus_ref, normal(2, 3)),
    case("clip", lambda x: x.clip(-0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5), clip_domain(3, 4)),
    case("clip_min_only", lambda x: x.clip(min=-0.5), lambda x: np.maximum(x, -0.5),
         clip_domain(3, 4)),
    case("clip_max_only", lambda x: x.clip(max=0.5), lambda x: np.minimum(x, 0.5),
         clip_domain(3, 4)),
    case("mg_functions", lambda x: mg.exp(x) + mg.log(x) + mg.sqrt(x) + mg.tanh(x)
         + mg.sigmoid(x) + mg.relu(x),
         lambda x: np.exp(x) + np.log(x) + np.sqrt(x) + np.tanh(x) + sigmoid_ref(x) + x,
         positive(2, 3)),
    # ---- reductions ---------------------------------------------------------------------------
    case("sum", lambda x: x.sum(), np.sum, normal(2, 3)),
    case("sum_axis0", lambda x: x.sum(axis=0), lambda x: x.sum(axis=0), normal(2, 3)),
    case("sum_axis_neg", lambda x: x.sum(axis=-1), lambda x: x.sum(axis=-1), normal(2, 3, 2)),
    case("sum_axis_tuple", lambda x: x.sum(axis=(0, 2)), lambda x: x.sum(axis=(0, 2)),
         normal(2, 3, 2)),
    case("sum_axis_list", lambda x: x.sum(axis=[0, -1]), lambda x: x.sum(axis=(0, -1)),
         normal(2, 3, 2)),
    case("sum_keepdims", lambda x: x.sum(axis=1, keepdims=True),
         lambda x: x.sum(axis=1, keepdims=True), normal(2, 3, 2)),
    case("sum_keepdims_all", lambda x: x.sum(keepdims=True), lambda x: x.sum(keepdims=True),
         normal(2, 3)),
    case("mean", lambda x: x.mean(), np.mean, normal(2, 3)),
    case("mean_axis_neg", lambda x: x.mean(axis=-2), lambda x: x.mean(axis=-2), normal(2, 3, 2)),
    case("mean_axis_tuple_keepdims", lambda x: x.mean(axis=(0, 2), keepdims=True),
         lambda x: x.mean(axis=(0, 2), keepdims=True), normal(2, 3, 2)),
    case("max", lambda x: x.max(), np.max, distinct(2, 3)),
    case("max_axis", lambda x: x.max(axis=1), lambda x: x.max(axis=1), distinct(2, 3, 2)),
    case("max_axis_neg_keepdims", lambda x: x.max(axis=-1, keepdims=True),
         lambda x: x.max(axis=-1, keepdims=True), distinct(2, 3, 2)),
    case("max_axis_tuple", lambda x: x.max(axis=(0, 2)), lambda x: x.max(axis=(0, 2)),
         distinct(2, 3, 2)),
    case("min", lambda x: x.min(), np.min, distinct(2, 3)),
    case("min_axis_neg", lambda x: x.min(axis=-2), lambda x: x.min(axis=-2), distinct(2, 3, 2)),
    case("min_axis_tuple_keepdims", lambda x: x.min(axis=(1, 2), keepdims=True),
         lambda x: x.min(axis=(1, 2), keepdims=True), distinct(2, 3, 2)),
    case("logsumexp", lambda x: x.logsumexp(), logsumexp_ref, normal(2, 3)),
    case("logsumexp_axis", lambda x: x.logsumexp(axis=1), lambda x: logsumexp_ref(x, axis=1),
         normal(2, 3, 2)),
    case("logsumexp_axis_neg_keepdims", lambda x: x.logsumexp(axis=-1, keepdims=True),
         lambda x: logsumexp_ref(x, axis=-1, keepdims=True), normal(2, 3)),
    case("logsumexp_axis_tuple", lambda x: x.logsumexp(axis=(0, 2)),
         lambda x: logsumexp_ref(x, axis=(0, 2)), normal(2, 3, 2)),
    case("softmax", lambda x: x.softmax(), softmax_ref, normal(2, 3)),
    case("softmax_axis0", lambda x: x.softmax(axis=0), lambda x: softmax_ref(x, 0),
         normal(3, 2, 2)),
    case("log_softmax", lambda x: x.log_softmax(), lambda x: np.log(softmax_ref(x)),
         normal(2, 3)),
    case("log_softmax_axis1", lambda x: x.log_softmax(axis=1),
         lambda x: np.log(softmax_ref(x, 1)), normal(2, 3, 2)),
    # ---- shape ------------------------------------------------------------------------------
    case("reshape", lambda x: x.reshape(3, 4), lambda x: x.reshape(3, 4), normal(2, 3, 2)),
    case("reshape_tuple_infer", lambda x: x.reshape((-1, 2)), lambda x: x.reshape(-1, 2),
         normal(2, 3, 2)),
    case("transpose", lambda x: x.transpose(), np.transpose, normal(2, 3, 4)),
    case("transpose_axes", lambda x: x.transpose(2, 0, 1),
         lambda x: np.transpose(x, (2, 0, 1)), normal(2, 3, 4)),
    case("transpose_negative_axes", lambda x: x.transpose((-1, 0, -2)),
         lambda x: np.transpose(x, (-1, 0, -2)), normal(2, 3, 4)),
    case("T", lambda x: x.T, lambda x: x.T, normal(2, 3)),
    case("flatten", lambda x: x.flatten(), lambda x: x.ravel(), normal(2, 3, 2)),
    case("swapaxes", lambda x: x.swapaxes(0, -1), lambda x: np.swapaxes(x, 0, -1),
         normal(2, 3, 4)),
    case("broadcast_to", lambda x: x.broadcast_to((2, 3)),
         lambda x: np.broadcast_to(x, (2, 3)), normal(3)),
    case("broadcast_to_inner", lambda x: x.broadcast_to((2, 2, 3)),
         lambda x: np.broadcast_to(x, (2, 2, 3)), normal(2, 1)),
    # ---- indexing: basic, integer arrays (repeats accumulate), boolean masks ------------------
    case("getitem_int", lambda x: x[1], lambda x: x[1], normal(3, 4)),
    case("getitem_negative_int", lambda x: x[-1, -2], lambda x: x[-1, -2], normal(3, 4)),
    case("getitem_slice", lambda x: x[:, 1:3], lambda x: x[:, 1:3], normal(3, 4)),
    case("getitem_step", lambda x: x[::-1, ::2], lambda x: x[::-1, ::2], normal(3, 4)),
    case("getitem_ellipsis_newaxis", lambda x: x[None, ..., 0], lambda x: x[None, ..., 0],
         normal(2, 3, 4)),
    case("getitem_int_list_repeated", lambda x: x[[0, 2, 0, 0]], lambda x: x[[0, 2, 0, 0]],
         normal(3, 4)),
    case("getitem_int_array_2d", lambda x: x[np.array([[0, 1], [1, 1]])],
         lambda x: x[np.array([[0, 1], [1, 1]])], normal(3, 2)),
    case("getitem_int_pairs_repeated", lambda x: x[[0, 0, 2], [1, 1, 3]],
         lambda x: x[[0, 0, 2], [1, 1, 3]], normal(3, 4)),
    case("getitem_mixed", lambda x: x[1:, [3, 0, 3]], lambda x: x[1:, [3, 0, 3]], normal(3, 4)),
    case("getitem_tensor_index", lambda x: x[T(np.array([2, 2, 1]))],
         lambda x: x[np.array([2, 2, 1])], normal(3, 2)),
    case("getitem_bool_mask", lambda x: x[MASK23], lambda x: x[MASK23], normal(2, 3)),
    case("getitem_bool_tensor_mask", lambda x: x[T(MASK23[0])], lambda x: x[MASK23[0]],
         normal(3, 2)),
    # ---- joining and selecting ------------------------------------------------------------------
    case("concatenate", lambda x, y: mg.concatenate([x, y]), lambda x, y: np.concatenate([x, y]),
         normal(2, 3), normal(1, 3)),
    case("concatenate_axis_neg", lambda x, y, z: mg.concatenate([x, y, z], axis=-1),
         lambda x, y, z: np.concatenate([x, y, z], axis=-1), normal(2, 1), normal(2, 3),
         normal(2, 2)),
    case("concatenate_with_ndarray", lambda x: mg.concatenate([x, A23], axis=0),
         lambda x: np.concatenate([x, A23]), normal(1, 3)),
    case("stack", lambda x, y: mg.stack([x, y]), lambda x, y: np.stack([x, y]),
         normal(2, 3), normal(2, 3)),
    case("stack_axis_neg", lambda x, y, z: mg.stack((x, y, z), axis=-1),
         lambda x, y, z: np.stack((x, y, z), axis=-1), normal(2, 3), normal(2, 3), normal(2, 3)),
    case("stack_axis1", lambda x, y: mg.stack([x, y], axis=1), lambda x, y: np.stack([x, y], 1),
         normal(2, 3), normal(2, 3)),
    case("where", lambda x, y: mg.where(MASK23, x, y), lambda x, y: np.where(MASK23, x, y),
         normal(2, 3), normal(2, 3)),
    case("where_broadcast", lambda x, y: mg.where(MASK23, x, y),
         lambda x, y: np.where(MASK23, x, y), normal(3), normal(2, 1)),
    case("where_tensor_condition_scalar", lambda x: mg.where(T(MASK23), x, 0.0),
         lambda x: np.where(MASK23, x, 0.0), normal(2, 3)),
    case("where_from_comparison", lambda x: mg.where(x > 0, x, x * 0.5),
         lambda x: np.where(x > 0, x, x * 0.5), nonzero(2, 3)),
    # ---- composites: a few ops chained, as a model would --------------------------------------
    case("mlp", lambda x, w, b: ((x @ w + b).tanh() @ w.T).log_softmax().mean(),
         lambda x, w, b: np.log(softmax_ref(np.tanh(x @ w + b) @ w.T)).mean(),
         normal(4, 3), normal(3, 2), normal(2)),
    case("normalize", lambda x: (x - x.mean(axis=0)) / ((x * x).mean(axis=0) + 1).sqrt(),
         lambda x: (x - x.mean(axis=0)) / np.sqrt((x * x).mean(axis=0) + 1), normal(4, 3)),
]


def _inputs(domains, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [d(rng) for d in domains]
    return arrays, [T(a.copy(), requires_grad=True) for a in arrays]


@pytest.mark.parametrize("fn, ref, domains", OPS)
def test_value_matches_numpy(fn, ref, domains):
    arrays, xs = _inputs(domains)
    out = fn(*xs)
    expected = ref(*arrays)
    assert isinstance(out, T)
    assert out.shape == np.shape(expected)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-14)
    assert out.requires_grad and out.grad_fn is not None
    for x, a in zip(xs, arrays):
        np.testing.assert_array_equal(x.data, a)  # the op did not modify its inputs


@pytest.mark.parametrize("fn, ref, domains", OPS)
def test_gradient_matches_finite_differences(fn, ref, domains):
    _, xs = _inputs(domains, seed=1)
    assert mg.gradcheck(fn, xs)


@pytest.mark.parametrize("fn, ref, domains", OPS)
def test_second_derivative_matches_finite_differences(fn, ref, domains):
    _, xs = _inputs(domains, seed=2)
    assert mg.gradgradcheck(fn, xs)


@pytest.mark.parametrize("fn, ref, domains", OPS)
def test_backward_gives_each_input_a_gradient_of_its_shape(fn, ref, domains):
    _, xs = _inputs(domains, seed=3)
    out = fn(*xs)
    w = np.random.default_rng(4).standard_normal(out.shape)
    (out * w).sum().backward()
    for x in xs:
        assert x.grad is not None and x.grad.shape == x.shape and x.grad.dtype == np.float64
    # and the same numbers from mg.grad, which leaves .grad alone
    _, ys = _inputs(domains, seed=3)
    grads = mg.grad((fn(*ys) * w).sum(), ys)
    for x, y, g in zip(xs, ys, grads):
        np.testing.assert_allclose(g.data, x.grad, rtol=1e-12, atol=1e-15)
        assert y.grad is None


def test_the_table_covers_every_public_op():
    names = {p.id for p in OPS}
    expected = ["add", "sub", "mul", "div", "pow", "matmul", "neg", "exp", "log", "sqrt", "abs",
                "tanh", "sigmoid", "relu", "leaky_relu", "softplus", "clip", "sum", "mean",
                "max", "min", "logsumexp", "softmax", "log_softmax", "reshape", "transpose",
                "T", "flatten", "swapaxes", "broadcast_to", "getitem", "concatenate", "stack",
                "where"]
    for op in expected:
        assert any(n == op or n.startswith(op + "_") for n in names), op


# ============================================================================ closed forms


def test_grad_of_sum_of_squares_is_2x():
    x = T(np.random.default_rng(0).standard_normal((3, 2)), requires_grad=True)
    (g,) = mg.grad((x**2).sum(), x)
    np.testing.assert_allclose(g.data, 2 * x.data, rtol=1e-12)


def test_softmax_jacobian_is_diag_s_minus_s_s_transpose():
    x = T(np.random.default_rng(0).standard_normal(5), requires_grad=True)
    s = x.softmax()
    rows = [mg.grad(s[i], x, retain_graph=True)[0].data for i in range(5)]
    jac = np.stack(rows)
    sd = s.data
    np.testing.assert_allclose(jac, np.diag(sd) - np.outer(sd, sd), rtol=1e-10, atol=1e-15)


def test_logsumexp_gradient_is_softmax():
    x = T(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    (g,) = mg.grad(x.logsumexp(axis=1).sum(), x)
    np.testing.assert_allclose(g.data, softmax_ref(x.data, axis=1), rtol=1e-12)
    (g,) = mg.grad(x.logsumexp(), x)
    np.testing.assert_allclose(g.data, softmax_ref(x.data.ravel()).reshape(3, 4), rtol=1e-12)


def test_log_softmax_is_x_minus_logsumexp():
    x = T(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    np.testing.assert_allclose(x.log_softmax(axis=1).data,
                               (x - x.logsumexp(axis=1, keepdims=True)).data, rtol=1e-12)


def test_sigmoid_derivative_is_s_times_1_minus_s():
    x = T(np.linspace(-6, 6, 13), requires_grad=True)
    (g,) = mg.grad(x.sigmoid().sum(), x)
    s = sigmoid_ref(x.data)
    np.testing.assert_allclose(g.data, s * (1 - s), rtol=1e-12)


def test_softplus_derivative_is_sigmoid():
    x = T(np.linspace(-6, 6, 13), requires_grad=True)
    (g,) = mg.grad(x.softplus().sum(), x)
    np.testing.assert_allclose(g.data, sigmoid_ref(x.data), rtol=1e-12)


def test_repeated_indices_accumulate():
    x = T(np.arange(4.0), requires_grad=True)
    x[[0, 2, 0, 0, 3]].sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 0.0, 1.0, 1.0])
    y = T(np.zeros((2, 3)), requires_grad=True)
    (y[[1, 1], [2, 2]] * T([2.0, 5.0])).sum().backward()
    np.testing.assert_array_equal(y.grad, [[0, 0, 0], [0, 0, 7.0]])


def test_pow_gradient_at_zero_base():
    x = T(np.array([0.0, 0.0, 2.0]), requires_grad=True)
    with strict_numpy():
        (g0,) = mg.grad((x**0).sum(), x)  # x^0 = 1 is flat everywhere, 0 included
        (g1,) = mg.grad((x**1).sum(), x)
        (g2,) = mg.grad((x**2).sum(), x)
        (g3,) = mg.grad((x**3).sum(), x)
    np.testing.assert_array_equal(g0.data, [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(g1.data, [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(g2.data, [0.0, 0.0, 4.0])
    np.testing.assert_array_equal(g3.data, [0.0, 0.0, 12.0])


def test_boolean_mask_gradient_is_the_mask():
    x = T(np.random.default_rng(0).standard_normal((2, 3)), requires_grad=True)
    x[MASK23].sum().backward()
    np.testing.assert_array_equal(x.grad, MASK23.astype(float))


def test_relu_abs_clip_gradients_are_indicator_functions():
    x = T(np.array([-2.0, -0.5, 0.5, 2.0]), requires_grad=True)
    np.testing.assert_array_equal(mg.grad(x.relu().sum(), x)[0].data, [0, 0, 1, 1])
    np.testing.assert_array_equal(mg.grad(x.abs().sum(), x)[0].data, [-1, -1, 1, 1])
    np.testing.assert_array_equal(mg.grad(x.clip(-1, 1).sum(), x)[0].data, [0, 1, 1, 0])
    np.testing.assert_allclose(mg.grad(x.leaky_relu(0.2).sum(), x)[0].data, [.2, .2, 1, 1])


@pytest.mark.parametrize("data, axis, expected", [
    ([1.0, 3.0, 3.0], None, [0.0, 0.5, 0.5]),
    ([2.0, 2.0, 2.0, 2.0], None, [0.25] * 4),
    ([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], 1, [[0, 0.5, 0.5], [0.5, 0.5, 0]]),
    ([[1.0, 3.0], [1.0, 0.0], [1.0, 3.0]], 0, [[1 / 3, 0.5], [1 / 3, 0], [1 / 3, 0.5]]),
])
def test_max_ties_split_the_gradient_evenly(data, axis, expected):
    x = T(np.array(data), requires_grad=True)
    x.max(axis=axis).sum().backward()
    np.testing.assert_allclose(x.grad, expected, rtol=1e-12)
    y = T(-np.array(data), requires_grad=True)
    y.min(axis=axis).sum().backward()
    np.testing.assert_allclose(y.grad, expected, rtol=1e-12)


def test_max_tie_gradients_still_sum_to_the_upstream_gradient():
    x = T(np.array([[5.0, 5.0, 5.0], [1.0, 7.0, 7.0]]), requires_grad=True)
    (x.max(axis=1) * T([3.0, 4.0])).sum().backward()
    np.testing.assert_allclose(x.grad.sum(axis=1), [3.0, 4.0], rtol=1e-12)


# ============================================================================ stability


def strict_numpy():
    """NumPy overflow, division by zero and invalid operations raise; warnings are errors.

    Underflow stays allowed, as NumPy's default: exp(-1000) == 0.0 is the correctly rounded answer.
    """
    class _Strict:
        def __enter__(self):
            self.err = np.errstate(over="raise", divide="raise", invalid="raise")
            self.err.__enter__()
            self.warn = warnings.catch_warnings()
            self.warn.__enter__()
            warnings.simplefilter("error")

        def __exit__(self, *exc):
            self.warn.__exit__(*exc)
            self.err.__exit__(*exc)

    return _Strict()


def test_sigmoid_is_accurate_in_the_tails():
    for v in (-50.0, -100.0, -700.0):
        got = T(v).sigmoid().item()
        assert got == pytest.approx(1 / (1 + np.exp(-v)), rel=1e-12)
    x = T(np.array([-50.0, -30.0, 30.0, 50.0]))
    expected = np.array([1 / (1 + np.exp(50.0)), 1 / (1 + np.exp(30.0)),
                         1 / (1 + np.exp(-30.0)), 1.0])
    np.testing.assert_allclose(x.sigmoid().data, expected, rtol=1e-12)


def test_softplus_is_accurate_in_the_tails():
    x = T(np.array([-50.0, -20.0, 20.0, 50.0, 1000.0]))
    expected = np.array([np.exp(-50.0), np.log1p(np.exp(-20.0)), 20 + np.log1p(np.exp(-20.0)),
                         50.0, 1000.0])
    np.testing.assert_allclose(x.softplus().data, expected, rtol=1e-12)


EXTREME = np.array([[-1000.0, -1.0, 0.0, 1.0, 1000.0], [1000.0, 1000.0, -1000.0, 999.0, 0.0]])

STABLE = {
    "sigmoid": lambda x: x.sigmoid(),
    "softplus": lambda x: x.softplus(),
    "tanh": lambda x: x.tanh(),
    "logsumexp": lambda x: x.logsumexp(axis=1),
    "logsumexp_all": lambda x: x.logsumexp(),
    "softmax": lambda x: x.softmax(axis=1),
    "softmax_axis0": lambda x: x.softmax(axis=0),
    "log_softmax": lambda x: x.log_softmax(axis=1),
}


@pytest.mark.parametrize("name", list(STABLE))
def test_no_nan_inf_or_warning_at_plus_minus_1000(name):
    fn = STABLE[name]
    x = T(EXTREME.copy(), requires_grad=True)
    with strict_numpy():
        out = fn(x)
        w = np.linspace(0.5, 1.5, out.size).reshape(out.shape)
        (out * w).sum().backward()
        (g,) = mg.grad((fn(x) * w).sum(), x, create_graph=True)
        (g2,) = mg.grad((g * g).sum(), x)
    assert np.all(np.isfinite(out.data)), out
    assert np.all(np.isfinite(x.grad)), x.grad
    assert np.all(np.isfinite(g2.data)), g2


def test_extreme_values_are_right():
    x = T(np.array([-1000.0, 1000.0]))
    with strict_numpy():
        np.testing.assert_array_equal(x.sigmoid().data, [0.0, 1.0])
        np.testing.assert_array_equal(x.softplus().data, [0.0, 1000.0])
        assert x.logsumexp().item() == 1000.0
        np.testing.assert_array_equal(x.softmax().data, [0.0, 1.0])
        np.testing.assert_array_equal(x.log_softmax().data, [-2000.0, 0.0])
        assert T([1000.0, 1000.0]).logsumexp().item() == pytest.approx(1000 + np.log(2))
        assert T([-1000.0, -1000.0]).logsumexp().item() == pytest.approx(-1000 + np.log(2))
        np.testing.assert_allclose(T([1000.0, 1000.0]).softmax().data, [0.5, 0.5])


def test_softmax_gradient_at_saturation():
    x = T(np.array([1000.0, -1000.0, 0.0]), requires_grad=True)
    with strict_numpy():
        (g,) = mg.grad((x.softmax() * T([1.0, 2.0, 3.0])).sum(), x)
        (h,) = mg.grad((x.log_softmax() * T([1.0, 0.0, 0.0])).sum(), x)
    np.testing.assert_allclose(g.data, 0.0, atol=1e-300)  # s = (1, 0, 0): J = 0
    np.testing.assert_allclose(h.data, [0.0, 0.0, 0.0], atol=1e-300)


# ============================================================================ errors from ops


def test_matmul_of_a_scalar_is_an_error():
    with pytest.raises(ValueError, match="matmul"):
        T(2.0) @ T(np.ones(3))


def test_getitem_out_of_range_names_the_op():
    with pytest.raises(IndexError, match="getitem"):
        T(np.ones(3))[5]


def test_stack_of_different_shapes_is_an_error():
    with pytest.raises(ValueError, match="stack"):
        mg.stack([T(np.ones(2)), T(np.ones(3))])
    with pytest.raises(ValueError, match="stack"):
        mg.stack([])
    with pytest.raises(ValueError, match="concatenate"):
        mg.concatenate([])


@pytest.mark.parametrize("bad", [
    lambda x: x.sum(axis=2), lambda x: x.mean(axis=5), lambda x: x.mean(axis=(0, -3)),
    lambda x: x.max(axis=2), lambda x: x.min(axis=-3), lambda x: x.logsumexp(axis=4),
    lambda x: x.softmax(axis=3), lambda x: x.log_softmax(axis=-3),
    lambda x: x.transpose(0, 0), lambda x: x.transpose(0, 2), lambda x: x.swapaxes(0, 4),
    lambda x: mg.concatenate([x, x], axis=3), lambda x: mg.stack([x, x], axis=4),
    lambda x: x.broadcast_to((3, 3)), lambda x: x[0, 0, 0], lambda x: x.reshape(4),
], ids=["sum", "mean", "mean_tuple", "max", "min", "logsumexp", "softmax", "log_softmax",
        "transpose_repeat", "transpose_range", "swapaxes", "concatenate", "stack",
        "broadcast_to", "getitem", "reshape"])
def test_bad_axis_or_shape_is_a_clear_error(bad):
    x = T(np.ones((2, 3)), requires_grad=True)
    with pytest.raises((ValueError, IndexError)) as info:
        bad(x)
    msg = str(info.value)
    assert "(2, 3)" in msg or "dimension 2" in msg, msg  # names the shape involved
    assert "index out of range" not in msg, msg  # not a bare Python error from inside an op
