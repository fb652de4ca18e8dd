"""Small synthetic data sets for lessons: a noisy line, two moons, Gaussian blobs, two circles.

Every generator takes `seed` (None, an int, or a `np.random.Generator`): the same seed gives
the same data. Each returns `(X, y)`: X is float64 of shape (n, n_features); y has shape (n,)
(float64 targets for regression, int64 class labels for classification), as in scikit-learn.
"""

import numbers

import numpy as np

from ._checks import finite_array, generator, nonnegative, one_or_each, positive_int


def make_linear(n=100, slope=2.0, intercept=1.0, noise=1.0, n_features=1, seed=None):
    """The lesson's regression data: `y = slope * x + intercept + noise * N(0, 1)`.

    X is float64 of shape (n, n_features), uniform in [0, 1); y is float64 of shape (n,)
    (reshape with `y.reshape(-1, 1)` for a column). With several features, `slope` is one number
    (the same slope for every feature) or a sequence of n_features slopes, and
    `y = X @ slope + intercept + noise`. The draws are exactly those of

        rng = np.random.default_rng(seed)
        X = rng.random((n, 1)); y = slope * X + intercept + noise * rng.standard_normal((n, 1))

    with y flattened.
    """
    fn = "make_linear"
    n = positive_int(fn, "n", n)
    n_features = positive_int(fn, "n_features", n_features)
    noise = nonnegative(fn, "noise", noise)
    intercept = float(finite_array(fn, "intercept", intercept, shape=()))
    slope = one_or_each(fn, "slope", slope, n_features, "feature")
    rng = generator(fn, seed)
    X = rng.random((n, n_features))
    y = X @ slope + intercept + noise * rng.standard_normal(n)
    return X, y


def make_moons(n=200, noise=0.1, seed=None):
    """Two interleaving half circles in 2-D, with Gaussian noise of standard deviation `noise`.

    Class 0 is the upper moon (centre (0, 0), radius 1), class 1 the lower one (centre (1, 0.5)).
    Returns X float64 (n, 2) and y int64 (n,), shuffled; n // 2 points in class 0, the rest in 1.
    """
    fn = "make_moons"
    n = positive_int(fn, "n", n)
    noise = nonnegative(fn, "noise", noise)
    rng = generator(fn, seed)
    n_upper = n // 2
    n_lower = n - n_upper
    a = np.linspace(0, np.pi, n_upper)
    b = np.linspace(0, np.pi, n_lower)
    X = np.concatenate([
        np.stack([np.cos(a), np.sin(a)], axis=1),
        np.stack([1 - np.cos(b), 0.5 - np.sin(b)], axis=1),
    ])
    y = np.concatenate([np.zeros(n_upper, np.int64), np.ones(n_lower, np.int64)])
    return _noisy_shuffled(rng, X, y, noise)


def make_circles(n=200, noise=0.05, factor=0.5, seed=None):
    """A circle of radius 1 (class 0) around a circle of radius `factor` (class 1), in 2-D.

    `factor` is in (0, 1); Gaussian noise of standard deviation `noise` is added.
    Returns X float64 (n, 2) and y int64 (n,), shuffled; n // 2 points in class 0, the rest in 1.
    """
    fn = "make_circles"
    n = positive_int(fn, "n", n)
    noise = nonnegative(fn, "noise", noise)
    factor = float(finite_array(fn, "factor", factor, shape=()))
    if not 0 < factor < 1:
        raise ValueError(f"{fn}: factor must be between 0 and 1 (exclusive), got {factor}")
    rng = generator(fn, seed)
    n_outer = n // 2
    n_inner = n - n_outer
    a = np.linspace(0, 2 * np.pi, n_outer, endpoint=False)
    b = np.linspace(0, 2 * np.pi, n_inner, endpoint=False)
    X = np.concatenate([
        np.stack([np.cos(a), np.sin(a)], axis=1),
        factor * np.stack([np.cos(b), np.sin(b)], axis=1),
    ])
    y = np.concatenate([np.zeros(n_outer, np.int64), np.ones(n_inner, np.int64)])
    return _noisy_shuffled(rng, X, y, noise)


def make_blobs(n=300, centers=3, n_features=None, cluster_std=1.0, center_box=(-10.0, 10.0),
               seed=None):
    """Isotropic Gaussian clusters, one class per centre.

    `centers` is a number of clusters (their centres drawn uniformly in `center_box` in every
    coordinate, n_features of them, default 2) or an array of centres of shape
    (n_centers, n_features). `cluster_std` is one standard deviation or one per centre.
    The n points are split as evenly as possible (the first clusters get one more).
    Returns X float64 (n, n_features) and y int64 (n,) with labels 0..n_centers-1, shuffled.
    """
    fn = "make_blobs"
    n = positive_int(fn, "n", n)
    rng = generator(fn, seed)
    if isinstance(centers, numbers.Integral) and not isinstance(centers, bool):
        n_centers = positive_int(fn, "centers", centers)
        n_features = 2 if n_features is None else positive_int(fn, "n_features", n_features)
        low, high = finite_array(fn, "center_box", center_box, shape=(2,))
        if not low < high:
            raise ValueError(f"{fn}: center_box must be (low, high) with low < high, "
                             f"got {tuple(center_box)}")
        centers = rng.uniform(low, high, size=(n_centers, n_features))
    else:
        centers = finite_array(fn, "centers", centers)
        if centers.ndim != 2 or centers.shape[0] == 0 or centers.shape[1] == 0:
            raise ValueError(f"{fn}: centers must be a positive integer or an array of shape "
                             f"(n_centers, n_features), got shape {centers.shape}")
        n_centers = centers.shape[0]
        if n_features is not None and n_features != centers.shape[1]:
            raise ValueError(f"{fn}: n_features={n_features!r} but the given centers have "
                             f"{centers.shape[1]} features")
        n_features = centers.shape[1]
    std = one_or_each(fn, "cluster_std", cluster_std, n_centers, "centre")
    if np.any(std < 0):
        raise ValueError(f"{fn}: cluster_std must be >= 0, got {cluster_std!r}")
    counts = np.full(n_centers, n // n_centers)
    counts[: n % n_centers] += 1
    y = np.repeat(np.arange(n_centers, dtype=np.int64), counts)
    X = centers[y] + std[y, None] * rng.standard_normal((n, n_features))
    order = rng.permutation(n)
    return X[order], y[order]


def _noisy_shuffled(rng, X, y, noise):
    """Add N(0, noise^2) to every coordinate, then shuffle the rows."""
    X = X + noise * rng.standard_normal(X.shape)
    order = rng.permutation(len(X))
    return X[order], y[order]
