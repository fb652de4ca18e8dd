from common import build

cells = [
("md", r"""
# 4. Logistic regression

A linear model for yes/no questions: $p(y = 1 \mid x) = \sigma(w^\top x + b)$, fitted by
maximising the likelihood of the labels, i.e. minimising the mean **log-loss** (binary
cross-entropy). This notebook

1. runs the lesson's NumPy example and finds three bugs: its labels are a **(100, 100)** matrix,
   their values are 0..2, and its gradient is never summed over the samples; then fixes them,
2. fits 1-D and 2-D data with correct 0/1 labels and draws the decision boundary,
3. checks that gradient descent reaches the maximum-likelihood solution that a dedicated solver
   (scikit-learn, or Newton's method) finds.
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
## The lesson's example

The lesson makes binary data "with some noise" like this (only `np.random.seed(0)` is added, for
reproducibility):
"""),
("code", r"""
np.random.seed(0)
X = np.random.rand(100, 1)
y = np.where(X < 0.5, 0, 1) + np.random.randint(0, 2, 100)

print("X.shape:", X.shape, "| y.shape:", y.shape)
assert y.shape == (100, 100)
"""),
("md", r"""
**Bug 1: the labels are a (100, 100) matrix**, not 100 labels. `np.where(X < 0.5, 0, 1)` has
`X`'s shape `(100, 1)`, a column; `np.random.randint(0, 2, 100)` has shape `(100,)`, which NumPy
treats as a row `(1, 100)`. Adding a column and a row **broadcasts** them into every pair:
`y[i, j]` is sample $i$'s label plus the $j$-th random number. NumPy says nothing.

**Bug 2: the values are 0, 1 and 2.** The intent was to *flip* some labels; adding a random 0 or
1 instead produces a 2 wherever a 1 meets a 1. Even with the shapes fixed (one random number per
sample), the labels are 0..2:
"""),
("code", r"""
values, counts = np.unique(y, return_counts=True)
print("values in the (100, 100) matrix:", values, "counts:", counts)

y_one_per_sample = np.where(X[:, 0] < 0.5, 0, 1) + np.random.randint(0, 2, 100)
values, counts = np.unique(y_one_per_sample, return_counts=True)
print("one label per sample, shape", y_one_per_sample.shape, "- values:", values, "counts:", counts)
assert set(values) == {0, 1, 2}
"""),
("md", r"""
A binary model outputs a probability $p \in (0, 1)$; the log-loss
$-[y \log p + (1 - y)\log(1 - p)]$ assumes $y \in \{0, 1\}$. With $y = 2$ it becomes
$-2\log p + \log(1 - p)$, which goes to $-\infty$ as $p \to 1$: the "loss" has no minimum.

**Bug 3: the gradient is never summed over the samples**, the same bug as in the lesson's linear
regression (notebook 3). The lesson's training loop, run as written on its labels:
"""),
("code", r"""
def sigmoid(z):
    return 1 / (1 + np.exp(-z))

theta = np.random.randn(1, 1)
alpha = 0.01
try:
    for i in range(1000):
        h = sigmoid(X * theta)
        gradient = X * (h - y)
        theta -= alpha * gradient
except ValueError as error:
    print(f"ValueError at iteration {i}: {error}")
    print("theta.shape:", theta.shape, "| gradient.shape:", gradient.shape)
else:
    raise AssertionError("expected a ValueError: the gradient is not summed over the samples")
assert gradient.shape == (100, 100)
"""),
("md", r"""
`X * (h - y)` is one gradient per sample (here even one per *pair*, since `y` is a matrix); the
gradient of the mean log-loss is their average, one number per parameter. The in-place update
refuses to turn `theta` into a matrix.

## The fix

Labels: one per sample, 0 or 1; "noise" means flipping a fraction of them. Gradient: averaged over
the samples, $\nabla L = \frac{1}{n} A^\top(p - y)$ with $A = [x, 1]$ (which also adds the
intercept the lesson's model lacked). Then the loop runs, and its log-loss falls:
"""),
("code", r"""
np.random.seed(0)
X = np.random.rand(100, 1)
y = np.where(X < 0.5, 0, 1)                    # (100, 1): one 0/1 label per sample
flip = np.random.rand(100, 1) < 0.2            # noise: flip 20% of the labels
y = np.where(flip, 1 - y, y)
print("y.shape:", y.shape, "| values:", np.unique(y), "| flipped:", flip.sum())

A = np.column_stack([X, np.ones(len(X))])      # [x, 1]
theta = np.zeros((2, 1))
alpha = 2.0
for i in range(3000):
    p = sigmoid(A @ theta)
    gradient = A.T @ (p - y) / len(A)          # (2, 1): summed over the samples
    theta -= alpha * gradient
log_loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
print(f"w = {theta[0, 0]:.4f}, b = {theta[1, 0]:.4f}, log-loss {log_loss:.4f}, "
      f"threshold x = -b/w = {-theta[1, 0] / theta[0, 0]:.3f}")
assert gradient.shape == theta.shape and np.abs(gradient).max() < 1e-4  # at the minimum
assert 0.3 < -theta[1, 0] / theta[0, 0] < 0.7
"""),
("md", r"""
microgradnp cannot make bug 3 (a gradient always has its parameter's shape), and its
`LogisticRegression` checks the labels before training. On the lesson's labels it says what is
wrong, for each of bugs 1 and 2:
"""),
("code", r"""
np.random.seed(0)
X_lesson = np.random.rand(100, 1)
y_lesson = np.where(X_lesson < 0.5, 0, 1) + np.random.randint(0, 2, 100)
for labels in (y_lesson, y_one_per_sample):
    try:
        nn.LogisticRegression(1).fit(X_lesson, labels)
    except ValueError as error:
        print("ValueError:", error)
    else:
        raise AssertionError("expected LogisticRegression to refuse these labels")
"""),
("md", r"""
(and so do the losses themselves: `nn.BCEWithLogitsLoss()(logits, y)` refuses targets outside
$[0, 1]$.)

## The same with microgradnp

On the fixed labels, `nn.LogisticRegression` runs the same gradient descent, the engine computing
the gradient, and lands on the same weights:
"""),
("code", r"""
mg.manual_seed(0)
model = nn.LogisticRegression(1).fit(X, y, epochs=3000, lr=2.0)
w, b = model.coef_[0, 0], model.intercept_[0]
print(f"w = {w:.4f}, b = {b:.4f}; accuracy {model.score(X, y):.2f}; "
      f"decision threshold x = -b/w = {-b / w:.3f}")
assert np.allclose([w, b], theta.ravel(), atol=1e-3)  # the NumPy fix's weights

grid = np.linspace(0, 1, 200).reshape(-1, 1)
fig, ax = plt.subplots(figsize=(7, 3.5))
jitter = np.random.default_rng(1).uniform(-0.03, 0.03, len(y))
ax.scatter(X[:, 0], y[:, 0] + jitter, c=y[:, 0], cmap="coolwarm", s=18,
           label="data (labels jittered)")
ax.plot(grid, model.predict_proba(grid)[:, 1], "k", label="P(y = 1 | x)")
ax.axvline(-b / w, color="gray", ls="--", label="decision threshold")
ax.set_xlabel("x")
ax.set_ylabel("label y  /  P(y = 1 | x)")
ax.legend(loc="center right")
fig.tight_layout()
"""),
("md", r"""
The threshold lands near 0.5, where the labels switch. The probability curve is not a step:
with 20% of labels flipped the model is, rightly, never certain.

## Two features: the decision boundary

In 2-D the set where $w^\top x + b = 0$ (probability 0.5) is a straight line. Two overlapping
Gaussian clouds:
"""),
("code", r"""
X2, y2 = mg.datasets.make_blobs(n=200, centers=[[-1.0, -1.0], [1.0, 1.0]], cluster_std=1.0,
                                seed=0)
mg.manual_seed(0)
model2 = nn.LogisticRegression(2).fit(X2, y2, epochs=1000, lr=0.5)
print("coef_", model2.coef_, "intercept_", model2.intercept_, "accuracy %.3f" % model2.score(X2, y2))
assert model2.score(X2, y2) > 0.85

g1, g2 = np.meshgrid(np.linspace(-4.5, 4.5, 200), np.linspace(-4.5, 4.5, 200))
proba = model2.predict_proba(np.column_stack([g1.ravel(), g2.ravel()]))[:, 1].reshape(g1.shape)

fig, ax = plt.subplots(figsize=(6, 5))
filled = ax.contourf(g1, g2, proba, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.35)
fig.colorbar(filled, label="P(y = 1)")
ax.contour(g1, g2, proba, levels=[0.5], colors="k")
for label, color, marker in ((0, "#1d4ed8", "o"), (1, "#b91c1c", "^")):
    ax.scatter(*X2[y2 == label].T, c=color, marker=marker, edgecolors="white", s=28,
               label=f"y = {label}")
ax.legend(loc="upper left")
ax.set_xlabel("feature 1")
ax.set_ylabel("feature 2")
ax.set_title("logistic regression: P(y = 1) and the boundary P = 0.5")
fig.tight_layout()
"""),
("md", r"""
## Is it the maximum-likelihood solution?

The mean log-loss of logistic regression is convex, so there is one best $(w, b)$ (as long as the
classes are not perfectly separable, otherwise the weights grow forever). Dedicated solvers find
it directly. Two independent references:

* **Newton's method** in NumPy: $\theta \leftarrow \theta - H^{-1} \nabla L$ with gradient
  $A^\top (p - y)$ and Hessian $A^\top \mathrm{diag}(p(1-p)) A$; it converges in a handful of steps;
* **scikit-learn**'s `LogisticRegression` without regularisation (`C=np.inf`, the current
  spelling of `penalty=None`), when scikit-learn is installed.
"""),
("code", r"""
def newton_logistic(X, y, steps=30):
    A = np.column_stack([X, np.ones(len(X))])
    theta = np.zeros(A.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(A @ theta)))
        hessian = (A * (p * (1 - p))[:, None]).T @ A
        theta -= np.linalg.solve(hessian, A.T @ (p - y))
    return theta


ours = np.append(model2.coef_.ravel(), model2.intercept_)
references = {"Newton (NumPy)": newton_logistic(X2, y2)}
try:
    from sklearn.linear_model import LogisticRegression
except ImportError:
    print("scikit-learn is not installed: comparing with Newton's method only")
else:
    sk = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(X2, y2)
    references["scikit-learn"] = np.append(sk.coef_.ravel(), sk.intercept_)

print(f"{'':16s} {'w1':>9s} {'w2':>9s} {'b':>9s}")
print(f"{'microgradnp':16s}", " ".join(f"{v:9.5f}" for v in ours))
for name, theta in references.items():
    print(f"{name:16s}", " ".join(f"{v:9.5f}" for v in theta),
          f"  max difference {np.max(np.abs(ours - theta)):.1e}")
    assert np.max(np.abs(ours - theta)) < 1e-3, name
"""),
("md", r"""
Plain gradient descent on the engine's gradients agrees with both to many digits: the model, its
loss and its gradients are right. (scikit-learn's L-BFGS stops at its own tolerance, so agreement
with it is limited to about that precision.)
"""),
]

build("04_logistic_regression", cells)
