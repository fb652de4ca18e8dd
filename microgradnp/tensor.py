"""The Tensor: an ndarray, its gradient, and the op that made it (the graph's edges point back).

    x ──┐
        ├─▶ [mul] ──▶ z ──▶ [sum] ──▶ loss        forward: data flows right
    y ──┘                                          backward: grads flow left

Each non-leaf Tensor's `grad_fn` is the op node (a `Context`) that produced it; the node holds
its inputs, so the graph is a DAG of Tensors reachable from the output. `loss.backward()` walks
it in reverse topological order (see `engine.py`); the ops live in `ops.py`.
"""

import operator

import numpy as np

from ._state import _clock, _state


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    `Tensor(data, requires_grad=False, dtype=None)` wraps `np.asarray(data, dtype)` (it shares
    memory with an ndarray given as-is). Python floats become float64, float32 arrays stay float32.
    Only floating-point tensors can require gradients.
    """

    __slots__ = ("data", "_grad", "requires_grad", "grad_fn", "_name", "_version", "_written",
                 "_hooks", "__weakref__")
    __hash__ = object.__hash__  # == is elementwise, identity is the hash (usable as dict key)

    def __init__(self, data, requires_grad=False, dtype=None, name=None):
        if isinstance(data, Tensor):
            data = data.data
        data = np.asarray(data, dtype=dtype)
        if data.dtype.kind not in "biufc":
            raise TypeError(f"Tensor: holds numbers only; got dtype {data.dtype} "
                            f"({np.array2string(data, threshold=4)[:60]})")
        self.data = data
        self._grad = None
        self.grad_fn = None
        self.name = name
        self._version = 0  # how many in-place writes this tensor has had
        self._written = 0  # the clock's tick at the last one (see Context.check)
        self._hooks = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @staticmethod
    def _wrap(data, grad_fn=None):
        """Fast internal constructor: no checks, no conversion beyond ndarray-ness."""
        t = _new(Tensor)
        t.data = data if type(data) is np.ndarray else np.asarray(data)
        t._grad = None
        t.grad_fn = grad_fn
        t.requires_grad = grad_fn is not None
        t._name = None
        t._version = t._written = 0
        t._hooks = None
        return t

    # ---- attributes ---------------------------------------------------------------------------
    @property
    def grad(self):
        """The gradient backward left here: a leaf's, or an intermediate's that asked for it
        (retain_grad; kept by the node that made it: the graph holds no intermediate tensor)."""
        node = self.grad_fn
        return self._grad if node is None else node.grad

    @grad.setter
    def grad(self, value):
        node = self.grad_fn
        if node is None:
            self._grad = value
        else:
            node.grad = value

    @property
    def name(self):
        """A label for pictures and messages (None: unnamed)."""
        return self._name

    @name.setter
    def name(self, value):
        self._name = value
        if self.grad_fn is not None:  # the graph keeps no intermediate tensor, its node the name
            self.grad_fn.label = value

    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def size(self):
        return self.data.size

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def T(self):
        return self.transpose()

    def requires_grad_(self, requires_grad=True):
        """Set `requires_grad` in place (leaves only); returns self."""
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(
                f"only floating-point tensors can require gradients; got dtype {self.data.dtype} "
                f"(use Tensor(data, dtype=np.float64))"
            )
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError("requires_grad_(False) on a non-leaf tensor: use .detach() instead")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self):
        """Keep this non-leaf tensor's gradient in `.grad` after backward (as in PyTorch)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        if self.grad_fn is not None:
            self.grad_fn.retained = self.grad_fn.watch = True
        return self

    def register_hook(self, hook):
        """Call `hook(grad)` with this tensor's gradient during backward; a hook may return a
        replacement gradient (to inspect or clip it). Returns a handle with `.remove()`."""
        if not self.requires_grad:
            raise RuntimeError("register_hook() on a tensor that does not require grad")
        if self.grad_fn is not None:
            hooks = self.grad_fn.hooks = self.grad_fn.hooks or []
            self.grad_fn.watch = True
        else:
            hooks = self._hooks = self._hooks or []
        hooks.append(hook)
        return _HookHandle(hooks, hook)

    def detach(self):
        """A new leaf sharing this tensor's data, cut from the graph."""
        return Tensor._wrap(self.data)

    def numpy(self):
        return self.data

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element; got shape {self.shape}")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and dtype != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self.data)))

    def __bool__(self):
        return bool(self.data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="tensor(", precision=4)
        extra = f"dtype={self.data.dtype}"
        if self.grad_fn is not None:
            extra += f", grad_fn=<{self.grad_fn.name}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        if self.name:
            extra += f", name={self.name!r}"
        return f"tensor({body}, {extra})"

    # ---- autograd -----------------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph=None, create_graph=False):
        """Accumulate d(self)/d(leaf) into every leaf's `.grad` (an ndarray).

        `gradient` (shaped like self) is needed unless self has one element. The graph's saved
        values are freed unless `retain_graph=True`. `create_graph=True` records the backward
        pass too (and keeps the graph); since `.grad` is a plain array, take gradients you want
        to differentiate again from `mg.grad(..., create_graph=True)`, which returns Tensors.
        """
        engine.backward(self, gradient, retain_graph, create_graph)

    # ---- in place: each bumps the version counter, so a backward that saved the old values
    # raises instead of giving a wrong gradient. On a leaf that requires grad they are refused
    # while grad mode is on (use `with mg.no_grad():`, as optimizers and nn.init do).
    def add_(self, other, alpha=1):
        """self += alpha * other"""
        return self._in_place("add_", lambda old: old + _scaled(other, alpha))

    def sub_(self, other, alpha=1):
        """self -= alpha * other"""
        if (alpha == 1 and type(other) is np.ndarray and other.shape == self.data.shape
                and not _state.grad_enabled and self.data.flags.writeable):
            return self._write("sub_", other, np.subtract)  # an optimizer's step: one pass
        return self._in_place("sub_", lambda old: old - _scaled(other, alpha))

    def mul_(self, other):
        return self._in_place("mul_", lambda old: old * other)

    def div_(self, other):
        return self._in_place("div_", lambda old: old / other)

    def clamp_(self, min=None, max=None):  # noqa: A002 (PyTorch's names)
        return self._in_place("clamp_", lambda old: old.clip(min, max))

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        return self._in_place("fill_", lambda old: Tensor._wrap(np.full_like(old.data, value)))

    def copy_(self, src):
        """Copy `src` (a Tensor, array or number broadcastable to self's shape) into self."""
        if (type(src) is np.ndarray and src.shape == self.data.shape and not _state.grad_enabled
                and self.data.flags.writeable):  # an optimizer's step, nn.init: the short way
            return self._write("copy_", src)
        src_shape = np.shape(_data(src))
        try:
            if src_shape != self.shape:
                np.broadcast_shapes(src_shape, self.shape)
        except ValueError:
            raise ValueError(f"copy_: source of shape {src_shape} does not broadcast to shape "
                             f"{self.shape}") from None
        if isinstance(src, Tensor) and src.requires_grad and _state.grad_enabled:  # recorded
            return self._in_place("copy_", lambda old: src.broadcast_to(self.shape))  # a copy
        return self._in_place("copy_", lambda old: _data(src))

    def __setitem__(self, index, value):
        self._in_place(f"setitem[{index!r}]", lambda old: ops.set_item(old, _index(index), value))

    def _in_place(self, name, compute):
        """Replace self's values by `compute(old)` (a Tensor broadcastable to self's shape).

        Not recorded (grad mode off, or nothing requires grad): written into the same array, so
        views of `.data` see it. Recorded (self or an operand requires grad, grad mode on): self
        takes the result's new array and node, as in PyTorch (a constant result, like fill_,
        cuts the gradient through the old values); ops recorded earlier keep the old values
        (they hold the old array and node). Either way the version goes up, so a backward that
        saved self raises instead of using the new values."""
        if self.requires_grad and self.grad_fn is None and _state.grad_enabled:
            raise RuntimeError(
                f"{name}: in-place change of a leaf tensor that requires grad (shape "
                f"{self.shape}) while grad mode is on; wrap it in `with mg.no_grad():` (as "
                f"optimizers do) or work on a copy"
            )
        if not self.data.flags.writeable:
            raise ValueError(f"{name}: the tensor's array (shape {self.shape}) is read-only")
        new = compute(Tensor._wrap(self.data, self.grad_fn) if self.grad_fn else self)
        if not isinstance(new, Tensor):  # copy_'s source: an array or a number
            if _state.grad_enabled and self.requires_grad:
                new = Tensor._wrap(np.array(new, dtype=self.dtype))  # self's own copy
            else:
                new = Tensor._wrap(np.asarray(new))
        if _state.grad_enabled and (new.requires_grad or self.requires_grad):
            if np.broadcast_shapes(new.shape, self.shape) != self.shape:
                raise ValueError(f"{name}: the result's shape {new.shape} does not fit the "
                                 f"tensor's shape {self.shape}")
            if new.shape != self.shape:  # broadcast_to copies: the new array is self's own
                new = new.broadcast_to(self.shape)
            if new.dtype != self.dtype:
                if new.requires_grad:
                    raise TypeError(f"{name}: result dtype {new.dtype} differs from the "
                                    f"tensor's {self.dtype}")
                new = Tensor._wrap(new.data.astype(self.dtype))
            self.data, self.grad_fn, self.requires_grad = new.data, new.grad_fn, new.requires_grad
            if self._name is not None and self.grad_fn is not None:
                self.grad_fn.label = self._name
            self._version += 1
            self._written = _clock.write()
            return self
        return self._write(name, new.data)

    def _write(self, name, values, ufunc=None):
        """Write `values` into self's array (or `ufunc(self, values)`), not recorded; the
        version goes up."""
        if self.data.base is not None:  # a view (a slice, a reshape): write into an array of
            self.data = self.data.copy()  # its own, never into another tensor's behind its back
        try:
            if ufunc is None:
                np.copyto(self.data, values, casting="same_kind")
            else:
                ufunc(self.data, values, out=self.data, casting="same_kind")
        except (TypeError, ValueError) as e:
            kind = TypeError if isinstance(e, TypeError) else ValueError  # not NumPy's subclass
            raise kind(f"{name}: {e} (tensor shape {self.shape}, dtype {self.dtype})") from None
        self._version += 1
        self._written = _clock.write()
        if self.grad_fn is not None:  # its saved output is gone, and ops that used it kept the
            node = self.grad_fn  # array by this node (Context.check)
            node.dirty = node.watch = True
            node._written = self._written
        return self

    # ---- NumPy's protocol: np.exp(t), np.maximum(t, 0), ndarray * t call the engine's ops
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return ops.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):  # np.sum(t), np.concatenate([t, u])
        return ops.array_function(func, types, args, kwargs)

    # ---- arithmetic (each one line: the op lives in ops.py) -----------------------------------
    def __add__(self, other):
        return ops.Add.apply(self, other)

    def __radd__(self, other):
        return ops.Add.apply(other, self)

    def __sub__(self, other):
        return ops.Sub.apply(self, other)

    def __rsub__(self, other):
        return ops.Sub.apply(other, self)

    def __mul__(self, other):
        return ops.Mul.apply(self, other)

    def __rmul__(self, other):
        return ops.Mul.apply(other, self)

    def __truediv__(self, other):
        return ops.Div.apply(self, other)

    def __rtruediv__(self, other):
        return ops.Div.apply(other, self)

    def __pow__(self, other):
        return ops.Pow.apply(self, other)

    def __rpow__(self, other):
        return ops.Pow.apply(other, self)

    def __matmul__(self, other):
        return ops.MatMul.apply(self, other)

    def __rmatmul__(self, other):
        return ops.MatMul.apply(other, self)

    def __neg__(self):
        return ops.Neg.apply(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return ops.Abs.apply(self)

    # ---- comparisons: boolean tensors, never differentiable ----------------------------------
    def __lt__(self, other):
        return Tensor._wrap(self.data < _data(other))

    def __le__(self, other):
        return Tensor._wrap(self.data <= _data(other))

    def __gt__(self, other):
        return Tensor._wrap(self.data > _data(other))

    def __ge__(self, other):
        return Tensor._wrap(self.data >= _data(other))

    def __eq__(self, other):
        return Tensor._wrap(self.data == _data(other))

    def __ne__(self, other):
        return Tensor._wrap(self.data != _data(other))

    # ---- elementwise --------------------------------------------------------------------------
    def exp(self):
        return ops.Exp.apply(self)

    def log(self):
        return ops.Log.apply(self)

    def sqrt(self):
        return ops.Sqrt.apply(self)

    def abs(self):
        return ops.Abs.apply(self)

    def tanh(self):
        return ops.Tanh.apply(self)

    def sigmoid(self):
        return ops.Sigmoid.apply(self)

    def relu(self):
        return ops.Relu.apply(self)

    def leaky_relu(self, negative_slope=0.01):
        return ops.LeakyRelu.apply(self, negative_slope=negative_slope)

    def softplus(self):
        return ops.Softplus.apply(self)

    def clip(self, min=None, max=None):  # noqa: A002 (NumPy's and PyTorch's names)
        return ops.Clip.apply(self, lo=min, hi=max)

    # ---- reductions ---------------------------------------------------------------------------
    def sum(self, axis=None, keepdims=False):
        return ops._reduce(ops.Sum, self, _axis(axis), keepdims)

    def mean(self, axis=None, keepdims=False):
        return ops.mean(self, axis=_axis(axis), keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return ops.Max.apply(self, axis=_axis(axis), keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return ops.minimum_reduce(self, axis=_axis(axis), keepdims=keepdims)

    def logsumexp(self, axis=None, keepdims=False):
        return ops.LogSumExp.apply(self, axis=_axis(axis), keepdims=keepdims)

    def softmax(self, axis=-1):
        return ops.Softmax.apply(self, axis=axis)

    def log_softmax(self, axis=-1):
        return ops.LogSoftmax.apply(self, axis=axis)

    # ---- shape --------------------------------------------------------------------------------
    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return ops.Reshape.apply(self, shape=shape)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return ops.Transpose.apply(self, axes=axes or None)

    def swapaxes(self, axis1, axis2):
        axes = list(range(self.ndim))
        if not all(-self.ndim <= a < self.ndim for a in (axis1, axis2)):
            raise ValueError(f"swapaxes: axes ({axis1}, {axis2}) out of range for shape "
                             f"{self.shape}")
        axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
        return ops.Transpose.apply(self, axes=tuple(axes))

    def flatten(self):
        return ops.Reshape.apply(self, shape=(-1,))

    def broadcast_to(self, shape):
        return ops.BroadcastTo.apply(self, shape=tuple(shape))

    def __getitem__(self, index):
        return ops.GetItem.apply(self, index=_index(index))

    # ---- NumPy-style ops (each one line: the op or its composite lives in ops.py) -------------
    def sin(self):
        return ops.Sin.apply(self)

    def cos(self):
        return ops.Cos.apply(self)

    def tan(self):
        return ops.Tan.apply(self)

    def arctan(self):
        return ops.Arctan.apply(self)

    def sinh(self):
        return ops.Sinh.apply(self)

    def cosh(self):
        return ops.Cosh.apply(self)

    def log1p(self):
        return ops.Log1p.apply(self)

    def expm1(self):
        return ops.Expm1.apply(self)

    def log2(self):
        return ops.Log2.apply(self)

    def log10(self):
        return ops.Log10.apply(self)

    def reciprocal(self):
        return ops.Reciprocal.apply(self)

    def sign(self):
        return ops.Sign.apply(self)

    def square(self):
        return ops.Square.apply(self)

    def maximum(self, other):
        return ops.Maximum.apply(self, other)

    def minimum(self, other):
        return ops.Minimum.apply(self, other)

    def logaddexp(self, other):
        return ops.LogAddExp.apply(self, other)

    def prod(self, axis=None, keepdims=False):
        return ops.Prod.apply(self, axis=_axis(axis), keepdims=keepdims)

    def var(self, axis=None, ddof=0, keepdims=False):
        return ops.var(self, axis=_axis(axis), ddof=ddof, keepdims=keepdims)

    def std(self, axis=None, ddof=0, keepdims=False):
        return ops.std(self, axis=_axis(axis), ddof=ddof, keepdims=keepdims)

    def cumsum(self, axis=None):
        return ops.Cumsum.apply(self, axis=axis)

    def argmax(self, axis=None, keepdims=False):
        return ops.Argmax.apply(self, axis=axis, keepdims=keepdims)

    def argmin(self, axis=None, keepdims=False):
        return ops.Argmin.apply(self, axis=axis, keepdims=keepdims)

    def norm(self, axis=None, keepdims=False):
        """The 2-norm over `axis` (all elements by default); its gradient at 0 is 0."""
        return ops.Norm.apply(self, axis=_axis(axis), keepdims=keepdims)

    def squeeze(self, axis=None):
        return ops.squeeze(self, axis)

    def expand_dims(self, axis):
        return ops.expand_dims(self, axis)

    unsqueeze = expand_dims  # PyTorch's name

    def flip(self, axis=None):
        return ops.Flip.apply(self, axis=axis)

    def repeat(self, repeats, axis=None):
        return ops.repeat(self, repeats, axis)

    def tile(self, reps):
        return ops.tile(self, reps)

    def pad(self, pad_width, mode="constant", constant_values=0):
        return ops.pad(self, pad_width, mode, constant_values)

    def split(self, indices_or_sections, axis=0):
        return ops.split(self, indices_or_sections, axis)

    def moveaxis(self, source, destination):
        return ops.moveaxis(self, source, destination)

    def tril(self, k=0):
        return ops.tril(self, k)

    def triu(self, k=0):
        return ops.triu(self, k)

    def diagonal(self, offset=0, axis1=0, axis2=1):
        return ops.diagonal(self, offset, axis1, axis2)

    def trace(self, offset=0, axis1=0, axis2=1):
        return ops.trace(self, offset, axis1, axis2)

    def astype(self, dtype):
        """A copy in `dtype`; between float dtypes the graph goes on (the gradient is cast back)."""
        return ops.AsType.apply(self, dtype=np.dtype(dtype))

    def dot(self, other):
        return ops.dot(self, other)

    def outer(self, other):
        return ops.outer(self, other)


_new = object.__new__


def _data(x):
    return x.data if isinstance(x, Tensor) else x


class _HookHandle:
    __slots__ = ("hooks", "hook")

    def __init__(self, hooks, hook):
        self.hooks, self.hook = hooks, hook

    def remove(self):
        if self.hook in self.hooks:
            self.hooks.remove(self.hook)


def _scaled(other, alpha):
    return other if alpha == 1 else other * alpha


def _axis(axis):
    """An axis argument as the ops expect it: None, an int or a tuple of ints (NumPy integers
    and lists accepted)."""
    if axis is None:
        return None
    if isinstance(axis, (list, tuple)):
        return tuple(operator.index(a) for a in axis)
    return operator.index(axis)


def _index(index):
    """Tensors inside an index become their arrays; lists stay lists (integer-array indexing)."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index


from . import engine, ops  # noqa: E402  (ops and engine need Tensor defined first)
