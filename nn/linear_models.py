"""Regression as one-layer networks, trained by `nn.fit`, with a scikit-learn face.

    model                          forward(X) returns    trained with          predict
    LinearRegression(d, k=1)       X W^T + b             MSELoss               X W^T + b
    LogisticRegression(d)          logits (n, 1)         BCEWithLogitsLoss     logit > 0
    SoftmaxRegression(d, C)        logits (n, C)         CrossEntropyLoss      argmax

Each is an `nn.Module` holding one `nn.Linear` (`model.linear`), so `model(X)` gives raw outputs
(logits for the classifiers, as in PyTorch: the fused losses need them) and `predict_proba`
applies sigmoid / softmax. `fit` continues from the current weights (call `fit` again to train
more). On well-posed data, enough full-batch gradient descent reaches the least-squares /
maximum-likelihood solution that scikit-learn computes in closed form or with L-BFGS.

`l2` adds 0.5 * l2 * ||W||^2 (the weight only, never the intercept) to the mean loss, so the
logged "loss" is the penalised objective. In scikit-learn's terms: LogisticRegression(C=c)
on n samples is l2 = 1 / (c n); Ridge(alpha=a) is l2 = 2 a / n (with one output).
"""

import numpy as np

import microgradnp as mg
from microgradnp import Tensor

from . import metrics as _metrics
from .layers import Linear
from .losses import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from .module import Module
from .optim import SGD, Adam
from .training import fit as _fit

_DEFAULT_LR = {"sgd": 0.1, "adam": 0.01}


class _L2Penalty:
    """loss_fn(input, target) + 0.5 * l2 * sum(weight^2)."""

    def __init__(self, loss_fn, weight, l2):
        self.loss_fn, self.weight, self.half_l2 = loss_fn, weight, 0.5 * float(l2)

    def __call__(self, input, target):  # noqa: A002 (the loss convention)
        return self.loss_fn(input, target) + self.half_l2 * (self.weight * self.weight).sum()


def _values(a, limit=10):
    """A short printable list of the distinct values in `a`."""
    u = np.unique(a)
    text = ", ".join(str(v.item()) for v in u[:limit])
    return f"[{text}{', ...' if len(u) > limit else ''}]"


def _positive_int(owner, name, n, minimum=1):
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < minimum:
        raise ValueError(f"{owner}: {name} must be an integer >= {minimum}; got {n!r}")
    return int(n)


class _LinearModel(Module):
    """Shared machinery: input checks, optimizer construction, fit, coefficients."""

    output_kind = "values"

    def __init__(self, n_features, n_outputs):
        super().__init__()
        name = type(self).__name__
        self.n_features = _positive_int(name, "n_features", n_features)
        self.linear = Linear(self.n_features, n_outputs)
        self.history_ = None

    @property
    def n_features_in_(self):
        return self.n_features

    def forward(self, x):
        return self.linear(x)

    # ---- subclasses define these --------------------------------------------------------------
    def _loss_fn(self):
        raise NotImplementedError

    def _check_y(self, y, n, where):
        """y as the array the loss expects, with n rows."""
        raise NotImplementedError

    # ---- input checks -------------------------------------------------------------------------
    def _check_X(self, X, where):
        name = f"{type(self).__name__}.{where}"
        X = X.data if isinstance(X, Tensor) else np.asarray(X)
        if X.dtype.kind not in "fiub":
            raise TypeError(f"{name}: X must be numeric; got dtype {X.dtype}")
        if X.ndim != 2 or X.shape[1] != self.n_features:
            hint = " (one feature: use X.reshape(-1, 1))" if X.ndim == 1 else ""
            raise ValueError(f"{name}: X must have shape (n_samples, {self.n_features}) for "
                             f"n_features={self.n_features}; got shape {X.shape}{hint}")
        if X.dtype.kind != "f":
            X = X.astype(np.float64)
        if not np.isfinite(X).all():
            raise ValueError(f"{name}: X contains NaN or inf")
        return X

    def _y_array(self, y, n, where):
        y = y.data if isinstance(y, Tensor) else np.asarray(y)
        if y.ndim == 0 or len(y) != n:
            raise ValueError(f"{type(self).__name__}.{where}: X has {n} samples but y has "
                             f"shape {y.shape}")
        return y

    # ---- training -----------------------------------------------------------------------------
    def _make_optimizer(self, optimizer, lr):
        params = list(self.parameters())
        name = type(self).__name__
        if isinstance(optimizer, str):
            key = optimizer.lower()
            if key not in _DEFAULT_LR:
                raise ValueError(f"{name}.fit: optimizer must be 'sgd', 'adam', an optimizer "
                                 f"built on model.parameters(), or a callable params -> "
                                 f"optimizer; got {optimizer!r}")
            lr = _DEFAULT_LR[key] if lr is None else lr
            return SGD(params, lr=lr) if key == "sgd" else Adam(params, lr=lr)
        if isinstance(optimizer, type):  # a class such as nn.Adam: build it here
            return optimizer(params) if lr is None else optimizer(params, lr=lr)
        if lr is not None:
            raise ValueError(f"{name}.fit: lr={lr} applies only when fit builds the optimizer "
                             f"('sgd', 'adam' or an optimizer class); the optimizer given has "
                             f"its own learning rate")
        if hasattr(optimizer, "step") and hasattr(optimizer, "param_groups"):
            return optimizer
        if callable(optimizer):
            return optimizer(params)
        raise TypeError(f"{name}.fit: optimizer must be 'sgd', 'adam', an optimizer or a "
                        f"callable params -> optimizer; got {optimizer!r}")

    def fit(self, X, y, epochs=1000, lr=None, batch_size=None, optimizer="sgd", l2=0.0,
            scheduler=None, shuffle=True, seed=None, progress=False, validation_data=None,
            metrics=(), callbacks=()):
        """Train on X (n_samples, n_features) and y with `nn.fit`; returns self.

        optimizer: "sgd" (plain gradient descent, the default; lr defaults to 0.1), "adam"
        (lr 0.01), an optimizer built on `model.parameters()`, an optimizer class (built here
        with `lr`), or a callable `params -> optimizer`. scheduler: a scheduler on that
        optimizer, or a callable `optimizer -> scheduler` (e.g. `lambda opt:
        nn.ExponentialLR(opt, gamma=0.99)`), stepped once per epoch. l2: see the module
        docstring. The rest as in `nn.fit`; the History is kept in `history_`.
        """
        name = type(self).__name__
        if not l2 >= 0:
            raise ValueError(f"{name}.fit: l2 must be >= 0; got {l2!r}")
        X = self._check_X(X, "fit")
        y = self._check_y(y, len(X), "fit")
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError(f"{name}.fit: validation_data must be a pair (X_val, y_val)")
            X_val = self._check_X(validation_data[0], "fit (validation_data)")
            validation_data = (X_val, self._check_y(validation_data[1], len(X_val),
                                                    "fit (validation_data)"))
        opt = self._make_optimizer(optimizer, lr)
        if scheduler is not None and not hasattr(scheduler, "step") and callable(scheduler):
            scheduler = scheduler(opt)
        loss_fn = self._loss_fn()
        if l2:
            loss_fn = _L2Penalty(loss_fn, self.linear.weight, l2)
        self.history_ = _fit(self, loss_fn, opt, X, y, epochs=epochs, batch_size=batch_size,
                             shuffle=shuffle, validation_data=validation_data, metrics=metrics,
                             callbacks=callbacks, scheduler=scheduler, progress=progress,
                             seed=seed)
        return self

    # ---- inference ----------------------------------------------------------------------------
    def decision_function(self, X):
        """Raw outputs `X W^T + b` as an ndarray (n, n_outputs), no graph recorded."""
        X = self._check_X(X, "predict")
        with mg.no_grad():
            return self(X).data

    def extra_repr(self):
        return f"n_features={self.n_features}"


class LinearRegression(_LinearModel):
    """Least squares: minimises mean((X W^T + b - y)^2) by gradient descent.

    y: (n,) or (n, 1) with one output, (n, n_outputs) otherwise. coef_ is (n_features,) and
    intercept_ a float with one output (scikit-learn's shapes for 1-D y), else
    (n_outputs, n_features) and (n_outputs,). predict gives (n,) or (n, n_outputs); score is R^2.
    """

    def __init__(self, n_features, n_outputs=1):
        _positive_int(type(self).__name__, "n_outputs", n_outputs)
        super().__init__(n_features, n_outputs)
        self.n_outputs = int(n_outputs)

    def _loss_fn(self):
        return MSELoss()

    def _check_y(self, y, n, where):
        y = self._y_array(y, n, where)
        k = self.n_outputs
        if y.shape == (n,) and k == 1:
            y = y.reshape(n, 1)
        if y.shape != (n, k):
            raise ValueError(f"{type(self).__name__}.{where}: y must have shape ({n},) or "
                             f"({n}, 1) for one output, ({n}, n_outputs) for several; got "
                             f"{y.shape} with n_outputs={k}")
        if y.dtype.kind not in "fiub":
            raise TypeError(f"{type(self).__name__}.{where}: y must be numeric; got dtype "
                            f"{y.dtype}")
        y = y.astype(np.float64, copy=False)
        if not np.isfinite(y).all():
            raise ValueError(f"{type(self).__name__}.{where}: y contains NaN or inf")
        return y

    def predict(self, X):
        out = self.decision_function(X)
        return out[:, 0] if self.n_outputs == 1 else out

    def score(self, X, y):
        """R^2 of predict(X) against y (averaged over outputs, as scikit-learn)."""
        return _metrics.r2(y, self.predict(X))

    @property
    def coef_(self):
        w = self.linear.weight.data.copy()
        return w[0] if self.n_outputs == 1 else w

    @property
    def intercept_(self):
        b = self.linear.bias.data.copy()
        return float(b[0]) if self.n_outputs == 1 else b

    def extra_repr(self):
        return f"n_features={self.n_features}, n_outputs={self.n_outputs}"


class _Classifier(_LinearModel):
    """What the two classifiers share: accuracy as the score, scikit-learn's coef_ (n_classes
    or 1, n_features) and intercept_ (n_classes or 1,)."""

    def _labels(self, y, n, where, what):
        """y as a numeric array of shape (n,) or (n, 1), and the name to put in its errors."""
        y = self._y_array(y, n, where)
        name = f"{type(self).__name__}.{where}"
        if y.shape not in ((n,), (n, 1)):
            raise ValueError(f"{name}: y must be {what} of shape ({n},) or ({n}, 1); got "
                             f"shape {y.shape}")
        if y.dtype.kind not in "fiub":
            raise TypeError(f"{name}: y must be {what}; got dtype {y.dtype}")
        return y, name

    def score(self, X, y):
        """Accuracy of predict(X) against the integer labels y."""
        return _metrics.accuracy(y, self.predict(X))

    @property
    def coef_(self):
        return self.linear.weight.data.copy()

    @property
    def intercept_(self):
        return self.linear.bias.data.copy()


class LogisticRegression(_Classifier):
    """Binary logistic regression: p(y=1 | x) = sigmoid(x w + b), fitted by minimising the mean
    BCEWithLogitsLoss (the negative log-likelihood / n) on the logits.

    Labels are 0/1 (or booleans), shape (n,) or (n, 1). forward gives logits (n, 1);
    decision_function the logits (n,); predict_proba (n, 2) columns [P(y=0), P(y=1)] as
    scikit-learn; predict 0/1 (logit > 0); score is accuracy. coef_ (1, n_features),
    intercept_ (1,).
    """

    output_kind = "logits"

    def __init__(self, n_features):
        super().__init__(n_features, 1)
        self.classes_ = np.array([0, 1])

    def _loss_fn(self):
        return BCEWithLogitsLoss()

    def _check_y(self, y, n, where):
        y, name = self._labels(y, n, where, "0/1 labels")
        bad = (y != 0) & (y != 1)
        if bad.any():
            u = np.unique(y)
            hint = ""
            if len(u) > 2 and np.all(u == np.round(u)) and u.min() >= 0:
                hint = (f"; for {int(u.max()) + 1} classes use nn.SoftmaxRegression("
                        f"n_features, n_classes={int(u.max()) + 1})")
            raise ValueError(f"{name}: LogisticRegression is a binary classifier: labels must be "
                             f"0 or 1; got the values {_values(y)}{hint}")
        return y.reshape(n, 1).astype(np.float64)

    def decision_function(self, X):
        return super().decision_function(X)[:, 0]

    def predict_proba(self, X):
        """(n, 2): column 0 is P(y=0) = sigmoid(-z), column 1 is P(y=1) = sigmoid(z)."""
        z = Tensor(self.decision_function(X))
        return np.stack([(-z).sigmoid().data, z.sigmoid().data], axis=1)

    def predict(self, X):
        return (self.decision_function(X) > 0).astype(np.int64)

class SoftmaxRegression(_Classifier):
    """Multinomial logistic regression: p(y=c | x) = softmax(x W^T + b)_c, fitted by minimising
    the mean CrossEntropyLoss on the logits.

    Labels are integers in [0, n_classes), shape (n,) or (n, 1). forward gives logits
    (n, n_classes); predict_proba (n, n_classes); predict the argmax; score is accuracy.
    coef_ (n_classes, n_features), intercept_ (n_classes,). Note softmax is unchanged by adding
    the same vector to every class's weights: compare probabilities, not coefficients, with
    other implementations (without l2 the solution is not unique).
    """

    output_kind = "logits"

    def __init__(self, n_features, n_classes):
        n_classes = _positive_int(type(self).__name__, "n_classes", n_classes, minimum=2)
        super().__init__(n_features, n_classes)
        self.n_classes = n_classes
        self.classes_ = np.arange(n_classes)

    def _loss_fn(self):
        return CrossEntropyLoss()

    def _check_y(self, y, n, where):
        y, name = self._labels(y, n, where, "integer labels")
        bad = (y != np.round(y)) | (y < 0) | (y >= self.n_classes)
        if bad.any():
            raise ValueError(f"{name}: labels must be integers in [0, {self.n_classes}) for "
                             f"n_classes={self.n_classes}; got the values {_values(y[bad])} "
                             f"(all labels: {_values(y)})")
        return y.reshape(n).astype(np.int64)

    def predict_proba(self, X):
        """(n, n_classes): softmax of the logits, rows summing to 1."""
        return Tensor(self.decision_function(X)).softmax(axis=1).data

    def predict(self, X):
        return self.decision_function(X).argmax(axis=1)

    def extra_repr(self):
        return f"n_features={self.n_features}, n_classes={self.n_classes}"


__all__ = ["LinearRegression", "LogisticRegression", "SoftmaxRegression"]
