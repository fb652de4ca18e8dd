"""Layers: `Linear`, the containers `Sequential` and `Identity`, `Dropout`, and activations.

Each layer's math is a line: `Linear` calls the fused `functional.linear`, activations call the
engine's Tensor methods. Names and weight layouts are PyTorch's, so state dicts are compatible.
"""

import math
from collections import OrderedDict

import numpy as np

import microgradnp as mg

from . import functional as F
from .module import Module, Parameter

# ============================================================================ linear


class Linear(Module):
    """y = x @ weight.T + bias. x (..., in_features) -> y (..., out_features).

    weight (out_features, in_features) and bias (out_features,) start uniform in
    (-1/sqrt(in_features), 1/sqrt(in_features)), PyTorch's default (kaiming_uniform with
    a=sqrt(5)), drawn from `mg.default_generator()`, so `mg.manual_seed(n)` reproduces them.
    """

    def __init__(self, in_features, out_features, bias=True, dtype=np.float64):
        super().__init__()
        for name, n in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
                raise ValueError(f"Linear: {name} must be a non-negative integer; got {n!r}")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype))
        self.bias = Parameter(np.empty(out_features, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        """Redraw weight and bias from U(-1/sqrt(in_features), 1/sqrt(in_features))."""
        rng = mg.default_generator()
        bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
        with mg.no_grad():  # in place, version bumped: a graph that used the old weights refuses
            self.weight.copy_(rng.uniform(-bound, bound, self.weight.shape))
            if self.bias is not None:
                self.bias.copy_(rng.uniform(-bound, bound, self.bias.shape))

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")

    def _short_repr(self):
        return f"{self.in_features}→{self.out_features}"


# ============================================================================ containers


class Sequential(Module):
    """Modules applied in order: `Sequential(Linear(2, 16), ReLU(), Linear(16, 1))`.

    Indexable (`seq[0]`, `seq[-1]`, a slice gives a new Sequential of the same modules),
    iterable, `len()`, `append(module)`. An OrderedDict of name -> module names the children.
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, m in modules[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(modules):
                if not isinstance(m, Module):
                    raise TypeError(f"Sequential: argument {i} is a {type(m).__name__}, not an "
                                    f"nn.Module (did you mean nn.ReLU() rather than nn.ReLU?)")
                self.add_module(str(i), m)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def __getitem__(self, index):
        mods = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(OrderedDict(list(self._modules.items())[index]))
        try:
            return mods[index]
        except IndexError:
            raise IndexError(f"Sequential index {index} out of range for {len(mods)} "
                             f"modules") from None

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        """Add `module` at the end; returns self."""
        if not isinstance(module, Module):
            raise TypeError(f"Sequential.append: expected an nn.Module, got "
                            f"{type(module).__name__}")
        self.add_module(str(len(self)), module)
        return self


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. for an optional layer)."""

    def forward(self, x):
        return x


class Dropout(Module):
    """Inverted dropout: in training, zero each element with probability p and scale the rest
    by 1/(1-p); the identity after `.eval()`."""

    def __init__(self, p=0.5):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: p must be in [0, 1]; got {p}")
        self.p = float(p)

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"

    def _short_repr(self):
        return f"p={self.p}"


# ============================================================================ activations


class ReLU(Module):
    """max(x, 0), elementwise."""

    def forward(self, x):
        return x.relu()


class Tanh(Module):
    def forward(self, x):
        return x.tanh()


class Sigmoid(Module):
    """1 / (1 + e^-x), elementwise and stable for large |x|."""

    def forward(self, x):
        return x.sigmoid()


class LeakyReLU(Module):
    """x for x > 0, negative_slope * x otherwise."""

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return x.leaky_relu(self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Softplus(Module):
    """log(1 + e^x), elementwise and stable."""

    def forward(self, x):
        return x.softplus()


class Softmax(Module):
    """exp(x) / sum(exp(x)) along `dim` (the last axis by default)."""

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return x.softmax(axis=self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log(softmax(x)) along `dim`, computed stably."""

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return x.log_softmax(axis=self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"
