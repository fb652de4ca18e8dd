"""NumPy's dispatch protocols on Tensor: np.exp(t), np.sum(t, axis=0), np.concatenate([t, u]) ...
build the engine's graph and return Tensors; information functions (np.shape, np.argmax,
np.allclose ...) answer on the data; anything else is a TypeError naming the function; np.asarray
is the way out. The README's list of supported functions is the code's list."""

import pathlib
import re

import numpy as np
import pytest

import microgradnp as mg
from microgradnp import ops

T = mg.Tensor
README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def leaf(*shape, seed=0):
    return T(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


# ============================================================================ ufuncs


@pytest.mark.parametrize("ufunc", sorted(ops.UFUNCS, key=lambda u: u.__name__),
                         ids=lambda u: u.__name__)
def test_every_supported_ufunc_builds_the_graph(ufunc):
    x = T(np.random.default_rng(0).uniform(0.5, 1.5, (2, 3)), requires_grad=True)
    args = (x, x.T.T * 0.5) if ufunc.nin == 2 else (x,)
    if ufunc is np.matmul:
        args = (x, x.T)
    out = ufunc(*args)
    assert isinstance(out, T) and out.grad_fn is not None
    assert out.grad_fn.fn is ops.UFUNCS[ufunc]
    np.testing.assert_allclose(out.data, ufunc(*[a.data for a in args]), rtol=1e-12)
    assert mg.gradcheck(lambda x: ufunc(*((x, x * 0.5) if ufunc.nin == 2 else (x,)))
                        if ufunc is not np.matmul else ufunc(x, x.T), [x])


def test_np_exp_is_a_tensor_with_a_graph_and_gradient():
    x = leaf(3)
    y = np.exp(x)
    assert isinstance(y, T) and y.grad_fn is not None and y.grad_fn.name == "exp"
    y.sum().backward()
    np.testing.assert_allclose(x.grad, np.exp(x.data), rtol=1e-12)


def test_ndarray_operand_on_the_left_gives_a_tensor():
    x = leaf(2, 3)
    a = np.ones((2, 3))
    for out in (a * x, a + x, a - x, a / (x * x + 1), np.maximum(a, x), a @ x.T):
        assert isinstance(out, T) and out.requires_grad


def test_maximum_with_a_number_splits_ties_evenly():
    x = T(np.array([-1.0, 0.0, 2.0]), requires_grad=True)
    np.maximum(x, 0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.5, 1.0])
    y = T(np.array([-1.0, 0.0, 2.0]), requires_grad=True)
    np.minimum(y, 0.0).sum().backward()
    np.testing.assert_array_equal(y.grad, [1.0, 0.5, 0.0])


def test_comparisons_and_tests_are_plain_boolean_tensors():
    x = leaf(2, 3)
    for out in (np.greater(x, 0), np.isfinite(x), np.isnan(x), np.equal(x, x)):
        assert isinstance(out, T) and out.dtype == bool and not out.requires_grad


def test_unsupported_ufunc_raises_naming_it():
    x = leaf(3)
    with pytest.raises(TypeError, match=r"np\.arcsinh"):
        np.arcsinh(x)
    with pytest.raises(TypeError, match=r"np\.multiply\.reduce"):
        np.multiply.reduce(x)
    with pytest.raises(TypeError, match=r"np\.add\.reduce with out="):
        np.add.reduce(x, out=np.empty(()))
    with pytest.raises(TypeError, match=r"np\.exp with out="):
        np.exp(x, out=np.empty(3))


def test_np_add_reduce_is_sum_with_numpys_default_axis():
    for kw in ({}, {"axis": None}, {"axis": 1, "keepdims": True}, {"axis": (0, 2)}):
        x = leaf(2, 3, 4)
        a = x.data.copy()
        y = np.add.reduce(x, **kw)
        np.testing.assert_allclose(y.data, np.add.reduce(a, **kw))
        assert y.grad_fn is not None and y.grad_fn.name == "sum"
        (y * y).sum().backward()  # d sum(y^2) / dx = 2 y, broadcast back over the summed axes
        want = 2 * np.broadcast_to(np.add.reduce(a, **{**kw, "keepdims": True}), a.shape)
        np.testing.assert_allclose(x.grad, want)


# ============================================================================ functions


def test_np_sum_mean_max_min_with_axis_are_the_engine_ops():
    x = leaf(2, 3)
    for fn, name in ((np.sum, "sum"), (np.max, "max"), (np.amax, "max"), (np.prod, "prod")):
        out = fn(x, axis=0)
        assert isinstance(out, T) and out.grad_fn.name == name
        np.testing.assert_allclose(out.data, fn(x.data, axis=0), rtol=1e-12)
    for fn in (np.mean, np.min, np.amin, np.var, np.std, np.linalg.norm):
        out = fn(x, axis=1, keepdims=True)
        assert isinstance(out, T) and out.requires_grad
        np.testing.assert_allclose(out.data, fn(x.data, axis=1, keepdims=True), rtol=1e-12)
    assert np.sum(x).shape == () and isinstance(np.sum(x), T)


def test_np_joining_and_shape_functions_keep_the_graph():
    x, y = leaf(2, 3), leaf(2, 3, seed=1)
    cases = [
        (np.concatenate([x, y]), np.concatenate([x.data, y.data])),
        (np.concatenate([x, y], axis=None), np.concatenate([x.data, y.data], axis=None)),
        (np.stack([x, y], axis=1), np.stack([x.data, y.data], axis=1)),
        (np.where(x.data > 0, x, y), np.where(x.data > 0, x.data, y.data)),
        (np.where(x > 0, x, 0.0), np.where(x.data > 0, x.data, 0.0)),
        (np.reshape(x, (3, 2)), np.reshape(x.data, (3, 2))),
        (np.reshape(x, -1), np.reshape(x.data, -1)),
        (np.ravel(x), np.ravel(x.data)),
        (np.transpose(x), np.transpose(x.data)),
        (np.transpose(x, (1, 0)), np.transpose(x.data, (1, 0))),
        (np.swapaxes(x, 0, 1), np.swapaxes(x.data, 0, 1)),
        (np.moveaxis(x, 0, -1), np.moveaxis(x.data, 0, -1)),
        (np.squeeze(x[None]), x.data),
        (np.expand_dims(x, 1), np.expand_dims(x.data, 1)),
        (np.broadcast_to(x, (4, 2, 3)), np.broadcast_to(x.data, (4, 2, 3))),
        (np.flip(x, 1), np.flip(x.data, 1)),
        (np.repeat(x, 2, axis=0), np.repeat(x.data, 2, axis=0)),
        (np.tile(x, (2, 2)), np.tile(x.data, (2, 2))),
        (np.pad(x, 1), np.pad(x.data, 1)),
        (np.pad(x, ((0, 1), (2, 0)), constant_values=3.0),
         np.pad(x.data, ((0, 1), (2, 0)), constant_values=3.0)),
        (np.tril(x), np.tril(x.data)),
        (np.triu(x, 1), np.triu(x.data, 1)),
        (np.diagonal(x), np.diagonal(x.data)),
        (np.trace(x), np.trace(x.data)),
        (np.cumsum(x, axis=1), np.cumsum(x.data, axis=1)),
        (np.clip(x, -0.5, 0.5), np.clip(x.data, -0.5, 0.5)),
        (np.clip(x, a_min=-0.5, a_max=None), np.clip(x.data, -0.5, None)),
        (np.matmul(x, y.T), np.matmul(x.data, y.data.T)),
        (np.dot(x, y.T), np.dot(x.data, y.data.T)),
        (np.dot(x.data, y.T), np.dot(x.data, y.data.T)),
        (np.outer(x, y), np.outer(x.data, y.data)),
        (np.einsum("ij,kj->ik", x, y), np.einsum("ij,kj->ik", x.data, y.data)),
        (np.einsum("ij,kj,k->i", x, y, x[:, 0]),
         np.einsum("ij,kj,k->i", x.data, y.data, x.data[:, 0])),
    ]
    for out, expected in cases:
        assert isinstance(out, T) and out.requires_grad
        np.testing.assert_allclose(out.data, expected, rtol=1e-12)
    pieces = np.split(x, 3, axis=1)
    assert all(isinstance(p, T) and p.requires_grad for p in pieces)
    np.testing.assert_array_equal(pieces[1].data, x.data[:, 1:2])


def test_numpy_style_code_differentiates_against_finite_differences():
    def f(w, b):  # a small model written the NumPy way
        x = np.linspace(-1, 1, 12).reshape(4, 3)
        h = np.tanh(np.dot(x, w) + b)
        z = np.concatenate([h, np.maximum(h, 0.1)], axis=1)
        return np.mean(np.sum(np.square(z), axis=1)) + np.std(z) + np.linalg.norm(w)

    w, b = leaf(3, 2), leaf(2, seed=1)
    assert mg.gradcheck(f, [w, b]) and mg.gradgradcheck(f, [w, b])


def test_bad_arguments_name_the_numpy_function():
    x = leaf(2, 3)
    with pytest.raises(TypeError, match=r"np\.sum.*dtype.*np\.sum\(a, axis=None, keepdims"):
        np.sum(x, dtype=np.float32)
    with pytest.raises(TypeError, match=r"np\.mean.*out"):
        np.mean(x, out=np.empty(()))
    with pytest.raises(TypeError, match=r"np\.linalg\.norm.*ord=1"):
        np.linalg.norm(x, ord=1)
    with pytest.raises(ValueError, match="pad: only mode='constant'"):
        np.pad(x, 1, mode="edge")
    with pytest.raises(ValueError, match="np.where: either both or neither"):
        np.where(x > 0, x)


@pytest.mark.parametrize("call, name", [
    (lambda x: np.linalg.inv(x), "np.linalg.inv"),
    (lambda x: np.sort(x), "np.sort"),
    (lambda x: np.cumprod(x), "np.cumprod"),
    (lambda x: np.round(x), "np.round"),
    (lambda x: np.median(x), "np.median"),
    (lambda x: np.copy(x), "np.copy"),
    (lambda x: np.linalg.svd(x), "np.linalg.svd"),
    (lambda x: np.fft.fft(x), "np.fft.fft"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_undifferentiated_function_raises_type_error_naming_it(call, name):
    x = leaf(3, 3)
    with pytest.raises(TypeError) as info:
        call(x)
    msg = str(info.value)
    assert msg.startswith(name + " on a Tensor"), msg
    assert "np.asarray" in msg  # says how to leave the graph on purpose


# ============================================================================ information


def test_information_functions_answer_on_the_data():
    x = T(np.array([[1.0, 5.0, 3.0], [0.0, 2.0, 0.0]]), requires_grad=True)
    assert np.shape(x) == (2, 3) and np.ndim(x) == 2 and np.size(x) == 6
    assert np.argmax(x) == 1 and np.argmin(x, axis=1).tolist() == [0, 0]
    assert np.count_nonzero(x) == 4
    assert np.all(x >= 0) and np.any(x > 4) and not np.all(x > 0)
    assert np.allclose(x, x.data) and np.array_equal(x, x.data)
    assert np.isclose(x, x * 1.0).all()
    assert np.argsort(x, axis=1).tolist() == [[0, 2, 1], [0, 2, 1]]
    rows, cols = np.nonzero(x)
    assert rows.tolist() == [0, 0, 0, 1]
    assert np.where(x > 2)[1].tolist() == [1, 2]
    assert np.zeros_like(x).shape == (2, 3) and type(np.zeros_like(x)) is np.ndarray
    assert np.result_type(x, np.float32) == np.float64


def test_asarray_is_the_explicit_way_out():
    x = leaf(2, 3)
    a = np.asarray(x)
    assert type(a) is np.ndarray and a is x.data
    assert np.array(x).shape == (2, 3)
    assert np.asarray(x, dtype=np.float32).dtype == np.float32
    assert type(np.sort(np.asarray(x))) is np.ndarray


def test_foreign_array_types_are_left_to_numpy():
    class Other:
        def __array_function__(self, func, types, args, kwargs):
            return "other"

    assert ops.array_function(np.sum, (T, Other), (leaf(2), Other()), {}) is NotImplemented


# ============================================================================ the README's list


def _readme_list(title):
    text = README.read_text(encoding="utf-8")
    m = re.search(rf"<!-- {title} -->\n(.*?)\n<!-- /{title} -->", text, re.S)
    assert m, f"README.md has no <!-- {title} --> ... <!-- /{title} --> block"
    return re.findall(r"`(np\.[\w.]+)`", m.group(1))


def test_readme_lists_exactly_the_supported_numpy_functions():
    differentiable, data = ops.supported_numpy_functions()
    assert _readme_list("numpy-differentiable") == differentiable, (
        "README.md's list of NumPy functions is stale; paste:\n" + readme_block())
    assert _readme_list("numpy-on-data") == data, (
        "README.md's list of NumPy functions is stale; paste:\n" + readme_block())


def readme_block():
    differentiable, data = ops.supported_numpy_functions()
    return (
        "<!-- numpy-differentiable -->\n" + " ".join(f"`{n}`" for n in differentiable)
        + "\n<!-- /numpy-differentiable -->\n\n"
        + "<!-- numpy-on-data -->\n" + " ".join(f"`{n}`" for n in data)
        + "\n<!-- /numpy-on-data -->"
    )


if __name__ == "__main__":  # python tests/test_numpy_protocol.py prints the README block
    print(readme_block())
