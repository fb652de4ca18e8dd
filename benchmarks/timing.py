"""Timing helpers: timeit-style loops, repeated, the implementations interleaved.

Each repeat times `number` back-to-back calls of every implementation in turn (numpy, then
microgradnp, then numpy, ...), so a slow spell of the machine hits both sides alike. The
per-call time of a repeat is its total divided by `number`; we keep the best (min) and the
median over repeats. The garbage collector stays on: it is part of what a user pays.

The cost of calling the callable itself (a `functools.partial` of a C function: tens of ns) is
measured the same way and subtracted, so a tiny op's ratio compares the ops, not the harness.
"""

import functools
import operator
import statistics
import time

_clock = time.perf_counter


def _loop(fn, number):
    start = _clock()
    for _ in range(number):
        fn()
    return _clock() - start


def calibrate(fn, min_time):
    """The smallest loop count 1, 2, 5, 10, 20, ... whose loop takes at least `min_time` s."""
    number = 1
    while True:
        for factor in (1, 2, 5):
            n = number * factor
            if _loop(fn, n) >= min_time:
                return n
        number *= 10


_null = functools.partial(operator.is_, None, None)  # a call that does no work


def call_overhead(min_time=0.05, repeats=7):
    """Seconds per call of a do-nothing partial: the harness's share of every measurement."""
    number = calibrate(_null, min_time)
    return min(_loop(_null, number) / number for _ in range(repeats))


def compare(fns, repeats, min_time, overhead=0.0):
    """Time each callable in `fns` (a dict name -> fn); return name -> {best, median} seconds
    per call, with `overhead` (the harness's cost per call) subtracted."""
    for fn in fns.values():  # warm up: caches, lazy imports, BLAS threads
        fn()
    numbers = {name: calibrate(fn, min_time) for name, fn in fns.items()}
    samples = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            samples[name].append(_loop(fn, numbers[name]) / numbers[name] - overhead)
    return {name: {"best": min(s), "median": statistics.median(s), "loops": numbers[name],
                   "repeats": repeats} for name, s in samples.items()}
