"""Functional transforms: jacobian, hessian, vjp, jvp and hvp of a function, built on mg.grad.

The conventions are `torch.autograd.functional`'s. `inputs` is a Tensor or a tuple of Tensors
(NumPy arrays, lists and numbers are accepted and become Tensors) and `func(*inputs)` returns a
Tensor or a tuple of Tensors. A result mirrors that structure: a Tensor where the user gave a
Tensor, a tuple where they gave a tuple. With `create_graph=False` (the default) the results are
detached and the caller's tensors and their `.grad` are untouched; with `create_graph=True` the
results can be differentiated again with respect to the caller's tensors that require grad. An
input that an output does not depend on gets a zero gradient (`strict=True`: a RuntimeError).

    vjp:  v . J     one reverse pass             (v shaped like the outputs)
    jvp:  J . v     two reverse passes: u -> u . J is linear in u, and its vjp with v is J . v
    hvp:  H . v     the gradient of (grad f) . v (H is symmetric)
    jacobian, hessian: one reverse pass per output element, the rows stacked
"""

import numpy as np

from ._state import enable_grad
from .engine import grad
from .ops import stack
from .tensor import Tensor


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(*inputs), v . J): the vector-Jacobian product of `func` at `inputs`.

    v: one array per output of `func`, of that output's shape (None when `func` returns a single
    one-element Tensor: v = 1). The product has one entry per input, of that input's shape.
    """
    inputs_is_tuple, inputs = _inputs(inputs, create_graph)
    with enable_grad():
        outputs_is_tuple, outputs = _outputs(func(*inputs), "vjp")
        v = _vectors(v, outputs, outputs_is_tuple, "vjp", "output")
        product = _grad(outputs, inputs, v, create_graph, strict and _INDEPENDENT_INPUT)
    return (_pack(_result(outputs, create_graph), outputs_is_tuple),
            _pack(_result(product, create_graph), inputs_is_tuple))


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(*inputs), J . v): the Jacobian-vector product of `func` at `inputs`.

    v: one array per input, of that input's shape (None when `inputs` is a single one-element
    Tensor). The product has one entry per output, of that output's shape. Computed by the
    double-vjp trick: u . J is linear in a dummy u (shaped like the outputs), so its
    vector-Jacobian product with respect to u, taken with v, is J . v.
    """
    inputs_is_tuple, inputs = _inputs(inputs, create_graph)
    with enable_grad():
        outputs_is_tuple, outputs = _outputs(func(*inputs), "jvp")
        v = _vectors(v, inputs, inputs_is_tuple, "jvp", "input")
        live = [o for o in outputs if o.requires_grad]  # the others have J = 0
        if strict and len(live) < len(outputs):
            raise RuntimeError(_INDEPENDENT_OUTPUT.format(
                next(k for k, o in enumerate(outputs) if not o.requires_grad)))
        u = [Tensor(np.zeros_like(o.data), requires_grad=True) for o in live]
        uJ = _grad(live, inputs, u, True, strict and _INDEPENDENT_INPUT)
        Jv = iter(_grad(uJ, u, v, create_graph, strict and _INDEPENDENT_OUTPUT))
        product = [next(Jv) if o.requires_grad else _zeros(o) for o in outputs]
    return (_pack(_result(outputs, create_graph), outputs_is_tuple),
            _pack(_result(product, create_graph), outputs_is_tuple))


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(*inputs), H . v): the Hessian-vector product of a scalar `func` at `inputs`.

    `func` returns a single one-element Tensor; v: one array per input, of that input's shape.
    The product is shaped like the inputs: H . v = grad((grad f) . v), as H is symmetric.
    """
    inputs_is_tuple, inputs = _inputs(inputs, create_graph)
    with enable_grad():
        out = _scalar_output(func(*inputs), "hvp")
        v = _vectors(v, inputs, inputs_is_tuple, "hvp", "input")
        gradient = _grad((out,), inputs, (_ones(out),), True, strict and _INDEPENDENT_INPUT)
        product = _grad(gradient, inputs, v, create_graph, strict and _INDEPENDENT_GRAD)
    return (_result((out,), create_graph)[0],
            _pack(_result(product, create_graph), inputs_is_tuple))


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """The Jacobian of `func` at `inputs`: J[i][j] = d output_i / d input_j.

    J[i][j] has shape output_i.shape + input_j.shape. A single Tensor input and a single Tensor
    output give one Tensor; a tuple on one side gives a tuple over that side; tuples on both give
    a tuple (over outputs) of tuples (over inputs). One reverse pass per output element;
    `vectorize` is accepted for PyTorch compatibility and changes nothing.
    """
    if strategy != "reverse-mode":
        raise ValueError(f"jacobian: only strategy='reverse-mode' is supported, got {strategy!r}")
    inputs_is_tuple, inputs = _inputs(inputs, create_graph)
    with enable_grad():
        outputs_is_tuple, outputs = _outputs(func(*inputs), "jacobian")
        J = _jacobian(outputs, inputs, create_graph, strict and _INDEPENDENT_INPUT)
    return _unpack(J, outputs_is_tuple, inputs_is_tuple)


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a scalar `func` at `inputs`: H[i][j] = d^2 f / d input_i d input_j.

    `func` returns a single one-element Tensor. H[i][j] has shape input_i.shape +
    input_j.shape; a single Tensor input gives one Tensor, a tuple a tuple of tuples. It is the
    Jacobian of the gradient (built with create_graph=True); `vectorize` changes nothing.
    """
    if outer_jacobian_strategy != "reverse-mode":
        raise ValueError(f"hessian: only outer_jacobian_strategy='reverse-mode' is supported, "
                         f"got {outer_jacobian_strategy!r}")
    inputs_is_tuple, inputs = _inputs(inputs, create_graph)
    with enable_grad():
        out = _scalar_output(func(*inputs), "hessian")
        gradient = _grad((out,), inputs, (_ones(out),), True, strict and _INDEPENDENT_INPUT)
        H = _jacobian(gradient, inputs, create_graph, strict and _INDEPENDENT_GRAD)
    return _unpack(H, inputs_is_tuple, inputs_is_tuple)


# ============================================================================ the pieces

_INDEPENDENT_INPUT = "the output of func does not depend on input {} (strict=True)"
_INDEPENDENT_OUTPUT = "output {} of func does not depend on the inputs (strict=True)"
_INDEPENDENT_GRAD = "the gradient of func is constant with respect to input {} (strict=True)"


def _grad(outputs, wrt, grad_outputs, create_graph, strict_error):
    """mg.grad(outputs, wrt, grad_outputs) as a tuple with one Tensor per `wrt`; zeros for a
    tensor of `wrt` no output depends on (or `strict_error`, formatted with its position, is
    raised). Outputs that do not require grad contribute nothing."""
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    grads = [None] * len(wrt)
    if pairs and wrt:
        grads = grad([o for o, _ in pairs], wrt, grad_outputs=[g for _, g in pairs],
                     retain_graph=True, create_graph=create_graph, allow_unused=True)
    for j, g in enumerate(grads):
        if g is None and strict_error:
            raise RuntimeError(strict_error.format(j))
    return tuple(_zeros(x) if g is None else g for x, g in zip(wrt, grads))


def _jacobian(outputs, inputs, create_graph, strict_error):
    """J[i][j] = d outputs[i] / d inputs[j], shape outputs[i].shape + inputs[j].shape: row k of
    J[i][.] is the vjp with the k-th one-hot vector of output i."""
    J = []
    for out in outputs:
        rows = [[] for _ in inputs]  # rows[j]: the gradients w.r.t. input j, one per element
        for index in np.ndindex(out.shape):
            one_hot = np.zeros(out.shape, dtype=out.dtype)
            one_hot[index] = 1
            for j, g in enumerate(_grad((out,), inputs, (Tensor(one_hot),), create_graph,
                                        strict_error)):
                rows[j].append(g)
        J.append(tuple(_stacked(r, out.shape + x.shape, x) for r, x in zip(rows, inputs)))
    return tuple(J)


def _stacked(rows, shape, x):
    if not rows:  # an empty output: no rows to stack
        return Tensor(np.zeros(shape, dtype=x.dtype))
    return stack(rows).reshape(shape)


def _inputs(inputs, create_graph):
    """(whether `inputs` is a tuple, one Tensor per input to differentiate with respect to).

    Each is a fresh leaf holding a copy of the input's data (a leaf of its own even when one
    array is passed twice), except under `create_graph` for a caller's tensor that requires
    grad: then a new node on top of it (x * 1), so the results stay differentiable with respect
    to it and a tensor passed twice still gets a gradient per position."""
    is_tuple = isinstance(inputs, tuple)  # a list is one input (an array), as in NumPy
    tensors = []
    for x in inputs if is_tuple else (inputs,):
        if not isinstance(x, Tensor):
            x = np.asarray(x)
            x = Tensor(x if x.dtype.kind == "f" else x.astype(np.float64))
        if create_graph and x.requires_grad:
            tensors.append(x * 1)
        else:
            tensors.append(Tensor(x.data.copy(), requires_grad=True))
    return is_tuple, tuple(tensors)


def _outputs(result, who):
    """(whether func returned a tuple, its outputs as a tuple of Tensors)."""
    is_tuple = isinstance(result, (tuple, list))
    outputs = tuple(result) if is_tuple else (result,)
    if not all(isinstance(o, Tensor) for o in outputs):
        raise TypeError(f"{who}: func must return a Tensor or a tuple of Tensors, got "
                        f"{type(result).__name__}")
    return is_tuple, outputs


def _scalar_output(result, who):
    """The one-element Tensor func returned."""
    if not isinstance(result, Tensor) or result.size != 1:
        got = f"shape {result.shape}" if isinstance(result, Tensor) else type(result).__name__
        raise ValueError(f"{who}: func must return a single Tensor with one element, got {got}")
    return result


def _vectors(v, refs, refs_is_tuple, who, what):
    """`v` as one Tensor per tensor of `refs`, each of its shape; None means 1 for a single
    one-element `refs`. For a single ref, a list of numbers is one vector."""
    if v is None:
        if len(refs) == 1 and refs[0].size == 1:
            return (_ones(refs[0]),)
        raise ValueError(f"{who}: v can be None only when the {what} is a single Tensor with one "
                         f"element; got shapes {[r.shape for r in refs]}")
    if not isinstance(v, (tuple, list)) or (not refs_is_tuple and not all(
            isinstance(a, (Tensor, np.ndarray)) for a in v)):
        v = (v,)
    if len(v) != len(refs):
        raise ValueError(f"{who}: v has {len(v)} entries for {len(refs)} {what}s")
    vectors = []
    for k, (a, ref) in enumerate(zip(v, refs)):
        if not isinstance(a, Tensor):
            a = Tensor(np.asarray(a, dtype=ref.dtype))
        if a.shape != ref.shape:
            raise ValueError(f"{who}: v[{k}] has shape {a.shape} but {what} {k} has shape "
                             f"{ref.shape}")
        vectors.append(a)
    return tuple(vectors)


def _zeros(x):
    return Tensor(np.zeros(x.shape, dtype=x.dtype))


def _ones(x):
    return Tensor(np.ones(x.shape, dtype=x.dtype))


def _result(tensors, create_graph):
    return tuple(t if create_graph else t.detach() for t in tensors)


def _pack(tensors, is_tuple):
    return tuple(tensors) if is_tuple else tensors[0]


def _unpack(J, outputs_is_tuple, inputs_is_tuple):
    """A tuple of tuples J[i][j], with the sides the user did not give as tuples unwrapped."""
    rows = J if outputs_is_tuple else J[:1]
    rows = tuple(r if inputs_is_tuple else r[0] for r in rows)
    return rows if outputs_is_tuple else rows[0]
