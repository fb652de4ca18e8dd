"""Tensor factories and the framework's random generator (`mg.manual_seed`)."""

import numpy as np

from .tensor import Tensor

_rng = np.random.default_rng()


def manual_seed(seed):
    """Seed the generator behind `randn`, `rand` and nn's initialisers; returns it."""
    global _rng
    _rng = np.random.default_rng(seed)
    return _rng


def default_generator():
    """The framework's `np.random.Generator` (reseeded by `manual_seed`)."""
    return _rng


def _shape(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _float(dtype):
    return np.float64 if dtype is None else dtype


def tensor(data, requires_grad=False, dtype=None, name=None):
    """A new Tensor holding a copy of `data`."""
    if isinstance(data, Tensor):
        data = data.data
    return Tensor(np.array(data, dtype=dtype), requires_grad=requires_grad, name=name)


def zeros(*shape, dtype=None, requires_grad=False):
    return Tensor(np.zeros(_shape(shape), dtype=_float(dtype)), requires_grad=requires_grad)


def ones(*shape, dtype=None, requires_grad=False):
    return Tensor(np.ones(_shape(shape), dtype=_float(dtype)), requires_grad=requires_grad)


def full(shape, fill_value, dtype=None, requires_grad=False):
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return Tensor(np.full(shape, fill_value, dtype=_float(dtype)), requires_grad=requires_grad)


def zeros_like(t, dtype=None, requires_grad=False):
    data = t.data if isinstance(t, Tensor) else np.asarray(t)
    return Tensor(np.zeros_like(data, dtype=dtype), requires_grad=requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    data = t.data if isinstance(t, Tensor) else np.asarray(t)
    return Tensor(np.ones_like(data, dtype=dtype), requires_grad=requires_grad)


def randn(*shape, dtype=None, requires_grad=False):
    """Standard normal samples from the framework's generator."""
    data = _rng.standard_normal(_shape(shape)).astype(_float(dtype), copy=False)
    return Tensor(data, requires_grad=requires_grad)


def rand(*shape, dtype=None, requires_grad=False):
    """Uniform samples in [0, 1) from the framework's generator."""
    data = _rng.random(_shape(shape)).astype(_float(dtype), copy=False)
    return Tensor(data, requires_grad=requires_grad)


def arange(start, stop=None, step=1, dtype=None, requires_grad=False):
    """Like np.arange: integers unless a float argument or dtype is given."""
    data = np.arange(start, stop, step, dtype=dtype) if stop is not None else np.arange(
        start, dtype=dtype)
    return Tensor(data, requires_grad=requires_grad)
