"""The benchmarks' workloads compute what their hand-written NumPy references compute (no
timing here: `benchmarks/run.py --check-only` runs only the checks, every workload once)."""

import subprocess
import sys
from pathlib import Path

RUN = Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"


def test_every_benchmark_workload_agrees_with_numpy():
    done = subprocess.run([sys.executable, str(RUN), "--check-only", "--no-torch"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "checked: all" in done.stdout


def test_the_floor_engine_agrees_with_numpy():
    floor = RUN.parent / "floor.py"
    done = subprocess.run([sys.executable, str(floor), "--check-only"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "checked: the bare engine" in done.stdout
