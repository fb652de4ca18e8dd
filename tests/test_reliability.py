"""Issue 11's promises that need no oracle: closed forms for a non-leaf fed twice into one op,
and every write to a parameter going through the engine's in-place methods (so a graph that
saved the old values refuses to backpropagate instead of giving a wrong gradient)."""

from pathlib import Path

import numpy as np
import pytest

import microgradnp as mg
import nn

pytest_plugins = ["pytester"]  # runs small test files in-process (the CI oracle rule)

rng = np.random.default_rng(11)


# ============================================================================ a non-leaf used twice


def test_same_non_leaf_twice_in_mul():
    # a = 2x (a non-leaf); L = sum(a * a) = 4 sum(x^2); dL/dx = 8x
    x = mg.tensor(rng.normal(size=(3, 4)), requires_grad=True)
    a = x * 2
    (a * a).sum().backward()
    np.testing.assert_allclose(x.grad, 8 * x.data, rtol=1e-14)


def test_same_non_leaf_twice_in_matmul():
    # a = x + 1 (square, a non-leaf); L = sum(a @ a) = 1^T a a 1
    # dL/da = 1 (a 1)^T + (1^T a)^T 1^T = 1 1^T a^T + a^T 1 1^T;  dL/dx = dL/da
    x = mg.tensor(rng.normal(size=(4, 4)), requires_grad=True)
    a = x + 1
    (a @ a).sum().backward()
    ones = np.ones((4, 4))
    A = x.data + 1
    np.testing.assert_allclose(x.grad, ones @ A.T + A.T @ ones, rtol=1e-12)


def test_same_non_leaf_twice_second_derivative():
    # a = 3x; f = sum(a * a) = 9 sum(x^2); df/dx = 18x; d/dx sum(df/dx * v) = 18 v
    x = mg.tensor(rng.normal(size=5), requires_grad=True)
    a = x * 3
    (g,) = mg.grad((a * a).sum(), [x], create_graph=True)
    np.testing.assert_allclose(g.data, 18 * x.data, rtol=1e-14)
    v = rng.normal(size=5)
    (h,) = mg.grad((g * v).sum(), [x])
    np.testing.assert_allclose(h.data, 18 * v, rtol=1e-14)


def test_same_non_leaf_in_a_diamond_and_twice_in_one_op():
    # b = x^2 used by c = b * b and by d = b + c: L = sum(b + b^2), dL/dx = (1 + 2b) 2x
    x = mg.tensor(rng.normal(size=6), requires_grad=True)
    b = x * x
    (b + b * b).sum().backward()
    np.testing.assert_allclose(x.grad, (1 + 2 * x.data**2) * 2 * x.data, rtol=1e-13)


# ============================================================================ parameter writes


def test_reset_parameters_after_forward_makes_backward_raise():
    # the example: backward would have used the new weights with the old activations
    m = nn.Linear(3, 2)
    loss = m(mg.tensor(np.ones((1, 3)))).sum()
    m.reset_parameters()
    with pytest.raises(RuntimeError, match="in.place"):
        loss.backward()


def test_load_state_dict_after_forward_makes_backward_raise():
    mg.manual_seed(0)
    a, b = nn.Linear(3, 2), nn.Linear(3, 2)
    loss = b(np.ones((1, 3))).sum()
    b.load_state_dict(a.state_dict())
    with pytest.raises(RuntimeError, match="in.place"):
        loss.backward()


def test_load_state_dict_into_a_read_only_parameter_loads_nothing():
    mg.manual_seed(0)
    a, b = nn.Linear(3, 2), nn.Linear(3, 2)
    weight, bias = b.weight.data.copy(), b.bias.data.copy()
    b.bias.data.flags.writeable = False
    with pytest.raises(nn.StateDictError, match="'bias' is a read-only array"):
        b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(b.weight.data, weight)
    np.testing.assert_array_equal(b.bias.data, bias)


def test_early_stopping_restore_best_goes_through_the_engine():
    """fit's restore-best writes the parameters in place (load_state_dict): a graph built on
    the weights of the last epoch refuses to backpropagate through the restored ones."""
    mg.manual_seed(0)
    X = rng.normal(size=(20, 2))
    y = X @ np.array([[1.0], [-2.0]])
    model = nn.Linear(2, 1)
    data = model.weight.data
    stop = nn.EarlyStopping(monitor="loss", patience=100, restore_best=True)

    class KeepLastGraph(nn.Callback):
        def on_epoch_end(self, epoch, logs):
            self.loss = model(X).sum()

    keep = KeepLastGraph()
    # lr so large the loss grows: the best epoch is the first, so restore-best writes
    nn.fit(model, nn.MSELoss(), nn.SGD(model.parameters(), lr=5.0), X, y, epochs=4,
           callbacks=[keep, stop], progress=False)
    assert stop.best_epoch == 1 and model.weight.data is data
    with pytest.raises(RuntimeError, match="in.place"):
        keep.loss.backward()


# ===================================================== tests that cannot go quiet


ORACLE_TESTS = {
    # the suite's conftest, with two oracles that are surely missing (importing the real ones
    # in-process twice would upset NumPy)
    "conftest.py": Path(__file__).with_name("conftest.py").read_text().replace(
        'ORACLES = ("torch", "sklearn")', 'ORACLES = ("no_such_torch", "no_such_sklearn")'),
    "test_function_level.py": """
import pytest


def test_against_torch():
    pytest.importorskip("no_such_torch.nn")


def test_other_skip():
    pytest.skip("an ordinary skip stays a skip")
""",
    "test_module_level.py": """
import pytest

sklearn = pytest.importorskip("no_such_sklearn")


def test_against_sklearn():
    pass
""",
}


def test_in_ci_a_missing_oracle_fails_the_run(pytester, monkeypatch):
    monkeypatch.setenv("CI", "true")
    pytester.makepyfile(**{name[:-3]: text for name, text in ORACLE_TESTS.items()})
    result = pytester.runpytest_inprocess("--continue-on-collection-errors", "-rs")
    assert result.ret != 0
    result.stdout.fnmatch_lines([
        "*CI=true and the test oracle 'no_such_sklearn' is not installed*",
        "*CI=true and the test oracle 'no_such_torch' is not installed*",
    ])
    result.assert_outcomes(failed=1, skipped=1, errors=1)  # the ordinary skip stays a skip


def test_outside_ci_a_missing_oracle_skips(pytester, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    pytester.makepyfile(**{name[:-3]: text for name, text in ORACLE_TESTS.items()})
    result = pytester.runpytest_inprocess("-rs")
    assert result.ret == 0
    result.assert_outcomes(skipped=3)


def test_the_oracles_are_torch_and_sklearn():
    assert 'ORACLES = ("torch", "sklearn")' in Path(__file__).with_name("conftest.py").read_text()
