"""The one place where pictures and the step-through page read the engine's graph.

    tensor ──node()──▶ node ──inputs()──▶ (tensor | constant, ...)
                        │ op_class(), op_name(), kwargs(), scope(), formula()
                        └ vjp(node, grad): the node's backward, run on the side (nothing freed)

A tensor that no op made (a leaf or a constant) has no node. Everything else in `viz` goes through
these functions, so a change in how the core stores its graph is mended here.
"""

import inspect

import numpy as np

from .._state import no_grad
from ..tensor import Tensor

# ---- tensors -----------------------------------------------------------------------------------


def is_tensor(x):
    return isinstance(x, (Tensor, FreedTensor))


def node(t):
    """The op node that made `t`, or None for a leaf or a constant."""
    return t.grad_fn


def value(t):
    """`t`'s array, or None when it is not available."""
    return getattr(t, "data", None)


def grad(t):
    return t.grad


def name(t):
    return t.name


def requires_grad(t):
    return bool(t.requires_grad)


def shape(t):
    return tuple(t.shape)


def dtype(t):
    return t.dtype


# ---- op nodes -----------------------------------------------------------------------------------


def inputs(n):
    """The op's arguments in order: Tensors are graph edges, anything else a constant.

    A node keeps no intermediate tensor: it rebuilds one from the array it kept and the node that
    made it (`n.inputs`), a new object each time; here the first one rebuilt stands for it from
    then on (kept on that node), so every picture sees one tensor per intermediate value.

    A plain backward frees a node's arguments and keeps its edges (`n.next`: the node that made
    each input, the leaf itself, or None for a constant). Then a leaf is itself, an intermediate
    tensor a `FreedTensor` standing for it (shape, dtype, name, the node that made it; its values
    and gradient when it kept them with retain_grad), and a constant is None."""
    kept = n.inputs
    if kept is not None:
        return tuple(_stable(x.grad_fn, "_shown", x) if _made(x) else x for x in kept)
    return tuple(e if e is None or isinstance(e, Tensor) else _stable(e, "_freed", None)
                 for e in n.next)


def _made(x):
    return isinstance(x, Tensor) and x.grad_fn is not None


def _stable(node, key, tensor):
    """The one tensor that stands for `node`'s output in pictures (kept on the node: freeing
    the node drops the live one, and a FreedTensor lives as long as the node)."""
    held = node.__dict__
    if key not in held:
        held[key] = tensor if tensor is not None else FreedTensor(node)
    return held[key]


class FreedTensor:
    """An intermediate tensor whose values a plain backward dropped: only what the node knows."""

    requires_grad = True

    def __init__(self, node):
        self.grad_fn = node
        self.shape, self.dtype = node.shape, node.dtype

    @property
    def name(self):
        return self.grad_fn.label

    @property
    def data(self):  # a retained output (retain_grad) keeps its values on the node
        out = self.grad_fn._out
        return None if out is None else np.asarray(out)

    @property
    def grad(self):
        return self.grad_fn.grad


def op_class(n):
    return n.fn


def op_name(n):
    """The op's display name (`mul`, `sum`, a Function's `name`)."""
    fn = n.fn
    if hasattr(fn, "display_name"):
        return fn.display_name()
    return getattr(fn, "name", None) or fn.__name__.lower()


def scope(n):
    """The tuple of name scopes (one per nn module) the op ran in, outermost first."""
    return tuple(getattr(n, "scope", None) or ())


def kwargs(n):
    """The op's keyword arguments that differ from its forward's defaults, as a dict.

    Read from the node's `kwargs` when the core keeps them; else `axis`/`axes` when the node still
    holds them (before backward frees it); else nothing."""
    kw = getattr(n, "kwargs", None)
    if kw is None:
        held = getattr(n, "__dict__", {})
        kw = {k: held[k] for k in ("axis", "axes") if held.get(k) is not None}
    try:
        params = inspect.signature(n.fn.forward).parameters
    except (TypeError, ValueError):
        params = {}
    shown = {}
    for k, v in kw.items():
        p = params.get(k)
        if p is not None and p.default is not inspect.Parameter.empty and _same(v, p.default):
            continue
        shown[k] = v
    return shown


_INTERCHANGEABLE = {"add", "mul", "maximum", "minimum"}  # ops whose arguments can be swapped


def argument_names(n):
    """The name of each input in the op's forward signature (`x`, `y`; `weight`, `bias`), or None
    for the inputs of `*xs`."""
    try:
        params = list(inspect.signature(n.fn.forward).parameters.values())[1:]  # after ctx
    except (TypeError, ValueError):
        params = []
    names = []
    for i in range(len(inputs(n))):
        ok = i < len(params) and params[i].kind in (inspect.Parameter.POSITIONAL_ONLY,
                                                    inspect.Parameter.POSITIONAL_OR_KEYWORD)
        names.append(params[i].name if ok else None)
    return tuple(names)


def argument_labels(n):
    """One label per input naming which argument it is (`x`, `y`, from the op's forward
    signature; `0`, `1`, ... for `*xs`), or "" for every input of a one-input op or of an op whose
    arguments are interchangeable (add, mul)."""
    k = len(inputs(n))
    if k < 2 or op_name(n) in _INTERCHANGEABLE:
        return ("",) * k
    return tuple(name or str(i) for i, name in enumerate(argument_names(n)))


def all_kwargs(n):
    """Every keyword argument the op was called with (defaults included), as a dict."""
    return dict(getattr(n, "kwargs", None) or {})


def _same(a, b):
    try:
        return bool(a == b) and type(a) is type(b)
    except (ValueError, TypeError):  # arrays compare elementwise
        return False


def formula(n):
    """The local derivatives d(out)/d(input) as text, one per input (names `x`, `y`, `out`; None
    for an input without one), from the op class's `formula` attribute; None when it has none.
    One text for an op of any number of inputs (concatenate's `*xs`) serves each of them."""
    f = getattr(n.fn, "formula", None)
    if f is None:
        return None
    f = (f,) if isinstance(f, str) else tuple(f)
    k = len(inputs(n))
    if len(f) == 1 and k > 1:
        f = f * k
    return f if len(f) == k else None


def is_freed(n):
    return bool(getattr(n, "freed", False))


def vjp(n, g):
    """The node's backward on the incoming gradient `g` (an ndarray shaped like its output): one
    ndarray (summed down to the input's shape) or None per input. Nothing is recorded or freed."""
    check = getattr(n, "check", None)
    with no_grad():
        if check is not None:
            check()
        out = n.fn.backward(n, np.asarray(g))  # a plain backward: on bare arrays
    if not isinstance(out, tuple):
        out = (out,)
    result = []
    for x, gx in zip(inputs(n), out):
        if gx is None or not (is_tensor(x) and x.requires_grad):
            result.append(None)
            continue
        gx = np.asarray(gx.data if is_tensor(gx) else gx)
        result.append(sum_to_shape(gx, shape(x)).astype(x.dtype, copy=False))
    return result


def sum_to_shape(g, target):
    """The adjoint of broadcasting: sum `g` down to `target`."""
    if g.shape == target:
        return g
    extra = g.ndim - len(target)
    g = g.sum(axis=tuple(range(extra))) if extra > 0 else g
    axes = tuple(i for i, n in enumerate(target) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True).reshape(target) if axes else g.reshape(target)


def topological_order(root):
    """The tensors that require grad reachable from `root`, inputs before outputs: the engine's
    order reversed. The engine runs the newest node first (nodes are numbered as they are
    created, `node.seq`), so a node runs after every op that used its output."""
    found, stack = {id(root): root}, [root]
    while stack:
        n = node(stack.pop())
        if n is None:
            continue
        for x in inputs(n):
            if is_tensor(x) and requires_grad(x) and id(x) not in found:
                found[id(x)] = x
                stack.append(x)
    leaves = [t for t in found.values() if node(t) is None]
    made = sorted((t for t in found.values() if node(t) is not None),
                  key=lambda t: getattr(node(t), "seq", 0))
    return leaves + made
