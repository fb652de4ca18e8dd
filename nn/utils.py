"""`nn.utils`: gradient clipping, `clip_grad_norm_` and `clip_grad_value_`, as PyTorch's.

    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)   # before optimizer.step()
    optimizer.step()

Both replace each `p.grad` by a clipped copy (never write into the gradient array itself: it may
be shared with the graph or another tensor).
"""

import math

import numpy as np

from microgradnp import Tensor


def _with_grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale all gradients together so that their total norm is at most `max_norm`.

    total_norm = the norm_type-norm of the vector of every gradient element (inf: the largest
    |element|); each grad is multiplied by min(1, max_norm / (total_norm + 1e-6)).
    Returns total_norm (before clipping) as a 0-d Tensor. A NaN/inf total norm raises a
    RuntimeError when `error_if_nonfinite`, else the gradients are scaled anyway (as PyTorch).
    `foreach` is accepted for PyTorch compatibility and ignored.
    """
    params = _with_grads(parameters)
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not params:
        return Tensor(np.array(0.0))
    if norm_type == math.inf:
        norms = [np.max(np.abs(p.grad)) if p.grad.size else 0.0 for p in params]
        total = float(np.max(norms))
    else:
        # ||g||_p of the whole set = (sum over tensors of ||g_i||_p^p)^(1/p)
        norms = [np.sum(np.abs(p.grad) ** norm_type) ** (1.0 / norm_type) for p in params]
        total = float(np.sum(np.asarray(norms) ** norm_type) ** (1.0 / norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is {total}, "
            f"so they cannot be clipped; set error_if_nonfinite=False to clip anyway")
    coef = min(max_norm / (total + 1e-6), 1.0)
    for p in params:
        p.grad = (p.grad * coef).astype(p.grad.dtype, copy=False)
    return Tensor(np.array(total))


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clip every gradient element into [-clip_value, clip_value] (`foreach` is ignored)."""
    clip_value = float(clip_value)
    for p in _with_grads(parameters):
        p.grad = np.clip(p.grad, -clip_value, clip_value)


__all__ = ["clip_grad_norm_", "clip_grad_value_"]
