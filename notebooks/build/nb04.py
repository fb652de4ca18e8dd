from common import build

cells = [
("md", r"""
# 4. Logistic regression

A linear model for yes/no questions: $p(y = 1 \mid x) = \sigma(w^\top x + b)$, fitted by
maximising the likelihood of the labels, i.e. minimising the mean **log-loss** (binary
cross-entropy). This notebook

1. runs a classic NumPy example with a bug in its labels, and shows what microgradnp says about them,
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
## The classic example and its labels

A widely copied example makes binary data "with some noise" like this:
"""),
("code", r"""
rng = np.random.default_rng(0)
X = rng.random((100, 1))
y = np.where(X < 0.5, 0, 1) + rng.integers(0, 2, (100, 1))

values, counts = np.unique(y, return_counts=True)
print("label values:", values, "counts:", counts)
"""),
("md", r"""
The intent was to *flip* some labels; adding a random 0 or 1 instead produces labels
**0, 1 and 2**. A binary model outputs a probability $p \in (0, 1)$; the log-loss
$-[y \log p + (1 - y)\log(1 - p)]$ assumes $y \in \{0, 1\}$. With $y = 2$ it becomes
$-2\log p + \log(1 - p)$, which goes to $-\infty$ as $p \to 1$: the "loss" has no minimum, and
gradient descent pushes the weights up forever. The classic training loop, run on these labels:
"""),
("code", r"""
A = np.column_stack([X, np.ones(len(X))])
theta = np.zeros((2, 1))
for step in range(1, 100_001):
    p = 1 / (1 + np.exp(-(A @ theta)))
    theta -= 0.5 * A.T @ (p - y) / len(A)
    if step in (10, 100, 1000, 10_000, 100_000):
        z = A @ theta  # log p = -log(1 + e^-z) and log(1 - p) = -log(1 + e^z), computed stably
        log_loss = np.mean(y * np.logaddexp(0, -z) + (1 - y) * np.logaddexp(0, z))
        print(f"step {step:>6}: w = {theta[0, 0]:8.3f}, b = {theta[1, 0]:8.3f}, 'log-loss' = {log_loss:8.4f}")
"""),
("md", r"""
A log-loss below zero is impossible for real probabilities: it is the sign that the labels are
not 0/1. NumPy does not object. microgradnp's `LogisticRegression` checks the labels before
training:
"""),
("code", r"""
try:
    nn.LogisticRegression(1).fit(X, y)
except ValueError as error:
    print("ValueError:", error)
"""),
("md", r"""
(and so do the losses themselves: `nn.BCEWithLogitsLoss()(logits, y)` refuses targets outside
$[0, 1]$.)

## Correct labels: flip a fraction of them

Label noise done right: the label is 1 for $x \ge 0.5$, then 20% of the labels, chosen at random,
are flipped.
"""),
("code", r"""
rng = np.random.default_rng(0)
X = rng.random((100, 1))
y = (X[:, 0] >= 0.5).astype(int)
flip = rng.random(100) < 0.2
y = np.where(flip, 1 - y, y)
print("labels:", np.unique(y), "| flipped:", flip.sum())

mg.manual_seed(0)
model = nn.LogisticRegression(1).fit(X, y, epochs=3000, lr=2.0)
w, b = model.coef_[0, 0], model.intercept_[0]
print(f"w = {w:.4f}, b = {b:.4f}; accuracy {model.score(X, y):.2f}; "
      f"decision threshold x = -b/w = {-b / w:.3f}")

grid = np.linspace(0, 1, 200).reshape(-1, 1)
fig, ax = plt.subplots(figsize=(7, 3.5))
jitter = np.random.default_rng(1).uniform(-0.03, 0.03, len(y))
ax.scatter(X[:, 0], y + jitter, c=y, cmap="coolwarm", s=18, label="data (labels jittered)")
ax.plot(grid, model.predict_proba(grid)[:, 1], "k", label="P(y = 1 | x)")
ax.axvline(-b / w, color="gray", ls="--", label="decision threshold")
ax.set_xlabel("x")
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
"""),
("md", r"""
Plain gradient descent on the engine's gradients agrees with both to many digits: the model, its
loss and its gradients are right. (scikit-learn's L-BFGS stops at its own tolerance, so agreement
with it is limited to about that precision.)
"""),
]

build("04_logistic_regression", cells)
