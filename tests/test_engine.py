"""The engine's semantics: backward, mg.grad, grad modes, graph freeing, dtypes, errors."""

import gc
import sys
import threading
import time

import numpy as np
import pytest
from custom_ops import Cube

import microgradnp as mg
from microgradnp.engine import unbroadcast

T = mg.Tensor


def leaf(data, dtype=np.float64):
    return T(np.array(data, dtype=dtype), requires_grad=True)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# ======================================================= accumulation and graph freeing


def test_grad_of_sum_of_squares_is_2x(rng):
    x = leaf(rng.standard_normal((3, 4)))
    (x**2).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * x.data, rtol=1e-12)


def test_gradients_accumulate_over_two_backward_calls(rng):
    x = leaf(rng.standard_normal(5))
    (x * x).sum().backward()
    first = x.grad.copy()
    (3 * x).sum().backward()
    np.testing.assert_allclose(first, 2 * x.data, rtol=1e-12)
    np.testing.assert_allclose(x.grad, 2 * x.data + 3, rtol=1e-12)


def test_grad_is_a_fresh_array_of_the_leaf_shape_and_dtype(rng):
    x = leaf(rng.standard_normal((2, 3)))
    y = x.sum()
    y.backward()
    assert isinstance(x.grad, np.ndarray)
    assert x.grad.shape == x.shape and x.grad.dtype == x.dtype
    assert not np.shares_memory(x.grad, x.data)


def test_second_backward_through_freed_graph_is_a_clear_error(rng):
    x = leaf(rng.standard_normal(3))
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_retain_graph_allows_a_second_backward(rng):
    x = leaf(rng.standard_normal(3))
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    once = x.grad.copy()
    y.backward()
    np.testing.assert_allclose(once, np.exp(x.data) * (1 + x.data), rtol=1e-12)
    np.testing.assert_allclose(x.grad, 2 * once, rtol=1e-12)


def test_shared_subexpression_gradients_sum(rng):
    # y = a * a with a = x + 1 used on both sides (a diamond): dy/dx = 2 (x + 1)
    x = leaf(rng.standard_normal(4))
    a = x + 1
    (a * a + a).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * (x.data + 1) + 1, rtol=1e-12)


def test_detach_cuts_the_graph(rng):
    x = leaf(rng.standard_normal(4))
    d = x.detach()
    assert d.grad_fn is None and not d.requires_grad and d.is_leaf
    assert np.shares_memory(d.data, x.data)
    (d * x).sum().backward()  # only the second factor is differentiated: grad = x
    np.testing.assert_allclose(x.grad, x.data, rtol=1e-12)


def test_backward_on_tensor_without_grad_is_an_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        T([1.0, 2.0]).sum().backward()


def test_backward_on_non_scalar_names_the_shape(rng):
    x = leaf(rng.standard_normal((2, 3)))
    with pytest.raises(RuntimeError, match=r"\(2, 3\)"):
        (x * 2).backward()


def test_backward_with_explicit_gradient(rng):
    x = leaf(rng.standard_normal((2, 3)))
    g = rng.standard_normal((2, 3))
    (x * 2).backward(g)
    np.testing.assert_allclose(x.grad, 2 * g, rtol=1e-12)
    x.grad = None
    (x * 2).backward(T(g))
    np.testing.assert_allclose(x.grad, 2 * g, rtol=1e-12)


def test_backward_with_gradient_of_wrong_shape_is_an_error(rng):
    x = leaf(rng.standard_normal((2, 3)))
    with pytest.raises((ValueError, RuntimeError), match=r"\(3, 2\).*\(2, 3\)"):
        (x * 2).backward(np.ones((3, 2)))
    assert x.grad is None


def test_one_element_output_needs_no_gradient(rng):
    x = leaf(rng.standard_normal((1, 1)))
    (x * 3).backward()
    np.testing.assert_allclose(x.grad, [[3.0]])


def test_module_level_backward_with_several_outputs(rng):
    x = leaf(rng.standard_normal(3))
    mg.backward([(x * 2).sum(), (x * x).sum()])
    np.testing.assert_allclose(x.grad, 2 + 2 * x.data, rtol=1e-12)


# ============================================================================ retain_grad, leaves


def test_retain_grad_on_a_non_leaf(rng):
    x = leaf(rng.standard_normal(3))
    h = x * 2
    h.retain_grad()
    other = x * 3
    (h * h + other).sum().backward()
    np.testing.assert_allclose(h.grad, 2 * h.data, rtol=1e-12)  # d(h^2)/dh
    assert other.grad is None  # non-leaves keep no grad unless asked
    np.testing.assert_allclose(x.grad, 2 * 2 * h.data + 3, rtol=1e-12)


def test_retain_grad_needs_requires_grad():
    with pytest.raises(RuntimeError):
        T([1.0]).retain_grad()


def test_is_leaf_and_grad_fn(rng):
    x = leaf(rng.standard_normal(2))
    y = x.exp()
    assert x.is_leaf and x.grad_fn is None
    assert not y.is_leaf and y.grad_fn is not None and y.requires_grad
    assert y.grad_fn.inputs[0] is x
    with pytest.raises(RuntimeError, match="detach"):
        y.requires_grad_(False)


# ============================================================================ grad modes


def test_nothing_is_recorded_under_no_grad(rng):
    x = leaf(rng.standard_normal(3))
    with mg.no_grad():
        assert not mg.is_grad_enabled()
        y = (x * 2).exp().sum()
    assert mg.is_grad_enabled()
    assert y.grad_fn is None and not y.requires_grad
    np.testing.assert_allclose(y.data, np.exp(2 * x.data).sum())


def test_nothing_is_recorded_when_no_input_requires_grad(rng):
    a = T(rng.standard_normal(3))
    b = T(rng.standard_normal(3))
    for out in (a + b, a * b, a.exp(), a @ b, a.sum(), a[0], mg.stack([a, b])):
        assert out.grad_fn is None and not out.requires_grad


def test_enable_grad_inside_no_grad(rng):
    x = leaf(rng.standard_normal(3))
    with mg.no_grad():
        with mg.enable_grad():
            assert mg.is_grad_enabled()
            y = (x * x).sum()
        assert not mg.is_grad_enabled()
    assert y.grad_fn is not None
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * x.data, rtol=1e-12)


def test_grad_modes_as_decorators(rng):
    x = leaf(rng.standard_normal(3))

    @mg.no_grad()
    def frozen(t):
        assert not mg.is_grad_enabled()
        return t * 2

    @mg.enable_grad()
    def live(t):
        return t * 2

    assert frozen(x).grad_fn is None
    assert mg.is_grad_enabled()
    with mg.no_grad():
        y = live(x)
        assert not mg.is_grad_enabled()
    assert y.grad_fn is not None


def test_grad_mode_is_restored_after_an_exception():
    with pytest.raises(KeyError):
        with mg.no_grad():
            raise KeyError("boom")
    assert mg.is_grad_enabled()


def test_set_grad_enabled():
    with mg.set_grad_enabled(False):
        assert not mg.is_grad_enabled()
        with mg.set_grad_enabled(True):
            assert mg.is_grad_enabled()
    assert mg.is_grad_enabled()


def test_no_grad_in_one_thread_does_not_leak_into_another():
    inside = threading.Event()
    checked = threading.Event()
    seen = {}

    def worker():
        with mg.no_grad():
            inside.set()
            checked.wait(5)
            seen["worker"] = mg.is_grad_enabled()

    def other():
        inside.wait(5)
        x = T([1.0, 2.0], requires_grad=True)
        seen["other"] = mg.is_grad_enabled()
        seen["other_records"] = (x * 2).grad_fn is not None
        checked.set()

    threads = [threading.Thread(target=worker), threading.Thread(target=other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == {"worker": False, "other": True, "other_records": True}
    assert mg.is_grad_enabled()


def test_new_thread_starts_with_grad_enabled_even_under_no_grad():
    seen = []
    with mg.no_grad():
        t = threading.Thread(target=lambda: seen.append(mg.is_grad_enabled()))
        t.start()
        t.join(5)
    assert seen == [True]


# ======================================================= mg.grad and higher order


def test_grad_returns_tensors_and_leaves_dot_grad_untouched(rng):
    x = leaf(rng.standard_normal(3))
    w = leaf(rng.standard_normal(3))
    gx, gw = mg.grad((x * w).sum(), [x, w])
    assert isinstance(gx, T) and isinstance(gw, T)
    np.testing.assert_allclose(gx.data, w.data, rtol=1e-12)
    np.testing.assert_allclose(gw.data, x.data, rtol=1e-12)
    assert x.grad is None and w.grad is None


def test_grad_with_respect_to_a_non_leaf(rng):
    x = leaf(rng.standard_normal(3))
    h = x.exp()
    (gh,) = mg.grad((h * h).sum(), h)
    np.testing.assert_allclose(gh.data, 2 * h.data, rtol=1e-12)


def test_grad_with_grad_outputs(rng):
    x = leaf(rng.standard_normal((2, 2)))
    v = rng.standard_normal((2, 2))
    (gx,) = mg.grad(x * x, x, grad_outputs=v)
    np.testing.assert_allclose(gx.data, 2 * x.data * v, rtol=1e-12)


def test_grad_allow_unused(rng):
    x = leaf(rng.standard_normal(3))
    unused = leaf(rng.standard_normal(3))
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="allow_unused"):
        mg.grad(y, [x, unused], retain_graph=True)
    gx, gu = mg.grad(y, [x, unused], allow_unused=True)
    assert gu is None
    np.testing.assert_allclose(gx.data, 2.0)


def test_grad_of_input_without_requires_grad_is_an_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        mg.grad(T([1.0], requires_grad=True).sum(), T([1.0]))


def test_create_graph_gradient_of_gradient(rng):
    x = leaf(rng.standard_normal(4))
    (g,) = mg.grad((x**3).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.data, 3 * x.data**2, rtol=1e-12)
    assert g.requires_grad and g.grad_fn is not None
    (h,) = mg.grad(g.sum(), x, create_graph=True)
    np.testing.assert_allclose(h.data, 6 * x.data, rtol=1e-12)
    (k,) = mg.grad(h.sum(), x)
    np.testing.assert_allclose(k.data, np.full(4, 6.0), rtol=1e-12)


def test_without_create_graph_gradients_are_constants(rng):
    x = leaf(rng.standard_normal(4))
    (g,) = mg.grad((x**3).sum(), x)
    assert g.grad_fn is None and not g.requires_grad


def test_backward_with_create_graph_retains_the_graph(rng):
    x = leaf(rng.standard_normal(3))
    y = (x.tanh() * x).sum()
    y.backward(create_graph=True)
    y.backward()  # retain_graph defaulted to True with create_graph
    t = np.tanh(x.data)
    np.testing.assert_allclose(x.grad, 2 * (t + x.data * (1 - t**2)), rtol=1e-12)


def test_hessian_vector_product_of_a_quadratic_form(rng):
    n = 5
    A = rng.standard_normal((n, n))  # not symmetric: the Hessian is (A + A^T) / 2
    v = rng.standard_normal(n)
    x = leaf(rng.standard_normal(n))
    f = 0.5 * (x @ (A @ x))
    (g,) = mg.grad(f, x, create_graph=True)
    a_sym = 0.5 * (A + A.T)
    np.testing.assert_allclose(g.data, a_sym @ x.data, rtol=1e-10)
    (hv,) = mg.grad((g * v).sum(), x)
    np.testing.assert_allclose(hv.data, a_sym @ v, rtol=1e-10)


def test_second_derivative_of_tanh(rng):
    x = leaf(rng.uniform(-2, 2, 7))
    (g,) = mg.grad(x.tanh().sum(), x, create_graph=True)
    (g2,) = mg.grad(g.sum(), x)
    t = np.tanh(x.data)
    np.testing.assert_allclose(g.data, 1 - t**2, rtol=1e-12)
    np.testing.assert_allclose(g2.data, -2 * t * (1 - t**2), rtol=1e-10, atol=1e-14)


def test_gradient_penalty_style_double_backward(rng):
    # L = ||d(sum(w * x^2))/dx||^2 = sum((2 w x)^2); dL/dw = 8 w x^2
    x = leaf(rng.standard_normal(4))
    w = leaf(rng.standard_normal(4))
    (gx,) = mg.grad((w * x**2).sum(), x, create_graph=True)
    (gx * gx).sum().backward()
    np.testing.assert_allclose(w.grad, 8 * w.data * x.data**2, rtol=1e-10)
    np.testing.assert_allclose(x.grad, 8 * w.data**2 * x.data, rtol=1e-10)


# ============================================================================ deep graphs


def test_a_million_op_chain_backpropagates_without_recursion():
    limit = sys.getrecursionlimit()
    n = 1_000_000
    x = leaf([0.5, -2.0])
    start = time.perf_counter()
    gc_was_enabled = gc.isenabled()
    gc.disable()  # a million tracked objects would trigger many full collections
    try:
        y = x
        for i in range(n):
            y = -y if i % 2 else y * 1.0  # alternate two ops; the product of slopes is (-1)^(n/2)
        np.testing.assert_allclose(y.data, x.data * (-1) ** (n // 2))
        (y * T([1.0, 3.0])).sum().backward()
        del y
    finally:
        if gc_was_enabled:
            gc.enable()
    np.testing.assert_allclose(x.grad, np.array([1.0, 3.0]) * (-1) ** (n // 2))
    assert sys.getrecursionlimit() == limit
    assert time.perf_counter() - start < 60  # ~5 s here; generous for slow CI machines


def test_each_node_runs_once_after_every_consumer_of_its_output(rng, monkeypatch):
    """The engine pops nodes newest first: a node's backward runs once, after the backward of
    every op that used its output, so the gradient it receives is complete."""
    x = leaf(rng.standard_normal(2))
    a = x.exp()
    b = x * 2
    c = a + b
    d = c * a
    made = {id(t.grad_fn): name for t, name in ((a, "a"), (b, "b"), (c, "c"), (d, "d"))}
    ran = []
    for cls in (mg.ops.Exp, mg.ops.Mul, mg.ops.Add):
        original = cls.backward

        def spy(ctx, grad, original=original):
            ran.append(made[id(ctx)])
            return original(ctx, grad)

        monkeypatch.setattr(cls, "backward", staticmethod(spy))
    d.backward(np.ones(2))
    assert sorted(ran) == ["a", "b", "c", "d"]  # each once
    for consumer, used in (("d", "c"), ("d", "a"), ("c", "a"), ("c", "b")):
        assert ran.index(consumer) < ran.index(used)
    e = np.exp(x.data)
    np.testing.assert_allclose(x.grad, (e + 2 * x.data) * e + e * (e + 2))  # d(c a)/dx


# ============================================================================ unbroadcast


@pytest.mark.parametrize(
    "grad_shape, shape",
    [((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 3), (1, 3)), ((2, 3), (2, 1)), ((2, 3), ()),
     ((4, 2, 3), (2, 1)), ((4, 1, 3), (1, 1))],
)
def test_unbroadcast_sums_over_broadcast_dimensions(rng, grad_shape, shape):
    g = rng.standard_normal(grad_shape)
    out = unbroadcast(T(g), shape)
    assert out.shape == shape
    # reference: sum over every element that was a copy of the same input element
    expected = np.zeros(shape)
    for idx in np.ndindex(grad_shape):
        tail = idx[len(grad_shape) - len(shape):]
        expected[tuple(0 if n == 1 else i for i, n in zip(tail, shape))] += g[idx]
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)


def test_unbroadcast_refuses_incompatible_shapes():
    with pytest.raises(RuntimeError, match=r"\(2, 3\).*\(4,\)"):
        unbroadcast(T(np.ones((2, 3))), (4,))


# ============================================================================ dtypes


def test_python_floats_are_float64_and_ints_stay_ints():
    assert T(1.5).dtype == np.float64
    assert T([1.0, 2.0]).dtype == np.float64
    assert T([1, 2]).dtype.kind == "i"
    assert mg.tensor([1.0]).dtype == np.float64


@pytest.mark.parametrize("make", [
    lambda: T([1, 2], requires_grad=True),
    lambda: T(3, requires_grad=True),
    lambda: mg.tensor([1, 2], requires_grad=True),
    lambda: mg.arange(3, requires_grad=True),
    lambda: T([True, False]).requires_grad_(),
])
def test_integer_or_bool_tensor_cannot_require_grad(make):
    with pytest.raises(TypeError, match="floating"):
        make()


def test_float32_stays_float32_through_forward_and_backward(rng):
    x = T(rng.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    w = T(rng.standard_normal((4, 2)).astype(np.float32), requires_grad=True)
    b = T(np.zeros(2, np.float32), requires_grad=True)
    h = (x @ w + b).tanh()
    parts = [h.sigmoid(), h.relu(), h.exp(), (h * 0.5 + 2.0).log(), h.softmax(),
             h.log_softmax(), (h**2 + 1.0).sqrt(), h.abs(), 1.0 / (h + 3.0), h.softplus(),
             h.leaky_relu(0.1), h.clip(-0.5, 0.5)]
    loss = h.mean() + h.max() + h.logsumexp(axis=1).sum() + h[0, 1] + h.T.reshape(-1)[3]
    for p in parts:
        assert p.dtype == np.float32, p
        loss = loss + p.mean()
    assert loss.dtype == np.float32
    loss.backward()
    for t in (x, w, b):
        assert t.grad.dtype == np.float32 and t.grad.shape == t.shape
        assert np.all(np.isfinite(t.grad))


def test_mg_grad_keeps_float32(rng):
    x = T(rng.standard_normal(3).astype(np.float32), requires_grad=True)
    (g,) = mg.grad((x * 2.0).sum(), x)
    assert g.dtype == np.float32


def test_float32_tensor_keeps_float32_with_float64_scalar_arithmetic():
    x = T(np.ones(2, np.float32), requires_grad=True)
    assert (x * 2.5).dtype == np.float32
    assert (x / 3).dtype == np.float32
    assert (2.0 - x).dtype == np.float32


# ============================================================================ Tensor basics


def test_comparisons_return_boolean_tensors_without_grad(rng):
    x = leaf([1.0, 2.0, 3.0])
    other = T([3.0, 2.0, 1.0])
    cases = {
        "<": (x < 2, [True, False, False]), "<=": (x <= 2, [True, True, False]),
        ">": (x > other, [False, False, True]), ">=": (x >= other, [False, True, True]),
        "==": (x == other, [False, True, False]), "!=": (x != 2.0, [True, False, True]),
    }
    for name, (out, expected) in cases.items():
        assert isinstance(out, T), name
        assert out.dtype == np.bool_, name
        assert not out.requires_grad and out.grad_fn is None, name
        np.testing.assert_array_equal(out.data, expected)


def test_tensor_is_hashable_by_identity():
    a, b = T([1.0]), T([1.0])
    d = {a: 1, b: 2}
    assert d[a] == 1 and d[b] == 2


def test_repr_shows_data_dtype_and_grad_state():
    x = T([1.5, 2.0], requires_grad=True)
    r = repr(x)
    assert "1.5" in r and "float64" in r and "requires_grad=True" in r
    y = x * 2
    r = repr(y)
    assert "3." in r and "grad_fn=<mul>" in r
    r = repr(T(np.array([1, 2], dtype=np.int32)))
    assert "int32" in r and "grad" not in r
    assert "name='w'" in repr(T([1.0], name="w"))


def test_item_numpy_array_len(rng):
    data = rng.standard_normal((3, 2))
    t = T(data)
    assert t.numpy() is t.data
    assert np.asarray(t) is t.data
    np.testing.assert_array_equal(np.asarray(t, dtype=np.float32), data.astype(np.float32))
    assert len(t) == 3
    assert t.shape == (3, 2) and t.ndim == 2 and t.size == 6 and t.dtype == np.float64
    assert T([[2.5]]).item() == 2.5 and isinstance(T(2.5).item(), float)
    with pytest.raises(ValueError, match=r"\(3, 2\)"):
        t.item()
    with pytest.raises(TypeError):
        len(T(1.0))
    assert float(T(2.0)) == 2.0
    assert [r.shape for r in t] == [(2,)] * 3


def test_tensor_wraps_arrays_without_copying_and_tensor_factory_copies(rng):
    a = rng.standard_normal(3)
    assert T(a).data is a
    c = mg.tensor(a)
    assert not np.shares_memory(c.data, a)


def test_tensor_refuses_python_objects():
    with pytest.raises(TypeError):
        T([object()])


# ============================================================================ factories


def test_factories_shapes_dtypes_and_requires_grad():
    for t in (mg.zeros(2, 3), mg.ones((2, 3)), mg.randn(2, 3), mg.rand(2, 3),
              mg.zeros_like(np.ones((2, 3))), mg.ones_like(mg.zeros(2, 3))):
        assert t.shape == (2, 3) and t.dtype == np.float64 and not t.requires_grad
    for make in (mg.zeros, mg.ones, mg.randn, mg.rand):
        t = make(4, requires_grad=True)
        assert t.requires_grad and t.is_leaf
        f32 = make(2, dtype=np.float32)
        assert f32.dtype == np.float32
    assert mg.zeros_like(mg.ones(2), requires_grad=True).requires_grad
    np.testing.assert_array_equal(mg.zeros(2).data, [0.0, 0.0])
    np.testing.assert_array_equal(mg.ones(2).data, [1.0, 1.0])
    np.testing.assert_array_equal(mg.arange(4).data, [0, 1, 2, 3])
    np.testing.assert_array_equal(mg.arange(1, 2, 0.5).data, [1.0, 1.5])
    assert mg.arange(3, dtype=np.float64, requires_grad=True).requires_grad
    u = mg.rand(1000).data
    assert u.min() >= 0 and u.max() < 1


def test_manual_seed_makes_random_factories_reproducible():
    mg.manual_seed(123)
    a, b = mg.randn(5), mg.rand(3)
    mg.manual_seed(123)
    c, d = mg.randn(5), mg.rand(3)
    np.testing.assert_array_equal(a.data, c.data)
    np.testing.assert_array_equal(b.data, d.data)
    mg.manual_seed(124)
    assert not np.array_equal(mg.randn(5).data, a.data)


# ============================================================================ mg.Function


class ScaledAdd(mg.Function):
    """x + scale * y, with an integer `scale` input that gets no gradient."""

    name = "scaled_add"

    @staticmethod
    def forward(ctx, x, y, scale):
        ctx.scale = scale
        return x + scale * y

    @staticmethod
    def backward(ctx, grad):
        return grad, grad * ctx.scale, None


def test_custom_function_forward_and_backward(rng):
    x = leaf(rng.standard_normal(4))
    y = Cube.apply(x)
    np.testing.assert_allclose(y.data, x.data**3, rtol=1e-12)
    assert y.grad_fn is not None and y.grad_fn.name == "cube"
    y.sum().backward()
    np.testing.assert_allclose(x.grad, 3 * x.data**2, rtol=1e-12)


def test_custom_function_create_graph(rng):
    x = leaf(rng.standard_normal(4))
    (g,) = mg.grad(Cube.apply(x).sum(), x, create_graph=True)
    (g2,) = mg.grad(g.sum(), x)
    np.testing.assert_allclose(g2.data, 6 * x.data, rtol=1e-12)


def test_custom_function_with_constant_input_and_broadcasting(rng):
    x = leaf(rng.standard_normal((2, 3)))
    y = leaf(rng.standard_normal(3))
    out = ScaledAdd.apply(x, y, 4)
    assert out.grad_fn.name == "scaled_add"
    assert "scaled_add" in repr(out)
    out.sum().backward()
    np.testing.assert_allclose(x.grad, np.ones((2, 3)))
    np.testing.assert_allclose(y.grad, np.full(3, 8.0))  # broadcast over 2 rows, times 4


def test_custom_function_returning_wrong_number_of_gradients_is_an_error(rng):
    class Bad(mg.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, grad):
            return grad

    x, y = leaf([1.0]), leaf([2.0])
    with pytest.raises(RuntimeError, match="2 inputs"):
        Bad.apply(x, y).sum().backward()


def test_custom_function_gradcheck(rng):
    x = leaf(rng.uniform(0.5, 1.5, 4))
    assert mg.gradcheck(Cube.apply, [x])
    assert mg.gradgradcheck(Cube.apply, [x])
    y = leaf(rng.standard_normal(4))
    assert mg.gradcheck(lambda a, b: ScaledAdd.apply(a, b, 3), [x, y])


# ============================================================================ errors


def test_matmul_shape_mismatch_message():
    with pytest.raises(ValueError, match=r"matmul: shapes \(3, 4\) and \(5, 2\) do not align"):
        T(np.ones((3, 4))) @ T(np.ones((5, 2)))


def test_broadcasting_failure_names_both_shapes():
    with pytest.raises(ValueError) as info:
        T(np.ones((2, 3)), requires_grad=True) + T(np.ones(4))
    msg = str(info.value)
    assert "add" in msg and "(2, 3)" in msg and "(4,)" in msg
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4,\)"):
        T(np.ones((2, 3))) * np.ones(4)


def test_reshape_error_names_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4,\)"):
        T(np.ones((2, 3))).reshape(4)


def test_in_place_change_of_a_saved_input_is_detected(rng):
    x = leaf(rng.standard_normal(3))
    y = (x * x).sum()
    with mg.no_grad():
        x.add_(0.0)
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_version_counter_only_matters_for_saved_inputs(rng):
    x = leaf(rng.standard_normal(3))
    y = (x + 1).sum()  # add saves nothing
    with mg.no_grad():
        x.add_(0.0)
    y.backward()
    np.testing.assert_allclose(x.grad, np.ones(3))


def test_name_scope_is_recorded_by_new_ops():
    x = T([1.0], requires_grad=True)
    with mg.name_scope("outer"):
        with mg.name_scope("inner"):
            y = x * 2
        z = y + 1
    w = z.exp()
    assert y.grad_fn.scope == ("outer", "inner")
    assert z.grad_fn.scope == ("outer",)
    assert w.grad_fn.scope == ()


def test_grads_never_alias_each_other_or_the_callers_arrays():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = mg.tensor([3.0, 4.0], requires_grad=True)
    (x + y).sum().backward()  # add hands the same gradient array to both inputs
    assert x.grad is not y.grad
    x.grad *= 10  # a user's in-place change (gradient clipping) touches only x.grad
    np.testing.assert_array_equal(y.grad, [1.0, 1.0])

    g = np.array([0.5, -1.0])
    x.grad = None
    x.backward(g)  # the caller's gradient array never becomes a .grad
    assert x.grad is not g
    x.grad[0] = 99.0
    np.testing.assert_array_equal(g, [0.5, -1.0])

    z = mg.tensor(np.ones((2, 3)), requires_grad=True)
    z.sum().backward()  # sum's backward is a read-only broadcast view: .grad is a real array
    assert z.grad.flags.writeable and z.grad.base is None
    z.grad += 1
    np.testing.assert_array_equal(z.grad, np.full((2, 3), 2.0))


def test_backward_that_fails_changes_no_grad():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    w = mg.tensor([3.0, 4.0], requires_grad=True)
    h = x * 2  # shared by two losses
    (h * w).sum().backward()  # frees h's node
    w_grad = w.grad.copy()
    for loss in ((h * 1).sum() + w.sum(), w.sum() + (h * 1).sum()):  # either order of visits
        with pytest.raises(RuntimeError, match="retain_graph=True"):
            loss.backward()
        np.testing.assert_array_equal(w.grad, w_grad)

    y = mg.tensor([1.0, 2.0], requires_grad=True)
    e = y.exp()
    loss = (e * w).sum()
    w.grad = None
    with mg.no_grad():
        e.mul_(1.0)  # an in-place change of a saved value, found before anything is written
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()
    assert w.grad is None and y.grad is None


def test_grad_touches_only_the_graph_between_outputs_and_inputs():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    (gh,) = mg.grad((h * 3).sum(), h)  # d/dh needs nothing below h
    np.testing.assert_array_equal(gh.data, [3.0, 3.0])
    (h * 4).sum().backward()  # so the x * 2 node is still intact
    np.testing.assert_array_equal(x.grad, [8.0, 8.0])


def test_gradient_arguments_match_the_outputs():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="2 outputs but 1 gradients"):
        mg.grad([x * 2, x * 3], x, grad_outputs=[np.ones(2)])
    (x * 2).backward([1.0, 0.5])  # one output: a list of numbers is its gradient
    np.testing.assert_array_equal(x.grad, [2.0, 1.0])
    (g,) = mg.grad(x * 2, x, grad_outputs=(np.ones(2),))  # PyTorch's one-element tuple
    np.testing.assert_array_equal(g.data, [2.0, 2.0])


def test_pow_has_finite_gradients_at_zero():
    x = mg.tensor([0.0, 0.0], requires_grad=True)
    (x ** np.array([0.0, 2.0])).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])
    base = mg.tensor([0.0, 1.0], requires_grad=True)
    e = mg.tensor(2.0, requires_grad=True)
    (base ** e).sum().backward()
    assert e.grad == 0.0  # 0^2 log 0 taken as 0 (PyTorch's choice); 1^2 log 1 = 0
    np.testing.assert_array_equal(base.grad, [0.0, 2.0])


def test_numpy_integer_axes():
    x = mg.randn(3, 4, requires_grad=True)
    x.sum(axis=np.int64(1)).sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones((3, 4)))
    assert x.mean(axis=np.int64(1)).shape == (3,)
    assert x.max(axis=[np.int64(0), 1]).shape == ()


def test_indexing_keeps_its_own_copy_of_the_index():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    idx = np.array([0, 0])
    y = x[idx]
    idx[:] = 2  # the caller reuses their array after the forward
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 0.0, 0.0])


def test_one_grad_mode_object_can_be_nested():
    ng = mg.no_grad()
    with ng:
        with ng:
            assert not mg.is_grad_enabled()
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()


def test_tensors_as_keyword_arguments_are_refused():
    class Scale(mg.Function):
        @staticmethod
        def forward(ctx, x, factor=1.0):
            return x * factor

        @staticmethod
        def backward(ctx, grad):
            return grad

    w = mg.tensor(2.0, requires_grad=True)
    with pytest.raises(TypeError, match="positionally"):
        Scale.apply(mg.tensor([1.0]), factor=w)
