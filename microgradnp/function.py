"""`Function`: one op = forward (NumPy) + backward (a vector-Jacobian product) + a display name.

Applying a Function records one graph node, a `Context`. It is both what the op remembers
between forward and backward and the vertex of the graph; its edges point to the nodes that
made its inputs (or to the leaf tensors themselves), so the graph outlives the tensors in it:

    x (leaf) ──┐
               ├─▶ Context(fn=Mul, next=(x, y.grad_fn), saved=(x, y)) ◀── out.grad_fn
    y ─ [exp] ─┘

One backward formula serves both kinds of backward pass. In a plain `backward()` it runs on
bare ndarrays (`grad` and `ctx.saved` are arrays: no graph, no bookkeeping); with
`create_graph=True` the same lines run on Tensors and are recorded, so gradients of gradients
come for free. Write backward with operators, `.sum/.reshape/.transpose`, indexing and NumPy
functions (`np.exp(t)` on a Tensor calls the engine's op), and it works in both. Broadcasting
is undone in one place, the engine's `unbroadcast`: a backward may return a gradient of the
broadcast shape.
"""

import traceback
import types

import numpy as np

from ._state import _clock, _state
from .tensor import Tensor, _new

_tick = _clock.tick  # creation order: a node is always newer than its inputs' nodes
_FREED = object()  # a node's first input once backward freed it
_NO_KWARGS = types.MappingProxyType({})  # shared by every node without keyword arguments
_KEEP = {"retained", "grad", "label"}  # what free() keeps of a node's own attributes


class Context:
    """The graph node of one op application: its function, edges and saved values.

    `next[i]` is where the gradient of input i goes: the node that made it, the leaf tensor
    itself, or None for a constant. `inputs` (the arguments, for pictures and for `ctx.saved`
    under create_graph) and the saved values are dropped by a plain backward.

    A node keeps no intermediate tensor alive: of an input that an op made it keeps the array,
    and its edge is the node that made it; `inputs` rebuilds the tensor from the two. So in
    `x = x * 1.0001 + 0.0001` repeated, each old `x` dies at once, and a live graph holds one
    object per op for the garbage collector to scan, not two (`x * w`, x a leaf: kept: x
    itself, w's array; edges: x, the node that made w). Leaves and constants are kept as given.

    Nearly every op has one or two inputs: what is kept of them (`_a`, `_b`) and their edges
    (`_ea`, `_eb`) sit in slots, and `inputs` and `next` build the tuples when asked. Other ops
    (`_n == 0`) keep the tuples in `_a` and `_ea`.
    """

    # Set for every node (slots, no per-node dict: fewer objects for the garbage collector to
    # scan); the rest are class defaults, set per node only when needed.
    __slots__ = ("fn", "kwargs", "seq", "scope", "shape", "dtype", "saved", "_out", "watch",
                 "_n", "_a", "_b", "_ea", "_eb", "__dict__", "__weakref__")
    dirty = False  # the output's array was changed in place (not recorded)
    retained = False  # its output keeps its gradient (retain_grad): in `grad`, `_out` kept
    grad = None  # that gradient (an intermediate tensor's `.grad` reads it here)
    hooks = None  # functions called with this node's output gradient (register_hook)
    stack = None  # where the op was created (anomaly mode only)
    non_differentiable = ()  # ids of outputs marked by mark_non_differentiable
    outputs = None  # a multi-output op: ((array, its output node), ...)
    label = None  # the output tensor's name, for pictures (Tensor.name sets it)
    _written = 0  # the clock's tick when its output's array was last written in place

    def __init__(self, fn, inputs, next_, kwargs):
        self.fn = fn
        self._link(tuple(inputs), tuple(next_))
        self.kwargs = kwargs  # keyword arguments of the op (axis=..., shape=...): constants
        self.seq = _tick()
        self.scope = _state.scope
        self.saved = ()
        self._out = None  # what forward returned (saved values are matched against it)
        self.watch = False  # backward must do more than the chain rule here: hooks,
        # retain_grad, a changed output (the class defaults above)

    def _link(self, inputs, next_):
        """Keep the inputs (an op's output as its array) and their edges (in slots for one or
        two inputs)."""
        kept = tuple([x.data if type(e) is Context else x for x, e in zip(inputs, next_)])
        n = len(inputs)
        if n == 1 and len(next_) == 1:
            self._n, self._a, self._ea = 1, kept[0], next_[0]
        elif n == 2 and len(next_) == 2:
            self._n, self._a, self._b, self._ea, self._eb = 2, *kept, *next_
        else:
            self._n, self._a, self._ea = 0, kept, tuple(next_)

    def _kept(self):
        """What the node keeps of each input (see the class docstring); None once freed."""
        n, a = self._n, self._a
        if a is _FREED:
            return None
        return (a,) if n == 1 else (a, self._b) if n == 2 else a

    @property
    def inputs(self):
        """The arguments as Tensors (an op's output rebuilt from its array and the node that
        made it: the same values, gradient path, name and retained .grad, not the same object);
        None once a plain backward freed the node."""
        kept = self._kept()
        if kept is None:
            return None
        return tuple(_as_input(x, e) for x, e in zip(kept, self.next))

    @property
    def next(self):
        """Per input, where its gradient goes: a node, a leaf tensor, or None (a constant)."""
        n = self._n
        return (self._ea,) if n == 1 else (self._ea, self._eb) if n == 2 else self._ea

    @property
    def needs_input_grad(self):
        """Per input, whether it gets a gradient (a Tensor that requires grad)."""
        n = self._n
        if n == 1:
            return (self._ea is not None,)
        if n == 2:
            return (self._ea is not None, self._eb is not None)
        return tuple([e is not None for e in self._ea])

    @property
    def freed(self):
        return self._a is _FREED

    @property
    def name(self):
        return self.fn.display_name()

    def save_for_backward(self, *values):
        """Remember values for backward, as `ctx.saved`: the arrays as given in a plain
        backward, Tensors under create_graph (see `_saved_as_tensors`)."""
        self.saved = values

    def mark_non_differentiable(self, *outputs):
        """Outputs (arrays the forward returns) that carry no gradient: indices, masks."""
        self.non_differentiable = [id(o) for o in outputs]

    def _saved_as_tensors(self):
        """The saved values as a create_graph backward sees them (`ctx.saved` there), by one
        rule: an array that the forward received or returned comes back as that Tensor (so its
        gradient flows on), and anything else is a constant.

            forward(ctx, x):  s = np.exp(x); ctx.save_for_backward(x, s, 2 * s); return s
            backward, create_graph=True:  ctx.saved == (x, out, constant 2*s)

        So save inputs and the output, not values derived from them: a derived value is a
        constant, and its second derivative is lost (gradgradcheck will say so)."""
        result, arrays, inputs = [], self._arrays(), self.inputs
        for k, s in enumerate(self.saved):
            i = _input_index(k, s, arrays)
            if i is not None:
                result.append(inputs[i])
            elif isinstance(s, (np.ndarray, np.generic)):  # the output, or a constant
                result.append(Tensor._wrap(s, self._node_of_output(s)))
            else:
                result.append(s)
        return tuple(result)

    def _node_of_output(self, s):
        """The node a saved output array belongs to (None: it is a constant)."""
        if s is self._out:
            return self
        for array, node in self.outputs or ():
            if s is array:
                return node
        return None

    def _arrays(self):
        """Per input, the array of a Tensor input (None for a number or an array given)."""
        return tuple(x if type(e) is Context else x.data if isinstance(x, Tensor) else None
                     for x, e in zip(self._kept(), self.next))

    @property
    def saved_tensors(self):  # PyTorch's name
        return self.saved

    def check(self):
        """Raise if backward through this node would be wrong: its saved values were freed, or
        a saved input or output was changed in place after the op ran. Every in-place write
        takes a tick of the clock that numbers nodes (`_written`), so nothing is recorded in
        forward: a saved input is stale when it was written after this node was made."""
        kept = self._kept()
        if kept is None:
            raise RuntimeError(
                f"backward through {self.name} a second time: the graph's saved values were freed "
                f"by the first backward(); pass retain_graph=True to the first call if you need two"
            )
        arrays, edges = self._arrays(), self.next
        for k, s in enumerate(self.saved):
            i = _input_index(k, s, arrays) if type(s) is np.ndarray else None
            if i is None:
                continue
            # a leaf or a constant is kept as the tensor; an op's output by the node that made it
            written = edges[i] if type(edges[i]) is Context else kept[i]
            if written._written > self.seq:
                raise RuntimeError(
                    f"{self.name}: an input of shape {s.shape} saved for backward was modified "
                    f"in place after the op ran; the gradient would be wrong. Change a copy, or "
                    f"do it before the forward pass"
                )
        if self.dirty and any(s is self._out for s in self.saved):
            raise RuntimeError(
                f"{self.name}: its output of shape {self.shape}, saved for backward, was modified "
                f"in place after the op ran; the gradient would be wrong"
            )

    def free(self):
        """Drop saved values and inputs; the edges stay, so pictures still show the structure
        (and a retained output its values and gradient)."""
        self.saved = ()
        self._a = _FREED
        self._b = None
        if not self.retained:
            self._out = None
        self.watch = True  # backward through it again must raise (check)
        held = self.__dict__
        if held:  # saved masks, indices: what forward kept on the node; not the output's
            if _KEEP.isdisjoint(held):
                held.clear()
            else:
                for key in held.keys() - _KEEP:
                    del held[key]


class _Recording:
    """A node as a create_graph backward sees it: `ctx.saved` as Tensors (the rule in
    `Context._saved_as_tensors`), so the formula's ops are recorded and differentiate again;
    every other attribute is the node's. A plain backward gets the node itself, whose `saved`
    holds the arrays: no per-call check of the mode on the hot path."""

    __slots__ = ("_node",)

    def __init__(self, node):
        object.__setattr__(self, "_node", node)

    def __getattr__(self, name):
        return getattr(self._node, name)

    def __setattr__(self, name, value):
        setattr(self._node, name, value)

    @property
    def saved(self):
        return self._node._saved_as_tensors()

    saved_tensors = saved


def _as_input(x, edge):
    """Input as a Tensor from what a node kept of it (`x`) and its edge (see Context)."""
    if type(edge) is not Context:
        return x  # a leaf, a constant, a number: kept as given
    t = Tensor._wrap(x, edge)  # its name, its .grad (retain_grad) are on the node
    t._name = edge.label
    return t


def _input_index(k, s, arrays):
    """Which input saved value k is the array of (or None). An array passed twice (`x * x`,
    two tensors sharing one array) is matched by position first: saved value k is input k when
    it is that input's array."""
    if k < len(arrays) and arrays[k] is s:
        return k
    for i, a in enumerate(arrays):
        if a is s:
            return i
    return None


class _NullContext:
    """Passed to forward when nothing is recorded: saving is a no-op (one per call, so what a
    forward stores on it dies with the call and is never shared between threads)."""

    needs_input_grad = ()

    def save_for_backward(self, *values):
        pass

    def mark_non_differentiable(self, *outputs):
        pass


class Function:
    """Subclass with `forward(ctx, *arrays, **kw) -> ndarray` and `backward(ctx, grad)`.

    `backward` receives `grad` shaped like the output and returns one gradient per positional
    input (None where there is none), or a bare gradient when there is one input. In a plain
    backward `grad` and `ctx.saved` are ndarrays; with create_graph=True they are Tensors (see
    the module docstring: write formulas that work on both). Call it as
    `MyOp.apply(t1, t2, ..., **kw)`; non-Tensor positional inputs and keyword arguments are
    constants. Set `name = "..."` on the class to change the name shown in graph pictures.
    """

    name = None

    @classmethod
    def display_name(cls):
        return cls.name or cls.__name__.lower()

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        # The hot path: every op of every forward comes through here, so the node and the
        # output Tensor are built inline (what Context(...) and Tensor._wrap(...) would do), and
        # one or two inputs (nearly every op) are unpacked without a loop or a list.
        grad_enabled, anomaly, scope = _state.modes  # one read of the per-thread state
        n = len(args)
        if n == 2:  # each input: its array, and where its gradient goes (None: nowhere)
            a, b = args
            if isinstance(a, Tensor):
                x, e = a.data, (a.grad_fn or a) if a.requires_grad else None
            else:
                x, e = a, None
            if isinstance(b, Tensor):
                y, f = b.data, (b.grad_fn or b) if b.requires_grad else None
            else:
                y, f = b, None
            arrays = (x, y)
            record = grad_enabled and (e is not None or f is not None)
        elif n == 1:
            a = args[0]
            if isinstance(a, Tensor):
                x, e = a.data, (a.grad_fn or a) if a.requires_grad else None
            else:
                x, e = a, None
            arrays = (x,)
            record = grad_enabled and e is not None
        else:
            arrays, next_, needs_grad = _unpack(args)
            record = grad_enabled and needs_grad
        if record:
            ctx = _new(Context)  # Context(cls, args, next_, kwargs)
            ctx.fn, ctx.kwargs = cls, kwargs or _NO_KWARGS  # no empty dict kept per node
            if n == 2:  # Context._link, inlined (an op's output: its array)
                ctx._n, ctx._ea, ctx._eb = 2, e, f
                ctx._a = x if type(e) is Context else a
                ctx._b = y if type(f) is Context else b
            elif n == 1:
                ctx._n, ctx._a, ctx._ea = 1, x if type(e) is Context else a, e
            else:
                ctx._link(args, next_)
            ctx.seq, ctx.scope, ctx.watch = _tick(), scope, False
            ctx.saved = ()
        else:
            ctx = None
        try:
            if kwargs:
                _check_constants(cls, kwargs)
                out = cls.forward(ctx or _NullContext(), *arrays, **kwargs)
            elif n == 2:
                out = cls.forward(ctx or _NullContext(), arrays[0], arrays[1])
            else:
                out = cls.forward(ctx or _NullContext(), *arrays)
        except (ValueError, IndexError, TypeError) as err:
            raise _named_error(cls, err, arrays).with_traceback(err.__traceback__) from None
        raw = out  # a NumPy scalar for a 0-d result: `out` wraps it, saved values may hold it
        if type(out) is not np.ndarray:
            if type(out) is tuple:
                return _outputs(ctx, out, anomaly)
            out = np.asarray(out)
        dtype = out.dtype
        if ctx is not None and dtype.kind == "f":
            ctx.shape, ctx.dtype, ctx._out = out.shape, dtype, raw  # unbroadcast, pictures
        else:
            ctx = None
        if anomaly:
            _check_forward(cls, arrays, out)
            if ctx is not None:
                ctx.stack = traceback.extract_stack()[:-2]
        t = _new(Tensor)  # Tensor._wrap(out, ctx)
        t.data, t._grad, t.grad_fn, t.requires_grad = out, None, ctx, ctx is not None
        t._name, t._version, t._written, t._hooks = None, 0, 0, None
        return t


def _unpack(args):
    """Per input: its array (a Tensor's data; anything else as given), and where its gradient
    goes (the node that made it, the leaf itself, or None); and whether any input has one."""
    arrays, next_, needs_grad = [], [], False
    for a in args:
        if isinstance(a, Tensor):
            arrays.append(a.data)
            if a.requires_grad:
                next_.append(a.grad_fn or a)
                needs_grad = True
                continue
        else:
            arrays.append(a)
        next_.append(None)
    return arrays, next_, needs_grad


def _check_constants(cls, kwargs):
    for v in kwargs.values():
        if isinstance(v, Tensor):
            raise TypeError(f"{cls.display_name()}: pass Tensors positionally (keyword "
                            f"arguments are constants, and would get no gradient)")


_wrap = Tensor._wrap


# ============================================================================ several outputs
# forward returns a tuple: each output Tensor gets a small node of its own (`_Output`) whose
# edge is the op's node, so the engine needs nothing new: output k's gradient reaches the op's
# node as a `_GradList` with that gradient in place k, the lists add up, and the op's backward
# is called with one gradient per output (None for an output no gradient reached).


class _GradList:
    __slots__ = ("grads",)
    shape = None  # never unbroadcast

    def __init__(self, grads):
        self.grads = grads

    def __add__(self, other):
        return _GradList([a if b is None else b if a is None else a + b
                          for a, b in zip(self.grads, other.grads)])


class _Output(Function):
    """Output k of a multi-output op: hands its gradient to the op's node, in place k."""

    formula = ("1",)

    @classmethod
    def display_name(cls):
        return "output"

    @staticmethod
    def backward(ctx, grad):
        grads = [None] * ctx.kwargs["n"]
        grads[ctx.kwargs["k"]] = grad
        return _GradList(grads)


def _outputs(ctx, outs, anomaly):
    arrays = [o if type(o) is np.ndarray else np.asarray(o) for o in outs]
    if ctx is None:
        return tuple(_wrap(a) for a in arrays)
    ctx.shape, ctx.dtype, ctx._out = None, None, None
    ctx.outputs, tensors = [], []
    for k, a in enumerate(arrays):
        if a.dtype.kind != "f" or any(id(o) == i for o in (outs[k], a)
                                      for i in ctx.non_differentiable):
            tensors.append(_wrap(a))
            continue
        node = Context(_Output, (), (ctx,), {"k": k, "n": len(arrays)})
        node.shape, node.dtype = a.shape, a.dtype
        ctx.outputs.append((a, node))
        tensors.append(_wrap(a, node))
    if anomaly:
        ctx.stack = traceback.extract_stack()[:-3]
    return tuple(tensors)


def _named_error(fn, e, arrays):
    """The same kind of error, its message prefixed with the op's name and input shapes."""
    name = fn.display_name()
    msg = str(e)
    if not msg.startswith(name + ":"):
        shapes = " and ".join(str(np.shape(a)) for a in arrays)
        msg = f"{name}: {msg} (input shapes {shapes})"
    kind = next(k for k in (ValueError, IndexError, TypeError) if isinstance(e, k))
    return kind(msg)


# ============================================================================ anomaly mode


class AnomalyError(RuntimeError):
    """Raised in `mg.detect_anomaly()` mode at the first op that makes a NaN or inf."""


def user_line(stack):
    """The last frame of a creation stack outside microgradnp and nn: the user's line."""
    for frame in reversed(stack or ()):
        path = frame.filename.replace("\\", "/")
        if "/microgradnp/" not in path and "/nn/" not in path:
            return f'{frame.filename}, line {frame.lineno}: {(frame.line or "").strip()}'
    return "(unknown)"


def _check_forward(fn, arrays, out):
    if out.dtype.kind != "f" or np.isfinite(out).all():
        return
    if all(np.isfinite(a).all() for a in arrays
           if isinstance(a, np.ndarray) and a.dtype.kind in "fc"):
        shapes = ", ".join(str(np.shape(a)) for a in arrays)
        stack = traceback.extract_stack()[:-3]
        raise AnomalyError(
            f"detect_anomaly: {fn.display_name()} produced NaN or inf from finite inputs (input "
            f"shapes {shapes}), in {user_line(stack)}"
        )
