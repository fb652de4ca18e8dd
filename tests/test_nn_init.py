"""nn.init: PyTorch's gains, fans, bounds and standard deviations; seeded by mg.manual_seed;
written in place through the engine (version counters)."""

import math

import numpy as np
import pytest

import microgradnp as mg
import nn
from nn import init

GAINS = [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
         ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None)]


def test_calculate_gain_closed_forms():
    assert init.calculate_gain("tanh") == 5 / 3
    assert init.calculate_gain("relu") == math.sqrt(2)
    assert init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")


def test_fans():
    assert init._calculate_fan_in_and_fan_out(mg.zeros(5, 3)) == (3, 5)
    assert init._calculate_fan_in_and_fan_out(mg.zeros(8, 4, 3, 2)) == (24, 48)
    with pytest.raises(ValueError, match=r"fewer than 2 dimensions \(shape \(4,\)\)"):
        init.xavier_uniform_(mg.zeros(4))
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out'"):
        init.kaiming_normal_(mg.zeros(4, 4), mode="fan_avg")


# (initialiser, kwargs, expected bound of a uniform (None for normal), expected std)
FAN_IN, FAN_OUT = 60 * 3 * 3, 40 * 3 * 3  # a (40, 60, 3, 3) weight
CASES = [
    (init.uniform_, dict(a=-2.0, b=3.0), None, 5 / math.sqrt(12)),
    (init.normal_, dict(mean=1.0, std=0.5), None, 0.5),
    (init.xavier_uniform_, dict(gain=2.0), 2 * math.sqrt(6 / (FAN_IN + FAN_OUT)), None),
    (init.xavier_normal_, dict(), None, math.sqrt(2 / (FAN_IN + FAN_OUT))),
    (init.kaiming_uniform_, dict(a=math.sqrt(5)), 1 / math.sqrt(FAN_IN), None),
    (init.kaiming_uniform_, dict(mode="fan_out", nonlinearity="relu"),
     math.sqrt(6 / FAN_OUT), None),
    (init.kaiming_normal_, dict(nonlinearity="relu"), None, math.sqrt(2 / FAN_IN)),
    (init.kaiming_normal_, dict(mode="fan_out", nonlinearity="tanh"), None,
     5 / 3 / math.sqrt(FAN_OUT)),
]


@pytest.mark.parametrize("fn, kwargs, bound, std", CASES)
def test_initialisers_have_pytorchs_distributions(fn, kwargs, bound, std):
    w = nn.Parameter(np.zeros((40, 60, 3, 3)))
    data = w.data
    assert fn(w, **kwargs) is w and w.data is data  # in place
    values = w.data.ravel()
    if bound is not None:
        assert np.abs(values).max() <= bound and np.abs(values).max() > 0.99 * bound
        std = bound / math.sqrt(3)
    assert values.std() == pytest.approx(std, rel=0.02)


def test_constants_and_seeding():
    w = nn.Parameter(np.zeros((3, 2)))
    np.testing.assert_array_equal(init.ones_(w).data, 1)
    np.testing.assert_array_equal(init.constant_(w, 0.25).data, 0.25)
    np.testing.assert_array_equal(init.zeros_(w).data, 0)
    mg.manual_seed(7)
    a = init.kaiming_normal_(nn.Parameter(np.zeros((5, 4)))).data.copy()
    mg.manual_seed(7)
    np.testing.assert_array_equal(init.kaiming_normal_(nn.Parameter(np.zeros((5, 4)))).data, a)
    gen = np.random.default_rng(3)
    b = init.normal_(nn.Parameter(np.zeros(4)), generator=gen).data
    np.testing.assert_array_equal(b, np.random.default_rng(3).normal(0, 1, 4))
    f32 = nn.Parameter(np.zeros(3, dtype=np.float32))
    assert init.normal_(f32).dtype == np.float32


def test_init_goes_through_the_in_place_path():
    w = nn.Parameter(np.ones(3))
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    loss = (x * w).sum()  # saves w for backward
    init.normal_(w)
    with pytest.raises(RuntimeError, match="modified in place|in.place"):
        loss.backward()
    with pytest.raises(TypeError, match="expected a Tensor"):
        init.zeros_(np.zeros(3))


def test_gains_and_fans_match_torch():
    torch = pytest.importorskip("torch")
    for name, param in GAINS:
        assert init.calculate_gain(name, param) == pytest.approx(
            torch.nn.init.calculate_gain(name, param), rel=1e-15)
    for shape in [(5, 3), (8, 4, 3, 2), (2, 7, 5)]:
        assert init._calculate_fan_in_and_fan_out(mg.zeros(*shape)) == \
            torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))


def test_module_apply_initialises_every_layer_children_first():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Sequential(nn.Linear(8, 2)))
    visited = []

    def init_weights(m):
        visited.append(type(m).__name__)
        if isinstance(m, nn.Linear):
            init.xavier_normal_(m.weight)
            init.zeros_(m.bias)

    assert model.apply(init_weights) is model
    assert visited == ["Linear", "ReLU", "Linear", "Sequential", "Sequential"]
    assert all((m.bias.data == 0).all() for m in (model[0], model[2][0]))
