"""microgradnp benchmarks: speed as ratios against hand-written NumPy, measured in the same run.

    python benchmarks/run.py                  # full run, prints a table
    python benchmarks/run.py --quick          # a few seconds
    python benchmarks/run.py --json out.json  # also write the results as JSON
    python benchmarks/run.py --profile        # also cProfile the op-overhead and MLP cases
    python benchmarks/run.py --check-only     # only verify both sides compute the same numbers

ratio = microgradnp time / NumPy time (lower is better; 1.0 means no overhead at all). Every
workload first checks that both implementations compute the same numbers (np.allclose), so a
fast wrong answer cannot hide here. Ratios, not seconds, are the result: they travel between
machines. Nothing here is a pass/fail test unless --strict is given.
"""

import argparse
import json
import os
import platform
import sys
import time

# NumPy (and so workloads, timing, microgradnp) is imported inside functions, after main() has
# set the BLAS thread count: the variables below are read once, when NumPy loads BLAS.
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                         "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def _fmt_time(seconds):
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:7.2f} {unit}"
    return f"{seconds / 1e-9:7.1f} ns"


def collect(quick):
    """The list of workloads (see workloads.py) for this run."""
    import workloads

    items = workloads.op_overhead()
    for batch_size in (32,) if quick else (32, 256):
        items += workloads.mlp_step(batch_size)
    items += workloads.big_matmul(256 if quick else 512)
    return items


def run_ratio_workloads(items, repeats, min_time, stat, log):
    import timing
    overhead = timing.call_overhead()
    log(f"  harness call overhead {overhead * 1e9:.0f} ns (subtracted)")
    results = []
    for item in items:
        item["check"]()
        times = timing.compare({"numpy": item["numpy"], "mg": item["mg"]}, repeats, min_time,
                               overhead)
        numpy_s, mg_s = times["numpy"][stat], times["mg"][stat]
        ratio = mg_s / numpy_s
        target = item["target"]
        results.append(dict(group=item["group"], workload=item["name"], numpy_s=numpy_s,
                            mg_s=mg_s, ratio=ratio, target=target,
                            ok=None if target is None else bool(ratio <= target),
                            timings=times))
        log(f"  {item['name']}: ratio {ratio:.2f}")
    return results


def run_chain(n_ops, repeats, log):
    """(d) backward of a long chain of scalar ops: time per op (no NumPy reference)."""
    import workloads
    workloads.check_chain()
    forward, backward = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        x, out = workloads.build_chain(n_ops)
        built = time.perf_counter()
        out.backward()
        done = time.perf_counter()
        forward.append((built - start) / n_ops)
        backward.append((done - built) / n_ops)
        del x, out
    expected = 0.99999 ** (n_ops // 2)
    log(f"  chain of {n_ops} ops: backward {min(backward) * 1e6:.2f} us/op")
    rows = []
    for what, samples in (("forward (recording)", forward), ("backward", backward)):
        rows.append(dict(group="long chain", workload=f"chain of {n_ops:,} scalar ops, {what}",
                         numpy_s=None, mg_s=min(samples), ratio=None, target=None, ok=None,
                         per_op_us=min(samples) * 1e6, expected_grad=expected))
    return rows


def print_table(results, stat, file=sys.stdout):
    header = ["workload", "numpy", "microgradnp", "ratio", "target", ""]
    rows = []
    for r in results:
        if r["ratio"] is None:
            rows.append([r["workload"], "-", f"{r['per_op_us']:7.2f} us/op", "-", "-", ""])
            continue
        target = "-" if r["target"] is None else f"<= {r['target']:g}x"
        verdict = "" if r["ok"] is None else ("ok" if r["ok"] else "MISS")
        rows.append([r["workload"], _fmt_time(r["numpy_s"]), _fmt_time(r["mg_s"]),
                     f"{r['ratio']:6.2f}x", target, verdict])
    widths = [max(len(str(row[i])) for row in rows + [header]) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    print(f"times are the {stat} time per call; ratio = microgradnp / numpy", file=file)
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)), file=file)
    group = None
    for r, row in zip(results, rows):
        if r["group"] != group:
            group = r["group"]
            print(line, file=file)
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        print("  ".join(cells), file=file)
    print(line, file=file)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller sizes")
    parser.add_argument("--json", metavar="PATH", help="write the results as JSON to PATH")
    parser.add_argument("--stat", choices=("best", "median"), default="best",
                        help="per-call time over repeats: best (min, default) or median")
    parser.add_argument("--repeats", type=int, help="timing repeats per workload")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the op-overhead and MLP workloads and print where the "
                             "microgradnp side spends its time")
    parser.add_argument("--strict", action="store_true",
                        help="exit with status 1 if any ratio misses its target")
    parser.add_argument("--blas-threads", type=int, default=1, metavar="N",
                        help="BLAS threads (default 1: stable ratios on a shared machine; "
                             "0 leaves the library's default)")
    parser.add_argument("--check-only", action="store_true",
                        help="only check that every workload's two sides agree; no timing")
    parser.add_argument("--verbose", action="store_true", help="log progress to stderr")
    args = parser.parse_args(argv)
    if args.blas_threads > 0:  # must happen before NumPy is imported
        if "numpy" in sys.modules:
            print("warning: NumPy already imported; --blas-threads has no effect",
                  file=sys.stderr)
        for name in BLAS_THREAD_VARIABLES:
            os.environ[name] = str(args.blas_threads)
    import numpy as np
    import profiling

    import microgradnp as mg

    repeats = args.repeats or (3 if args.quick else 7)
    min_time = 0.01 if args.quick else 0.05
    n_chain = 10_000 if args.quick else 100_000

    def log(msg):
        if args.verbose:
            print(msg, file=sys.stderr, flush=True)

    print(f"microgradnp {mg.__version__}, NumPy {np.__version__}, Python "
          f"{platform.python_version()}, {platform.machine()}, BLAS threads "
          f"{args.blas_threads or 'default'} ({'quick' if args.quick else 'full'} run, "
          f"{repeats} repeats)")
    started = time.perf_counter()
    items = collect(args.quick)
    if args.check_only:
        import workloads
        for item in items:
            item["check"]()
        workloads.check_chain()
        print(f"all {len(items) + 1} workloads agree with NumPy")
        return 0
    results = run_ratio_workloads(items, repeats, min_time, args.stat, log)
    results += run_chain(n_chain, 3, log)
    print_table(results, args.stat)
    print(f"({time.perf_counter() - started:.1f} s)")

    if args.profile:
        calls = 2000 if args.quick else 20000
        for item in items:
            if item["group"] == "op overhead" and "recording" in item["name"]:
                continue
            if item["group"] == "BLAS-bound":
                continue
            n = calls if item["group"] == "op overhead" else calls // 20
            print(f"\nprofile: {item['name']} ({n} calls)")
            print(profiling.report(profiling.profile(item["mg"], n), n), end="")

    if args.json:
        meta = dict(microgradnp=mg.__version__, numpy=np.__version__,
                    python=platform.python_version(), machine=platform.machine(),
                    platform=platform.platform(), quick=args.quick, repeats=repeats,
                    stat=args.stat, blas_threads=args.blas_threads or None,
                    time=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        with open(args.json, "w") as f:
            json.dump(dict(meta=meta, results=results), f, indent=2)
        print(f"wrote {args.json}")

    missed = [r["workload"] for r in results if r["ok"] is False]
    if args.strict and missed:
        print(f"missed targets: {', '.join(missed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
