"""microgradnp: a small, readable reverse-mode autograd engine on NumPy arrays.

Reading order for the core (about an evening):
  1. tensor.py    the Tensor: an ndarray, its .grad, the node that made it; every method is one
                  line that calls an op
  2. function.py  Function (forward + backward + name) and Context, the graph node; how saved
                  values come back in backward, anomaly mode
  3. ops.py       every op, forward and vector-Jacobian product side by side: a formula sheet
  4. engine.py    backward and grad: the chain rule, newest node first, no recursion
  5. _state.py    grad mode, anomaly mode, name scopes (thread-local); factories.py
What only reads the graph lives apart: viz/ (pictures, the step-through page), gradcheck.py,
transforms.py (jacobian, hessian, ...), testing.py; datasets/ and demo.py sit beside them.
"""

from . import datasets
from . import tensor as _tensor  # noqa: F401  (first: function, engine and ops build on Tensor)
from ._state import (
    detect_anomaly,
    enable_grad,
    is_anomaly_enabled,
    is_grad_enabled,
    name_scope,
    no_grad,
    set_grad_enabled,
)
from .engine import backward, grad
from .factories import (
    arange,
    default_generator,
    full,
    manual_seed,
    ones,
    ones_like,
    rand,
    randn,
    tensor,
    zeros,
    zeros_like,
)
from .function import AnomalyError, Context, Function
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .ops import (
    arctan,
    argmax,
    argmin,
    concatenate,
    cos,
    cosh,
    cumsum,
    diagonal,
    dot,
    einsum,
    exp,
    expand_dims,
    expm1,
    flip,
    leaky_relu,
    log,
    log1p,
    log2,
    log10,
    log_softmax,
    logaddexp,
    maximum,
    minimum,
    moveaxis,
    outer,
    pad,
    prod,
    reciprocal,
    relu,
    repeat,
    sigmoid,
    sign,
    sin,
    sinh,
    softmax,
    softplus,
    split,
    sqrt,
    square,
    squeeze,
    stack,
    std,
    tan,
    tanh,
    tile,
    trace,
    tril,
    triu,
    var,
    where,
)
from .tensor import Tensor
from .transforms import hessian, hvp, jacobian, jvp, vjp
from .viz.backprop import BackpropStep, backprop_steps, render_backprop
from .viz.graph import (
    GraphvizNotFoundError,
    draw_graph,
    graph_str,
    print_graph,
    render_graph,
    retain_all_grads,
)

__version__ = "0.1.0"

__all__ = [
    "BackpropStep", "backprop_steps", "render_backprop",
    "Context", "Function", "GradcheckError", "GraphvizNotFoundError", "Tensor", "arange",
    "backward", "concatenate", "datasets", "default_generator", "draw_graph", "enable_grad",
    "exp", "full", "grad", "gradcheck", "gradgradcheck", "graph_str", "is_grad_enabled", "log",
    "manual_seed", "name_scope", "no_grad", "ones", "ones_like", "print_graph", "rand", "randn",
    "relu", "render_graph", "retain_all_grads", "set_grad_enabled", "sigmoid", "sqrt", "stack",
    "tanh", "tensor", "where", "zeros", "zeros_like", "AnomalyError", "detect_anomaly",
    "is_anomaly_enabled", "leaky_relu", "log_softmax", "softmax", "softplus",
    "hessian", "hvp", "jacobian", "jvp", "vjp",
    "arctan", "argmax", "argmin", "cos", "cosh", "cumsum", "diagonal", "dot", "einsum",
    "expand_dims", "expm1", "flip", "log10", "log1p", "log2", "logaddexp", "maximum", "minimum",
    "moveaxis", "outer", "pad", "prod", "reciprocal", "repeat", "sign", "sin", "sinh", "split",
    "square", "squeeze", "std", "tan", "tile", "trace", "tril", "triu", "var",
]
