"""`nn.save` / `nn.load`: a model's or optimizer's state as one `.npz` file, never pickle.

The file is a standard NumPy `.npz` archive (a zip of `.npy` arrays, readable with `np.load`):

    __microgradnp__.npy     JSON metadata as uint8 bytes: format version, kind ("module",
                            "optimizer" or "state_dict"), class name, keys, shapes, dtypes
                            (for optimizers also param_groups and scalar state such as "step")
    layers.0.weight.npy     one entry per array, under PyTorch's state-dict names
    ...

Loading uses `allow_pickle=False`, so a file from a stranger cannot run code. Saving writes a
temporary file in the same folder and renames it over `path` (`os.replace`, atomic), so a crash
mid-save leaves the old file intact. Arrays keep PyTorch's names and layouts: the state dict of
a `Sequential(Linear(3, 4), ReLU(), Linear(4, 2))` loads into the same `torch.nn` model via
`torch.from_numpy`.
"""

import json
import os
import tempfile
import time
import zipfile
from collections import OrderedDict

import numpy as np

from microgradnp import Tensor

from .module import Module
from .optim import check_hyperparameters

FORMAT = "microgradnp"
VERSION = 1
META_KEY = "__microgradnp__"


# ============================================================================ save


def save(obj, path):
    """Write the state of `obj` to `path` (exactly that name; ".npz" is the usual suffix).

    obj: an `nn.Module` (its `state_dict()`), an optimizer (its `state_dict()`: hyperparameters,
    and per-parameter state such as Adam's moments), or a state dict (name -> array) itself.
    """
    path = os.fspath(path)
    kind, cls, arrays, extra = _flatten(obj)
    meta = {
        "format": FORMAT, "version": VERSION, "kind": kind, "class": cls,
        "keys": list(arrays),
        "shapes": {k: list(a.shape) for k, a in arrays.items()},
        "dtypes": {k: str(a.dtype) for k, a in arrays.items()},
        **extra,
    }
    try:
        meta_bytes = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    except TypeError as e:
        raise ValueError(f"nn.save: cannot store the metadata of {cls} as JSON: {e}") from None
    if META_KEY in arrays:
        raise ValueError(f"nn.save: the key {META_KEY!r} is reserved for the file's metadata")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"nn.save: the folder of {path!r} does not exist ({folder})")
    _remove_stale_temp_files(folder, os.path.basename(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=_temp_prefix(path), suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            _write_npz(f, {META_KEY: meta_bytes, **arrays})
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a saved model is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _temp_prefix(path):
    """Temporary files are ".<name>.<pid>-<random>.tmp" next to <name>: hidden, and tied to the
    target and to the process writing them."""
    return f".{os.path.basename(path)}.{os.getpid()}-"


def _remove_stale_temp_files(folder, name):
    """Remove what an interrupted save of `name` (kill -9, power cut) left behind: temporary
    files of this target whose writing process no longer exists. A save running right now in
    another process keeps its file."""
    prefix = f".{name}."
    for entry in os.listdir(folder):
        if not (entry.startswith(prefix) and entry.endswith(".tmp")):
            continue
        pid = entry[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and not _process_alive(int(pid), os.path.join(folder, entry)):
            try:
                os.remove(os.path.join(folder, entry))
            except OSError:
                pass  # gone already, or not ours to remove


def _process_alive(pid, file):
    if pid == os.getpid():
        return True  # another thread of this process may be saving the same path
    if os.name == "nt":  # no signal 0 on Windows: call a temp file older than a day stale
        return time.time() - os.path.getmtime(file) < 86400
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by another user
    return True


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_npz(f, arrays):
    """What `np.savez` writes, entry by entry (np.savez would reserve the keys "file" and
    "allow_pickle" for its own arguments) and with `allow_pickle=False`."""
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key, a in arrays.items():
            with zf.open(key + ".npy", "w", force_zip64=True) as entry:
                np.lib.format.write_array(entry, np.asanyarray(a), allow_pickle=False)


def _flatten(obj):
    """(kind, class name, {key: ndarray}, extra metadata) for a module, optimizer or dict."""
    if isinstance(obj, Module):
        return "module", type(obj).__name__, _arrays(obj.state_dict()), {}
    if hasattr(obj, "param_groups") and hasattr(obj, "state_dict"):
        return ("optimizer", type(obj).__name__) + _flatten_optimizer(obj.state_dict())
    if isinstance(obj, dict) and "param_groups" in obj and "state" in obj:
        return ("optimizer", "dict") + _flatten_optimizer(obj)
    if isinstance(obj, dict):
        return "state_dict", "dict", _arrays(obj), {}
    raise TypeError(f"nn.save: expected an nn.Module, an optimizer or a state dict; got "
                    f"{type(obj).__name__}")


def _arrays(state):
    out = OrderedDict()
    for k, v in state.items():
        a = np.asarray(v.data if isinstance(v, Tensor) else v)
        if a.dtype.kind not in "biufc":
            raise ValueError(f"nn.save: entry {k!r} is not a numeric array (dtype {a.dtype})")
        out[str(k)] = a
    return out


def _flatten_optimizer(sd):
    """Arrays under "state.<index>.<name>"; scalars and param_groups go in the metadata."""
    arrays, scalars = OrderedDict(), {}
    for index, s in sd["state"].items():
        for name, v in s.items():
            if isinstance(v, np.ndarray) and v.ndim:
                arrays[f"state.{index}.{name}"] = v
            else:
                scalars.setdefault(str(index), {})[name] = np.asarray(v).item()
    groups = [{k: list(v) if isinstance(v, tuple) else v for k, v in g.items()}
              for g in sd["param_groups"]]
    return arrays, {"param_groups": groups, "scalars": scalars}


# ============================================================================ load


def load(path, into=None):
    """Read a file written by `nn.save` and return its state.

    For a module (or state dict) file: an OrderedDict name -> ndarray, ready for
    `model.load_state_dict(...)`. For an optimizer file: {"state": {index: {...}},
    "param_groups": [...]}, ready for `optimizer.load_state_dict(...)`.
    With `into=model` (or `into=optimizer`) the state is also loaded into it, strictly: on a
    mismatch the error names the keys and nothing changes. The state is returned either way.

    Every malformed file (truncated, foreign, pickled, forged or inconsistent metadata, optimizer
    hyperparameters out of range, a directory) is a ValueError naming the path and the problem;
    a missing file is a FileNotFoundError.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"nn.load: no such file: {path!r}")
    if os.path.isdir(path):
        raise _bad(path, "is a directory, not a file written by nn.save")
    meta, arrays = _read(path)
    if meta["kind"] == "optimizer":
        state = {}
        for key, a in arrays.items():
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = a
        for index, s in meta["scalars"].items():
            state.setdefault(int(index), {}).update(s)
        result = {"state": dict(sorted(state.items())), "param_groups": meta["param_groups"]}
    else:
        result = arrays
    if into is not None:
        is_module = isinstance(into, Module)
        if is_module != (meta["kind"] != "optimizer"):
            raise ValueError(f"nn.load: {path!r} holds the state of a {meta['class']} "
                             f"({meta['kind']}); it cannot be loaded into a "
                             f"{type(into).__name__}")
        into.load_state_dict(result)
    return result


def _bad(path, problem):
    return ValueError(f"nn.load: {path!r} {problem}")


def _read(path):
    """(metadata, OrderedDict of arrays), every array read and checked against the metadata."""
    with open(path, "rb") as f:
        head = f.read(6)
    if not head:
        raise _bad(path, "is empty (a truncated file?)")
    if head[:1] == b"\x80":
        raise _bad(path, "contains pickled data (e.g. from pickle or torch.save), which nn.load "
                         "refuses to read: it could run code. Save with nn.save instead")
    if head.startswith(b"\x93NUMPY"):
        raise _bad(path, "is a single .npy array, not a state file written by nn.save")
    if not head.startswith(b"PK"):
        raise _bad(path, f"is not an .npz archive (it starts with {head!r}): not a file written "
                         f"by nn.save")
    if not zipfile.is_zipfile(path):
        raise _bad(path, "starts like a zip archive but is not a readable one: truncated or "
                         "corrupt, or not a file written by nn.save")
    try:
        with np.load(path, allow_pickle=False) as npz:
            if META_KEY not in npz.files:
                raise _bad(path, f"is an .npz archive without the {META_KEY!r} metadata entry: "
                                 f"not a file written by nn.save (foreign format)")
            raw = npz[META_KEY]
            if raw.dtype != np.uint8 or raw.ndim != 1:
                raise _bad(path, f"has a metadata entry of dtype {raw.dtype} and shape "
                                 f"{raw.shape}, not JSON bytes (forged or foreign)")
            try:
                meta = json.loads(raw.tobytes().decode("utf-8"))
            except ValueError as e:
                raise _bad(path, f"has metadata that is not valid JSON ({e})") from None
            _check_meta(path, meta)
            keys = meta["keys"]
            stored = [k for k in npz.files if k != META_KEY]
            if sorted(stored) != sorted(keys):
                missing = sorted(set(keys) - set(stored))
                extra = sorted(set(stored) - set(keys))
                raise _bad(path, f"is inconsistent: arrays missing {missing}, unexpected "
                                 f"{extra}")
            arrays = OrderedDict()
            for k in keys:
                a = npz[k]
                if list(a.shape) != meta["shapes"][k] or str(a.dtype) != meta["dtypes"][k]:
                    raise _bad(path, f"is inconsistent: {k!r} has shape {a.shape} dtype "
                                     f"{a.dtype}, the metadata says {tuple(meta['shapes'][k])} "
                                     f"{meta['dtypes'][k]}")
                arrays[k] = a
    except ValueError as e:
        if str(e).startswith("nn.load:"):
            raise
        if "pickle" in str(e).lower():
            raise _bad(path, "contains pickled data, which nn.load refuses to read (it could "
                             "run code); it was not written by nn.save") from None
        raise _bad(path, f"is not a valid state file ({e})") from None
    except (zipfile.BadZipFile, EOFError, OSError, KeyError) as e:
        raise _bad(path, f"is truncated or corrupt ({type(e).__name__}: {e})") from None
    except Exception as e:  # anything else a forged entry can provoke inside NumPy or zipfile
        raise _bad(path, f"is not a valid state file ({type(e).__name__}: {e})") from None
    return meta, arrays


def _check_meta(path, meta):
    """Every field `load` uses, with the type it must have: a forged or damaged header is a
    ValueError naming the field, never a TypeError or an unpacking error later on."""
    def need(ok, what):
        if not ok:
            raise _bad(path, f"has malformed metadata: {what}")

    need(isinstance(meta, dict) and meta.get("format") == FORMAT,
         "it is not microgradnp's (foreign format)")
    version = meta.get("version")
    need(type(version) is int and version >= 1, f"'version' must be an integer >= 1, got "
                                                f"{version!r}")
    if version > VERSION:
        raise _bad(path, f"was written by a newer microgradnp (format version {version}; this "
                         f"one reads up to {VERSION})")
    kind = meta.get("kind")
    need(kind in ("module", "optimizer", "state_dict"),
         f"'kind' must be 'module', 'optimizer' or 'state_dict', got {kind!r}")
    need(isinstance(meta.get("class"), str), f"'class' must be a string, got "
                                             f"{meta.get('class')!r}")
    keys, shapes, dtypes = meta.get("keys"), meta.get("shapes"), meta.get("dtypes")
    need(isinstance(keys, list) and all(isinstance(k, str) for k in keys)
         and len(set(keys)) == len(keys), "'keys' must be a list of distinct strings")
    need(isinstance(shapes, dict) and isinstance(dtypes, dict), "'shapes' and 'dtypes' must be "
                                                                "objects")
    for k in keys:
        shape = shapes.get(k)
        need(isinstance(shape, list) and all(type(n) is int and n >= 0 for n in shape),
             f"the shape of {k!r} must be a list of non-negative integers, got {shape!r}")
        need(isinstance(dtypes.get(k), str), f"the dtype of {k!r} must be a string, got "
                                             f"{dtypes.get(k)!r}")
    if kind != "optimizer":
        return
    for k in keys:
        parts = k.split(".", 2)
        need(len(parts) == 3 and parts[0] == "state" and parts[1].isdigit() and parts[2],
             f"optimizer array {k!r} is not named 'state.<index>.<name>'")
    groups, scalars = meta.get("param_groups"), meta.get("scalars", {})
    need(isinstance(groups, list) and groups and all(isinstance(g, dict) for g in groups),
         "'param_groups' must be a non-empty list of objects")
    for gi, group in enumerate(groups):
        params = group.get("params")
        need(isinstance(params, list) and all(type(i) is int and i >= 0 for i in params),
             f"param_groups[{gi}]['params'] must be a list of parameter indices, got {params!r}")
        try:
            check_hyperparameters(dict(group), f"param_groups[{gi}]")
        except (TypeError, ValueError) as e:
            raise _bad(path, f"has an invalid optimizer hyperparameter: {e}") from None
    need(isinstance(scalars, dict) and all(
        k.isdigit() and isinstance(s, dict) and all(
            isinstance(v, (int, float, bool)) or v is None for v in s.values())
        for k, s in scalars.items()), "'scalars' must map parameter indices to numbers")
    meta["scalars"] = scalars
