"""`Module` and `Parameter`: the building blocks every layer and model is made of.

A Module owns Parameters and sub-Modules, registered automatically when assigned as attributes:

    class MLP(nn.Module):                       MLP
        def __init__(self):                     ├── hidden: Linear   hidden.weight (16, 2)
            super().__init__()                  │                    hidden.bias   (16,)
            self.hidden = nn.Linear(2, 16)      └── out: Linear      out.weight    (1, 16)
            self.out = nn.Linear(16, 1)                              out.bias      (1,)

        def forward(self, x):
            return self.out(self.hidden(x).relu())

Calling a module runs `forward` inside `mg.name_scope(...)`, so graph pictures group its ops under
"hidden: Linear(2→16)". State dicts use PyTorch's names and layouts, so they load into the
matching `torch.nn` model unchanged. Besides Parameters a module may hold buffers
(`register_buffer`): state without a gradient, such as BatchNorm's running statistics, saved and
loaded with the parameters.
"""

from collections import OrderedDict, namedtuple

import numpy as np

from microgradnp import Tensor, name_scope, no_grad


class Parameter(Tensor):
    """A leaf Tensor with `requires_grad=True` that a Module registers as one of its weights.

    `Parameter(data)` copies `data`; float64 unless `data` is already float32 (or float16).
    """

    __slots__ = ()  # Tensor uses __slots__: a subclass adds none

    def __init__(self, data, requires_grad=True):
        if isinstance(data, Tensor):
            data = data.data
        data = np.array(data)  # a copy: the parameter owns its storage
        if data.dtype.kind != "f":
            data = data.astype(np.float64)
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class StateDictError(RuntimeError, KeyError, ValueError):
    """A state dict that does not fit the module (missing, unexpected or wrong-shape keys).

    Raised by `load_state_dict` before anything is copied. It is a RuntimeError (as in PyTorch),
    a KeyError and a ValueError, so any of those `except` clauses catches it.
    """

    __str__ = BaseException.__str__  # not KeyError's quoted form


class Module:
    """Base class of every layer and model: subclass it, assign layers in `__init__`, write
    `forward`. Call the module (`model(x)`), not `forward`, so name scopes are recorded."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_scope", name_scope(type(self).__name__))

    # ---- registration -------------------------------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() is called: put "
                f"super().__init__() first in {type(self).__name__}.__init__"
            )
        params, modules, buffers = self._parameters, self._modules, self._buffers
        if isinstance(value, Parameter):
            modules.pop(name, None)
            buffers.pop(name, None)
            self.__dict__.pop(name, None)
            params[name] = value
        elif isinstance(value, Module):
            params.pop(name, None)
            buffers.pop(name, None)
            self.__dict__.pop(name, None)
            value._set_name(name)
            modules[name] = value
        elif name in buffers:
            if value is not None and not isinstance(value, (Tensor, np.ndarray)):
                raise TypeError(f"cannot assign {type(value).__name__} as buffer {name!r} of "
                                f"{type(self).__name__}: it must be a Tensor (or None)")
            buffers[name] = _buffer(value)
        elif name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as parameter {name!r} of "
                    f"{type(self).__name__}: wrap it in nn.Parameter(...) (or assign None)"
                )
            params[name] = None
        elif name in modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as sub-module {name!r} of "
                    f"{type(self).__name__}: it must be an nn.Module (or None)"
                )
            modules[name] = None
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):  # only called when normal lookup fails
        d = self.__dict__
        if "_parameters" in d and name in d["_parameters"]:
            return d["_parameters"][name]
        if "_modules" in d and name in d["_modules"]:
            return d["_modules"][name]
        if "_buffers" in d and name in d["_buffers"]:
            return d["_buffers"][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name):
        if name in self._parameters:
            del self._parameters[name]
        elif name in self._modules:
            del self._modules[name]
        elif name in self._buffers:
            del self._buffers[name]
            self._non_persistent_buffers.discard(name)
        else:
            object.__delattr__(self, name)

    def register_parameter(self, name, param):
        """Register `param` (a Parameter or None) under `name`, like attribute assignment."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter({name!r}): expected a Parameter or None, got "
                            f"{type(param).__name__}")
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Register `tensor` (a Tensor, an array, or None) as a buffer: state that is not a
        parameter (no gradient, not in `parameters()`), e.g. BatchNorm's running mean. Read it
        as `self.name`; a persistent buffer is in `state_dict` and loaded by `load_state_dict`."""
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"register_buffer: the name must be a non-empty string without '.'; "
                           f"got {name!r}")
        if (name in self._parameters or name in self._modules
                or (hasattr(self, name) and name not in self._buffers)):
            raise KeyError(f"register_buffer: attribute {name!r} already exists on "
                           f"{type(self).__name__}")
        if tensor is not None and not isinstance(tensor, (Tensor, np.ndarray)):
            raise TypeError(f"register_buffer({name!r}): expected a Tensor or None, got "
                            f"{type(tensor).__name__}")
        self._buffers[name] = _buffer(tensor)
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name, module):
        """Register `module` (a Module or None) under `name`, like attribute assignment."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module({name!r}): expected a Module, got "
                            f"{type(module).__name__}")
        if module is not None:
            module._set_name(name)
        self._modules[str(name)] = module

    def _set_name(self, name):
        """Remember the name this module is registered under (its label in graph pictures)."""
        short = self._short_repr()
        label = f"{name}: {type(self).__name__}" + (f"({short})" if short else "")
        object.__setattr__(self, "_scope", name_scope(label))  # entered on every call

    # ---- calling ------------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward(...)")

    def __call__(self, *args, **kwargs):
        """Run `forward` inside this module's name scope; NumPy arrays become Tensors."""
        if args and type(args[0]) is not Tensor:
            args = tuple(Tensor(a) if isinstance(a, (np.ndarray, np.generic)) else a
                         for a in args)
        with self._scope:
            return self.forward(*args, **kwargs)

    # ---- traversal ----------------------------------------------------------------------------
    def named_modules(self, prefix=""):
        """(dotted name, module) for this module ("") and every descendant, depth first."""
        stack, seen = [(prefix, self)], set()
        while stack:
            name, m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            yield name, m
            children = [(f"{name}.{n}" if name else n, c) for n, c in m._modules.items()
                        if c is not None]
            stack.extend(reversed(children))

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def apply(self, fn):
        """Call `fn(module)` on every sub-module (children first) and then on self; returns self.
        The usual way to initialise a model: `model.apply(init_weights)` with `nn.init`."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def named_children(self):
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, Parameter) pairs, e.g. ("layers.0.weight", ...); a shared (tied)
        Parameter once, unless `remove_duplicate=False` (then under each of its names, as
        `state_dict` lists it, like PyTorch)."""
        seen = set()
        mods = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mod_name, m in mods:
            for name, p in m._parameters.items():
                if p is None or (remove_duplicate and id(p) in seen):
                    continue
                seen.add(id(p))
                yield (f"{mod_name}.{name}" if mod_name else name), p

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, Tensor) pairs of the buffers, e.g. ("bn.running_mean", ...)."""
        seen = set()
        mods = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mod_name, m in mods:
            for name, b in m._buffers.items():
                if b is None or (remove_duplicate and id(b) in seen):
                    continue
                seen.add(id(b))
                yield (f"{mod_name}.{name}" if mod_name else name), b

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def num_parameters(self):
        """The total number of scalar weights (each shared Parameter counted once)."""
        return sum(p.size for p in self.parameters())

    # ---- modes and gradients ------------------------------------------------------------------
    def train(self, mode=True):
        """Set training mode (Dropout active) here and in every sub-module; returns self."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        """Set evaluation mode (Dropout off) here and in every sub-module; returns self."""
        return self.train(False)

    def zero_grad(self, set_to_none=True):
        """Forget every parameter's gradient (`.grad = None`, or zeros with set_to_none=False)."""
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad = np.zeros_like(p.data)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    # ---- state --------------------------------------------------------------------------------
    def _named_state(self):
        """(dotted name, Tensor) for what `state_dict` holds, in PyTorch's order: each module's
        parameters, then its persistent buffers, then its children's."""
        for mod_name, m in self.named_modules():
            prefix = f"{mod_name}." if mod_name else ""
            for name, p in m._parameters.items():
                if p is not None:
                    yield prefix + name, p
            for name, b in m._buffers.items():
                if b is not None and name not in m._non_persistent_buffers:
                    yield prefix + name, b

    def state_dict(self):
        """OrderedDict dotted name -> ndarray copy (PyTorch's names and layouts): parameters
        and persistent buffers (e.g. "bn.running_mean", "bn.num_batches_tracked")."""
        return OrderedDict((name, t.data.copy()) for name, t in self._named_state())

    def load_state_dict(self, state_dict, strict=True):
        """Copy arrays from `state_dict` into the parameters and buffers, in place.

        Everything is checked first: missing keys and unexpected keys (when `strict`) and
        wrong shapes (always) are listed together in one `StateDictError`, and then nothing has
        been copied. Returns `IncompatibleKeys(missing_keys, unexpected_keys)` as PyTorch does.
        """
        params = dict(self._named_state())
        arrays, problems = {}, []
        for name, value in state_dict.items():
            if name in params:
                a = np.asarray(value.data if isinstance(value, Tensor) else value)
                p = params[name]
                if a.shape != p.shape:
                    problems.append(f"wrong shape for {name!r}: the state dict has {a.shape}, the "
                                    f"model expects {p.shape}")
                elif a.dtype.kind not in "fiub":
                    problems.append(f"non-numeric value for {name!r} (dtype {a.dtype})")
                elif not np.can_cast(a.dtype, p.dtype, "same_kind"):
                    problems.append(f"wrong dtype for {name!r}: the state dict has {a.dtype}, "
                                    f"the model holds {p.dtype}")
                elif not p.data.flags.writeable:
                    problems.append(f"{name!r} is a read-only array (cannot be loaded in place)")
                else:
                    arrays[name] = a
        missing = [k for k in params if k not in state_dict]
        unexpected = [k for k in state_dict if k not in params]
        if strict and missing:
            problems.insert(0, f"missing keys: {', '.join(map(repr, missing))}")
        if strict and unexpected:
            problems.insert(1 if strict and missing else 0,
                            f"unexpected keys: {', '.join(map(repr, unexpected))}")
        if problems:
            raise StateDictError(
                f"cannot load state dict into {type(self).__name__} (nothing was loaded):\n  "
                + "\n  ".join(problems)
            )
        with no_grad():  # in place (optimizers keep the same array), version bumped
            for name, a in arrays.items():
                params[name].copy_(a)
        return IncompatibleKeys(missing, unexpected)

    # ---- repr ---------------------------------------------------------------------------------
    def extra_repr(self):
        """The text inside the parentheses of this module's repr (override in layers)."""
        return ""

    def _short_repr(self):
        """The short form used in name-scope labels, e.g. "2→16" for a Linear (default: none)."""
        return ""

    def _repr_lines(self):
        lines = [f"({name}): " + _indent(repr_nested(m)) for name, m in self._modules.items()
                 if m is not None]
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        body = ([extra] if extra else []) + lines
        return f"{type(self).__name__}(\n  " + "\n  ".join(body) + "\n)"

    def __repr__(self):
        n = self.num_parameters()
        text = self._repr_lines()
        return text + f"  # {n:,} parameter{'s' * (n != 1)}" if n else text


def _buffer(value):
    """A buffer as stored: a Tensor (an array is wrapped, not copied) or None."""
    return Tensor(value) if isinstance(value, np.ndarray) else value


def repr_nested(m):
    """A sub-module's repr inside its parent's: with its own parameter count if it has weights
    itself (a Linear), without for containers (their total is the sum of their children's)."""
    text = m._repr_lines()
    if m._parameters and not m._modules:
        n = m.num_parameters()
        text += f"  # {n:,}"
    return text


def _indent(text):
    return text.replace("\n", "\n  ")


__all__ = ["IncompatibleKeys", "Module", "Parameter", "StateDictError"]
