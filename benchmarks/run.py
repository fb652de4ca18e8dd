"""microgradnp benchmarks: issue 10's workloads as ratios against hand-written NumPy.

    python benchmarks/run.py                  # full run (a few minutes), prints the table
    python benchmarks/run.py --quick          # under a minute; W4 up to 1e5 ops
    python benchmarks/run.py --json out.json  # also write the results as JSON
    python benchmarks/run.py --profile        # also cProfile W1, W2e, W4 (1e4 ops) and W5
    python benchmarks/run.py --check-only     # only verify all sides compute the same numbers

ratio = microgradnp time / NumPy time for exactly the same forward + backward (+ update); lower
is better, 1.0 means no overhead at all. The PyTorch column is PyTorch's time over the same
NumPy time (when torch is installed). Every workload first checks that all sides give the same
loss, gradients and updated parameters (np.allclose), so a fast wrong answer cannot hide here.
Nothing is a pass/fail test unless --strict is given.
"""

import argparse
import json
import os
import platform
import sys
import time

# NumPy (and so everything that imports it) is imported inside main(), after the BLAS thread
# count is set: these variables are read once, when NumPy loads BLAS.
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                         "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
FLAT_TARGET = 1.5  # W4: µs/op at the longest chain / µs/op at 1e3 ops ("roughly flat")


def machine():
    """CPU model, cores, NumPy and its BLAS, Python, PyTorch, date and load: the run's context."""
    import numpy as np
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    blas = np.__config__.CONFIG.get("Build Dependencies", {}).get("blas", {})
    return dict(cpu=cpu, cores=os.cpu_count(), numpy=np.__version__,
                blas=f"{blas.get('name', '?')} {blas.get('version', '')}".strip(),
                python=platform.python_version(), platform=platform.platform(),
                date=time.strftime("%Y-%m-%d %H:%M %Z"),
                load=" ".join(f"{x:.2f}" for x in os.getloadavg()))


def _fmt_time(seconds):
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def _fmt_bytes(n):
    for unit, scale in (("MB", 2**20), ("KB", 2**10)):
        if abs(n) >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def measure(w, repeats, min_time, stat, overhead):
    """Time one workload's sides, interleaved; return its table row (a dict)."""
    import timing
    sides = {"numpy": w.numpy, "mg": w.mg}
    if w.torch is not None:
        sides["torch"] = w.torch
    row = dict(workload=w.name, target=w.target, detail="")
    if w.phases is None:
        times = timing.compare(sides, repeats, min_time, overhead, modes={"mg": w.mg_mode})
        seconds = {side: t[stat] for side, t in times.items()}
    else:  # W4: forward and backward timed apart, per op
        long = w.n_ops >= 100_000
        times = timing.compare_phases(w.phases, min(repeats, 3) if long else repeats, min_time,
                                      calibrate=not long)
        seconds = {side: t["total"][stat] for side, t in times.items()}
        per_op = {side: {phase: t[phase][stat] / w.n_ops * 1e6 for phase in t}
                  for side, t in times.items()}
        mine = per_op["mg"]
        row["us_per_op"] = per_op
        row["detail"] = (f"fwd {mine['forward']:.2f} + bwd {mine['backward']:.2f} = "
                         f"{mine['total']:.2f} µs/op (NumPy {per_op['numpy']['total']:.3f}"
                         + (f", PyTorch {per_op['torch']['total']:.2f}" if "torch" in per_op
                            else "") + ")")
    row.update(numpy_s=seconds["numpy"], mg_s=seconds["mg"],
               ratio=seconds["mg"] / seconds["numpy"], timings=times,
               torch_ratio=seconds["torch"] / seconds["numpy"] if "torch" in seconds else None)
    row["ok"] = None if w.target is None else bool(row["ratio"] <= w.target)
    return row


def flatness_row(rows):
    """W4's µs/op at the longest chain over µs/op at the shortest."""
    chains = [r for r in rows if "us_per_op" in r]
    first, last = chains[0]["us_per_op"], chains[-1]["us_per_op"]
    ratio = last["mg"]["total"] / first["mg"]["total"]
    torch_ratio = (last["torch"]["total"] / first["torch"]["total"] if "torch" in last
                   else None)
    name = (f"W4 µs/op, {chains[-1]['workload'].split()[3]} ops / "
            f"{chains[0]['workload'].split()[3]} ops")
    return dict(workload=name, numpy_s=None, mg_s=None, ratio=ratio, target=FLAT_TARGET,
                ok=bool(ratio <= FLAT_TARGET), torch_ratio=torch_ratio,
                detail="(flatness: 1.00 means the same cost per op at any length)")


def print_table(rows, with_torch, file=sys.stdout):
    header = ["workload", "NumPy", "microgradnp", "ratio", "target", "", "PyTorch", ""]
    lines = [header]
    for r in rows:
        lines.append([r["workload"], "" if r["numpy_s"] is None else _fmt_time(r["numpy_s"]),
                      "" if r["mg_s"] is None else _fmt_time(r["mg_s"]), f"{r['ratio']:.2f}x",
                      "-" if r["target"] is None else f"<= {r['target']:g}",
                      "" if r["ok"] is None else ("ok" if r["ok"] else "MISS"),
                      "-" if r["torch_ratio"] is None else f"{r['torch_ratio']:.2f}x",
                      r["detail"]])
    if not with_torch:
        lines = [line[:6] + line[7:] for line in lines]
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    text = ["  ".join(c.ljust(w) if i in (0, len(line) - 1) else c.rjust(w)
                      for i, (c, w) in enumerate(zip(line, widths))).rstrip() for line in lines]
    rule = "  ".join("-" * w for w in widths[:-1])
    print("\n".join([text[0], rule] + text[1:] + [rule]), file=file)


def measure_memory(items):
    import memory
    w2 = next(w for w in items if w.name.startswith("W2 MLP 64-128-10 batch 64 float32"))
    chain = next(w for w in items if w.n_ops == 100_000)
    out = {}
    for label, w in (("W2 MLP 64-128-10 f32, one step", w2),
                     ("W4 chain of 1e5 ops, forward + backward", chain)):
        out[label] = dict(numpy=memory.peak(w.numpy), mg=memory.peak(w.mg))
    out["held"] = memory.held_after_backward()
    return out


def print_memory(mem, file=sys.stdout):
    print("memory: tracemalloc peak of one call      NumPy    microgradnp", file=file)
    for label, m in mem.items():
        if label != "held":
            print(f"  {label:<39} {_fmt_bytes(m['numpy']):>8} {_fmt_bytes(m['mg']):>14}",
                  file=file)
    held = mem["held"]
    print(f"  after a plain backward(), the kept `loss` of a 256-1024-1024-10 MLP (batch 512) "
          f"holds {_fmt_bytes(held['held'])}\n  beyond the parameters, their gradients and the "
          f"user's tensors (the forward allocated {_fmt_bytes(held['intermediates'])});\n  once "
          f"all but `loss` is deleted, {_fmt_bytes(held['loss_alone'])} stay allocated "
          f"(parameters + gradients: {_fmt_bytes(held['parameters_and_grads'])})", file=file)


def print_profiles(items, quick):
    import profiling
    chosen = [(w, n) for w in items for prefix, n in
              (("W1 op", 5000), ("W2e", 500), ("W4 chain of 1e4", 10), ("W5", 500))
              if w.name.startswith(prefix)]
    for w, calls in chosen:
        calls = max(1, calls // 5) if quick else calls
        print(f"\nprofile of microgradnp's side: {w.name} ({calls} calls)")
        print(profiling.report(*profiling.profile(w.mg, calls), calls), end="")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer and shorter repeats, W4 up to 1e5 ops (under a minute)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    parser.add_argument("--stat", choices=("best", "median"), default="best",
                        help="per-call time over repeats: best (min, default) or median")
    parser.add_argument("--repeats", type=int, help="timing repeats per workload")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile microgradnp's side of W1, W2e, W4 (1e4 ops) and W5")
    parser.add_argument("--strict", action="store_true",
                        help="exit with status 1 if any ratio misses its target")
    parser.add_argument("--blas-threads", type=int, default=1, metavar="N",
                        help="BLAS (and PyTorch) threads; default 1: stable ratios on a shared "
                             "machine; 0 leaves the libraries' defaults")
    parser.add_argument("--check-only", action="store_true",
                        help="only check that every workload's sides agree; no timing")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    parser.add_argument("--only", metavar="TEXT", help="only the workloads whose name has TEXT")
    args = parser.parse_args(argv)
    if args.blas_threads > 0:  # must happen before NumPy is imported
        if "numpy" in sys.modules:
            print("warning: NumPy already imported; --blas-threads has no effect",
                  file=sys.stderr)
        for name in BLAS_THREAD_VARIABLES:
            os.environ[name] = str(args.blas_threads)
    import timing
    import workloads

    torch = None
    if not args.no_torch:
        try:
            import torch
            if args.blas_threads > 0:
                torch.set_num_threads(args.blas_threads)
        except ImportError:
            torch = None
    repeats = args.repeats or (3 if args.quick else 7)
    min_time = 0.01 if args.quick else 0.05
    info = machine()
    info.update(quick=args.quick, repeats=repeats, stat=args.stat,
                blas_threads=args.blas_threads or "default",
                torch=torch.__version__ if torch else None)
    print(f"{info['cpu']}, {info['cores']} cores, NumPy {info['numpy']} ({info['blas']}), "
          f"Python {info['python']}"
          + (f", PyTorch {info['torch']}" if torch else ", no PyTorch") + "\n"
          f"{info['date']}, load average {info['load']}, BLAS threads {info['blas_threads']}, "
          f"{'quick' if args.quick else 'full'} run, {args.stat} of {repeats} repeats per call")

    started = time.perf_counter()
    items = [w for w in workloads.all_workloads(args.quick, torch)
             if args.only is None or args.only in w.name]
    for w in items:
        workloads.check(w)
    print(f"checked: all {len(items)} workloads give NumPy's loss, gradients and updated "
          f"parameters (microgradnp{' and PyTorch' if torch else ''})")
    if args.check_only:
        return 0

    overhead = timing.call_overhead()
    rows = []
    for w in items:
        rows.append(measure(w, repeats, min_time, args.stat, overhead))
        print(f"  {w.name}: {rows[-1]['ratio']:.2f}x", file=sys.stderr, flush=True)
    if sum("us_per_op" in r for r in rows) > 1:
        rows.append(flatness_row(rows))
    print(f"\nratio = time / hand-written NumPy's time for the same work ({args.stat} per call)")
    print_table(rows, torch is not None)
    mem = None
    if args.only is None:
        mem = measure_memory(items)
        print_memory(mem)
    print(f"({time.perf_counter() - started:.0f} s)")
    if args.profile:
        print_profiles(items, args.quick)

    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(machine=info, rows=rows, memory=mem), f, indent=1)
        print(f"wrote {args.json}")
    missed = [r["workload"] for r in rows if r["ok"] is False]
    if args.strict and missed:
        print(f"missed targets: {'; '.join(missed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
