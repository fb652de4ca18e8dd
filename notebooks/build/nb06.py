from common import build

cells = [
("md", r"""
# 6. Interpretability: saliency maps

Which pixels does a digit classifier look at? A **saliency map** answers with a derivative: the
gradient of a class score with respect to the input pixels. A large positive value means
"brightening this pixel raises the score for this class", a large negative one "darkening it
does".

An autograd engine computes that gradient the same way it computes gradients for training; the
only change is *what requires grad*: the input image instead of (or as well as) the weights.
"""),
("code", r"""
import matplotlib.pyplot as plt
import numpy as np

import microgradnp as mg
import nn

plt.rcParams["figure.dpi"] = 80
"""),
("md", r"""
## A classifier to explain

An MLP 64-64-10 on the 8x8 digits, as in notebook 5. The standardisation of the pixels is written
as part of the model's computation (`standardise` below), so gradients are with respect to the raw
pixel values (0..16).
"""),
("code", r"""
images, labels = mg.datasets.load_digits()
X_train, X_test, y_train, y_test = mg.datasets.train_test_split(
    images, labels, test_size=0.25, seed=0, stratify=labels)
mean, spread = X_train.mean(axis=0), X_train.std(axis=0)
blank = spread == 0  # pixels that are 0 in every training image
spread[blank] = 1.0


def standardise(x):
    return (x - mean) / spread


mg.manual_seed(0)
model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
nn.fit(model, nn.CrossEntropyLoss(), nn.Adam(model.parameters(), lr=1e-3),
       standardise(X_train), y_train, epochs=40, batch_size=32, seed=0, progress=False)
model.eval()
with mg.no_grad():
    predicted = model(standardise(X_test)).data.argmax(axis=1)
print(f"test accuracy {np.mean(predicted == y_test):.3f}; blank pixels: {blank.sum()}")
assert np.mean(predicted == y_test) > 0.95 and blank.sum() > 0
"""),
("md", r"""
## Saliency: gradient of the class score

The input becomes a Tensor with `requires_grad=True`; the score of the predicted class (a logit)
is differentiated with `backward()`, and `x.grad` is the saliency map.

A batch can be done in one pass: the MLP treats each image independently, so the gradient of
the **sum** of the images' scores with respect to image $i$ is the gradient of image $i$'s own
score.

Pixels that are blank in every training image never taught the network anything (their input is
always 0, so their first-layer weights were never updated and are still random); we mask them.
"""),
("code", r"""
examples = np.array([np.flatnonzero(y_test == d)[0] for d in (0, 2, 3, 4, 7, 9)])

x = mg.tensor(X_test[examples], requires_grad=True)   # (6, 64) raw pixels
scores = model(standardise(x))                         # (6, 10) logits
chosen = predicted[examples]
scores[np.arange(len(examples)), chosen].sum().backward()
saliency = np.where(blank, 0.0, x.grad)                # (6, 64): d score / d raw pixel
per_unit = saliency * spread                           # d score / d standardised pixel

# the claim above: in the batch, image k's gradient is that of its own score alone
one = mg.tensor(X_test[examples[1:2]], requires_grad=True)
model(standardise(one))[0, chosen[1]].backward()
assert np.allclose(x.grad[1], one.grad[0])

fig, axes = plt.subplots(3, len(examples), figsize=(1.9 * len(examples), 6))
for k, i in enumerate(examples):
    s = per_unit[k].reshape(8, 8)
    limit = np.abs(s).max()
    axes[0, k].imshow(X_test[i].reshape(8, 8), cmap="gray_r")
    axes[0, k].set_title(f"predicted {chosen[k]}")
    axes[1, k].imshow(s, cmap="RdBu_r", vmin=-limit, vmax=limit)
    gi = (saliency[k] * X_test[i]).reshape(8, 8)
    axes[2, k].imshow(gi, cmap="RdBu_r", vmin=-np.abs(gi).max(), vmax=np.abs(gi).max())
for ax in axes.ravel():
    ax.set_xticks([])
    ax.set_yticks([])
axes[0, 0].set_ylabel("image")
axes[1, 0].set_ylabel("gradient\n(per std. pixel)")
axes[2, 0].set_ylabel("gradient x input")
fig.suptitle("saliency of the predicted class's score (red: raises it, blue: lowers it)")
fig.tight_layout()
"""),
("md", r"""
Two ways to read the same gradient:

* **Middle row: the gradient per standardised pixel**, $\partial s / \partial z_j = \sigma_j\,
  \partial s / \partial x_j$ (the chain rule through `standardise`), i.e. the effect of changing
  pixel $j$ by one typical amount. (Per raw unit, the rarely-inked border pixels, whose spread
  $\sigma_j$ is tiny, would dominate the picture.) It is large wherever a change *would* matter,
  including on pixels that are blank in this image: blue where ink would argue against the class,
  as in the hole of the 0.
* **Bottom row: gradient x input**, $x_j\,\partial s / \partial x_j$, which keeps only the pixels
  that are actually inked: which of the strokes present support the prediction.

## Contrast: why a 3 and not an 8?

Differentiating the *difference* of two scores shows what separates the classes. For a 3, the
gradient of $\text{score}_3 - \text{score}_8$, per standardised pixel $z$:
"""),
("code", r"""
i = np.flatnonzero((y_test == 3) & (predicted == 3))[0]
x = mg.tensor(X_test[i:i + 1], requires_grad=True)
scores = model(standardise(x))
(gradient,) = mg.grad(scores[0, 3] - scores[0, 8], x)   # like backward, without touching .grad
contrast = np.where(blank, 0.0, gradient.data[0] * spread).reshape(8, 8)  # per standardised pixel

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(6, 3))
ax1.imshow(X_test[i].reshape(8, 8), cmap="gray_r")
ax1.set_title("a 3")
limit = np.abs(contrast).max()
ax2.imshow(contrast, cmap="RdBu_r", vmin=-limit, vmax=limit)
ax2.set_title("d(score 3 - score 8) / d z")
for ax in (ax1, ax2):
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()
"""),
("md", r"""
Blue pixels are where ink would make this 3 look more like an 8 (typically the left side, where an
8 closes its loops); red pixels are the parts of the 3 that an 8 lacks.

## A sanity check on a linear model

For softmax regression the class score is linear in the input, $s_c = W_c \cdot z + b_c$ with
$z = (x - \mu)/\sigma$, so its saliency map must be exactly $W_c / \sigma$, whatever the image. The
engine agrees:
"""),
("code", r"""
mg.manual_seed(0)
linear = nn.SoftmaxRegression(64, 10).fit(standardise(X_train), y_train, epochs=30, lr=1e-2,
                                          batch_size=32, optimizer="adam", seed=0)
x = mg.tensor(X_test[:1], requires_grad=True)
linear(standardise(x))[0, 3].backward()
print("saliency == W[3] / spread:", np.allclose(x.grad[0], linear.coef_[3] / spread))
assert np.allclose(x.grad[0], linear.coef_[3] / spread)

fig, axes = plt.subplots(1, 10, figsize=(14, 1.9))
for c, ax in enumerate(axes):
    w = np.where(blank, 0.0, linear.coef_[c] / spread).reshape(8, 8)
    ax.imshow(w, cmap="RdBu_r", vmin=-np.abs(w).max(), vmax=np.abs(w).max())
    ax.set_title(f"class {c}")
    ax.axis("off")
fig.suptitle("softmax regression: the (image-independent) saliency of each class")
fig.tight_layout()
"""),
("md", r"""
For a linear model the map is a template of the class, the same for every image. The MLP's maps
above differ from image to image: that dependence on the input is what the hidden layer adds.
"""),
]

build("06_interpretability", cells)
