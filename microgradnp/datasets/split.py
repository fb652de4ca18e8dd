"""`train_test_split`: a shuffled (optionally stratified) split into train and test sets."""

import numbers

import numpy as np

from ._checks import generator


def train_test_split(X, y, test_size=0.25, seed=None, stratify=None):
    """Shuffle the rows of X and y together and split them: `X_train, X_test, y_train, y_test`.

    `test_size` is a fraction in (0, 1) (the test set gets `ceil(test_size * n)` rows) or a
    number of rows in [1, n - 1]. With `stratify=y` (any array of n labels) every class keeps
    its share in both parts, up to rounding. X and y may be arrays, lists or Tensors; the parts
    are NumPy arrays indexed along the first axis, so X of shape (n, ...) and y of shape (n, ...).
    """
    fn = "train_test_split"
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError(f"{fn}: X and y must be arrays with one row per sample, got shapes "
                         f"{X.shape} and {y.shape}")
    n = len(X)
    if len(y) != n:
        raise ValueError(f"{fn}: X and y have different lengths ({n} and {len(y)} rows; "
                         f"shapes {X.shape} and {y.shape})")
    if n < 2:
        raise ValueError(f"{fn}: needs at least 2 samples to split, got {n}")
    n_test = _n_test(fn, test_size, n)
    rng = generator(fn, seed)
    if stratify is None:
        order = rng.permutation(n)
        test, train = order[:n_test], order[n_test:]
    else:
        test, train = _stratified(fn, np.asarray(stratify), n, n_test, rng)
    return X[train], X[test], y[train], y[test]


def _n_test(fn, test_size, n):
    if isinstance(test_size, bool) or not isinstance(test_size, numbers.Real):
        raise ValueError(f"{fn}: test_size must be a fraction in (0, 1) or a number of rows, "
                         f"got {test_size!r}")
    if isinstance(test_size, numbers.Integral):
        if not 1 <= test_size <= n - 1:
            raise ValueError(f"{fn}: test_size={test_size} rows must be between 1 and {n - 1} "
                             f"(n={n}), so that both parts are non-empty")
        return int(test_size)
    if not 0 < test_size < 1:
        raise ValueError(f"{fn}: test_size as a fraction must be in (0, 1), got {test_size}")
    n_test = int(np.ceil(test_size * n))
    if n_test >= n:
        raise ValueError(f"{fn}: test_size={test_size} of n={n} leaves no training rows")
    return n_test


def _stratified(fn, labels, n, n_test, rng):
    """Test and train indices, shuffled, with each class split in proportion to its size."""
    if labels.shape[:1] != (n,):
        raise ValueError(f"{fn}: stratify must have one label per row ({n}), got shape "
                         f"{labels.shape}")
    classes, codes, counts = np.unique(labels, axis=0 if labels.ndim > 1 else None,
                                       return_inverse=True, return_counts=True)
    codes = codes.reshape(n)
    if counts.min() < 2:
        raise ValueError(f"{fn}: stratify: class {classes[np.argmin(counts)].tolist()!r} has only "
                         f"{counts.min()} member; every class needs at least 2")
    if not len(classes) <= n_test <= n - len(classes):
        raise ValueError(f"{fn}: stratify: {len(classes)} classes need at least {len(classes)} "
                         f"rows in each part, but the split is {n - n_test} train / {n_test} test")
    # largest-remainder rounding: floor of each class's share, then the leftover rows to the
    # classes with the largest fractional parts (ties broken at random)
    share = counts * n_test / n
    per_class = np.floor(share).astype(int)
    leftover = n_test - per_class.sum()
    by_fraction = np.lexsort((rng.random(len(counts)), -(share - per_class)))
    per_class[by_fraction[:leftover]] += 1
    test, train = [], []
    for c, k in enumerate(per_class):
        members = rng.permutation(np.flatnonzero(codes == c))
        test.append(members[:k])
        train.append(members[k:])
    return rng.permutation(np.concatenate(test)), rng.permutation(np.concatenate(train))
