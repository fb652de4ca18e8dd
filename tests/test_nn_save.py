"""nn.save / nn.load: round trips, atomic writes, no pickle, clear errors, PyTorch layouts."""

import json
import os
import pickle
import zipfile

import numpy as np
import pytest

import microgradnp as mg
import nn
from nn import serialization


def _model(seed=0):
    mg.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


X = np.random.default_rng(1).normal(size=(5, 3))


def test_module_round_trip(tmp_path):
    path = tmp_path / "model.npz"
    a, b = _model(0), _model(1)
    nn.save(a, path)
    sd = nn.load(path)
    assert list(sd) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    b.load_state_dict(sd)
    np.testing.assert_array_equal(a(X).data, b(X).data)
    c = _model(2)
    assert nn.load(path, into=c) is not None
    np.testing.assert_array_equal(a(X).data, c(X).data)


def test_file_is_a_plain_npz_with_json_metadata(tmp_path):
    path = tmp_path / "m.npz"
    nn.save(_model(), path)
    with np.load(path, allow_pickle=False) as npz:
        meta = json.loads(bytes(npz[serialization.META_KEY]).decode())
        assert npz["0.weight"].shape == (4, 3)
    assert meta["format"] == "microgradnp" and meta["version"] == 1
    assert meta["class"] == "Sequential" and meta["kind"] == "module"
    assert meta["keys"] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert meta["shapes"]["2.weight"] == [2, 4] and meta["dtypes"]["0.bias"] == "float64"


def test_float32_and_plain_state_dicts(tmp_path):
    path = tmp_path / "sd.npz"
    layer = nn.Linear(2, 2, dtype=np.float32)
    nn.save(layer.state_dict(), path)
    sd = nn.load(path)
    assert sd["weight"].dtype == np.float32
    # keys that np.savez would reserve for its own arguments are fine
    nn.save({"file": np.ones(2), "allow_pickle": np.zeros(1)}, path)
    assert set(nn.load(path)) == {"file", "allow_pickle"}


def test_optimizer_round_trip_resumes_training_exactly(tmp_path):
    path = tmp_path / "opt.npz"

    def train(model, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            (model(X) ** 2).mean().backward()
            opt.step()

    a = _model()
    opt_a = nn.Adam(a.parameters(), lr=0.01, amsgrad=True)
    train(a, opt_a, 3)
    nn.save(a, tmp_path / "model.npz")
    nn.save(opt_a, path)
    b = _model(5)
    nn.load(tmp_path / "model.npz", into=b)
    opt_b = nn.Adam(b.parameters(), lr=0.9)
    state = nn.load(path, into=opt_b)
    assert state["state"][0]["step"] == 3 and state["param_groups"][0]["lr"] == 0.01
    assert opt_b.param_groups[0]["betas"] == (0.9, 0.999)
    train(a, opt_a, 2)
    train(b, opt_b, 2)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_sgd_momentum_state_round_trip(tmp_path):
    model = _model()
    opt = nn.SGD(model.parameters(), lr=0.1, momentum=0.9)
    (model(X) ** 2).mean().backward()
    opt.step()
    nn.save(opt, tmp_path / "sgd.npz")
    state = nn.load(tmp_path / "sgd.npz")
    np.testing.assert_array_equal(state["state"][2]["momentum_buffer"],
                                  opt.state[model[2].weight]["momentum_buffer"])


def test_save_is_atomic_a_crash_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    a = _model(0)
    nn.save(a, path)
    before = path.read_bytes()

    def crash(f, arrays):
        f.write(b"PK\x03\x04 half a file")
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(serialization, "_write_npz", crash)
    with pytest.raises(KeyboardInterrupt):
        nn.save(_model(1), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]  # no temporary file left behind


def test_truncated_file_is_a_clear_error(tmp_path):
    path = tmp_path / "model.npz"
    nn.save(_model(), path)
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 10, 3):
        path.write_bytes(data[:cut])
        with pytest.raises(ValueError, match=f"{path.name}.*(truncated|corrupt|not)"):
            nn.load(path)
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        nn.load(path)


def test_foreign_and_pickled_files_are_refused(tmp_path):
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, weights=np.ones(3))
    with pytest.raises(ValueError, match="foreign.npz.*without.*metadata"):
        nn.load(foreign)
    pickled = tmp_path / "model.pkl"
    pickled.write_bytes(pickle.dumps({"0.weight": np.ones(3)}))
    with pytest.raises(ValueError, match="model.pkl.*pickled"):
        nn.load(pickled)
    npy = tmp_path / "a.npy"
    np.save(npy, np.ones(3))
    with pytest.raises(ValueError, match="single .npy"):
        nn.load(npy)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ValueError, match="notes.txt.*not an .npz"):
        nn.load(text)
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        nn.load(tmp_path / "missing.npz")


def test_object_arrays_inside_an_npz_are_not_unpickled(tmp_path):
    path = tmp_path / "evil.npz"
    meta = {"format": "microgradnp", "version": 1, "kind": "state_dict", "class": "dict",
            "keys": ["w"], "shapes": {"w": [1]}, "dtypes": {"w": "object"}}
    with zipfile.ZipFile(path, "w") as zf:
        with zf.open(serialization.META_KEY + ".npy", "w") as f:
            np.lib.format.write_array(f, np.frombuffer(json.dumps(meta).encode(), np.uint8))
        with zf.open("w.npy", "w") as f:
            np.lib.format.write_array(f, np.array([object()], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="evil.npz.*pickled"):
        nn.load(path)


def test_loading_into_a_different_shape_names_keys_and_changes_nothing(tmp_path):
    path = tmp_path / "model.npz"
    nn.save(_model(), path)
    other = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2))
    before = other.state_dict()
    with pytest.raises(nn.StateDictError, match=r"0.weight.*\(4, 3\).*\(5, 3\)"):
        nn.load(path, into=other)
    for k, v in other.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    with pytest.raises(ValueError, match="cannot be loaded into a SGD"):
        nn.load(path, into=nn.SGD(other.parameters(), lr=0.1))


def test_state_dict_loads_into_the_matching_torch_model(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "model.npz"
    ours = _model()
    nn.save(ours, path)
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(),
                                 torch.nn.Linear(4, 2)).double()
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in nn.load(path).items()})
    with torch.no_grad():
        expected = theirs(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(ours(X).data, expected, rtol=1e-14)
    # and back: a torch state dict loads into ours
    back = _model(9)
    back.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    np.testing.assert_allclose(back(X).data, expected, rtol=1e-14)


def test_saved_files_are_ordinary_files_and_bad_paths_are_named(tmp_path):
    import stat

    model = nn.Linear(2, 1)
    path = tmp_path / "m.npz"
    nn.save(model, path)
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~mask
    with pytest.raises(FileNotFoundError, match="does not exist"):
        nn.save(model, tmp_path / "missing" / "m.npz")
