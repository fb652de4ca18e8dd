"""mg.datasets: shapes, dtypes, ranges, determinism by seed, the shipped digits, the split, and
clear errors for bad arguments."""

import hashlib

import numpy as np
import pytest

import microgradnp as mg

ds = mg.datasets

GENERATORS = {  # name -> (function, kwargs for n points, n_features, classification?)
    "make_linear": (ds.make_linear, {}, 1, False),
    "make_moons": (ds.make_moons, {}, 2, True),
    "make_circles": (ds.make_circles, {}, 2, True),
    "make_blobs": (ds.make_blobs, {}, 2, True),
}


# ============================================================================ every generator


@pytest.mark.parametrize("name", GENERATORS)
@pytest.mark.parametrize("n", [1, 2, 7, 200])
def test_shapes_and_dtypes(name, n):
    fn, kwargs, n_features, classification = GENERATORS[name]
    X, y = fn(n=n, seed=0, **kwargs)
    assert isinstance(X, np.ndarray) and isinstance(y, np.ndarray)
    assert X.shape == (n, n_features) and X.dtype == np.float64
    assert y.shape == (n,)
    assert y.dtype == (np.int64 if classification else np.float64)
    assert np.all(np.isfinite(X)) and np.all(np.isfinite(y))


@pytest.mark.parametrize("name", GENERATORS)
def test_same_seed_same_data(name):
    fn = GENERATORS[name][0]
    X1, y1 = fn(seed=3)
    X2, y2 = fn(seed=3)
    X3, y3 = fn(seed=4)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)
    X4, y4 = fn(seed=np.random.default_rng(3))  # a Generator is accepted too
    np.testing.assert_array_equal(X1, X4)
    np.testing.assert_array_equal(y1, y4)


@pytest.mark.parametrize("name", GENERATORS)
def test_no_seed_gives_fresh_data(name):
    fn = GENERATORS[name][0]
    assert not np.array_equal(fn()[0], fn()[0])


@pytest.mark.parametrize("name", GENERATORS)
@pytest.mark.parametrize("n", [0, -3, 2.5, "10", True, None])
def test_bad_n(name, n):
    with pytest.raises(ValueError, match=rf"{name}: n must be a positive integer, got {n!r}"):
        GENERATORS[name][0](n=n)


@pytest.mark.parametrize("name", ["make_linear", "make_moons", "make_circles"])
@pytest.mark.parametrize("noise", [-0.1, float("nan"), float("inf")])
def test_bad_noise(name, noise):
    with pytest.raises(ValueError, match=rf"{name}: noise must be a finite number >= 0, got "):
        GENERATORS[name][0](noise=noise)


@pytest.mark.parametrize("name", GENERATORS)
@pytest.mark.parametrize("seed", [-1, 1.5, "0"])
def test_bad_seed(name, seed):
    with pytest.raises(ValueError, match=rf"{name}: seed must be None, an integer >= 0"):
        GENERATORS[name][0](seed=seed)


@pytest.mark.parametrize("name", ["make_moons", "make_circles", "make_blobs"])
def test_classes_balanced(name):
    X, y = GENERATORS[name][0](n=301, seed=0)
    counts = np.bincount(y)
    assert counts.max() - counts.min() <= 1 and counts.sum() == 301
    assert not np.all(np.diff(y) >= 0)  # shuffled, not sorted by class


# ============================================================================ make_linear


def test_linear_recovers_slope_and_intercept():
    X, y = ds.make_linear(n=500, slope=2.0, intercept=1.0, noise=0.01, seed=0)
    A = np.column_stack([X[:, 0], np.ones(len(X))])
    (slope, intercept), *_ = np.linalg.lstsq(A, y, rcond=None)
    assert slope == pytest.approx(2.0, abs=0.01)
    assert intercept == pytest.approx(1.0, abs=0.01)


def test_linear_noise_free_is_exact_and_in_unit_interval():
    X, y = ds.make_linear(n=50, slope=-3.0, intercept=0.5, noise=0, seed=1)
    assert np.all((X >= 0) & (X < 1))
    np.testing.assert_allclose(y, -3.0 * X[:, 0] + 0.5)


def test_linear_is_the_lesson_recipe():
    X, y = ds.make_linear(n=30, slope=2.0, intercept=1.0, noise=1.0, seed=7)
    rng = np.random.default_rng(7)
    X_ref = rng.random((30, 1))
    y_ref = 2.0 * X_ref + 1.0 + 1.0 * rng.standard_normal((30, 1))
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref.ravel())


def test_linear_noise_level():
    X, y = ds.make_linear(n=20000, slope=2.0, intercept=1.0, noise=0.5, seed=0)
    assert np.std(y - (2.0 * X[:, 0] + 1.0)) == pytest.approx(0.5, rel=0.03)


def test_linear_several_features():
    X, y = ds.make_linear(n=400, slope=[1.0, -2.0, 3.0], intercept=4.0, noise=0.0,
                          n_features=3, seed=0)
    assert X.shape == (400, 3) and y.shape == (400,)
    np.testing.assert_allclose(y, X @ [1.0, -2.0, 3.0] + 4.0)
    X, y = ds.make_linear(n=10, slope=2.0, noise=0.0, n_features=4, seed=0)
    np.testing.assert_allclose(y, 2.0 * X.sum(axis=1) + 1.0)


@pytest.mark.parametrize("kwargs, message", [
    (dict(slope=[1.0, 2.0]), r"slope must be one number or 1 numbers .* got shape \(2,\)"),
    (dict(slope=float("nan")), "slope must be finite"),
    (dict(intercept=[1.0, 2.0]), r"intercept must have shape \(\), got shape \(2,\)"),
    (dict(n_features=0), "n_features must be a positive integer, got 0"),
])
def test_linear_errors(kwargs, message):
    with pytest.raises(ValueError, match=f"make_linear: {message}"):
        ds.make_linear(**kwargs)


# ============================================================================ moons and circles


def test_moons_geometry():
    X, y = ds.make_moons(n=100, noise=0.0, seed=0)
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(*upper.T), 1.0)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0)
    assert np.all(upper[:, 1] >= -1e-12) and np.all(lower[:, 1] <= 0.5 + 1e-12)


def test_moons_noise_moves_points():
    clean, y0 = ds.make_moons(n=400, noise=0.0, seed=0)
    noisy, y1 = ds.make_moons(n=400, noise=0.2, seed=0)
    np.testing.assert_array_equal(y0, y1)
    assert np.std(noisy - clean) == pytest.approx(0.2, rel=0.1)


def test_circles_geometry():
    X, y = ds.make_circles(n=100, noise=0.0, factor=0.3, seed=0)
    radius = np.hypot(*X.T)
    np.testing.assert_allclose(radius[y == 0], 1.0)
    np.testing.assert_allclose(radius[y == 1], 0.3)


@pytest.mark.parametrize("factor", [0, 1, 1.5, -0.2])
def test_circles_bad_factor(factor):
    with pytest.raises(ValueError, match="make_circles: factor must be between 0 and 1 .* got"):
        ds.make_circles(factor=factor)


# ============================================================================ blobs


def test_blobs_given_centers():
    centers = np.array([[0.0, 0.0, 0.0], [10.0, 10.0, 10.0], [-10.0, 5.0, 0.0], [3.0, -7, 1]])
    X, y = ds.make_blobs(n=4000, centers=centers, cluster_std=0.5, seed=0)
    assert X.shape == (4000, 3) and set(np.unique(y)) == {0, 1, 2, 3}
    for k, c in enumerate(centers):
        np.testing.assert_allclose(X[y == k].mean(axis=0), c, atol=0.06)
        np.testing.assert_allclose(X[y == k].std(axis=0), 0.5, rtol=0.1)


def test_blobs_random_centers_in_box_and_per_cluster_std():
    X, y = ds.make_blobs(n=3000, centers=3, n_features=5, cluster_std=[0.1, 0.2, 0.3],
                         center_box=(-2, 2), seed=1)
    assert X.shape == (3000, 5)
    for k, std in enumerate([0.1, 0.2, 0.3]):
        part = X[y == k]
        assert np.all(np.abs(part.mean(axis=0)) < 2)
        np.testing.assert_allclose(part.std(axis=0), std, rtol=0.15)


def test_blobs_zero_std_is_exactly_the_centres():
    X, y = ds.make_blobs(n=10, centers=[[1.0, 2.0], [3.0, 4.0]], cluster_std=0.0, seed=0)
    np.testing.assert_array_equal(X, np.array([[1.0, 2.0], [3.0, 4.0]])[y])


@pytest.mark.parametrize("kwargs, message", [
    (dict(centers=0), "centers must be a positive integer, got 0"),
    (dict(centers=[1.0, 2.0]), r"centers must be a positive integer or an array of shape"),
    (dict(centers=[[0.0, 0.0]], n_features=3), "n_features=3 but the given centers have 2"),
    (dict(cluster_std=-1.0), "cluster_std must be >= 0"),
    (dict(centers=3, cluster_std=[1.0, 2.0]), r"cluster_std must be one number or 3 numbers"),
    (dict(center_box=(5, 5)), r"center_box must be \(low, high\) with low < high"),
    (dict(n_features=0), "n_features must be a positive integer, got 0"),
])
def test_blobs_errors(kwargs, message):
    with pytest.raises(ValueError, match=f"make_blobs: {message}"):
        ds.make_blobs(**kwargs)


# ============================================================================ digits

IMAGES_SHA256 = "8f26b2bd9d135c256808f68f14fdabddde6d9c7f869ae419704b051f0f14b3b3"
LABELS_SHA256 = "8ba4f891220f5e4c9c819638d1602d74b83618f167043c6da52a2a247841ddf0"


def test_digits_shape_dtype_range():
    X, y = ds.load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0 and X.max() == 16
    np.testing.assert_array_equal(X, np.round(X))
    assert set(np.unique(y)) == set(range(10))
    counts = np.bincount(y)
    assert counts.tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_digits_checksum():
    X, y = ds.load_digits()
    assert hashlib.sha256(X.astype(np.uint8).tobytes()).hexdigest() == IMAGES_SHA256
    assert hashlib.sha256(y.astype(np.uint8).tobytes()).hexdigest() == LABELS_SHA256


def test_digits_images_and_fresh_copies():
    X, y = ds.load_digits()
    images, y2 = ds.load_digits(return_images=True)
    assert images.shape == (1797, 8, 8)
    np.testing.assert_array_equal(images.reshape(1797, 64), X)
    np.testing.assert_array_equal(y, y2)
    X[:] = -1  # mutating one result leaves the next call's data intact
    y[:] = -1
    X3, y3 = ds.load_digits()
    assert X3.min() == 0 and y3.min() == 0


def test_digits_look_like_digits():
    # the mean image of each class is closest to its own class's images: the labels match
    X, y = ds.load_digits()
    means = np.stack([X[y == k].mean(axis=0) for k in range(10)])
    nearest = np.argmin(((X[:, None, :] - means[None]) ** 2).sum(axis=2), axis=1)
    assert np.mean(nearest == y) > 0.85


def test_digits_match_scikit_learn():
    sk_datasets = pytest.importorskip("sklearn.datasets")
    ours_X, ours_y = ds.load_digits()
    theirs = sk_datasets.load_digits()
    np.testing.assert_array_equal(ours_X, theirs.data)
    np.testing.assert_array_equal(ours_y, theirs.target)
    np.testing.assert_array_equal(ds.load_digits(return_images=True)[0], theirs.images)


def test_digits_attribution_is_shipped():
    from importlib import resources

    readme = (resources.files("microgradnp.datasets") / "data" / "README.md").read_text()
    for words in ["Alpaydin", "Kaynak", "CC BY 4.0", "archive.ics.uci.edu", "10.24432/C50P49"]:
        assert words in readme
    for words in ["Alpaydin", "Kaynak", "CC BY 4.0", "archive.ics.uci.edu"]:
        assert words in ds.load_digits.__doc__


# ============================================================================ train_test_split


def test_split_shapes_and_partition():
    X = np.arange(200).reshape(100, 2)
    y = np.arange(100)
    X_train, X_test, y_train, y_test = ds.train_test_split(X, y, seed=0)
    assert X_train.shape == (75, 2) and X_test.shape == (25, 2)
    assert y_train.shape == (75,) and y_test.shape == (25,)
    np.testing.assert_array_equal(X_train[:, 0] // 2, y_train)  # rows stay paired
    np.testing.assert_array_equal(X_test[:, 0] // 2, y_test)
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(100))
    assert not np.all(np.diff(y_train) > 0)  # shuffled


@pytest.mark.parametrize("test_size, n_test", [(0.25, 25), (0.1, 10), (0.333, 34), (1, 1),
                                               (99, 99), (0.99, 99)])
def test_split_sizes(test_size, n_test):
    *_, y_train, y_test = ds.train_test_split(np.zeros((100, 1)), np.arange(100),
                                              test_size=test_size, seed=0)
    assert len(y_test) == n_test and len(y_train) == 100 - n_test


def test_split_deterministic_by_seed():
    X, y = ds.make_blobs(n=50, seed=0)
    a = ds.train_test_split(X, y, seed=5)
    b = ds.train_test_split(X, y, seed=5)
    c = ds.train_test_split(X, y, seed=6)
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p, q)
    assert not np.array_equal(a[3], c[3])


def test_split_accepts_lists_and_tensors():
    X_train, X_test, y_train, y_test = ds.train_test_split(
        mg.Tensor(np.ones((8, 3))), [0, 1] * 4, test_size=2, seed=0)
    assert isinstance(X_train, np.ndarray) and X_train.shape == (6, 3)
    assert isinstance(y_test, np.ndarray) and y_test.shape == (2,)


def test_split_stratified_keeps_class_shares():
    X, y = ds.load_digits()
    X_train, X_test, y_train, y_test = ds.train_test_split(X, y, test_size=0.2, seed=0,
                                                           stratify=y)
    assert len(y_test) == 360
    share_test = np.bincount(y_test, minlength=10) / len(y_test)
    share_all = np.bincount(y, minlength=10) / len(y)
    np.testing.assert_allclose(share_test, share_all, atol=0.5 / 36)
    # the split is a partition of the rows
    rows = np.concatenate([X_train, X_test])
    assert len(np.unique(rows, axis=0)) == len(np.unique(X, axis=0))


def test_split_stratified_imbalanced():
    y = np.array([0] * 90 + [1] * 10)
    X = np.arange(100)
    for seed in range(5):
        _, _, y_train, y_test = ds.train_test_split(X, y, test_size=0.3, seed=seed, stratify=y)
        assert np.bincount(y_test).tolist() == [27, 3]
        assert np.bincount(y_train).tolist() == [63, 7]


@pytest.mark.parametrize("args, kwargs, message", [
    ((np.zeros((5, 2)), np.zeros(4)), {}, r"different lengths \(5 and 4 rows"),
    ((np.zeros((1, 2)), np.zeros(1)), {}, "needs at least 2 samples to split, got 1"),
    ((np.zeros(4), np.zeros(4)), dict(test_size=0.0), r"must be in \(0, 1\), got 0.0"),
    ((np.zeros(4), np.zeros(4)), dict(test_size=1.0), r"must be in \(0, 1\), got 1.0"),
    ((np.zeros(4), np.zeros(4)), dict(test_size=-0.5), r"must be in \(0, 1\), got -0.5"),
    ((np.zeros(4), np.zeros(4)), dict(test_size=4), "test_size=4 rows must be between 1 and 3"),
    ((np.zeros(4), np.zeros(4)), dict(test_size=0), "test_size=0 rows must be between 1 and 3"),
    ((np.zeros(4), np.zeros(4)), dict(test_size="half"), "test_size must be a fraction"),
    ((np.zeros(100), np.zeros(100)), dict(test_size=0.999), "leaves no training rows"),
    ((np.zeros(4), np.zeros(4)), dict(seed=-2), "seed must be None, an integer >= 0"),
    ((np.zeros(4), np.zeros(4)), dict(stratify=[0, 0, 1]), r"stratify must have one label per"),
    ((np.zeros(5), np.zeros(5)), dict(stratify=[0, 0, 1, 1, 2]),
     "class 2 has only 1 member; every class needs at least 2"),
    ((np.zeros(6), np.zeros(6)), dict(stratify=[0, 0, 1, 1, 2, 2], test_size=2),
     "3 classes need at least 3 rows in each part"),
])
def test_split_errors(args, kwargs, message):
    with pytest.raises(ValueError, match=f"train_test_split: .*{message}"):
        ds.train_test_split(*args, **kwargs)
