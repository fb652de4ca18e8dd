"""Metrics `(y_true, y_pred) -> float` on NumPy arrays, as `nn.fit(metrics=...)` uses them.

    name        what                      y_pred (raw model outputs)
    accuracy    fraction correct          (n, C>1): argmax over classes;
                                          (n,) or (n, 1) floats: 1 where y_pred > threshold;
                                          (n,) or (n, 1) integers: labels as they are
    mse         mean squared error        any shape matching y_true
    mae         mean absolute error       any shape matching y_true
    r2          coefficient of            (n,) or (n, k); averaged over the k outputs,
                determination (R^2)       as scikit-learn's r2_score

`nn.fit` passes the model's raw outputs and picks accuracy's threshold from the model: 0 when
its outputs are logits (a model with `output_kind = "logits"`, or trained with
`BCEWithLogitsLoss`), 0.5 otherwise (probabilities, e.g. after `nn.Sigmoid`).
"""

import numpy as np

from microgradnp import Tensor


def _arrays(y_true, y_pred):
    """Both as arrays; a (n,) vs (n, 1) pair is compared column to column."""
    y_true = np.asarray(y_true.data if isinstance(y_true, Tensor) else y_true)
    y_pred = np.asarray(y_pred.data if isinstance(y_pred, Tensor) else y_pred)
    if y_true.shape != y_pred.shape:
        if y_true.size == y_pred.size and len(y_true) == len(y_pred):
            y_true = y_true.reshape(y_pred.shape)
        else:
            raise ValueError(f"metric: y_true has shape {y_true.shape} but y_pred has shape "
                             f"{y_pred.shape}")
    return y_true, y_pred


def predicted_classes(y_pred, threshold=0.5):
    """Class labels from outputs: argmax for (n, C>1); for (n,) or (n, 1), integer (or bool)
    values are labels already, floats become `y_pred > threshold`."""
    y_pred = np.asarray(y_pred.data if isinstance(y_pred, Tensor) else y_pred)
    if y_pred.ndim == 2 and y_pred.shape[1] > 1:
        return y_pred.argmax(axis=1)
    if y_pred.dtype.kind in "iub":
        return y_pred.reshape(len(y_pred))
    return (y_pred.reshape(len(y_pred)) > threshold).astype(np.int64)


def accuracy(y_true, y_pred, threshold=0.5):
    """Fraction of samples whose predicted class (see `predicted_classes`) equals `y_true`
    (integer labels (n,) or (n, 1), or one-hot / probability rows (n, C))."""
    y_true = np.asarray(y_true.data if isinstance(y_true, Tensor) else y_true)
    y_pred = np.asarray(y_pred.data if isinstance(y_pred, Tensor) else y_pred)
    if len(y_true) != len(y_pred):
        raise ValueError(f"accuracy: y_true has {len(y_true)} samples, y_pred {len(y_pred)}")
    if y_true.ndim == 2 and y_true.shape[1] > 1:
        y_true = y_true.argmax(axis=1)
    return float(np.mean(predicted_classes(y_pred, threshold) == y_true.reshape(len(y_true))))


def mse(y_true, y_pred):
    """Mean squared error over all elements."""
    y_true, y_pred = _arrays(y_true, y_pred)
    return float(np.mean((y_pred - y_true) ** 2))


def mae(y_true, y_pred):
    """Mean absolute error over all elements."""
    y_true, y_pred = _arrays(y_true, y_pred)
    return float(np.mean(np.abs(y_pred - y_true)))


def r2(y_true, y_pred):
    """R^2 = 1 - SS_res / SS_tot per output column, averaged (scikit-learn's r2_score:
    a constant column scores 1 if predicted exactly, else 0)."""
    y_true, y_pred = _arrays(y_true, y_pred)
    y_true = y_true.reshape(len(y_true), -1).astype(np.float64)
    y_pred = y_pred.reshape(len(y_pred), -1).astype(np.float64)
    ss_res = ((y_true - y_pred) ** 2).sum(axis=0)
    ss_tot = ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.where(ss_tot > 0, 1 - ss_res / ss_tot, np.where(ss_res == 0, 1.0, 0.0))
    return float(scores.mean())


METRICS = {"accuracy": accuracy, "mse": mse, "mae": mae, "r2": r2}

__all__ = ["METRICS", "accuracy", "mae", "mse", "predicted_classes", "r2"]
