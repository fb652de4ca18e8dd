"""`Function`: one op = forward (NumPy) + backward (a vector-Jacobian product) + a display name.

A `Context` is both what an op remembers between forward and backward and the graph node:

    out.grad_fn ──▶ Context(fn=Mul, inputs=(x, y), saved=(x, y), scope=("0",))

Backward is written with Tensor ops, so when `create_graph=True` the backward pass records a
graph of its own and gradients of gradients come for free. Broadcasting is undone in one place,
the engine's `unbroadcast`: an op's backward may return a gradient of the broadcast shape.
"""

import weakref

import numpy as np

from ._state import _state
from .tensor import Tensor

_OUT = object()  # marker: "the op's own output" in a saved tuple


class Context:
    """The graph node of one op application: its function, inputs and saved values."""

    __slots__ = ("fn", "inputs", "needs_input_grad", "scope", "freed",
                 "_saved", "_versions", "_out", "__dict__")

    def __init__(self, fn, inputs, needs_input_grad):
        self.fn = fn
        self.inputs = inputs  # the args as given: Tensors are graph edges, the rest constants
        self.needs_input_grad = needs_input_grad  # per input: a Tensor that requires grad
        self.scope = _state.scope
        self.freed = False
        self._saved = ()
        self._versions = None
        self._out = None

    @property
    def name(self):
        return self.fn.display_name()

    def save_for_backward(self, *values):
        """Remember values for backward: arrays that are the op's inputs or output come back as
        the corresponding Tensors (so backward stays differentiable), anything else as given."""
        self._saved = values

    @property
    def saved(self):
        """The values saved in forward (inputs and output as Tensors); `check()` ran first."""
        if self._out is None:
            return self._saved
        out = self._out()
        return tuple([out if s is _OUT else s for s in self._saved])

    def check(self):
        """Raise if backward through this node would be wrong: its saved values were freed, or
        a saved input or output was changed in place since the op ran (version counters)."""
        if self.freed:
            raise RuntimeError(
                f"backward through {self.name} a second time: the graph's saved values were freed "
                f"by the first backward(); pass retain_graph=True to the first call if you need two"
            )
        if self._versions is not None:
            for t, v in self._versions:
                if t._version != v:
                    raise RuntimeError(
                        f"{self.name}: an input saved for backward was modified in place after "
                        f"the op ran (version {v} -> {t._version}); the gradient would be wrong"
                    )
        if self._out is not None:
            out = self._out()
            if out is None:
                raise RuntimeError(f"{self.name}: its output, saved for backward, no longer "
                                   f"exists (keep a reference to it while you need backward)")
            if out._version != 0:
                raise RuntimeError(
                    f"{self.name}: its output, saved for backward, was modified in place after "
                    f"the op ran (version 0 -> {out._version}); the gradient would be wrong"
                )

    def _resolve(self, arrays, result, raw_out):
        """Map saved arrays back to the Tensors they came from (after forward)."""
        resolved, versions = [], []
        for s in self._saved:
            for a, arg in zip(arrays, self.inputs):
                if s is a and isinstance(arg, Tensor):
                    s = arg
                    versions.append((arg, arg._version))
                    break
            else:
                if s is raw_out or s is result.data:
                    s = _OUT
                    self._out = weakref.ref(result)
                elif isinstance(s, np.ndarray):
                    s = Tensor._wrap(s)
            resolved.append(s)
        self._saved = tuple(resolved)
        self._versions = versions or None

    def free(self):
        """Drop saved values (the graph's structure stays, for pictures)."""
        self._saved = ()
        self._versions = None
        self._out = None
        self.__dict__.clear()
        self.freed = True


class _NullContext:
    """Passed to forward when nothing is recorded: saving is a no-op (one per call, so what a
    forward stores on it dies with the call and is never shared between threads)."""

    needs_input_grad = ()

    def save_for_backward(self, *values):
        pass


class Function:
    """Subclass with `forward(ctx, *arrays, **kw) -> ndarray` and `backward(ctx, grad)`.

    `backward` receives `grad` (a Tensor shaped like the output) and returns one gradient per
    positional input (a Tensor, an ndarray or None), or a bare gradient when there is one input.
    Call it as `MyOp.apply(t1, t2, ..., **kw)`; non-Tensor positional inputs are constants.
    Set `name = "..."` on the class to change the name shown in graph pictures.
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
        arrays = []
        record = False
        for a in args:
            if isinstance(a, Tensor):
                arrays.append(a.data)
                if a.requires_grad:
                    record = True
            else:
                arrays.append(a)
        if record and _state.grad_enabled:
            needs = tuple([isinstance(a, Tensor) and a.requires_grad for a in args])
            ctx = Context(cls, args, needs)
        else:
            record = False
            ctx = _NullContext()
        if kwargs and any(isinstance(v, Tensor) for v in kwargs.values()):
            raise TypeError(f"{cls.display_name()}: pass Tensors positionally (keyword "
                            f"arguments are constants, and would get no gradient)")
        try:
            out = cls.forward(ctx, *arrays, **kwargs)
        except (ValueError, IndexError, TypeError) as e:
            raise _named_error(cls, e, arrays).with_traceback(e.__traceback__) from None
        raw = out
        if type(out) is not np.ndarray:
            out = np.asarray(out)
        if not record or out.dtype.kind != "f":
            return _wrap(out)
        result = _wrap(out, ctx)
        if ctx._saved:
            ctx._resolve(arrays, result, raw)
        return result


_wrap = Tensor._wrap


def _named_error(fn, e, arrays):
    """The same kind of error, its message prefixed with the op's name and input shapes."""
    name = fn.display_name()
    msg = str(e)
    if not msg.startswith(name + ":"):
        shapes = " and ".join(str(np.shape(a)) for a in arrays)
        msg = f"{name}: {msg} (input shapes {shapes})"
    kind = next(k for k in (ValueError, IndexError, TypeError) if isinstance(e, k))
    return kind(msg)
