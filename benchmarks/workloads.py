"""The workloads of issue 10, each written three ways: with microgradnp (engine ops, or `nn` on
top of them), by hand in NumPy (the same forward, the derivatives worked out by hand, the same
update), and in PyTorch when it is installed.

A `Workload`'s `numpy`, `mg` and `torch` callables are the timed unit (one training step, or
200 for W3). Each side updates its own parameters in place; `check(w)` loads the same starting
values into all three, runs one call of each and asserts (np.allclose) that microgradnp and
PyTorch give NumPy's loss, gradients and updated parameters. The NumPy side returns
`(loss, grads)`; the others return the loss and leave the gradients in `.grad`.
"""

import contextlib
import dataclasses
from collections.abc import Callable

import numpy as np

import microgradnp as mg
import nn


@dataclasses.dataclass
class Workload:
    """One row of the table. `target`: the ratio microgradnp / NumPy to stay within (None: no
    target). `params`: side -> its parameters (arrays, Tensors, torch tensors), `initial`: their
    starting values. `rtol`/`atol`: float64's by default, float32 rows loosen them. `mg_mode`:
    a context manager the microgradnp side runs inside. W4 only: `n_ops` scalar ops per call,
    `phases` (side -> (forward () -> out, backward (out) -> None)) to time the two apart, and
    `checked_by`, a smaller chain of the same code that `check` runs instead."""

    name: str
    target: float | None
    numpy: Callable  # () -> (loss, grads); updates params["numpy"] in place
    mg: Callable  # () -> loss, gradients left in .grad
    params: dict
    initial: list
    torch: Callable | None = None
    rtol: float = 1e-9
    atol: float = 1e-12
    mg_mode: Callable | None = None
    n_ops: int | None = None
    phases: dict | None = None
    checked_by: Callable | None = None


def _array(x):
    """An ndarray view of an ndarray, a microgradnp Tensor or a torch tensor."""
    if isinstance(x, mg.Tensor):
        return x.data
    return x.detach().numpy() if hasattr(x, "detach") else np.asarray(x)


def _load(params, values):
    for p, v in zip(params, values):
        if isinstance(p, np.ndarray):
            p[...] = v
        elif isinstance(p, mg.Tensor):
            p.data[...] = v
        else:  # torch
            p.detach().copy_(p.new_tensor(v))


def _close(got, want, what, rtol, atol):
    got, want = _array(got), _array(want)
    if got.dtype != want.dtype or got.shape != want.shape \
            or not np.allclose(got, want, rtol=rtol, atol=atol):
        err = np.max(np.abs(got - want)) if got.shape == want.shape else "-"
        raise AssertionError(f"{what}: disagrees with NumPy (dtype {got.dtype} vs {want.dtype}, "
                             f"shape {got.shape} vs {want.shape}, max abs diff {err})")


def check(w):
    """Run one call of every side from the same start; assert each matches NumPy's loss,
    gradients and updated parameters (W4's long chains: the same code at 1e3 ops). Leaves every
    side back at the starting values."""
    if w.checked_by is not None:
        w = w.checked_by()
    for params in w.params.values():
        _load(params, w.initial)
    loss, grads = w.numpy()
    for side in ("mg", "torch"):
        fn = getattr(w, side)
        if fn is None:
            continue
        with w.mg_mode() if side == "mg" and w.mg_mode else contextlib.nullcontext():
            got = fn()
        _close(got, loss, f"{w.name} [{side}] loss", w.rtol, w.atol)
        assert len(w.params[side]) == len(grads) == len(w.params["numpy"]), w.name
        for i, (p, g, want) in enumerate(zip(w.params[side], grads, w.params["numpy"])):
            _close(p.grad, g, f"{w.name} [{side}] gradient of parameter {i}", w.rtol, w.atol)
            _close(p, want, f"{w.name} [{side}] parameter {i} after the call", w.rtol, w.atol)
    for params in w.params.values():
        _load(params, w.initial)


def _torch_params(torch, values):
    return [torch.tensor(v, requires_grad=True) for v in values]


def _mg_params(values):
    return [mg.Tensor(v.copy(), requires_grad=True) for v in values]


def _tolerances(dtype):
    return dict(rtol=1e-4, atol=1e-6) if dtype == np.float32 else {}


# ============================================================================ W1 op overhead


def w1(torch=None, anomaly=False):
    """((x*y + x).tanh() * y).sum() and its backward on two (4,) float64 leaves."""
    rng = np.random.default_rng(0)
    initial = [rng.standard_normal(4), rng.standard_normal(4)]
    xn, yn = [v.copy() for v in initial]

    def numpy_step():  # the forward, then the VJPs from the output back (seed gradient 1)
        b = xn * yn + xn
        t = np.tanh(b)
        out = (t * yn).sum()
        g_b = yn * (1 - t * t)  # d out / d b = y tanh'(b), tanh' = 1 - tanh^2
        g_x = g_b * yn + g_b  # b = x*y + x
        g_y = t + g_b * xn  # out = sum(t * y), and b
        return out, (g_x, g_y)

    params = _mg_params(initial)
    mg_step = w1_engine_step(*params)
    params = dict(numpy=[xn, yn], mg=params)
    torch_step = None
    if torch is not None and not anomaly:
        tx, ty = params["torch"] = _torch_params(torch, initial)

        def torch_step():
            tx.grad = ty.grad = None
            out = ((tx * ty + tx).tanh() * ty).sum()
            out.backward()
            return out

    if anomaly:
        return Workload("W1 inside detect_anomaly() (information only)", None, numpy_step,
                        mg_step, params, initial, mg_mode=mg.detect_anomaly)
    return Workload("W1 op overhead ((x*y + x).tanh() * y).sum(), (4,) f64", 3.5, numpy_step,
                    mg_step, params, initial, torch_step)


def w1_engine_step(x, y):
    """W1 on two leaves of an engine (microgradnp's, or floor.py's bare one)."""
    def step():
        x.grad = y.grad = None
        out = ((x * y + x).tanh() * y).sum()
        out.backward()
        return out
    return step


# ============================================================================ W2 MLP step


def training_steps(model, loss_fn, optimizer, X, y, steps=1):
    """`steps` training steps (zero_grad, forward, backward, step) as a callable returning the
    last loss. microgradnp's nn and torch.nn share these names, so it serves both sides."""
    def train():
        for _ in range(steps):
            optimizer.zero_grad()
            loss = loss_fn(model(X), y)
            loss.backward()
            optimizer.step()
        return loss
    return train


def init_mlp(sizes, dtype, seed=0):
    """PyTorch-style uniform init: W (out, in), b (out,) in +-1/sqrt(in)."""
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        bound = 1 / np.sqrt(n_in)
        params += [rng.uniform(-bound, bound, (n_out, n_in)).astype(dtype),
                   rng.uniform(-bound, bound, n_out).astype(dtype)]
    return params


def numpy_mlp_step(params, X, y, lr):
    """One SGD step of a one-hidden-layer ReLU MLP with softmax cross-entropy (batch mean),
    backward by hand. Returns the loss and the gradients."""
    W1, b1, W2, b2 = params
    n = X.shape[0]
    rows = np.arange(n)
    h_pre = X @ W1.T + b1
    h = np.maximum(h_pre, 0)
    logits = h @ W2.T + b2
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    s = e.sum(axis=1, keepdims=True)
    loss = -(shifted[rows, y] - np.log(s[:, 0])).mean()
    d_logits = e / s  # d loss / d logits = (softmax - onehot) / n
    d_logits[rows, y] -= 1
    d_logits /= n
    d_h = d_logits @ W2
    d_h *= h_pre > 0
    grads = (d_h.T @ X, d_h.sum(axis=0), d_logits.T @ h, d_logits.sum(axis=0))
    for p, g in zip(params, grads):
        p -= lr * g
    return loss, grads


def _mlp_data(sizes, batch_size, dtype):
    rng = np.random.default_rng(1)
    X = (rng.random((batch_size, sizes[0])) * 2 - 1).astype(dtype)
    y = rng.integers(0, sizes[-1], batch_size)
    return X, y, init_mlp(sizes, dtype)


def w2(sizes, batch_size, dtype, target, torch=None, lr=0.01):
    """nn.Sequential(Linear, ReLU, Linear) + CrossEntropyLoss + SGD: one training step."""
    Xn, y, initial = _mlp_data(sizes, batch_size, dtype)
    np_params = [p.copy() for p in initial]
    model = nn.Sequential(nn.Linear(sizes[0], sizes[1], dtype=dtype), nn.ReLU(),
                          nn.Linear(sizes[1], sizes[2], dtype=dtype))
    loss_fn, optimizer = nn.CrossEntropyLoss(), nn.SGD(model.parameters(), lr=lr)
    X = mg.Tensor(Xn)

    mg_step = training_steps(model, loss_fn, optimizer, X, y)
    params = dict(numpy=np_params, mg=list(model.parameters()))
    torch_step = None
    if torch is not None:
        tnn = torch.nn
        tmodel = tnn.Sequential(tnn.Linear(sizes[0], sizes[1]), tnn.ReLU(),
                                tnn.Linear(sizes[1], sizes[2])).to(getattr(torch, dtype.__name__))
        tloss, toptim = tnn.CrossEntropyLoss(), torch.optim.SGD(tmodel.parameters(), lr=lr)
        tX, ty = torch.from_numpy(Xn), torch.from_numpy(y)
        params["torch"] = list(tmodel.parameters())
        torch_step = training_steps(tmodel, tloss, toptim, tX, ty)

    name = (f"W2 MLP {'-'.join(map(str, sizes))} batch {batch_size} "
            f"{np.dtype(dtype).name}, nn + SGD")
    return Workload(name, target, lambda: numpy_mlp_step(np_params, Xn, y, lr), mg_step,
                    params, initial, torch_step, **_tolerances(dtype))


def w2e(torch=None, sizes=(64, 128, 10), batch_size=64, dtype=np.float32, lr=0.01):
    """The W2 float32 MLP from engine ops, updated by hand."""
    Xn, y, initial = _mlp_data(sizes, batch_size, dtype)
    np_params = [p.copy() for p in initial]
    rows = np.arange(batch_size)
    mg_params = _mg_params(initial)
    mg_step = w2e_engine_step(mg.Tensor(Xn), rows, y, mg_params, lr)
    params = dict(numpy=np_params, mg=mg_params)
    torch_step = None
    if torch is not None:
        tW1, tb1, tW2, tb2 = params["torch"] = _torch_params(torch, initial)
        tX, trows, ty = torch.from_numpy(Xn), torch.from_numpy(rows), torch.from_numpy(y)

        def torch_step():
            for p in params["torch"]:
                p.grad = None
            logits = (tX @ tW1.T + tb1).relu() @ tW2.T + tb2
            loss = -logits.log_softmax(dim=1)[trows, ty].mean()
            loss.backward()
            with torch.no_grad():
                for p in params["torch"]:
                    p -= lr * p.grad
            return loss

    return Workload("W2e the same MLP 64-128-10 f32 from engine ops", 1.5,
                    lambda: numpy_mlp_step(np_params, Xn, y, lr), mg_step, params, initial,
                    torch_step, **_tolerances(dtype))


def w2e_engine_step(X, rows, y, params, lr):
    """W2e with an engine's tensors (microgradnp's, or floor.py's bare one)."""
    W1, b1, W2, b2 = params

    def step():
        for p in params:
            p.grad = None
        logits = (X @ W1.T + b1).relu() @ W2.T + b2
        loss = -logits.log_softmax(axis=1)[rows, y].mean()
        loss.backward()
        for p in params:
            p.data -= lr * p.grad
        return loss
    return step


# ======================================================================= W3 logistic regression


def numpy_logreg(params, X, t, lr, steps):
    """`steps` steps of full-batch gradient descent on the mean binary cross-entropy of
    sigmoid(X @ w.T + b) against targets t (n, 1), written stably by hand."""
    w, b = params
    n = X.shape[0]
    for _ in range(steps):
        z = X @ w.T + b  # (n, 1) logits
        e = np.exp(-np.abs(z))
        loss = (np.maximum(z, 0) - z * t + np.log1p(e)).mean()  # log(1 + exp(z)) - t z
        dz = (np.where(z >= 0, 1, e) / (1 + e) - t) / n  # (sigmoid(z) - t) / n
        grads = (dz.T @ X, dz.sum(axis=0))
        w -= lr * grads[0]
        b -= lr * grads[1]
    return loss, grads


def w3(torch=None, n=10_000, features=20, steps=200, lr=0.5):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((n, features))
    t = (X @ rng.standard_normal(features) + rng.standard_normal(n) > 0).astype(float)[:, None]
    bound = 1 / np.sqrt(features)
    initial = [rng.uniform(-bound, bound, (1, features)), rng.uniform(-bound, bound, 1)]
    np_params = [p.copy() for p in initial]
    model, loss_fn = nn.Linear(features, 1), nn.BCEWithLogitsLoss()
    optimizer = nn.SGD(model.parameters(), lr=lr)
    Xt = mg.Tensor(X)

    mg_train = training_steps(model, loss_fn, optimizer, Xt, t, steps)
    params = dict(numpy=np_params, mg=list(model.parameters()))
    torch_train = None
    if torch is not None:
        tmodel = torch.nn.Linear(features, 1).double()
        tloss, toptim = torch.nn.BCEWithLogitsLoss(), torch.optim.SGD(tmodel.parameters(), lr=lr)
        tX, tt = torch.from_numpy(X), torch.from_numpy(t)
        params["torch"] = list(tmodel.parameters())
        torch_train = training_steps(tmodel, tloss, toptim, tX, tt, steps)

    return Workload(f"W3 logistic regression {n}x{features} f64, {steps} GD steps", 1.10,
                    lambda: numpy_logreg(np_params, X, t, lr, steps), mg_train, params, initial,
                    torch_train)


# ============================================================================ W4 long chain


def w4(n_ops, torch=None, scale=1.0001, shift=0.0001):
    """x -> x * scale + shift, n_ops // 2 times (n_ops scalar ops), then d out / d x. The
    sides are timed by phase: `phases[side]` is (forward () -> out, backward (out) -> None)."""
    steps = n_ops // 2
    grad = np.zeros(())

    def numpy_forward():  # NumPy turns 0-d results into float64 scalars, as it always does
        v = np.array(1.0)
        for _ in range(steps):
            v = v * scale
            v = v + shift
        return v

    def numpy_backward(out):  # d out / d x: the product of the multipliers, one per step
        g = np.array(1.0)
        for _ in range(steps):
            g = g * scale
        grad[...] = g

    x = mg.Tensor(1.0, requires_grad=True)
    params = dict(numpy=[np.array(1.0)], mg=[x])
    phases = dict(numpy=(numpy_forward, numpy_backward), mg=engine_chain(x, steps, scale, shift))
    if torch is not None:
        params["torch"] = [torch.tensor(1.0, dtype=torch.float64, requires_grad=True)]
        phases["torch"] = engine_chain(params["torch"][0], steps, scale, shift)

    def call(side):
        forward, backward = phases[side]

        def forward_backward():
            out = forward()
            backward(out)
            return (out, (grad,)) if side == "numpy" else out
        return forward_backward

    name = f"W4 chain of {n_ops:.0e} scalar ops".replace("+0", "")
    return Workload(name, 25.0, call("numpy"), call("mg"), params, [np.array(1.0)],
                    call("torch") if torch is not None else None, n_ops=n_ops, phases=phases,
                    checked_by=(lambda: w4(1000, torch)) if n_ops > 1000 else None)


def engine_chain(leaf, steps, scale, shift):
    """W4's chain as (forward, backward), the same loop for any engine's leaf (microgradnp's,
    torch's, floor.py's bare one)."""
    def forward():
        leaf.grad = None
        v = leaf
        for _ in range(steps):
            v = v * scale
            v = v + shift
        return v
    return forward, lambda out: out.backward()


# ============================================================================ W5 micrograd's demo


def numpy_moons_step(params, X, y, lr, alpha):
    """One step of micrograd's demo by hand: MLP 2-16-16-1 (ReLU), mean hinge loss
    relu(1 - y * score) plus alpha * sum(p^2), SGD."""
    W1, b1, W2, b2, W3, b3 = params
    n = X.shape[0]
    z1 = X @ W1 + b1
    h1 = np.maximum(z1, 0)
    z2 = h1 @ W2 + b2
    h2 = np.maximum(z2, 0)
    margin = 1 - y * (h2 @ W3 + b3)
    loss = np.maximum(margin, 0).mean() + alpha * sum((p * p).sum() for p in params)
    d_score = -y * (margin > 0) / n
    d_z2 = np.outer(d_score, W3) * (z2 > 0)
    d_z1 = (d_z2 @ W2.T) * (z1 > 0)
    grads = [X.T @ d_z1, d_z1.sum(axis=0), h1.T @ d_z2, d_z2.sum(axis=0), h2.T @ d_score,
             d_score.sum()]
    grads = [g + 2 * alpha * p for g, p in zip(grads, params)]  # d/dp alpha p^2 = 2 alpha p
    for p, g in zip(params, grads):
        p -= lr * g
    return loss, grads


def w5(torch=None, n=100, lr=0.1, alpha=1e-4):
    Xn, labels = mg.datasets.make_moons(n, noise=0.1, seed=0)
    y = 2.0 * labels - 1  # classes -1, +1
    rng = np.random.default_rng(5)  # micrograd's init: uniform(-1, 1), biases 0
    initial = [rng.uniform(-1, 1, (2, 16)), np.zeros(16), rng.uniform(-1, 1, (16, 16)),
               np.zeros(16), rng.uniform(-1, 1, 16), np.zeros(())]
    np_params = [p.copy() for p in initial]
    mg_params = _mg_params(initial)
    mg_step = w5_engine_step(mg.Tensor(Xn), y, mg_params, lr, alpha)
    params = dict(numpy=np_params, mg=mg_params)
    torch_step = None
    if torch is not None:
        tW1, tb1, tW2, tb2, tW3, tb3 = tp = params["torch"] = _torch_params(torch, initial)
        tX, ty = torch.from_numpy(Xn), torch.from_numpy(y)

        def torch_step():
            for p in tp:
                p.grad = None
            h = (tX @ tW1 + tb1).relu()
            h = (h @ tW2 + tb2).relu()
            score = h @ tW3 + tb3
            loss = (1 - ty * score).relu().mean() + alpha * sum((p * p).sum() for p in tp)
            loss.backward()
            with torch.no_grad():
                for p in tp:
                    p -= lr * p.grad
            return loss

    return Workload(f"W5 micrograd demo step: MLP 2-16-16-1, {n} moons, hinge + L2", 2.5,
                    lambda: numpy_moons_step(np_params, Xn, y, lr, alpha), mg_step, params,
                    initial, torch_step)


def w5_engine_step(X, y, params, lr, alpha):
    """W5 with an engine's tensors (microgradnp's, or floor.py's bare one)."""
    W1, b1, W2, b2, W3, b3 = params

    def step():
        for p in params:
            p.grad = None
        h = (X @ W1 + b1).relu()
        h = (h @ W2 + b2).relu()
        score = h @ W3 + b3
        loss = (1 - y * score).relu().mean() + alpha * sum((p * p).sum() for p in params)
        loss.backward()
        for p in params:
            p.data -= lr * p.grad
        return loss
    return step


# ============================================================================ all of them


def all_workloads(quick=False, torch=None):
    """Issue 10's rows in order (W4 up to 1e5 ops when quick, else 1e6), then the CNN."""
    import conv
    return [
        w1(torch), w1(anomaly=True),
        w2((64, 128, 10), 64, np.float32, 1.5, torch),
        w2((64, 128, 10), 64, np.float64, 1.4, torch),
        w2((784, 256, 10), 128, np.float32, 1.10, torch),
        w2e(torch), w3(torch),
        *[w4(n, torch) for n in ((1000, 10_000, 100_000) if quick
                                 else (1000, 10_000, 100_000, 1_000_000))],
        w5(torch), conv.cnn_step(torch),
    ]
