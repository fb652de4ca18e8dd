"""The demo behind `make demo`: four small lessons, printed as tables and drawn as pictures.

    1. linear regression three ways   batch / stochastic / mini-batch gradient descent vs lstsq
    2. logistic regression            coefficients, accuracy, log-loss, the decision boundary,
                                      and what happens with labels 0..2
    3. deep vs classic                softmax regression vs a 64-64-10 MLP on the 8x8 digits
    4. the graph                      a small MLP's loss drawn with its gradients, and gradcheck

It uses only the public API of `microgradnp` and `nn`, so it doubles as their example. It is an
application of both packages: the one place in `microgradnp/` that imports `nn` (inside `run`,
so `import microgradnp` never does). Pictures are PNGs written by matplotlib's Agg renderer and
an SVG from Graphviz, into `out` (default `demo-output/`).
"""

import math
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

import microgradnp as mg

# epochs per model: the full run, and --quick (a smoke run: fewer epochs on the digits only, so
# the linear and logistic models still reach the least-squares / maximum-likelihood solutions)
FULL = dict(batch_epochs=500, sgd_epochs=100, minibatch_epochs=500, logistic_epochs=1000,
            softmax_epochs=60, mlp_epochs=40)
QUICK = dict(FULL, softmax_epochs=15, mlp_epochs=15)


def run(out="demo-output", quick=False, seed=0, file=None):
    """Run the four sections, print their tables to `file` (default stdout), write pictures to
    `out`. Returns a dict of the key numbers (used by the tests).

    This function imports `nn`: the demo is an application of both packages, and the only place
    in `microgradnp/` that does (the engine itself never imports `nn`).
    """
    import nn

    file = sys.stdout if file is None else file
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    figures = _matplotlib()
    settings = QUICK if quick else FULL
    show = _Printer(file)
    start = time.perf_counter()

    show.line(f"microgradnp {mg.__version__} demo  (seed {seed}"
              f"{', --quick' if quick else ''}; pictures in {out}/)")
    if figures is None:
        show.line("matplotlib is not installed: no PNG pictures (pip install microgradnp[plot])")
    results = {}
    results["linear"] = linear_regression(nn, show, figures, out, seed, settings)
    results["logistic"] = logistic_regression(nn, show, figures, out, seed, settings)
    results["digits"] = deep_vs_classic(nn, show, figures, out, seed, settings)
    results["graph"] = the_graph(nn, show, out, seed)
    results["seconds"] = time.perf_counter() - start
    show.header("Done")
    show.line(f"total time {results['seconds']:.1f} s; pictures: "
              f"{', '.join(sorted(p.name for p in out.iterdir() if p.suffix in ('.png', '.svg')))}")
    return results


# ============================================================================ 1. linear regression


def linear_regression(nn, show, figures, out, seed, settings):
    """Fit y = 2x + 1 + noise three ways and compare with the least-squares solution."""
    show.header("1. Linear regression, three ways: y = 2x + 1 + noise, 100 points")
    X, y = mg.datasets.make_linear(n=100, slope=2.0, intercept=1.0, noise=1.0, seed=seed)
    X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    y = np.asarray(y, dtype=np.float64).reshape(len(y))
    n = len(X)

    # the reference: least squares on [x, 1], solved by NumPy
    A = np.column_stack([X, np.ones(n)])
    (ls_slope, ls_intercept), *_ = np.linalg.lstsq(A, y, rcond=None)
    ls_mse = float(np.mean((A @ np.array([ls_slope, ls_intercept]) - y) ** 2))

    # (name, batch_size, initial lr, epochs, learning-rate decay per epoch)
    methods = [
        ("batch GD", None, 0.5, settings["batch_epochs"], None),
        ("SGD, lr 0.1 * 0.93^epoch", 1, 0.1, settings["sgd_epochs"], 0.93),
        ("mini-batch GD (20)", 20, 0.5, settings["minibatch_epochs"], 0.99),
    ]
    rows, curves, results = [], {}, {}
    for name, batch_size, lr, epochs, gamma in methods:
        mg.manual_seed(seed)
        model = nn.LinearRegression(1)
        optimizer = nn.SGD(model.parameters(), lr=lr)
        scheduler = nn.ExponentialLR(optimizer, gamma=gamma) if gamma else None
        tic = time.perf_counter()
        model.fit(X, y, epochs=epochs, batch_size=batch_size, optimizer=optimizer,
                  scheduler=scheduler, seed=seed)
        seconds = time.perf_counter() - tic
        slope = float(np.ravel(model.coef_)[0])
        intercept = float(np.ravel(model.intercept_)[0])
        mse = float(np.mean((np.ravel(model.predict(X)) - y) ** 2))
        distance = math.hypot(slope - ls_slope, intercept - ls_intercept)
        batches = 1 if batch_size is None else math.ceil(n / batch_size)
        updates = epochs * batches
        rows.append([name, epochs, updates, f"{mse:.6f}", f"{slope:.4f}",
                     f"{intercept:.4f}", f"{distance:.2e}", f"{seconds:.2f} s"])
        curves[name] = (np.asarray(model.history_.history["loss"]), batches)
        results[name] = dict(slope=slope, intercept=intercept, mse=mse, distance=distance,
                             updates=updates, seconds=seconds)
    rows.append(["np.linalg.lstsq", "", "", f"{ls_mse:.6f}", f"{ls_slope:.4f}",
                 f"{ls_intercept:.4f}", f"{0:.2e}", ""])
    show.table(["method", "epochs", "updates", "final MSE", "slope", "intercept",
                "dist. to lstsq", "time"], rows)
    show.line("updates = parameter updates: one per epoch for batch GD, 100 per epoch for SGD,")
    show.line("5 for mini-batches of 20. A decaying learning rate lets the noisy ones settle.")

    if figures is not None:
        fig, (ax1, ax2) = figures.subplots(1, 2, figsize=(11, 4))
        for name, (loss, batches) in curves.items():
            epochs = np.arange(1, len(loss) + 1)
            ax1.plot(epochs, loss, label=name)
            ax2.plot(epochs * batches, loss, label=name)
        for ax, xlabel in ((ax1, "epoch"), (ax2, "parameter updates")):
            ax.axhline(ls_mse, color="k", ls="--", lw=1, label="least squares")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel(xlabel)
            ax.set_ylabel("training loss (MSE, mean over the epoch)")
            ax.legend()
        fig.suptitle("Linear regression y = 2x + 1 + noise: three ways to descend")
        _save(fig, out / "linear_regression_loss.png", show)
    results["lstsq"] = dict(slope=float(ls_slope), intercept=float(ls_intercept), mse=ls_mse)
    return results


# ======================================================================== 2. logistic regression


def logistic_regression(nn, show, figures, out, seed, settings):
    """Binary classification with 0/1 labels; the buggy 0..2 labels; the decision boundary."""
    show.header("2. Logistic regression: two overlapping blobs, labels 0/1")
    # two overlapping clusters (not separable, so the maximum-likelihood weights are finite)
    X, y = mg.datasets.make_blobs(n=200, centers=[[-1.0, -1.0], [1.0, 1.0]], cluster_std=1.0,
                                  seed=seed)
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y).reshape(len(y))
    mg.manual_seed(seed)
    model = nn.LogisticRegression(X.shape[1])
    tic = time.perf_counter()
    model.fit(X, y, epochs=settings["logistic_epochs"], lr=0.5, seed=seed)
    seconds = time.perf_counter() - tic
    p = _positive_proba(model.predict_proba(X))
    log_loss = float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))
    accuracy = float(model.score(X, y))

    # the maximum-likelihood solution, by Newton's method in NumPy (the data are not separable)
    w_mle = _newton_logistic(X, y)
    w_fit = np.concatenate([np.ravel(model.coef_), np.ravel(model.intercept_)])
    distance = float(np.linalg.norm(w_fit - w_mle))
    rows = [
        ["nn.LogisticRegression", *(f"{w:+.4f}" for w in w_fit), f"{accuracy:.3f}",
         f"{log_loss:.5f}", f"{seconds:.2f} s"],
        ["max. likelihood (Newton)", *(f"{w:+.4f}" for w in w_mle), "", "", ""],
    ]
    names = [f"w{i + 1}" for i in range(X.shape[1])] + ["b"]
    show.table(["model", *names, "accuracy", "log-loss", "time"], rows)
    show.line(f"distance to the maximum-likelihood weights: {distance:.2e}")

    # the lesson's labels: np.where(X < 0.5, 0, 1) + np.random.randint(0, 2, 100)
    rng = np.random.default_rng(seed)
    X_bad = rng.random((100, 1))
    y_matrix = np.where(X_bad < 0.5, 0, 1) + rng.integers(0, 2, 100)  # (100, 1) + (100,)
    y_bad = np.where(X_bad[:, 0] < 0.5, 0, 1) + rng.integers(0, 2, 100)  # one per sample
    show.line()
    show.wrapped(f"The lesson's labels, np.where(X < 0.5, 0, 1) + np.random.randint(0, 2, 100), "
                 f"broadcast a (100, 1) array with a (100,) one into a {y_matrix.shape} matrix of "
                 f"values {sorted(np.unique(y_matrix).tolist())}; one label per sample is still "
                 f"0..2, not 0/1, and the lesson's gradient is never summed over the samples.")
    try:
        nn.LogisticRegression(1).fit(X_bad, y_bad, epochs=5, lr=0.1)
        error = None
        show.line("microgradnp accepted them without complaint (it should not!)")
    except Exception as e:  # noqa: BLE001 (shown to the reader, whatever it is)
        error = f"{type(e).__name__}: {e}"
        show.line("What microgradnp says when you try:")
        show.wrapped(error, indent="    ")

    if figures is not None:
        fig, ax = figures.subplots(figsize=(6, 5))
        _boundary(ax, lambda grid: _positive_proba(model.predict_proba(grid)), X, y, levels=[0.5])
        ax.set_title(f"Logistic regression: accuracy {accuracy:.3f}, log-loss {log_loss:.3f}")
        _save(fig, out / "logistic_boundary.png", show)
    return dict(accuracy=accuracy, log_loss=log_loss, distance_to_mle=distance,
                label_error=error)


def _positive_proba(proba):
    """P(y = 1) from predict_proba's output, whether (n,), (n, 1) or (n, 2)."""
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim == 2 and proba.shape[1] == 2:
        return proba[:, 1]
    return proba.reshape(len(proba))


def _newton_logistic(X, y, steps=50):
    """Maximum-likelihood logistic regression weights [w..., b] by Newton's method (NumPy)."""
    A = np.column_stack([X, np.ones(len(X))])
    w = np.zeros(A.shape[1])
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(A @ w)))
        gradient = A.T @ (p - y)
        hessian = (A * (p * (1 - p))[:, None]).T @ A
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.max(np.abs(step)) < 1e-12:
            break
    return w


# ============================================================================ 3. deep vs classic


def deep_vs_classic(nn, show, figures, out, seed, settings):
    """Softmax regression vs a 64-64-10 MLP on the 8x8 digits."""
    show.header("3. Deep vs classic: 8x8 handwritten digits (1797 images, 10 classes)")
    X, y = mg.datasets.load_digits()
    X_train, X_test, y_train, y_test = mg.datasets.train_test_split(
        X, y, test_size=0.25, seed=seed, stratify=y)
    # standardise each pixel with the training set's mean and spread (never the test set's)
    mean, spread = X_train.mean(axis=0), X_train.std(axis=0)
    spread[spread == 0] = 1.0  # pixels that are blank in every training image
    X_train, X_test = (X_train - mean) / spread, (X_test - mean) / spread
    show.line(f"train {len(X_train)} images, test {len(X_test)} (stratified split); each pixel "
              f"standardised by the training set")

    mg.manual_seed(seed)
    softmax = nn.SoftmaxRegression(64, 10)
    tic = time.perf_counter()
    softmax.fit(X_train, y_train, epochs=settings["softmax_epochs"], lr=1e-2, batch_size=32,
                optimizer="adam", validation_data=(X_test, y_test), metrics=["accuracy"],
                seed=seed)
    softmax_seconds = time.perf_counter() - tic
    softmax_history = softmax.history_

    mg.manual_seed(seed)
    mlp = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    optimizer = nn.Adam(mlp.parameters(), lr=1e-3)
    tic = time.perf_counter()
    history = nn.fit(mlp, nn.CrossEntropyLoss(), optimizer, X_train, y_train,
                     epochs=settings["mlp_epochs"], batch_size=32,
                     validation_data=(X_test, y_test), metrics=["accuracy"], seed=seed,
                     progress=False)
    mlp_seconds = time.perf_counter() - tic

    def accuracy(model, X, y):
        with mg.no_grad():
            return float(np.mean(np.argmax(model(X).data, axis=1) == y))

    results = {
        "softmax": dict(train=float(softmax.score(X_train, y_train)),
                        test=float(softmax.score(X_test, y_test)), seconds=softmax_seconds),
        "mlp": dict(train=accuracy(mlp, X_train, y_train), test=accuracy(mlp, X_test, y_test),
                    seconds=mlp_seconds),
    }
    n_softmax = sum(p.size for p in softmax.parameters())
    n_mlp = sum(p.size for p in mlp.parameters())
    rows = [
        ["softmax regression (64-10)", f"{n_softmax:,}", settings["softmax_epochs"],
         f"{results['softmax']['train']:.3f}", f"{results['softmax']['test']:.3f}",
         f"{softmax_seconds:.2f} s"],
        ["MLP 64-64-10, ReLU, Adam", f"{n_mlp:,}", settings["mlp_epochs"],
         f"{results['mlp']['train']:.3f}", f"{results['mlp']['test']:.3f}",
         f"{mlp_seconds:.2f} s"],
    ]
    show.table(["model", "parameters", "epochs", "train acc.", "test acc.", "time"], rows)

    if figures is not None:
        fig, (ax1, ax2) = figures.subplots(1, 2, figsize=(11, 4))
        for name, h, color in (("softmax regression", softmax_history, "C0"),
                               ("MLP", history, "C1")):
            ax1.plot(h.epoch, h.history["loss"], color=color, label=f"{name}, train")
            ax1.plot(h.epoch, h.history["val_loss"], "--", color=color, label=f"{name}, test")
            ax2.plot(h.epoch, h.history["accuracy"], color=color, label=f"{name}, train")
            ax2.plot(h.epoch, h.history["val_accuracy"], "--", color=color,
                     label=f"{name}, test")
        ax1.set_yscale("log")
        ax1.set_xlabel("epoch")
        ax1.set_ylabel("cross-entropy")
        ax1.legend()
        ax2.set_xlabel("epoch")
        ax2.set_ylabel("accuracy")
        ax2.set_ylim(0.8, 1.0)
        ax2.legend(loc="lower right")
        fig.suptitle("8x8 digits: softmax regression vs MLP")
        _save(fig, out / "digits_curves.png", show)
    return results


# ============================================================================ 4. the graph


def the_graph(nn, show, out, seed):
    """A 2-8-2 MLP's loss on a few moons points: its graph, drawn and printed, and gradcheck."""
    show.header("4. The graph: a 2-8-2 MLP's cross-entropy on 6 moons points")
    X, y = mg.datasets.make_moons(n=6, noise=0.1, seed=seed)
    X = mg.Tensor(np.asarray(X, dtype=np.float64), name="X")  # named, for the pictures
    mg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
    loss_fn = nn.CrossEntropyLoss()
    loss = loss_fn(model(X), y)
    mg.retain_all_grads(loss)  # keep the intermediate gradients for the picture
    loss.backward()
    mg.print_graph(loss, model=model, file=show.file)

    graph = mg.draw_graph(loss, model=model, show_grad=True)
    path = out / "mlp_graph.svg"
    try:
        mg.render_graph(graph, path)
        show.line(f"wrote {path} (module clusters, parameters by name, gradients)")
        drawn = True
    except mg.GraphvizNotFoundError as e:
        source = path.with_suffix(".gv")
        source.write_text(graph.source)
        show.line(f"could not draw {path.name}: {e}")
        show.line(f"wrote its Graphviz source instead: {source} (render it with `dot -Tsvg`)")
        drawn = False

    # gradcheck perturbs each parameter's data in place, so the model sees the perturbation
    params = dict(model.named_parameters())
    n_numbers = sum(p.size for p in params.values())
    tic = time.perf_counter()
    passed = mg.gradcheck(lambda *ps: loss_fn(model(X), y), list(params.values()))
    seconds = time.perf_counter() - tic
    show.line(f"mg.gradcheck(loss, {len(params)} parameters = {n_numbers} numbers: "
              f"{', '.join(params)}) -> {passed}  ({seconds:.2f} s)")
    return dict(gradcheck=bool(passed), drawn=drawn, loss=float(loss.item()))


# ============================================================================ output helpers


class _Printer:
    """Headers, lines and aligned tables on one stream."""

    def __init__(self, file):
        self.file = file

    def line(self, text=""):
        print(text, file=self.file, flush=True)

    def wrapped(self, text, indent=""):
        """`text` in lines of at most 92 characters, each prefixed with `indent`."""
        for piece in textwrap.wrap(text, width=92, initial_indent=indent,
                                   subsequent_indent=indent + ("  " if indent else ""),
                                   break_on_hyphens=False):
            self.line(piece)

    def header(self, title):
        self.line()
        self.line(f"== {title} " + "=" * max(3, 88 - len(title)))

    def table(self, headers, rows):
        """Columns aligned: the first to the left, the others (numbers) to the right."""
        cells = [[str(c) for c in row] for row in rows]
        widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]

        def fmt(row):
            return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(row, widths))).rstrip()

        self.line(fmt(headers))
        self.line("  ".join("-" * w for w in widths))
        for row in cells:
            self.line(fmt(row))


class _Figures:
    """Figures drawn by matplotlib's Agg renderer straight to files: `matplotlib.figure.Figure`
    without pyplot, so no window opens and no global backend or figure state is touched."""

    def __init__(self, Figure):
        self.Figure = Figure

    def subplots(self, nrows=1, ncols=1, figsize=None):
        fig = self.Figure(figsize=figsize)
        return fig, fig.subplots(nrows, ncols)


def _matplotlib():
    """A `_Figures` factory, or None when matplotlib is not installed."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    return _Figures(Figure)


def _save(fig, path, show):
    fig.tight_layout()
    fig.savefig(path, dpi=110)  # a PNG through the Agg canvas
    show.line(f"wrote {path}")


def _boundary(ax, proba, X, y, levels):
    """Filled probability contours of `proba(grid)` and the data, on `ax`."""
    pad = 0.5
    x0, x1 = X[:, 0].min() - pad, X[:, 0].max() + pad
    y0, y1 = X[:, 1].min() - pad, X[:, 1].max() + pad
    gx, gy = np.meshgrid(np.linspace(x0, x1, 200), np.linspace(y0, y1, 200))
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    p = proba(grid).reshape(gx.shape)
    filled = ax.contourf(gx, gy, p, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.35)
    ax.figure.colorbar(filled, ax=ax, label="P(y = 1)")
    ax.contour(gx, gy, p, levels=levels, colors="k", linewidths=1.5)
    for label, color, marker in ((0, "#1d4ed8", "o"), (1, "#b91c1c", "^")):
        mask = y == label
        ax.scatter(X[mask, 0], X[mask, 1], c=color, marker=marker, edgecolors="white",
                   linewidths=0.5, s=28, label=f"y = {label}")
    ax.legend(loc="upper left")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
