"""Losses: values and gradients against closed forms, finite differences and PyTorch; stability
at extreme logits; clear errors for bad targets and mismatched shapes."""

import warnings

import numpy as np
import pytest

import microgradnp as mg
import nn
from nn import functional as F

rng = np.random.default_rng(0)
N, C = 6, 4
PRED = rng.normal(size=(N, 3))
TARGET = rng.normal(size=(N, 3))
PROBS = rng.uniform(0.05, 0.95, size=(N, 3))
BINARY = (rng.uniform(size=(N, 3)) > 0.5).astype(float)
SOFT = rng.uniform(size=(N, 3))  # soft targets in [0, 1]
LOGITS = rng.normal(size=(N, C)) * 2
LABELS = np.array([0, 3, 1, 2, 3, 0])
REDUCTIONS = ["mean", "sum", "none"]


def _t(a):
    return mg.Tensor(np.array(a, dtype=np.float64), requires_grad=True)


def _reduce(v, reduction):
    return v.mean() if reduction == "mean" else v.sum() if reduction == "sum" else v


def _backward(out):
    """Backward with a fixed weight per output element, so 'none' is tested too."""
    w = np.linspace(0.5, 1.5, out.size).reshape(out.shape)
    out.backward(w)
    return w


# ============================================================================ closed forms


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_and_l1_closed_forms(reduction):
    x, y = _t(PRED), _t(TARGET)
    out = F.mse_loss(x, y, reduction)
    np.testing.assert_allclose(out.data, _reduce((PRED - TARGET) ** 2, reduction))
    w = _backward(out)
    scale = 1 / PRED.size if reduction == "mean" else 1
    np.testing.assert_allclose(x.grad, 2 * (PRED - TARGET) * w * scale)
    np.testing.assert_allclose(y.grad, -x.grad)
    x = _t(PRED)
    out = F.l1_loss(x, TARGET, reduction)
    np.testing.assert_allclose(out.data, _reduce(np.abs(PRED - TARGET), reduction))
    w = _backward(out)
    np.testing.assert_allclose(x.grad, np.sign(PRED - TARGET) * w * scale)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_closed_forms(reduction):
    p = _t(PROBS)
    out = F.binary_cross_entropy(p, SOFT, reduction)
    expected = -(SOFT * np.log(PROBS) + (1 - SOFT) * np.log(1 - PROBS))
    np.testing.assert_allclose(out.data, _reduce(expected, reduction), rtol=1e-13)
    w = _backward(out)
    scale = 1 / PROBS.size if reduction == "mean" else 1
    np.testing.assert_allclose(p.grad, (PROBS - SOFT) / (PROBS * (1 - PROBS)) * w * scale,
                               rtol=1e-12)
    x = _t(PRED)
    out = F.binary_cross_entropy_with_logits(x, SOFT, reduction)
    s = 1 / (1 + np.exp(-PRED))
    expected = -(SOFT * np.log(s) + (1 - SOFT) * np.log(1 - s))
    np.testing.assert_allclose(out.data, _reduce(expected, reduction), rtol=1e-12)
    w = _backward(out)
    np.testing.assert_allclose(x.grad, (s - SOFT) * w * scale, rtol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_closed_form(reduction):
    x = _t(LOGITS)
    out = F.cross_entropy(x, LABELS, reduction)
    p = np.exp(LOGITS) / np.exp(LOGITS).sum(axis=1, keepdims=True)
    nll = -np.log(p[np.arange(N), LABELS])
    np.testing.assert_allclose(out.data, _reduce(nll, reduction), rtol=1e-13)
    w = _backward(out)
    scale = 1 / N if reduction == "mean" else 1
    w = np.broadcast_to(np.reshape(w, (-1, 1)) if w.ndim else w, (N, C))
    np.testing.assert_allclose(x.grad, (p - np.eye(C)[LABELS]) * w * scale, rtol=1e-12)


def test_cross_entropy_label_smoothing_and_probability_targets():
    eps = 0.2
    x = _t(LOGITS)
    out = F.cross_entropy(x, LABELS, label_smoothing=eps)
    log_p = LOGITS - np.log(np.exp(LOGITS).sum(axis=1, keepdims=True))
    t = np.eye(C)[LABELS] * (1 - eps) + eps / C
    np.testing.assert_allclose(out.data, -(t * log_p).sum(axis=1).mean(), rtol=1e-13)
    out.backward()
    np.testing.assert_allclose(x.grad, (np.exp(log_p) - t) / N, rtol=1e-12)
    # one-hot float targets are class probabilities and give the same loss as the labels
    onehot = np.eye(C)[LABELS]
    np.testing.assert_allclose(F.cross_entropy(LOGITS, onehot).data,
                               F.cross_entropy(LOGITS, LABELS).data, rtol=1e-14)
    # an unbatched (C,) input with a scalar label
    np.testing.assert_allclose(F.cross_entropy(LOGITS[1], 3).data, -log_p[1, 3], rtol=1e-13)


def test_nll_loss_after_log_softmax_equals_cross_entropy():
    x = _t(LOGITS)
    a = nn.NLLLoss()(nn.LogSoftmax(dim=1)(x), LABELS)
    np.testing.assert_allclose(a.data, F.cross_entropy(LOGITS, LABELS).data, rtol=1e-14)


# ============================================================================ finite differences


CASES = [
    ("mse", lambda x, y: F.mse_loss(x, y), PRED, TARGET),
    ("mse_none", lambda x, y: F.mse_loss(x, y, "none"), PRED, TARGET),
    ("l1", lambda x, y: F.l1_loss(x, y, "sum"), PRED, TARGET),
    ("bce", lambda x, y: F.binary_cross_entropy(x, y), PROBS, SOFT),
    ("bce_none", lambda x, y: F.binary_cross_entropy(x, y, "none"), PROBS, SOFT),
    ("bce_logits", lambda x, y: F.binary_cross_entropy_with_logits(x, y), PRED, SOFT),
    ("bce_logits_pw", lambda x, y: F.binary_cross_entropy_with_logits(
        x, y, pos_weight=np.array([0.5, 2.0, 3.0])), PRED, SOFT),
]


@pytest.mark.parametrize("name, fn, x, y", CASES, ids=[c[0] for c in CASES])
def test_gradcheck_and_gradgradcheck_in_both_arguments(name, fn, x, y):
    xs, ys = _t(x), _t(y)
    assert mg.gradcheck(fn, (xs, ys))
    if name != "l1":  # |x| has no curvature to check
        assert mg.gradgradcheck(fn, (xs, ys))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_gradcheck(reduction, smoothing):
    def fn(x):
        return F.cross_entropy(x, LABELS, reduction, smoothing)

    assert mg.gradcheck(fn, (_t(LOGITS),))
    assert mg.gradgradcheck(fn, (_t(LOGITS),))


def test_pos_weight_gradient():
    pw = _t([0.5, 2.0, 3.0])
    assert mg.gradcheck(lambda x, w: F.binary_cross_entropy_with_logits(x, SOFT, pos_weight=w),
                        (_t(PRED), pw))


# ============================================================================ PyTorch


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_all_losses_match_torch(reduction):
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    pw = np.array([0.5, 2.0, 3.0])
    cases = [
        (F.mse_loss, tF.mse_loss, PRED, TARGET, {}, {}),
        (F.l1_loss, tF.l1_loss, PRED, TARGET, {}, {}),
        (F.binary_cross_entropy, tF.binary_cross_entropy, PROBS, SOFT, {}, {}),
        (F.binary_cross_entropy_with_logits, tF.binary_cross_entropy_with_logits, PRED, SOFT,
         {}, {}),
        (F.binary_cross_entropy_with_logits, tF.binary_cross_entropy_with_logits, PRED, SOFT,
         {"pos_weight": pw}, {"pos_weight": torch.from_numpy(pw)}),
    ]
    for ours, theirs, x, y, kw, tkw in cases:
        xs, ys = _t(x), _t(y)
        out = ours(xs, ys, reduction, **kw)
        tx = torch.tensor(x, requires_grad=True)
        ty = torch.tensor(y, requires_grad=True)
        tout = theirs(tx, ty, reduction=reduction, **tkw)
        np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-13, atol=1e-15)
        w = _backward(out)
        tout.backward(torch.from_numpy(np.asarray(w)))
        np.testing.assert_allclose(xs.grad, tx.grad.numpy(), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(ys.grad, ty.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.15])
def test_cross_entropy_matches_torch(reduction, smoothing):
    torch = pytest.importorskip("torch")
    x = _t(LOGITS)
    out = nn.CrossEntropyLoss(reduction=reduction, label_smoothing=smoothing)(x, LABELS)
    tx = torch.tensor(LOGITS, requires_grad=True)
    tout = torch.nn.CrossEntropyLoss(reduction=reduction, label_smoothing=smoothing)(
        tx, torch.from_numpy(LABELS))
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-13)
    w = _backward(out)
    tout.backward(torch.from_numpy(np.asarray(w)))
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-12, atol=1e-16)


def test_cross_entropy_second_derivative_matches_torch():
    torch = pytest.importorskip("torch")
    x = _t(LOGITS)
    (g,) = mg.grad(F.cross_entropy(x, LABELS), x, create_graph=True)
    (g * g).sum().backward()
    tx = torch.tensor(LOGITS, requires_grad=True)
    (tg,) = torch.autograd.grad(tF_ce(torch, tx), tx, create_graph=True)
    (tg * tg).sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-11, atol=1e-16)


def tF_ce(torch, tx):
    return torch.nn.functional.cross_entropy(tx, torch.from_numpy(LABELS))


def test_bce_clamps_log_at_minus_100_like_torch():
    p = _t([0.0, 1.0, 0.5])
    out = F.binary_cross_entropy(p, [1.0, 0.0, 1.0], "none")
    np.testing.assert_allclose(out.data, [100.0, 100.0, np.log(2)])
    out.sum().backward()
    assert np.all(np.isfinite(p.grad))
    torch = pytest.importorskip("torch")
    tp = torch.tensor([0.0, 1.0, 0.5], dtype=torch.float64, requires_grad=True)
    tout = torch.nn.functional.binary_cross_entropy(
        tp, torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64), reduction="none")
    tout.sum().backward()
    np.testing.assert_allclose(out.data, tout.detach().numpy())
    np.testing.assert_allclose(p.grad, tp.grad.numpy())


# ============================================================================ stability


def test_logit_losses_are_finite_for_huge_logits():
    x = _t([[1000.0, -1000.0], [-1000.0, 1000.0]])
    out = F.binary_cross_entropy_with_logits(x, [[1.0, 0.0], [1.0, 0.0]], "none")
    np.testing.assert_allclose(out.data, [[0.0, 0.0], [1000.0, 1000.0]])
    out.sum().backward()
    np.testing.assert_allclose(x.grad, [[0.0, 0.0], [-1.0, 1.0]])
    x = _t([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]])
    out = F.cross_entropy(x, [0, 0], "none")
    np.testing.assert_allclose(out.data, [0.0, 2000.0 + np.log1p(np.exp(-1))])
    out.sum().backward()
    assert np.all(np.isfinite(x.grad))
    np.testing.assert_allclose(x.grad[1], [-1.0, 1 / (1 + np.exp(-1)), 1 / (1 + np.e)])


def test_float32_predictions_give_float32_losses_and_grads():
    x = mg.Tensor(PRED.astype(np.float32), requires_grad=True)
    out = F.mse_loss(x, TARGET)  # float64 target is cast to the prediction's dtype
    assert out.dtype == np.float32
    out.backward()
    assert x.grad.dtype == np.float32


# ============================================================================ errors


@pytest.mark.parametrize("fn", [F.mse_loss, F.l1_loss, F.binary_cross_entropy,
                                F.binary_cross_entropy_with_logits])
def test_shape_mismatch_is_an_error_naming_both_shapes(fn):
    with pytest.raises(ValueError, match=r"\(6, 1\).*\(6,\)"):
        fn(np.full((6, 1), 0.5), np.ones(6))


def test_bce_targets_outside_unit_interval_mention_the_classic_mistake():
    with pytest.raises(ValueError, match=r"2.*0, 1, 2"):
        nn.BCEWithLogitsLoss()(np.zeros(4), np.array([0, 1, 2, 1]))
    with pytest.raises(ValueError, match="targets must be in \\[0, 1\\]"):
        nn.BCELoss()(np.full(2, 0.5), np.array([-1.0, 1.0]))
    with pytest.raises(ValueError, match="probabilities.*1.5"):
        nn.BCELoss()(np.array([1.5, 0.5]), np.array([1.0, 1.0]))


def test_cross_entropy_bad_labels_are_named_with_n_classes():
    with pytest.raises(ValueError, match=r"\[0, 4\).*4 classes.*-1, 4, 7"):
        F.cross_entropy(LOGITS, [0, 4, 1, -1, 7, 0])
    with pytest.raises(ValueError, match="integers.*1.5"):
        F.cross_entropy(LOGITS, [0, 1.5, 1, 1, 1, 0])
    np.testing.assert_allclose(F.cross_entropy(LOGITS, LABELS.astype(float)).data,
                               F.cross_entropy(LOGITS, LABELS).data)  # integral floats are fine
    for dtype in (np.int8, np.int32, np.uint16):  # checked in one pass, read as unsigned
        good = LABELS.astype(dtype)
        np.testing.assert_allclose(F.cross_entropy(LOGITS, good).data,
                                   F.cross_entropy(LOGITS, LABELS).data)
        if dtype != np.uint16:
            with pytest.raises(ValueError, match=r"\[0, 4\).*-1"):
                F.cross_entropy(LOGITS, np.where(good == 0, -1, good).astype(dtype))
    with pytest.raises(ValueError, match=r"\(6,\).*\(6, 1\)"):
        F.cross_entropy(LOGITS, LABELS.reshape(-1, 1))
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")


def test_tensor_targets_and_loss_modules():
    x = _t(PRED)
    out = nn.MSELoss()(x, mg.Tensor(TARGET))
    np.testing.assert_allclose(out.data, ((PRED - TARGET) ** 2).mean())
    assert repr(nn.CrossEntropyLoss(label_smoothing=0.1)) == \
        "CrossEntropyLoss(label_smoothing=0.1)"
    assert repr(nn.MSELoss(reduction="sum")) == "MSELoss(reduction='sum')"


# ===================================================== closed forms (no torch needed)


def _softplus(z):
    return np.logaddexp(0, z)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_pos_weight_closed_form(reduction):
    """l = -[pw y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))], pw broadcast over the last
    axis; dl/dx = (pw y + 1 - y) sigmoid(x) - pw y. Functional and module, value and gradient."""
    pw = np.array([0.5, 2.0, 3.0])
    per_element = pw * SOFT * _softplus(-PRED) + (1 - SOFT) * _softplus(PRED)
    expected = _reduce(per_element, reduction)
    scale = 1 / PRED.size if reduction == "mean" else 1.0
    expected_grad = scale * ((pw * SOFT + 1 - SOFT) * _sigmoid(PRED) - pw * SOFT)
    for loss_fn in (lambda x: F.binary_cross_entropy_with_logits(x, SOFT, reduction,
                                                                 pos_weight=pw),
                    lambda x: nn.BCEWithLogitsLoss(reduction=reduction, pos_weight=pw)(x, SOFT)):
        x = _t(PRED)
        loss = loss_fn(x)
        np.testing.assert_allclose(loss.data, expected, rtol=1e-12)
        loss.backward(np.ones_like(loss.data) if reduction == "none" else None)
        np.testing.assert_allclose(x.grad, expected_grad, rtol=1e-12, atol=1e-15)
    without = nn.BCEWithLogitsLoss(reduction="sum")(PRED, SOFT).item()
    assert without != pytest.approx(float(np.sum(per_element)))  # pos_weight matters here


# ===================================================== empty batches, missing targets


EMPTY = [
    ("mse_loss", lambda r: F.mse_loss(np.zeros((0, 1)), np.zeros((0, 1)), r)),
    ("l1_loss", lambda r: F.l1_loss(np.zeros((0, 1)), np.zeros((0, 1)), r)),
    ("binary_cross_entropy", lambda r: F.binary_cross_entropy(np.zeros(0), np.zeros(0), r)),
    ("binary_cross_entropy_with_logits",
     lambda r: F.binary_cross_entropy_with_logits(np.zeros(0), np.zeros(0), r)),
    ("cross_entropy", lambda r: F.cross_entropy(np.zeros((0, 3)), np.zeros(0, int), r)),
    ("nll_loss", lambda r: F.nll_loss(np.zeros((0, 3)), np.zeros(0, int), r)),
    ("cross_entropy", lambda r: nn.CrossEntropyLoss(reduction=r)(np.zeros((0, 3)),
                                                                np.zeros(0, int))),
    ("mse_loss", lambda r: nn.MSELoss(reduction=r)(np.zeros((0, 2)), np.zeros((0, 2)))),
]


@pytest.mark.parametrize("name, loss", EMPTY, ids=[f"{e[0]}-{i}" for i, e in enumerate(EMPTY)])
def test_the_mean_loss_of_zero_samples_is_a_clear_error(name, loss):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "mean of empty slice" warning either
        with pytest.raises(ValueError, match=rf"{name}: no samples .*empty batch"):
            loss("mean")
        assert float(np.sum(loss("sum").data)) == 0.0  # a sum of nothing is 0, as in PyTorch
        assert loss("none").data.size == 0


@pytest.mark.parametrize("loss_fn", [nn.MSELoss(), nn.L1Loss(), nn.BCELoss(),
                                     nn.BCEWithLogitsLoss(), nn.CrossEntropyLoss(), nn.NLLLoss()],
                         ids=lambda f: type(f).__name__)
def test_a_missing_target_is_named(loss_fn):
    with pytest.raises(ValueError, match="the target is None"):
        loss_fn(np.full((4, 2), 0.5), None)


def test_cross_entropy_on_one_column_suggests_bce_with_logits():
    logits, labels = rng.normal(size=(5, 1)), np.array([0, 1, 1, 0, 1])
    for loss_fn in (nn.CrossEntropyLoss(), F.cross_entropy):
        with pytest.raises(ValueError, match=r"\(5, 1\) have a single class column.*"
                                             r"BCEWithLogitsLoss"):
            loss_fn(logits, labels)
    with pytest.raises(ValueError, match="BCEWithLogitsLoss"):  # labels all 0: would be loss 0
        nn.CrossEntropyLoss()(logits, np.zeros(5, int))
