"""nn.DataLoader, nn.fit, History, callbacks (EarlyStopping), metrics, and an MLP that learns."""

import io
import sys

import numpy as np
import pytest

import microgradnp as mg
import nn
from nn.data import DataLoader
from nn.metrics import accuracy, mae, mse, r2
from nn.training import Callback, EarlyStopping, History, NonFiniteLossError, fit


@pytest.fixture(autouse=True)
def _seed():
    mg.manual_seed(0)


def linear_data(n=100, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 1))
    return X, 2 * X + 1 + rng.standard_normal((n, 1))


def blobs(n=200, seed=1):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = rng.standard_normal((n, 2)) + np.where(y[:, None] == 1, 1.0, -1.0)
    return X, y


class CountingSGD(nn.SGD):
    """SGD that counts its steps and keeps a copy of the parameters after each one."""

    def __init__(self, params, lr):
        super().__init__(params, lr=lr)
        self.steps = 0
        self.after_step = []

    def step(self):
        super().step()
        self.steps += 1
        self.after_step.append([p.data.copy() for g in self.param_groups for p in g["params"]])


# ============================================================================ DataLoader


@pytest.mark.parametrize("batch_size, drop_last, sizes", [
    (None, False, [10]),
    (1, False, [1] * 10),
    (4, False, [4, 4, 2]),
    (4, True, [4, 4]),
    (10, False, [10]),
    (25, False, [10]),
])
def test_dataloader_batches(batch_size, drop_last, sizes):
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    loader = DataLoader(X, y, batch_size=batch_size, seed=0, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == len(sizes)
    assert [len(xb) for xb, _ in batches] == sizes
    for xb, yb in batches:  # pairs stay paired, as NumPy arrays
        assert isinstance(xb, np.ndarray) and isinstance(yb, np.ndarray)
        np.testing.assert_array_equal(xb[:, 0], 2 * yb)
    seen = np.concatenate([yb for _, yb in batches])
    assert len(np.unique(seen)) == len(seen)  # each sample at most once per epoch
    if not drop_last:
        assert sorted(seen) == list(range(10))


def test_dataloader_shuffles_deterministically_from_the_seed():
    X = np.arange(50.0)
    a, b = DataLoader(X, batch_size=50, seed=3), DataLoader(X, batch_size=50, seed=3)
    a1, a2 = next(iter(a))[0], next(iter(a))[0]
    b1, b2 = next(iter(b))[0], next(iter(b))[0]
    np.testing.assert_array_equal(a1, b1)  # same seed, same order ...
    np.testing.assert_array_equal(a2, b2)  # ... epoch after epoch
    assert not np.array_equal(a1, a2)  # each epoch reshuffles
    assert not np.array_equal(a1, X)
    c = next(iter(DataLoader(X, batch_size=50, seed=4)))[0]
    assert not np.array_equal(a1, c)
    # seed=None draws from the framework's generator
    mg.manual_seed(7)
    d1 = next(iter(DataLoader(X)))[0]
    mg.manual_seed(7)
    d2 = next(iter(DataLoader(X)))[0]
    np.testing.assert_array_equal(d1, d2)
    # shuffle=False keeps the order
    np.testing.assert_array_equal(next(iter(DataLoader(X, shuffle=False)))[0], X)


def test_dataloader_inputs_and_errors():
    X = mg.Tensor(np.ones((6, 2)))
    (xb, yb), = DataLoader(X, None)  # Tensors accepted, y may be None
    assert isinstance(xb, np.ndarray) and xb.shape == (6, 2) and yb is None
    with pytest.raises(ValueError, match=r"X has 6.*y has 5"):
        DataLoader(np.ones((6, 2)), np.ones(5))
    for bad in (0, -3):
        with pytest.raises(ValueError, match="batch_size"):
            DataLoader(np.ones(6), batch_size=bad)
    with pytest.raises(TypeError, match="batch_size"):
        DataLoader(np.ones(6), batch_size=2.5)
    with pytest.raises(ValueError, match="no samples"):
        DataLoader(np.ones((0, 2)))
    assert "batches=3" in repr(DataLoader(np.ones(6), batch_size=2))


# ============================================================================ fit: the loop


@pytest.mark.parametrize("batch_size, batches", [(None, 1), (1, 100), (16, 7), (100, 1)])
def test_fit_takes_one_step_per_batch(batch_size, batches):
    X, y = linear_data()
    model = nn.Linear(1, 1)
    opt = CountingSGD(model.parameters(), lr=0.01)
    history = fit(model, nn.MSELoss(), opt, X, y, epochs=3, batch_size=batch_size,
                  progress=False)
    assert len(DataLoader(X, y, batch_size=batch_size)) == batches
    assert opt.steps == 3 * batches
    assert history.epoch == [1, 2, 3]
    assert history.params["batches"] == batches


def test_fit_loss_is_the_batch_size_weighted_mean():
    # with lr = 0 nothing moves, so every epoch's loss is the full-data MSE, even with an uneven
    # last batch (16 * 6 + 4): weighting by batch size makes it exact
    X, y = linear_data()
    model = nn.Linear(1, 1)
    full = float(nn.MSELoss()(model(X), y).item())
    history = fit(model, nn.MSELoss(), nn.SGD(model.parameters(), lr=0.0), X, y, epochs=2,
                  batch_size=16, progress=False)
    np.testing.assert_allclose(history.history["loss"], [full, full], rtol=1e-12)


def test_fit_history_keys_validation_and_metrics():
    X, y = blobs()
    Xv, yv = blobs(seed=2)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))

    def first_output(y_true, y_pred):
        return float(y_pred[0, 0])

    history = fit(model, nn.BCEWithLogitsLoss(), nn.Adam(model.parameters(), lr=0.05), X,
                  y.reshape(-1, 1).astype(float), epochs=4, batch_size=32,
                  validation_data=(Xv, yv.reshape(-1, 1).astype(float)),
                  metrics=["accuracy", first_output], progress=False)
    assert isinstance(history, History)
    assert set(history.history) == {"loss", "accuracy", "first_output", "val_loss",
                                    "val_accuracy", "val_first_output"}
    assert all(len(v) == 4 for v in history.history.values())
    assert len(history.time) == 4 and all(t >= 0 for t in history.time)
    assert history["loss"] is history.history["loss"]
    # validation values are those of the final weights, in eval mode without a graph
    with mg.no_grad():
        out = model(Xv)
    yv_col = yv.reshape(-1, 1).astype(float)
    assert history.history["val_loss"][-1] == pytest.approx(
        nn.BCEWithLogitsLoss()(out, yv_col).item(), rel=1e-12)
    # logits (BCEWithLogitsLoss): accuracy thresholds at 0, not 0.5
    assert history.history["val_accuracy"][-1] == pytest.approx(
        np.mean((out.data[:, 0] > 0) == yv))
    assert history.history["val_first_output"][-1] == pytest.approx(out.data[0, 0])
    assert history.history["val_accuracy"][-1] > 0.85
    assert "History(epochs=4" in repr(history)


def test_fit_accuracy_thresholds_probabilities_at_half_and_argmax_for_classes():
    X, y = blobs()
    model = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())
    y_col = y.reshape(-1, 1).astype(float)
    history = fit(model, nn.BCELoss(), nn.SGD(model.parameters(), lr=0.5), X, y_col,
                  epochs=20, validation_data=(X, y_col),
                  metrics=["accuracy"], progress=False)
    with mg.no_grad():
        p = model(X).data[:, 0]
    assert history.history["val_accuracy"][-1] == pytest.approx(np.mean((p > 0.5) == y))

    model = nn.Linear(2, 2)  # two logits: argmax
    history = fit(model, nn.CrossEntropyLoss(), nn.SGD(model.parameters(), lr=0.5), X, y,
                  epochs=20, validation_data=(X, y), metrics=["accuracy"], progress=False)
    with mg.no_grad():
        pred = model(X).data.argmax(axis=1)
    assert history.history["val_accuracy"][-1] == pytest.approx(np.mean(pred == y))
    assert history.history["val_accuracy"][-1] > 0.85


def test_fit_validation_runs_in_eval_mode_without_graph_and_mode_is_restored():
    seen = []

    class Probe(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(1, 1)

        def forward(self, x):
            seen.append((self.training, mg.is_grad_enabled()))
            return self.linear(x)

    X, y = linear_data()
    model = Probe()
    model.eval()
    fit(model, nn.MSELoss(), nn.SGD(model.parameters(), lr=0.1), X, y, epochs=2,
        validation_data=(X, y), progress=False)
    assert seen == [(True, True), (False, False)] * 2
    assert model.training is False  # as before the call


def test_fit_same_seed_same_result():
    X, y = linear_data()

    def run(seed):
        mg.manual_seed(1)
        model = nn.Linear(1, 1)
        h = fit(model, nn.MSELoss(), nn.SGD(model.parameters(), lr=0.1), X, y, epochs=3,
                batch_size=8, seed=seed, progress=False)
        return h.history["loss"], model.weight.data.copy()

    (loss_a, w_a), (loss_b, w_b), (_, w_c) = run(5), run(5), run(6)
    assert loss_a == loss_b
    np.testing.assert_array_equal(w_a, w_b)
    assert not np.array_equal(w_a, w_c)


def test_fit_steps_the_scheduler_once_per_epoch():
    X, y = linear_data()
    model = nn.Linear(1, 1)
    opt = nn.SGD(model.parameters(), lr=0.1)
    history = fit(model, nn.MSELoss(), opt, X, y, epochs=3, batch_size=10,
                  scheduler=nn.ExponentialLR(opt, gamma=0.5), progress=False)
    np.testing.assert_allclose(history.lr, [0.1, 0.05, 0.025])
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0125)


def test_fit_progress_false_and_non_terminal_are_silent(capsys):
    X, y = linear_data()
    model = nn.Linear(1, 1)
    opt = nn.SGD(model.parameters(), lr=0.1)
    fit(model, nn.MSELoss(), opt, X, y, epochs=3, progress=False)
    fit(model, nn.MSELoss(), opt, X, y, epochs=3, progress=True)  # stderr is not a terminal
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_fit_progress_bar_on_a_terminal(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    err = Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    X, y = linear_data()
    model = nn.Linear(1, 1)
    fit(model, nn.MSELoss(), nn.SGD(model.parameters(), lr=0.1), X, y, epochs=3,
        progress=True)
    text = err.getvalue()
    assert "3/3" in text and "loss=" in text


# ============================================================================ fit: errors


def test_fit_nan_loss_names_epoch_batch_value_and_lr_and_leaves_params_untouched():
    calls = []

    def loss_fn(out, target):  # batch 3 of 10 gives NaN (NaN in the data is refused up front)
        calls.append(1)
        loss = nn.MSELoss()(out, target)
        return loss * np.nan if len(calls) == 3 else loss

    X, y = linear_data()
    model = nn.Linear(1, 1)
    opt = CountingSGD(model.parameters(), lr=0.1)
    with pytest.raises(NonFiniteLossError) as info:
        fit(model, loss_fn, opt, X, y, epochs=3, batch_size=10, shuffle=False, progress=False)
    err = info.value
    assert isinstance(err, FloatingPointError)
    message = str(err)
    for part in ("nan", "epoch 1/3", "batch 3/10", "learning rate 0.1"):
        assert part in message
    assert (err.epoch, err.batch, err.lr) == (1, 3, 0.1) and np.isnan(err.value)
    assert opt.steps == 2  # the bad batch never stepped: parameters as after batch 2
    after = opt.after_step[-1]
    np.testing.assert_array_equal(model.weight.data, after[0])
    np.testing.assert_array_equal(model.bias.data, after[1])


def test_fit_inf_loss_in_a_later_epoch():
    calls = []

    def loss_fn(out, target):  # the 7th batch (epoch 2, batch 2 of 5) blows up
        calls.append(1)
        loss = nn.MSELoss()(out, target)
        return loss * np.inf if len(calls) == 7 else loss

    X, y = linear_data()
    model = nn.Linear(1, 1)
    opt = CountingSGD(model.parameters(), lr=0.05)
    with pytest.raises(FloatingPointError, match=r"inf at epoch 2/4, batch 2/5.*0\.05") as info:
        fit(model, loss_fn, opt, X, y, epochs=4, batch_size=20, progress=False)
    assert opt.steps == 6
    assert info.value.history.epoch == [1]  # what finished before the error
    np.testing.assert_array_equal(model.weight.data, opt.after_step[-1][0])


def test_fit_validates_its_arguments():
    X, y = linear_data()
    model = nn.Linear(1, 1)
    opt = nn.SGD(model.parameters(), lr=0.1)
    loss = nn.MSELoss()
    for epochs, kind in ((0, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError)):
        with pytest.raises(kind, match="epochs"):
            fit(model, loss, opt, X, y, epochs=epochs)
    with pytest.raises(TypeError, match="optimizer"):
        fit(model, loss, nn.SGD, X, y, epochs=1)
    with pytest.raises(ValueError, match="none of the model's parameters"):
        fit(nn.Linear(1, 1), loss, opt, X, y, epochs=1)
    with pytest.raises(ValueError, match="X has 100.*y has 99"):
        fit(model, loss, opt, X, y[:99], epochs=1)
    with pytest.raises(ValueError, match="scalar"):
        fit(model, nn.MSELoss(reduction="none"), opt, X, y, epochs=1, progress=False)
    with pytest.raises(ValueError, match="unknown metric 'acc'"):
        fit(model, loss, opt, X, y, epochs=1, metrics=["acc"])
    with pytest.raises(TypeError, match="callback"):
        fit(model, loss, opt, X, y, epochs=1, callbacks=[EarlyStopping])
    with pytest.raises(TypeError, match="list"):
        fit(model, loss, opt, X, y, epochs=1, callbacks=EarlyStopping())
    with pytest.raises(ValueError, match="pair"):
        fit(model, loss, opt, X, y, epochs=1, validation_data=X)
    with pytest.raises(TypeError, match="scheduler"):
        fit(model, loss, opt, X, y, epochs=1, scheduler=nn.StepLR)


@pytest.mark.parametrize("where, sample", [("X", 40), ("y", 3), ("validation_data X", 7),
                                           ("validation_data y", 0)])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_fit_refuses_nan_or_inf_in_the_data_before_the_first_update(where, sample, bad):
    X, y = linear_data()
    X_val, y_val = linear_data(20, seed=1)
    arrays = {"X": X, "y": y, "validation_data X": X_val, "validation_data y": y_val}
    arrays[where][sample, 0] = bad
    model = nn.Linear(1, 1)
    before = [p.data.copy() for p in model.parameters()]
    opt = CountingSGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=rf"fit: {where} contains NaN or inf, in sample "
                                         rf"{sample};"):
        fit(model, nn.MSELoss(), opt, X, y, epochs=2, batch_size=8, shuffle=False,
            validation_data=(X_val, y_val), progress=False)
    assert opt.steps == 0
    for p, b in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.data, b)


def test_fit_names_every_bad_sample_up_to_five():
    X, y = linear_data()
    X[[2, 4, 6, 8, 10, 12, 14], 0] = np.nan
    with pytest.raises(ValueError, match=r"samples 2, 4, 6, 8, 10 \(and 2 more\)"):
        model = nn.Linear(1, 1)
        fit(model, nn.MSELoss(), nn.SGD(model.parameters(), lr=0.1), X, y, epochs=1,
            progress=False)


def test_fit_checks_lengths_and_sample_counts_before_the_first_update():
    X, y = linear_data()
    model = nn.Linear(1, 1)
    opt = CountingSGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="^fit: X and y .*X has 100.*y has 99"):
        fit(model, nn.MSELoss(), opt, X, y[:99], epochs=1, progress=False)
    with pytest.raises(ValueError, match="^fit: X has no samples"):
        fit(model, nn.MSELoss(), opt, X[:0], y[:0], epochs=1, progress=False)
    with pytest.raises(ValueError, match="validation_data X has 5 samples but y has 4"):
        fit(model, nn.MSELoss(), opt, X, y, epochs=1, validation_data=(X[:5], y[:4]),
            progress=False)
    with pytest.raises(ValueError, match="validation_data has no samples"):
        fit(model, nn.MSELoss(), opt, X, y, epochs=1, validation_data=(X[:0], y[:0]),
            progress=False)
    assert opt.steps == 0


@pytest.mark.parametrize("loss_fn, name", [(nn.MSELoss(), "MSELoss"),
                                           (nn.CrossEntropyLoss(), "CrossEntropyLoss"),
                                           (nn.functional.mse_loss, "mse_loss")])
def test_fit_without_y_for_a_loss_that_needs_targets_says_y_is_missing(loss_fn, name):
    model = nn.Linear(2, 1)
    with pytest.raises(ValueError, match=rf"y is missing \(y=None\), but {name} compares"):
        fit(model, loss_fn, nn.SGD(model.parameters(), lr=0.1), np.ones((4, 2)), None,
            epochs=1, progress=False)


def test_fit_without_y_works_for_a_loss_of_the_outputs_alone():
    model = nn.Linear(2, 1)
    history = fit(model, lambda out, target: (out * out).mean(),
                  nn.SGD(model.parameters(), lr=0.1), np.ones((4, 2)), None, epochs=2,
                  progress=False)
    assert history.epoch == [1, 2]


# ============================================================================ callbacks


def test_callback_hooks_and_stop_flag():
    events = []

    class Recorder(Callback):
        def on_train_begin(self, logs=None):
            events.append(("begin", self.model is model))

        def on_epoch_end(self, epoch, logs):
            events.append((epoch, sorted(logs)))
            if epoch == 2:
                self.stop_training = True

        def on_train_end(self, logs=None):
            events.append("end")

    X, y = linear_data()
    model = nn.Linear(1, 1)
    history = fit(model, nn.MSELoss(), nn.SGD(model.parameters(), lr=0.1), X, y, epochs=10,
                  callbacks=[Recorder()], progress=False)
    assert events == [("begin", True), (1, ["loss"]), (2, ["loss"]), "end"]
    assert history.epoch == [1, 2]


def test_early_stopping_stops_and_restores_the_best_weights():
    # lr = 1.2 is past the stability limit of this quadratic (2 / 2.5): the validation loss
    # falls for a few epochs, then grows geometrically
    X, y = linear_data()
    states = []

    class Snapshot(Callback):
        def on_epoch_end(self, epoch, logs):
            states.append(self.model.state_dict())

    mg.manual_seed(3)
    model = nn.Linear(1, 1)
    stopper = EarlyStopping(patience=3)
    history = fit(model, nn.MSELoss(), nn.SGD(model.parameters(), lr=1.2), X, y, epochs=100,
                  validation_data=(X, y), callbacks=[Snapshot(), stopper], progress=False)
    val = history.history["val_loss"]
    best = int(np.argmin(val)) + 1
    assert stopper.best_epoch == best and stopper.best == min(val)
    assert len(history.epoch) == best + 3 == stopper.stopped_epoch < 100
    assert all(v > min(val) for v in val[best:])
    for name, value in states[best - 1].items():  # the best epoch's weights are back
        np.testing.assert_array_equal(model.state_dict()[name], value)
    assert not np.array_equal(states[-1]["weight"], states[best - 1]["weight"])


def test_early_stopping_runs_to_the_end_while_improving_and_checks_monitor():
    X, y = linear_data()
    model = nn.Linear(1, 1)
    stopper = EarlyStopping(monitor="loss", patience=0, restore_best=False)
    history = fit(model, nn.MSELoss(), nn.SGD(model.parameters(), lr=0.1), X, y, epochs=5,
                  callbacks=[stopper], progress=False)
    assert len(history.epoch) == 5 and stopper.stopped_epoch == 0
    assert EarlyStopping(monitor="val_accuracy").mode == "max"
    assert EarlyStopping(monitor="val_loss").mode == "min"
    with pytest.raises(ValueError, match="validation_data"):
        fit(model, nn.MSELoss(), nn.SGD(model.parameters(), lr=0.1), X, y, epochs=2,
            callbacks=[EarlyStopping()], progress=False)
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=-1)


# ============================================================================ History.plot


def test_history_plot_draws_one_panel_per_quantity():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    h = History()
    h._append(1, {"loss": 1.0, "accuracy": 0.5, "val_loss": 1.2, "val_accuracy": 0.4}, 0.1, 0.1)
    h._append(2, {"loss": 0.5, "accuracy": 0.8, "val_loss": 0.7, "val_accuracy": 0.7}, 0.1, 0.1)
    fig, axes = h.plot()
    assert [ax.get_title() for ax in axes] == ["loss", "accuracy"]
    assert [line.get_label() for line in axes[0].get_lines()] == ["loss", "val_loss"]
    np.testing.assert_array_equal(axes[1].get_lines()[1].get_ydata(), [0.4, 0.7])
    plt.close(fig)


def test_history_plot_without_matplotlib_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    h = History()
    h._append(1, {"loss": 1.0}, 0.1, 0.1)
    with pytest.raises(ImportError, match=r"pip install microgradnp\[plot\]"):
        h.plot()


# ============================================================================ metrics


def test_metrics():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    p = np.array([[1.5], [2.0], [2.0], [4.0]])  # (n, 1) against (n,): compared columnwise
    assert mse(y, p) == pytest.approx((0.25 + 1) / 4)
    assert mae(y, p) == pytest.approx(1.5 / 4)
    assert r2(y, p) == pytest.approx(1 - 1.25 / 5)
    assert accuracy([0, 1, 1], [0.2, 0.7, 0.4]) == pytest.approx(2 / 3)  # probabilities
    assert accuracy([0, 1, 1], [-1.0, 2.0, -0.1], threshold=0.0) == pytest.approx(2 / 3)
    assert accuracy([2, 0], [[0.1, 0.2, 3.0], [1.0, 0.0, 0.5]]) == 1.0  # argmax
    assert accuracy([2, 0, 1], np.array([2, 0, 0])) == pytest.approx(2 / 3)  # labels
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    Y = np.random.default_rng(0).standard_normal((20, 3))
    P = Y + 0.3 * np.random.default_rng(1).standard_normal((20, 3))
    assert r2(Y, P) == pytest.approx(sklearn_metrics.r2_score(Y, P))


# ============================================================================ an MLP that learns


def _train_mlp(X_train, y_train, X_test, y_test, n_classes, epochs, lr=1e-3):
    n_features = X_train.shape[1]
    model = nn.Sequential(nn.Linear(n_features, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                          nn.Linear(64, n_classes))
    history = fit(model, nn.CrossEntropyLoss(), nn.Adam(model.parameters(), lr=lr),
                  X_train, y_train, epochs=epochs, batch_size=32, seed=0,
                  validation_data=(X_test, y_test), metrics=["accuracy"], progress=False)
    return model, history


def test_mlp_on_digits():
    datasets = pytest.importorskip("microgradnp.datasets")
    if not hasattr(datasets, "load_digits"):
        pytest.skip("microgradnp.datasets.load_digits is not there yet")
    X, y = datasets.load_digits()
    X = X / 16.0
    rng = np.random.default_rng(0)
    order = rng.permutation(len(X))
    test, train = order[:360], order[360:]
    # 64-64-10, ReLU, Adam(2e-3), batch 32, 40 epochs: 97.5-98.1% on 360 held-out digits over
    # five seeds, in about half a second
    model, history = _train_mlp(X[train], y[train], X[test], y[test], 10, epochs=40, lr=2e-3)
    assert history.history["val_accuracy"][-1] >= 0.97
    assert history.history["accuracy"][-1] > 0.99


def test_mlp_on_synthetic_rings():
    # three concentric noisy rings in 2-D: not linearly separable, an MLP separates them
    rng = np.random.default_rng(0)
    n = 600
    y = rng.integers(0, 3, n)
    angle = rng.uniform(0, 2 * np.pi, n)
    radius = 1.0 + y + 0.15 * rng.standard_normal(n)
    X = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    model, history = _train_mlp(X[:450], y[:450], X[450:], y[450:], 3, epochs=30)
    assert history.history["val_accuracy"][-1] >= 0.97
    linear = nn.Linear(2, 3)
    lin = fit(linear, nn.CrossEntropyLoss(), nn.Adam(linear.parameters(), lr=1e-2),
              X[:450], y[:450], epochs=30, batch_size=32, validation_data=(X[450:], y[450:]),
              metrics=["accuracy"], progress=False)
    assert lin.history["val_accuracy"][-1] < 0.7  # the hidden layers are what does it


def test_public_names():
    from nn import linear_models

    assert nn.fit is fit and nn.DataLoader is DataLoader and nn.History is History
    assert nn.Callback is Callback and nn.EarlyStopping is EarlyStopping
    assert nn.NonFiniteLossError is NonFiniteLossError
    assert nn.LinearRegression is linear_models.LinearRegression
    assert nn.LogisticRegression is linear_models.LogisticRegression
    assert nn.SoftmaxRegression is linear_models.SoftmaxRegression
    assert nn.metrics.accuracy is accuracy


def test_non_finite_gradient_with_a_finite_loss_stops_before_the_step():
    model = nn.Linear(1, 1)
    model.weight.data[...] = 0.0
    model.bias.data[...] = 0.0
    X, y = np.ones((4, 1)), np.zeros((4, 1))
    with pytest.raises(nn.NonFiniteLossError, match="gradient"):
        with np.errstate(divide="ignore", invalid="ignore"):
            nn.fit(model, lambda out, target: out.sqrt().mean(), nn.SGD(model.parameters(), lr=0.1),
                   X, y, epochs=1, progress=False)  # sqrt(0) = 0, but its slope is infinite
    assert model.weight.data.item() == 0.0 and model.bias.data.item() == 0.0


def test_metrics_without_targets_are_a_clear_error():
    model = nn.Linear(2, 1)
    with pytest.raises(ValueError, match="y is None"):
        nn.fit(model, lambda out, target: (out * out).mean(), nn.SGD(model.parameters(), lr=0.1),
               np.ones((4, 2)), None, epochs=1, metrics=["mse"], progress=False)
