"""Instructions, not seconds: the small rows counted by valgrind, a cross-check free of noise.

    python benchmarks/instructions.py              # W1, W2e, W4 (1e3 ops), W5
    python benchmarks/instructions.py --core PATH  # the same rows on another checkout's core
    python benchmarks/instructions.py --floor      # and floor.py's bare engine, +contract

On a shared machine a timed ratio moves by up to ±30% from run to run, which hides a 5% change.
The number of machine instructions a call executes barely moves: valgrind's callgrind counts
them exactly (hash seeds fixed; what is left is where the garbage collector happens to run,
a few percent at most). Each side (hand-written NumPy, microgradnp) runs in a
process of its own under callgrind twice, with 0 and with N calls after the same warm-up, and
the difference / N is its instructions per call; the ratio is microgradnp's over NumPy's.

Instructions are not time (a cache miss or a slow division costs more than an add), so this is
a cross-check of `run.py`'s ratios, not a replacement: it shows whether a change to the engine
made a call do less work. It needs valgrind (Debian: `apt-get install valgrind`) and runs for a
few minutes (under callgrind Python runs ~50x slower); `make bench` does not run it.
"""

import argparse
import os
import re
import subprocess
import sys

ROWS = {  # name -> (workload factory call, calls per measurement, floor.py's step for it)
    "W1": ("w1()", 300, "w1(engine)"),
    "W2e": ("w2e()", 30, "w2e(engine)"),
    "W4 1e3": ("w4(1000)", 10, "w4(engine, 1000)"),
    "W5": ("w5()", 30, "w5(engine)"),
}


def child(row, side, calls, core):
    """Inside valgrind: build the workload, warm up, then `calls` calls of one side."""
    if core:
        sys.path.insert(0, core)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    if side in ("bare", "contract"):  # floor.py's engine, without or with the contract
        import floor
        engine = floor._engine(side == "contract")
        _, fn, _ = eval(ROWS[row][2], dict(vars(floor), engine=engine))  # noqa: S307
    else:
        import workloads
        fn = getattr(eval(ROWS[row][0], vars(workloads)), side)  # noqa: S307 (the table above)
    for _ in range(5):
        fn()
    for _ in range(calls):
        fn()


def count(row, side, calls, core):
    """Instructions of one process running `calls` calls of `side` (after the warm-up)."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               PYTHONHASHSEED="0")  # the same dict and set layouts in every run
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
           os.path.abspath(__file__), "--child", row, side, str(calls), core or ""]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stderr
    match = re.search(r"refs:\s*([\d,]+)", out)
    if match is None:
        raise RuntimeError(f"no instruction count in valgrind's output:\n{out[-2000:]}")
    return int(match.group(1).replace(",", ""))


def per_call(row, side, core):
    calls = ROWS[row][1]
    return (count(row, side, calls, core) - count(row, side, 0, core)) / calls


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _, _, row, side, calls, core = sys.argv
        child(row, side, int(calls), core)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--core", help="a checkout whose microgradnp to count instead")
    parser.add_argument("--only", help="rows whose name has this text")
    parser.add_argument("--floor", action="store_true",
                        help="also count floor.py's bare engine, without and with the contract")
    args = parser.parse_args()
    try:
        subprocess.run(["valgrind", "--version"], capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        sys.exit("instructions.py needs valgrind (Debian: apt-get install valgrind)")
    core = os.path.abspath(args.core) if args.core else None
    print(f"instructions per call (callgrind){' of ' + core if core else ''}")
    sides = ["mg"] + (["bare", "contract"] if args.floor else [])
    names = dict(mg="microgradnp", bare="bare", contract="+contract")
    print(f"{'row':8}  {'NumPy':>10}" + "".join(f"  {names[s]:>12}  {'ratio':>7}" for s in sides))
    for row in ROWS:
        if args.only and args.only not in row:
            continue
        numpy_count = per_call(row, "numpy", core)
        line = f"{row:8}  {numpy_count:10,.0f}"
        for side in sides:
            n = per_call(row, side, core)
            line += f"  {n:12,.0f}  {n / numpy_count:6.2f}x"
        print(line, flush=True)


if __name__ == "__main__":
    main()
