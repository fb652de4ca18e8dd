from common import build

cells = [
("md", r"""
# 5. Deep vs classic

When does a multi-layer perceptron (MLP) beat a linear model, and how do you tell a network that
cannot learn? This notebook

1. fits two moons with logistic regression and with an MLP, and draws both decision boundaries,
2. compares softmax regression and an MLP on the 8x8 handwritten digits,
3. looks at the **gradient health** of a badly initialised network: the graph coloured by the size
   of each tensor's gradient.
"""),
("code", r"""
import matplotlib.pyplot as plt
import numpy as np

import microgradnp as mg
import nn

plt.rcParams["figure.dpi"] = 80
"""),
("md", r"""
## Two moons: a boundary a line cannot draw

Logistic regression's boundary is a straight line. An MLP with hidden layers bends it. Both are
trained with full-batch Adam here; the MLP outputs two logits and is trained with cross-entropy.
"""),
("code", r"""
X, y = mg.datasets.make_moons(n=300, noise=0.2, seed=0)
X_train, X_test, y_train, y_test = mg.datasets.train_test_split(X, y, test_size=0.3, seed=0)

mg.manual_seed(0)
linear = nn.LogisticRegression(2).fit(X_train, y_train, epochs=500, lr=0.05, optimizer="adam")

mg.manual_seed(0)
mlp = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 2))
history = nn.fit(mlp, nn.CrossEntropyLoss(), nn.Adam(mlp.parameters(), lr=0.01),
                 X_train, y_train, epochs=500, seed=0, progress=False)


def mlp_proba(X):
    with mg.no_grad():
        return mlp(X).softmax(axis=1).data[:, 1]


def accuracy(proba, X, y):
    return np.mean((proba(X) > 0.5) == y)


models = {"logistic regression": lambda X: linear.predict_proba(X)[:, 1], "MLP 2-32-32-2": mlp_proba}
g1, g2 = np.meshgrid(np.linspace(-1.7, 2.7, 200), np.linspace(-1.3, 1.8, 200))
grid = np.column_stack([g1.ravel(), g2.ravel()])
fig, axes = plt.subplots(1, 2, figsize=(12, 4.3))
for ax, (name, proba) in zip(axes, models.items()):
    ax.contourf(g1, g2, proba(grid).reshape(g1.shape), levels=np.linspace(0, 1, 11),
                cmap="RdBu_r", alpha=0.35)
    ax.contour(g1, g2, proba(grid).reshape(g1.shape), levels=[0.5], colors="k")
    ax.scatter(*X_train.T, c=y_train, cmap="coolwarm", s=14, edgecolors="white", linewidths=0.4)
    ax.set_title(f"{name}: test accuracy {accuracy(proba, X_test, y_test):.3f}")
    ax.set_xlabel("feature 1")
    ax.set_ylabel("feature 2")
fig.tight_layout()
assert accuracy(models["MLP 2-32-32-2"], X_test, y_test) > accuracy(
    models["logistic regression"], X_test, y_test) + 0.05  # the bent boundary wins
"""),
("md", r"""
## The digits: softmax regression vs an MLP

1797 grey-scale images of 8x8 pixels (values 0..16), ten classes. Pixels are standardised with the
training set's statistics. Softmax regression is one linear layer (650 parameters); the MLP adds
a hidden layer of 64 ReLU units (4,810 parameters).
"""),
("code", r"""
images, labels = mg.datasets.load_digits()
X_train, X_test, y_train, y_test = mg.datasets.train_test_split(
    images, labels, test_size=0.25, seed=0, stratify=labels)
mean, spread = X_train.mean(axis=0), X_train.std(axis=0)
spread[spread == 0] = 1.0  # pixels blank in every training image
Z_train, Z_test = (X_train - mean) / spread, (X_test - mean) / spread

mg.manual_seed(0)
softmax = nn.SoftmaxRegression(64, 10).fit(Z_train, y_train, epochs=40, lr=1e-2, batch_size=32,
                                          optimizer="adam", seed=0)

mg.manual_seed(0)
digits_mlp = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
nn.fit(digits_mlp, nn.CrossEntropyLoss(), nn.Adam(digits_mlp.parameters(), lr=1e-3),
       Z_train, y_train, epochs=40, batch_size=32, seed=0, progress=False)

with mg.no_grad():
    mlp_pred = digits_mlp(Z_test).data.argmax(axis=1)
n_params = {name: sum(p.size for p in m.parameters())
            for name, m in (("softmax", softmax), ("mlp", digits_mlp))}
print(f"{'model':22s} {'parameters':>10s} {'test accuracy':>14s}")
print(f"{'softmax regression':22s} {n_params['softmax']:10,d} {softmax.score(Z_test, y_test):14.3f}")
print(f"{'MLP 64-64-10 (ReLU)':22s} {n_params['mlp']:10,d} {np.mean(mlp_pred == y_test):14.3f}")
assert n_params == {"softmax": 650, "mlp": 4810}
assert softmax.score(Z_test, y_test) > 0.9 and np.mean(mlp_pred == y_test) > 0.95
"""),
("md", r"""
Both are good on this small, clean data set; the MLP makes fewer mistakes. Some of the test
images it gets wrong:
"""),
("code", r"""
wrong = np.flatnonzero(mlp_pred != y_test)[:8]
fig, axes = plt.subplots(1, len(wrong), figsize=(1.6 * len(wrong), 2))
for ax, i in zip(np.atleast_1d(axes), wrong):
    ax.imshow(X_test[i].reshape(8, 8), cmap="gray_r")
    ax.set_title(f"true {y_test[i]}\npred. {mlp_pred[i]}", fontsize=10)
    ax.axis("off")
fig.tight_layout()
"""),
("md", r"""
## A small convolutional network

The MLP sees 64 numbers; it does not know that they form an 8x8 picture. A convolutional layer
does: it slides small 3x3 filters over the image, so the same weights look for the same stroke
anywhere. `nn.Conv2d` and `nn.MaxPool2d` work like PyTorch's (channels first: `(N, 1, 8, 8)`).
`nn.summary` lists the layers, their output shapes and parameters.
"""),
("code", r"""
import time

mg.manual_seed(0)
cnn = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 8 maps of 4x4
    nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 16 maps of 2x2
    nn.Flatten(), nn.Linear(64, 10))
print(nn.summary(cnn, (1, 1, 8, 8)))
images_train, images_test = Z_train.reshape(-1, 1, 8, 8), Z_test.reshape(-1, 1, 8, 8)
start = time.perf_counter()
nn.fit(cnn, nn.CrossEntropyLoss(), nn.Adam(cnn.parameters(), lr=3e-3),
       images_train, y_train, epochs=30, batch_size=32, seed=0, progress=False)
seconds = time.perf_counter() - start
with mg.no_grad():
    cnn_accuracy = np.mean(cnn(images_test).data.argmax(axis=1) == y_test)
n_params["cnn"] = sum(p.size for p in cnn.parameters())
print(f"\n{'model':22s} {'parameters':>10s} {'test accuracy':>14s}")
print(f"{'softmax regression':22s} {n_params['softmax']:10,d} {softmax.score(Z_test, y_test):14.3f}")
print(f"{'MLP 64-64-10 (ReLU)':22s} {n_params['mlp']:10,d} {np.mean(mlp_pred == y_test):14.3f}")
print(f"{'CNN 2 conv + linear':22s} {n_params['cnn']:10,d} {cnn_accuracy:14.3f}"
      f"   (trained in {seconds:.0f} s)")
assert n_params["cnn"] == 1898 and cnn_accuracy > 0.95
"""),
("md", r"""
With fewer parameters than the MLP, the CNN is as accurate: it reuses each filter at every
position. On 8x8 digits the gap is small; on larger images it is what makes deep learning work.
"""),
("md", r"""
## Gradient health: a network that cannot learn

Take a deeper network, 64-32-32-32-32-10 with **sigmoid** activations, and initialise its weights
ten times smaller than the default. Each layer then multiplies the backward signal by its small
weights and by $\sigma'(z) \le 1/4$: the gradient **vanishes** on its way to the first layers.

`mg.draw_graph(loss, show_grad="health")` colours every tensor by the decade of its gradient's
L2 norm, one viridis colour per decade, exactly as its legend says: dark purple for a norm below
$10^{-7}$, then one colour for each of $10^{-7}$, $10^{-6}$, ..., $10^{0}$ (a cell labelled
`1e-3` holds norms from 0.001 up to 0.01), yellow for $10^{1}$ and above. Red would be a NaN or
inf gradient, grey an all-zero one, white a tensor whose gradient was not kept. Call
`mg.retain_all_grads(loss)` before `backward()` so that the intermediate tensors keep their
gradients.
"""),
("code", r"""
def deep_net(activation, weight_scale=1.0):
    mg.manual_seed(0)
    sizes = [64, 32, 32, 32, 32, 10]
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(activation())
    model = nn.Sequential(*layers)
    with mg.no_grad():
        for layer in model:
            if isinstance(layer, nn.Linear):
                layer.weight.data *= weight_scale
    return model


def loss_on_a_batch(model):
    loss = nn.CrossEntropyLoss()(model(Z_train[:32]), y_train[:32])
    mg.retain_all_grads(loss)
    loss.backward()
    return loss


bad = deep_net(nn.Sigmoid, weight_scale=0.1)
bad_loss = loss_on_a_batch(bad)
bad_norms = {}
for name, p in bad.named_parameters():
    if name.endswith("weight"):
        bad_norms[name] = np.linalg.norm(p.grad)
        print(f"{name:9s} gradient norm {bad_norms[name]:.1e}")
assert bad_norms["0.weight"] < 1e-6 * bad_norms["8.weight"]  # vanished: 6+ orders of magnitude
mg.draw_graph(bad_loss, model=bad, show_grad="health", show_data=False)
"""),
("md", r"""
From the loss back to the first layer the colour runs from green to dark purple: seven orders of
magnitude. The first layer's weights get updates ~$10^{-7}$ times smaller than the last layer's,
so with plain SGD they barely move. The same architecture with ReLU and the default
initialisation keeps every layer's gradient within one order of magnitude:
"""),
("code", r"""
good = deep_net(nn.ReLU)
good_loss = loss_on_a_batch(good)
good_norms = {}
for name, p in good.named_parameters():
    if name.endswith("weight"):
        good_norms[name] = np.linalg.norm(p.grad)
        print(f"{name:9s} gradient norm {good_norms[name]:.1e}")
assert max(good_norms.values()) < 10 * min(good_norms.values())  # within one order of magnitude
mg.draw_graph(good_loss, model=good, show_grad="health", show_data=False)
"""),
("md", r"""
Deep networks make big pictures. `collapse_modules=True` draws each module as one box with the
shapes that go in and come out and its parameter count (an int, e.g. `collapse_modules=1`,
chooses how deep to collapse: 1 would draw the whole `Sequential` as one box). Drawn before
`backward()`, the picture also shows the data and the labels; a plain backward drops the
constants it no longer needs, and a picture after it shows what was kept:
"""),
("code", r"""
fresh_loss = nn.CrossEntropyLoss()(good(Z_train[:32]), y_train[:32])  # before any backward
mg.draw_graph(fresh_loss, model=good, collapse_modules=True)
"""),
("md", r"""
And the consequence, trained with the same SGD for 30 epochs:
"""),
("code", r"""
fig, ax = plt.subplots(figsize=(7, 3.5))
accuracies = {}
for name, model in (("sigmoid, weights x 0.1", deep_net(nn.Sigmoid, 0.1)),
                    ("ReLU, default init", deep_net(nn.ReLU))):
    h = nn.fit(model, nn.CrossEntropyLoss(), nn.SGD(model.parameters(), lr=0.1),
               Z_train, y_train, epochs=30, batch_size=64, seed=0, progress=False)
    ax.plot(h.epoch, h.history["loss"], label=name)
    with mg.no_grad():
        acc = np.mean(model(Z_test).data.argmax(axis=1) == y_test)
    print(f"{name:24s} test accuracy after 30 epochs: {acc:.3f}")
    accuracies[name] = acc
assert accuracies["sigmoid, weights x 0.1"] < 0.5 < 0.9 < accuracies["ReLU, default init"]
ax.set_xlabel("epoch")
ax.set_ylabel("training loss")
ax.legend()
fig.tight_layout()
"""),
]

build("05_mlp_deep_vs_classic", cells)
