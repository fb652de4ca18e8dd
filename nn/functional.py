"""Functional forms: `linear`, activations, `dropout`, and the fused, numerically stable losses.

Activations are one line each: the math lives on Tensor (`x.relu()`, `x.softmax(axis)`). The
losses are `mg.Function`s, each forward and backward on one screen, because fusing them is what
makes them stable (log-sum-exp, clamped logs) and fast (one graph node instead of ten).
Vocabulary as in the engine: `x` the prediction (input), `y` the target, `grad` the incoming
gradient; backward uses Tensor ops, so second derivatives work (`create_graph=True`).

Each Function's `formula` is its local derivative as the step-through page shows it (N: the
number of averaged elements with reduction="mean"). As for every op, one backward formula serves
both passes: on bare ndarrays in a plain
`backward()`, on Tensors (recorded) with `create_graph=True`; `call(Sigmoid, x)` runs another
op either way.

Every loss takes `reduction="mean" | "sum" | "none"` and a target given as a Tensor, an ndarray
or a list. Prediction and target must have the same shape: an (n, 1) prediction against an (n,)
target is a ValueError naming both shapes, never a silent (n, n) broadcast.
"""

import numpy as np

import microgradnp as mg
from microgradnp import Function, Tensor, ops
from microgradnp.ops import (  # noqa: F401  (relu ... softplus: nn.functional's names too)
    Sigmoid,
    Softmax,
    Softplus,
    _tensor,
    call,
    leaky_relu,
    relu,
    sigmoid,
    softplus,
    tanh,
)

# ============================================================================ helpers


def _array(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _check_reduction(name, reduction):
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none'; got {reduction!r}")


def _reduce(loss, reduction):
    """Forward: reduce the per-element losses (an ndarray)."""
    if reduction == "mean":  # np.add.reduce: loss.sum() without NumPy's Python wrapper
        return np.add.reduce(loss, axis=None) / loss.size
    if reduction == "sum":
        return np.add.reduce(loss, axis=None)
    return loss


def _scale(grad, reduction, n):
    """Backward: dL/d(loss_i). A scalar for "mean" (grad / n) and "sum", per element for "none"."""
    return grad / n if reduction == "mean" else grad


def _check_samples(name, x, reduction, target):
    """A target is given, and a mean has samples to average: the mean over zero samples would
    be NaN with a NumPy warning, so an empty batch is an error here (sum and none are fine)."""
    if target is None:
        raise ValueError(f"{name}: the target is None; this loss compares the prediction with "
                         f"targets (in nn.fit: pass y)")
    if reduction == "mean" and x.size == 0:
        raise ValueError(f"{name}: no samples (prediction of shape {x.shape}): the mean over "
                         f"zero samples is undefined. An empty batch or slice?")


def _target(name, x, y, float_target=True):
    """The target as a Tensor, after checking that it has exactly the prediction's shape: the
    user's Tensor when it needs no conversion (it may carry a gradient), else a constant Tensor of
    the prediction's dtype named "target" (so graph pictures show it as the user passed it)."""
    shape = y.shape if isinstance(y, Tensor) else np.shape(y)
    if shape != x.shape:
        raise ValueError(
            f"{name}: prediction shape {x.shape} and target shape {tuple(shape)} differ; they "
            f"must match exactly (no broadcasting: an (n, 1) prediction against an (n,) target "
            f"would silently compare every pair). Reshape one, e.g. y.reshape(-1, 1) or "
            f"pred.reshape(-1)"
        )
    if isinstance(y, Tensor):
        if y.requires_grad or not float_target or y.dtype == x.dtype:
            return y
        given, y = y.name, y.data
    else:
        given, y = None, np.asarray(y)
    if float_target and y.dtype != x.dtype:
        y = y.astype(x.dtype if x.dtype.kind == "f" else np.float64)
    return Tensor(y, name=given or "target")


def _list(values, limit=10):
    values = [v.item() if hasattr(v, "item") else v for v in values]
    text = ", ".join(repr(v) for v in values[:limit])
    return text + (f", ... ({len(values)} in all)" if len(values) > limit else "")


# ============================================================================ layers


class LinearOp(Function):
    """out = x @ weight^T + bias, fused into one graph node. x (..., in), weight (out, in)."""

    name = "linear"
    formula = ("grad @ weight", "gradᵀ @ x", "Σ grad over the batch")

    @staticmethod
    def forward(ctx, x, weight, bias=None):
        x = np.asarray(x)  # an array already, unless a list was passed: then one
        if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
            raise ValueError(
                f"linear: the input has shape {x.shape} but the layer expects "
                f"{weight.shape[1]} features in its last axis (weight shape {weight.shape})"
            )
        ctx.save_for_backward(x, weight)
        out = np.matmul(x, weight.T)
        if bias is not None and bias.dtype == out.dtype:
            out += bias  # in place: out is matmul's new array
        elif bias is not None:
            out = out + bias
        return out

    @staticmethod
    def backward(ctx, grad):  # gx = grad W, gW = grad^T x (summed over the batch), gb = sum grad
        x, w = ctx.saved
        need_x, need_w, need_b = ctx.needs_input_grad
        g2 = grad if grad.ndim == 2 else grad.reshape(-1, w.shape[0])
        gx = grad @ w if need_x else None
        gw = gb = None
        if need_w:
            x2 = x if x.ndim == 2 else x.reshape(-1, w.shape[1])
            gw = g2.T @ x2
        if need_b:
            gb = np.add.reduce(g2, axis=0)  # g2.sum(axis=0) without NumPy's Python layer
        return gx, gw, gb


def linear(x, weight, bias=None):
    """x @ weight.T + bias. x (..., in_features), weight (out, in), bias (out,) -> (..., out)."""
    return LinearOp.apply(x, weight, bias)


# ============================================================================ activations


# relu, tanh, sigmoid, leaky_relu, softplus: microgradnp's free functions (imported above).
# conv2d, max_pool2d, avg_pool2d live in nn/conv.py (imported at the end of this file).


def softmax(x, dim=-1):  # PyTorch's argument name for microgradnp's softmax(x, axis)
    return ops.softmax(x, axis=dim)


def log_softmax(x, dim=-1):
    return ops.log_softmax(x, axis=dim)


def dropout(x, p=0.5, training=True):
    """Inverted dropout: zero each element with probability p and scale the rest by 1/(1-p), so
    the expected value is unchanged and evaluation needs no rescaling. Identity when not
    training. Draws from `mg.default_generator()` (reproducible with `mg.manual_seed`)."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be in [0, 1]; got {p}")
    x = _tensor(x)
    if not training or p == 0:
        return x
    keep = mg.default_generator().random(x.shape) >= p
    scale = 0.0 if p == 1 else 1.0 / (1.0 - p)
    return x * (keep * scale).astype(x.dtype if x.dtype.kind == "f" else np.float64)


# ============================================================================ regression losses


class MSEOp(Function):
    name = "mse_loss"
    formula = ("2 (x - y) / N", "-2 (x - y) / N")

    @staticmethod
    def forward(ctx, x, y, reduction="mean"):
        ctx.save_for_backward(x, y)
        ctx.reduction = reduction
        d = x - y
        return _reduce(d * d, reduction)

    @staticmethod
    def backward(ctx, grad):  # d (x - y)^2 = 2 (x - y) (dx - dy)
        x, y = ctx.saved
        g = _scale(grad, ctx.reduction, x.size) * ((x - y) * 2)
        need_x, need_y = ctx.needs_input_grad
        return g if need_x else None, -g if need_y else None


def mse_loss(input, target, reduction="mean"):  # noqa: A002 (PyTorch's names)
    """Mean squared error: mean((input - target)^2). Shapes must match exactly."""
    _check_reduction("mse_loss", reduction)
    x = _tensor(input)
    _check_samples("mse_loss", x, reduction, target)
    return MSEOp.apply(x, _target("mse_loss", x, target), reduction=reduction)


class L1Op(Function):
    name = "l1_loss"
    formula = ("sign(x - y) / N", "-sign(x - y) / N")

    @staticmethod
    def forward(ctx, x, y, reduction="mean"):
        d = x - y
        if ctx.needs_input_grad:
            ctx.sign = np.sign(d)
            ctx.reduction = reduction
        return _reduce(np.abs(d), reduction)

    @staticmethod
    def backward(ctx, grad):  # d |x - y| = sign(x - y) (dx - dy), 0 at the kink as in PyTorch
        g = _scale(grad, ctx.reduction, ctx.sign.size) * ctx.sign.astype(grad.dtype)
        need_x, need_y = ctx.needs_input_grad
        return g if need_x else None, -g if need_y else None


def l1_loss(input, target, reduction="mean"):  # noqa: A002
    """Mean absolute error: mean(|input - target|). Shapes must match exactly."""
    _check_reduction("l1_loss", reduction)
    x = _tensor(input)
    _check_samples("l1_loss", x, reduction, target)
    return L1Op.apply(x, _target("l1_loss", x, target), reduction=reduction)


# ============================================================================ binary classification


def _log_clamped(p):
    """log(p) clamped at -100, as PyTorch does, so p = 0 gives a large finite loss, not inf."""
    with np.errstate(divide="ignore"):
        return p.log().clip(min=-100) if isinstance(p, Tensor) else np.maximum(np.log(p), -100)


def _check_unit_interval(name, values, what, hint=""):
    if values.size == 0 or (np.minimum.reduce(values, axis=None) >= 0
                            and np.maximum.reduce(values, axis=None) <= 1):  # NaN fails too
        return
    bad = ~((values >= 0) & (values <= 1))
    if bad.any():
        raise ValueError(f"{name}: {what} must be in [0, 1]; got {_list(np.unique(values[bad]))}"
                         f"{hint}")


_LABELS_HINT = (
    " (a classic mistake: class labels 0, 1, 2, ... for a binary model; BCE needs 0/1 targets, "
    "and several classes need cross_entropy with integer labels)"
)


class BCEOp(Function):
    name = "binary_cross_entropy"
    formula = ("(x - y) / (x (1 - x)) / N", "(log(1 - x) - log(x)) / N")

    @staticmethod
    def forward(ctx, p, y, reduction="mean"):
        ctx.save_for_backward(p, y)
        ctx.reduction = reduction
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(p), -100)
            log_1mp = np.maximum(np.log1p(-p), -100)
        return _reduce(-(y * log_p + (1 - y) * log_1mp), reduction)

    @staticmethod
    def backward(ctx, grad):  # dL/dp = (p - y) / (p (1 - p)), the denominator clamped at 1e-12
        p, y = ctx.saved
        g = _scale(grad, ctx.reduction, p.size)
        need_p, need_y = ctx.needs_input_grad
        gp = gy = None
        if need_p:
            gp = g * (p - y) / (p * (1 - p)).clip(min=1e-12)
        if need_y:  # dL/dy = log(1 - p) - log(p)
            gy = g * (_log_clamped(1 - p) - _log_clamped(p))
        return gp, gy


def binary_cross_entropy(input, target, reduction="mean"):  # noqa: A002
    """-[y log p + (1 - y) log(1 - p)] for probabilities p in [0, 1] (logs clamped at -100).

    Prefer `binary_cross_entropy_with_logits` on raw scores: it is stable where sigmoid
    saturates. Targets must be in [0, 1] and have exactly the prediction's shape.
    """
    _check_reduction("binary_cross_entropy", reduction)
    p = _tensor(input)
    _check_samples("binary_cross_entropy", p, reduction, target)
    y = _target("binary_cross_entropy", p, target)
    _check_unit_interval("binary_cross_entropy", _array(y), "targets", _LABELS_HINT)
    _check_unit_interval("binary_cross_entropy", p.data, "input probabilities",
                         " (pass raw scores to binary_cross_entropy_with_logits instead)")
    return BCEOp.apply(p, y, reduction=reduction)


class BCEWithLogitsOp(Function):
    name = "binary_cross_entropy_with_logits"
    formula = ("(sigmoid(x) - y) / N", "-x / N", None)

    @staticmethod
    def forward(ctx, x, y, pos_weight=None, reduction="mean"):
        # -log sigmoid(x) = log(1 + e^-x) = max(-x, 0) + log(1 + e^-|x|): stable for any x.
        # e^-|x| <= 1 is kept: backward's sigmoid(x) is 1 / (1 + e^-|x|) or e^-|x| / (1 + e^-|x|)
        e = np.exp(-np.abs(x))
        ctx.save_for_backward(x, y, pos_weight, e)
        ctx.reduction = reduction
        if pos_weight is None:  # (1 - y) x + max(-x, 0) = max(x, 0) - x y
            return _reduce(np.maximum(x, 0) - x * y + np.log1p(e), reduction)
        log_weight = 1 + (pos_weight - 1) * y
        softplus_neg = np.maximum(-x, 0) + np.log1p(e)
        return _reduce((1 - y) * x + log_weight * softplus_neg, reduction)

    @staticmethod
    def backward(ctx, grad):
        # L = (1 - y) x + w softplus(-x), w = 1 + (pw - 1) y
        # dL/dx = w sigmoid(x) - pw y (= sigmoid(x) - y without pos_weight)
        # dL/dy = -x + (pw - 1) softplus(-x);  dL/dpw = y softplus(-x)
        x, y, pw, e = ctx.saved
        g = _scale(grad, ctx.reduction, x.size)
        need_x, need_y, need_pw = ctx.needs_input_grad
        if isinstance(x, Tensor):  # create_graph: sigmoid as an op, so it differentiates again
            sigmoid = call(Sigmoid, x)
        elif need_x:  # from the forward's e = e^-|x|: no second exp
            sigmoid = np.where(x >= 0, 1, e) / (1 + e)
        gx = gy = gpw = None
        if pw is None:
            if need_x:
                gx = g * (sigmoid - y)
            if need_y:
                gy = -g * x
            return gx, gy, None
        if need_x:
            gx = g * ((1 + (pw - 1) * y) * sigmoid - pw * y)
        if need_y:
            gy = g * ((pw - 1) * call(Softplus, -x) - x)
        if need_pw:
            gpw = g * y * call(Softplus, -x)
        return gx, gy, gpw


def binary_cross_entropy_with_logits(input, target, reduction="mean", pos_weight=None):  # noqa: A002
    """Binary cross-entropy of sigmoid(input) against `target`, fused: no NaN or inf even for
    logits of +-1000. `pos_weight` (broadcast over the last axis, as in PyTorch) weighs the
    positive term, e.g. n_negative / n_positive for imbalanced classes."""
    name = "binary_cross_entropy_with_logits"
    _check_reduction(name, reduction)
    x = _tensor(input)
    _check_samples(name, x, reduction, target)
    y = _target(name, x, target)
    _check_unit_interval(name, _array(y), "targets", _LABELS_HINT)
    if pos_weight is not None and not isinstance(pos_weight, Tensor):
        pos_weight = np.asarray(pos_weight, dtype=x.dtype)
    return BCEWithLogitsOp.apply(x, y, pos_weight, reduction=reduction)


# ============================================================================ multi-class


class CrossEntropyOp(Function):
    """Fused log-softmax + negative log-likelihood over the last axis of logits (N, C) or (C,).

    `target` is a constant: integer labels (N,) (the loss picks log p at each label) or class
    probabilities shaped like the logits. With label smoothing eps, the target distribution
    becomes (1 - eps) t + eps / C.
    """

    name = "cross_entropy"
    formula = ("(softmax(x) - onehot(t)) / N", None)

    @staticmethod
    def forward(ctx, x, t, reduction="mean", label_smoothing=0.0):
        shifted = x - np.maximum.reduce(x, axis=-1, keepdims=True)
        e = np.exp(shifted)
        s = np.add.reduce(e, axis=-1, keepdims=True)  # log softmax = shifted - log s
        n_classes, eps = x.shape[-1], label_smoothing
        if t.shape != x.shape:  # integer labels: -log p[label], without a one-hot matrix
            loss = np.log(s[..., 0]) - shifted[_at_labels(t)]
            if eps:  # t = (1 - eps) onehot + eps / C
                loss = (1 - eps) * loss - eps / n_classes * (shifted - np.log(s)).sum(axis=-1)
        else:
            if eps:
                t = t * (1 - eps) + eps / n_classes
            loss = -(t * (shifted - np.log(s))).sum(axis=-1)
        if ctx.needs_input_grad:
            ctx.save_for_backward(x, e, s)
            ctx.target, ctx.reduction = t, reduction
        return _reduce(loss, reduction)

    @staticmethod
    def backward(ctx, grad):  # dL/dx = softmax(x) sum(t) - t;  sum(t) = 1 for labels
        x, e, s = ctx.saved
        t, eps = ctx.target, ctx.kwargs.get("label_smoothing", 0.0)
        g = _scale(grad, ctx.reduction, x.size // x.shape[-1])
        if g.ndim:
            g = g.reshape(g.shape + (1,))
        if t.shape != x.shape and not isinstance(x, Tensor):  # labels, plain backward:
            d = e / s  # softmax from the forward's e and s: p - t, written in place
            if eps:
                d -= eps / x.shape[-1]
            d[_at_labels(t)] -= 1 - eps
            d *= g
            return d, None
        if t.shape != x.shape:  # labels under create_graph: the one-hot matrix after all
            t = np.eye(x.shape[-1], dtype=x.dtype)[t]
            if eps:
                t = t * (1 - eps) + eps / x.shape[-1]
        p = call(Softmax, x, axis=-1)  # an op: under create_graph it differentiates again
        return g * (p * t.sum(axis=-1, keepdims=True) - t), None  # the target is a constant


def _at_labels(labels):
    """Where each sample's label is in logits (N, C) (or (C,) for one sample): an index."""
    return (np.arange(labels.shape[0]), labels) if labels.ndim else labels


_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}  # by itemsize


def _class_labels(name, labels, n_classes, batch_shape):
    """Integer labels (any int dtype, or floats holding integers) as an intp array, after
    checking that each is an integer in [0, n_classes)."""
    labels = np.asarray(labels)
    if labels.shape != batch_shape:
        raise ValueError(
            f"{name}: logits of shape {batch_shape + (n_classes,)} need integer class labels of "
            f"shape {batch_shape} (or class probabilities of the logits' shape); got a target "
            f"of shape {labels.shape}"
        )
    kind = labels.dtype.kind
    if kind == "b" or kind not in "iuf":
        raise ValueError(f"{name}: class labels must be integers; got dtype {labels.dtype}")
    # the usual case, in one pass: read as unsigned, a negative label is huge (-1 -> 2^64 - 1),
    # so "0 <= label < n_classes" is "max(label as unsigned) < n_classes"
    if kind in "iu" and (labels.size == 0 or np.maximum.reduce(
            labels.view(_UNSIGNED[labels.itemsize]), axis=None) < n_classes):
        return labels.astype(np.intp, copy=False)
    not_integer = labels != np.round(labels) if kind == "f" else np.zeros(
        labels.shape, bool)
    bad = not_integer | ~((labels >= 0) & (labels < n_classes))
    if bad.any():
        where = np.argwhere(bad)[:5].tolist()
        raise ValueError(
            f"{name}: class labels must be integers in [0, {n_classes}) for {n_classes} classes; "
            f"got {_list(np.unique(labels[bad]))} (at index {', '.join(map(str, where))}"
            f"{', ...' if bad.sum() > 5 else ''})"
        )
    return labels.astype(np.intp)


def cross_entropy(input, target, reduction="mean", label_smoothing=0.0):  # noqa: A002
    """Cross-entropy of softmax(input) against `target`, fused and stable.

    input: logits (N, C) or (C,). target: integer class labels (N,) (or a scalar for (C,)), or
    class probabilities shaped like `input` (float, each row summing to 1, like PyTorch).
    `label_smoothing` in [0, 1] mixes the target with the uniform distribution.
    Returns the mean over the batch (or the sum, or per-sample losses (N,) with "none").
    """
    name = "cross_entropy"
    _check_reduction(name, reduction)
    if not 0 <= label_smoothing <= 1:
        raise ValueError(f"{name}: label_smoothing must be in [0, 1]; got {label_smoothing}")
    x = _tensor(input)
    if x.ndim not in (1, 2):
        raise ValueError(f"{name}: expected logits of shape (N, C) or (C,); got {x.shape}")
    _check_samples(name, x, reduction, target)
    if x.shape[-1] == 1:
        raise ValueError(f"{name}: logits of shape {x.shape} have a single class column, so the "
                         f"loss would be 0 whatever the model does. For two classes with one "
                         f"output column use binary_cross_entropy_with_logits "
                         f"(nn.BCEWithLogitsLoss) with 0/1 targets of shape {x.shape}, or give "
                         f"the model one output per class")
    t = _array(target)
    if t.shape == x.shape and t.dtype.kind == "f":  # class probabilities
        t = t.astype(x.dtype, copy=False)
    else:  # integer labels, as intp (pictures show the labels as given)
        t = _class_labels(name, t, x.shape[-1], x.shape[:-1])
    given = target.name if isinstance(target, Tensor) else None
    target = Tensor(t, name=given or "target")
    return CrossEntropyOp.apply(x, target, reduction=reduction, label_smoothing=label_smoothing)


def nll_loss(input, target, reduction="mean"):  # noqa: A002
    """Negative log-likelihood of log-probabilities (N, C) at integer labels (N,)."""
    _check_reduction("nll_loss", reduction)
    x = _tensor(input)
    if x.ndim != 2:
        raise ValueError(f"nll_loss: expected log-probabilities of shape (N, C); got {x.shape}")
    _check_samples("nll_loss", x, reduction, target)
    labels = _class_labels("nll_loss", _array(target), x.shape[1], x.shape[:1])
    picked = -x[np.arange(x.shape[0]), labels]
    return picked.mean() if reduction == "mean" else picked.sum() if reduction == "sum" else picked


from .conv import avg_pool2d, conv2d, max_pool2d  # noqa: E402, F401  (nn.functional's names)
