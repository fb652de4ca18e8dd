"""`nn.fit`: the one generic training loop, its `History`, and callbacks (`EarlyStopping`).

    history = nn.fit(model, nn.CrossEntropyLoss(), nn.Adam(model.parameters(), lr=1e-3),
                     X_train, y_train, epochs=20, batch_size=32,
                     validation_data=(X_val, y_val), metrics=["accuracy"],
                     callbacks=[nn.EarlyStopping(patience=3)])
    history.history["val_accuracy"]          # one value per epoch (the Keras convention)

Each epoch:  model.train()
             for X_batch, y_batch in DataLoader(X, y, batch_size, shuffle, seed):
                 optimizer.zero_grad()
                 loss = loss_fn(model(X_batch), y_batch)     # checked finite before backward
                 loss.backward()
                 clip_grad_norm_(params, gradient_clip)      # when gradient_clip is given
                 optimizer.step()
                 scheduler.step() if it steps per batch (OneCycleLR); callbacks' on_batch_end
             "loss" = mean batch loss weighted by batch size; metrics on that epoch's outputs
             model.eval(); with mg.no_grad(): "val_loss", "val_<metric>" on validation_data
             scheduler.step() if it steps per epoch (ReduceLROnPlateau: .step(val_loss));
             callbacks' on_epoch_end(epoch, logs); stop if one asks to

Epochs and batches are counted from 1, as the progress bar and error messages show them.
"""

import math
import sys
import time

import numpy as np

import microgradnp as mg
from microgradnp import Tensor

from . import functional as F
from . import metrics as _metrics
from .data import DataLoader
from .losses import BCEWithLogitsLoss, _Loss
from .schedulers import ReduceLROnPlateau
from .utils import clip_grad_norm_

# ============================================================================ errors


class NonFiniteLossError(FloatingPointError):
    """The loss (or, with a finite loss, a gradient) became NaN or inf during `fit`.

    Attributes: `epoch`, `batch` (counted from 1), `value` (the loss; NaN for a gradient), `lr`
    (the learning rate(s) in use) and `history` (the `History` of the epochs that finished).
    The parameters are as they were before the bad batch: its optimizer step never ran."""

    def __init__(self, message, epoch, batch, value, lr):
        super().__init__(message)
        self.epoch, self.batch, self.value, self.lr = epoch, batch, value, lr
        self.history = None


# ============================================================================ history


class History:
    """What `fit` returns. `history` maps "loss", "val_loss", "<metric>", "val_<metric>" to one
    value per epoch; `epoch` lists the epoch numbers (1, 2, ...); `time` the seconds each epoch
    took; `lr` the learning rate used in each epoch (a list per epoch when parameter groups
    differ); `params` the fit settings."""

    def __init__(self):
        self.history = {}
        self.epoch = []
        self.time = []
        self.lr = []
        self.params = {}

    def _append(self, epoch, logs, seconds, lr):
        self.epoch.append(epoch)
        self.time.append(seconds)
        self.lr.append(lr)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def __getitem__(self, key):
        return self.history[key]

    def __repr__(self):
        last = ", ".join(f"{k}={v[-1]:.4g}" for k, v in self.history.items() if v)
        return f"History(epochs={len(self.epoch)}" + (f", last: {last})" if last else ")")

    def plot(self, keys=None, logy=False):
        """Draw each quantity against the epoch, one panel per name, its "val_" twin in the
        same panel. Returns `(figure, axes)`. Needs matplotlib (`pip install microgradnp[plot]`).

        `keys`: the names to draw (default: every non-"val_" key); `logy`: log-scale y axes.
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError as e:
            raise ImportError("History.plot needs matplotlib, which is not installed: "
                              "pip install microgradnp[plot]") from e
        if keys is None:
            keys = [k for k in self.history if not k.startswith("val_")]
            keys += [k[4:] for k in self.history if k.startswith("val_") and k[4:] not in keys]
        elif isinstance(keys, str):
            keys = [keys]
        if not keys:
            raise ValueError("History.plot: nothing to plot (fit ran no epochs)")
        fig, axes = plt.subplots(1, len(keys), figsize=(4.5 * len(keys), 3.5), squeeze=False)
        axes = list(axes[0])
        for ax, key in zip(axes, keys):
            for name, style in ((key, "-"), ("val_" + key, "--")):
                if name in self.history:
                    ax.plot(self.epoch, self.history[name], style, label=name)
            ax.set_xlabel("epoch")
            ax.set_title(key)
            if logy:
                ax.set_yscale("log")
            ax.legend()
        fig.tight_layout()
        return fig, axes


# ============================================================================ callbacks


class Callback:
    """Base class of `fit` callbacks: override any of the hooks below. `fit` sets `self.model`
    and `self.optimizer` before `on_train_begin`. Set `self.stop_training = True` (typically in
    `on_epoch_end`) to end training after the current epoch."""

    model = None
    optimizer = None
    stop_training = False

    def set_context(self, model, optimizer):
        self.model, self.optimizer = model, optimizer

    def on_train_begin(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_batch_begin(self, batch, logs=None):
        """`batch` counts from 1 within the epoch."""

    def on_batch_end(self, batch, logs):
        """After the optimizer step; `logs` holds the batch's "loss" and "size"."""

    def on_epoch_end(self, epoch, logs):
        """`epoch` counts from 1; `logs` holds this epoch's "loss", "val_loss", metrics..."""

    def on_train_end(self, logs=None):
        pass


_HIGHER_IS_BETTER = ("accuracy", "acc", "r2")


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by more than `min_delta` for `patience` epochs.

    `mode`: "min", "max", or "auto" ("max" for names ending in accuracy/acc/r2, else "min").
    With `restore_best=True` the model gets the weights of its best epoch back when training
    ends (whether it stopped early or ran all epochs). After fit: `best` (the best value),
    `best_epoch`, `stopped_epoch` (0 when it did not stop training).
    """

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, restore_best=True,
                 mode="auto"):
        if not isinstance(patience, (int, np.integer)) or isinstance(patience, bool) \
                or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be an integer >= 0; got {patience!r}")
        if not min_delta >= 0:
            raise ValueError(f"EarlyStopping: min_delta must be >= 0; got {min_delta!r}")
        if mode == "auto":
            mode = "max" if monitor.endswith(_HIGHER_IS_BETTER) else "min"
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min', 'max' or 'auto'; got {mode!r}")
        self.monitor, self.patience, self.min_delta = monitor, int(patience), float(min_delta)
        self.restore_best, self.mode = bool(restore_best), mode
        self.on_train_begin()

    def on_train_begin(self, logs=None):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch, self.stopped_epoch, self.wait = 0, 0, 0
        self.stop_training = False
        self._best_state = None

    def _improved(self, value):
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, epoch, logs):
        if self.monitor not in logs:
            hint = (" (pass validation_data= to fit, or monitor='loss')"
                    if self.monitor.startswith("val_") else "")
            raise ValueError(f"EarlyStopping: monitor={self.monitor!r} is not among the logged "
                             f"values {sorted(logs)}{hint}")
        value = logs[self.monitor]
        if self._improved(value):  # NaN never improves
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best and self.model is not None:
                self._best_state = self.model.state_dict()
            return
        self.wait += 1
        if self.wait >= self.patience:  # patience non-improving epochs in a row
            self.stopped_epoch = epoch
            self.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best and self._best_state is not None:
            self.model.load_state_dict(self._best_state)

    def __repr__(self):
        return (f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, "
                f"min_delta={self.min_delta}, restore_best={self.restore_best}, "
                f"mode={self.mode!r})")


# ============================================================================ fit


def fit(model, loss_fn, optimizer, X, y, *, epochs, batch_size=None, shuffle=True,
        validation_data=None, metrics=(), callbacks=(), scheduler=None, progress=True,
        seed=None, gradient_clip=None):
    """Train `model` to minimise `loss_fn(model(X_batch), y_batch)` with `optimizer`.

    X, y: arrays or Tensors (same first dimension). epochs: an int >= 1. batch_size: None (the
    whole set: batch gradient descent), 1 (stochastic) or k (mini-batch); `shuffle`/`seed`
    as in `nn.DataLoader`. validation_data: `(X_val, y_val)`, evaluated after each epoch with
    the model in eval mode under `mg.no_grad()`. metrics: names from `nn.metrics.METRICS`
    ("accuracy", "mse", "mae", "r2") or callables `(y_true, y_pred) -> float` named by their
    `__name__`; they receive the model's raw outputs (see `nn.metrics` for how accuracy maps
    them to classes); training metrics use the outputs computed during the epoch (as Keras).
    callbacks: `Callback`s (`on_batch_end(batch, {"loss": ...})` after every step,
    `on_epoch_end(epoch, logs)` after every epoch). scheduler: its `step()` runs after every
    epoch, or after every optimizer step when its `interval` is "batch" (`nn.OneCycleLR`); a
    `nn.ReduceLROnPlateau` is stepped with "val_loss" (or "loss" without validation data).
    gradient_clip: a max norm; the gradients' total 2-norm is clipped to it before each step
    (`nn.utils.clip_grad_norm_`). progress: a tqdm bar over the epochs, shown only when stderr
    is a terminal.

    Returns a `History`. A NaN/inf loss raises `NonFiniteLossError` naming the epoch, batch,
    value and learning rate, with the parameters as they were before that batch. The model is
    left in the train/eval mode it had before the call.
    """
    if isinstance(callbacks, Callback):
        raise TypeError("fit: callbacks must be a list of callbacks; wrap it: callbacks=[...]")
    callbacks = list(callbacks)
    _check_args(model, loss_fn, optimizer, epochs, scheduler, callbacks)
    try:
        loader = DataLoader(X, y, batch_size=batch_size, shuffle=shuffle, seed=seed)
    except (TypeError, ValueError) as e:  # said by fit, where the user called
        raise type(e)(str(e).replace("DataLoader:", "fit:", 1)) from None
    val = _validation_arrays(validation_data)
    _check_data(loader, val, loss_fn)  # before the first update, as the estimators do
    metric_fns = _metric_functions(metrics, model, loss_fn)
    if metric_fns and y is None:
        raise ValueError("fit: metrics compare predictions with targets, but y is None")

    if gradient_clip is not None and not gradient_clip > 0:
        raise ValueError(f"fit: gradient_clip must be a positive max norm; got {gradient_clip!r}")
    per_batch = scheduler is not None and getattr(scheduler, "interval", "epoch") == "batch"
    total_steps = getattr(scheduler, "total_steps", None) if per_batch else None
    if total_steps is not None and scheduler.last_epoch + epochs * len(loader) > total_steps:
        raise ValueError(
            f"fit: {type(scheduler).__name__} has total_steps={total_steps} (already stepped "
            f"{scheduler.last_epoch}), but {epochs} epochs of {len(loader)} batches take "
            f"{epochs * len(loader)} steps; build it with epochs={epochs}, "
            f"steps_per_epoch={len(loader)}")

    def after_step(batch, value, n):  # per batch: the schedule, then the callbacks
        if per_batch:
            scheduler.step()
        for cb in callbacks:
            _hook(cb, "on_batch_end", batch, {"loss": value, "size": n})

    def before_step(batch):
        for cb in callbacks:
            _hook(cb, "on_batch_begin", batch)

    history = History()
    history.params = dict(epochs=epochs, batch_size=batch_size, batches=len(loader),
                          n_samples=loader.n_samples, shuffle=shuffle, seed=seed)
    was_training = getattr(model, "training", True)
    for cb in callbacks:
        if hasattr(cb, "set_context"):
            cb.set_context(model, optimizer)
        _hook(cb, "on_train_begin")

    bar = _progress_bar(progress, epochs)
    logs = {}
    try:
        for epoch in range(1, epochs + 1):
            for cb in callbacks:
                _hook(cb, "on_epoch_begin", epoch)
            start = time.perf_counter()
            lr = _learning_rate(optimizer)
            try:
                logs = _train_epoch(model, loss_fn, optimizer, loader, metric_fns, epoch, epochs,
                                    lr, gradient_clip, before_step, after_step)
            except NonFiniteLossError as e:
                e.history = history  # the epochs that did finish
                raise
            if val is not None:
                logs.update(_evaluate(model, loss_fn, val, metric_fns))
            history._append(epoch, logs, time.perf_counter() - start, lr)
            if isinstance(scheduler, ReduceLROnPlateau):
                scheduler.step(logs["val_loss"] if "val_loss" in logs else logs["loss"])
            elif scheduler is not None and not per_batch:
                scheduler.step()
            for cb in callbacks:
                _hook(cb, "on_epoch_end", epoch, dict(logs))
            if bar is not None:
                bar.set_postfix_str(", ".join(f"{k}={v:.4g}" for k, v in logs.items()),
                                    refresh=False)
                bar.update(1)
            if any(getattr(cb, "stop_training", False) for cb in callbacks):
                break
    finally:
        if bar is not None:
            bar.close()
        if hasattr(model, "train"):
            model.train(was_training)
    for cb in callbacks:
        _hook(cb, "on_train_end", dict(logs))
    return history


def _train_epoch(model, loss_fn, optimizer, loader, metric_fns, epoch, epochs, lr,
                 gradient_clip=None, before_step=None, after_step=None):
    """One pass over the loader; returns {"loss": ..., "<metric>": ...}."""
    if hasattr(model, "train"):
        model.train()
    total, count = 0.0, 0
    outputs, targets = [], []
    for batch, (X_batch, y_batch) in enumerate(loader, 1):
        if before_step is not None:
            before_step(batch)
        optimizer.zero_grad()
        out = model(X_batch)
        loss = loss_fn(out, y_batch)
        value = _loss_value(loss)
        if not math.isfinite(value):
            raise NonFiniteLossError(
                f"fit: the loss is {value} at epoch {epoch}/{epochs}, batch {batch}/"
                f"{len(loader)} (learning rate {lr}). The usual culprit is a learning rate "
                f"too large for this problem (try one 10x smaller), or inputs with NaN/inf or a "
                f"huge scale. The parameters are left as they were before this batch.",
                epoch, batch, value, lr)
        loss.backward()
        _check_gradients(optimizer, epoch, epochs, batch, len(loader), lr)
        if gradient_clip is not None:
            clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]],
                            gradient_clip)
        optimizer.step()
        n = len(X_batch)
        if after_step is not None:
            after_step(batch, value, n)
        total += value * n
        count += n
        if metric_fns:
            outputs.append(np.asarray(out.data if isinstance(out, Tensor) else out))
            targets.append(y_batch)
    logs = {"loss": total / count}
    if metric_fns:
        y_true, y_pred = np.concatenate(targets), np.concatenate(outputs)
        for name, fn in metric_fns:
            logs[name] = float(fn(y_true, y_pred))
    return logs


def _check_gradients(optimizer, epoch, epochs, batch, n_batches, lr):
    """A finite loss can still have NaN/inf gradients (an overflow inside backward): stop
    before the step would write them into the parameters."""
    for group in optimizer.param_groups:
        for p in group["params"]:
            if p.grad is not None and not np.isfinite(p.grad).all():
                raise NonFiniteLossError(
                    f"fit: a gradient of shape {p.shape} has NaN/inf values at epoch "
                    f"{epoch}/{epochs}, batch {batch}/{n_batches} (learning rate {lr}), though "
                    f"the loss is finite. The usual culprit is a learning rate too large or "
                    f"inputs with a huge scale. The parameters are left as they were before "
                    f"this batch.", epoch, batch, float("nan"), lr)


def _evaluate(model, loss_fn, val, metric_fns):
    """{"val_loss": ..., "val_<metric>": ...} with the model in eval mode, no graph."""
    X_val, y_val = val
    if hasattr(model, "eval"):
        model.eval()
    with mg.no_grad():
        out = model(X_val)
        logs = {"val_loss": _loss_value(loss_fn(out, y_val))}
    y_pred = np.asarray(out.data if isinstance(out, Tensor) else out)
    for name, fn in metric_fns:
        logs["val_" + name] = float(fn(y_val, y_pred))
    return logs


def _loss_value(loss):
    data = loss.data if isinstance(loss, Tensor) else np.asarray(loss)
    if data.size != 1:
        raise ValueError(f"fit: loss_fn must return a scalar loss; got shape {data.shape} "
                         f"(use reduction='mean' or 'sum')")
    return float(data.item())


# ============================================================================ argument checks


def _check_args(model, loss_fn, optimizer, epochs, scheduler, callbacks):
    if not callable(model):
        raise TypeError(f"fit: model must be an nn.Module (callable); got {type(model).__name__}")
    if not callable(loss_fn):
        raise TypeError(f"fit: loss_fn must be callable (e.g. nn.MSELoss()); got "
                        f"{type(loss_fn).__name__}")
    if isinstance(optimizer, type) or not (hasattr(optimizer, "step")
                                           and hasattr(optimizer, "zero_grad")):
        raise TypeError(f"fit: optimizer must be an optimizer instance with step() and "
                        f"zero_grad(), e.g. nn.SGD(model.parameters(), lr=0.1); got {optimizer!r}")
    if not isinstance(epochs, (int, np.integer)) or isinstance(epochs, bool):
        raise TypeError(f"fit: epochs must be an integer >= 1; got {epochs!r}")
    if epochs < 1:
        raise ValueError(f"fit: epochs must be an integer >= 1; got {epochs}")
    if scheduler is not None and (isinstance(scheduler, type) or not hasattr(scheduler, "step")):
        raise TypeError(f"fit: scheduler must be a learning-rate scheduler instance with step(); "
                        f"got {scheduler!r}")
    for cb in callbacks:
        if isinstance(cb, type) or not hasattr(cb, "on_epoch_end"):
            raise TypeError(f"fit: each callback must be a Callback instance (e.g. "
                            f"nn.EarlyStopping()); got {cb!r}")
    if hasattr(model, "parameters") and hasattr(optimizer, "param_groups"):
        mine = {id(p) for p in model.parameters()}
        theirs = {id(p) for g in optimizer.param_groups for p in g["params"]}
        if mine and not mine & theirs:
            raise ValueError("fit: the optimizer holds none of the model's parameters (was it "
                             "built on another model's parameters()?)")


def _validation_arrays(validation_data):
    if validation_data is None:
        return None
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        raise ValueError("fit: validation_data must be a pair (X_val, y_val)")
    X_val, y_val = (v.data if isinstance(v, Tensor) else np.asarray(v) for v in validation_data)
    if X_val.ndim == 0 or y_val.ndim == 0:
        raise ValueError(f"fit: validation_data X and y must have a first (sample) axis; got "
                         f"shapes {X_val.shape} and {y_val.shape}")
    if len(X_val) != len(y_val):
        raise ValueError(f"fit: validation_data X has {len(X_val)} samples but y has "
                         f"{len(y_val)}")
    if len(X_val) == 0:
        raise ValueError("fit: validation_data has no samples (its first dimension is 0)")
    return X_val, y_val


_TARGET_LOSSES = (F.mse_loss, F.l1_loss, F.binary_cross_entropy, F.binary_cross_entropy_with_logits,
                  F.cross_entropy, F.nll_loss)


def _check_data(loader, val, loss_fn):
    """NaN/inf in X, y or validation_data, or no y for a loss that needs targets: a clear error
    before the first update (not at the batch that holds the bad sample, after a few steps).
    Lengths and "at least one sample" are checked by `DataLoader` and `_validation_arrays`."""
    if loader.y is None and (isinstance(loss_fn, _Loss) or loss_fn in _TARGET_LOSSES):
        name = getattr(loss_fn, "__name__", type(loss_fn).__name__)
        raise ValueError(f"fit: y is missing (y=None), but {name} compares the model's outputs "
                         f"with targets; pass the targets as y (one per sample of X)")
    arrays = [("X", loader.X), ("y", loader.y)]
    if val is not None:
        arrays += [("validation_data X", val[0]), ("validation_data y", val[1])]
    for name, a in arrays:
        if a is None or a.dtype.kind not in "fc":
            continue
        finite = np.isfinite(a).reshape(len(a), -1).all(axis=1)
        if not finite.all():
            bad = np.flatnonzero(~finite)
            more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
            raise ValueError(f"fit: {name} contains NaN or inf, in sample"
                             f"{'s' * (len(bad) > 1)} {', '.join(map(str, bad[:5]))}{more}; "
                             f"nothing was trained (drop or impute those samples first)")


def _outputs_are_logits(model, loss_fn):
    """True when the model's raw outputs are logits: a model declaring `output_kind =
    "logits"`, or one trained with BCEWithLogitsLoss."""
    return (getattr(model, "output_kind", None) == "logits"
            or isinstance(loss_fn, BCEWithLogitsLoss)
            or loss_fn is F.binary_cross_entropy_with_logits)


def _metric_functions(metrics, model, loss_fn):
    """[(name, fn(y_true, y_pred))] from names and callables; accuracy's threshold fixed."""
    if isinstance(metrics, str) or callable(metrics):
        metrics = [metrics]
    threshold = 0.0 if _outputs_are_logits(model, loss_fn) else 0.5
    out = []
    for m in metrics:
        if isinstance(m, str):
            if m not in _metrics.METRICS:
                raise ValueError(f"fit: unknown metric {m!r}; known: "
                                 f"{', '.join(_metrics.METRICS)} (or pass a callable "
                                 f"(y_true, y_pred) -> float)")
            fn = _metrics.METRICS[m]
            if m == "accuracy":
                def fn(y_true, y_pred, _t=threshold):
                    return _metrics.accuracy(y_true, y_pred, threshold=_t)
            out.append((m, fn))
        elif callable(m):
            out.append((getattr(m, "__name__", type(m).__name__), m))
        else:
            raise TypeError(f"fit: a metric must be a name or a callable; got {m!r}")
    names = [name for name, _ in out]
    for name in names:
        if names.count(name) > 1 or name in ("loss", "val_loss") or name.startswith("val_"):
            raise ValueError(f"fit: metric name {name!r} is repeated or reserved; give the "
                             f"callable a distinct __name__")
    return out


def _learning_rate(optimizer):
    """The lr of the optimizer's parameter groups: one float, or a list when they differ."""
    groups = getattr(optimizer, "param_groups", None)
    if not groups:
        return getattr(optimizer, "lr", None)
    lrs = [g.get("lr") for g in groups]
    return lrs[0] if all(lr == lrs[0] for lr in lrs) else lrs


def _hook(cb, name, *args):
    method = getattr(cb, name, None)
    if method is not None:
        method(*args)


def _progress_bar(progress, epochs):
    if not progress or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=epochs, unit="epoch", file=sys.stderr, dynamic_ncols=True, leave=True)


__all__ = ["Callback", "EarlyStopping", "History", "NonFiniteLossError", "fit"]
