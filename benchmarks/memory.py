"""Memory, measured with tracemalloc (which sees NumPy's array buffers, not PyTorch's).

`peak(fn)`: the most memory one call of fn had allocated at once, above what was there before.
`held_after_backward()`: what a kept `loss` still holds after a plain `backward()`.
"""

import gc
import tracemalloc

import numpy as np

import microgradnp as mg
import nn


def peak(fn):
    """Peak bytes allocated during one call of fn (after one untraced warm-up call)."""
    fn()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def held_after_backward(sizes=(256, 1024, 1024, 10), batch_size=512):
    """Train one step of an MLP (`nn`, float64) and keep `loss`. Returns a dict of bytes:
    `held` is what the graph behind `loss` still holds beyond the parameters, their gradients
    and the user's own tensors (the model, X, y) -- ~0 when backward frees the intermediates;
    `loss_alone` is what stays allocated once everything but `loss` is deleted (compare it with
    `parameters_and_grads`); `intermediates` is, for scale, what the forward allocated (the
    activations a graph that kept them would hold)."""
    gc.collect()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        rng = np.random.default_rng(0)
        X, y = mg.Tensor(rng.standard_normal((batch_size, sizes[0]))), rng.integers(0, 10,
                                                                                    batch_size)
        layers = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(n_in, n_out), nn.ReLU()]
        model, loss_fn = nn.Sequential(*layers[:-1]), nn.CrossEntropyLoss()
        user = tracemalloc.get_traced_memory()[0]
        loss = loss_fn(model(X), y)
        after_forward = tracemalloc.get_traced_memory()[0]
        loss.backward()
        gc.collect()
        grads = sum(p.grad.nbytes for p in model.parameters())
        parameters = grads + sum(p.data.nbytes for p in model.parameters())
        held = tracemalloc.get_traced_memory()[0] - user - grads
        del X, y, layers, model, loss_fn
        gc.collect()
        loss_alone = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    del loss
    return dict(held=held, loss_alone=loss_alone, parameters_and_grads=parameters,
                intermediates=after_forward - user)
