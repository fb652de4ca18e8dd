"""Data sets for lessons: synthetic generators, the 8x8 digits (shipped, no network), a split.

Each function returns `(X, y)` NumPy arrays: X float64 of shape (n, n_features), y of shape
(n,) (float64 targets for `make_linear`, int64 class labels otherwise). Generators take a
`seed` (None, an int or a `np.random.Generator`): the same seed gives the same data.
"""

from .digits import load_digits
from .split import train_test_split
from .synthetic import make_blobs, make_circles, make_linear, make_moons

__all__ = [
    "load_digits", "make_blobs", "make_circles", "make_linear", "make_moons", "train_test_split",
]
