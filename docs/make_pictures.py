"""Regenerate the README's graph pictures: `python docs/make_pictures.py` (needs `dot`).

    docs/graph_mlp.svg     a 2-16-16-3 MLP and its cross-entropy loss, ops boxed by module
    docs/graph_health.svg  the same network with a dead ReLU layer, coloured by gradient norm
    docs/backprop.html     micrograd's L = (a*b + c) * f, backpropagated step by step (a page)
    docs/backprop.png      a screenshot of its step 3 (needs a headless `chromium`)
"""

import shutil
import subprocess
from pathlib import Path

import numpy as np

import microgradnp as mg
import nn

HERE = Path(__file__).resolve().parent


def mlp_batch():
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(),
                          nn.Linear(16, 3))
    rng = np.random.default_rng(0)
    X, y = mg.tensor(rng.normal(size=(4, 2))), np.array([0, 1, 2, 1])
    X.name = "X (a batch of 4)"
    return model, X, y


def mlp_picture():
    model, X, y = mlp_batch()
    loss = nn.CrossEntropyLoss()(model(X), y)
    loss.name = "loss"
    mg.retain_all_grads(loss)  # before backward: keep the intermediate gradients for the picture
    loss.backward(retain_graph=True)  # keep the graph's inputs too: the batch and the labels
    return mg.draw_graph(loss, model=model, legend=True)


def health_picture():
    model, X, y = mlp_batch()
    with mg.no_grad():
        model[2].bias.data[:] = -100.0  # every unit of the second hidden layer is dead
    loss = nn.CrossEntropyLoss()(model(X), y)
    loss.name = "loss"
    mg.retain_all_grads(loss)
    loss.backward()
    return mg.draw_graph(loss, model=model, show_grad="health", show_data=False)


def backprop_page():
    """micrograd's classic example: L = (a*b + c) * f."""
    a = mg.tensor(2.0, requires_grad=True, name="a")
    b = mg.tensor(-3.0, requires_grad=True, name="b")
    c = mg.tensor(10.0, requires_grad=True, name="c")
    f = mg.tensor(-2.0, requires_grad=True, name="f")
    e = a * b
    e.name = "e"
    d = e + c
    d.name = "d"
    L = d * f
    L.name = "L"
    return mg.render_backprop(L, HERE / "backprop.html")


def screenshot(page, png, frame=3):
    """A headless Chromium's picture of `page` opened at `frame` (page.html#3)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        print(f"no chromium: {png.name} not updated")
        return
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--screenshot={png}", "--window-size=1100,590",
                    f"{page.resolve().as_uri()}#{frame}"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(f"wrote {png.relative_to(HERE.parent)}")


def main():
    for name, graph in [("graph_mlp.svg", mlp_picture()), ("graph_health.svg", health_picture())]:
        path = mg.render_graph(graph, HERE / name)
        print(f"wrote {path.relative_to(HERE.parent)}")
    page = backprop_page()
    print(f"wrote {page.relative_to(HERE.parent)}")
    screenshot(page, HERE / "backprop.png")


if __name__ == "__main__":
    main()
