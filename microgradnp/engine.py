"""Backpropagation: an iterative topological sort, then each node's vector-Jacobian product.

No recursion anywhere, so a chain of a million ops backpropagates. Gradients are Tensors;
with `create_graph=True` the whole pass runs with grad mode on and is itself recorded.
"""

import numpy as np

from ._state import set_grad_enabled
from .tensor import Tensor


def topological_order(roots):
    """Tensors reachable from `roots` that require grad, inputs before outputs (iterative DFS).

    A tensor goes into `order` once all its inputs are in it (post-order); a leaf has no inputs,
    so it goes in as soon as it is first seen."""
    order, seen = [], set()
    stack = [(r, False) for r in roots]
    while stack:
        t, expanded = stack.pop()
        if expanded:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        if t.grad_fn is None:
            order.append(t)
            continue
        stack.append((t, True))
        for p in t.grad_fn.inputs:
            if isinstance(p, Tensor) and p.requires_grad and id(p) not in seen:
                if p.grad_fn is None:
                    seen.add(id(p))
                    order.append(p)
                else:
                    stack.append((p, False))
    return order


def _on_paths_to(order, targets):
    """The tensors of `order` (inputs first) from which some target id in `targets` is reached."""
    keep = set()
    for t in order:
        if id(t) in targets or (t.grad_fn is not None and any(
                id(x) in keep for x in t.grad_fn.inputs)):
            keep.add(id(t))
    return [t for t in order if id(t) in keep]


def unbroadcast(grad, shape):
    """The adjoint of broadcasting is summation: sum `grad` down to `shape`."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra < 0 or any(n != 1 and n != g for n, g in zip(shape, grad.shape[extra:])):
        raise RuntimeError(f"gradient of shape {grad.shape} cannot be reduced to shape {shape}")
    kept = tuple(i + extra for i, n in enumerate(shape) if n == 1 and grad.shape[i + extra] != 1)
    if not kept:  # only leading axes were added (a bias broadcast over a batch): one sum
        return grad.sum(axis=tuple(range(extra)))
    return grad.sum(axis=tuple(range(extra)) + kept, keepdims=True).reshape(shape)


def _as_tensor(g):
    return g if isinstance(g, Tensor) else Tensor._wrap(np.asarray(g))


def _root_grads(outputs, grad_outputs):
    grads = []
    for out, g in zip(outputs, grad_outputs):
        if not out.requires_grad:
            raise RuntimeError(
                f"backward() on a tensor of shape {out.shape} that does not require grad: no "
                f"input had requires_grad=True, or it was computed under no_grad()"
            )
        if g is None:
            if out.data.size != 1:
                raise RuntimeError(
                    f"backward() on a tensor of shape {out.shape} needs a gradient argument: "
                    f"only a scalar output has an implicit gradient of 1 (try out.sum())"
                )
            g = Tensor._wrap(np.ones_like(out.data))
        else:
            g = _as_tensor(g)
            if g.shape != out.shape:
                raise ValueError(
                    f"backward(): gradient of shape {g.shape} does not match the output's shape "
                    f"{out.shape}"
                )
        grads.append(g)
    return grads


def _run(outputs, grad_outputs, retain_graph, create_graph, capture=None):
    """Push gradients from `outputs` to the graph. With `capture` (a dict id -> None) return the
    gradients of those tensors instead of accumulating into leaves' `.grad`."""
    grads = {}
    for out, g in zip(outputs, _root_grads(outputs, grad_outputs)):
        grads[id(out)] = grads[id(out)] + g if id(out) in grads else g
    order = topological_order(outputs)
    if capture is not None:  # mg.grad: only the part of the graph between outputs and inputs
        order = _on_paths_to(order, capture)
        keep = {id(t) for t in order}
    for t in order:  # every error before any .grad changes: nothing is left half-updated
        if t.grad_fn is not None:
            t.grad_fn.check()
    # ids of arrays that must not become a .grad as they are: the caller's gradient arguments,
    # then each array this pass puts into a .grad
    stored = {id(g.data) for g in grads.values()}
    with set_grad_enabled(create_graph):
        for t in reversed(order):
            g = grads.pop(id(t), None)
            if g is None:
                continue
            node = t.grad_fn
            if capture is not None:
                if id(t) in capture:
                    capture[id(t)] = g
                if node is None or not any(id(x) in keep for x in node.inputs):
                    continue  # nothing below this tensor was asked for: leave that graph as is
            elif node is None or t._retains_grad:
                _accumulate(t, g, stored)
            if node is None:
                continue
            input_grads = node.fn.backward(node, g)
            if not isinstance(input_grads, tuple):
                input_grads = (input_grads,)
            if len(input_grads) != len(node.inputs):
                raise RuntimeError(
                    f"{node.name}.backward returned {len(input_grads)} gradients for "
                    f"{len(node.inputs)} inputs"
                )
            for x, gx, need in zip(node.inputs, input_grads, node.needs_input_grad):
                if gx is None or not need:
                    continue
                if not isinstance(gx, Tensor):
                    gx = _as_tensor(gx)
                if gx.data.shape != x.data.shape:
                    gx = unbroadcast(gx, x.data.shape)
                key = id(x)
                grads[key] = grads[key] + gx if key in grads else gx
            if not retain_graph:
                node.free()


def _accumulate(t, g, stored):
    """`.grad += g`, never aliasing another array: a gradient this pass computed is kept as it is
    (no copy of a big array), but a view, a read-only array, one of another dtype or one already
    given to another tensor's `.grad` (add passes one gradient to both inputs) is copied."""
    a = g.data
    if t.grad is None:
        if (a.base is not None or not a.flags.writeable or a.dtype != t.data.dtype
                or id(a) in stored):
            a = np.array(a, dtype=t.data.dtype)
        stored.add(id(a))
        t.grad = a
    else:
        t.grad = (t.grad + g.data).astype(t.data.dtype, copy=False)


def _as_tuple(x):
    if isinstance(x, Tensor):
        return (x,)
    return tuple(x)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False):
    """Accumulate gradients of `tensors` (weighted by `grad_tensors`) into leaves' `.grad`."""
    single = isinstance(tensors, Tensor)
    tensors = _as_tuple(tensors)
    if grad_tensors is None:
        grad_tensors = (None,) * len(tensors)
    else:  # one output: its gradient may be a list of numbers
        grad_tensors = _as_tuple_g(grad_tensors, single)
    _check_lengths("backward", tensors, grad_tensors)
    if retain_graph is None:
        retain_graph = create_graph
    _run(tensors, grad_tensors, retain_graph, create_graph)


def _check_lengths(where, outputs, grads):
    if len(outputs) != len(grads):
        raise ValueError(f"{where}(): {len(outputs)} outputs but {len(grads)} gradients for them")


def _as_tuple_g(g, single_output=False):
    """Gradient arguments as a tuple, one per output. For a single output, a list of numbers is
    its gradient, while [g] or (g,) holding one Tensor or ndarray is the one-element sequence."""
    if isinstance(g, (Tensor, np.ndarray)) or np.isscalar(g):
        return (g,)
    g = tuple(g)
    if single_output and not (len(g) == 1 and isinstance(g[0], (Tensor, np.ndarray))):
        return (np.asarray(g),)
    return g


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of `outputs` with respect to `inputs`, as a tuple of Tensors; `.grad` untouched.

    With `create_graph=True` the returned gradients carry a graph of their own (so they can be
    differentiated again: Hessian-vector products, gradient penalties).
    """
    single = isinstance(outputs, Tensor)
    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    else:
        grad_outputs = _as_tuple_g(grad_outputs, single)
    _check_lengths("grad", outputs, grad_outputs)
    if retain_graph is None:
        retain_graph = create_graph
    for i, x in enumerate(inputs):
        if not x.requires_grad:
            raise RuntimeError(f"grad(): input {i} (shape {x.shape}) does not require grad")
    capture = {id(x): None for x in inputs}
    _run(outputs, grad_outputs, retain_graph, create_graph, capture=capture)
    result = []
    for i, x in enumerate(inputs):
        g = capture[id(x)]
        if g is None and not allow_unused:
            raise RuntimeError(
                f"grad(): input {i} (shape {x.shape}) is not used in computing the outputs; "
                f"pass allow_unused=True to get None for it"
            )
        if g is not None and g.dtype != x.dtype:
            g = Tensor._wrap(g.data.astype(x.dtype)) if not create_graph else g
        result.append(g)
    return tuple(result)
