"""Argument checks shared by the dataset functions: each error names the function and the value."""

import numbers

import numpy as np


def positive_int(fn, name, value):
    """`value` as an int >= 1, or a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{fn}: {name} must be a positive integer, got {value!r}")
    if value <= 0:
        raise ValueError(f"{fn}: {name} must be a positive integer, got {value}")
    return int(value)


def nonnegative(fn, name, value):
    """`value` as a finite float >= 0, or a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{fn}: {name} must be a number >= 0, got {value!r}")
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{fn}: {name} must be a finite number >= 0, got {value}")
    return float(value)


def finite_array(fn, name, value, shape=None):
    """`value` as a float64 array with only finite entries (and `shape`, when given)."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{fn}: {name} must be numbers, got {value!r:.60}") from None
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{fn}: {name} must be finite, got {value!r:.60}")
    if shape is not None and array.shape != shape:
        raise ValueError(f"{fn}: {name} must have shape {shape}, got shape {array.shape}")
    return array


def one_or_each(fn, name, value, k, each):
    """A finite number, or k of them ("one per {each}"), as an array of k numbers."""
    a = finite_array(fn, name, value)
    if a.ndim == 0:
        return np.full(k, a)
    if a.shape != (k,):
        raise ValueError(f"{fn}: {name} must be one number or {k} numbers (one per {each}), "
                         f"got shape {a.shape}")
    return a


def generator(fn, seed):
    """A NumPy Generator from `seed` (None: fresh entropy; an int >= 0; or a Generator)."""
    if seed is None or isinstance(seed, np.random.Generator):
        return np.random.default_rng(seed)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(
            f"{fn}: seed must be None, an integer >= 0 or a np.random.Generator, got {seed!r}")
    return np.random.default_rng(int(seed))
