"""OneCycleLR and ReduceLROnPlateau (PyTorch's learning rates step for step), and fit's
per-batch callbacks, per-batch schedules and gradient_clip."""

import math

import numpy as np
import pytest

import microgradnp as mg
import nn

RNG = np.random.default_rng(4)


def _params():
    return [nn.Parameter(np.zeros(2)), nn.Parameter(np.zeros(3))]


def _lrs_one_cycle(optimizer, steps, **kwargs):
    sched = nn.OneCycleLR(optimizer, **kwargs)
    lrs, moms = [], []
    for _ in range(steps):
        group = optimizer.param_groups[0]
        lrs.append(group["lr"])
        moms.append(group["betas"][0] if "betas" in group else group["momentum"])
        optimizer.step()
        sched.step()
    return lrs, moms


# ============================================================================ no torch needed


def test_one_cycle_closed_form():
    opt = nn.SGD(_params(), lr=0.1, momentum=0.9)
    lrs, moms = _lrs_one_cycle(opt, 100, max_lr=1.0, total_steps=100, anneal_strategy="linear")
    assert lrs[0] == pytest.approx(1.0 / 25) and moms[0] == pytest.approx(0.95)
    assert lrs[29] == pytest.approx(1.0) and moms[29] == pytest.approx(0.85)  # peak at 30% - 1
    assert lrs[99] == pytest.approx(1.0 / 25 / 1e4)
    assert all(a <= b for a, b in zip(lrs[:30], lrs[1:30]))  # up, then down
    assert all(a >= b for a, b in zip(lrs[29:], lrs[30:]))
    sched = nn.OneCycleLR(nn.SGD(_params(), lr=0.1), max_lr=1.0, epochs=2, steps_per_epoch=3)
    for _ in range(5):
        sched.step()
    with pytest.raises(ValueError, match="total_steps is 6"):
        sched.step()
        sched.step()
    with pytest.raises(ValueError, match="total_steps, or epochs and steps_per_epoch"):
        nn.OneCycleLR(nn.SGD(_params(), lr=0.1), max_lr=1.0)


def test_reduce_on_plateau_rules():
    opt = nn.SGD(_params(), lr=1.0)
    sched = nn.ReduceLROnPlateau(opt, factor=0.5, patience=1, cooldown=1, min_lr=0.2)
    lrs = []
    for metric in [5, 4, 4, 4, 4, 4, 4, 4, 4]:
        sched.step(metric)
        lrs.append(opt.param_groups[0]["lr"])
    # 2 bad epochs (> patience 1) -> halve; cooldown 1 epoch; 2 more bad -> halve; floor at 0.2
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25]
    with pytest.raises(ValueError, match="factor should be < 1.0"):
        nn.ReduceLROnPlateau(opt, factor=2)


class Recorder(nn.Callback):
    def __init__(self):
        self.batches, self.epochs, self.lrs = [], [], []

    def on_batch_end(self, batch, logs):
        self.batches.append((batch, logs["loss"], logs["size"]))
        self.lrs.append(self.optimizer.param_groups[0]["lr"])

    def on_epoch_end(self, epoch, logs):
        self.epochs.append(logs["loss"])


def _data(n=20):
    X = RNG.standard_normal((n, 3))
    return X, X @ np.array([1.0, -2.0, 0.5]) + 0.3


def test_fit_calls_on_batch_end_with_each_batch_loss_and_steps_one_cycle_per_batch():
    X, y = _data()
    model = nn.Linear(3, 1)
    opt = nn.SGD(model.parameters(), lr=0.01, momentum=0.9)
    sched = nn.OneCycleLR(opt, max_lr=0.1, epochs=3, steps_per_epoch=4)
    rec = Recorder()
    history = nn.fit(model, nn.MSELoss(), opt, X, y.reshape(-1, 1), epochs=3, batch_size=5,
                     callbacks=[rec], scheduler=sched, progress=False, seed=0)
    assert [b for b, _, _ in rec.batches] == [1, 2, 3, 4] * 3
    assert all(size == 5 for _, _, size in rec.batches)
    for epoch in range(3):  # the epoch's loss is the mean of its batches' losses
        losses = [v for _, v, _ in rec.batches[4 * epoch:4 * epoch + 4]]
        assert history.history["loss"][epoch] == pytest.approx(np.mean(losses))
    assert sched.last_epoch == 12
    # on_batch_end sees the lr for the next batch: the last batch ran at the cycle's minimum
    assert rec.lrs[10] == pytest.approx(0.1 / 25 / 1e4) and rec.lrs[3] > rec.lrs[0]


def test_fit_refuses_a_one_cycle_schedule_shorter_than_the_training():
    X, y = _data()
    model = nn.Linear(3, 1)
    opt = nn.SGD(model.parameters(), lr=0.01)
    sched = nn.OneCycleLR(opt, max_lr=0.1, epochs=3, steps_per_epoch=2)
    before = model.state_dict()
    with pytest.raises(ValueError, match="total_steps=6.*12 steps.*steps_per_epoch=4"):
        nn.fit(model, nn.MSELoss(), opt, X, y.reshape(-1, 1), epochs=3, batch_size=5,
               scheduler=sched, progress=False)
    for k, v in model.state_dict().items():  # refused before the first update
        np.testing.assert_array_equal(v, before[k])


def test_fit_steps_reduce_on_plateau_on_val_loss():
    X, y = _data()
    model = nn.Linear(3, 1)
    opt = nn.SGD(model.parameters(), lr=1e-12)  # nothing moves: the loss is flat
    sched = nn.ReduceLROnPlateau(opt, factor=0.1, patience=2)
    history = nn.fit(model, nn.MSELoss(), opt, X, y.reshape(-1, 1), epochs=4,
                     validation_data=(X, y.reshape(-1, 1)), scheduler=sched, progress=False)
    assert sched.best == pytest.approx(history.history["val_loss"][0])
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-13)  # reduced after epoch 4


def test_fit_gradient_clip_bounds_each_step():
    X, y = _data()
    y = 1000 * y.reshape(-1, 1)  # a huge gradient
    model = nn.Linear(3, 1)
    before = [p.data.copy() for p in model.parameters()]
    probe = nn.Linear(3, 1)
    probe.load_state_dict(model.state_dict())
    nn.MSELoss()(probe(X), y).backward()
    norm = math.sqrt(sum((p.grad**2).sum() for p in probe.parameters()))
    assert norm > 10
    nn.fit(model, nn.MSELoss(), nn.SGD(model.parameters(), lr=0.1), X, y, epochs=1,
           gradient_clip=2.0, progress=False)
    step = math.sqrt(sum(((p.data - b) ** 2).sum() for p, b in zip(model.parameters(), before)))
    assert step == pytest.approx(0.1 * 2.0, rel=1e-5)
    with pytest.raises(ValueError, match="gradient_clip must be a positive max norm; got 0"):
        nn.fit(model, nn.MSELoss(), nn.SGD(model.parameters(), lr=0.1), X, y, epochs=1,
               gradient_clip=0, progress=False)


def test_fit_trains_a_cnn_on_digits():
    X, y = mg.datasets.load_digits()
    X = X[:300].reshape(-1, 1, 8, 8) / 16
    y = y[:300]
    mg.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(8 * 4 * 4, 10))
    opt = nn.Adam(model.parameters(), lr=0.01)
    history = nn.fit(model, nn.CrossEntropyLoss(), opt, X, y, epochs=5, batch_size=32,
                     metrics=["accuracy"], progress=False, seed=0,
                     scheduler=nn.OneCycleLR(opt, max_lr=0.02, epochs=5, steps_per_epoch=10))
    assert history.history["accuracy"][-1] > 0.8


# ============================================================================ against PyTorch


@pytest.mark.parametrize("kwargs", [
    dict(max_lr=0.5, total_steps=37),
    dict(max_lr=0.5, total_steps=40, anneal_strategy="linear", pct_start=0.25),
    dict(max_lr=0.5, epochs=4, steps_per_epoch=9, three_phase=True, div_factor=10),
    dict(max_lr=0.5, total_steps=20, cycle_momentum=False, final_div_factor=100),
])
@pytest.mark.parametrize("adam", [False, True])
def test_one_cycle_matches_torch(kwargs, adam):
    torch = pytest.importorskip("torch")
    steps = kwargs.get("total_steps") or kwargs["epochs"] * kwargs["steps_per_epoch"]
    if adam:
        mine = nn.Adam(_params(), lr=0.1)
        ref = torch.optim.Adam([torch.zeros(2, requires_grad=True)], lr=0.1)
    else:
        mine = nn.SGD(_params(), lr=0.1, momentum=0.9)
        ref = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1, momentum=0.9)
    lrs, moms = _lrs_one_cycle(mine, steps, **kwargs)
    sched = torch.optim.lr_scheduler.OneCycleLR(ref, **kwargs)
    ref_lrs, ref_moms = [], []
    for _ in range(steps):
        group = ref.param_groups[0]
        ref_lrs.append(group["lr"])
        ref_moms.append(group["betas"][0] if adam else group["momentum"])
        ref.step()
        sched.step()
    np.testing.assert_allclose(lrs, ref_lrs, rtol=1e-12)
    np.testing.assert_allclose(moms, ref_moms, rtol=1e-12)


@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(mode="max", factor=0.5, patience=1, threshold=0.1, threshold_mode="abs"),
    dict(factor=0.3, patience=0, cooldown=2, min_lr=0.01),
    dict(mode="max", patience=2, threshold=0.05),
])
def test_reduce_on_plateau_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    mine = nn.SGD(_params(), lr=1.0)
    ref = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=1.0)
    s_mine = nn.ReduceLROnPlateau(mine, **kwargs)
    s_ref = torch.optim.lr_scheduler.ReduceLROnPlateau(ref, **kwargs)
    metrics = np.round(RNG.standard_normal(40).cumsum() * 0.1 + 3, 2)
    for m in metrics:
        s_mine.step(m)
        s_ref.step(m)
        assert mine.param_groups[0]["lr"] == pytest.approx(ref.param_groups[0]["lr"],
                                                           rel=1e-12)
    assert s_mine.get_last_lr() == pytest.approx(s_ref.get_last_lr())
