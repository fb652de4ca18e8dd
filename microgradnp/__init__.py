"""microgradnp: a small, readable reverse-mode autograd engine on NumPy arrays."""

from . import datasets
from ._state import enable_grad, is_grad_enabled, name_scope, no_grad, set_grad_enabled
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
from .function import Context, Function
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .ops import concatenate, stack, where
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


def exp(x):
    return _t(x).exp()


def log(x):
    return _t(x).log()


def sqrt(x):
    return _t(x).sqrt()


def tanh(x):
    return _t(x).tanh()


def sigmoid(x):
    return _t(x).sigmoid()


def relu(x):
    return _t(x).relu()


def _t(x):
    return x if isinstance(x, Tensor) else Tensor(x)


__version__ = "0.1.0"

__all__ = [
    "BackpropStep", "backprop_steps", "render_backprop",
    "Context", "Function", "GradcheckError", "GraphvizNotFoundError", "Tensor", "arange",
    "backward", "concatenate", "datasets", "default_generator", "draw_graph", "enable_grad",
    "exp", "full", "grad", "gradcheck", "gradgradcheck", "graph_str", "is_grad_enabled", "log",
    "manual_seed", "name_scope", "no_grad", "ones", "ones_like", "print_graph", "rand", "randn",
    "relu", "render_graph", "retain_all_grads", "set_grad_enabled", "sigmoid", "sqrt", "stack",
    "tanh", "tensor", "where", "zeros", "zeros_like",
    "hessian", "hvp", "jacobian", "jvp", "vjp",
]
