"""Timing helpers: timeit-style loops, repeated, the implementations interleaved.

Each repeat times `number` back-to-back calls of every implementation in turn (numpy, then
microgradnp, then torch, then numpy, ...), so a slow spell of the machine hits all sides alike.
The per-call time of a repeat is its total divided by `number`; we keep the best (min) and the
median over repeats. The garbage collector stays on: it is part of what a user pays.

The cost of calling a callable (a `functools.partial` of a C function: tens of ns) is measured
the same way and subtracted, so a tiny workload's ratio compares the work, not the harness.
"""

import contextlib
import functools
import operator
import statistics
import time

_clock = time.perf_counter


def _loop(fn, number, mode=None):
    with mode() if mode else contextlib.nullcontext():
        start = _clock()
        for _ in range(number):
            fn()
        return _clock() - start


def calibrate(fn, min_time, mode=None):
    """The smallest loop count 1, 2, 5, 10, 20, ... whose loop takes at least `min_time` s."""
    number = 1
    while True:
        for factor in (1, 2, 5):
            n = number * factor
            if _loop(fn, n, mode) >= min_time:
                return n
        number *= 10


_null = functools.partial(operator.is_, None, None)  # a call that does no work


def call_overhead(min_time=0.05, repeats=7):
    """Seconds per call of a do-nothing partial: the harness's share of every measurement."""
    number = calibrate(_null, min_time)
    return min(_loop(_null, number) / number for _ in range(repeats))


def _summary(samples, **extra):
    return dict(best=min(samples), median=statistics.median(samples), **extra)


def compare(fns, repeats, min_time, overhead=0.0, modes=None):
    """Time each callable of `fns` (name -> fn), interleaved; `modes` (name -> context manager
    factory) wraps a side's loops. Returns name -> {best, median, loops} seconds per call."""
    modes = modes or {}
    numbers = {}
    for name, fn in fns.items():
        _loop(fn, 1, modes.get(name))  # warm up: caches, lazy imports
        numbers[name] = calibrate(fn, min_time, modes.get(name))
    samples = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            samples[name].append(_loop(fn, numbers[name], modes.get(name)) / numbers[name]
                                 - overhead)
    return {name: _summary(s, loops=numbers[name]) for name, s in samples.items()}


def compare_phases(phases, repeats, min_time, calibrate=True):
    """Like `compare` for sides split into (forward () -> state, backward (state) -> None):
    each call is timed, forward and backward apart, the state dropped inside the backward's
    time (freeing a graph is part of its cost). Returns name -> {"forward": {best, median},
    "backward": ..., "total": ...} seconds per call. Without `calibrate` (calls known to
    take long), each repeat is one call and there is no warm-up call."""
    def once(forward, backward):
        start = _clock()
        state = forward()
        middle = _clock()
        backward(state)
        del state
        return middle - start, _clock() - middle

    def nothing(state=None):
        pass

    empty = [once(nothing, nothing) for _ in range(1000)]  # the clock's own cost, subtracted
    overhead = [statistics.median(t[phase] for t in empty) for phase in (0, 1)]

    numbers = dict.fromkeys(phases, 1)
    for name, (forward, backward) in phases.items() if calibrate else ():  # warms up too
        numbers[name] = max(1, round(min_time / sum(once(forward, backward))))
    samples = {name: ([], []) for name in phases}
    for _ in range(repeats):
        for name, (forward, backward) in phases.items():
            times = [once(forward, backward) for _ in range(numbers[name])]
            for phase, sample in enumerate(samples[name]):
                sample.append(sum(t[phase] for t in times) / numbers[name] - overhead[phase])
    out = {}
    for name, (fwd, bwd) in samples.items():
        out[name] = dict(forward=_summary(fwd), backward=_summary(bwd),
                         total=_summary([f + b for f, b in zip(fwd, bwd)], loops=numbers[name]))
    return out
