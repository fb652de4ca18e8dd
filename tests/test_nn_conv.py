"""Conv2d, MaxPool2d, AvgPool2d: equal to PyTorch (forward, input and parameter gradients,
state dicts), first and second derivatives against finite differences, clear argument errors."""

import numpy as np
import pytest

import microgradnp as mg
import nn
from nn.conv import avg_pool2d, conv2d, max_pool2d

RNG = np.random.default_rng(0)


def _t(a):
    return mg.Tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


# (input shape, out channels, kernel, stride, padding, dilation)
CONV_CASES = [
    ((2, 3, 7, 6), 4, 3, 1, 1, 1),
    ((2, 2, 9, 8), 3, (3, 2), 2, (1, 0), 2),
    ((1, 1, 5, 5), 2, 5, 1, 0, 1),  # kernel as large as the input: one output pixel
    ((2, 3, 8, 8), 5, 3, 3, 2, 1),  # stride leaves rows unused
    ((3, 2, 4, 6), 2, 1, (1, 2), 0, 1),  # 1x1 kernel
]

# (kernel, stride, padding, dilation)
POOL_CASES = [(2, None, 0, 1), (3, 1, 1, 1), (3, 2, 1, 2), ((2, 3), (1, 2), (1, 1), 1)]


# ============================================================================ no torch needed


def test_conv2d_matches_a_direct_sum_over_the_kernel():
    """Closed form: out[n, o, i, j] = b[o] + sum_{c,k,l} x_pad[n, c, i s + k d, j s + l d] w."""
    x, w, b = RNG.standard_normal((2, 3, 6, 5)), RNG.standard_normal((4, 3, 2, 3)), \
        RNG.standard_normal(4)
    s, p, d = 2, 1, (1, 2)
    out = conv2d(mg.Tensor(x), mg.Tensor(w), mg.Tensor(b), stride=s, padding=p, dilation=d).data
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    oh = (6 + 2 * p - 1 * (2 - 1) - 1) // s + 1
    ow = (5 + 2 * p - 2 * (3 - 1) - 1) // s + 1
    expected = np.zeros((2, 4, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * s:i * s + 2:1, j * s:j * s + 5:2]  # dilation (1, 2)
            expected[:, :, i, j] = np.einsum("nckl,ockl->no", patch, w) + b
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape, out_ch, k, s, p, d", CONV_CASES[:3])
def test_conv2d_first_and_second_derivatives(shape, out_ch, k, s, p, d):
    k2 = (k, k) if isinstance(k, int) else k
    x = _t(RNG.standard_normal((1,) + shape[1:3] + (min(shape[3], 6),)))
    w, b = _t(RNG.standard_normal((out_ch, shape[1]) + k2)), _t(RNG.standard_normal(out_ch))

    def f(x, w, b):
        return conv2d(x, w, b, stride=s, padding=p, dilation=d)

    assert mg.gradcheck(f, [x, w, b])
    assert mg.gradgradcheck(f, [x, w, b])


@pytest.mark.parametrize("k, s, p, d", POOL_CASES)
def test_pooling_first_and_second_derivatives(k, s, p, d):
    x = _t(RNG.standard_normal((2, 2, 6, 5)))  # distinct values: max is differentiable
    assert mg.gradcheck(lambda x: max_pool2d(x, k, s, p, d), [x])
    assert mg.gradgradcheck(lambda x: max_pool2d(x, k, s, p, d), [x])
    for include in (True, False):
        def avg(x, include=include):
            return avg_pool2d(x, k, s, p, count_include_pad=include)

        assert mg.gradcheck(avg, [x])
        assert mg.gradgradcheck(avg, [x])


def test_max_pool_sums_gradients_where_windows_share_their_maximum():
    x = _t(np.array([[[[0.0, 0, 0], [0, 5, 0], [0, 0, 0]]]]))
    out = max_pool2d(x, 2, stride=1)  # all four 2x2 windows contain the 5
    np.testing.assert_array_equal(out.data, np.full((1, 1, 2, 2), 5.0))
    out.sum().backward()
    assert x.grad[0, 0, 1, 1] == 4 and x.grad.sum() == 4


def test_avg_pool_is_the_window_mean():
    x = RNG.standard_normal((1, 2, 4, 4))
    out = avg_pool2d(mg.Tensor(x), 2).data
    np.testing.assert_allclose(out, x.reshape(1, 2, 2, 2, 2, 2).mean(axis=(3, 5)))


def test_unbatched_input_gives_unbatched_output():
    conv = nn.Conv2d(2, 3, 3, padding=1)
    x = RNG.standard_normal((2, 5, 5))
    np.testing.assert_allclose(conv(x).data, conv(x[None]).data[0])
    assert nn.MaxPool2d(2)(x).shape == (2, 2, 2)


def test_conv2d_default_init_is_pytorchs_uniform_bound():
    mg.manual_seed(0)
    conv = nn.Conv2d(4, 50, (3, 2))
    bound = 1 / np.sqrt(4 * 3 * 2)
    for p in (conv.weight, conv.bias):
        assert np.abs(p.data).max() <= bound and np.abs(p.data).max() > 0.9 * bound
    mg.manual_seed(0)
    np.testing.assert_array_equal(nn.Conv2d(4, 50, (3, 2)).weight.data, conv.weight.data)


def test_conv_net_trains_and_its_state_dict_names_are_pytorchs():
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
    assert list(model.state_dict()) == ["0.weight", "0.bias", "4.weight", "4.bias"]
    assert model.state_dict()["0.weight"].shape == (4, 1, 3, 3)
    X = RNG.standard_normal((12, 1, 8, 8))
    y = np.arange(12) % 3
    opt = nn.Adam(model.parameters(), lr=0.05)
    first = None
    for _ in range(30):
        opt.zero_grad()
        loss = nn.CrossEntropyLoss()(model(X), y)
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
    assert loss.item() < 0.5 * first


@pytest.mark.parametrize("call, message", [
    (lambda: nn.Conv2d(3, 4, 3)(np.zeros((2, 2, 8, 8))), "3 channels.*(2, 2, 8, 8)"),
    (lambda: nn.Conv2d(1, 4, 5)(np.zeros((1, 1, 3, 3))),
     r"kernel size \(5, 5\) is larger than the padded input \(3, 3\)"),
    (lambda: nn.Conv2d(1, 4, 3, dilation=2)(np.zeros((1, 1, 4, 4))),
     r"dilated to \(5, 5\).*padded input \(4, 4\)"),
    (lambda: nn.Conv2d(1, 4, 3)(np.zeros((8, 8))), r"4-D input.*\(8, 8\)"),
    (lambda: nn.Conv2d(1, 4, 0), "kernel_size must be an integer >= 1 or a pair .*; got 0"),
    (lambda: nn.Conv2d(1, 4, 3, stride=(1, 2, 3)), r"stride .* got \(1, 2, 3\)"),
    (lambda: nn.Conv2d(1, 4, 3, padding=-1), "padding must be an integer >= 0 .*; got -1"),
    (lambda: nn.Conv2d(0, 4, 3), "in_channels must be a positive integer; got 0"),
    (lambda: nn.Conv2d(2, 4, 3, groups=2), "groups=1.*groups=2"),
    (lambda: nn.Conv2d(2, 4, 2, padding="same"), "odd"),
    (lambda: nn.MaxPool2d(2, padding=2), r"padding \(2, 2\) must be at most half"),
    (lambda: nn.MaxPool2d(3)(np.zeros((1, 1, 2, 2))), r"kernel size \(3, 3\) is larger"),
    (lambda: nn.AvgPool2d(2)(np.zeros((4, 4))), r"4-D input.*\(4, 4\)"),
    (lambda: conv2d(mg.zeros(1, 2, 4, 4), mg.zeros(3, 2, 2, 2), mg.zeros(4)),
     r"bias must have shape \(3,\); got \(4,\)"),
])
def test_bad_arguments_are_value_errors_naming_the_values(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_padding_same_keeps_the_size():
    conv = nn.Conv2d(2, 3, 3, padding="same", dilation=2)
    assert conv(RNG.standard_normal((1, 2, 7, 6))).shape == (1, 3, 7, 6)


# ============================================================================ against PyTorch


def _torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("shape, out_ch, k, s, p, d", CONV_CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_matches_torch(shape, out_ch, k, s, p, d, bias):
    torch = _torch()
    conv = nn.Conv2d(shape[1], out_ch, k, stride=s, padding=p, dilation=d, bias=bias)
    ref = torch.nn.Conv2d(shape[1], out_ch, k, stride=s, padding=p, dilation=d, bias=bias,
                          dtype=torch.float64)
    ref.load_state_dict({k_: torch.tensor(v) for k_, v in conv.state_dict().items()})
    x = RNG.standard_normal(shape)
    xm, xt = _t(x), torch.tensor(x, requires_grad=True)
    out, out_t = conv(xm), ref(xt)
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = RNG.standard_normal(out.shape)
    out.backward(g)
    out_t.backward(torch.tensor(g))
    np.testing.assert_allclose(xm.grad, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(conv.weight.grad, ref.weight.grad.numpy(), rtol=1e-10,
                               atol=1e-12)
    if bias:
        np.testing.assert_allclose(conv.bias.grad, ref.bias.grad.numpy(), rtol=1e-10,
                                   atol=1e-12)


def test_conv2d_second_derivative_matches_torch():
    """A gradient penalty: d/dw of ||d loss / dx||^2, through the conv's backward."""
    torch = _torch()
    x, w = RNG.standard_normal((2, 2, 5, 5)), RNG.standard_normal((3, 2, 3, 3))
    xm, wm = _t(x), _t(w)
    (gx,) = mg.grad((conv2d(xm, wm, padding=1, stride=2) ** 2).sum(), [xm], create_graph=True)
    (gx * gx).sum().backward()
    xt, wt = (torch.tensor(a, requires_grad=True) for a in (x, w))
    out = torch.nn.functional.conv2d(xt, wt, padding=1, stride=2)
    (gxt,) = torch.autograd.grad((out**2).sum(), [xt], create_graph=True)
    (gxt * gxt).sum().backward()
    np.testing.assert_allclose(wm.grad, wt.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(xm.grad, xt.grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize("k, s, p, d", POOL_CASES)
def test_pooling_matches_torch(k, s, p, d):
    torch = _torch()
    x = RNG.standard_normal((2, 3, 7, 6))
    x[0, 0, :2, :2] = 1.0  # a tie: both take the first maximum
    cases = [
        (nn.MaxPool2d(k, s, p, d), torch.nn.MaxPool2d(k, s, p, d)),
        (nn.AvgPool2d(k, s, p), torch.nn.AvgPool2d(k, s, p)),
        (nn.AvgPool2d(k, s, p, count_include_pad=False),
         torch.nn.AvgPool2d(k, s, p, count_include_pad=False)),
        (nn.AvgPool2d(k, s, p, divisor_override=3), torch.nn.AvgPool2d(k, s, p,
                                                                        divisor_override=3)),
    ]
    for mine, ref in cases:
        xm, xt = _t(x), torch.tensor(x, requires_grad=True)
        out, out_t = mine(xm), ref(xt)
        np.testing.assert_allclose(out.data, out_t.detach().numpy(), rtol=1e-12, atol=1e-14)
        g = RNG.standard_normal(out.shape)
        out.backward(g)
        out_t.backward(torch.tensor(g))
        np.testing.assert_allclose(xm.grad, xt.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_cnn_state_dict_loads_into_torch_with_identical_outputs():
    torch = _torch()
    mg.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(4, 6, 3), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(),
                          nn.Linear(6, 10))
    ref = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(),
                              torch.nn.MaxPool2d(2), torch.nn.Conv2d(4, 6, 3), torch.nn.ReLU(),
                              torch.nn.AvgPool2d(2), torch.nn.Flatten(),
                              torch.nn.Linear(6, 10)).double()
    ref.load_state_dict({k: torch.tensor(v) for k, v in model.state_dict().items()})
    x = RNG.standard_normal((5, 1, 8, 8))
    np.testing.assert_allclose(model(x).data, ref(torch.tensor(x)).detach().numpy(),
                               rtol=1e-10, atol=1e-12)
    # and back: PyTorch's freshly initialised weights load into ours
    ref2 = torch.nn.Conv2d(3, 2, (2, 3), stride=2).double()
    conv = nn.Conv2d(3, 2, (2, 3), stride=2)
    conv.load_state_dict({k: v.detach().numpy() for k, v in ref2.state_dict().items()})
    x = RNG.standard_normal((2, 3, 6, 7))
    np.testing.assert_allclose(conv(x).data, ref2(torch.tensor(x)).detach().numpy(),
                               rtol=1e-10, atol=1e-12)


def test_float32_stays_float32():
    x = mg.Tensor(RNG.standard_normal((2, 3, 6, 6)).astype(np.float32), requires_grad=True)
    for layer in (nn.Conv2d(3, 4, 3, padding=1, dtype=np.float32), nn.MaxPool2d(2),
                  nn.AvgPool2d(3, 2, 1, count_include_pad=False)):
        x.grad = None
        out = layer(x)
        out.sum().backward()
        assert out.dtype == np.float32 and x.grad.dtype == np.float32, layer


def test_random_configurations_match_torch():
    """A seeded sweep: shapes, kernels, strides, paddings and dilations drawn at random."""
    torch = _torch()
    rng = np.random.default_rng(42)
    for _ in range(40):
        kernel = tuple(int(k) for k in rng.integers(1, 4, 2))
        dilation = tuple(int(d) for d in rng.integers(1, 3, 2))
        padding = tuple(int(rng.integers(0, k // 2 + 1)) for k in kernel)
        stride = tuple(int(s) for s in rng.integers(1, 4, 2))
        extent = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
        h, w = (int(rng.integers(max(e - 2 * p, 1), 9)) for e, p in zip(extent, padding))
        n, c, o = (int(v) for v in rng.integers(1, 4, 3))
        x, wt, b = (rng.standard_normal(s) for s in ((n, c, h, w), (o, c) + kernel, (o,)))
        xm, wm, bm = _t(x), _t(wt), _t(b)
        xt, wtt, bt = (torch.tensor(a, requires_grad=True) for a in (x, wt, b))
        out = conv2d(xm, wm, bm, stride, padding, dilation)
        ref = torch.nn.functional.conv2d(xt, wtt, bt, stride, padding, dilation)
        pooled = max_pool2d(xm, kernel, stride, padding, dilation)
        pooled_t = torch.nn.functional.max_pool2d(xt, kernel, stride, padding, dilation)
        g, gp = rng.standard_normal(out.shape), rng.standard_normal(pooled.shape)
        out.backward(g)
        ref.backward(torch.tensor(g))
        if np.isfinite(pooled.data).all():  # a window all in the (dilated) padding pools to
            pooled.backward(gp)             # -inf; PyTorch then sends its gradient outside
            pooled_t.backward(torch.tensor(gp))  # the channel's plane, we send it nowhere
        config = f"x {x.shape}, kernel {kernel}, stride {stride}, padding {padding}, " \
                 f"dilation {dilation}"
        np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=config)
        np.testing.assert_allclose(pooled.data, pooled_t.detach().numpy(), err_msg=config)
        for mine, theirs in ((xm, xt), (wm, wtt), (bm, bt)):
            np.testing.assert_allclose(mine.grad, theirs.grad.numpy(), rtol=1e-10, atol=1e-12,
                                       err_msg=config)


def test_a_max_pool_window_all_in_the_padding_is_minus_inf_with_no_gradient():
    x = _t([[[[2.0, 3.0]]]])  # height 1, padded to 3; dilation 2 skips the real row
    out = max_pool2d(x, (2, 1), stride=1, padding=(1, 0), dilation=(2, 1))
    np.testing.assert_array_equal(out.data, np.full((1, 1, 1, 2), -np.inf))
    out.backward(np.ones(out.shape))
    np.testing.assert_array_equal(x.grad, 0)


def test_random_avg_pool_configurations_match_torch():
    torch = _torch()
    rng = np.random.default_rng(7)
    for _ in range(30):
        kernel = tuple(int(k) for k in rng.integers(1, 4, 2))
        padding = tuple(int(rng.integers(0, k // 2 + 1)) for k in kernel)
        stride = tuple(int(s) for s in rng.integers(1, 4, 2))
        h, w = (int(rng.integers(max(k - 2 * p, 1), 9)) for k, p in zip(kernel, padding))
        x = rng.standard_normal((2, 2, h, w))
        include = bool(rng.integers(0, 2))
        xm, xt = _t(x), torch.tensor(x, requires_grad=True)
        out = avg_pool2d(xm, kernel, stride, padding, count_include_pad=include)
        ref = torch.nn.functional.avg_pool2d(xt, kernel, stride, padding,
                                             count_include_pad=include)
        g = rng.standard_normal(out.shape)
        out.backward(g)
        ref.backward(torch.tensor(g))
        config = f"x {x.shape}, kernel {kernel}, stride {stride}, padding {padding}, {include}"
        np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12, atol=1e-14,
                                   err_msg=config)
        np.testing.assert_allclose(xm.grad, xt.grad.numpy(), rtol=1e-12, atol=1e-14,
                                   err_msg=config)
