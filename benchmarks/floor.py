"""What issue 10's targets leave: `bare.py`'s engine (the barest that still does what the issue
requires) and the same engine with the bookkeeping microgradnp's contract puts on every op
(`+contract`), timed beside hand-written NumPy and microgradnp, interleaved, one BLAS thread,
on the rows whose cost is per-op overhead (W1, W2e, W4, W5). Each engine's step is first
checked against NumPy's loss, gradients and updated parameters.

    python benchmarks/floor.py [--repeats 7] [--check-only]

Where `+contract` is at or above a target, an engine that keeps microgradnp's contract meets
that target only by being faster than this bare one; benchmarks/README.md says what it shows.
"""

import argparse
import importlib.util
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy loads
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import timing  # noqa: E402
import workloads  # noqa: E402


def _engine(contract):
    """bare.py as a module of its own, with or without the contract's bookkeeping: two copies
    (two Tensor classes), so switching one never touches the other's types or caches."""
    name = "bare_contract" if contract else "bare"
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(os.path.dirname(os.path.abspath(__file__)), "bare.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.contract(contract)
    return module


def _params(bare, values):
    return [bare.Tensor(v.copy(), requires_grad=True) for v in values]


def w1(bare):
    w = workloads.w1()
    params = _params(bare, w.initial)
    return w, workloads.w1_engine_step(*params), params


def w2e(bare, lr=0.01):
    w = workloads.w2e(lr=lr)
    Xn, y, _ = workloads._mlp_data((64, 128, 10), 64, np.float32)
    params = _params(bare, w.initial)
    return w, workloads.w2e_engine_step(bare.Tensor(Xn), np.arange(64), y, params, lr), params


def w4(bare, n_ops, scale=1.0001, shift=0.0001):
    w = workloads.w4(n_ops, scale=scale, shift=shift)
    params = _params(bare, w.initial)
    forward, backward = workloads.engine_chain(params[0], n_ops // 2, scale, shift)

    def step():
        out = forward()
        backward(out)
        return out
    return w, step, params


def w5(bare, lr=0.1, alpha=1e-4):
    w = workloads.w5(lr=lr, alpha=alpha)
    Xn, labels = workloads.mg.datasets.make_moons(100, noise=0.1, seed=0)
    params = _params(bare, w.initial)
    return w, workloads.w5_engine_step(bare.Tensor(Xn), 2.0 * labels - 1, params, lr, alpha), params


def check(w, step, params):
    """The bare step gives NumPy's loss, gradients and updated parameters (from the same start)."""
    workloads._load(w.params["numpy"], w.initial)
    for p, v in zip(params, w.initial):
        p.data[...] = v
    loss, grads = w.numpy()
    got = step()
    rtol, atol = w.rtol, w.atol
    assert np.allclose(got.data, loss, rtol, atol), (w.name, got.data, loss)
    for p, g, want in zip(params, grads, w.params["numpy"]):
        assert p.grad.dtype == want.dtype and np.allclose(p.grad, g, rtol, atol), w.name
        assert np.allclose(p.data, want, rtol, atol), w.name
    workloads._load(w.params["numpy"], w.initial)
    for p, v in zip(params, w.initial):
        p.data[...] = v


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--check-only", action="store_true", help="check, do not time")
    args = parser.parse_args(argv)
    bare, contract = _engine(False), _engine(True)
    builders = [w1, w2e, lambda e: w4(e, 1000), lambda e: w4(e, 100_000), w5]
    for build in builders[:3] + builders[4:]:  # (the 1e5 chain is the 1e3 chain's code)
        for engine in (bare, contract):
            check(*build(engine))
    print("checked: the bare engine, with and without the contract, gives NumPy's loss, "
          "gradients and parameters")
    if args.check_only:
        return
    overhead = timing.call_overhead()
    print(f"{'workload':52s} {'NumPy':>9s} {'bare':>6s} {'+contract':>9s} "
          f"{'microgradnp':>11s} {'target':>6s}")
    for build in builders:
        w, step, _ = build(bare)
        _, step_contract, _ = build(contract)
        sides = dict(numpy=w.numpy, bare=step, contract=step_contract, mg=w.mg)
        seconds = {name: r["best"] for name, r in
                   timing.compare(sides, args.repeats, 0.05, overhead).items()}
        base = seconds["numpy"]
        print(f"{w.name[:52]:52s} {base * 1e6:7.1f}µs {seconds['bare'] / base:5.2f}x "
              f"{seconds['contract'] / base:8.2f}x {seconds['mg'] / base:10.2f}x "
              f"{w.target:5.2f}x", flush=True)


if __name__ == "__main__":
    main()
