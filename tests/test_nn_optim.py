"""Optimizers and learning-rate schedules: closed forms, PyTorch step for step, validation,
all-or-nothing steps, state dicts."""

import math

import numpy as np
import pytest

import microgradnp as mg
import nn

rng = np.random.default_rng(0)
INIT = [rng.normal(size=(3, 4)), rng.normal(size=(4,))]


def _params():
    return [nn.Parameter(a) for a in INIT]


def _grad(a):
    """A deterministic gradient that depends on the current value (like a real loss)."""
    return np.sin(3 * a) + a


# ============================================================================ closed forms


def test_sgd_plain_step_is_p_minus_lr_grad():
    p = nn.Parameter([1.0, -2.0])
    opt = nn.SGD([p], lr=0.1)
    p.grad = np.array([0.5, 1.0])
    data = p.data
    loss = (p * p).sum()  # saves p for backward
    opt.step()
    np.testing.assert_allclose(p.data, [0.95, -2.1])
    assert p.data is data  # in place
    with pytest.raises(RuntimeError, match="in.place"):  # and seen by the graph that saved p
        loss.backward()


def test_sgd_momentum_closed_form():
    p = nn.Parameter([1.0])
    opt = nn.SGD([p], lr=0.1, momentum=0.9)
    for _ in range(3):
        p.grad = np.array([1.0])  # constant gradient: buf = 1, 1.9, 2.71
        opt.step()
    np.testing.assert_allclose(p.data, [1.0 - 0.1 * (1 + 1.9 + 2.71)])


def test_adam_first_step_moves_each_weight_by_lr():
    p = nn.Parameter([1.0, -1.0, 3.0])
    opt = nn.Adam([p], lr=0.01)
    p.grad = np.array([10.0, -0.001, 2.0])
    opt.step()  # m_hat / sqrt(v_hat) = sign(grad) on the first step (up to eps)
    np.testing.assert_allclose(p.data, [0.99, -0.99, 2.99], rtol=1e-6)


def test_adamw_decays_weights_without_gradient_signal():
    p = nn.Parameter([2.0])
    opt = nn.AdamW([p], lr=0.1, weight_decay=0.5)
    p.grad = np.array([0.0])
    opt.step()
    np.testing.assert_allclose(p.data, [2.0 * (1 - 0.1 * 0.5)])


def test_sgd_dampening_closed_form():
    # buf_1 = g (no dampening on the first step), buf_t = m buf_{t-1} + (1 - d) g
    m, d, lr = 0.5, 0.3, 0.1
    p = nn.Parameter([1.0])
    opt = nn.SGD([p], lr=lr, momentum=m, dampening=d)
    buf, expected = 0.0, 1.0
    for t in range(4):
        p.grad = np.array([1.0])
        opt.step()
        buf = 1.0 if t == 0 else m * buf + (1 - d) * 1.0
        expected -= lr * buf
        np.testing.assert_allclose(p.data, [expected], rtol=1e-14)
    assert buf != 1.0 + m + m * m + m**3 - 1  # dampening changed the sum (not plain momentum)


def test_adam_amsgrad_closed_form():
    """A shrinking gradient: amsgrad divides by the running maximum of v, Adam by v itself."""
    b1, b2, lr, eps = 0.5, 0.5, 1.0, 1e-8
    grads = [2.0, 0.5, 0.1]
    for amsgrad in (False, True):
        p = nn.Parameter([0.0])
        opt = nn.Adam([p], lr=lr, betas=(b1, b2), eps=eps, amsgrad=amsgrad)
        m = v = v_max = 0.0
        expected = 0.0
        for t, g in enumerate(grads, 1):
            p.grad = np.array([g])
            opt.step()
            m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
            v_max = max(v_max, v)
            v_used = v_max if amsgrad else v
            expected -= lr / (1 - b1**t) * m / (math.sqrt(v_used) / math.sqrt(1 - b2**t) + eps)
            np.testing.assert_allclose(p.data, [expected], rtol=1e-12)
        if amsgrad:
            assert v_max > v  # the maximum was used: the two runs differ
        else:
            plain = expected
    assert plain != pytest.approx(expected)


def test_training_a_linear_model_converges():
    X = rng.normal(size=(64, 2))
    y = X @ np.array([[2.0], [-3.0]]) + 1
    for make in (lambda ps: nn.SGD(ps, lr=0.1, momentum=0.9),
                 lambda ps: nn.Adam(ps, lr=0.05)):
        mg.manual_seed(0)
        model = nn.Linear(2, 1)
        opt = make(model.parameters())
        for _ in range(300):
            opt.zero_grad()
            nn.MSELoss()(model(X), y).backward()
            opt.step()
        np.testing.assert_allclose(model.weight.data, [[2.0, -3.0]], atol=1e-3)
        np.testing.assert_allclose(model.bias.data, [1.0], atol=1e-3)


# ============================================================================ PyTorch


OPTIMIZERS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.02, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.02, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.02, betas=(0.5, 0.99), weight_decay=0.3, amsgrad=True)),
]


@pytest.mark.parametrize("name, kwargs", OPTIMIZERS, ids=[f"{n}-{k}" for n, k in OPTIMIZERS])
def test_matches_torch_step_for_step(name, kwargs):
    torch = pytest.importorskip("torch")
    ours = _params()
    theirs = [torch.tensor(a, requires_grad=True) for a in INIT]
    opt = getattr(nn, name)(ours, **kwargs)
    topt = getattr(torch.optim, name)(theirs, **kwargs)
    for _ in range(8):
        for p in ours:
            p.grad = _grad(p.data)
        for t in theirs:
            t.grad = torch.from_numpy(_grad(t.detach().numpy()))
        opt.step()
        topt.step()
        for p, t in zip(ours, theirs):
            np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-12, atol=1e-14)


# ============================================================================ behaviour


def test_step_skips_params_without_grad_and_zero_grad_clears():
    a, b = _params()
    opt = nn.SGD([a, b], lr=0.1)
    a.grad = np.ones_like(a.data)
    opt.step()
    np.testing.assert_array_equal(b.data, INIT[1])
    loss = (b * b).sum()
    opt.step()  # b has no gradient: untouched, so a graph that saved b still works
    loss.backward()
    np.testing.assert_allclose(b.grad, 2 * INIT[1])
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_a_wrong_shaped_grad_leaves_every_parameter_as_it_was():
    a, b = _params()
    opt = nn.Adam([a, b], lr=0.1)
    a.grad = np.ones_like(a.data)
    b.grad = np.ones(5)
    loss = (a * a).sum()
    with pytest.raises(ValueError, match=r"\(4,\).*\(5,\).*nothing was updated"):
        opt.step()
    np.testing.assert_array_equal(a.data, INIT[0])
    assert opt.state == {}
    loss.backward()  # a was not written: the graph that saved it still works


def _two_params_with_grads(opt_cls=nn.SGD, **kwargs):
    a, b = _params()
    opt = opt_cls([a, b], lr=0.1, **kwargs)
    a.grad, b.grad = np.ones_like(a.data), np.ones_like(b.data)
    return a, b, opt


def _assert_untouched(a, b, opt, loss):
    np.testing.assert_array_equal(a.data, INIT[0])
    np.testing.assert_array_equal(b.data, INIT[1])
    assert opt.state == {}
    loss.backward()  # nothing written in place: the graph that saved a and b still works


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_gradient_is_found_before_any_parameter_moves(bad):
    a, b, opt = _two_params_with_grads(nn.Adam)
    b.grad[2] = bad  # the second parameter: the first must not have moved either
    loss = (a * b.sum()).sum()
    with pytest.raises(ValueError, match=r"index 1, shape \(4,\)\).*(NaN|inf).*nothing was "
                                         r"updated"):
        opt.step()
    _assert_untouched(a, b, opt, loss)


def test_a_huge_finite_gradient_is_not_taken_for_inf():
    """The check sums squares, which overflow float32 at |g| ~ 2e19: it looks again."""
    p = mg.tensor(np.zeros(3, dtype=np.float32), requires_grad=True)
    p.grad = np.array([3e20, -1e30, 1.0], dtype=np.float32)
    nn.SGD([p], lr=1e-20).step()
    np.testing.assert_allclose(p.data, [-3.0, 1e10, -1e-20], rtol=1e-6)


def test_a_read_only_parameter_is_found_before_any_parameter_moves():
    a, b, opt = _two_params_with_grads(momentum=0.9)
    b.data.flags.writeable = False
    loss = (a * b.sum()).sum()
    with pytest.raises(ValueError, match=r"index 1, shape \(4,\)\) is a read-only"):
        opt.step()
    _assert_untouched(a, b, opt, loss)


@pytest.mark.parametrize("key, value, error, match", [
    ("lr", -5, ValueError, r"param_groups\[1\]: lr must be a finite number >= 0; got lr=-5"),
    ("lr", "0.1", TypeError, r"lr must be a number; got lr='0.1' \(a str\)"),
    ("lr", float("inf"), ValueError, "lr=inf"),
    ("momentum", None, TypeError, "momentum must be a number"),
    ("nesterov", True, ValueError, "nesterov=True needs momentum > 0"),
])
def test_a_hyperparameter_changed_later_is_found_before_any_parameter_moves(key, value, error,
                                                                            match):
    a, b = _params()
    opt = nn.SGD([{"params": [a]}, {"params": [b]}], lr=0.1)
    a.grad, b.grad = np.ones_like(a.data), np.ones_like(b.data)
    opt.param_groups[1][key] = value  # the second group: the first must not move either
    loss = (a * b.sum()).sum()
    with pytest.raises(error, match=match):
        opt.step()
    _assert_untouched(a, b, opt, loss)


@pytest.mark.parametrize("make, error, match", [
    (lambda ps: nn.SGD(ps, lr="0.1"), TypeError, r"lr must be a number; got lr='0.1' \(a str\)"),
    (lambda ps: nn.Adam(ps, lr=None), TypeError, "lr must be a number"),
    (lambda ps: nn.SGD(ps, lr=True), TypeError, "lr must be a number"),
    (lambda ps: nn.SGD(ps, lr=float("inf")), ValueError, "lr must be a finite number >= 0"),
    (lambda ps: nn.Adam(ps, betas=("0.9", 0.99)), TypeError, "betas must be a number"),
    (lambda ps: nn.Adam(ps, betas=0.9), ValueError, "betas must be two numbers"),
    (lambda ps: nn.SGD(ps, lr=0.1, momentum="0.9", nesterov=True), TypeError, "momentum"),
])
def test_hyperparameters_of_the_wrong_type_are_type_errors_that_say_so(make, error, match):
    with pytest.raises(error, match=match):
        make(_params())


def test_errors_name_the_parameter_when_given_named_parameters():
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    opt = nn.SGD(model.named_parameters(), lr=0.1)
    params = list(model.parameters())
    assert len(opt.param_groups[0]["params"]) == len(params)
    assert all(p is q for p, q in zip(opt.param_groups[0]["params"], params))
    for p in model.parameters():
        p.grad = np.zeros_like(p.data)
    model[1].weight.grad[0, 1] = np.nan
    with pytest.raises(ValueError, match=r"parameter '1.weight' \(group 0, index 2, shape "
                                         r"\(1, 3\)\).*1 NaN value"):
        opt.step()


def test_optimizer_load_state_dict_validates_hyperparameters():
    opt = nn.SGD(_params(), lr=0.1, momentum=0.9)
    for lr, error in ((-5, ValueError), ("fast", TypeError)):
        sd = opt.state_dict()
        sd["param_groups"][0]["lr"] = lr
        with pytest.raises(error, match="lr"):
            opt.load_state_dict(sd)
        assert opt.param_groups[0]["lr"] == 0.1


def test_zero_grad_without_none_zeroes_in_place():
    a, b, opt = _two_params_with_grads()
    grad = a.grad
    opt.zero_grad(set_to_none=False)
    assert a.grad is grad and not grad.any() and not b.grad.any()


def test_step_records_no_graph():
    p = nn.Parameter([1.0])
    p.grad = np.array([1.0])
    nn.SGD([p], lr=0.1).step()
    assert p.grad_fn is None and p.is_leaf


def test_param_groups_have_their_own_hyperparameters():
    a, b = _params()
    opt = nn.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["momentum"] == 0.9
    a.grad, b.grad = np.ones_like(a.data), np.ones_like(b.data)
    opt.step()
    np.testing.assert_allclose(a.data, INIT[0] - 0.1)
    np.testing.assert_allclose(b.data, INIT[1] - 0.5)


@pytest.mark.parametrize("make, match", [
    (lambda ps: nn.SGD(ps, lr=-0.1), "lr=-0.1"),
    (lambda ps: nn.SGD(ps, lr=0.1, momentum=-1), "momentum=-1"),
    (lambda ps: nn.SGD(ps, lr=0.1, weight_decay=-0.5), "weight_decay=-0.5"),
    (lambda ps: nn.SGD(ps, lr=0.1, nesterov=True), "nesterov.*momentum=0"),
    (lambda ps: nn.Adam(ps, betas=(0.9, 1.0)), r"betas.*\(0.9, 1.0\)"),
    (lambda ps: nn.Adam(ps, betas=(-0.1, 0.9)), r"betas"),
    (lambda ps: nn.Adam(ps, eps=-1e-8), "eps=-1e-08"),
    (lambda ps: nn.AdamW(ps, lr=float("nan")), "lr=nan"),
    (lambda ps: nn.SGD([], lr=0.1), "empty parameter list"),
])
def test_bad_hyperparameters_are_value_errors_naming_the_value(make, match):
    with pytest.raises(ValueError, match=match):
        make(_params())


def test_non_leaf_or_single_tensor_params_are_rejected():
    p = nn.Parameter([1.0])
    with pytest.raises(ValueError, match="leaf"):
        nn.SGD([p * 2], lr=0.1)
    with pytest.raises(TypeError, match="wrap it in a list"):
        nn.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="twice"):
        nn.SGD([p, p], lr=0.1)


def test_optimizer_state_dict_round_trip_resumes_exactly():
    ours = _params()
    opt = nn.Adam(ours, lr=0.01)
    for _ in range(3):
        for p in ours:
            p.grad = _grad(p.data)
        opt.step()
    sd = opt.state_dict()
    assert sd["param_groups"][0]["params"] == [0, 1]
    assert sd["state"][0]["step"] == 3 and sd["state"][0]["exp_avg"].shape == (3, 4)
    copy = [nn.Parameter(p.data) for p in ours]
    opt2 = nn.Adam(copy, lr=0.5)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == 0.01
    for o, ps in ((opt, ours), (opt2, copy)):
        for p in ps:
            p.grad = _grad(p.data)
        o.step()
    for p, q in zip(ours, copy):
        np.testing.assert_array_equal(p.data, q.data)
    sd["state"][0]["exp_avg"][...] = 99  # the state dict was a copy
    assert not np.any(opt.state[ours[0]]["exp_avg"] == 99)


def test_optimizer_load_state_dict_checks_before_changing_anything():
    opt = nn.SGD(_params(), lr=0.1, momentum=0.9)
    other = nn.SGD(_params()[:1], lr=0.1)
    with pytest.raises(ValueError, match="1 parameters in the state, 2 here"):
        opt.load_state_dict(other.state_dict())
    bad = {"state": {1: {"momentum_buffer": np.zeros(7)}},
           "param_groups": [{**opt.param_groups[0], "params": [0, 1], "lr": 9.0}]}
    with pytest.raises(ValueError, match=r"\(7,\)"):
        opt.load_state_dict(bad)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.state == {}


# ============================================================================ schedulers


def _opt(lr=0.1):
    return nn.SGD(_params(), lr=lr)


def _run(scheduler, epochs=12):
    lrs = [scheduler.get_last_lr()[0]]
    for _ in range(epochs):
        scheduler.optimizer.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
        assert scheduler.optimizer.param_groups[0]["lr"] == lrs[-1]
    return lrs


def test_schedulers_follow_their_closed_forms():
    lrs = _run(nn.StepLR(_opt(), step_size=3, gamma=0.5))
    np.testing.assert_allclose(lrs, [0.1 * 0.5 ** (e // 3) for e in range(13)])
    lrs = _run(nn.ExponentialLR(_opt(), gamma=0.9))
    np.testing.assert_allclose(lrs, [0.1 * 0.9**e for e in range(13)])
    lrs = _run(nn.CosineAnnealingLR(_opt(), T_max=10, eta_min=0.01))
    expected = [0.01 + 0.09 * (1 + math.cos(math.pi * e / 10)) / 2 for e in range(13)]
    np.testing.assert_allclose(lrs, expected)
    assert lrs[10] == pytest.approx(0.01)
    lrs = _run(nn.LambdaLR(_opt(), lambda e: 1 / (1 + e)))
    np.testing.assert_allclose(lrs, [0.1 / (1 + e) for e in range(13)])


SCHEDULERS = [
    ("StepLR", dict(step_size=4, gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.95)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.001)),
    ("LambdaLR", dict(lr_lambda=lambda e: 0.97**e + 0.1 * (e % 3))),
]


@pytest.mark.parametrize("name, kwargs", SCHEDULERS, ids=[s[0] for s in SCHEDULERS])
def test_schedulers_match_torch(name, kwargs):
    torch = pytest.importorskip("torch")
    ours = getattr(nn, name)(_opt(0.2), **kwargs)
    tparams = [torch.zeros(2, requires_grad=True)]
    topt = torch.optim.SGD(tparams, lr=0.2)
    theirs = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    for _ in range(20):
        np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-12)
        ours.optimizer.step()
        topt.step()
        ours.step()
        theirs.step()


def test_scheduler_drives_the_optimizer_updates():
    p = nn.Parameter([0.0])
    opt = nn.SGD([p], lr=1.0)
    sched = nn.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):
        p.grad = np.array([-1.0])
        opt.step()
        sched.step()
    np.testing.assert_allclose(p.data, [1.0 + 0.5 + 0.25])
    state = sched.state_dict()
    assert state["last_epoch"] == 3
    with pytest.raises(ValueError, match="step_size"):
        nn.StepLR(opt, step_size=0)
