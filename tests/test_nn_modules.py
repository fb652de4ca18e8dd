"""nn.Module, nn.Parameter, layers and activations: registration, state, repr, scopes, math."""

import math
from collections import OrderedDict

import numpy as np
import pytest

import microgradnp as mg
import nn
from nn import functional as F


def _t(a, requires_grad=True):
    return mg.Tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 8))
        self.head = nn.Linear(8, 1)

    def forward(self, x):
        return self.head(self.encoder(x).tanh())


# ============================================================================ Parameter


def test_parameter_is_a_float64_leaf_that_requires_grad():
    p = nn.Parameter([1, 2, 3])
    assert isinstance(p, mg.Tensor) and p.is_leaf and p.requires_grad
    assert p.dtype == np.float64 and p.grad is None


def test_parameter_keeps_float32_and_copies_its_data():
    a = np.ones(3, dtype=np.float32)
    p = nn.Parameter(a)
    assert p.dtype == np.float32
    p.data[0] = 5
    assert a[0] == 1


def test_parameter_has_no_instance_dict():
    with pytest.raises(AttributeError):
        nn.Parameter([1.0]).anything = 1


# ============================================================================ registration


def test_named_parameters_use_dotted_names_in_registration_order():
    names = [n for n, _ in MLP().named_parameters()]
    assert names == ["encoder.0.weight", "encoder.0.bias", "encoder.2.weight",
                     "encoder.2.bias", "head.weight", "head.bias"]


def test_children_modules_and_named_modules():
    m = MLP()
    assert [n for n, _ in m.named_children()] == ["encoder", "head"]
    assert list(m.children()) == [m.encoder, m.head]
    assert [n for n, _ in m.named_modules()] == [
        "", "encoder", "encoder.0", "encoder.1", "encoder.2", "head"]
    assert len(list(m.modules())) == 6


def test_shared_parameters_are_listed_once():
    m = nn.Module()
    m.a = nn.Linear(3, 3)
    m.b = m.a
    assert len(list(m.parameters())) == 2


def test_reassigning_an_attribute_replaces_the_registration():
    m = nn.Module()
    m.w = nn.Parameter(np.zeros(2))
    m.w = nn.Parameter(np.ones(3))
    assert [p.shape for p in m.parameters()] == [(3,)]
    with pytest.raises(TypeError, match="nn.Parameter"):
        m.w = np.zeros(3)
    m.plain = 5  # other attributes are plain attributes
    assert m.plain == 5 and "plain" not in dict(m.named_parameters())
    del m.w
    assert list(m.parameters()) == []


def test_assigning_before_super_init_is_a_clear_error():
    class Bad(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match="super\\(\\).__init__\\(\\)"):
        Bad()


def test_zero_grad_sets_grads_to_none():
    m = MLP()
    m(np.ones((4, 2))).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_train_and_eval_are_recursive():
    m = MLP()
    assert m.eval() is m
    assert not any(x.training for x in m.modules())
    m.train()
    assert all(x.training for x in m.modules())


def test_module_accepts_numpy_arrays_and_tensors():
    m = MLP()
    x = np.random.default_rng(0).normal(size=(5, 2))
    a, b = m(x), m(mg.Tensor(x))
    assert isinstance(a, mg.Tensor) and a.shape == (5, 1)
    np.testing.assert_array_equal(a.data, b.data)


# ============================================================================ state dicts


def test_state_dict_is_a_copy_with_pytorch_names_and_layouts():
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    sd = m.state_dict()
    assert isinstance(sd, OrderedDict)
    assert {k: v.shape for k, v in sd.items()} == {
        "0.weight": (4, 3), "0.bias": (4,), "2.weight": (2, 4), "2.bias": (2,)}
    sd["0.weight"][...] = 7
    assert not np.any(m[0].weight.data == 7)


def test_load_state_dict_round_trip_in_place():
    a, b = MLP(), MLP()
    w = b.head.weight
    data_before = w.data
    loss = b(np.ones((3, 2))).sum()  # saves the old weights for backward
    b.load_state_dict(a.state_dict())
    assert b.head.weight is w and w.data is data_before  # in place
    with pytest.raises(RuntimeError, match="in.place"):  # and seen by the graph that saved w
        loss.backward()
    x = np.ones((3, 2))
    np.testing.assert_array_equal(a(x).data, b(x).data)


def test_load_state_dict_lists_every_problem_and_loads_nothing():
    m = MLP()
    before = m.state_dict()
    sd = m.state_dict()
    sd["head.weight"] = np.zeros((2, 8))  # wrong shape
    del sd["encoder.0.bias"]  # missing
    sd["extra.weight"] = np.zeros(3)  # unexpected
    sd["encoder.0.weight"] = np.zeros((16, 2))  # fine, but must not be loaded either
    with pytest.raises(nn.StateDictError) as info:
        m.load_state_dict(sd)
    msg = str(info.value)
    for key in ("encoder.0.bias", "extra.weight", "head.weight", "(2, 8)", "(1, 8)"):
        assert key in msg
    assert isinstance(info.value, (KeyError, ValueError, RuntimeError))
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_load_state_dict_non_strict_reports_keys_but_still_rejects_shapes():
    m = MLP()
    sd = {"head.bias": np.array([3.0]), "other": np.zeros(1)}
    result = m.load_state_dict(sd, strict=False)
    assert result.unexpected_keys == ["other"] and "head.weight" in result.missing_keys
    assert m.head.bias.data[0] == 3.0
    with pytest.raises(ValueError, match="head.bias"):
        m.load_state_dict({"head.bias": np.zeros(2)}, strict=False)


# ============================================================================ repr and scopes


def test_repr_is_nested_with_parameter_counts():
    m = MLP()
    text = repr(m)
    assert text.startswith("MLP(\n  (encoder): Sequential(\n    (0): Linear(in_features=2, "
                           "out_features=16, bias=True)  # 48\n    (1): ReLU()")
    n = 2 * 16 + 16 + 16 * 8 + 8 + 8 + 1
    assert text.endswith(f")  # {n} parameters") and m.num_parameters() == n
    big = nn.Sequential(nn.Linear(64, 64), nn.Linear(64, 4))
    assert repr(big).endswith("# 4,420 parameters")


def test_call_records_name_scopes_for_graph_pictures():
    m = MLP()
    out = m(np.ones((2, 2)))
    assert out.grad_fn.scope == ("MLP", "head: Linear(8→1)")
    first = m.encoder[0](np.ones((1, 2)))
    assert first.grad_fn.scope == ("0: Linear(2→16)",)
    enc = m.encoder(np.ones((1, 2)))
    assert enc.grad_fn.scope == ("encoder: Sequential", "2: Linear(16→8)")
    assert nn.Sequential(nn.Linear(1, 1))(np.ones((1, 1))).grad_fn.scope[0] == "Sequential"
    assert mg.Tensor(1.0, requires_grad=True).exp().grad_fn.scope == ()  # restored afterwards


def test_scope_is_restored_when_forward_raises():
    with pytest.raises(ValueError):
        nn.Linear(3, 2)(np.ones((1, 4)))
    assert mg.Tensor(1.0, requires_grad=True).exp().grad_fn.scope == ()


# ============================================================================ Linear


def test_linear_shapes_and_init_bounds():
    layer = nn.Linear(50, 30)
    assert layer.weight.shape == (30, 50) and layer.bias.shape == (30,)
    bound = 1 / math.sqrt(50)
    for p in (layer.weight, layer.bias):
        assert np.all(np.abs(p.data) <= bound)
        assert np.abs(p.data).max() > 0.8 * bound  # really uniform over the range
    assert nn.Linear(3, 2, bias=False).bias is None
    assert nn.Linear(3, 2, dtype=np.float32).weight.dtype == np.float32


def test_linear_init_is_reproducible_with_manual_seed():
    mg.manual_seed(123)
    a = nn.Linear(4, 3)
    mg.manual_seed(123)
    b = nn.Linear(4, 3)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)


@pytest.mark.parametrize("shape", [(5, 3), (3,), (2, 4, 3)])
def test_linear_forward_and_gradients(shape):
    layer = nn.Linear(3, 2)
    x = _t(np.random.default_rng(1).normal(size=shape))
    out = layer(x)
    np.testing.assert_allclose(out.data, x.data @ layer.weight.data.T + layer.bias.data)
    assert mg.gradcheck(lambda x, w, b: F.linear(x, w, b), (x, layer.weight, layer.bias))
    assert mg.gradgradcheck(lambda x, w, b: F.linear(x, w, b) ** 2,
                            (x, layer.weight, layer.bias))


def test_linear_without_bias_and_wrong_features():
    layer = nn.Linear(3, 2, bias=False)
    x = _t(np.ones((4, 3)))
    assert mg.gradcheck(lambda x, w: F.linear(x, w), (x, layer.weight))
    with pytest.raises(ValueError, match=r"\(4, 5\).*3 features"):
        layer(np.ones((4, 5)))


def test_linear_matches_torch():
    torch = pytest.importorskip("torch")
    layer = nn.Linear(3, 2)
    ref = torch.nn.Linear(3, 2).double()
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(layer.weight.data))
        ref.bias.copy_(torch.from_numpy(layer.bias.data))
    x = np.random.default_rng(2).normal(size=(4, 3))
    out = layer(x)
    (out * out).sum().backward()
    tout = ref(torch.from_numpy(x))
    (tout * tout).sum().backward()
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-14)
    np.testing.assert_allclose(layer.weight.grad, ref.weight.grad.numpy(), rtol=1e-13)
    np.testing.assert_allclose(layer.bias.grad, ref.bias.grad.numpy(), rtol=1e-13)


# ============================================================================ Sequential


def test_sequential_indexing_slicing_iteration_append():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    seq = nn.Sequential(a, b)
    assert len(seq) == 2 and seq[0] is a and seq[-1] is b and list(seq) == [a, b]
    seq.append(c)
    assert len(seq) == 3 and seq[2] is c
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and list(head) == [a, b]
    assert head(np.ones((1, 2))).shape == (1, 3)
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    with pytest.raises(IndexError, match="out of range"):
        seq[5]


def test_sequential_forward_composes_and_rejects_classes():
    seq = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Identity())
    x = np.ones((4, 2))
    np.testing.assert_allclose(seq(x).data, np.tanh(seq[0](x).data))
    with pytest.raises(TypeError, match="nn.ReLU\\(\\)"):
        nn.Sequential(nn.Linear(1, 1), nn.ReLU)


# ============================================================================ Dropout


def test_dropout_is_inverted_and_off_in_eval():
    mg.manual_seed(0)
    d = nn.Dropout(0.25)
    x = _t(np.ones((200, 100)))
    out = d(x)
    kept = out.data != 0
    assert 0.7 < kept.mean() < 0.8
    np.testing.assert_allclose(out.data[kept], 1 / 0.75)
    out.sum().backward()
    np.testing.assert_allclose(x.grad, kept / 0.75)
    d.eval()
    assert d(x) is x
    assert nn.Dropout(0.0)(x) is x
    assert np.all(nn.Dropout(1.0)(x).data == 0)
    with pytest.raises(ValueError, match="1.5"):
        nn.Dropout(1.5)


def test_dropout_is_reproducible_with_manual_seed():
    x = np.ones((10, 10))
    mg.manual_seed(5)
    a = F.dropout(x, 0.5)
    mg.manual_seed(5)
    b = F.dropout(x, 0.5)
    np.testing.assert_array_equal(a.data, b.data)


# ============================================================================ activations

X = np.array([[-3.0, -0.5, 0.0, 0.5, 3.0], [10.0, -10.0, 1.0, 2.0, -1.0]])


@pytest.mark.parametrize("module, function, expected", [
    (nn.ReLU(), F.relu, np.maximum(X, 0)),
    (nn.Tanh(), F.tanh, np.tanh(X)),
    (nn.Sigmoid(), F.sigmoid, 1 / (1 + np.exp(-X))),
    (nn.LeakyReLU(0.1), lambda x: F.leaky_relu(x, 0.1), np.where(X > 0, X, 0.1 * X)),
    (nn.Softplus(), F.softplus, np.log1p(np.exp(X))),
    (nn.Softmax(dim=1), lambda x: F.softmax(x, dim=1),
     np.exp(X) / np.exp(X).sum(axis=1, keepdims=True)),
    (nn.LogSoftmax(dim=-1), F.log_softmax,
     X - np.log(np.exp(X).sum(axis=1, keepdims=True))),
])
def test_activations_match_closed_forms(module, function, expected):
    np.testing.assert_allclose(module(X).data, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(function(X).data, expected, rtol=1e-12, atol=1e-15)
    x = _t(X + 0.01)  # away from relu's kink
    assert mg.gradcheck(lambda t: module(t), (x,))


def test_activation_reprs():
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
    assert repr(nn.Softmax(dim=1)) == "Softmax(dim=1)"
    assert repr(nn.Dropout(0.5)) == "Dropout(p=0.5)"


def test_deepcopy_gives_an_independent_model():
    import copy

    m = MLP()
    c = copy.deepcopy(m)
    assert isinstance(c.head.weight, nn.Parameter) and c.head.weight is not m.head.weight
    c.head.weight.data[...] = 0
    assert np.any(m.head.weight.data != 0)
    assert [n for n, _ in c.named_parameters()] == [n for n, _ in m.named_parameters()]


def test_package_exports_the_public_api():
    for name in ("Module", "Parameter", "Linear", "Sequential", "Identity", "Dropout", "ReLU",
                 "Tanh", "Sigmoid", "LeakyReLU", "Softmax", "LogSoftmax", "MSELoss", "L1Loss",
                 "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "SGD", "Adam", "AdamW",
                 "StepLR", "ExponentialLR", "CosineAnnealingLR", "LambdaLR", "save", "load",
                 "functional"):
        assert hasattr(nn, name), name
    for name in ("relu", "tanh", "sigmoid", "leaky_relu", "softmax", "log_softmax", "dropout",
                 "mse_loss", "l1_loss", "binary_cross_entropy",
                 "binary_cross_entropy_with_logits", "cross_entropy", "linear"):
        assert callable(getattr(F, name)), name


def test_tied_parameters_are_listed_once_but_saved_under_every_name():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(2, 2)
            self.b = nn.Linear(2, 2)
            self.b.weight = self.a.weight

    m = Tied()
    assert len(list(m.parameters())) == 3
    sd = m.state_dict()
    assert list(sd) == ["a.weight", "a.bias", "b.weight", "b.bias"]  # as PyTorch lists them
    m.load_state_dict(sd)
