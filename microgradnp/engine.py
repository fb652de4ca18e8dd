"""Backpropagation: the chain rule from the output back to the leaves, without recursion.

Nodes are visited newest first (a heap on their creation number). A node is always newer than
the nodes that made its inputs, so when it comes off the heap every op that used its output
has already sent its share: its gradient is complete. No separate topological sort, no
recursion, so a chain of a million ops backpropagates.

    backward(loss) ─▶ _backprop: pop node, node.fn.backward(grad), unbroadcast, send to next
                   ─▶ _store_grads: sum into each leaf's .grad (all at the end, under a lock)
    grad(outs, xs) ─▶ _backprop on the part of the graph between outs and xs; .grad untouched
"""

import heapq
import threading

import numpy as np

from ._state import _clock, _state
from .function import AnomalyError, Context, _GradList, _Recording, user_line
from .tensor import Tensor

_grad_lock = threading.Lock()  # one `.grad +=` at a time, whichever thread backpropagates


def unbroadcast(grad, shape):
    """The adjoint of broadcasting is summation: sum `grad` down to `shape`."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra < 0 or any(n != 1 and n != g for n, g in zip(shape, grad.shape[extra:])):
        raise RuntimeError(f"gradient of shape {grad.shape} cannot be reduced to shape {shape}")
    kept = tuple(i + extra for i, n in enumerate(shape) if n == 1 and grad.shape[i + extra] != 1)
    # np.add.reduce is grad.sum without NumPy's Python layer (on a Tensor it is Tensor.sum)
    if not kept:  # only leading axes were added (a bias broadcast over a batch): one sum
        return np.add.reduce(grad, axis=tuple(range(extra)))
    return np.add.reduce(grad, axis=tuple(range(extra)) + kept, keepdims=True).reshape(shape)


# ============================================================================ the chain rule


def _backprop(roots, root_grads, retain_graph, create_graph, limit=None):
    """Send each root's gradient back through the graph. Returns {leaf or node: gradient} for
    the leaves reached, and the retained non-leaf tensors' gradients as (node, grad) pairs.

    `limit` (for mg.grad): (the nodes whose backward runs, the targets); gradients go only to
    those, so the rest of the graph is neither run nor freed."""
    run, targets = limit or (None, None)
    pending = {}  # node or leaf -> the sum of the gradients sent to it so far
    heap = []  # (-creation number, node): newest first
    for root, g in zip(roots, root_grads):
        _send(root.grad_fn or root, g, pending, heap)
    captured, retained, done = {}, [], []
    modes, clock = _state.modes, _clock
    _, anomaly, scope = modes
    kind = Tensor if create_graph else np.ndarray
    push, pop = heapq.heappush, heapq.heappop
    _state.modes = (create_graph, anomaly, scope)  # the backward's ops are recorded only then
    try:
        while heap:
            node = pop(heap)[1]
            grad = pending.pop(node)
            if node.watch or node.seq < clock.last_write:
                # hooks, retain_grad, freed, an in-place write since the node was made
                node.check()
                if node.hooks:
                    grad = _run_hooks(node.hooks, grad)
                if node.retained:
                    retained.append((node, grad))
            if run is not None:
                captured[node] = grad
                if node not in run:
                    continue  # a requested input with nothing requested below it
            ctx = _Recording(node) if create_graph else node  # saved: Tensors, or arrays
            if type(grad) is _GradList:  # an op with several outputs: one gradient each
                grads = node.fn.backward(ctx, *grad.grads)
            else:
                grads = node.fn.backward(ctx, grad)  # the op's vector-Jacobian product
            if type(grads) is not tuple:
                grads = (grads,)
            n = node._n  # node.next, without a call: where each input's gradient goes
            edges = (node._ea,) if n == 1 else (node._ea, node._eb) if n == 2 else node._ea
            if len(grads) != len(edges):
                raise RuntimeError(f"{node.name}.backward returned {len(grads)} gradients for "
                                   f"{len(edges)} inputs")
            for edge, g in zip(edges, grads):  # sum each input's gradient into `pending`
                if edge is None or g is None or (
                        run is not None and edge not in run and edge not in targets):
                    continue
                if type(g) is not kind:
                    g = _as_grad(g, create_graph)
                is_node = type(edge) is Context  # else a leaf (whose .shape is a property)
                if g.shape != (edge.shape if is_node else edge.data.shape):
                    g = _unbroadcast_input(node, edge, g)
                if anomaly and type(g) is not _GradList:
                    _check_backward(node, edge, g)
                old = pending.get(edge)  # _send, inlined: this loop is the hot path
                if old is None:
                    pending[edge] = g
                    if is_node:  # its turn comes after every newer node's
                        push(heap, (-edge.seq, edge))
                else:
                    pending[edge] = old + g
            done.append(node)
    finally:
        _state.modes = modes
    if not retain_graph:  # only now: a backward that raised leaves the graph usable
        for node in done:
            node.free()
    if captured:
        pending.update(captured)
    return pending, retained


def _send(edge, g, pending, heap):
    """Add gradient `g` to what `edge` (a node or a leaf) has received."""
    old = pending.get(edge)
    if old is None:
        pending[edge] = g
        if type(edge) is Context:
            heapq.heappush(heap, (-edge.seq, edge))
    else:
        pending[edge] = old + g


def _as_grad(g, create_graph):
    """A gradient as the pass works on it: a Tensor under create_graph, else an ndarray."""
    if type(g) is _GradList:
        return g
    if create_graph:
        return g if isinstance(g, Tensor) else Tensor._wrap(np.asarray(g))
    return g.data if isinstance(g, Tensor) else np.asarray(g)


def _input_number(node, edge):
    return next(i for i, e in enumerate(node.next) if e is edge)


def _unbroadcast_input(node, edge, g):
    shape = edge.shape
    try:
        return unbroadcast(g, shape)
    except RuntimeError:
        i = _input_number(node, edge)
        raise RuntimeError(f"{node.name}.backward returned a gradient of shape {g.shape} for its "
                           f"input {i} of shape {shape}") from None


def _run_hooks(hooks, grad):
    for hook in hooks:
        new = hook(grad)
        if new is not None:
            grad = new
    return grad


def _check_backward(node, edge, g):
    if not np.isfinite(g.data if isinstance(g, Tensor) else g).all():
        i = _input_number(node, edge)
        raise AnomalyError(
            f"detect_anomaly: the gradient {node.name}.backward computed for its input {i} "
            f"(shape {g.shape}) contains NaN or inf; the op was created in "
            f"{user_line(node.stack)}"
        )


# ============================================================================ writing .grad


def _store_grads(items, stored):
    """`t.grad += g` for each (leaf or retaining node, gradient), under one lock so threads
    never lose an update.

    A `.grad` never aliases another array: a gradient this pass computed is kept as it is (no
    copy of a big array), but a view (the read-only seed of `loss.backward()` is one), one of
    another dtype, or one already given to another tensor's `.grad` (add passes one gradient
    to both inputs) or given by the caller (ids in `stored`) is copied."""
    with _grad_lock:
        for t, g in items:
            a = g.data if isinstance(g, Tensor) else g
            leaf = type(t) is not Context  # a leaf keeps its .grad in a slot, a node in `grad`
            old, dtype = (t._grad, t.data.dtype) if leaf else (t.grad, t.dtype)
            if old is None:
                if a.base is not None or a.dtype != dtype or id(a) in stored:
                    # a leaf's laid out like its data (W.T's gradient is a transposed view):
                    # an update `p -= lr * p.grad` then walks both arrays in the same order
                    order = "C" if leaf and t.data.flags.c_contiguous else "K"
                    a = np.array(a, dtype=dtype, order=order)
                stored.add(id(a))
            elif old.flags.writeable and old.shape == a.shape:
                np.add(old, a, out=old, casting="unsafe")
                continue
            else:
                a = (old + a).astype(dtype, copy=False)
            if leaf:
                t._grad = a
            else:
                t.grad = a


# ============================================================================ the public calls


_SEEDS = {}  # dtype -> a read-only 0-d view of 1: the seed of every loss.backward()


def _seed(dtype):
    """d out / d out = 1, shared: a read-only view, which no formula writes into and
    _store_grads copies (a view) before a .grad keeps it."""
    seed = _SEEDS.get(dtype)
    if seed is None:
        seed = np.ones(1, dtype=dtype).reshape(())
        seed.flags.writeable = False
        _SEEDS[dtype] = seed
    return seed


def _opening(where, outputs, grad_outputs, create_graph):
    """Outputs as a tuple of Tensors and their starting gradients (ones for a scalar)."""
    if (grad_outputs is None and type(outputs) is Tensor and outputs.grad_fn is not None
            and outputs.data.size == 1 and not create_graph):  # loss.backward(), the usual call
        seed = _seed(outputs.data.dtype)  # d out / d out
        return (outputs,), [seed if outputs.data.ndim == 0 else seed.reshape(outputs.data.shape)]
    single = isinstance(outputs, Tensor)
    outputs = (outputs,) if single else tuple(outputs)
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    elif isinstance(grad_outputs, (Tensor, np.ndarray)) or np.isscalar(grad_outputs):
        grad_outputs = (grad_outputs,)
    else:  # one output: a list of numbers is its gradient; [g] holding one array is a sequence
        grad_outputs = tuple(grad_outputs)
        if single and not (len(grad_outputs) == 1
                           and isinstance(grad_outputs[0], (Tensor, np.ndarray))):
            grad_outputs = (np.asarray(grad_outputs),)
    if len(outputs) != len(grad_outputs):
        raise ValueError(f"{where}(): {len(outputs)} outputs but {len(grad_outputs)} gradients "
                         f"for them")
    grads = []
    for out, g in zip(outputs, grad_outputs):
        if not out.requires_grad:
            raise RuntimeError(
                f"{where}() on a tensor of shape {out.shape} that does not require grad: no "
                f"input had requires_grad=True, or it was computed under no_grad()"
            )
        if g is None:
            if out.data.size != 1:
                raise RuntimeError(
                    f"{where}() on a tensor of shape {out.shape} needs a gradient argument: "
                    f"only a scalar output has an implicit gradient of 1 (try out.sum())"
                )
            g = np.array(1, dtype=out.dtype).reshape(out.shape)  # d out / d out
        elif np.shape(g.data if isinstance(g, Tensor) else g) != out.shape:
            raise ValueError(f"{where}(): gradient of shape {np.shape(g)} does not match the "
                             f"output's shape {out.shape}")
        grads.append(_as_grad(g, create_graph))
    return outputs, grads


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False):
    """Accumulate gradients of `tensors` (weighted by `grad_tensors`) into leaves' `.grad`."""
    outputs, grads = _opening("backward", tensors, grad_tensors, create_graph)
    if retain_graph is None:
        retain_graph = create_graph
    reached, retained = _backprop(outputs, grads, retain_graph, create_graph)
    for t, g in reached.items():
        if type(t) is not Context:  # a leaf
            retained.append((t, _run_hooks(t._hooks, g) if t._hooks else g))
    given = () if grad_tensors is None else grads  # the caller's arrays: never a .grad as is
    _store_grads(retained, {id(g.data if isinstance(g, Tensor) else g) for g in given})


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of `outputs` with respect to `inputs`, as a tuple of Tensors; `.grad` untouched.

    With `create_graph=True` the returned gradients carry a graph of their own (so they can be
    differentiated again: Hessian-vector products, gradient penalties).
    """
    outputs, grads = _opening("grad", outputs, grad_outputs, create_graph)
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    for i, x in enumerate(inputs):
        if not x.requires_grad:
            raise RuntimeError(f"grad(): input {i} (shape {x.shape}) does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    targets = [x.grad_fn or x for x in inputs]
    limit = (_between(outputs, set(targets)), set(targets))
    reached, _ = _backprop(outputs, grads, retain_graph, create_graph, limit)
    result = []
    for i, (x, target) in enumerate(zip(inputs, targets)):
        g = reached.get(target)
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"grad(): input {i} (shape {x.shape}) is not used in computing the outputs; "
                    f"pass allow_unused=True to get None for it"
                )
        else:
            if not isinstance(g, Tensor):
                g = Tensor._wrap(g)
            if g.dtype != x.dtype and not create_graph:
                g = Tensor._wrap(g.data.astype(x.dtype))
        result.append(g)
    return tuple(result)


def _between(outputs, targets):
    """mg.grad's part of the graph: the nodes from which a target is reached below them."""
    leads = {}  # node -> does some path from it reach a target?
    stack = [o.grad_fn for o in outputs if o.grad_fn is not None]
    while stack:  # iterative post-order: a node is decided once all its inputs' nodes are
        node = stack[-1]
        if node in leads:
            stack.pop()
            continue
        todo = [e for e in node.next if type(e) is Context and e not in leads]
        if todo:
            stack.extend(todo)
            continue
        stack.pop()
        leads[node] = any(e in targets or leads.get(e, False) for e in node.next
                          if e is not None)
    return {node for node, ok in leads.items() if ok}
