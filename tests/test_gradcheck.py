"""mg.gradcheck / mg.gradgradcheck: pass right gradients, catch wrong ones, and say where."""

import re

import numpy as np
import pytest
from custom_ops import BadSquare, Square

import microgradnp as mg


def leaf(*shape, seed=0, name=None, low=None):
    """A float64 leaf of random values (bounded away from 0 by `low` when given)."""
    values = np.random.default_rng(seed).standard_normal(shape)
    if low is not None:
        values = np.sign(values) * (np.abs(values) + low)
    return mg.tensor(values, requires_grad=True, name=name)


# ---- deliberately wrong (or odd) Functions ------------------------------------------------------


class SquareNumpyBackward(Square):
    """x^2 with a right first derivative built from NumPy arrays: not differentiable again."""

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved
        return 2 * np.asarray(grad) * np.asarray(x)  # bare arrays: constants


class NoisyIdentity(mg.Function):
    """Identity whose backward adds fresh random noise on every call."""

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad + np.random.default_rng().standard_normal(grad.shape)


class CountingIdentity(mg.Function):
    """Identity whose backward changes with the number of times it ran (not reentrant)."""

    @staticmethod
    def forward(ctx, x):
        ctx.calls = 0
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        ctx.calls += 1
        return grad * (1.0 if ctx.calls == 1 else 0.5)


class CountedTanh(mg.Function):
    """tanh that counts its backward calls (class attribute)."""

    calls = 0

    @staticmethod
    def forward(ctx, x):
        out = np.tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        CountedTanh.calls += 1
        (out,) = ctx.saved
        return grad * (1 - out * out)


# ---- correct functions pass ---------------------------------------------------------------------

CORRECT = {
    "matmul_bias_tanh": (lambda a, b, c: (a @ b + c).tanh(), [(3, 4), (4, 2), (2,)]),
    "broadcast_mul_div": (lambda a, b: a * b / (b * b + 1), [(3, 1), (1, 4)]),
    "batched_matmul": (lambda a, b: a @ b, [(2, 3, 4), (4, 2)]),
    "vector_matmul": (lambda a, b: a @ b, [(4,), (4,)]),
    "softmax_rows": (lambda a: a.softmax(axis=-1), [(2, 5)]),
    "logsumexp_scalar": (lambda a: a.logsumexp(), [(3, 3)]),
    "sigmoid_mean": (lambda a: a.sigmoid().mean(axis=0), [(4, 3)]),
    "scalar_input": (lambda a, b: a * b.exp(), [(), (3,)]),
}


@pytest.mark.parametrize("fast_mode", [False, True])
@pytest.mark.parametrize("case", sorted(CORRECT))
def test_correct_functions_pass(case, fast_mode):
    fn, shapes = CORRECT[case]
    inputs = [leaf(*shape, seed=i) for i, shape in enumerate(shapes)]
    assert mg.gradcheck(fn, inputs, fast_mode=fast_mode) is True


def test_non_tensor_inputs_are_passed_through():
    x = leaf(3, 4)
    weights = np.arange(4.0)
    assert mg.gradcheck(lambda x, w, axis: (x * w).sum(axis=axis), [x, weights, 0])


def test_a_single_tensor_input_and_a_tuple_output():
    x = leaf(3)
    assert mg.gradcheck(lambda x: (x.exp(), (x * x).sum()), x)


def test_unused_input_has_zero_gradient_and_passes():
    x, unused = leaf(3), leaf(2, seed=1)
    assert mg.gradcheck(lambda x, unused: x * 2, [x, unused])


def test_constant_tensors_are_not_checked():
    x = leaf(3)
    constant = mg.tensor(np.ones(3, dtype=np.float32))  # float32 is fine when not checked
    assert mg.gradcheck(lambda x, c: x * c, [x, constant])


def test_works_inside_no_grad():
    x = leaf(2, 2)
    with mg.no_grad():
        assert mg.gradcheck(lambda x: x.tanh(), x)
    assert mg.is_grad_enabled()


def test_same_tensor_twice_and_tensors_sharing_memory():
    x = leaf(3)
    assert mg.gradcheck(lambda x, y: x * y, [x, x])
    shared = np.array([0.5, 1.0, 2.0])
    p, q = mg.Tensor(shared, requires_grad=True), mg.Tensor(shared, requires_grad=True)
    assert mg.gradcheck(lambda p, q: p * q.exp(), [p, q])  # partial derivatives, one leaf each


def test_read_only_input_data_is_checked():
    data = np.broadcast_to(np.array([0.5, 1.0, 2.0]), (2, 3))  # not writeable
    x = mg.Tensor(data, requires_grad=True)
    assert mg.gradcheck(lambda x: x.log(), x)
    assert x.data is data


def test_does_not_touch_grad():
    x = leaf(3)
    mg.gradcheck(lambda x: x * x, x)
    assert x.grad is None


# ---- wrong gradients are caught, and the report says where ------------------------------------


def test_wrong_backward_is_reported_with_position_index_and_values():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True, name="x")
    y = leaf(3, seed=1)
    with pytest.raises(mg.GradcheckError) as info:
        mg.gradcheck(lambda y, x: y.tanh() + BadSquare.apply(x), [y, x])
    error = info.value
    assert isinstance(error, AssertionError)
    assert error.report == str(error)
    assert len(error.failures) == 1  # y's gradient is right
    failure = error.failures[0]
    assert failure["kind"] == "mismatch"
    assert failure["input"] == 1 and failure["name"] == "x" and failure["shape"] == (3,)
    # worst entry: the largest x, where grad * x = 3 but the derivative is 2 * 3
    assert failure["input_index"] == (2,) and failure["output_index"] == (2,)
    assert failure["analytic"] == pytest.approx(3.0)
    assert failure["numerical"] == pytest.approx(6.0, rel=1e-8)
    assert failure["max_abs_error"] == pytest.approx(3.0, rel=1e-8)
    assert failure["max_rel_error"] == pytest.approx(0.5, rel=1e-8)
    assert failure["n_bad"] == 3 and failure["n_total"] == 9
    assert failure["kink"] is False
    report = error.report
    assert "input 1 'x', shape (3,)" in report
    assert "input index (2,)" in report and "output index (2,)" in report
    assert re.search(r"analytic\s+= 3\b", report)
    assert re.search(r"numerical\s+= 6(\.0*|\.99999)?", report)
    assert "max abs error 3" in report and "max rel error 0.5" in report
    assert "KINK" not in report


def test_wrong_backward_in_one_of_several_outputs():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(mg.GradcheckError) as info:
        mg.gradcheck(lambda x: (x.exp(), BadSquare.apply(x)), x)
    failure = info.value.failures[0]
    assert failure["output"] == 1 and failure["output_index"] == (1,)
    assert "output 1 index (1,)" in info.value.report


def test_raise_exception_false_returns_false():
    x = leaf(3, low=0.5)
    assert mg.gradcheck(lambda x: BadSquare.apply(x), x, raise_exception=False) is False
    assert mg.gradcheck(lambda x: BadSquare.apply(x), x, raise_exception=False,
                        fast_mode=True) is False
    assert mg.gradcheck(lambda x: x * x, x, raise_exception=False) is True


def test_nan_gradient_is_a_failure():
    class NanGrad(mg.Function):
        @staticmethod
        def forward(ctx, x):
            return 2 * x

        @staticmethod
        def backward(ctx, grad):
            return grad * np.nan

    x = mg.tensor([0.5, 1.0], requires_grad=True)
    with pytest.raises(mg.GradcheckError) as info:
        mg.gradcheck(lambda x: NanGrad.apply(x), x)
    assert np.isnan(info.value.failures[0]["analytic"])
    assert info.value.failures[0]["n_bad"] == 4  # 0 * nan is nan off the diagonal too


def test_tolerances_are_respected():
    class Slightly(mg.Function):
        """2x whose backward is off by 0.05%."""

        @staticmethod
        def forward(ctx, x):
            return 2 * x

        @staticmethod
        def backward(ctx, grad):
            return grad * 2.001

    x = mg.tensor([1.0], requires_grad=True)
    assert mg.gradcheck(lambda x: Slightly.apply(x), x, atol=0, rtol=1e-3)
    assert not mg.gradcheck(lambda x: Slightly.apply(x), x, atol=0, rtol=1e-4,
                            raise_exception=False)
    assert mg.gradcheck(lambda x: Slightly.apply(x), x, atol=2e-3, rtol=0)


# ---- kinks ---------------------------------------------------------------------------------------


def test_relu_at_zero_fails_and_is_labelled_a_kink():
    x = mg.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    with pytest.raises(mg.GradcheckError) as info:
        mg.gradcheck(lambda x: x.relu(), x)
    (failure,) = info.value.failures
    assert failure["input_index"] == (1,) and failure["output_index"] == (1,)
    assert failure["analytic"] == 0.0 and failure["numerical"] == pytest.approx(0.5)
    assert failure["kink"] is True
    assert failure["left"] == pytest.approx(0.0) and failure["right"] == pytest.approx(1.0)
    assert "KINK" in info.value.report and "not differentiable" in info.value.report


def test_relu_away_from_zero_passes():
    x = mg.tensor([-1.0, 0.5, 2.0], requires_grad=True)
    assert mg.gradcheck(lambda x: x.relu(), x)


def test_kink_with_fast_mode_is_located():
    x = mg.tensor([[-1.0, 0.0], [2.0, 3.0]], requires_grad=True)
    with pytest.raises(mg.GradcheckError) as info:
        mg.gradcheck(lambda x: x.relu().sum(), x, fast_mode=True)
    (failure,) = info.value.failures
    assert failure["input_index"] == (0, 1) and failure["kink"] is True


# ---- fast mode -----------------------------------------------------------------------------------


def test_fast_mode_catches_a_wrong_backward_and_locates_it():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(mg.GradcheckError) as info:
        mg.gradcheck(lambda x: BadSquare.apply(x), x, fast_mode=True)
    failure = info.value.failures[0]
    assert failure["input_index"] == (2,)
    assert failure["analytic"] == pytest.approx(3.0)


def test_fast_mode_needs_fewer_backward_passes():
    x = leaf(4, 3)
    CountedTanh.calls = 0
    assert mg.gradcheck(lambda x: CountedTanh.apply(x), x)
    full = CountedTanh.calls
    CountedTanh.calls = 0
    assert mg.gradcheck(lambda x: CountedTanh.apply(x), x, fast_mode=True)
    fast = CountedTanh.calls
    assert full == 2 * 12  # one backward per output element, twice
    assert fast == 4  # two projections, each VJP run twice


# ---- non-deterministic or non-reentrant backward ------------------------------------------------


@pytest.mark.parametrize("fast_mode", [False, True])
def test_noisy_backward_is_reported(fast_mode):
    x = leaf(2, 3)
    with pytest.raises(mg.GradcheckError) as info:
        mg.gradcheck(lambda x: NoisyIdentity.apply(x), x, fast_mode=fast_mode)
    assert info.value.failures[0]["kind"] == "nondeterministic"
    assert "not deterministic" in info.value.report


def test_non_reentrant_backward_is_reported():
    x = leaf(3)
    with pytest.raises(mg.GradcheckError) as info:
        mg.gradcheck(lambda x: CountingIdentity.apply(x), x)
    failure = info.value.failures[0]
    assert failure["kind"] == "nondeterministic"
    assert {failure["first"], failure["second"]} <= {1.0, 0.5}


# ---- refusals and usage errors ------------------------------------------------------------------


def test_float32_inputs_are_refused_with_a_reason():
    x = mg.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    with pytest.raises(TypeError, match=r"input 0 .*float32.*float64 precision.*dtype=np.float64"):
        mg.gradcheck(lambda x: x * x, x)
    with pytest.raises(TypeError, match="float64"):
        mg.gradgradcheck(lambda x: x * x, x)


def test_output_that_does_not_require_grad_is_a_clear_error():
    x = leaf(3)
    with pytest.raises(RuntimeError, match="does not require grad"):
        mg.gradcheck(lambda x: mg.Tensor(np.sin(x.data)), x)


def test_no_input_requiring_grad_is_an_error():
    with pytest.raises(ValueError, match="no input requires grad"):
        mg.gradcheck(lambda x: x * 2, mg.tensor([1.0]))


def test_fn_must_return_tensors():
    with pytest.raises(TypeError, match="must return a Tensor"):
        mg.gradcheck(lambda x: x.data * 2, leaf(3))


# ---- inputs are restored exactly ----------------------------------------------------------------


def bits(a):
    return np.ascontiguousarray(a).view(np.int64).copy()


@pytest.mark.parametrize("fast_mode", [False, True])
def test_inputs_are_restored_exactly(fast_mode):
    data = np.array([-0.0, 1e-300, 0.1, 3.0])
    x = mg.Tensor(data, requires_grad=True)
    before = bits(data)
    assert mg.gradcheck(lambda x: (x * x).sum(), x, fast_mode=fast_mode)
    assert x.data is data and np.array_equal(bits(data), before)


@pytest.mark.parametrize("fast_mode", [False, True])
def test_inputs_are_restored_after_an_exception_in_fn(fast_mode):
    data = np.array([-0.0, 0.1, 3.0])
    x = mg.Tensor(data, requires_grad=True)
    before = bits(data)
    calls = []

    def fn(x):
        calls.append(x.data.copy())
        if len(calls) == 5:  # in the middle of the finite differences (after 2 + 1 plain calls)
            raise ZeroDivisionError("boom")
        return x * 2

    with pytest.raises(ZeroDivisionError, match="boom"):
        mg.gradcheck(fn, x, fast_mode=fast_mode)
    assert any(not np.array_equal(c, before.view(np.float64)) for c in calls)  # it did perturb
    assert x.data is data and np.array_equal(bits(data), before)


def test_inputs_are_restored_after_a_failed_check():
    data = np.array([1.0, 2.0])
    x = mg.Tensor(data, requires_grad=True)
    with pytest.raises(mg.GradcheckError):
        mg.gradcheck(lambda x: BadSquare.apply(x), x)
    assert x.data is data and np.array_equal(data, [1.0, 2.0])


# ---- second derivatives --------------------------------------------------------------------------

SECOND_ORDER = {
    "tanh": (lambda a: a.tanh(), [(3, 2)]),
    "sigmoid": (lambda a: a.sigmoid(), [(4,)]),
    "cube": (lambda a: a ** 3, [(2, 3)]),
    "matmul": (lambda a, b: (a @ b), [(2, 3), (3, 2)]),
    "matmul_tanh": (lambda a, b: (a @ b).tanh(), [(2, 3), (3, 2)]),
    "softmax": (lambda a: a.softmax(axis=-1), [(2, 4)]),
    "exp_times_log": (lambda a, b: a.exp() * (b * b + 1).log(), [(3,), (3,)]),
}


@pytest.mark.parametrize("fast_mode", [False, True])
@pytest.mark.parametrize("case", sorted(SECOND_ORDER))
def test_gradgradcheck_passes_correct_functions(case, fast_mode):
    fn, shapes = SECOND_ORDER[case]
    inputs = [leaf(*shape, seed=i) for i, shape in enumerate(shapes)]
    assert mg.gradgradcheck(fn, inputs, fast_mode=fast_mode) is True


def test_gradgradcheck_with_given_grad_outputs():
    x = leaf(3)
    assert mg.gradgradcheck(lambda x: x.tanh(), x, grad_outputs=np.array([1.0, -2.0, 0.5]))
    with pytest.raises(ValueError, match="shape"):
        mg.gradgradcheck(lambda x: x.tanh(), x, grad_outputs=np.ones(4))


@pytest.mark.parametrize("fast_mode", [False, True])
def test_gradgradcheck_catches_a_non_differentiable_backward(fast_mode):
    x = leaf(3, low=0.5, name="w")
    assert mg.gradcheck(lambda x: SquareNumpyBackward.apply(x), x)  # first derivative is right
    with pytest.raises(mg.GradcheckError) as info:
        mg.gradgradcheck(lambda x: SquareNumpyBackward.apply(x), x, fast_mode=fast_mode)
    error = info.value
    assert error.order == 2 and "second derivative" in error.report
    failure = error.failures[0]
    assert failure["input"] == 0 and failure["name"] == "w"
    assert failure["analytic"] == 0.0  # the NumPy gradient is a constant to the engine
    assert failure["numerical"] != pytest.approx(0.0)
    assert "differentiable Tensor ops" in error.report


def test_gradgradcheck_linear_function_has_zero_second_derivative():
    a, b = leaf(2, 3), leaf(3, seed=1)
    assert mg.gradgradcheck(lambda a, b: a * 2 + b, [a, b])


def test_gradgradcheck_restores_inputs():
    data = np.array([0.3, -1.2])
    x = mg.Tensor(data, requires_grad=True)
    before = bits(data)
    mg.gradgradcheck(lambda x: x.tanh(), x)
    assert x.data is data and np.array_equal(bits(data), before)


def test_a_random_forward_is_named_as_such_not_blamed_on_a_kink():
    import nn

    dropout = nn.Dropout(0.5)
    x = mg.tensor(np.ones(6), requires_grad=True)
    with pytest.raises(mg.GradcheckError, match="not deterministic.*Dropout") as info:
        mg.gradcheck(lambda x: dropout(x), [x])
    assert "KINK" not in info.value.report
    dropout.eval()
    assert mg.gradcheck(lambda x: dropout(x), [x])
