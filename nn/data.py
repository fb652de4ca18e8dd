"""`DataLoader`: cut (X, y) into batches, reshuffled every epoch.

    batch_size=None   one batch of all n samples        batch gradient descent
    batch_size=1      n batches of one sample           stochastic gradient descent
    batch_size=k      ceil(n / k) batches of k (or fewer, the last)   mini-batch

    for X_batch, y_batch in nn.DataLoader(X, y, batch_size=32, seed=0):
        ...                                   # NumPy arrays; modules and losses accept them
"""

import numpy as np

import microgradnp as mg
from microgradnp import Tensor


def _as_array(name, a):
    """A Tensor's array (no copy) or `np.asarray(a)`; at least 1-D."""
    a = a.data if isinstance(a, Tensor) else np.asarray(a)
    if a.ndim == 0:
        raise ValueError(f"DataLoader: {name} must have a first (sample) axis; got a scalar")
    if a.dtype == object:
        raise TypeError(f"DataLoader: {name} must be numeric; got an array of Python objects")
    return a


class DataLoader:
    """Batches of `(X_batch, y_batch)` NumPy arrays, the first axis indexing samples.

    `X`, `y`: arrays or Tensors with the same first dimension (`y` may be None: the batches are
    then `(X_batch, None)`). `shuffle=True` draws a new order every epoch (every `iter()`) from
    a generator seeded once with `seed`, so two loaders with the same seed give the same sequence
    of epochs; `seed=None` draws from `mg.default_generator()` (reseeded by `mg.manual_seed`).
    `drop_last=True` drops the last batch when it is short. `len(loader)` is the number of
    batches per epoch. Without shuffling the batches are views (slices), not copies.
    """

    def __init__(self, X, y=None, batch_size=None, shuffle=True, seed=None, drop_last=False):
        self.X = _as_array("X", X)
        self.y = None if y is None else _as_array("y", y)
        n = len(self.X)
        if self.y is not None and len(self.y) != n:
            raise ValueError(f"DataLoader: X and y must have the same number of samples; X has "
                             f"{n} (shape {self.X.shape}), y has {len(self.y)} "
                             f"(shape {self.y.shape})")
        if n == 0:
            raise ValueError("DataLoader: X has no samples (its first dimension is 0)")
        if batch_size is not None:
            if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool):
                raise TypeError(f"DataLoader: batch_size must be a positive integer or None "
                                f"(the whole set); got {batch_size!r}")
            if batch_size <= 0:
                raise ValueError(f"DataLoader: batch_size must be a positive integer or None "
                                 f"(the whole set); got {batch_size}")
            batch_size = int(batch_size)
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.seed = seed
        self.drop_last = bool(drop_last)
        self._rng = np.random.default_rng(seed) if seed is not None else None

    @property
    def n_samples(self):
        return len(self.X)

    def _step(self):
        """Samples per batch: `batch_size`, or all of them for batch_size=None."""
        return self.n_samples if self.batch_size is None else self.batch_size

    def __len__(self):
        n, k = self.n_samples, self._step()
        return n // k if self.drop_last else -(-n // k)

    def __iter__(self):
        n, k = self.n_samples, self._step()
        stop = n - n % k if self.drop_last else n
        if not self.shuffle:
            for i in range(0, stop, k):
                yield self.X[i:i + k], None if self.y is None else self.y[i:i + k]
            return
        rng = self._rng if self._rng is not None else mg.default_generator()
        order = rng.permutation(n)
        for i in range(0, stop, k):
            idx = order[i:i + k]
            yield self.X[idx], None if self.y is None else self.y[idx]

    def __repr__(self):
        size = "None (all)" if self.batch_size is None else self.batch_size
        return (f"DataLoader(n_samples={self.n_samples}, batch_size={size}, "
                f"batches={len(self)}, shuffle={self.shuffle}, drop_last={self.drop_last})")


__all__ = ["DataLoader"]
