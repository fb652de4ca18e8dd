"""Every op in one table, with its input domain: value against NumPy, gradients against finite
differences (mg.gradcheck), second derivatives (mg.gradgradcheck). Then closed forms, ties, and
numerical stability at extreme inputs."""

import warnings

import numpy as np
import pytest

import microgradnp as mg
from microgradnp import ops
from microgradnp.ops import IndexAdd

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


def between(lo, hi, *shape):
    return lambda rng: rng.uniform(lo, hi, shape)


def zeros_at(shape, positions):
    """Away from 0 (|x| >= 0.5), except exact zeros at `positions` (prod at its zeros)."""
    def domain(rng):
        a = rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 1.5, shape)
        for p in positions:
            a[p] = 0.0
        return a
    return domain


def index_add_ref(x, shape, index):
    out = np.zeros(shape)
    np.add.at(out, index, x)
    return out


def set_item_fn(x, v):
    y = x * 1.0
    y[1:, ::2] = v[:2]
    return y


def set_item_ref(x, v):
    y = x.copy()
    y[1:, ::2] = v[:2]
    return y


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
    # ---- NumPy-style elementwise ------------------------------------------------------------
    case("sin", lambda x: x.sin(), np.sin, normal(2, 3)),
    case("cos", lambda x: x.cos(), np.cos, normal(2, 3)),
    case("tan", lambda x: x.tan(), np.tan, between(-1.2, 1.2, 2, 3)),
    case("arctan", lambda x: x.arctan(), np.arctan, normal(2, 3)),
    case("sinh", lambda x: x.sinh(), np.sinh, normal(2, 3)),
    case("cosh", lambda x: x.cosh(), np.cosh, normal(2, 3)),
    case("log1p", lambda x: x.log1p(), np.log1p, between(-0.5, 2.0, 2, 3)),
    case("expm1", lambda x: x.expm1(), np.expm1, normal(2, 3)),
    case("log2", lambda x: x.log2(), np.log2, positive(2, 3)),
    case("log10", lambda x: x.log10(), np.log10, positive(2, 3)),
    case("reciprocal", lambda x: x.reciprocal(), np.reciprocal, nonzero(2, 3)),
    case("sign", lambda x: x.sign() * x, lambda x: np.sign(x) * x, nonzero(2, 3)),
    case("sign_alone", lambda x: x.sign(), np.sign, nonzero(2, 3)),
    case("square", lambda x: x.square(), np.square, normal(2, 3)),
    case("mg_numpy_style_functions", lambda x: mg.sin(x) + mg.cos(x) + mg.tan(x) + mg.arctan(x)
         + mg.sinh(x) + mg.cosh(x) + mg.log1p(x) + mg.expm1(x) + mg.log2(x) + mg.log10(x)
         + mg.reciprocal(x) + mg.sign(x) + mg.square(x),
         lambda x: np.sin(x) + np.cos(x) + np.tan(x) + np.arctan(x) + np.sinh(x) + np.cosh(x)
         + np.log1p(x) + np.expm1(x) + np.log2(x) + np.log10(x) + 1 / x + np.sign(x) + x * x,
         between(0.3, 1.2, 2, 3)),
    case("maximum", lambda x, y: x.maximum(y), np.maximum, normal(2, 3), normal(2, 3)),
    case("maximum_broadcast", lambda x, y: mg.maximum(x, y), np.maximum, normal(2, 3),
         normal(3)),
    case("maximum_scalar", lambda x: mg.maximum(x, 0.25), lambda x: np.maximum(x, 0.25),
         nonzero(2, 3)),
    case("maximum_ndarray_left", lambda x: mg.maximum(A23, x), lambda x: np.maximum(A23, x),
         normal(2, 1)),
    case("minimum", lambda x, y: x.minimum(y), np.minimum, normal(2, 3), normal(2, 1)),
    case("minimum_ndarray_left", lambda x: mg.minimum(A23, x), lambda x: np.minimum(A23, x),
         normal(3)),
    case("logaddexp", lambda x, y: x.logaddexp(y), np.logaddexp, normal(2, 3), normal(2, 1)),
    case("logaddexp_ndarray", lambda x: mg.logaddexp(A23, x), lambda x: np.logaddexp(A23, x),
         normal(3)),
    # ---- NumPy-style reductions ---------------------------------------------------------------
    case("prod", lambda x: x.prod(), np.prod, normal(2, 3)),
    case("prod_axis", lambda x: x.prod(axis=1), lambda x: x.prod(axis=1), normal(2, 3, 2)),
    case("prod_axis_tuple_keepdims", lambda x: x.prod(axis=(0, -1), keepdims=True),
         lambda x: x.prod(axis=(0, -1), keepdims=True), normal(2, 3, 2)),
    case("prod_zeros", lambda x: x.prod(axis=1), lambda x: x.prod(axis=1),
         zeros_at((4, 4), [(1, 2), (2, 0), (2, 3), (3, 0), (3, 1), (3, 3)])),  # 0, 1, 2, 3 zeros
    case("prod_one_zero_all", lambda x: x.prod(), np.prod, zeros_at((2, 3), [(1, 1)])),
    case("prod_two_zeros_all", lambda x: x.prod(), np.prod, zeros_at((2, 3), [(0, 2), (1, 1)])),
    case("var", lambda x: x.var(), np.var, normal(2, 3)),
    case("var_axis_ddof", lambda x: x.var(axis=0, ddof=1), lambda x: np.var(x, 0, ddof=1),
         normal(3, 2)),
    case("var_axis_tuple_keepdims", lambda x: x.var(axis=(0, 2), keepdims=True),
         lambda x: np.var(x, axis=(0, 2), keepdims=True), normal(2, 3, 2)),
    case("std", lambda x: x.std(), np.std, normal(2, 3)),
    case("std_axis_ddof_keepdims", lambda x: mg.std(x, axis=-1, ddof=1, keepdims=True),
         lambda x: np.std(x, axis=-1, ddof=1, keepdims=True), normal(2, 3)),
    case("cumsum", lambda x: x.cumsum(), np.cumsum, normal(2, 3)),
    case("cumsum_axis", lambda x: mg.cumsum(x, axis=1), lambda x: np.cumsum(x, axis=1),
         normal(2, 3, 2)),
    case("cumsum_axis_neg", lambda x: x.cumsum(axis=-3), lambda x: np.cumsum(x, axis=-3),
         normal(2, 3, 2)),
    case("norm", lambda x: x.norm(), np.linalg.norm, normal(2, 3)),
    case("norm_axis", lambda x: x.norm(axis=1), lambda x: np.linalg.norm(x, axis=1),
         normal(2, 3, 2)),
    case("norm_axis_tuple_keepdims", lambda x: x.norm(axis=(0, 2), keepdims=True),
         lambda x: np.sqrt((x * x).sum(axis=(0, 2), keepdims=True)), normal(2, 3, 2)),
    # ---- NumPy-style shape ----------------------------------------------------------------
    case("squeeze", lambda x: x.squeeze(), np.squeeze, normal(2, 1, 3, 1)),
    case("squeeze_axis", lambda x: mg.squeeze(x, axis=(1, -1)),
         lambda x: np.squeeze(x, axis=(1, -1)), normal(2, 1, 3, 1)),
    case("expand_dims", lambda x: mg.expand_dims(x, (0, -1)),
         lambda x: np.expand_dims(x, (0, -1)), normal(2, 3)),
    case("unsqueeze", lambda x: x.unsqueeze(1), lambda x: x[:, None], normal(2, 3)),
    case("flip", lambda x: x.flip(), np.flip, normal(2, 3)),
    case("flip_axis", lambda x: mg.flip(x, axis=-1), lambda x: np.flip(x, -1), normal(2, 3, 2)),
    case("flip_axes", lambda x: x.flip((0, 2)), lambda x: np.flip(x, (0, 2)), normal(2, 3, 2)),
    case("repeat", lambda x: x.repeat(2), lambda x: np.repeat(x, 2), normal(2, 3)),
    case("repeat_counts_axis", lambda x: mg.repeat(x, [1, 3, 0], axis=-1),
         lambda x: np.repeat(x, [1, 3, 0], axis=-1), normal(2, 3)),
    case("tile", lambda x: x.tile(2), lambda x: np.tile(x, 2), normal(2, 3)),
    case("tile_more_reps", lambda x: mg.tile(x, (2, 1, 3)), lambda x: np.tile(x, (2, 1, 3)),
         normal(2, 3)),
    case("tile_fewer_reps", lambda x: x.tile((2, 1)), lambda x: np.tile(x, (2, 1)),
         normal(2, 3, 2)),
    case("pad", lambda x: x.pad(1), lambda x: np.pad(x, 1), normal(2, 3)),
    case("pad_0d", lambda x: x.pad(2), lambda x: np.pad(x, 2), normal()),
    case("pad_widths_value", lambda x: mg.pad(x, ((1, 0), (0, 2)), constant_values=0.5),
         lambda x: np.pad(x, ((1, 0), (0, 2)), constant_values=0.5), normal(2, 3)),
    case("split", lambda x: mg.stack([p.sum() * k for k, p in enumerate(x.split(3, axis=1), 1)]),
         lambda x: np.stack([p.sum() * k for k, p in enumerate(np.split(x, 3, axis=1), 1)]),
         normal(2, 6)),
    case("split_indices", lambda x: mg.concatenate(
        [p * k for k, p in enumerate(mg.split(x, [1, 3, 3], axis=0), 1)]),
         lambda x: np.concatenate([p * k for k, p in enumerate(np.split(x, [1, 3, 3]), 1)]),
         normal(4, 2)),
    case("moveaxis", lambda x: x.moveaxis(0, -1), lambda x: np.moveaxis(x, 0, -1),
         normal(2, 3, 4)),
    case("moveaxis_several", lambda x: mg.moveaxis(x, (0, 1), (-1, 0)),
         lambda x: np.moveaxis(x, (0, 1), (-1, 0)), normal(2, 3, 4)),
    case("tril", lambda x: x.tril(), np.tril, normal(3, 4)),
    case("tril_k_batched", lambda x: mg.tril(x, -1), lambda x: np.tril(x, -1), normal(2, 3, 3)),
    case("triu", lambda x: x.triu(), np.triu, normal(3, 4)),
    case("triu_k", lambda x: mg.triu(x, k=1), lambda x: np.triu(x, k=1), normal(4, 3)),
    case("diagonal", lambda x: x.diagonal(), np.diagonal, normal(3, 4)),
    case("diagonal_offset", lambda x: mg.diagonal(x, 1), lambda x: np.diagonal(x, 1),
         normal(3, 4)),
    case("diagonal_negative_offset_axes", lambda x: x.diagonal(-1, axis1=2, axis2=0),
         lambda x: np.diagonal(x, -1, axis1=2, axis2=0), normal(3, 2, 4)),
    case("trace", lambda x: x.trace(), np.trace, normal(3, 3)),
    case("trace_offset_batched", lambda x: mg.trace(x, 1, axis1=1, axis2=2),
         lambda x: np.trace(x, 1, axis1=1, axis2=2), normal(2, 3, 4)),
    case("astype", lambda x: x.astype(np.float64) * x, lambda x: x * x, normal(2, 3)),
    case("astype_through_longdouble", lambda x: x.astype(np.longdouble).astype("float64"),
         lambda x: x, normal(2, 3)),
    case("concatenate_axis_none", lambda x, y: mg.concatenate([x, A23, y], axis=None),
         lambda x, y: np.concatenate([x, A23, y], axis=None), normal(2, 2), normal(3)),
    # ---- products -----------------------------------------------------------------------
    case("einsum_matmul", lambda x, y: mg.einsum("ij,jk->ik", x, y),
         lambda x, y: x @ y, normal(2, 3), normal(3, 4)),
    case("einsum_three", lambda x, y, z: mg.einsum("ij,jk,kl->li", x, y, z),
         lambda x, y, z: (x @ y @ z).T, normal(2, 3), normal(3, 4), normal(4, 2)),
    case("einsum_batched", lambda x, y: mg.einsum("bij,bjk->bik", x, y), np.matmul,
         normal(2, 2, 3), normal(2, 3, 2)),
    case("einsum_inner", lambda x, y: mg.einsum("ij,ij->", x, y),
         lambda x, y: (x * y).sum(), normal(2, 3), normal(2, 3)),
    case("einsum_summed_alone", lambda x, y: mg.einsum("ij,k->ik", x, y),
         lambda x, y: np.outer(x.sum(1), y), normal(2, 3), normal(4)),
    case("einsum_broadcast_size_1", lambda x, y: mg.einsum("ij,j->i", x, y),
         lambda x, y: x.sum(1) * y.sum(), normal(2, 1), normal(3)),
    case("einsum_one_operand_ndarray", lambda x: mg.einsum("ij,jk->ki", A23, x),
         lambda x: (A23 @ x).T, normal(3, 2)),
    case("einsum_transpose", lambda x: mg.einsum("ijk->kij", x),
         lambda x: np.transpose(x, (2, 0, 1)), normal(2, 3, 4)),
    case("outer", lambda x, y: x.outer(y), np.outer, normal(3), normal(2, 2)),
    case("dot_scalar", lambda x, y: mg.dot(x, y), np.dot, normal(), normal(2, 3)),
    case("dot_1d_1d", lambda x, y: x.dot(y), np.dot, normal(4), normal(4)),
    case("dot_2d_1d", lambda x, y: x.dot(y), np.dot, normal(2, 3), normal(3)),
    case("dot_2d_2d", lambda x, y: mg.dot(x, y), np.dot, normal(2, 3), normal(3, 2)),
    case("dot_nd_2d", lambda x, y: mg.dot(x, y), np.dot, normal(2, 2, 3), normal(3, 2)),
    case("dot_nd_nd", lambda x, y: mg.dot(x, y), np.dot, normal(2, 3), normal(2, 3, 2)),
    case("dot_1d_nd", lambda x, y: mg.dot(x, y), np.dot, normal(3), normal(2, 3, 2)),
    case("dot_ndarray", lambda x: mg.dot(A23, x), lambda x: np.dot(A23, x), normal(2, 3, 2)),
    # ---- the engine's own helpers -----------------------------------------------------------
    case("index_add", lambda x: IndexAdd.apply(x, shape=(4, 2), index=np.array([0, 3, 0])),
         lambda x: index_add_ref(x, (4, 2), np.array([0, 3, 0])), normal(3, 2)),
    case("set_item", set_item_fn, set_item_ref, normal(3, 4), normal(4)),
    # ---- NumPy's functions on Tensors build the same graph ----------------------------------
    case("np_ufuncs", lambda x, y: np.sin(x) * np.maximum(x, y) + np.logaddexp(x, y)
         - np.square(y) / np.exp(x) + np.matmul(x, y.T),
         lambda x, y: np.sin(x) * np.maximum(x, y) + np.logaddexp(x, y) - np.square(y) / np.exp(x)
         + np.matmul(x, y.T), normal(2, 2), normal(2, 2)),
    case("np_functions", lambda x, y: np.sum(np.concatenate([x, y]) ** 2, axis=0)
         + np.mean(np.where(MASK23, x, y), axis=0) + np.max(np.stack([x, y]), axis=(0, 1))
         + np.dot(np.transpose(x), np.reshape(y, (2, 3)))[0] + np.einsum("ij,ij->j", x, y)
         + np.prod(x, axis=0) + np.std(y, axis=0) + np.trace(np.outer(x, y))
         + np.clip(x, -1.5, 1.5)[1] + np.linalg.norm(x, axis=0),
         lambda x, y: np.sum(np.concatenate([x, y]) ** 2, axis=0)
         + np.mean(np.where(MASK23, x, y), axis=0) + np.max(np.stack([x, y]), axis=(0, 1))
         + np.dot(np.transpose(x), np.reshape(y, (2, 3)))[0] + np.einsum("ij,ij->j", x, y)
         + np.prod(x, axis=0) + np.std(y, axis=0) + np.trace(np.outer(x, y))
         + np.clip(x, -1.5, 1.5)[1] + np.linalg.norm(x, axis=0),
         clip_domain(2, 3), distinct(2, 3)),
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


FLOAT64_CONSTANTS = ("ndarray", "astype", "axis_none")  # rows mixing in float64 on purpose


@pytest.mark.parametrize("fn, ref, domains", [
    p for p in OPS if not any(word in p.id for word in FLOAT64_CONSTANTS)])
def test_float32_stays_float32_and_so_do_its_gradients(fn, ref, domains):
    arrays, _ = _inputs(domains)
    xs = [T(a.astype(np.float32), requires_grad=True) for a in arrays]
    out = fn(*xs)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, ref(*arrays), rtol=2e-4, atol=2e-5)
    out.sum().backward()
    for x in xs:
        assert x.grad.dtype == np.float32


# Ops whose results are integers: no gradient, so a table of their own (value and no graph).
NOT_DIFFERENTIABLE_OPS = [
    case("argmax", lambda x: x.argmax(), np.argmax, normal(2, 3)),
    case("argmax_axis_keepdims", lambda x: mg.argmax(x, axis=-1, keepdims=True),
         lambda x: np.argmax(x, axis=-1, keepdims=True), normal(2, 3, 2)),
    case("argmin", lambda x: x.argmin(axis=0), lambda x: np.argmin(x, axis=0), normal(2, 3)),
    case("argmin_flat", lambda x: mg.argmin(x), np.argmin, normal(2, 3)),
    case("astype_to_int", lambda x: (x * 10).astype(np.int64), lambda x: (x * 10).astype(int),
         normal(2, 3)),
]


@pytest.mark.parametrize("fn, ref, domains", NOT_DIFFERENTIABLE_OPS)
def test_integer_results_match_numpy_and_carry_no_gradient(fn, ref, domains):
    arrays, xs = _inputs(domains)
    out = fn(*xs)
    expected = ref(*arrays)
    assert isinstance(out, T) and out.dtype.kind == "i"
    np.testing.assert_array_equal(out.data, expected)
    assert out.shape == np.shape(expected)
    assert not out.requires_grad and out.grad_fn is None


# Composites in ops.py that a Tensor method or mg function reaches under another name.
ROW_NAMES = {"minimum_reduce": "min"}
NOT_OPS = {"call", "array_ufunc", "array_function", "supported_numpy_functions"}


def ops_defined_in_ops_py():
    """Every op ops.py defines: the display name of each Function subclass (the primitives),
    and each public function (the composites and mg.* functions), so an op without a row fails."""
    names = set()
    for name, obj in vars(ops).items():
        if getattr(obj, "__module__", None) != ops.__name__ or name.startswith("_"):
            continue
        if isinstance(obj, type) and issubclass(obj, mg.Function):
            names.add(obj.display_name())
        elif callable(obj) and not isinstance(obj, type) and name not in NOT_OPS:
            names.add(ROW_NAMES.get(name, name))
    return names


def test_the_table_covers_every_op_in_ops_py():
    names = {p.id for p in OPS + NOT_DIFFERENTIABLE_OPS}
    found = ops_defined_in_ops_py()
    assert {"add", "exp", "getitem", "index_add", "prod", "einsum", "squeeze", "argmax"} <= found
    missing = [op for op in sorted(found)
               if not any(n == op or n.startswith(op + "_") for n in names)]
    assert not missing, f"ops without a row in the op table: {missing}"


def test_every_tensor_method_from_the_issue_exists():
    for name in ["sin", "cos", "tan", "arctan", "sinh", "cosh", "log1p", "expm1", "log2", "log10",
                 "reciprocal", "sign", "square", "maximum", "minimum", "logaddexp", "prod", "var",
                 "std", "cumsum", "argmax", "argmin", "norm", "squeeze", "unsqueeze",
                 "expand_dims", "flip", "repeat", "tile", "pad", "split", "moveaxis", "tril",
                 "triu", "diagonal", "trace", "astype", "dot", "outer"]:
        assert callable(getattr(T, name, None)), name


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


def test_prod_gradient_and_hessian_at_zeros():
    """The gradient is the product of the others; the Hessian the product of all but two."""
    cases = {
        (2.0, 0.0, 3.0): ([0.0, 6.0, 0.0], [[0, 3, 0], [3, 0, 2], [0, 2, 0]]),  # one zero
        (0.0, 0.0, 3.0): ([0.0, 0.0, 0.0], [[0, 3, 0], [3, 0, 0], [0, 0, 0]]),  # two zeros
        (0.0, 0.0, 0.0): ([0.0, 0.0, 0.0], np.zeros((3, 3))),  # three
        (2.0, 4.0, 3.0): ([12.0, 6.0, 8.0], [[0, 3, 4], [3, 0, 2], [4, 2, 0]]),  # none
    }
    for data, (grad, hess) in cases.items():
        x = T(np.array(data), requires_grad=True)
        with strict_numpy():
            (g,) = mg.grad(x.prod(), x)
            h = mg.hessian(lambda v: v.prod(), x)
        np.testing.assert_array_equal(g.data, grad)
        np.testing.assert_array_equal(np.asarray(h), hess)


def test_norm_gradient_is_finite_and_zero_at_zero():
    x = T(np.array([[0.0, 0.0], [3.0, 4.0]]), requires_grad=True)
    with strict_numpy():
        x.norm(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad, [[0.0, 0.0], [0.6, 0.8]], rtol=1e-15)
    z = T(np.zeros(3), requires_grad=True)
    with strict_numpy():
        z.norm().backward()
    np.testing.assert_array_equal(z.grad, [0.0, 0.0, 0.0])


def test_maximum_minimum_ties_split_the_gradient_evenly():
    x = T(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = T(np.array([3.0, 2.0, 1.0]), requires_grad=True)
    mg.maximum(x, y).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(y.grad, [1.0, 0.5, 0.0])
    x.grad = y.grad = None
    (x.minimum(y) * 2).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 1.0, 0.0])
    np.testing.assert_array_equal(y.grad, [0.0, 1.0, 2.0])


def test_std_is_sqrt_var_and_var_matches_numpy_ddof():
    a = np.random.default_rng(0).standard_normal((4, 5))
    x = T(a, requires_grad=True)
    for ddof in (0, 1, 2):
        np.testing.assert_allclose(x.var(axis=1, ddof=ddof).data, a.var(axis=1, ddof=ddof),
                                   rtol=1e-13)
        np.testing.assert_allclose(x.std(ddof=ddof).data, a.std(ddof=ddof), rtol=1e-13)


def test_astype_float32_keeps_the_graph_and_casts_the_gradient_back():
    x = T(np.array([1.0, 2.0]), requires_grad=True)
    y = x.astype(np.float32)
    assert y.dtype == np.float32 and y.grad_fn is not None and y.grad_fn.name == "astype"
    (y * y).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])
    assert not x.astype(np.int32).requires_grad


def test_concatenate_axis_none_flattens_like_numpy():
    x, y = T(np.ones((2, 2)), requires_grad=True), T(np.zeros(3), requires_grad=True)
    out = mg.concatenate([x, y], axis=None)
    assert out.shape == (7,)
    (out * np.arange(7.0)).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 1], [2, 3]])
    np.testing.assert_array_equal(y.grad, [4, 5, 6])


def test_split_returns_numpy_pieces():
    x = T(np.arange(10.0), requires_grad=True)
    for spec in (5, [2, 7], [3, 3, 12], [8, 2]):
        pieces = x.split(spec)
        expected = np.split(np.arange(10.0), spec)
        assert [p.shape for p in pieces] == [e.shape for e in expected]
        for p, e in zip(pieces, expected):
            np.testing.assert_array_equal(p.data, e)


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
    "logaddexp": lambda x: x.logaddexp(x.flip(0)),
    "logaddexp_same": lambda x: np.logaddexp(x, x),
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


@pytest.mark.parametrize("bad, match", [
    (lambda x: x.squeeze(axis=1), r"squeeze: .*\(input shape \(2, 3\)\)"),
    (lambda x: x.unsqueeze(4), r"expand_dims: .*\(input shape \(2, 3\)\)"),
    (lambda x: x.split(4, axis=1), r"split: length 3 of axis 1 \(shape \(2, 3\)\)"),
    (lambda x: x.split(2, axis=2), r"split: axis 2 is out of range for shape \(2, 3\)"),
    (lambda x: x.pad(-1), "pad: pad_width must be non-negative"),
    (lambda x: x.pad(1, mode="reflect"), "pad: only mode='constant'"),
    (lambda x: x.moveaxis(0, 5), r"moveaxis: axis 5 is out of range for shape \(2, 3\)"),
    (lambda x: x.moveaxis((0, 1), (0,)), "moveaxis: source"),
    (lambda x: x.repeat([1, 2], axis=1), r"repeat: .*input shape \(2, 3\)"),
    (lambda x: x.tile((-1, 1)), "tile: reps must be non-negative"),
    (lambda x: x[0].tril(), r"tril: needs at least 2 dimensions, got shape \(3,\)"),
    (lambda x: x.diagonal(axis1=1, axis2=1), "moveaxis"),
    (lambda x: mg.einsum("ij,jk", x, x.T), "einsum: needs explicit subscripts"),
    (lambda x: mg.einsum("...j,jk->...k", x, x.T), "einsum: needs explicit subscripts"),
    (lambda x: mg.einsum("ii->i", x), r"einsum: an index repeated within operand 0"),
    (lambda x: mg.einsum("ij,jk->ik", x), "einsum: 'ij,jk->ik' names 2 operands, got 1"),
    (lambda x: mg.einsum("ij,jk->ik", x, x), r"einsum: .*input shapes \(2, 3\) and \(2, 3\)"),
    (lambda x: x.prod(axis=2), r"prod: .*\(2, 3\)"),
    (lambda x: x.cumsum(axis=-3), r"cumsum: .*\(2, 3\)"),
    (lambda x: x.norm(axis=(0, 0)), r"norm: .*\(2, 3\)"),
    (lambda x: x.argmax(axis=3), r"argmax: .*\(2, 3\)"),
    (lambda x: x.maximum(np.ones(4)), r"maximum: .*\(2, 3\) and \(4,\)"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_numpy_style_ops_name_the_problem(bad, match):
    x = T(np.ones((2, 3)), requires_grad=True)
    with pytest.raises((ValueError, IndexError)) as info:
        bad(x)
    assert info.match(match), str(info.value)


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
