"""Normalisation layers: `LayerNorm`, `BatchNorm1d`, `BatchNorm2d` (running statistics as buffers).

All compute x_hat = (x - mean) / sqrt(var + eps) (the biased variance, as PyTorch), then
y = x_hat * weight + bias, as a few Tensor ops, so gradients (and gradients of gradients) come
from the engine. They differ in the axes the statistics are taken over:

    LayerNorm(normalized_shape)  the last len(normalized_shape) axes of each sample
    BatchNorm1d(num_features)    the batch (and length) axes of each channel: (N, C) or (N, C, L)
    BatchNorm2d(num_features)    the batch and spatial axes of each channel: (N, C, H, W)

BatchNorm keeps `running_mean`, `running_var` (updated with the unbiased batch variance)
and `num_batches_tracked` as buffers: they are in `state_dict` under PyTorch's names, and used
instead of the batch statistics after `.eval()`.
"""

import numbers

import numpy as np

import microgradnp as mg
from microgradnp import Tensor

from .module import Module, Parameter


def _normalize(x, axes, eps):
    """(x - mean) / sqrt(var + eps) over `axes` (biased variance), as Tensor ops."""
    mean = x.mean(axis=axes, keepdims=True)
    centered = x - mean
    var = (centered * centered).mean(axis=axes, keepdims=True)
    return centered / (var + eps).sqrt()


class LayerNorm(Module):
    """Normalise each sample over its last axes (`normalized_shape`), then scale and shift.

    x (..., *normalized_shape) -> same shape. weight (ones) and bias (zeros) have shape
    normalized_shape when elementwise_affine=True.
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 dtype=np.float64):
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(n) for n in normalized_shape)
        if not self.normalized_shape or min(self.normalized_shape) < 1:
            raise ValueError(f"LayerNorm: normalized_shape must be positive sizes; got "
                             f"{normalized_shape!r}")
        self.eps = float(eps)
        self.elementwise_affine = bool(elementwise_affine)
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype))
            self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dtype)) if bias else None
        else:
            self.weight = self.bias = None

    def forward(self, x):
        k = len(self.normalized_shape)
        if x.shape[x.ndim - k:] != self.normalized_shape or x.ndim < k:
            raise ValueError(f"LayerNorm: the input's last {k} axes must have shape "
                             f"{self.normalized_shape}; got input of shape {x.shape}")
        out = _normalize(x, tuple(range(x.ndim - k, x.ndim)), self.eps)
        if self.weight is not None:
            out = out * self.weight
        if self.bias is not None:
            out = out + self.bias
        return out

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class _BatchNorm(Module):
    """Normalise each channel (axis 1) over every other axis of the batch.

    Training: the batch's mean and (biased) variance normalise, and the running statistics move
    towards them, running = (1 - momentum) running + momentum batch, with the unbiased variance
    (n / (n - 1) times the biased one); momentum=None gives a cumulative average instead.
    `.eval()`: the running statistics normalise. track_running_stats=False: always the batch's.
    """

    _shapes = ()  # the input ranks a subclass accepts, and how its error message shows them
    _shape_text = ""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, dtype=np.float64):
        super().__init__()
        name = type(self).__name__
        if not isinstance(num_features, numbers.Integral) or num_features < 1:
            raise ValueError(f"{name}: num_features must be a positive integer; got "
                             f"{num_features!r}")
        if momentum is not None and not 0 <= momentum <= 1:
            raise ValueError(f"{name}: momentum must be in [0, 1] or None; got {momentum!r}")
        self.num_features, self.eps, self.momentum = int(num_features), float(eps), momentum
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=dtype))
            self.bias = Parameter(np.zeros(num_features, dtype=dtype))
        else:
            self.weight = self.bias = None
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype=dtype)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dtype=dtype)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        """running_mean = 0, running_var = 1, num_batches_tracked = 0."""
        if self.track_running_stats:
            with mg.no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1.0)
                self.num_batches_tracked.zero_()

    def forward(self, x):
        name, c = type(self).__name__, self.num_features
        if x.ndim not in self._shapes or x.shape[1] != c:
            raise ValueError(f"{name}: expected input {self._shape_text.format(C=c)} "
                             f"(num_features={c}); got shape {x.shape}")
        axes = (0,) + tuple(range(2, x.ndim))  # every axis but the channels'
        shape = (1, -1) + (1,) * (x.ndim - 2)  # a per-channel vector, broadcastable to x
        if self.training or not self.track_running_stats:
            n = x.size // c
            if n < 2 and self.training:
                raise ValueError(f"{name}: expected more than 1 value per channel when "
                                 f"training; got input of shape {x.shape}")
            out = _normalize(x, axes, self.eps)
            if self.training and self.track_running_stats:
                self._update_running_stats(x, axes, n)
        else:  # eval: the running statistics are constants
            scale = 1.0 / np.sqrt(self.running_var.data + self.eps)
            out = (x - self.running_mean.data.reshape(shape)) * scale.reshape(shape)
        if self.affine:
            out = out * self.weight.reshape(shape) + self.bias.reshape(shape)
        return out

    def _update_running_stats(self, x, axes, n):
        data = x.data if isinstance(x, Tensor) else np.asarray(x)
        mean = data.mean(axis=axes)
        var = data.var(axis=axes) * (n / (n - 1))  # unbiased, as PyTorch's running_var
        with mg.no_grad():
            self.num_batches_tracked.add_(1)
            f = (1.0 / int(self.num_batches_tracked.item()) if self.momentum is None
                 else self.momentum)
            self.running_mean.copy_((1 - f) * self.running_mean.data + f * mean)
            self.running_var.copy_((1 - f) * self.running_var.data + f * var)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs, C = num_features (see _BatchNorm)."""

    _shapes = (2, 3)
    _shape_text = "(N, {C}) or (N, {C}, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs, per channel over N, H and W (after a
    Conv2d), C = num_features (see _BatchNorm)."""

    _shapes = (4,)
    _shape_text = "(N, {C}, H, W)"


__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm"]
