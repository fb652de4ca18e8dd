"""Containers, Flatten, normalisation, Embedding, GELU/ELU/SiLU, buffers, summary and gradient
clipping: closed forms and finite differences without torch, equality with PyTorch with it."""

import math

import numpy as np
import pytest

import microgradnp as mg
import nn
from nn._special import erf, erfc, normal_cdf

RNG = np.random.default_rng(1)


def _t(a):
    return mg.Tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


def _torch():
    return pytest.importorskip("torch")


# ============================================================================ containers


def test_module_list_registers_indexes_and_renumbers():
    layers = nn.ModuleList([nn.Linear(2, 3), nn.ReLU()])
    layers.append(nn.Linear(3, 1))
    layers += [nn.Tanh()]
    assert len(layers) == 4 and isinstance(layers[-1], nn.Tanh)
    assert [n for n, _ in layers.named_parameters()] == ["0.weight", "0.bias", "2.weight",
                                                         "2.bias"]
    assert isinstance(layers[1:3], nn.ModuleList) and len(layers[1:3]) == 2
    del layers[0]
    assert [n for n, _ in layers.named_parameters()] == ["1.weight", "1.bias"]
    layers.insert(0, nn.Linear(5, 2))
    assert list(layers._modules) == ["0", "1", "2", "3"]
    with pytest.raises(IndexError, match="index 9 out of range for 4"):
        layers[9]
    with pytest.raises(TypeError):
        layers.append(3)
    with pytest.raises(NotImplementedError, match="iterate"):
        layers(np.zeros(2))


def test_module_list_inside_a_model_gives_dotted_names():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList(nn.Linear(4, 4) for _ in range(3))

        def forward(self, x):
            for block in self.blocks:
                x = block(x).relu()
            return x

    net = Net()
    assert "blocks.2.bias" in net.state_dict()
    assert net(np.ones((2, 4))).shape == (2, 4)


def test_module_dict():
    heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.Linear(2, 3)})
    heads["c"] = nn.Identity()
    assert list(heads) == ["a", "b", "c"] and "b" in heads and len(heads) == 3
    assert [n for n, _ in heads.named_parameters()] == ["a.weight", "a.bias", "b.weight",
                                                        "b.bias"]
    assert heads["b"](np.ones((1, 2))).shape == (1, 3)
    assert isinstance(heads.pop("a"), nn.Linear) and list(heads.keys()) == ["b", "c"]
    with pytest.raises(KeyError, match="'z'"):
        heads["z"]
    heads.update([("d", nn.ReLU())])
    assert [k for k, _ in heads.items()] == ["b", "c", "d"]


def test_flatten_and_unflatten_round_trip():
    x = RNG.standard_normal((2, 3, 4, 5))
    flat = nn.Flatten()(x)
    assert flat.shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    assert nn.Flatten(-2)(x).shape == (2, 3, 20)
    back = nn.Unflatten(1, (3, 4, 5))(flat)
    np.testing.assert_array_equal(back.data, x)
    assert nn.Unflatten(1, (3, -1))(flat).shape == (2, 3, 20)
    with pytest.raises(ValueError, match=r"axis 1 of size 60 .* into \(7, 8\)"):
        nn.Unflatten(1, (7, 8))(flat)
    with pytest.raises(ValueError, match="start_dim=3, end_dim=1"):
        nn.Flatten(3, 1)(x)


# ============================================================================ buffers


class WithBuffers(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2)
        self.register_buffer("count", mg.tensor(np.array(0, dtype=np.int64)))
        self.register_buffer("scratch", mg.zeros(3), persistent=False)


def test_register_buffer_state_dict_and_load():
    m = WithBuffers()
    assert list(m.state_dict()) == ["count", "lin.weight", "lin.bias"]
    assert [n for n, _ in m.named_buffers()] == ["count", "scratch"]
    assert len(list(m.parameters())) == 2  # buffers are not parameters
    sd = m.state_dict()
    sd["count"] = np.array(7)
    buffer = m.count
    m.load_state_dict(sd)
    assert m.count is buffer and m.count.item() == 7  # loaded in place
    sd["count"] = np.array(1.5)
    with pytest.raises(nn.StateDictError, match="wrong dtype for 'count'"):
        m.load_state_dict(sd)
    assert m.count.item() == 7  # nothing half-loaded
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("lin", mg.zeros(1))
    with pytest.raises(TypeError, match="Tensor"):
        m.count = 3
    m.count = mg.zeros(2)
    assert m._buffers["count"].shape == (2,)
    del m.scratch
    assert [n for n, _ in m.named_buffers()] == ["count"]


# ============================================================================ normalisation


def test_layer_norm_closed_form_and_gradients():
    ln = nn.LayerNorm((3, 4))
    with mg.no_grad():
        ln.weight.copy_(RNG.standard_normal((3, 4)))
        ln.bias.copy_(RNG.standard_normal((3, 4)))
    x = RNG.standard_normal((2, 3, 4))
    mean = x.mean(axis=(1, 2), keepdims=True)
    var = x.var(axis=(1, 2), keepdims=True)
    expected = (x - mean) / np.sqrt(var + 1e-5) * ln.weight.data + ln.bias.data
    np.testing.assert_allclose(ln(x).data, expected, rtol=1e-12)
    xt = _t(x[:1, :2, :])
    ln2 = nn.LayerNorm(4)
    assert mg.gradcheck(lambda x, w, b: ln2(x), [xt, ln2.weight, ln2.bias])
    assert mg.gradgradcheck(lambda x: ln2(x), [xt])
    with pytest.raises(ValueError, match=r"last 2 axes must have shape \(3, 4\); got input of "
                                         r"shape \(2, 4, 3\)"):
        ln(np.zeros((2, 4, 3)))


def test_batch_norm_training_eval_and_running_stats():
    bn = nn.BatchNorm1d(3, momentum=0.2)
    x1, x2 = RNG.standard_normal((8, 3)) * 2 + 1, RNG.standard_normal((8, 3)) - 3
    out = bn(x1).data
    np.testing.assert_allclose(out, (x1 - x1.mean(0)) / np.sqrt(x1.var(0) + 1e-5), rtol=1e-12)
    bn(x2)
    rm = 0.8 * (0.8 * 0 + 0.2 * x1.mean(0)) + 0.2 * x2.mean(0)
    rv = 0.8 * (0.8 * 1 + 0.2 * x1.var(0, ddof=1)) + 0.2 * x2.var(0, ddof=1)
    np.testing.assert_allclose(bn.running_mean.data, rm, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.data, rv, rtol=1e-12)
    assert bn.num_batches_tracked.item() == 2
    bn.eval()
    np.testing.assert_allclose(bn(x1).data, (x1 - rm) / np.sqrt(rv + 1e-5), rtol=1e-12)
    assert bn.num_batches_tracked.item() == 2  # eval does not update
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                     "num_batches_tracked"]


def test_batch_norm_cumulative_average_gradients_and_errors():
    bn = nn.BatchNorm1d(2, momentum=None)
    xs = [RNG.standard_normal((5, 2, 3)) for _ in range(3)]
    for x in xs:
        bn(x)
    np.testing.assert_allclose(bn.running_mean.data,
                               np.mean([x.mean(axis=(0, 2)) for x in xs], axis=0), rtol=1e-12)
    x = _t(RNG.standard_normal((4, 2)))
    bn = nn.BatchNorm1d(2)
    assert mg.gradcheck(lambda x, w, b: bn(x), [x, bn.weight, bn.bias])
    assert mg.gradgradcheck(lambda x: bn(x), [x])
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(np.zeros((1, 2)))
    with pytest.raises(ValueError, match=r"num_features=2.*\(4, 3\)"):
        bn(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected input \(N, 2, H, W\)"):
        nn.BatchNorm2d(2)(np.zeros((4, 2, 3)))
    bn2 = nn.BatchNorm2d(2)
    x4 = _t(RNG.standard_normal((2, 2, 2, 3)))
    bn2(x4)
    np.testing.assert_allclose(bn2.running_mean.data, 0.1 * x4.data.mean(axis=(0, 2, 3)))
    assert mg.gradcheck(lambda x, w, b: bn2(x), [x4, bn2.weight, bn2.bias])
    free = nn.BatchNorm1d(2, track_running_stats=False, affine=False)
    assert list(free.state_dict()) == []
    free.eval()
    xb = RNG.standard_normal((6, 2))
    np.testing.assert_allclose(free(xb).data, (xb - xb.mean(0)) / np.sqrt(xb.var(0) + 1e-5))


# ============================================================================ embedding


def test_embedding_lookup_gradient_and_padding():
    mg.manual_seed(0)
    emb = nn.Embedding(5, 3, padding_idx=1)
    np.testing.assert_array_equal(emb.weight.data[1], 0)
    idx = np.array([[0, 1, 4], [4, 4, 2]])
    out = emb(idx)
    np.testing.assert_array_equal(out.data, emb.weight.data[idx])
    g = RNG.standard_normal((2, 3, 3))
    out.backward(g)
    expected = np.zeros((5, 3))
    np.add.at(expected, idx.ravel(), g.reshape(-1, 3))
    expected[1] = 0  # the padding row gets no gradient
    np.testing.assert_allclose(emb.weight.grad, expected)
    w = _t(RNG.standard_normal((5, 3)))
    from nn.layers import EmbeddingOp
    assert mg.gradgradcheck(lambda w: EmbeddingOp.apply(w, indices=idx, padding_idx=1), [w])
    with pytest.raises(IndexError, match="index 5 is out of range for num_embeddings=5"):
        emb(np.array([0, 5]))
    with pytest.raises(TypeError, match="integers"):
        emb(np.array([0.5]))
    frozen = nn.Embedding.from_pretrained(np.eye(3))
    assert not frozen.weight.requires_grad
    np.testing.assert_array_equal(frozen(np.array([2])).data, [[0, 0, 1]])


# ============================================================================ activations


def test_erf_is_float64_accurate():
    x = np.concatenate([np.linspace(-7, 7, 20001), [0.0, 1.0, -1.0, 30.0, -30.0]])
    np.testing.assert_allclose(erf(x), [math.erf(v) for v in x], rtol=1e-15, atol=1e-16)
    tail = np.linspace(1, 26, 2001)
    np.testing.assert_allclose(erfc(tail), [math.erfc(v) for v in tail], rtol=1e-13)
    np.testing.assert_allclose(normal_cdf(-20.0), 0.5 * math.erfc(20 / math.sqrt(2)),
                               rtol=1e-12)
    assert np.isnan(erf(np.nan)) and erf(np.inf) == 1 and erfc(-np.inf) == 2


@pytest.mark.parametrize("layer, f", [
    (nn.GELU(), lambda x: 0.5 * x * (1 + np.array([math.erf(v / math.sqrt(2)) for v in x]))),
    (nn.GELU("tanh"), lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi)
                                                       * (x + 0.044715 * x**3)))),
    (nn.ELU(alpha=0.7), lambda x: np.where(x > 0, x, 0.7 * np.expm1(x))),
    (nn.SiLU(), lambda x: x / (1 + np.exp(-x))),
])
def test_activations_closed_forms_and_derivatives(layer, f):
    x = np.linspace(-4, 4, 17) + 0.013  # avoid ELU's kink at 0
    np.testing.assert_allclose(layer(x).data, f(x), rtol=1e-13, atol=1e-15)
    xt = _t(x)
    assert mg.gradcheck(layer, [xt])
    assert mg.gradgradcheck(layer, [xt])
    big = layer(np.array([-1000.0, 1000.0])).data
    assert np.isfinite(big).all()


# ============================================================================ summary


def test_summary_lists_calls_shapes_and_counts_without_changing_state():
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(),
                          nn.Sequential(nn.Linear(8, 3), nn.Tanh()))
    model[0].weight.requires_grad_(False)
    before = model.state_dict()
    s = nn.summary(model, (2, 4))
    assert [(r[1], r[2], r[3], r[4]) for r in s.rows] == [
        ("0", "Linear", (2, 8), 40), ("1", "BatchNorm1d", (2, 8), 16), ("2", "ReLU", (2, 8), 0),
        ("3", "Sequential", (2, 3), 0), ("3.0", "Linear", (2, 3), 27), ("3.1", "Tanh", (2, 3), 0)]
    assert s.total_params == 83 and s.trainable_params == 83 - 32
    assert s.output_shape == (2, 3)
    text = str(s)
    assert "BatchNorm1d" in text and "Total params: 83" in text
    for k, v in model.state_dict().items():  # running stats untouched, mode restored
        np.testing.assert_array_equal(v, before[k])
    assert model.training and "forward" not in model[0].__dict__


# ============================================================================ clipping


def test_clip_grad_norm_closed_form():
    a, b = nn.Parameter(np.zeros(2)), nn.Parameter(np.zeros((2, 2)))
    a.grad, b.grad = np.array([3.0, 0.0]), np.array([[0.0, 4.0], [0.0, 0.0]])
    grad_before = a.grad
    total = nn.utils.clip_grad_norm_([a, b], max_norm=1.0)
    assert total.item() == pytest.approx(5.0)
    np.testing.assert_allclose(a.grad, [3 / (5 + 1e-6), 0])
    np.testing.assert_array_equal(grad_before, [3.0, 0.0])  # a new array, not written in place
    a.grad = np.array([3.0, 0.0])
    b.grad = np.array([[0.0, -4.0], [0.0, 0.0]])
    assert nn.utils.clip_grad_norm_([a, b], 10.0, norm_type=math.inf).item() == 4.0
    np.testing.assert_array_equal(a.grad, [3.0, 0.0])  # under the limit: scaled by 1
    a.grad = np.array([np.nan, 1.0])
    with pytest.raises(RuntimeError, match="non-finite|nan"):
        nn.utils.clip_grad_norm_([a, b], 1.0, error_if_nonfinite=True)
    nn.utils.clip_grad_value_([a, b], 0.5)
    np.testing.assert_array_equal(b.grad, [[0.0, -0.5], [0.0, 0.0]])


# ============================================================================ against PyTorch


def test_norm_embedding_activation_layers_match_torch():
    torch = _torch()
    mg.manual_seed(2)
    cases = [
        (nn.LayerNorm((3, 4)), torch.nn.LayerNorm((3, 4)), (5, 3, 4), None),
        (nn.LayerNorm(4, elementwise_affine=False), torch.nn.LayerNorm(4,
                                                                        elementwise_affine=False),
         (2, 4), None),
        (nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3), (6, 3), None),
        (nn.BatchNorm1d(3, momentum=None), torch.nn.BatchNorm1d(3, momentum=None), (4, 3, 5),
         None),
        (nn.BatchNorm2d(2, momentum=0.3), torch.nn.BatchNorm2d(2, momentum=0.3), (3, 2, 4, 5),
         None),
        (nn.GELU(), torch.nn.GELU(), (4, 7), None),
        (nn.GELU("tanh"), torch.nn.GELU("tanh"), (4, 7), None),
        (nn.ELU(0.5), torch.nn.ELU(0.5), (4, 7), None),
        (nn.SiLU(), torch.nn.SiLU(), (4, 7), None),
        (nn.Embedding(6, 3, padding_idx=2), torch.nn.Embedding(6, 3, padding_idx=2), None,
         np.array([[0, 2, 5], [5, 5, 1]])),
    ]
    for mine, ref in [(a, b) for a, b, _, _ in cases]:
        ref.double()
        sd = {k: torch.tensor(v) for k, v in mine.state_dict().items()}
        ref.load_state_dict(sd)
    for mine, ref, shape, idx in cases:
        for _ in range(2):  # twice: BatchNorm's running stats move
            if idx is None:
                x = RNG.standard_normal(shape) * 3
                xm, xt = _t(x), torch.tensor(x, requires_grad=True)
            else:
                xm, xt = idx, torch.tensor(idx)
            out, out_t = mine(xm), ref(xt)
            np.testing.assert_allclose(out.data, out_t.detach().numpy(), rtol=1e-10,
                                       atol=1e-12, err_msg=repr(mine))
            g = RNG.standard_normal(out.shape)
            out.backward(g)
            out_t.backward(torch.tensor(g))
            if idx is None:
                np.testing.assert_allclose(xm.grad, xt.grad.numpy(), rtol=1e-10, atol=1e-12,
                                           err_msg=repr(mine))
            for (name, p), (_, pt) in zip(mine.named_parameters(), ref.named_parameters()):
                np.testing.assert_allclose(p.grad, pt.grad.numpy(), rtol=1e-10, atol=1e-12,
                                           err_msg=f"{mine!r} {name}")
                p.grad = None
            ref.zero_grad()
        for k, v in ref.state_dict().items():  # running stats, num_batches_tracked
            np.testing.assert_allclose(mine.state_dict()[k], v.numpy(), rtol=1e-12,
                                       err_msg=f"{mine!r} {k}")
        mine.eval(), ref.eval()
        if idx is None:
            x = RNG.standard_normal(shape)
            np.testing.assert_allclose(mine(x).data, ref(torch.tensor(x)).detach().numpy(),
                                       rtol=1e-10, atol=1e-12, err_msg=repr(mine))


def test_clip_grad_matches_torch():
    torch = _torch()
    for norm_type in (2.0, 1.0, 3.0, math.inf):
        grads = [RNG.standard_normal((3, 2)), RNG.standard_normal(4)]
        mine = [nn.Parameter(np.zeros_like(g)) for g in grads]
        ref = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
        for p, q, g in zip(mine, ref, grads):
            p.grad, q.grad = g.copy(), torch.tensor(g)
        total = nn.utils.clip_grad_norm_(mine, 0.7, norm_type=norm_type)
        total_t = torch.nn.utils.clip_grad_norm_(ref, 0.7, norm_type=norm_type)
        assert total.item() == pytest.approx(total_t.item(), rel=1e-12)
        for p, q in zip(mine, ref):
            np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-12)
        nn.utils.clip_grad_value_(mine, 0.1)
        torch.nn.utils.clip_grad_value_(ref, 0.1)
        for p, q in zip(mine, ref):
            np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-12)


def test_containers_state_dicts_load_into_torch():
    torch = _torch()
    mine = nn.ModuleDict({"body": nn.ModuleList([nn.Linear(3, 4), nn.LayerNorm(4)]),
                          "bn": nn.BatchNorm1d(4)})
    ref = torch.nn.ModuleDict({"body": torch.nn.ModuleList([torch.nn.Linear(3, 4),
                                                            torch.nn.LayerNorm(4)]),
                               "bn": torch.nn.BatchNorm1d(4)}).double()
    assert list(mine.state_dict()) == list(ref.state_dict())
    ref.load_state_dict({k: torch.tensor(v) for k, v in mine.state_dict().items()})
    mine.load_state_dict({k: v.numpy() for k, v in ref.state_dict().items()})
