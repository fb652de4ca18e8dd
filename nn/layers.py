"""Layers: `Linear`, `Embedding`, the containers, `Flatten`, `Dropout`, and activations.

Each layer's math is a line: `Linear` calls the fused `functional.linear`, activations call the
engine's Tensor methods. Names and weight layouts are PyTorch's, so state dicts are compatible.
"""

import math
from collections import OrderedDict

import numpy as np

import microgradnp as mg
from microgradnp.ops import call

from . import functional as F
from . import init
from ._special import NormalCDF
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
        # self.weight, self.bias, read from the registry: a registered parameter is found by
        # Module.__getattr__ only after the usual lookup fails (~6k instructions each)
        params = self._parameters
        return F.linear(x, params["weight"], params.get("bias"))  # no bias: None

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")

    def _short_repr(self):
        return f"{self.in_features}→{self.out_features}"


# ============================================================================ embedding


class EmbeddingOp(mg.Function):
    """out = weight[indices]: one row of the table per index (indices a constant)."""

    name = "embedding"
    formula = ("1 at the looked-up rows",)

    @staticmethod
    def forward(ctx, weight, *, indices, padding_idx):
        ctx.indices, ctx.padding_idx, ctx.num = indices, padding_idx, weight.shape[0]
        return weight[indices]

    @staticmethod
    def backward(ctx, grad):  # dweight[r] = sum of grad over the positions holding index r
        return call(EmbeddingBackward, grad, indices=ctx.indices, padding_idx=ctx.padding_idx,
                    num=ctx.num)


class EmbeddingBackward(mg.Function):
    """Scatter-add grad rows into a (num, dim) table at `indices` (padding_idx's row stays 0).
    Linear in grad: its derivative is the gather gg[indices] (zero at padding_idx)."""

    name = "embedding_backward"
    formula = ("gather at the indices",)

    @staticmethod
    def forward(ctx, grad, *, indices, padding_idx, num):
        ctx.indices, ctx.padding_idx = indices, padding_idx
        dim = grad.shape[-1]
        out = np.zeros((num, dim), dtype=grad.dtype)
        np.add.at(out, indices.reshape(-1), grad.reshape(-1, dim))
        if padding_idx is not None:
            out[padding_idx] = 0
        return out

    @staticmethod
    def backward(ctx, gg):
        rows = gg[ctx.indices]
        if ctx.padding_idx is None:
            return rows
        return rows * (ctx.indices != ctx.padding_idx)[..., None]


class Embedding(Module):
    """A lookup table: integer indices (any shape) -> rows of weight (num_embeddings,
    embedding_dim), so the output has shape indices.shape + (embedding_dim,).

    weight starts N(0, 1) (PyTorch's default), from `mg.default_generator()`. The row at
    `padding_idx` starts at zero and gets no gradient.
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, dtype=np.float64):
        super().__init__()
        for what, n in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
                raise ValueError(f"Embedding: {what} must be a positive integer; got {n!r}")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx={padding_idx} must be within "
                                 f"num_embeddings={num_embeddings}")
            padding_idx = int(padding_idx) % num_embeddings
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        self.padding_idx = padding_idx
        self.weight = Parameter(np.empty((num_embeddings, embedding_dim), dtype=dtype))
        self.reset_parameters()

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None):
        """An Embedding holding a copy of `embeddings` (2-D); frozen (no gradient) by default."""
        data = np.array(embeddings.data if isinstance(embeddings, mg.Tensor) else embeddings)
        if data.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D; got shape "
                             f"{data.shape}")
        emb = cls(data.shape[0], data.shape[1], padding_idx=padding_idx, dtype=data.dtype)
        init._write(emb.weight, data)
        emb.weight.requires_grad_(not freeze)
        return emb

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with mg.no_grad():
                self.weight[self.padding_idx] = 0.0

    def forward(self, indices):
        idx = np.asarray(indices.data if isinstance(indices, mg.Tensor) else indices)
        if idx.dtype.kind not in "iu":
            raise TypeError(f"Embedding: indices must be integers; got dtype {idx.dtype}")
        if idx.size and (idx.min() < 0 or idx.max() >= self.num_embeddings):
            bad = idx[(idx < 0) | (idx >= self.num_embeddings)]
            raise IndexError(f"Embedding: index {bad.flat[0]} is out of range for "
                             f"num_embeddings={self.num_embeddings} (valid: 0 to "
                             f"{self.num_embeddings - 1})")
        return EmbeddingOp.apply(self.weight, indices=idx, padding_idx=self.padding_idx)

    def extra_repr(self):
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None
                       else "")

    def _short_repr(self):
        return f"{self.num_embeddings}→{self.embedding_dim}"


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


class ModuleList(Module):
    """A list of modules, registered under "0", "1", ...: `ModuleList([Linear(2, 4), ...])`.

    Indexable (a slice gives a new ModuleList of the same modules), iterable, `len()`,
    `append`, `extend`, `insert`, `+=`, `del`. It has no forward: iterate over it in yours.
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _position(self, index):
        n = len(self._modules)
        if not -n <= index < n:
            raise IndexError(f"ModuleList index {index} out of range for {n} modules")
        return index % n

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ModuleList(list(self._modules.values())[index])
        return self._modules[str(self._position(index))]

    def __setitem__(self, index, module):
        self.add_module(str(self._position(index)), module)

    def __delitem__(self, index):
        mods = list(self._modules.values())
        if isinstance(index, slice):
            del mods[index]
        else:
            del mods[self._position(index)]
        self._modules.clear()  # renumber: "0", "1", ... stay contiguous, as in PyTorch
        for i, m in enumerate(mods):
            self.add_module(str(i), m)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __iadd__(self, modules):
        return self.extend(modules)

    def append(self, module):
        """Add `module` at the end; returns self."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        """Append each module of an iterable; returns self."""
        if isinstance(modules, Module) and not isinstance(modules, (ModuleList, Sequential)):
            raise TypeError(f"ModuleList.extend: expected an iterable of modules, got a "
                            f"{type(modules).__name__}; use append")
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        """Insert `module` before position `index`."""
        mods = list(self._modules.values())
        mods.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(mods):
            self.add_module(str(i), m)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList has no forward: iterate over it in your module's "
                                  "forward (for layer in self.layers: x = layer(x))")


class ModuleDict(Module):
    """An ordered dict of modules, registered under their keys: `ModuleDict({"enc": ...})`.

    `md[key]`, `md[key] = module`, `del md[key]`, `key in md`, `len()`, iteration over the
    keys, `keys()`, `values()`, `items()`, `update()`, `pop()`, `clear()`.
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        if key not in self._modules:
            raise KeyError(f"ModuleDict has no module {key!r}; keys: {list(self._modules)}")
        return self._modules[key]

    def __setitem__(self, key, module):
        if not isinstance(key, str):
            raise TypeError(f"ModuleDict keys must be strings; got {key!r}")
        self.add_module(key, module)

    def __delitem__(self, key):
        self[key]  # noqa: B018 (the KeyError naming the keys)
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def update(self, modules):
        """Add (key, module) pairs from a mapping or an iterable of pairs."""
        pairs = modules.items() if hasattr(modules, "items") else modules
        for key, module in pairs:
            self[key] = module

    def pop(self, key):
        module = self[key]
        del self._modules[key]
        return module

    def clear(self):
        self._modules.clear()

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleDict has no forward: call its modules in your "
                                  "module's forward (self.heads[name](x))")


class Flatten(Module):
    """Merge axes start_dim..end_dim into one: (N, C, H, W) -> (N, C*H*W) by default."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        shape = x.shape
        start, end = self.start_dim % max(x.ndim, 1), self.end_dim % max(x.ndim, 1)
        if x.ndim and (not -x.ndim <= self.start_dim < x.ndim or not -x.ndim <= self.end_dim
                       < x.ndim or start > end):
            raise ValueError(f"Flatten: start_dim={self.start_dim}, end_dim={self.end_dim} do not "
                             f"select axes of an input of shape {shape}")
        return x.reshape(shape[:start] + (-1,) + shape[end + 1:]) if x.ndim else x.reshape(1)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split axis `dim` into `unflattened_size`: Unflatten(1, (C, H, W)) undoes Flatten()."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x):
        shape = x.shape
        if not -x.ndim <= self.dim < x.ndim:
            raise ValueError(f"Unflatten: dim={self.dim} is out of range for an input of shape "
                             f"{shape}")
        d = self.dim % x.ndim
        sizes = self.unflattened_size
        known = math.prod(s for s in sizes if s != -1)
        if (sizes.count(-1) > 1 or (-1 not in sizes and known != shape[d])
                or (-1 in sizes and (known == 0 or shape[d] % known))):
            raise ValueError(f"Unflatten: cannot split axis {self.dim} of size {shape[d]} (input "
                             f"shape {shape}) into {sizes}")
        return x.reshape(shape[:d] + sizes + shape[d + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


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


class GELU(Module):
    """x Φ(x), Φ the standard normal CDF (the exact erf form, PyTorch's default);
    approximate="tanh": 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh'; got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        if self.approximate == "tanh":
            inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x)
            return 0.5 * x * (1 + inner.tanh())
        return x * NormalCDF.apply(x)

    def extra_repr(self):
        return f"approximate={self.approximate!r}" if self.approximate != "none" else ""


class ELU(Module):
    """x for x > 0, alpha (e^x - 1) otherwise."""

    def __init__(self, alpha=1.0):
        super().__init__()
        self.alpha = float(alpha)

    def forward(self, x):  # exp of min(x, 0): no overflow on the branch where() discards
        return mg.where(x.data > 0, x, self.alpha * (x.clip(max=0).exp() - 1))

    def extra_repr(self):
        return f"alpha={self.alpha}"


class SiLU(Module):
    """x sigmoid(x) (also called swish)."""

    def forward(self, x):
        return x * x.sigmoid()
