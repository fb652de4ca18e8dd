"""mg.jacobian, hessian, vjp, jvp, hvp: closed forms, PyTorch's return conventions, and the same
numbers as torch.autograd.functional (those tests skip without torch)."""

import numpy as np
import pytest

import microgradnp as mg

RNG = np.random.default_rng(0)
A = RNG.standard_normal((2, 3))  # a linear map R^3 -> R^2
Q = RNG.standard_normal((3, 3))  # a quadratic form x Q x, Hessian Q + Q^T
X = RNG.standard_normal(3)


def value(t):
    return t.data if isinstance(t, mg.Tensor) else np.asarray(t)


def close(actual, expected):
    np.testing.assert_allclose(value(actual), expected, rtol=1e-12, atol=1e-12)


# ============================================================================ closed forms


def linear(x):
    return mg.Tensor(A) @ x


def quadratic(x):
    return x @ mg.Tensor(Q) @ x


def test_linear_map():
    close(mg.jacobian(linear, X), A)
    u, v = RNG.standard_normal(2), RNG.standard_normal(3)
    out, uJ = mg.vjp(linear, X, u)
    close(out, A @ X)
    close(uJ, u @ A)
    out, Jv = mg.jvp(linear, X, v)
    close(out, A @ X)
    close(Jv, A @ v)
    close(mg.hessian(lambda x: linear(x).sum(), X), np.zeros((3, 3)))


def test_quadratic_form():
    H = Q + Q.T
    close(mg.jacobian(quadratic, X), H @ X)
    close(mg.vjp(quadratic, X)[1], H @ X)  # one-element output: v defaults to 1
    close(mg.hessian(quadratic, X), H)
    v = RNG.standard_normal(3)
    out, Hv = mg.hvp(quadratic, X, v)
    close(out, X @ Q @ X)
    close(Hv, H @ v)


def test_elementwise_functions_have_diagonal_jacobians():
    x, v = RNG.standard_normal((2, 2)), RNG.standard_normal((2, 2))
    d = 1 - np.tanh(x) ** 2
    J = mg.jacobian(lambda x: x.tanh(), x)
    assert J.shape == (2, 2, 2, 2)  # output.shape + input.shape
    close(J.reshape(4, 4), np.diag(d.ravel()))
    close(mg.jvp(lambda x: x.tanh(), x, v)[1], d * v)
    close(mg.vjp(lambda x: x.tanh(), x, v)[1], d * v)
    close(mg.hessian(lambda x: x.exp().sum(), x).reshape(4, 4), np.diag(np.exp(x).ravel()))
    close(mg.hvp(lambda x: x.exp().sum(), x, v)[1], np.exp(x) * v)


def test_tuples_of_inputs_and_outputs():
    x, y = RNG.standard_normal(3), RNG.standard_normal(3)

    def f(x, y):
        return x * y, x + y

    J = mg.jacobian(f, (x, y))
    assert isinstance(J, tuple) and all(isinstance(row, tuple) and len(row) == 2 for row in J)
    close(J[0][0], np.diag(y))
    close(J[0][1], np.diag(x))
    close(J[1][0], np.eye(3))
    close(J[1][1], np.eye(3))
    u, v = RNG.standard_normal(3), RNG.standard_normal(3)
    (prod, total), (du, dv) = mg.vjp(f, (x, y), (u, v))
    close(prod, x * y)
    close(du, u * y + v)
    close(dv, u * x + v)
    _, (a, b) = mg.jvp(f, (x, y), (u, v))
    close(a, u * y + x * v)
    close(b, u + v)
    H = mg.hessian(lambda x, y: (x * x * y).sum(), (x, y))
    close(H[0][0], np.diag(2 * y))
    close(H[0][1], np.diag(2 * x))
    close(H[1][0], np.diag(2 * x))
    close(H[1][1], np.zeros((3, 3)))
    _, (hx, hy) = mg.hvp(lambda x, y: (x * x * y).sum(), (x, y), (u, v))
    close(hx, 2 * y * u + 2 * x * v)
    close(hy, 2 * x * u)


def test_matrix_input():
    W, x = RNG.standard_normal((2, 3)), RNG.standard_normal(3)
    J = mg.jacobian(lambda W: W @ mg.Tensor(x), W)
    assert J.shape == (2, 2, 3)  # J[i, k, l] = d (W x)_i / d W_kl = [i == k] x_l
    close(J, np.einsum("ik,l->ikl", np.eye(2), x))


# ============================================================================ conventions


def test_result_structure_follows_the_arguments():
    x = mg.tensor(X)
    assert isinstance(mg.jacobian(lambda x: x * 2, x), mg.Tensor)
    J = mg.jacobian(lambda x: x * 2, (x,))
    assert isinstance(J, tuple) and len(J) == 1 and isinstance(J[0], mg.Tensor)
    J = mg.jacobian(lambda x: (x * 2, x.sum()), x)
    assert isinstance(J, tuple) and [j.shape for j in J] == [(3, 3), (3,)]
    J = mg.jacobian(lambda x: (x * 2,), (x,))
    assert isinstance(J[0], tuple) and J[0][0].shape == (3, 3)
    out, g = mg.vjp(lambda x: (x.sum(),), (x,))  # v may be None: one one-element output
    assert isinstance(out, tuple) and isinstance(g, tuple)
    H = mg.hessian(lambda x: x.sum(), (x,))
    assert isinstance(H, tuple) and isinstance(H[0], tuple) and H[0][0].shape == (3, 3)


def test_numpy_arrays_lists_and_integers_are_inputs_too():
    close(mg.jacobian(linear, [1.0, 2.0, 3.0]), A)
    close(mg.jacobian(lambda x: x * x, np.arange(3)), np.diag([0.0, 2.0, 4.0]))
    assert mg.jacobian(lambda x: x * x, np.float32([1, 2])).dtype == np.float32
    close(mg.jvp(linear, X, [1.0, 0.0, 0.0])[1], A[:, 0])
    close(mg.vjp(quadratic, X, 2.0)[1], 2 * (Q + Q.T) @ X)


def test_without_create_graph_results_are_detached_and_inputs_untouched():
    x = mg.tensor(X, requires_grad=True)
    for result in (mg.jacobian(quadratic, x), mg.hessian(quadratic, x),
                   *mg.vjp(quadratic, x), *mg.jvp(quadratic, x, X), *mg.hvp(quadratic, x, X)):
        assert not result.requires_grad and result.grad_fn is None
    assert x.grad is None and x.is_leaf
    np.testing.assert_array_equal(x.data, X)


def test_works_under_no_grad():
    with mg.no_grad():
        close(mg.jacobian(linear, X), A)
        close(mg.hvp(quadratic, X, X)[1], (Q + Q.T) @ X)
        assert not mg.is_grad_enabled()


def test_create_graph_results_are_differentiable_with_respect_to_the_inputs():
    x = mg.tensor(X, requires_grad=True)
    J = mg.jacobian(lambda x: x**3, x, create_graph=True)  # diag(3 x^2)
    close(mg.grad(J.sum(), x)[0], 6 * X)
    _, Hv = mg.hvp(lambda x: (x**4).sum(), x, np.ones(3), create_graph=True)  # 12 x^2
    close(mg.grad(Hv.sum(), x)[0], 24 * X)
    _, Jv = mg.jvp(lambda x: x.exp(), x, np.ones(3), create_graph=True)  # exp(x)
    close(mg.grad(Jv.sum(), x)[0], np.exp(X))
    H = mg.hessian(lambda x: (x**3).sum(), x, create_graph=True)  # diag(6 x)
    close(mg.grad(H.sum(), x)[0], np.full(3, 6.0))
    assert x.grad is None


def test_one_tensor_in_two_positions_gets_a_derivative_per_position():
    x = mg.tensor(X, requires_grad=True)
    for create_graph in (False, True):
        J = mg.jacobian(lambda a, b: a * b * b, (x, x), create_graph=create_graph)
        close(J[0], np.diag(X * X))
        close(J[1], np.diag(2 * X * X))
        H = mg.hessian(lambda a, b: (a * b).sum(), (x, x), create_graph=create_graph)
        close(H[0][0], np.zeros((3, 3)))
        close(H[0][1], np.eye(3))


def test_unused_inputs_and_constant_outputs_give_zeros_or_strict_errors():
    x, y = mg.tensor(X), mg.tensor(X[:2])

    def f(x, y):
        return x * 2, mg.tensor([1.0])

    J = mg.jacobian(f, (x, y))
    close(J[0][1], np.zeros((3, 2)))
    close(J[1][0], np.zeros((1, 3)))
    _, (Jv, const) = mg.jvp(f, (x, y), (np.ones(3), np.ones(2)))
    close(Jv, np.full(3, 2.0))
    close(const, [0.0])
    close(mg.vjp(lambda x, y: x.sum(), (x, y))[1][1], np.zeros(2))
    close(mg.hessian(lambda x: x.sum(), x), np.zeros((3, 3)))
    with pytest.raises(RuntimeError, match="does not depend on input 1"):
        mg.jacobian(f, (x, y), strict=True)
    with pytest.raises(RuntimeError, match="output 1 of func does not depend on the inputs"):
        mg.jvp(lambda x: (x * 2, mg.tensor(1.0)), x, np.ones(3), strict=True)
    with pytest.raises(RuntimeError, match="does not depend on input 1"):
        mg.vjp(lambda x, y: x.sum(), (x, y), strict=True)
    with pytest.raises(RuntimeError, match="gradient of func is constant"):
        mg.hessian(lambda x: x.sum(), x, strict=True)


def test_identity_and_empty_functions():
    v = RNG.standard_normal(3)
    close(mg.jvp(lambda x: x, X, v)[1], v)
    close(mg.vjp(lambda x: x, X, v)[1], v)
    close(mg.jacobian(lambda x: x, X), np.eye(3))
    assert mg.jacobian(lambda x: x[:0], X).shape == (0, 3)


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match=r"v can be None only .* got shapes \[\(2,\)\]"):
        mg.vjp(linear, X)
    with pytest.raises(ValueError, match=r"jvp: v can be None only when the input"):
        mg.jvp(linear, X)
    with pytest.raises(ValueError, match=r"v\[0\] has shape \(3,\) but output 0 has shape \(2,\)"):
        mg.vjp(linear, X, np.ones(3))
    with pytest.raises(ValueError, match="v has 1 entries for 2 inputs"):
        mg.jvp(lambda x, y: x * y, (X, X), (np.ones(3),))
    with pytest.raises(ValueError, match=r"hessian: func must return a single Tensor with one "
                                         r"element, got shape \(2,\)"):
        mg.hessian(linear, X)
    with pytest.raises(ValueError, match="hvp: func must return a single Tensor"):
        mg.hvp(lambda x: (x.sum(), x.sum()), X, X)
    with pytest.raises(TypeError, match="func must return a Tensor or a tuple of Tensors, got "
                                        "ndarray"):
        mg.jacobian(lambda x: x.data * 2, X)
    with pytest.raises(ValueError, match="reverse-mode"):
        mg.jacobian(linear, X, strategy="forward-mode")


# ============================================================================ against PyTorch


def torch_functions():
    """name -> (function written with operators and methods both libraries have, input shapes,
    whether it returns one element (so hessian and hvp apply))."""
    return {
        "tanh_times_x": (lambda x: x.tanh() * x, [(3,)], False),
        "matrix_vector": (lambda W, x: (W @ x).sigmoid(), [(2, 3), (3,)], False),
        "two_outputs": (lambda x, y: (x * y, (x + y).exp()), [(2, 2), (2, 1)], False),
        "scalar": (lambda x: (x.exp() * x).sum(), [(2, 3)], True),
        "scalar_of_two": (lambda x, y: ((x @ y).tanh() * (x @ y)).sum(), [(2, 3), (3,)], True),
        "cube_sum": (lambda x: (x * x * x).sum(), [()], True),
    }


def as_numpy(result):
    """A nested tuple of arrays with the same structure, from either library."""
    if isinstance(result, tuple):
        return tuple(as_numpy(r) for r in result)
    return result.detach().numpy() if hasattr(result, "detach") else np.asarray(result)


def assert_same(ours, theirs):
    assert isinstance(ours, tuple) == isinstance(theirs, tuple), (ours, theirs)
    if isinstance(ours, tuple):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_same(a, b)
    else:
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def both(transform, name, tuple_inputs, create_graph=False):
    """Run `transform` on the named function in both libraries: (ours, torch's), as arrays."""
    torch = pytest.importorskip("torch")
    import torch.autograd.functional as F

    fn, shapes, scalar = torch_functions()[name]
    if transform in ("hessian", "hvp") and not scalar:
        pytest.skip("hessian and hvp need a one-element output")
    if not tuple_inputs and len(shapes) > 1:
        pytest.skip("a single input needs a one-input function")
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal(s) for s in shapes]
    with torch.no_grad():
        outs = fn(*[torch.tensor(x) for x in xs])
    single_v = not isinstance(outs, tuple) if transform == "vjp" else not tuple_inputs
    outs = outs if isinstance(outs, tuple) else (outs,)
    v_shapes = [o.shape for o in outs] if transform == "vjp" else [x.shape for x in xs]
    vs = [rng.standard_normal(tuple(s)) for s in v_shapes]

    def pack(arrays, make, single):
        tensors = tuple(make(a) for a in arrays)
        return tensors[0] if single else tensors

    results = []
    for make, module in ((mg.tensor, mg), (torch.tensor, F)):
        inputs = pack(xs, make, not tuple_inputs)
        v = pack(vs, make, single_v)
        if transform in ("jacobian", "hessian"):
            result = getattr(module, transform)(fn, inputs, create_graph=create_graph)
        else:
            result = getattr(module, transform)(fn, inputs, v, create_graph=create_graph)
        results.append(as_numpy(result))
    return results


@pytest.mark.parametrize("tuple_inputs", [False, True])
@pytest.mark.parametrize("name", sorted(torch_functions()))
@pytest.mark.parametrize("transform", ["jacobian", "hessian", "vjp", "jvp", "hvp"])
def test_same_as_torch_autograd_functional(transform, name, tuple_inputs):
    ours, theirs = both(transform, name, tuple_inputs)
    assert_same(ours, theirs)


@pytest.mark.parametrize("transform", ["jacobian", "hessian", "vjp", "jvp", "hvp"])
def test_create_graph_results_match_torch_and_differentiate_alike(transform):
    """With create_graph=True the results and their gradients w.r.t. the inputs agree."""
    torch = pytest.importorskip("torch")
    import torch.autograd.functional as F

    fn = lambda x: (x.tanh() * x * x).sum()  # noqa: E731
    x = np.random.default_rng(2).standard_normal(3)
    v = np.random.default_rng(3).standard_normal(() if transform == "vjp" else 3)
    grads = []
    for make, module, grad in ((mg.tensor, mg, mg.grad), (torch.tensor, F, torch.autograd.grad)):
        t = make(x, requires_grad=True)
        args = (fn, t) if transform in ("jacobian", "hessian") else (fn, t, make(v))
        result = getattr(module, transform)(*args, create_graph=True)
        result = result if transform in ("jacobian", "hessian") else result[1]
        grads.append((as_numpy(result), as_numpy(grad((result * result).sum(), t)[0])))
    assert_same(grads[0], grads[1])
