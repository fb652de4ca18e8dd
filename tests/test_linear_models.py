"""nn.LinearRegression / LogisticRegression / SoftmaxRegression: one-layer networks trained by
nn.fit reach the least-squares and maximum-likelihood solutions (numpy / scikit-learn oracles)."""

import numpy as np
import pytest

import microgradnp as mg
import nn
from nn.linear_models import LinearRegression, LogisticRegression, SoftmaxRegression
from nn.training import History

# ============================================================================ data and oracles


def classic_linear(n=100, seed=0):
    """The lesson's data: X = U[0, 1), y = 2 X + 1 + N(0, 1), both (n, 1)."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, 1))
    return X, 2 * X + 1 + rng.standard_normal((n, 1))


def least_squares(X, y):
    """(coef, intercept) from np.linalg.lstsq with an intercept column."""
    A = np.hstack([X, np.ones((len(X), 1))])
    w = np.linalg.lstsq(A, y, rcond=None)[0]
    return w[:-1].T, w[-1]


def two_blobs(n=300, seed=1):
    """Two overlapping Gaussian blobs: non-separable, so the logistic MLE is finite."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = rng.standard_normal((n, 2)) + np.where(y[:, None] == 1, [0.8, 0.5], [-0.5, -0.6])
    return X, y


def three_blobs(n=300, seed=2):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centers = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]])
    return rng.standard_normal((n, 2)) + centers[y], y


def sklearn_logistic(C=None):
    """scikit-learn's LogisticRegression without penalty (C=None) or with C, solved tightly."""
    sklearn = pytest.importorskip("sklearn")
    from sklearn.linear_model import LogisticRegression as SkLogistic

    version = tuple(int(p) for p in sklearn.__version__.split(".")[:2])
    if C is not None:
        kw = dict(C=C)
    elif version >= (1, 8):
        kw = dict(C=np.inf)  # penalty=None is deprecated from 1.8
    elif version >= (1, 2):
        kw = dict(penalty=None)
    else:
        kw = dict(penalty="none")
    return SkLogistic(tol=1e-12, max_iter=10_000, **kw)


@pytest.fixture(autouse=True)
def _seed():
    mg.manual_seed(0)


# ============================================================================ LinearRegression


def test_linear_regression_batch_gd_reaches_least_squares():
    X, y = classic_linear()
    coef, intercept = least_squares(X, y)
    model = LinearRegression(1).fit(X, y, epochs=1000, lr=0.7)  # batch_size=None: all 100
    assert model.coef_.shape == (1,) and isinstance(model.intercept_, float)
    np.testing.assert_allclose(model.coef_, coef[0], atol=1e-3)
    np.testing.assert_allclose(model.intercept_, intercept[0], atol=1e-3)
    # in fact to machine precision: full-batch GD on a convex quadratic
    np.testing.assert_allclose(model.coef_, coef[0], atol=1e-9)


def test_linear_regression_sgd_with_decaying_lr_reaches_least_squares():
    # batch_size=1 with a constant lr wanders around the optimum (by ~sqrt(lr)); the exact
    # least-squares point needs a decaying lr. Each epoch reshuffles (random reshuffling), and
    # lr = 0.1 * 0.98^epoch (400 epochs, 40,000 steps) lands within ~5e-4 for any seed we tried.
    X, y = classic_linear()
    coef, intercept = least_squares(X, y)
    model = LinearRegression(1).fit(
        X, y, epochs=400, lr=0.1, batch_size=1, seed=0,
        scheduler=lambda opt: nn.ExponentialLR(opt, gamma=0.98))
    assert model.history_.params["batches"] == 100
    np.testing.assert_allclose(model.coef_, coef[0], atol=1e-3)
    np.testing.assert_allclose(model.intercept_, intercept[0], atol=1e-3)


def test_linear_regression_minibatch_reaches_least_squares():
    # batch 20 divides n = 100: with a short last batch (e.g. 16 -> 6 x 16 + 4) the samples in
    # it weigh 4x more in that epoch, the per-epoch noise no longer cancels, and the error
    # stalls near 1e-2. Equal batches plus a decaying lr reach the optimum.
    X, y = classic_linear()
    coef, intercept = least_squares(X, y)
    model = LinearRegression(1).fit(
        X, y, epochs=600, lr=0.5, batch_size=20, seed=0,
        scheduler=lambda opt: nn.ExponentialLR(opt, gamma=0.99))
    assert model.history_.params["batches"] == 5
    np.testing.assert_allclose(model.coef_, coef[0], atol=1e-3)
    np.testing.assert_allclose(model.intercept_, intercept[0], atol=1e-3)


def test_linear_regression_accepts_1d_and_column_targets_alike():
    X, y = classic_linear()
    a = LinearRegression(1).fit(X, y, epochs=50, lr=0.5, shuffle=False)
    mg.manual_seed(0)
    b = LinearRegression(1).fit(X, y.ravel(), epochs=50, lr=0.5, shuffle=False)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert a.predict(X).shape == (100,)
    assert a.score(X, y) == pytest.approx(a.score(X, y.ravel()))


def test_linear_regression_score_is_r2():
    X, y = classic_linear()
    model = LinearRegression(1).fit(X, y, epochs=1000, lr=0.7)
    pred = model.predict(X)
    r2 = 1 - ((y.ravel() - pred) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    assert model.score(X, y) == pytest.approx(r2, rel=1e-12)


def test_linear_regression_multi_output_shapes_and_solution():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((80, 2))
    W = np.array([[1.0, -2.0], [0.5, 0.0], [3.0, 1.0]])
    Y = X @ W.T + [1.0, -1.0, 0.0] + 0.1 * rng.standard_normal((80, 3))
    model = LinearRegression(2, n_outputs=3).fit(X, Y, epochs=500, lr=0.3)
    coef, intercept = least_squares(X, Y)
    assert model.coef_.shape == (3, 2) and model.intercept_.shape == (3,)
    np.testing.assert_allclose(model.coef_, coef, atol=1e-6)
    np.testing.assert_allclose(model.intercept_, intercept, atol=1e-6)
    assert model.predict(X).shape == (80, 3)
    with pytest.raises(ValueError, match=r"got \(80,\) with n_outputs=3"):
        model.fit(X, Y[:, 0], epochs=1)


def test_linear_regression_l2_is_ridge_on_the_weight_only():
    # mean((Xw + b - y)^2) + 0.5 l2 ||w||^2  ==  Ridge(alpha = l2 n / 2), intercept unpenalised
    rng = np.random.default_rng(4)
    X = rng.standard_normal((60, 3))
    y = X @ [1.0, -1.0, 2.0] + 5.0 + rng.standard_normal(60)
    l2, n = 0.5, len(X)
    Xc, yc = X - X.mean(0), y - y.mean()
    w = np.linalg.solve(Xc.T @ Xc + (l2 * n / 2) * np.eye(3), Xc.T @ yc)
    b = y.mean() - X.mean(0) @ w
    model = LinearRegression(3).fit(X, y, epochs=500, lr=0.2, l2=l2)
    np.testing.assert_allclose(model.coef_, w, atol=1e-8)
    np.testing.assert_allclose(model.intercept_, b, atol=1e-8)


# ============================================================================ LogisticRegression


def test_logistic_regression_reaches_sklearn_maximum_likelihood():
    X, y = two_blobs()
    sk = sklearn_logistic().fit(X, y)
    model = LogisticRegression(2).fit(X, y, epochs=1000, lr=2.0)
    assert model.coef_.shape == (1, 2) and model.intercept_.shape == (1,)
    np.testing.assert_allclose(model.coef_, sk.coef_, atol=1e-2)
    np.testing.assert_allclose(model.intercept_, sk.intercept_, atol=1e-2)
    # well-conditioned and convex: in fact to sklearn's own solver tolerance
    np.testing.assert_allclose(model.coef_, sk.coef_, atol=1e-5)
    np.testing.assert_allclose(model.predict_proba(X), sk.predict_proba(X), atol=1e-6)
    np.testing.assert_array_equal(model.predict(X), sk.predict(X))
    assert model.score(X, y) == pytest.approx(sk.score(X, y))


def test_logistic_regression_with_adam_also_converges():
    X, y = two_blobs()
    sk = sklearn_logistic().fit(X, y)
    model = LogisticRegression(2).fit(X, y, epochs=300, lr=0.05, optimizer="adam")
    np.testing.assert_allclose(model.coef_, sk.coef_, atol=1e-3)
    np.testing.assert_allclose(model.intercept_, sk.intercept_, atol=1e-3)


def test_logistic_regression_l2_matches_sklearn_C():
    # sklearn: 0.5 ||w||^2 + C sum(loss)  ==  n C (mean loss + ||w||^2 / (2 n C)): l2 = 1/(n C)
    X, y = two_blobs()
    C = 0.05
    sk = sklearn_logistic(C=C).fit(X, y)
    model = LogisticRegression(2).fit(X, y, epochs=1000, lr=2.0, l2=1 / (len(X) * C))
    np.testing.assert_allclose(model.coef_, sk.coef_, atol=1e-5)
    np.testing.assert_allclose(model.intercept_, sk.intercept_, atol=1e-5)


def test_logistic_regression_outputs():
    X, y = two_blobs()
    model = LogisticRegression(2).fit(X, y.reshape(-1, 1), epochs=200, lr=2.0)
    proba = model.predict_proba(X)
    assert proba.shape == (300, 2)
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    z = model.decision_function(X)
    assert z.shape == (300,)
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-z)), rtol=1e-12)
    np.testing.assert_array_equal(model.predict(X), (z > 0).astype(int))
    assert set(np.unique(model.predict(X))) <= {0, 1}
    assert 0.75 < model.score(X, y) <= 1
    logits = model(X)  # a Module: forward gives the logits (n, 1), as PyTorch
    assert isinstance(logits, mg.Tensor) and logits.shape == (300, 1)
    assert sorted(model.state_dict()) == ["linear.bias", "linear.weight"]


def test_logistic_regression_rejects_labels_that_are_not_0_1():
    X = np.zeros((6, 2))
    with pytest.raises(ValueError, match=r"0 or 1.*\[0, 1, 2\].*SoftmaxRegression"):
        LogisticRegression(2).fit(X, [0, 1, 2, 0, 1, 2], epochs=1)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        LogisticRegression(2).fit(X, [-1, 1, -1, 1, 1, -1], epochs=1)


def test_logistic_regression_fit_metrics_threshold_logits_at_zero():
    X, y = two_blobs()
    model = LogisticRegression(2)
    model.fit(X, y, epochs=50, lr=1.0, validation_data=(X, y), metrics=["accuracy"])
    assert model.history_.history["val_accuracy"][-1] == pytest.approx(model.score(X, y))
    assert isinstance(model.history_, History)


# ============================================================================ SoftmaxRegression


def test_softmax_regression_matches_sklearn_multinomial_probabilities():
    X, y = three_blobs()
    sk = sklearn_logistic().fit(X, y)
    model = SoftmaxRegression(2, 3).fit(X, y, epochs=1000, lr=2.0)
    assert model.coef_.shape == (3, 2) and model.intercept_.shape == (3,)
    # softmax(x W^T + b) is unchanged by adding one vector to every row of W (and one number
    # to b): coefficients are not identifiable, probabilities are
    proba = model.predict_proba(X)
    assert proba.shape == (300, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(proba, sk.predict_proba(X), atol=1e-2)
    np.testing.assert_allclose(proba, sk.predict_proba(X), atol=1e-5)
    # ... and so are the differences between classes' coefficients
    np.testing.assert_allclose(model.coef_ - model.coef_[0], sk.coef_ - sk.coef_[0], atol=1e-4)
    np.testing.assert_array_equal(model.predict(X), sk.predict(X))
    assert model.score(X, y) > 0.85
    assert model.score(X, y) == pytest.approx(sk.score(X, y))


def test_softmax_regression_label_checks():
    X = np.zeros((4, 2))
    with pytest.raises(ValueError, match=r"\[0, 3\).*\[3\]"):
        SoftmaxRegression(2, 3).fit(X, [0, 1, 2, 3], epochs=1)
    with pytest.raises(ValueError, match=r"\[-1\]"):
        SoftmaxRegression(2, 3).fit(X, [0, 1, 2, -1], epochs=1)
    with pytest.raises(ValueError, match=r"\[1.5\]"):
        SoftmaxRegression(2, 3).fit(X, [0, 1, 2, 1.5], epochs=1)
    with pytest.raises(ValueError, match="n_classes"):
        SoftmaxRegression(2, 1)
    # float labels that are whole numbers, and a column, are fine
    SoftmaxRegression(2, 3).fit(X, np.array([[0.0], [1.0], [2.0], [1.0]]), epochs=1)


# ============================================================================ shared checks


@pytest.mark.parametrize("make", [lambda: LinearRegression(2), lambda: LogisticRegression(2),
                                  lambda: SoftmaxRegression(2, 3)])
def test_X_must_be_2d_with_n_features_columns(make):
    model = make()
    y = np.zeros(5, dtype=int)
    with pytest.raises(ValueError, match=r"\(n_samples, 2\).*\(5, 3\)"):
        model.fit(np.zeros((5, 3)), y, epochs=1)
    with pytest.raises(ValueError, match=r"reshape\(-1, 1\)"):
        model.fit(np.zeros(5), y, epochs=1)
    with pytest.raises(ValueError, match=r"\(5, 3\)"):
        model.predict(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="NaN"):
        model.fit(np.full((5, 2), np.nan), y, epochs=1)
    with pytest.raises(ValueError, match="5 samples"):
        model.fit(np.zeros((5, 2)), np.zeros(4, dtype=int), epochs=1)


def test_optimizer_choices():
    X, y = classic_linear()
    coef, _ = least_squares(X, y)
    model = LinearRegression(1)
    model.fit(X, y, epochs=1000, lr=0.7, optimizer=nn.SGD)  # a class, built with lr
    np.testing.assert_allclose(model.coef_, coef[0], atol=1e-6)

    model = LinearRegression(1)
    opt = nn.SGD(model.parameters(), lr=0.7, momentum=0.5)  # an instance: used as given
    model.fit(X, y, epochs=300, optimizer=opt)
    np.testing.assert_allclose(model.coef_, coef[0], atol=1e-6)

    model = LinearRegression(1)  # a callable params -> optimizer
    model.fit(X, y, epochs=1000, optimizer=lambda params: nn.SGD(params, lr=0.7))
    np.testing.assert_allclose(model.coef_, coef[0], atol=1e-6)

    with pytest.raises(ValueError, match="its own learning rate"):
        model.fit(X, y, epochs=1, lr=0.1, optimizer=opt)
    with pytest.raises(ValueError, match="'sgd', 'adam'"):
        model.fit(X, y, epochs=1, optimizer="lbfgs")
    with pytest.raises(ValueError, match="none of the model's parameters"):
        LinearRegression(1).fit(X, y, epochs=1, optimizer=opt)


def test_fit_continues_from_current_weights_and_returns_self():
    X, y = classic_linear()
    model = LinearRegression(1)
    assert model.fit(X, y, epochs=5, lr=0.1) is model
    first = model.coef_.copy()
    model.fit(X, y, epochs=5, lr=0.1)
    assert not np.allclose(model.coef_, first)
    assert len(model.history_.epoch) == 5
    assert model.n_features_in_ == 1
    assert "LinearRegression" in repr(model)
