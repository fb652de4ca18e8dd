"""Conv benchmark workload: one training step of a two-layer CNN on a batch of 8x8 digits.

    conv(1->8, 3x3, pad 1) - relu - maxpool 2 - conv(8->16, 3x3, pad 1) - relu - maxpool 2
    - flatten (64) - linear(64->10) - softmax cross-entropy (mean) - SGD update

microgradnp side: `nn.Sequential` of `nn.Conv2d`, `nn.MaxPool2d`, ..., `nn.CrossEntropyLoss`,
`nn.SGD`. NumPy side: the same forward, a hand-written backward and the same update, im2col
by `sliding_window_view` (the windows of the forward reused in backward). `cnn_step(torch)`
returns a `workloads.Workload` (with the same step in PyTorch when `torch` is given).
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from workloads import Workload, training_steps

import microgradnp as mg
import nn

# ============================================================================ NumPy by hand


def _im2col(x):
    """(N, C, H, W) -> (N, H, W, C*9) windows of the 3x3, padding 1 convolution (a copy)."""
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = sliding_window_view(xp, (3, 3), axis=(2, 3))  # (N, C, H, W, 3, 3)
    return cols.transpose(0, 2, 3, 1, 4, 5).reshape(n, h, w, c * 9)


def _col2im(dcols, shape):
    """The adjoint of _im2col: (N, H, W, C*9) -> (N, C, H, W)."""
    n, c, h, w = shape
    d = dcols.reshape(n, h, w, c, 3, 3)
    out = np.zeros((n, c, h + 2, w + 2))
    for k in range(3):
        for ll in range(3):
            out[:, :, k:k + h, ll:ll + w] += d[:, :, :, :, k, ll].transpose(0, 3, 1, 2)
    return out[:, :, 1:-1, 1:-1]


def _conv(x, W, b):
    cols = _im2col(x)
    out = cols @ W.reshape(W.shape[0], -1).T + b  # (N, H, W, O)
    return out.transpose(0, 3, 1, 2), cols


def _conv_backward(dout, cols, W, x_shape, need_dx):
    d = dout.transpose(0, 2, 3, 1).reshape(-1, W.shape[0])  # (N*H*W, O)
    dW = (d.T @ cols.reshape(d.shape[0], -1)).reshape(W.shape)
    db = d.sum(axis=0)
    dx = _col2im((d @ W.reshape(W.shape[0], -1)).reshape(cols.shape), x_shape) if need_dx \
        else None
    return dx, dW, db


def _pool(a):
    """2x2 max pool, stride 2 -> (out, argmax index within each window)."""
    n, c, h, w = a.shape
    win = a.reshape(n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(
        n, c, h // 2, w // 2, 4)
    k = win.argmax(axis=-1)
    return np.take_along_axis(win, k[..., None], axis=-1)[..., 0], k


def _pool_backward(dout, k, shape):
    n, c, h, w = shape
    dwin = np.zeros(dout.shape + (4,))
    np.put_along_axis(dwin, k[..., None], dout[..., None], axis=-1)
    return dwin.reshape(n, c, h // 2, w // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(shape)


def numpy_cnn_step(params, X, y, lr, update=True):
    """Forward, hand-written backward and SGD update; returns the loss and the gradients."""
    W1, b1, W2, b2, W3, b3 = params
    n = X.shape[0]
    rows = np.arange(n)
    z1, cols1 = _conv(X, W1, b1)
    a1 = np.maximum(z1, 0)
    p1, k1 = _pool(a1)
    z2, cols2 = _conv(p1, W2, b2)
    a2 = np.maximum(z2, 0)
    p2, k2 = _pool(a2)
    f = p2.reshape(n, -1)
    logits = f @ W3.T + b3
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    s = e.sum(axis=1, keepdims=True)
    loss = -(shifted[rows, y] - np.log(s[:, 0])).mean()
    # backward: dloss/dlogits = (softmax - onehot) / n
    d_logits = e / s
    d_logits[rows, y] -= 1
    d_logits /= n
    dW3, db3 = d_logits.T @ f, d_logits.sum(axis=0)
    d_p2 = (d_logits @ W3).reshape(p2.shape)
    d_z2 = _pool_backward(d_p2, k2, a2.shape) * (z2 > 0)
    d_p1, dW2, db2 = _conv_backward(d_z2, cols2, W2, p1.shape, need_dx=True)
    d_z1 = _pool_backward(d_p1, k1, a1.shape) * (z1 > 0)
    _, dW1, db1 = _conv_backward(d_z1, cols1, W1, X.shape, need_dx=False)
    grads = (dW1, db1, dW2, db2, dW3, db3)
    if update:
        for p, g in zip(params, grads):
            p -= lr * g
    return loss, grads


# ============================================================================ the workload


def _model():
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(64, 10))


def cnn_step(torch=None, batch_size=64, lr=0.05):
    X_all, y_all = mg.datasets.load_digits()
    Xn = X_all[:batch_size].reshape(-1, 1, 8, 8) / 16
    y = y_all[:batch_size]
    mg.manual_seed(0)
    model = _model()
    initial = [p.data.copy() for p in model.parameters()]
    np_params = [p.copy() for p in initial]
    loss_fn = nn.CrossEntropyLoss()
    optimizer = nn.SGD(model.parameters(), lr=lr)
    X = mg.Tensor(Xn)

    step = training_steps(model, loss_fn, optimizer, X, y)
    params = dict(numpy=np_params, mg=list(model.parameters()))
    torch_step = None
    if torch is not None:
        torch_step, params["torch"] = _torch_step(torch, Xn, y, lr)
    return Workload(f"conv: 2-conv CNN on 8x8 digits, batch {batch_size}, nn + SGD", 1.5,
                    lambda: numpy_cnn_step(np_params, Xn, y, lr), step, params, initial,
                    torch_step)


def _torch_step(torch, Xn, y, lr):
    """The same step in PyTorch (float64): (step, its parameters)."""
    tnn = torch.nn
    model = tnn.Sequential(tnn.Conv2d(1, 8, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
                           tnn.Conv2d(8, 16, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
                           tnn.Flatten(), tnn.Linear(64, 10)).double()
    X, target = torch.from_numpy(Xn), torch.from_numpy(y)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = tnn.CrossEntropyLoss()
    return training_steps(model, loss_fn, optimizer, X, target), list(model.parameters())
