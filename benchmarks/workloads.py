"""The benchmark workloads: each is a microgradnp implementation and a hand-written NumPy
implementation of exactly the same math, checked to agree before anything is timed.

A workload is a dict: group, name, numpy (a callable or None), mg (a callable), target (the
ratio mg / numpy to stay within, or None), and check (a callable asserting both sides compute
the same numbers; it raises AssertionError otherwise).
"""

import functools
import operator

import numpy as np

import microgradnp as mg


def _close(a, b, what, rtol=1e-10, atol=1e-12):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or not np.allclose(a, b, rtol=rtol, atol=atol):
        err = np.max(np.abs(a - b)) if a.shape == b.shape else "shape mismatch"
        raise AssertionError(f"{what}: microgradnp and NumPy disagree (max abs diff {err}; "
                             f"shapes {a.shape} and {b.shape})")


# ============================================================================ (a) op overhead

def _tiny_ops(an, bn, a, b):
    """name -> (NumPy call, microgradnp call): the same expression on ndarrays and on Tensors,
    each a partial of a C-level callable, so neither side pays an extra Python frame."""
    return {
        "a + b": (functools.partial(operator.add, an, bn), functools.partial(operator.add, a, b)),
        "a * b": (functools.partial(operator.mul, an, bn), functools.partial(operator.mul, a, b)),
        "a @ b": (functools.partial(operator.matmul, an, bn),
                  functools.partial(operator.matmul, a, b)),
        "relu(a)": (functools.partial(np.maximum, an, 0), functools.partial(mg.Tensor.relu, a)),
    }


TINY_VJPS = {  # name -> NumPy (forward, grad_a, grad_b) for an incoming gradient g
    "a * b": lambda a, b, g: (a * b, g * b, g * a),
    "a @ b": lambda a, b, g: (a @ b, g @ b.T, a.T @ g),
}


def op_overhead(shape=(4, 4)):
    rng = np.random.default_rng(0)
    an, bn, g = rng.standard_normal(shape), rng.standard_normal(shape), rng.standard_normal(shape)
    a, b = mg.Tensor(an), mg.Tensor(bn)
    ag, bg = mg.Tensor(an, requires_grad=True), mg.Tensor(bn, requires_grad=True)
    plain, recording = _tiny_ops(an, bn, a, b), _tiny_ops(an, bn, ag, bg)
    tag = f"{shape[0]}x{shape[1]}"
    out = []
    for name, (np_call, mg_call) in plain.items():
        mg_rec = recording[name][1]

        def check(np_call=np_call, mg_call=mg_call, mg_rec=mg_rec, name=name):
            _close(mg_call().data, np_call(), name)
            recorded = mg_rec()
            _close(recorded.data, np_call(), name + " (recorded)")
            assert recorded.grad_fn is not None and mg_call().grad_fn is None

        out.append(dict(group="op overhead", name=f"{name} {tag}, no grad", target=3.0,
                        numpy=np_call, mg=mg_call, check=check))
        out.append(dict(group="op overhead", name=f"{name} {tag}, recording", target=None,
                        numpy=np_call, mg=mg_rec, check=check))
    for name, vjp in TINY_VJPS.items():
        mg_rec = recording[name][1]

        def step(mg_rec=mg_rec):
            ag.grad = bg.grad = None
            mg_rec().backward(g)

        def check(vjp=vjp, step=step, name=name):
            step()
            _, ga, gb = vjp(an, bn, g)
            _close(ag.grad, ga, name + " grad a")
            _close(bg.grad, gb, name + " grad b")

        out.append(dict(group="op overhead", name=f"{name} {tag}, forward + backward",
                        target=None, numpy=lambda vjp=vjp: vjp(an, bn, g), mg=step, check=check))
    return out


# ============================================================================ (b) MLP step


def init_mlp(sizes=(64, 64, 10), seed=0):
    """PyTorch-style uniform init: W (out, in), b (out,) in +-1/sqrt(in)."""
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        bound = 1 / np.sqrt(n_in)
        params += [rng.uniform(-bound, bound, (n_out, n_in)), rng.uniform(-bound, bound, n_out)]
    return params


def numpy_mlp_step(params, X, y, lr, update=True):
    """Forward, hand-written backward and SGD update of a 64-64-10 ReLU MLP with softmax
    cross-entropy (mean over the batch). Returns the loss and the gradients."""
    W1, b1, W2, b2 = params
    n = X.shape[0]
    rows = np.arange(n)
    h_pre = X @ W1.T + b1
    h = np.maximum(h_pre, 0)
    logits = h @ W2.T + b2
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    s = e.sum(axis=1, keepdims=True)
    log_p = shifted - np.log(s)
    loss = -log_p[rows, y].mean()
    # backward: dloss/dlogits = (softmax - onehot) / n
    d_logits = e / s
    d_logits[rows, y] -= 1
    d_logits /= n
    dW2 = d_logits.T @ h
    db2 = d_logits.sum(axis=0)
    d_h = d_logits @ W2
    d_h *= h_pre > 0
    dW1 = d_h.T @ X
    db1 = d_h.sum(axis=0)
    grads = (dW1, db1, dW2, db2)
    if update:
        for p, gp in zip(params, grads):
            p -= lr * gp
    return loss, grads


def mg_mlp_step(params, X, y, rows, lr, update=True):
    """The same step on microgradnp alone (no nn): Tensor parameters, ops, backward."""
    W1, b1, W2, b2 = params
    for p in params:
        p.grad = None
    h = (X @ W1.T + b1).relu()
    logits = h @ W2.T + b2
    loss = -logits.log_softmax(axis=-1)[rows, y].mean()
    loss.backward()
    if update:
        for p in params:
            p.data -= lr * p.grad
    return loss


def mlp_step(batch_size, lr=0.01):
    rng = np.random.default_rng(1)
    Xn = rng.random((batch_size, 64)) * 16  # like the 8x8 digits' pixel values
    y = rng.integers(0, 10, batch_size)
    rows = np.arange(batch_size)
    np_params = init_mlp()
    mg_params = [mg.Tensor(p.copy(), requires_grad=True) for p in np_params]
    X = mg.Tensor(Xn)
    names = ("W1", "b1", "W2", "b2")

    def check():
        p0 = [p.copy() for p in np_params]
        for p, q in zip(mg_params, p0):
            p.data[...] = q
        loss_np, grads = numpy_mlp_step([p.copy() for p in p0], Xn, y, lr, update=False)
        loss = mg_mlp_step(mg_params, X, y, rows, lr, update=False)
        _close(loss.item(), loss_np, "MLP loss")
        for p, gp, name in zip(mg_params, grads, names):
            _close(p.grad, gp, f"MLP grad {name}")
        mg_mlp_step(mg_params, X, y, rows, lr)
        numpy_mlp_step(p0, Xn, y, lr)
        for p, q, name in zip(mg_params, p0, names):
            _close(p.data, q, f"MLP updated {name}")

    out = [dict(group="MLP step", name=f"64-64-10 MLP, batch {batch_size}, engine ops",
                target=1.5, check=check,
                numpy=lambda: numpy_mlp_step(np_params, Xn, y, lr),
                mg=lambda: mg_mlp_step(mg_params, X, y, rows, lr))]
    nn_workload = _nn_mlp_step(batch_size, lr, Xn, y, np_params)
    if nn_workload is not None:
        out.append(nn_workload)
    return out


def _nn_mlp_step(batch_size, lr, Xn, y, np_params):
    """The same step written with nn (Sequential, CrossEntropyLoss, SGD), when nn exists."""
    try:
        import nn
        model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
        loss_fn = nn.CrossEntropyLoss()
        optimizer = nn.SGD(model.parameters(), lr=lr)
    except (ImportError, AttributeError, TypeError):
        return None
    layers = (model[0], model[2])

    def load(params):
        for layer, (W, b) in zip(layers, (params[0:2], params[2:4])):
            layer.weight.data[...] = W
            layer.bias.data[...] = b

    load(np_params)
    X = mg.Tensor(Xn)

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        optimizer.step()
        return loss

    def check():
        p0 = [p.copy() for p in np_params]
        load(p0)
        loss_np, grads = numpy_mlp_step([p.copy() for p in p0], Xn, y, lr, update=False)
        loss = step()
        _close(loss.item(), loss_np, "nn MLP loss")
        got = [layers[0].weight.grad, layers[0].bias.grad, layers[1].weight.grad,
               layers[1].bias.grad]
        for a, b, name in zip(got, grads, ("W1", "b1", "W2", "b2")):
            _close(a, b, f"nn MLP grad {name}")
        numpy_mlp_step(p0, Xn, y, lr)
        for a, b in zip([layers[0].weight, layers[0].bias, layers[1].weight, layers[1].bias], p0):
            _close(a.data, b, "nn MLP updated parameter")

    return dict(group="MLP step", name=f"64-64-10 MLP, batch {batch_size}, nn + SGD",
                target=1.5, check=check, numpy=lambda: numpy_mlp_step(np_params, Xn, y, lr),
                mg=step)


# ============================================================================ (c) BLAS-bound


def big_matmul(n=512):
    rng = np.random.default_rng(2)
    An, Bn, G = (rng.standard_normal((n, n)) for _ in range(3))
    A, B = mg.Tensor(An, requires_grad=True), mg.Tensor(Bn, requires_grad=True)

    def numpy_fn():
        return An @ Bn, G @ Bn.T, An.T @ G

    def mg_fn():
        A.grad = B.grad = None
        C = A @ B
        C.backward(G)
        return C

    def check():
        C = mg_fn()
        out, gA, gB = numpy_fn()
        _close(C.data, out, "matmul forward")
        _close(A.grad, gA, "matmul grad A")
        _close(B.grad, gB, "matmul grad B")

    return [dict(group="BLAS-bound", name=f"{n}x{n} @ {n}x{n}, forward + backward", target=1.1,
                 numpy=numpy_fn, mg=mg_fn, check=check)]


# ============================================================================ (d) long chain


def build_chain(n_ops, scale=0.99999, shift=0.5):
    """x -> (x * scale + shift) repeated: n_ops scalar ops; d out / d x = scale ** (n_ops / 2)."""
    x = mg.Tensor(1.0, requires_grad=True)
    out = x
    for _ in range(n_ops // 2):
        out = out * scale
        out = out + shift
    return x, out


def check_chain(n_ops=1000, scale=0.99999):
    x, out = build_chain(n_ops, scale)
    out.backward()
    _close(x.grad, scale ** (n_ops // 2), "chain gradient", rtol=1e-9)
