"""cProfile a workload's microgradnp side and say where its time goes, function by function
and file by file (microgradnp/*.py, nn/*.py, NumPy, builtins), and how long the garbage
collector ran (cProfile charges it to whichever function happened to allocate). NumPy's
operators (`a @ b`, `a * b`) are no function calls to cProfile: their kernels' time is in the
own time of the function whose line uses them."""

import cProfile
import gc
import io
import os
import pstats
import time


def _where(filename):
    """A short label for the file a profiled function lives in."""
    path = filename.replace(os.sep, "/")
    for package in ("microgradnp/", "nn/"):
        if "/" + package in path and "site-packages/numpy" not in path:
            return package + path.rsplit("/" + package, 1)[1]
    if "numpy" in path:
        return "numpy (Python side)"
    if filename.startswith("~") or filename == "":
        return "builtins / C (incl. NumPy kernels)"
    return "other: " + os.path.basename(path)


class _GCTimer:
    """A gc callback: the time the collector ran and its collections per generation."""

    def __init__(self):
        self.seconds, self.collections, self._start = 0.0, [0, 0, 0], 0.0

    def __call__(self, phase, info):
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._start
            self.collections[info["generation"]] += 1


def profile(fn, calls):
    """Run `fn` `calls` times under cProfile; return the pstats.Stats and a _GCTimer."""
    profiler, collector = cProfile.Profile(), _GCTimer()
    gc.callbacks.append(collector)
    profiler.enable()
    try:
        for _ in range(calls):
            fn()
    finally:
        profiler.disable()
        gc.callbacks.remove(collector)
    return pstats.Stats(profiler), collector


def report(stats, collector, calls, top=15):
    """A text report: per-file totals, the garbage collector's share, then the `top` functions
    by own time, per call of fn."""
    per_file, rows = {}, []
    for (filename, line, func), (_, ncalls, tottime, cumtime, _) in stats.stats.items():
        where = _where(filename)
        per_file[where] = per_file.get(where, 0.0) + tottime
        rows.append((tottime, cumtime, ncalls, where, line, func))
    total = sum(per_file.values())
    out = io.StringIO()
    out.write(f"  total {total / calls * 1e6:8.1f} us per call (under the profiler)\n")
    gen = "/".join(f"{n / calls:.3g}" for n in collector.collections)
    out.write(f"  garbage collector {collector.seconds / calls * 1e6:.1f} us per call, inside the "
              f"times below ({gen} collections of generations 0/1/2 per call)\n")
    out.write("  own time by file:\n")
    for where, t in sorted(per_file.items(), key=lambda kv: -kv[1]):
        if t / total >= 0.005:
            out.write(f"    {t / total:6.1%}  {t / calls * 1e6:8.2f} us  {where}\n")
    out.write(f"  top {top} functions by own time (us per call of the workload; calls per call):\n")
    for tottime, cumtime, ncalls, where, line, func in sorted(rows, reverse=True)[:top]:
        location = f"{where}:{line}" if not where.startswith("builtins") else "builtin"
        out.write(f"    {tottime / calls * 1e6:8.2f} own {cumtime / calls * 1e6:8.2f} cum  "
                  f"x{ncalls / calls:<5.3g} {func}  ({location})\n")
    return out.getvalue()
