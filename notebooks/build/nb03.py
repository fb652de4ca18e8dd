from common import build

cells = [
("md", r"""
# 3. Linear regression by gradient descent

The "hello world" of machine learning: fit $y = w x + b$ to noisy points from $y = 2x + 1$.
This notebook

1. runs the lesson's NumPy example exactly as written, shows the error it raises and why,
2. fixes it in NumPy, then writes it with microgradnp, where the engine computes the gradient,
3. compares batch, stochastic and mini-batch gradient descent,
4. shows what a learning rate that is too small or too large does.
"""),
("code", r"""
import matplotlib.pyplot as plt
import numpy as np

import microgradnp as mg
import nn

plt.rcParams["figure.dpi"] = 80
np.set_printoptions(precision=4, suppress=True)
"""),
("md", r"""
## The lesson's example, as written

Here is the lesson's gradient descent for linear regression, line for line (only
`np.random.seed(0)` is added, so that this notebook is reproducible). The cell catches the error
so that the notebook goes on:
"""),
("code", r"""
np.random.seed(0)

X = np.random.rand(100, 1)
y = 2 * X + 1 + np.random.randn(100, 1)

theta = np.random.randn(1, 1)
alpha = 0.01
iterations = 1000

try:
    for i in range(iterations):
        gradient = 2 * X * (X * theta - y)
        theta -= alpha * gradient
except ValueError as error:
    print(f"ValueError at iteration {i}: {error}")
    print("theta.shape:", theta.shape, "| gradient.shape:", gradient.shape)
else:
    raise AssertionError("expected a ValueError: the gradient has one row per sample")
assert i == 0 and gradient.shape == (100, 1) and theta.shape == (1, 1)
"""),
("md", r"""
It stops at the very first iteration. Why:

1. **The gradient is never summed over the samples.** `2 * X * (X * theta - y)` is the gradient of
   *each sample's* squared error: one row per sample, shape `(100, 1)`. The gradient of the
   *mean* loss $\frac{1}{n}\sum_i (\theta x_i - y_i)^2$ is their average,
   $\frac{2}{n}\sum_i x_i(\theta x_i - y_i)$: one number, the shape of `theta`. `theta -= ...`
   updates `theta` in place, and an in-place update cannot turn a `(1, 1)` array into a
   `(100, 1)` one: NumPy refuses. That error is the good outcome. Written
   `theta = theta - alpha * gradient`, NumPy would broadcast silently and `theta` would become
   100 numbers, one per sample, fitting every point and predicting nothing:
"""),
("code", r"""
theta = np.zeros((1, 1))
for i in range(iterations):
    gradient = 2 * X * (X * theta - y)
    theta = theta - alpha * gradient  # no error: theta silently becomes (100, 1)
print("theta.shape:", theta.shape)
assert theta.shape == (100, 1)
"""),
("md", r"""
2. **There is no intercept.** The model is $y = \theta x$, a line through the origin, which cannot
   fit $y = 2x + 1$.

## The fix, in NumPy

Sum the per-sample gradients (average them: the loss is a mean), and add a column of ones to `X`
so that the second parameter is the intercept: for
$L(\theta) = \frac{1}{n}\lVert A\theta - y\rVert^2$ with $A = [x, 1]$, the gradient is
$\nabla L = \frac{2}{n} A^\top (A\theta - y)$, shape `(2, 1)` like $\theta$. The matrix product
$A^\top(\cdot)$ does the sum over the samples. The lesson's `alpha = 0.01` is kept at first; the
answer to compare with is the least-squares solution, which NumPy computes directly.
"""),
("code", r"""
A = np.column_stack([X, np.ones(len(X))])  # (100, 2): [x, 1]
theta_lstsq, *_ = np.linalg.lstsq(A, y, rcond=None)

fits = {}
for alpha, iterations in [(0.01, 1000), (0.5, 1000)]:
    theta = np.zeros((2, 1))
    for i in range(iterations):
        gradient = 2 / len(A) * A.T @ (A @ theta - y)  # (2, 1): summed over the samples
        theta -= alpha * gradient                      # same shape: in place is fine
    fits[alpha] = theta
    print(f"alpha = {alpha}: slope {theta[0, 0]:.6f}, intercept {theta[1, 0]:.6f}, "
          f"MSE {np.mean((A @ theta - y) ** 2):.4f}")
print(f"least squares: slope {theta_lstsq[0, 0]:.6f}, intercept {theta_lstsq[1, 0]:.6f}, "
      f"MSE {np.mean((A @ theta_lstsq - y) ** 2):.4f}")
assert np.allclose(fits[0.5], theta_lstsq, atol=1e-6)  # converged to least squares
assert np.abs(fits[0.01] - theta_lstsq).max() > 0.1   # alpha = 0.01: not there yet

grid = np.linspace(0, 1, 2)
fig, ax = plt.subplots(figsize=(7, 4))
ax.scatter(X[:, 0], y[:, 0], s=14, color="gray", label="data: y = 2x + 1 + noise")
ax.plot(grid, 2 * grid + 1, "k:", label="true line y = 2x + 1")
for alpha, theta in fits.items():
    ax.plot(grid, theta[0, 0] * grid + theta[1, 0],
            label=f"gradient descent, alpha = {alpha}, 1000 steps")
ax.plot(grid, theta_lstsq[0, 0] * grid + theta_lstsq[1, 0], "--", label="least squares")
ax.set_xlabel("x")
ax.set_ylabel("y")
ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2)
fig.tight_layout()
"""),
("md", r"""
With the lesson's `alpha = 0.01`, 1000 steps are not enough to get there (the loss is still
falling); `alpha = 0.5` converges to the least-squares line. The fitted line is not exactly
$y = 2x + 1$: with 100 noisy points, least squares finds the best line for *this* sample, and
gradient descent converges to it.

## The same with microgradnp

With an autograd engine we only write the loss. `loss.backward()` produces the gradient of the
*scalar* loss with respect to each parameter, and a gradient always has its parameter's shape:
the lesson's bug cannot happen. `mg.datasets.make_linear` draws data the same way (from its own
seeded generator).
"""),
("code", r"""
X, y = mg.datasets.make_linear(n=100, slope=2.0, intercept=1.0, noise=1.0, seed=0)
print("X", X.shape, "y", y.shape)
y = y.reshape(-1, 1)  # a column, like the predictions X @ w + b
A = np.column_stack([X, np.ones(len(X))])
theta_lstsq, *_ = np.linalg.lstsq(A, y, rcond=None)

w = mg.zeros(1, 1, requires_grad=True)
b = mg.zeros(1, requires_grad=True)
alpha = 0.5
for step in range(1000):
    loss = ((X @ w + b - y) ** 2).mean()
    w.grad = b.grad = None  # gradients accumulate: reset them before each backward
    loss.backward()
    w.data -= alpha * w.grad  # the update itself is not part of the model: plain NumPy
    b.data -= alpha * b.grad

print("w.grad.shape:", w.grad.shape, "= w.shape:", w.shape)
print("microgradnp:   slope %.6f, intercept %.6f" % (w.item(), b.item()))
print("least squares: slope %.6f, intercept %.6f" % tuple(theta_lstsq.ravel()))
assert w.grad.shape == w.shape and b.grad.shape == b.shape
assert np.allclose([w.item(), b.item()], theta_lstsq.ravel(), atol=1e-6)
"""),
("md", r"""
The last cell is a whole training loop by hand. `nn` packages the pieces: `nn.SGD` does the update,
`nn.fit` the loop, and `nn.LinearRegression` wraps both with a scikit-learn face
(`fit`, `predict`, `score`, `coef_`, `intercept_`):
"""),
("code", r"""
model = nn.LinearRegression(1).fit(X, y, epochs=1000, lr=0.5)
print("slope", model.coef_, "intercept", model.intercept_, "R^2 %.4f" % model.score(X, y))
assert np.allclose([model.coef_[0], model.intercept_], theta_lstsq.ravel(), atol=1e-4)
assert 0.2 < model.score(X, y) < 0.3
"""),
("md", r"""
(An $R^2$ of 0.25: on $x \in [0, 1)$ the line rises by 2 while the noise has standard deviation
1, so most of the variance of $y$ is noise that no model can explain.)
"""),
("md", r"""
## Batch, stochastic and mini-batch gradient descent

*Batch* gradient descent uses all 100 points for every update; *stochastic* gradient descent
(SGD) one point per update; *mini-batch* a few. One pass over the data is an *epoch*: 1 update for
batch GD, 100 for SGD, 5 for mini-batches of 20. Noisy gradients need a decaying learning rate to
settle: here it shrinks by a factor each epoch (`nn.ExponentialLR`).
"""),
("code", r"""
X, y = mg.datasets.make_linear(n=100, seed=0)
A = np.column_stack([X, np.ones(len(X))])
(ls_slope, ls_intercept), *_ = np.linalg.lstsq(A, y, rcond=None)

settings = {  # name: (batch_size, lr, epochs, lr decay per epoch)
    "batch GD": (None, 0.5, 300, None),
    "SGD": (1, 0.1, 60, 0.9),
    "mini-batch GD (20)": (20, 0.5, 300, 0.99),
}
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 3.8))
print(f"{'method':20s} {'updates':>8s} {'slope':>8s} {'intercept':>10s} {'distance to lstsq':>18s}")
for name, (batch_size, lr, epochs, gamma) in settings.items():
    mg.manual_seed(0)
    model = nn.LinearRegression(1)
    optimizer = nn.SGD(model.parameters(), lr=lr)
    scheduler = nn.ExponentialLR(optimizer, gamma) if gamma else None
    model.fit(X, y, epochs=epochs, batch_size=batch_size, optimizer=optimizer,
              scheduler=scheduler, seed=0)
    loss = model.history_.history["loss"]
    per_epoch = 1 if batch_size is None else -(-len(X) // batch_size)
    ax1.plot(np.arange(1, epochs + 1), loss, label=name)
    ax2.plot(np.arange(1, epochs + 1) * per_epoch, loss, label=name)
    distance = np.hypot(model.coef_[0] - ls_slope, model.intercept_ - ls_intercept)
    print(f"{name:20s} {epochs * per_epoch:8d} {model.coef_[0]:8.4f} {model.intercept_:10.4f} "
          f"{distance:18.2e}")
    assert distance < 0.05, name  # every method gets close to the least-squares line
for ax, label in ((ax1, "epoch"), (ax2, "parameter updates")):
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(label)
    ax.set_ylabel("training loss (MSE)")
    ax.legend()
fig.tight_layout()
"""),
("md", r"""
Per epoch, SGD and mini-batches make progress much faster than batch GD (many updates per
epoch), at the price of a noisy path. Per update, batch GD is the most efficient: each of its
steps uses the exact gradient. On large data sets, where an exact gradient is expensive, mini-batches
are the usual compromise.

## The learning rate: too small, too large

For this loss the gradient step is stable only when the learning rate is below
$2/\lambda_{\max}$, where $\lambda_{\max}$ is the largest eigenvalue of the Hessian
$\frac{2}{n}A^\top A$. Below it, a larger rate is faster; above it, every step overshoots by more
than the last and the loss grows exponentially.
"""),
("code", r"""
hessian = 2 / len(A) * A.T @ A
limit = 2 / np.linalg.eigvalsh(hessian).max()
print(f"largest stable learning rate: 2 / lambda_max = {limit:.3f}")
assert 0.7 < limit < 0.8  # so lr = 0.7 converges and lr = 0.8 diverges

fig, ax = plt.subplots(figsize=(7, 4))
for lr in (0.01, 0.1, 0.5, 0.7, 0.8):
    mg.manual_seed(0)
    model = nn.LinearRegression(1).fit(X, y, epochs=100, lr=lr)
    loss = model.history_.history["loss"]
    ax.plot(loss, label=f"lr = {lr}")
    assert (loss[-1] < loss[0]) == (lr < limit), lr
ax.set_yscale("log")
ax.set_xlabel("epoch (batch GD: one update each)")
ax.set_ylabel("training loss (MSE)")
ax.set_ylim(top=1e3)
ax.legend()
fig.tight_layout()
"""),
("md", r"""
`lr = 0.01` has barely started after 100 epochs; `0.1` gets there slowly; `0.5` is the fastest;
`0.7`, close to the limit, is slower again: its steps overshoot back and forth across the valley
and the overshoot shrinks only slowly. `0.8` is past the limit and diverges. Much larger rates overflow to infinity within
a few hundred steps, and `nn.fit` stops with an error naming the epoch, the batch and the learning
rate, leaving the parameters as they were before the bad step:
"""),
("code", r"""
mg.manual_seed(0)
model = nn.LinearRegression(1)
try:
    with np.errstate(over="ignore"):  # silence NumPy's own overflow warning on the way to inf
        model.fit(X, y, epochs=1000, lr=5.0)
except FloatingPointError as error:  # nn's NonFiniteLossError is a FloatingPointError
    print(type(error).__name__ + ":", error)
else:
    raise AssertionError("expected nn.fit to stop when the loss overflows")
"""),
]

build("03_linear_regression_gradient_descent", cells)
