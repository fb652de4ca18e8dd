"""Regenerate the README's graph pictures: `python docs/make_pictures.py` (needs `dot`).

    docs/graph_mlp.svg     a 2-16-16-3 MLP and its cross-entropy loss, ops boxed by module
    docs/graph_health.svg  the same network with a dead ReLU layer, coloured by gradient norm
"""

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
    loss.backward()
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


def main():
    for name, graph in [("graph_mlp.svg", mlp_picture()), ("graph_health.svg", health_picture())]:
        path = mg.render_graph(graph, HERE / name)
        print(f"wrote {path.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
