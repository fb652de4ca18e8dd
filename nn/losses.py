"""Loss modules: thin wrappers that remember `reduction` (and options) and call `functional`.

    loss_fn = nn.CrossEntropyLoss()
    loss = loss_fn(model(X), y)      # prediction first, target second (a Tensor or an ndarray)
"""

from . import functional as F
from .module import Module


class _Loss(Module):
    def __init__(self, reduction="mean"):
        super().__init__()
        F._check_reduction(type(self).__name__, reduction)
        self.reduction = reduction

    def __call__(self, input, target):  # noqa: A002 (PyTorch's names)
        return super().__call__(input, target)

    def extra_repr(self):
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """mean((input - target)^2); shapes must match exactly."""

    def forward(self, input, target):  # noqa: A002
        return F.mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """mean(|input - target|); shapes must match exactly."""

    def forward(self, input, target):  # noqa: A002
        return F.l1_loss(input, target, self.reduction)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities in [0, 1] against 0/1 targets (logs clamped at
    -100). Prefer `BCEWithLogitsLoss` on raw scores."""

    def forward(self, input, target):  # noqa: A002
        return F.binary_cross_entropy(input, target, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy, fused and stable (no NaN for logits of +-1000).
    `pos_weight` weighs the positive class (e.g. n_negative / n_positive)."""

    def __init__(self, reduction="mean", pos_weight=None):
        super().__init__(reduction)
        self.pos_weight = pos_weight

    def forward(self, input, target):  # noqa: A002
        return F.binary_cross_entropy_with_logits(input, target, self.reduction,
                                                  pos_weight=self.pos_weight)


class CrossEntropyLoss(_Loss):
    """Softmax + negative log-likelihood, fused: logits (N, C) against integer labels (N,)
    (or class probabilities (N, C)), with optional `label_smoothing`."""

    def __init__(self, reduction="mean", label_smoothing=0.0):
        super().__init__(reduction)
        if not 0 <= label_smoothing <= 1:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1]; got "
                             f"{label_smoothing}")
        self.label_smoothing = label_smoothing

    def forward(self, input, target):  # noqa: A002
        return F.cross_entropy(input, target, self.reduction, self.label_smoothing)

    def extra_repr(self):
        parts = [super().extra_repr()]
        if self.label_smoothing:
            parts.append(f"label_smoothing={self.label_smoothing}")
        return ", ".join(p for p in parts if p)


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities (N, C) (e.g. from LogSoftmax) at labels."""

    def forward(self, input, target):  # noqa: A002
        return F.nll_loss(input, target, self.reduction)
