"""The 8x8 handwritten digits, shipped inside the package (no network)."""

import functools
from importlib import resources

import numpy as np

N_DIGITS = 1797


@functools.lru_cache(maxsize=1)
def _read():
    """The stored uint8 images (1797, 8, 8) and labels (1797,), read once per process."""
    with resources.as_file(resources.files(__package__) / "data" / "digits.npz") as path:
        with np.load(path, allow_pickle=False) as archive:
            images, labels = archive["images"], archive["labels"]
    if images.shape != (N_DIGITS, 8, 8) or labels.shape != (N_DIGITS,):
        raise RuntimeError(f"load_digits: the shipped file {path} is damaged (shapes "
                           f"{images.shape} and {labels.shape}); reinstall microgradnp")
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def load_digits(return_images=False):
    """The 8x8 handwritten digits: 1797 images of the digits 0..9, about 180 of each.

    Returns `(X, y)`: X float64 of shape (1797, 64), each row an 8x8 image flattened row by row,
    with integer values 0..16 (divide by 16 for [0, 1]); y int64 of shape (1797,), labels 0..9.
    With `return_images=True`, X has shape (1797, 8, 8) instead. Each call returns fresh arrays.

    Source: the test set of "Optical Recognition of Handwritten Digits" by E. Alpaydin and
    C. Kaynak (1998), UCI Machine Learning Repository, https://doi.org/10.24432/C50P49
    (https://archive.ics.uci.edu/dataset/80/optical+recognition+of+handwritten+digits),
    licensed CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/). Each value counts the
    "on" pixels in a 4x4 block of a 32x32 bitmap. The values are unchanged; the copy bundled
    with scikit-learn was converted to a compressed .npz of uint8 arrays
    (see microgradnp/datasets/data/README.md). The same data as
    `sklearn.datasets.load_digits()`.
    """
    images, labels = _read()
    X = images.astype(np.float64)
    if not return_images:
        X = X.reshape(N_DIGITS, 64)
    return X, labels.astype(np.int64)
