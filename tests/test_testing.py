"""microgradnp.testing: gradcheck as assertions with the report, and the hypothesis strategies."""

import subprocess
import sys

import hypothesis.strategies as st
import numpy as np
import pytest
from custom_ops import BadSquare, Square
from hypothesis import given, settings

import microgradnp as mg
from microgradnp.testing import (
    assert_gradcheck,
    assert_gradgradcheck,
    broadcastable_shapes,
    tensors,
)

SETTINGS = settings(max_examples=25, deadline=None)


class CubeConstantSlope(mg.Function):
    """x^3 with the right first derivative 3x^2, but x^2 saved as a plain array computed in
    forward: a constant to the engine, so the second derivative misses d(3x^2)/dx."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x * x)
        return x * x * x

    @staticmethod
    def backward(ctx, grad):
        (x_squared,) = ctx.saved
        return grad * 3 * x_squared


def leaf(*shape):
    values = np.random.default_rng(0).uniform(0.5, 2.0, shape)
    return mg.tensor(values, requires_grad=True)


# ============================================================================ assertions


def test_assert_gradcheck_passes_a_right_op():
    x = leaf(2, 3)
    assert_gradcheck(Square.apply, [x])
    assert_gradcheck(lambda x: (x.tanh() * x).sum(), x, fast_mode=True)
    assert_gradgradcheck(Square.apply, [x])
    assert_gradgradcheck(lambda x: x.tanh(), x, grad_outputs=np.ones((2, 3)))


def test_assert_gradcheck_raises_an_assertion_error_with_the_report():
    x = leaf(3)
    with pytest.raises(AssertionError) as info:
        assert_gradcheck(BadSquare.apply, [x])
    report = str(info.value)
    assert report.startswith("gradcheck failed")
    assert "input 0, shape (3,)" in report and "analytic" in report and "numerical" in report
    np.testing.assert_array_equal(x.data, leaf(3).data)  # inputs left as they were


def test_assert_gradgradcheck_raises_on_a_wrong_second_derivative():
    x = leaf(3)
    assert_gradcheck(CubeConstantSlope.apply, [x])  # the first derivative is right
    with pytest.raises(AssertionError, match="gradgradcheck failed") as info:
        assert_gradgradcheck(CubeConstantSlope.apply, [x])
    assert "analytic" in str(info.value)


def test_pytest_shows_the_report(tmp_path):
    """Run a failing test in a subprocess: pytest's output carries gradcheck's report."""
    test = tmp_path / "test_bad.py"
    test.write_text(
        "import microgradnp as mg\n"
        "from microgradnp.testing import assert_gradcheck\n"
        "def test_bad():\n"
        "    x = mg.tensor([1.0, 2.0], requires_grad=True)\n"
        "    assert_gradcheck(lambda x: x * x.detach(), [x])  # half the gradient of x^2\n"
    )
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             str(test)], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 1
    assert "gradcheck failed" in result.stdout and "numerical =" in result.stdout
    assert "test_bad.py:5: GradcheckError" in result.stdout  # at the caller's line
    assert "gradcheck.py" not in result.stdout  # not deep inside gradcheck


def test_arguments_are_gradchecks():
    with pytest.raises(TypeError, match="float64"):
        assert_gradcheck(lambda x: x * x, mg.tensor([1.0], dtype=np.float32, requires_grad=True))


def test_importing_microgradnp_does_not_import_hypothesis():
    code = ("import sys, microgradnp, microgradnp.testing; "
            "assert 'hypothesis' not in sys.modules, 'hypothesis imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


# ============================================================================ strategies


@SETTINGS
@given(shapes=broadcastable_shapes(3))
def test_broadcastable_shapes_broadcast(shapes):
    assert len(shapes) == 3 and all(isinstance(s, tuple) for s in shapes)
    assert all(len(s) <= 3 and all(1 <= n <= 4 for n in s) for s in shapes)
    np.broadcast_shapes(*shapes)  # raises if they do not broadcast


@SETTINGS
@given(x=tensors())
def test_tensors_are_float64_leaves_that_require_grad(x):
    assert isinstance(x, mg.Tensor) and x.dtype == np.float64 and x.requires_grad and x.is_leaf
    assert x.ndim <= 3 and np.all(np.abs(x.data) <= 3)


@SETTINGS
@given(x=tensors(shape=(2, 3), elements=st.floats(0.5, 1.0), requires_grad=False))
def test_tensors_with_a_shape_and_elements(x):
    assert x.shape == (2, 3) and not x.requires_grad
    assert np.all((x.data >= 0.5) & (x.data <= 1.0))


@SETTINGS
@given(x=tensors(shape=st.just((5,)), away_from=(0.0, 1.0), margin=0.01))
def test_tensors_away_from_kinks(x):
    assert np.all(np.abs(x.data) >= 0.01) and np.all(np.abs(x.data - 1.0) >= 0.01)


@SETTINGS
@given(shapes=broadcastable_shapes(2), data=st.data())
def test_strategies_drive_a_gradcheck_over_broadcasting(shapes, data):
    x, y = (data.draw(tensors(shape)) for shape in shapes)
    assert_gradcheck(lambda x, y: x * y + y.tanh(), [x, y])


@SETTINGS
@given(x=tensors(away_from=(0.0,)))
def test_relu_and_abs_pass_away_from_their_kink(x):
    assert_gradcheck(lambda x: x.relu() + abs(x), [x])
