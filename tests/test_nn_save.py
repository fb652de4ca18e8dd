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


# ============================================================================ malformed files


def _forge(path, meta, arrays=None, raw_meta=None):
    """An .npz like nn.save's, with the metadata given (possibly wrong)."""
    if raw_meta is None:
        raw_meta = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    with open(path, "wb") as f:
        serialization._write_npz(f, {serialization.META_KEY: raw_meta, **(arrays or {})})


def _meta(**changes):
    meta = {"format": "microgradnp", "version": 1, "kind": "state_dict", "class": "dict",
            "keys": ["w"], "shapes": {"w": [2]}, "dtypes": {"w": "float64"}}
    meta.update(changes)
    return {k: v for k, v in meta.items() if v is not None}


def _opt_meta(**group_changes):
    group = {"lr": 0.1, "momentum": 0.0, "dampening": 0.0, "nesterov": False,
             "weight_decay": 0.0, "params": [0]}
    group.update(group_changes)
    return _meta(kind="optimizer", **{"class": "SGD"}, keys=[], shapes={}, dtypes={},
                 param_groups=[group], scalars={})


FORGED = [
    ("version string", _meta(version="1"), "'version' must be an integer"),
    ("version newer", _meta(version=99), "newer microgradnp"),
    ("kind unknown", _meta(kind="model"), "'kind' must be"),
    ("class number", _meta(**{"class": 3}), "'class' must be a string"),
    ("keys not list", _meta(keys="w"), "'keys' must be a list"),
    ("keys repeated", _meta(keys=["w", "w"]), "distinct"),
    ("shapes list", _meta(shapes=[[2]]), "'shapes' and 'dtypes' must be objects"),
    ("shape missing", _meta(shapes={}), "the shape of 'w'"),
    ("shape negative", _meta(shapes={"w": [-2]}), "the shape of 'w'"),
    ("shape strings", _meta(shapes={"w": ["2"]}), "the shape of 'w'"),
    ("dtype missing", _meta(dtypes={"w": None}), "the dtype of 'w'"),
    ("metadata a list", ["microgradnp"], "foreign format"),
    ("optimizer lr -5", _opt_meta(lr=-5), r"lr must be a finite number >= 0; got lr=-5"),
    ("optimizer lr string", _opt_meta(lr="0.1"), r"lr must be a number; got lr='0.1'"),
    ("optimizer betas", _opt_meta(betas=[0.9, 2]), "betas must be two numbers"),
    ("optimizer no groups", {**_opt_meta(), "param_groups": "all"}, "'param_groups' must be"),
    ("optimizer params", _opt_meta(params=["a"]), r"param_groups\[0\]\['params'\]"),
    ("optimizer scalars", {**_opt_meta(), "scalars": {"0": {"step": "three"}}}, "'scalars'"),
    ("optimizer key", {**_opt_meta(), "keys": ["w"], "shapes": {"w": [2]},
                       "dtypes": {"w": "float64"}}, "'state.<index>.<name>'"),
]


@pytest.mark.parametrize("meta, match", [f[1:] for f in FORGED], ids=[f[0] for f in FORGED])
def test_forged_metadata_is_one_clear_value_error_naming_the_file(tmp_path, meta, match):
    path = tmp_path / "forged.npz"
    _forge(path, meta, {"w": np.zeros(2)} if isinstance(meta, dict) and meta.get("keys") else {})
    with pytest.raises(ValueError, match=rf"nn.load: '.*forged.npz' .*{match}"):
        nn.load(path)


def test_metadata_that_is_not_json_bytes_is_a_clear_value_error(tmp_path):
    path = tmp_path / "m.npz"
    _forge(path, None, raw_meta=np.ones(3))
    with pytest.raises(ValueError, match="m.npz.*metadata entry of dtype float64"):
        nn.load(path)
    _forge(path, None, raw_meta=np.frombuffer(b"{not json", np.uint8))
    with pytest.raises(ValueError, match="m.npz.*not valid JSON"):
        nn.load(path)
    _forge(path, None, raw_meta=np.frombuffer(b"\xff\xfe", np.uint8))
    with pytest.raises(ValueError, match="m.npz.*not valid JSON"):
        nn.load(path)


def test_random_bytes_starting_with_pk_are_not_called_pickled(tmp_path):
    path = tmp_path / "junk.npz"
    path.write_bytes(b"PK" + np.random.default_rng(0).bytes(500))
    with pytest.raises(ValueError, match="junk.npz.*not a readable one") as info:
        nn.load(path)
    assert "pickle" not in str(info.value)


def test_a_directory_is_a_clear_value_error(tmp_path):
    folder = tmp_path / "model.npz"
    folder.mkdir()
    with pytest.raises(ValueError, match="model.npz' is a directory"):
        nn.load(folder)


def test_optimizer_hyperparameters_are_validated_on_load_and_into(tmp_path):
    path = tmp_path / "opt.npz"
    model = _model()
    opt = nn.SGD(model.parameters(), lr=0.1)
    sd = opt.state_dict()
    sd["param_groups"][0]["lr"] = -5  # nn.save stores what it is given
    nn.save(sd, path)
    with pytest.raises(ValueError, match="opt.npz.*lr=-5"):
        nn.load(path, into=opt)
    assert opt.param_groups[0]["lr"] == 0.1


def test_a_temp_file_left_by_a_killed_save_is_removed_by_the_next_save(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "model.npz"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(dead.stdout)
    stale = tmp_path / f".model.npz.{dead_pid}-abc123.tmp"  # what kill -9 mid-save leaves
    stale.write_bytes(b"PK\x03\x04 half a file")
    live = tmp_path / f".model.npz.{os.getppid()}-def456.tmp"  # a save running right now
    live.write_bytes(b"PK")
    other = tmp_path / f".other.npz.{dead_pid}-abc123.tmp"  # another target's: not ours
    other.write_bytes(b"PK")
    nn.save(_model(), path)
    assert sorted(os.listdir(tmp_path)) == sorted(["model.npz", live.name, other.name])
    nn.load(path)


def test_temp_files_are_named_after_the_target_and_the_writing_process(tmp_path, monkeypatch):
    seen = []

    def spy(f, arrays):
        seen.extend(os.listdir(tmp_path))
        raise KeyboardInterrupt

    monkeypatch.setattr(serialization, "_write_npz", spy)
    with pytest.raises(KeyboardInterrupt):
        nn.save(_model(), tmp_path / "m.npz")
    (name,) = seen
    assert name.startswith(f".m.npz.{os.getpid()}-") and name.endswith(".tmp")


def test_any_damaged_byte_gives_a_value_error_or_a_clean_load(tmp_path):
    """Flip bytes all over a saved optimizer file: nn.load either reads it (a flip inside array
    data is just other numbers) or raises ValueError naming the file; never another exception."""
    model = _model()
    opt = nn.Adam(model.parameters(), lr=0.01)
    (model(X) ** 2).mean().backward()
    opt.step()
    path = tmp_path / "opt.npz"
    nn.save(opt, path)
    data = path.read_bytes()
    rng = np.random.default_rng(0)
    for position in rng.choice(len(data), size=150, replace=False):
        damaged = bytearray(data)
        damaged[position] ^= 1 << int(rng.integers(8))
        path.write_bytes(bytes(damaged))
        try:
            nn.load(path)
        except ValueError as e:
            assert "opt.npz" in str(e)
