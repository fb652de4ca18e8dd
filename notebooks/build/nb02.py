from common import build

cells = [
("md", r"""
# 2. Activations and losses

1. `sigmoid`, `tanh` and `relu`, and their derivatives, computed by the engine's backward;
2. mean squared error vs cross-entropy for a classifier: why cross-entropy learns faster when the
   model is confidently wrong;
3. why cross-entropy is computed **from logits**: the naive `log(sigmoid(x))` breaks at
   `x = -1000`, the fused loss does not.
"""),
("code", r"""
import matplotlib.pyplot as plt
import numpy as np

import microgradnp as mg
import nn

plt.rcParams["figure.dpi"] = 80
np.set_printoptions(precision=4)
"""),
("md", r"""
## Activations and their derivatives, by backward

For an elementwise function $f$, the gradient of $\sum_i f(x_i)$ with respect to $x_i$ is
$f'(x_i)$. So one backward pass over a grid of points gives the whole derivative curve.
"""),
("code", r"""
grid = np.linspace(-5, 5, 401)

def value_and_derivative(f):
    x = mg.tensor(grid, requires_grad=True)
    y = f(x)
    y.sum().backward()
    return y.data, x.grad

activations = {
    "sigmoid": (lambda t: t.sigmoid(), lambda s: s * (1 - s)),
    "tanh": (lambda t: t.tanh(), lambda t: 1 - t ** 2),
    "relu": (lambda t: t.relu(), lambda r: (r > 0).astype(float)),
}

fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
for ax, (name, (f, formula)) in zip(axes, activations.items()):
    y, dy = value_and_derivative(f)
    ax.plot(grid, y, label=name)
    ax.plot(grid, dy, "--", label=f"{name}' (backward)")
    ax.axhline(0, color="gray", lw=0.5)
    ax.set_title(name)
    ax.legend()
    # the derivative from backward against the textbook formula (written in the output y)
    print(f"{name:8s} max |backward - formula| = {np.max(np.abs(dy - formula(y))):.1e}")
    assert np.max(np.abs(dy - formula(y))) < 1e-15, name
    ax.set_xlabel("x")
    ax.set_ylabel(f"{name}(x) and its derivative")
fig.tight_layout()
"""),
("md", r"""
What the pictures say:

* **sigmoid**: the derivative is at most 0.25 (at 0) and vanishes for $|x| \gtrsim 5$: a saturated
  sigmoid passes almost no gradient back.
* **tanh**: zero-centred, derivative at most 1, but it saturates too.
* **relu**: derivative exactly 1 for $x > 0$ and 0 for $x < 0$ (at 0 the engine uses 0, as
  PyTorch). No saturation on the positive side, but a unit that is always negative never learns
  (a "dead" ReLU; notebook 5 shows how to spot one).

## Mean squared error vs cross-entropy for a classifier

A single logistic unit with logit $z$ predicts $p = \sigma(z)$. Suppose the true label is 1 and
the model is wrong: $z \ll 0$. Compare two losses:

* MSE: $(p - 1)^2$, whose gradient $2(p - 1)\,\sigma'(z)$ is multiplied by $\sigma'(z) \to 0$;
* cross-entropy: $-\log p$, whose gradient is $p - 1 \to -1$.
"""),
("code", r"""
z = mg.tensor(np.linspace(-10, 10, 401), requires_grad=True)
ones = np.ones(z.shape)

mse = nn.MSELoss(reduction="none")(z.sigmoid(), ones)
(mse_grad,) = mg.grad(mse.sum(), z)
bce = nn.BCEWithLogitsLoss(reduction="none")(z, ones)
(bce_grad,) = mg.grad(bce.sum(), z)

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.6))
ax1.plot(z.data, mse.data, label="MSE  $(\\sigma(z) - 1)^2$")
ax1.plot(z.data, bce.data, label="cross-entropy  $-\\log \\sigma(z)$")
ax1.set_xlabel("logit z (true label 1)")
ax1.set_ylabel("loss")
ax1.set_title("loss")
ax1.set_ylim(0, 6)
ax1.legend()
ax2.plot(z.data, mse_grad.data, label="MSE")
ax2.plot(z.data, bce_grad.data, label="cross-entropy")
ax2.set_xlabel("logit z (true label 1)")
ax2.set_ylabel("d loss / d z")
ax2.set_title("d loss / d z (by backward)")
ax2.legend()
fig.tight_layout()

print("at z = -10: MSE gradient", mse_grad.data[0], "| cross-entropy gradient", bce_grad.data[0])
assert -1e-4 < mse_grad.data[0] < -8e-5 and abs(bce_grad.data[0] + 1) < 1e-4
"""),
("md", r"""
At $z = -10$ the model is confidently wrong, and MSE barely pushes ($\approx -9 \times 10^{-5}$)
while cross-entropy pushes at almost full strength ($\approx -1$). That is why classifiers are
trained with cross-entropy.

## Why cross-entropy is computed from logits

Written naively, binary cross-entropy for label 1 is `-log(sigmoid(x))`. In float64,
`sigmoid(-1000)` is exactly 0 (the true value, $e^{-1000}$, is far below the smallest double), so
the log is $-\infty$ and its gradient is NaN. Mathematically
$-\log \sigma(x) = \log(1 + e^{-x}) = \mathrm{softplus}(-x)$, which can be evaluated without ever
forming $e^{1000}$: that is what `nn.BCEWithLogitsLoss` does, fused in one op.
"""),
("code", r"""
x = mg.tensor([-1000.0, -30.0, 0.0, 30.0, 1000.0], requires_grad=True)
label = np.ones(x.shape)

with np.errstate(divide="ignore", invalid="ignore"):  # the naive way warns: log(0), 0 * inf
    naive = -x.sigmoid().log()
    (naive_grad,) = mg.grad(naive.sum(), x)

fused = nn.BCEWithLogitsLoss(reduction="none")(x, label)
(fused_grad,) = mg.grad(fused.sum(), x)

print(f"{'x':>8} {'-log(sigmoid(x))':>18} {'its gradient':>14} {'fused loss':>12} {'its gradient':>14}")
for row in zip(x.data, naive.data, naive_grad.data, fused.data, fused_grad.data):
    print("{:8.0f} {:18.6g} {:14.6g} {:12.6g} {:14.6g}".format(*row))
assert np.isinf(naive.data[0]) and np.isnan(naive_grad.data[0])   # the naive way breaks
assert fused.data[0] == 1000.0 and fused_grad.data[0] == -1.0      # the fused one is exact
assert np.isfinite(fused.data).all() and np.isfinite(fused_grad.data).all()
"""),
("md", r"""
The fused loss gives the exact answer, 1000, with gradient $-1$; the naive one gives $\infty$
and NaN, and a single NaN gradient poisons every parameter after one optimizer step. Even at
$x = 30$ the naive value has only three correct digits ($e^{-30} = 9.3576 \times 10^{-14}$):
`1 - sigmoid(30)` is computed from a number rounded to 16 digits near 1.

The same holds for the multi-class case: `log(softmax(z))` underflows for large logit gaps, while
`nn.CrossEntropyLoss` (log-softmax and negative log-likelihood fused, via log-sum-exp) stays
exact:
"""),
("code", r"""
logits = mg.tensor([[1000.0, 0.0, -1000.0]], requires_grad=True)
target = np.array([2])  # the true class has the smallest logit: a loss of 2000

with np.errstate(divide="ignore"):
    naive = -logits.softmax(axis=1).log()[0, 2]
fused = nn.CrossEntropyLoss()(logits, target)
print("naive -log(softmax)[2]:", naive.item())
print("nn.CrossEntropyLoss   :", fused.item())
fused.backward()
print("its gradient          :", logits.grad)
assert np.isinf(naive.item()) and fused.item() == 2000.0
assert np.allclose(logits.grad, [[1.0, 0.0, -1.0]])
"""),
]

build("02_activations_and_losses", cells)
