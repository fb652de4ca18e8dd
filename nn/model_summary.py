"""`nn.summary(model, input_shape)`: a table of layers, output shapes and parameter counts.

    >>> print(nn.summary(model, (1, 1, 8, 8)))      # input_shape includes the batch axis
    Layer (type)           Output shape        Param #
    ==================================================
    0 (Conv2d)             (1, 8, 8, 8)             80
    ...

One forward pass on zeros of `input_shape`, under `mg.no_grad()` and in eval mode (so BatchNorm's
running statistics and Dropout are untouched; the mode is restored after), records the output
shape of every sub-module call, in call order, indented by nesting depth.
"""

import numpy as np

import microgradnp as mg
from microgradnp import Tensor

from .module import Module


class Summary:
    """What `nn.summary` returns; prints as the table. `rows`: (depth, name, type, output
    shape, own parameter count) per call; `total_params`, `trainable_params`,
    `non_trainable_params`, `input_shape`, `output_shape`."""

    def __init__(self, model_name, rows, total, trainable, input_shape, output_shape):
        self.model_name, self.rows = model_name, [tuple(r) for r in rows]
        self.total_params, self.trainable_params = total, trainable
        self.non_trainable_params = total - trainable
        self.input_shape, self.output_shape = input_shape, output_shape

    def __str__(self):
        head = ("Layer (type)", "Output shape", "Param #")
        body = [(f"{'  ' * depth}{name} ({kind})", str(shape), f"{count:,}")
                for depth, name, kind, shape, count in self.rows]
        w0 = max(len(r[0]) for r in [head, *body])
        w1 = max(len(r[1]) for r in [head, *body])
        w2 = max(len(r[2]) for r in [head, *body])
        width = w0 + w1 + w2 + 6
        lines = [f"{self.model_name}: input {self.input_shape} -> output {self.output_shape}",
                 f"{head[0]:<{w0}}   {head[1]:<{w1}}   {head[2]:>{w2}}", "=" * width]
        lines += [f"{a:<{w0}}   {b:<{w1}}   {c:>{w2}}" for a, b, c in body]
        lines += ["=" * width, f"Total params: {self.total_params:,}",
                  f"Trainable params: {self.trainable_params:,}",
                  f"Non-trainable params: {self.non_trainable_params:,}"]
        return "\n".join(lines)

    __repr__ = __str__


def summary(model, input_shape, dtype=np.float64):
    """Run `model` once on zeros of `input_shape` (batch axis included) and tabulate every
    sub-module call: its dotted name, type, output shape and own parameter count."""
    if not isinstance(model, Module):
        raise TypeError(f"summary: expected an nn.Module, got {type(model).__name__}")
    input_shape = (input_shape,) if isinstance(input_shape, int) else tuple(input_shape)
    rows = []
    depth = {"": -1}
    wrapped = []
    for name, m in model.named_modules():
        if name:
            depth[name] = name.count(".")
            wrapped.append(m)
            _record_calls(m, name, depth[name], rows)
    was_training = model.training
    model.eval()
    try:
        with mg.no_grad():
            out = model(Tensor(np.zeros(input_shape, dtype=dtype)))
    finally:
        for m in wrapped:
            object.__delattr__(m, "forward")  # back to the class's forward
        model.train(was_training)
    params = list(model.parameters())
    total = sum(p.size for p in params)
    trainable = sum(p.size for p in params if p.requires_grad)
    return Summary(type(model).__name__, rows, total, trainable, input_shape, _shape(out))


def _record_calls(module, name, depth, rows):
    """Shadow module.forward with a wrapper that appends a row after each call."""
    forward = module.forward
    own = sum(p.size for p in module._parameters.values() if p is not None)

    def recording_forward(*args, **kwargs):
        row = [depth, name, type(module).__name__, None, own]
        rows.append(row)  # appended before the call, so a container precedes its children
        out = forward(*args, **kwargs)
        row[3] = _shape(out)
        return out

    object.__setattr__(module, "forward", recording_forward)


def _shape(out):
    if isinstance(out, (Tensor, np.ndarray)):
        return tuple(out.shape)
    if isinstance(out, (tuple, list)):
        return [_shape(o) for o in out]
    return type(out).__name__


__all__ = ["Summary", "summary"]
