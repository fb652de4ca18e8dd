"""The engine's promises: no silently wrong gradient (in-place changes, version counters), anomaly
mode, hooks, threads, nothing half-done when a backward raises, and a graph that holds no
arrays after a plain backward. Each test fails without the behaviour it names."""

import gc
import threading
import warnings
import weakref

import numpy as np
import pytest

import microgradnp as mg
from microgradnp import ops


def leaf(values):
    return mg.tensor(np.asarray(values, dtype=float), requires_grad=True)


# ============================================================================ in-place ops


def test_in_place_change_of_a_saved_leaf_makes_backward_raise():
    w, x = leaf([1.0, 2, 3]), leaf([4.0, 5, 6])
    y = (w * x).sum()
    with mg.no_grad():
        w.zero_()
    with pytest.raises(RuntimeError, match=r"mul: an input of shape \(3,\) saved for backward"):
        y.backward()
    assert x.grad is None and w.grad is None


def test_in_place_change_of_a_saved_constant_makes_backward_raise():
    X = mg.tensor(np.arange(6.0).reshape(2, 3))  # data: no gradient, but matmul saves it
    w = leaf([1.0, 2.0, 3.0])
    y = (X @ w).sum()
    X[0, 0] = 100.0  # dL/dw would be the new column sums
    with pytest.raises(RuntimeError, match=r"matmul: an input of shape \(2, 3\) saved"):
        y.backward()


def test_only_a_write_to_a_saved_input_after_the_op_raises():
    w, x, other = leaf([1.0, 2.0]), leaf([3.0, 4.0]), leaf([5.0])
    with mg.no_grad():
        w.mul_(2)  # before the op: the op saw the new values
    y = (w * x).sum()
    with mg.no_grad():
        other.add_(1)  # after the op, but not an input: backward checks, and finds nothing
        x.copy_(x.data)  # an input's version goes up without a saved value of y changing...
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()  # ...and that is still a write after the op: refused, as in PyTorch
    z = (w * 3.0).sum()
    with mg.no_grad():
        other.add_(1)
    z.backward()
    np.testing.assert_allclose(w.grad, [3.0, 3.0])


def test_an_op_leaves_one_object_for_the_garbage_collector():
    """A chain of ops keeps per op only its node tracked by the collector: the node keeps an
    intermediate input as its array and the node that made it, so each old `x` dies at once,
    and inputs and edges sit in the node's slots, not in tuples. The collector's work on a long
    graph grows with the objects it scans."""
    x = leaf(1.0) * 1.0
    gc.collect()
    before = len(gc.get_objects())
    for _ in range(500):
        x = x * 1.0001 + 0.0001  # two ops
    gc.collect()  # tuples of untracked values (saved arrays) are untracked here
    per_op = (len(gc.get_objects()) - before) / 1000
    assert per_op <= 1.05, per_op
    x.backward()


def test_a_graph_keeps_no_intermediate_tensor_alive():
    x = leaf([1.0, 2.0])
    h = x.exp()
    h.name = "h"
    seen = weakref.ref(h)
    y = (h * h).sum()
    del h
    assert seen() is None  # gone with the user's reference; the graph kept its array
    saved, _ = y.grad_fn.inputs[0].grad_fn.inputs  # h * h's h, rebuilt: same values, node, name
    assert saved.grad_fn.fn is ops.Exp and saved.name == "h"
    np.testing.assert_array_equal(saved.data, np.exp(x.data))
    (g,) = mg.grad(y, [x], create_graph=True)  # second derivatives flow through it
    np.testing.assert_allclose(g.data, 2 * np.exp(2 * x.data))
    (gg,) = mg.grad(g.sum(), [x])
    np.testing.assert_allclose(gg.data, 4 * np.exp(2 * x.data))


def test_writing_an_intermediate_that_a_later_op_saved_makes_backward_raise():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    h = x * 2
    y = (h * w).sum()  # keeps h's array (and h's node), not h
    with mg.no_grad():
        h.add_(1)  # written into that array: the write is stamped on h's node
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()
    h2 = x * 2
    with mg.no_grad():
        h2.add_(1)  # before the op used it: fine
    (h2 * w).sum().backward()
    np.testing.assert_allclose(w.grad, [3.0, 5.0])


def test_retain_grad_on_an_intermediate_the_graph_does_not_hold():
    x = leaf([1.0, -2.0])
    h = x.tanh().retain_grad()
    scaled = h * 3.0
    loss = scaled.sum()
    shown = scaled.grad_fn.inputs[0]  # another tensor for h's value: the same .grad
    loss.backward()
    np.testing.assert_allclose(h.grad, [3.0, 3.0])
    assert shown.grad is h.grad


def test_sub_of_an_array_under_no_grad_writes_once_and_bumps_the_version():
    """An optimizer's step (`p.sub_(lr * grad)`): into the same array, and a graph that
    saved p refuses afterwards."""
    w = leaf([1.0, 2.0])
    data, y = w.data, (w * w).sum()
    with mg.no_grad():
        w.sub_(np.array([0.5, 0.25]))
        w.sub_(np.array([1.0], dtype=np.float32))  # broadcast, another float dtype: the long way
    assert w.data is data and w._version == 2
    np.testing.assert_array_equal(w.data, [-0.5, 0.75])
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()
    with mg.no_grad(), pytest.raises(TypeError, match="sub_"):
        mg.tensor([1, 2]).sub_(np.array([0.5, 0.5]))  # float into an int array: refused


def test_in_place_on_a_leaf_that_requires_grad_is_refused_in_grad_mode_only():
    w = leaf([1.0, 2.0])
    for change in (lambda: w.add_(1), lambda: w.mul_(2), lambda: w.zero_(),
                   lambda: w.fill_(3), lambda: w.copy_([5.0, 6.0]), lambda: w.clamp_(0, 1),
                   lambda: w.sub_(1), lambda: w.div_(2), lambda: w.__setitem__(0, 7.0)):
        with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
            change()
    np.testing.assert_array_equal(w.data, [1.0, 2.0])
    data = w.data
    with mg.no_grad():
        w.add_(1).mul_(2).sub_(1, alpha=2).div_(2)  # ((x + 1) * 2 - 2) / 2 = x
        w[1] = 10.0
        w.clamp_(max=5.0)
    assert w.data is data  # written into the same array
    np.testing.assert_array_equal(w.data, [1.0, 5.0])
    assert w._version == 6


@pytest.mark.parametrize("method, args, expected", [
    ("add_", (np.array([1.0, 2.0]),), lambda x: x + [1.0, 2.0]),
    ("sub_", (0.5,), lambda x: x - 0.5),
    ("mul_", (3.0,), lambda x: x * 3),
    ("div_", (4.0,), lambda x: x / 4),
    ("clamp_", (-0.2, 0.3), lambda x: np.clip(x, -0.2, 0.3)),
])
def test_recorded_in_place_ops_have_the_right_gradient(method, args, expected):
    x = leaf([0.1, -0.7])

    def fn(x):
        t = x * 1.0
        getattr(t, method)(*args)
        return t * x  # the new values times the leaf: gradients through both paths

    np.testing.assert_allclose(fn(x).data, expected(x.data) * x.data)
    assert mg.gradcheck(fn, [x]) and mg.gradgradcheck(fn, [x])


def test_item_assignment_is_recorded_and_repeated_reads_stay_right():
    a = leaf([1.0, 2.0, 3.0])
    b = a * 2
    b[1] = a[0] * 10  # b = [2 a0, 10 a0, 2 a2]
    b.sum().backward()
    np.testing.assert_allclose(a.grad, [12.0, 0.0, 2.0])


def test_fill_cuts_the_gradient_through_the_old_values():
    x = leaf([0.3])

    def fn(x):
        t = x * 1.0
        u = t * 1.0
        u.fill_(0.25)  # u is a constant now: only t's path carries a gradient
        return u * t + t

    y = fn(x)
    y.backward(np.ones(1))
    np.testing.assert_allclose(x.grad, [1.25])
    assert mg.gradcheck(fn, [x])


def test_in_place_change_of_an_output_saved_by_its_own_op_raises():
    x = leaf([0.5, 1.0])
    y = x.exp()  # exp saves its output
    loss = y.sum()
    with mg.no_grad():
        y.mul_(2)
    with pytest.raises(RuntimeError, match="exp: its output .* was modified in place"):
        loss.backward()


def test_copy_and_setitem_check_shapes_and_name_them():
    t = mg.zeros(3)
    with pytest.raises(ValueError, match=r"copy_: source of shape \(2,\) .* shape \(3,\)"):
        t.copy_(np.ones(2))
    t.copy_(np.arange(3.0))
    np.testing.assert_array_equal(t.data, [0.0, 1.0, 2.0])


# ============================================================================ anomaly mode


def test_anomaly_mode_names_the_forward_op_and_the_users_line():
    x = leaf([1.0, -1.0])
    with pytest.warns(RuntimeWarning):  # without the mode: NumPy's warning, a NaN, no error
        assert np.isnan(x.log().data[1])
    with mg.detect_anomaly(), np.errstate(invalid="ignore"):
        with pytest.raises(mg.AnomalyError, match=r"log produced NaN .*test_engine_reliab"):
            x.log()
    assert not mg.is_anomaly_enabled()


def test_anomaly_mode_names_the_backward_op_and_where_it_was_created():
    x = leaf([0.0, 4.0])

    @mg.detect_anomaly()
    def run():
        y = x.sqrt()  # d sqrt(x) at 0 is inf
        y.sum().backward()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(mg.AnomalyError, match=r"sqrt\.backward .* y = x\.sqrt\(\)"):
            run()
    assert x.grad is None  # nothing written


# ============================================================================ hooks


def test_hooks_see_and_may_replace_gradients():
    x = leaf([1.0, 2.0])
    h = x * 3
    seen = []
    h.register_hook(lambda g: seen.append(np.array(g)))
    handle = x.register_hook(lambda g: g * 0 + 7.0)  # replace the leaf's gradient
    (h * h).sum().backward()
    np.testing.assert_allclose(seen[0], 2 * 3 * x.data)
    np.testing.assert_allclose(x.grad, [7.0, 7.0])
    handle.remove()
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad, [3.0, 3.0])


def test_the_shared_seed_of_backward_never_becomes_a_grad():
    """loss.backward() starts from one shared read-only 1 per dtype; when it reaches a leaf
    unchanged (loss = a + b), the leaf gets its own writable copy, and a second backward
    still starts from 1."""
    a, b = leaf(2.0), leaf(3.0)
    (a + b).backward()
    assert a.grad.flags.writeable and a.grad is not b.grad
    a.grad += 10.0  # the user's array: writing it changes no later seed
    (a + b).backward()
    np.testing.assert_allclose([a.grad, b.grad], [12.0, 2.0])
    r = a * 1.0
    r.retain_grad()
    (r + b).backward()
    np.testing.assert_allclose(r.grad, 1.0)
    assert r.grad.flags.writeable


def test_a_grad_is_laid_out_like_its_tensor():
    """W.T's gradient reaches W as a transposed view; the copy .grad keeps is laid out like W
    (C order, as PyTorch lays a gradient out like its parameter), with the same values."""
    rng = np.random.default_rng(0)
    w = mg.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    x = rng.standard_normal((4, 3))
    (mg.Tensor(x) @ w.T).sum().backward()
    assert w.grad.flags.c_contiguous
    np.testing.assert_allclose(w.grad, np.ones((5, 4)) @ x)
    f = mg.tensor(np.asfortranarray(rng.standard_normal((3, 5))), requires_grad=True)
    (mg.Tensor(x) @ f).sum().backward()  # a Fortran-ordered tensor keeps what it got
    np.testing.assert_allclose(f.grad, x.T @ np.ones((4, 5)))


def test_a_backward_sees_arrays_and_a_create_graph_backward_sees_tensors():
    """ctx.saved holds the arrays in a plain backward and Tensors under create_graph (through a
    view of the node): attributes the forward set, and ones the backward sets, are the node's."""
    seen = []

    class Cube(mg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            ctx.power = 3
            return x ** 3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved
            seen.append(type(x))
            ctx.visits = getattr(ctx, "visits", 0) + 1
            return grad * ctx.power * x * x

    x = leaf([1.5, -2.0])
    y = Cube.apply(x)
    (g,) = mg.grad(y.sum(), x, create_graph=True)
    assert seen == [mg.Tensor] and y.grad_fn.visits == 1
    (gg,) = mg.grad(g.sum(), x)
    np.testing.assert_allclose(gg.data, 6 * x.data)  # d/dx 3x^2 = 6x
    y.sum().backward(retain_graph=True)  # (a plain one would then free what forward set)
    assert seen == [mg.Tensor, np.ndarray] and y.grad_fn.visits == 2
    np.testing.assert_allclose(x.grad, 3 * x.data ** 2)


def test_mean_is_one_node_and_differentiates_twice():
    x = leaf([[1.0, 2.0, 4.0], [3.0, 5.0, 9.0]])
    m = x.mean(axis=1)
    assert m.grad_fn.fn is ops.Mean and m.grad_fn.next == (x,)
    w = leaf([[0.5, 1.0, 2.0], [1.0, 1.0, 1.0]])
    (g,) = mg.grad((x * w).mean(), x, create_graph=True)
    np.testing.assert_allclose(g.data, w.data / 6)
    (gw,) = mg.grad((g * g).sum(), w)  # d/dw sum((w/6)^2) = 2w/36
    np.testing.assert_allclose(gw.data, 2 * w.data / 36)


# ============================================================================ nothing half-done


def test_an_exception_in_a_backward_leaves_grads_and_graph_as_they_were():
    class Flaky(mg.Function):
        fail = True

        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            if Flaky.fail:
                raise ValueError("flaky backward")
            return grad * 2

    a, b = leaf([1.0]), leaf([2.0])
    a.grad = np.array([10.0])
    loss = (a * b + Flaky.apply(b)).sum()  # a's gradient is ready before Flaky's backward runs
    with pytest.raises(ValueError, match="flaky"):
        loss.backward()
    np.testing.assert_array_equal(a.grad, [10.0])
    assert b.grad is None
    Flaky.fail = False
    loss.backward()  # the graph was not freed
    np.testing.assert_allclose(a.grad, [12.0])
    np.testing.assert_allclose(b.grad, [3.0])


def test_a_custom_backward_of_the_wrong_shape_names_the_op_and_both_shapes():
    class Bad(mg.Function):
        @staticmethod
        def forward(ctx, x):
            return x.copy()

        @staticmethod
        def backward(ctx, grad):
            return np.ones(7)

    with pytest.raises(RuntimeError, match=r"bad\.backward returned a gradient of shape \(7,\) "
                                           r"for its input 0 of shape \(4,\)"):
        Bad.apply(leaf(np.zeros(4))).sum().backward()


def test_tensors_of_strings_or_objects_are_refused():
    for bad in ("abc", ["a", "b"], [object()]):
        with pytest.raises(TypeError, match="numbers only"):
            mg.tensor(bad)


# ============================================================================ grad modes, threads


def test_set_grad_enabled_as_a_plain_call():
    try:
        mg.set_grad_enabled(False)
        assert not mg.is_grad_enabled()
        assert (leaf([1.0]) * 2).grad_fn is None
    finally:
        mg.set_grad_enabled(True)
    assert mg.is_grad_enabled()
    with mg.set_grad_enabled(False):
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()


def test_no_grad_on_a_generator_applies_inside_its_body():
    @mg.no_grad()
    def gen(x):
        for k in range(3):
            yield x * k, mg.is_grad_enabled()

    x = leaf([1.0])
    results = list(gen(x))
    assert [enabled for _, enabled in results] == [False] * 3
    assert all(y.grad_fn is None for y, _ in results)
    assert mg.is_grad_enabled()


def test_threads_backpropagating_into_one_leaf_lose_no_update():
    w = leaf(np.ones(1000))
    barrier = threading.Barrier(8)

    def work(k):
        barrier.wait()
        for _ in range(25):
            (w * k).sum().backward()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    np.testing.assert_array_equal(w.grad, np.full(1000, 25.0 * 36))


# ============================================================================ memory


def test_a_plain_backward_frees_every_intermediate_array():
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal((16, 64)))
    w1, w2 = leaf(rng.standard_normal((64, 128))), leaf(rng.standard_normal((128, 4)))
    h = (x @ w1).relu()
    loss = ((h @ w2) ** 2).mean()
    arrays = [weakref.ref(h.data)]
    del h
    loss.backward()
    gc.collect()
    assert all(r() is None for r in arrays)  # only loss, the leaves and x stay
    assert w1.grad.shape == (64, 128)
    with pytest.raises(RuntimeError, match="second time"):
        loss.backward()


def test_retain_graph_keeps_the_saved_values():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad, 4 * x.data)


def test_pow_keeps_the_mixed_second_derivative_where_the_exponent_is_zero():
    x, y = mg.tensor(2.0, requires_grad=True), mg.tensor(0.0, requires_grad=True)
    (gx,) = mg.grad(x ** y, x, create_graph=True)
    (gxy,) = mg.grad(gx, y)
    np.testing.assert_allclose(gxy.data, 0.5)  # d/dy (y x^(y-1)) at y = 0 is 1/x


def test_two_tensors_sharing_one_array_keep_their_own_second_derivatives():
    data = np.array([1.0, 2.0])
    a, b = mg.Tensor(data, requires_grad=True), mg.Tensor(data, requires_grad=True)
    ga, gb = mg.grad((a * b).sum(), [a, b], create_graph=True)
    da, db = mg.grad(ga.sum(), [a, b], allow_unused=True)  # ga = b: d(ga)/da = 0, d(ga)/db = 1
    assert da is None
    np.testing.assert_allclose(db.data, [1.0, 1.0])


# ============================================================================ several outputs


class SinCos(mg.Function):
    """(sin x, cos x): two outputs, one backward that gets one gradient per output."""

    calls = []  # (no gradient for sin, no gradient for cos) per backward

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x), np.cos(x)

    @staticmethod
    def backward(ctx, grad_sin, grad_cos):  # d sin = cos dx, d cos = -sin dx
        (x,) = ctx.saved_tensors  # PyTorch's name for ctx.saved
        SinCos.calls.append((grad_sin is None, grad_cos is None))
        g = 0.0
        if grad_sin is not None:
            g = g + grad_sin * np.cos(x)
        if grad_cos is not None:
            g = g - grad_cos * np.sin(x)
        return g


class SortWithIndices(mg.Function):
    """Sorted values and the permutation: the indices carry no gradient."""

    @staticmethod
    def forward(ctx, x):
        order = np.argsort(x, kind="stable")
        ctx.order = order
        ctx.mark_non_differentiable(order)
        return x[order], order

    @staticmethod
    def backward(ctx, grad, grad_order):
        assert grad_order is None
        return mg.ops.call(mg.ops.IndexAdd, grad, shape=ctx.order.shape, index=ctx.order)


def test_a_function_with_two_outputs_gets_one_gradient_per_output():  # and saved_tensors
    x = leaf([0.3, -1.2, 2.0])
    s, c = SinCos.apply(x)
    np.testing.assert_allclose(s.data, np.sin(x.data))
    (s * 2 + c * c).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * np.cos(x.data) - 2 * np.cos(x.data) * np.sin(x.data))
    assert mg.gradcheck(lambda x: SinCos.apply(x)[0] * SinCos.apply(x)[1], [x])
    assert mg.gradgradcheck(lambda x: sum(SinCos.apply(x)), [x])


def test_an_unused_output_gets_none():
    x = leaf([0.5])
    s, c = SinCos.apply(x)
    SinCos.calls.clear()
    s.sum().backward()
    assert SinCos.calls == [(False, True)]
    np.testing.assert_allclose(x.grad, np.cos(x.data))


def test_outputs_marked_non_differentiable_carry_no_gradient():
    x = leaf([3.0, 1.0, 2.0])
    values, order = SortWithIndices.apply(x)
    assert not order.requires_grad and order.grad_fn is None
    np.testing.assert_array_equal(order.data, [1, 2, 0])
    (values * mg.tensor([1.0, 10.0, 100.0])).sum().backward()
    np.testing.assert_allclose(x.grad, [100.0, 1.0, 10.0])


def test_in_place_on_a_view_never_writes_into_another_tensor():
    t, w = leaf(np.ones((2, 3))), leaf(np.ones(3))
    y = (t * w).sum()  # saves t
    with mg.no_grad():
        row = t[0]  # a view of t's array
        row.fill_(5.0)
    np.testing.assert_array_equal(row.data, [5.0, 5.0, 5.0])
    np.testing.assert_array_equal(t.data, np.ones((2, 3)))
    y.backward()
    np.testing.assert_array_equal(w.grad, [2.0, 2.0, 2.0])
