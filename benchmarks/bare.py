"""The barest reverse-mode engine on NumPy that still does what issue 10 itself requires, to
measure what its targets leave for everything else (`floor.py` times it).

What it keeps, because the issue asks for it: a graph node apart from the tensor (so a plain
backward can drop every array the user does not hold), grad mode read per thread, broadcasting
undone, a leaf's `.grad` never aliasing another array, backward ordered by creation numbers in a
heap. What it leaves out, each a part of microgradnp's contract: `Function` and its context
(custom ops), create_graph and mg.grad, name scopes, in-place checks, anomaly mode, hooks and
retain_grad, constant checks and named errors, dtype rules, several outputs, pictures.
`contract()` adds the share of those that sits on the hot path of every op and that no design
avoids (see its banner below), so `floor.py` times both.

Each op is a method that computes the forward and records a node (its backward, its edges and
what the backward reads, in slots); each backward is a function returning (edge, gradient)
pairs. It is a measuring stick, not a second engine: only the ops of W1, W2e, W4 and W5.
"""

import heapq
import itertools
import threading

import numpy as np

_tick = itertools.count().__next__


class _Mode(threading.local):
    grad = True  # per thread, as a grad mode must be


_mode = _Mode()
_new = object.__new__


class Node:
    __slots__ = ("backward", "seq", "shape", "a", "b", "x", "y",
                 "scope", "dtype", "watch")  # (the last three: `contract()` only)


def _node(backward, out, a, b=None):
    """Record out's node if grad mode is on and an input needs a gradient (else out is a
    constant). Its edges: an input's node, the input itself (a leaf), or None (a constant)."""
    ea = (a.node or a) if type(a) is Tensor and a.requires_grad else None
    eb = (b.node or b) if type(b) is Tensor and b.requires_grad else None
    if (ea is None and eb is None) or not _mode.grad:
        return None
    node = _new(Node)
    node.backward, node.seq, node.shape, node.a, node.b = backward, _tick(), out.shape, ea, eb
    return node


def _tensor(data, node):
    out = _new(Tensor)
    out.data, out.grad, out.node, out.requires_grad = data, None, node, node is not None
    return out


class Tensor:
    __slots__ = ("data", "grad", "node", "requires_grad",
                 "name", "version", "written", "hooks")  # (the last four: `contract()` only)
    __array_ufunc__ = None  # ndarray * Tensor calls Tensor.__rmul__

    def __init__(self, data, requires_grad=False):
        self.data, self.grad, self.node = np.asarray(data), None, None
        self.requires_grad = requires_grad

    # ---------------------------------------------------------------- ops
    def __add__(self, other):
        out = self.data + (other.data if type(other) is Tensor else other)
        return _tensor(out, _node(_add, out, self, other))

    __radd__ = __add__

    def __sub__(self, other):
        out = self.data - (other.data if type(other) is Tensor else other)
        return _tensor(out, _node(_sub, out, self, other))

    def __rsub__(self, other):
        out = other - self.data
        return _tensor(out, _node(_neg, out, self))

    def __mul__(self, other):
        x, y = self.data, other.data if type(other) is Tensor else other
        out = x * y
        node = _node(_mul, out, self, other)
        if node is not None:
            node.x, node.y = x, y
        return _tensor(out, node)

    __rmul__ = __mul__

    def __neg__(self):
        out = -self.data
        return _tensor(out, _node(_neg, out, self))

    def __matmul__(self, other):
        x, y = self.data, other.data
        out = x @ y
        node = _node(_matmul, out, self, other)
        if node is not None:
            node.x, node.y = x, y
        return _tensor(out, node)

    @property
    def T(self):
        out = self.data.T
        return _tensor(out, _node(_transpose, out, self))

    def relu(self):
        out = np.maximum(self.data, 0)
        node = _node(_relu, out, self)
        if node is not None:
            node.x = out
        return _tensor(out, node)

    def tanh(self):
        out = np.tanh(self.data)
        node = _node(_tanh, out, self)
        if node is not None:
            node.x = out
        return _tensor(out, node)

    def sum(self):
        out = np.add.reduce(self.data, axis=None)
        node = _node(_expand, out, self)
        if node is not None:
            node.x = self.data.shape
        return _tensor(out, node)

    def mean(self):
        x = self.data
        out = np.add.reduce(x, axis=None) / x.size
        node = _node(_mean, out, self)
        if node is not None:
            node.x = x.shape
        return _tensor(out, node)

    def log_softmax(self, axis):
        x = self.data
        shifted = x - np.maximum.reduce(x, axis=axis, keepdims=True)
        out = shifted - np.log(np.add.reduce(np.exp(shifted), axis=axis, keepdims=True))
        node = _node(_log_softmax, out, self)
        if node is not None:
            node.x, node.y = out, axis
        return _tensor(out, node)

    def __getitem__(self, index):
        out = self.data[index]
        node = _node(_getitem, out, self)
        if node is not None:
            node.x, node.y = self.data.shape, index
        return _tensor(out, node)

    # ---------------------------------------------------------------- backward
    def backward(self):
        pending = {self.node: np.ones(self.data.shape, self.data.dtype)}
        heap = [(-self.node.seq, self.node)]
        pop, push = heapq.heappop, heapq.heappush
        leaves, done = {}, []
        while heap:
            node = pop(heap)[1]
            for edge, g in node.backward(node, pending.pop(node)):
                if edge is None:
                    continue
                if type(edge) is Node:
                    if g.shape != edge.shape:
                        g = _unbroadcast(g, edge.shape)
                    old = pending.get(edge)
                    if old is None:
                        pending[edge] = g
                        push(heap, (-edge.seq, edge))
                    else:
                        pending[edge] = old + g
                else:
                    if g.shape != edge.data.shape:
                        g = _unbroadcast(g, edge.data.shape)
                    old = leaves.get(edge)
                    leaves[edge] = g if old is None else old + g
            done.append(node)
        for node in done:  # a plain backward frees what the nodes held
            node.x = node.y = None
        for leaf, g in leaves.items():
            if leaf.grad is None:
                leaf.grad = g if g.base is None and g.dtype == leaf.data.dtype else g.copy()
            else:
                leaf.grad += g


def _unbroadcast(g, shape):
    extra = g.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(i + extra for i, n in enumerate(shape)
                                       if n == 1 and g.shape[i + extra] != 1)
    return np.add.reduce(g, axis=axes, keepdims=True).reshape(shape)


# backward functions: (node, gradient of its output) -> ((edge, gradient), ...)
def _add(n, g):
    return (n.a, g), (n.b, g)


def _sub(n, g):
    return (n.a, g), (n.b, -g)


def _mul(n, g):  # (a gradient only where there is an edge: the others are constants)
    return (n.a, None if n.a is None else g * n.y), (n.b, None if n.b is None else g * n.x)


def _neg(n, g):
    return ((n.a, -g),)


def _matmul(n, g):
    x, y = n.x, n.y
    gy = None if n.b is None else x.T @ g
    if n.a is None:
        return (None, None), (n.b, gy)
    return (n.a, np.multiply.outer(g, y) if y.ndim == 1 else g @ y.T), (n.b, gy)


def _transpose(n, g):
    return ((n.a, g.T),)


def _relu(n, g):
    return ((n.a, g * (n.x > 0)),)


def _tanh(n, g):
    return ((n.a, g * (1 - n.x * n.x)),)


def _expand(n, g):
    out = np.empty(n.x, g.dtype)
    out[...] = g
    return ((n.a, out),)


def _mean(n, g):
    out = np.empty(n.x, g.dtype)
    out[...] = g / out.size
    return ((n.a, out),)


def _log_softmax(n, g):
    return ((n.a, g - np.exp(n.x) * np.add.reduce(g, axis=n.y, keepdims=True)),)


def _getitem(n, g):
    out = np.zeros(n.x, g.dtype)
    np.add.at(out, n.y, g)
    return ((n.a, out),)


# ============================================================================ + the contract
# `contract()` swaps in a recording and a backward that also do, per op, the bookkeeping that
# microgradnp's contract needs on its hot path and that no design avoids (custom-op contexts,
# create_graph's formulas on Tensors, pictures and error messages are not counted): one read of
# the per-thread modes (grad, anomaly, name scope); no node for an output that is not floating
# point; the node's scope, dtype and "look closer" flag (hooks, retain_grad, freed); a tensor's
# name, version counter, write tick and hooks; in backward, the in-place-write and look-closer
# check per node, the anomaly check per gradient, a lock around writing .grad.


class _Modes(threading.local):
    modes = (True, False, ())  # grad mode, anomaly mode, name scope


_modes = _Modes()
_last_write = [0]  # the clock's tick of the newest in-place write (none here)
_lock = threading.Lock()


def _node_contract(backward, out, a, b=None):
    grad, anomaly, scope = _modes.modes
    ea = (a.node or a) if type(a) is Tensor and a.requires_grad else None
    eb = (b.node or b) if type(b) is Tensor and b.requires_grad else None
    if (ea is None and eb is None) or not grad:
        return None
    dtype = out.dtype
    if dtype.kind != "f":  # an integer or boolean result carries no gradient
        return None
    if anomaly and not np.isfinite(out).all():
        raise FloatingPointError("anomaly")
    node = _new(Node)
    node.backward, node.seq, node.shape, node.a, node.b = backward, _tick(), out.shape, ea, eb
    node.scope, node.dtype, node.watch = scope, dtype, False
    return node


def _tensor_contract(data, node):
    out = _new(Tensor)
    out.data, out.grad, out.node, out.requires_grad = data, None, node, node is not None
    out.name, out.version, out.written, out.hooks = None, 0, 0, None
    return out


def _backward_contract(self):
    """Tensor.backward's loop with the contract's checks added. A copy, not a shared loop with
    switches: a switch tested per node would charge the bare engine for the contract."""
    if not self.requires_grad or self.data.size != 1:
        raise RuntimeError("backward() needs a scalar that requires grad")
    pending = {self.node: np.ones(self.data.shape, self.data.dtype)}
    heap = [(-self.node.seq, self.node)]
    pop, push = heapq.heappop, heapq.heappush
    leaves, done = {}, []
    _, anomaly, _ = _modes.modes
    last_write = _last_write[0]
    while heap:
        node = pop(heap)[1]
        grad = pending.pop(node)
        if node.watch or node.seq < last_write:
            raise RuntimeError("hooks, retain_grad, a freed graph, an in-place write: not here")
        for edge, g in node.backward(node, grad):
            if edge is None:
                continue
            if anomaly and not np.isfinite(g).all():
                raise FloatingPointError("anomaly")
            if type(edge) is Node:
                if g.shape != edge.shape:
                    g = _unbroadcast(g, edge.shape)
                old = pending.get(edge)
                if old is None:
                    pending[edge] = g
                    push(heap, (-edge.seq, edge))
                else:
                    pending[edge] = old + g
            else:
                if g.shape != edge.data.shape:
                    g = _unbroadcast(g, edge.data.shape)
                old = leaves.get(edge)
                leaves[edge] = g if old is None else old + g
        done.append(node)
    for node in done:
        node.x = node.y = None
        node.watch = True
    with _lock:
        for leaf, g in leaves.items():
            if leaf.grad is None:
                leaf.grad = g if g.base is None and g.dtype == leaf.data.dtype else g.copy()
            else:
                leaf.grad += g


def contract(on=True):
    """Record and backpropagate with the contract's bookkeeping (on) or without it (off)."""
    global _node, _tensor
    _node, _tensor = (_node_contract, _tensor_contract) if on else (_node_bare, _tensor_bare)
    Tensor.backward = _backward_contract if on else _backward_bare


_node_bare, _tensor_bare, _backward_bare = _node, _tensor, Tensor.backward
