"""Gradient checking: analytic Jacobians (backward) against central finite differences."""

import numpy as np

from ._state import enable_grad, no_grad
from .engine import grad
from .tensor import Tensor

_SEED = 0  # projections and gradgradcheck's grad_outputs are random but reproducible


class GradcheckError(AssertionError):
    """A gradient check failed. `.report` is the readable text, `.failures` one dict per failing
    input (keys: kind, input, name, shape, input_index, output, output_index, analytic,
    numerical, max_abs_error, max_rel_error, kink, ...), `.order` 1 or 2 (gradgradcheck).

    An AssertionError, like `numpy.testing.assert_allclose`: a failed check is a failed
    assertion about the code under test, and `gradcheck(...)` reads as one in a test.
    """

    def __init__(self, report, failures, order=1):
        super().__init__(report)
        self.report = report
        self.failures = failures
        self.order = order


# ============================================================================ public checks


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              fast_mode=False):
    """Check the gradients of `fn(*inputs)` against central differences in float64.

    `inputs`: a Tensor or a sequence (non-Tensors are passed through as constants); every Tensor
    with `requires_grad` must be float64 and is checked. `fn` returns a Tensor of any shape or a
    tuple of Tensors. An entry passes when |analytic - numerical| <= atol + rtol * |numerical|.
    The analytic Jacobian is computed twice: a backward that differs between runs is a failure.
    `fast_mode=True` compares a few random projections v.J.u first and builds the full
    Jacobians only to locate a failure. Returns True, or raises `GradcheckError` with a report
    (returns False instead when `raise_exception=False`); the report flags a KINK (left and
    right slopes differ, as for relu at 0) where finite differences cannot be trusted. Inputs
    are left exactly as they were: their `.data` is swapped for a private copy while checking.
    """
    check = _Check(fn, inputs, eps, atol, rtol, order=1)
    return check.run(fast_mode, raise_exception)


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True, fast_mode=False):
    """Check second derivatives: gradcheck of g(*inputs) = grad(fn(*inputs), inputs, v).

    `v` is `grad_outputs` (one array per output of `fn`, taken as constants) or random. The
    gradients in g are built with `create_graph=True`, so this checks that every backward on
    the way is itself differentiable, with the right derivative (the first derivative is
    `gradcheck`'s job). Same arguments and results as `gradcheck`.
    """
    inputs = _as_inputs(inputs)
    positions = _checked_positions(inputs, "gradgradcheck")
    v = _grad_outputs(fn, inputs, grad_outputs)

    def grad_of_fn(*args):
        """g: the vector-Jacobian product v.J of fn, recorded so it can be differentiated."""
        with enable_grad():
            outputs = _differentiable_outputs(fn(*args), "gradgradcheck")
            pairs = [(o, vo) for o, vo in zip(outputs, v) if o.requires_grad]
            wrt = [args[p] for p in positions]
            grads = grad([o for o, _ in pairs], wrt, grad_outputs=[vo for _, vo in pairs],
                         create_graph=True, allow_unused=True)
        return tuple(Tensor(np.zeros(x.shape)) if g is None else g for x, g in zip(wrt, grads))

    check = _Check(grad_of_fn, inputs, eps, atol, rtol, order=2)
    return check.run(fast_mode, raise_exception)


# ============================================================================ the pieces


def central_difference(f, x, index, eps):
    """(f(x + eps e_i) - f(x - eps e_i)) / 2eps for one element `index` of Tensor x.

    Perturbs `x.data[index]` in place and puts the original value back, even on error. Divides
    by the step actually stored (x + eps and x - eps are rounded), not by 2eps.
    """
    original = x.data[index].copy()
    try:
        x.data[index] = original + eps
        plus, step = f(), x.data[index].copy()
        x.data[index] = original - eps
        minus, step = f(), step - x.data[index]
    finally:
        x.data[index] = original
    return (plus - minus) / step


def one_sided_differences(f, x, index, eps):
    """((f(x) - f(x - eps e_i)) / eps, (f(x + eps e_i) - f(x)) / eps): left and right slopes.

    Where they disagree the function has a kink at x (relu or abs at 0, ties in max) and no
    finite difference can be trusted there.
    """
    original = x.data[index].copy()
    try:
        center = f()
        x.data[index] = original - eps
        left = (center - f()) / (original - x.data[index])
        x.data[index] = original + eps
        right = (f() - center) / (x.data[index] - original)
    finally:
        x.data[index] = original
    return left, right


def numerical_jacobian(f, x, eps):
    """d f / d x by central differences: shape (f's flat size, x.size), one column per element."""
    columns = [central_difference(f, x, index, eps) for index in np.ndindex(x.shape)]
    if not columns:
        return np.zeros((f().size, 0))
    return np.stack(columns, axis=1)


def vector_jacobian(outputs, wrt, v):
    """v.J for every input in `wrt`, as flat float64 arrays (zeros where an input is unused).

    `v` is flat over all outputs; outputs that do not require grad contribute nothing.
    """
    pieces = _split(v, outputs)
    pairs = [(o, p) for o, p in zip(outputs, pieces) if o.requires_grad]
    if not pairs:
        return [np.zeros(x.size) for x in wrt]
    grads = grad([o for o, _ in pairs], wrt, grad_outputs=[p for _, p in pairs],
                 retain_graph=True, allow_unused=True)
    return [np.zeros(x.size) if g is None else _flat64(g.data) for x, g in zip(wrt, grads)]


def jacobian(outputs, wrt):
    """The analytic Jacobians d outputs / d x for x in `wrt`: one backward per output element."""
    n_out = sum(o.size for o in outputs)
    jacobians = [np.zeros((n_out, x.size)) for x in wrt]
    for k in range(n_out):
        basis = np.zeros(n_out)
        basis[k] = 1.0
        for J, row in zip(jacobians, vector_jacobian(outputs, wrt, basis)):
            J[k] = row
    return jacobians


def directional_difference(f, wrt, directions, eps):
    """(f(x + eps u) - f(x - eps u)) / 2eps, moving every input in `wrt` along its part of u."""
    originals = {id(x): x.data.copy() for x in wrt}
    try:
        for x, u in zip(wrt, directions):
            x.data += eps * u
        plus = f()
        for x, u in zip(wrt, directions):
            x.data -= 2 * eps * u
        minus = f()
    finally:
        for x in wrt:
            x.data[...] = originals[id(x)]
    return (plus - minus) / (2 * eps)


# ============================================================================ one check


class _Check:
    """One gradient check of `fn` at `inputs`: full, or fast with a full fallback."""

    def __init__(self, fn, inputs, eps, atol, rtol, order):
        self.fn, self.eps, self.atol, self.rtol, self.order = fn, eps, atol, rtol, order
        self.inputs = _as_inputs(inputs)
        self.positions = _checked_positions(self.inputs, _NAMES[order])
        self.wrt = [self.inputs[p] for p in self.positions]

    def run(self, fast_mode, raise_exception):
        """Returns True, or raises / returns False with the failure's report."""
        with _private_copies(self.wrt):
            error = self.random_forward() or (self.fast() if fast_mode else self.full())
        if error is None:
            return True
        if raise_exception:
            raise error
        return False

    def random_forward(self):
        """A GradcheckError when fn gives different outputs for the same inputs (dropout in
        training mode, fresh random numbers): finite differences mean nothing then."""
        first, second = self.evaluate(), self.evaluate()
        if np.array_equal(first, second, equal_nan=True):
            return None
        k = int(np.flatnonzero(~((first == second) | (np.isnan(first) & np.isnan(second))))[0])
        report = (f"{_NAMES[self.order]} failed: the function is not deterministic: two calls "
                  f"with the same inputs gave different outputs (flat output index {k}: "
                  f"{first[k]:.10g} then {second[k]:.10g}). Random layers such as nn.Dropout "
                  f"in training mode do this: call model.eval(), or fix the randomness")
        return GradcheckError(report, [dict(kind="nondeterministic forward", output_index=k,
                                            first=first[k], second=second[k])], self.order)

    def outputs(self):
        """fn(*inputs) with the graph recorded."""
        with enable_grad():
            result = self.fn(*self.inputs)
        return _differentiable_outputs(result, _NAMES[self.order], allow_constant=self.order > 1)

    def evaluate(self):
        """fn(*inputs) as one flat float64 array (a copy), graph not recorded."""
        with no_grad():
            outputs = _as_outputs(self.fn(*self.inputs), _NAMES[self.order])
        return np.concatenate([_flat64(o.data) for o in outputs])

    def full(self):
        """Compare every entry of every Jacobian; a GradcheckError or None."""
        outputs = self.outputs()
        first, second = jacobian(outputs, self.wrt), jacobian(outputs, self.wrt)
        unstable = [self.nondeterminism(i, a, b, outputs)
                    for i, (a, b) in enumerate(zip(first, second))]
        if any(unstable):
            return self.error([u for u in unstable if u], outputs)
        failures = []
        for i, (x, analytic) in enumerate(zip(self.wrt, first)):
            numerical = numerical_jacobian(self.evaluate, x, self.eps)
            failure = self.compare(i, analytic, numerical, outputs)
            if failure:
                failures.append(failure)
        return self.error(failures, outputs) if failures else None

    def fast(self):
        """Compare two random projections v.J.u; fall back to `full` to locate a mismatch."""
        rng = np.random.default_rng(_SEED)
        outputs = self.outputs()
        n_out = sum(o.size for o in outputs)
        for _ in range(2):
            u = _unit([rng.standard_normal(x.shape) for x in self.wrt])
            (v,) = _unit([rng.standard_normal(n_out)])
            first = vector_jacobian(outputs, self.wrt, v)
            second = vector_jacobian(outputs, self.wrt, v)
            unstable = [self.nondeterminism(i, a[None], b[None], outputs=None)
                        for i, (a, b) in enumerate(zip(first, second))]
            if any(unstable):
                return self.error([f for f in unstable if f], outputs)
            analytic = sum(float(g @ ux.ravel()) for g, ux in zip(first, u))
            numerical = float(directional_difference(self.evaluate, self.wrt, u, self.eps) @ v)
            if not abs(analytic - numerical) <= self.atol + self.rtol * abs(numerical):
                return self.full()
        return None

    # ---- reports ------------------------------------------------------------------------------
    def compare(self, i, analytic, numerical, outputs):
        """A failure dict for input i when some entry is out of tolerance, else None."""
        abs_err = np.abs(analytic - numerical)
        tolerance = self.atol + self.rtol * np.abs(numerical)
        bad = ~(abs_err <= tolerance)  # NaN anywhere is a failure
        if not bad.any():
            return None
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(bad, np.nan_to_num(abs_err / tolerance, nan=np.inf), 0.0)
            rel = np.where(abs_err == 0, 0.0, abs_err / np.abs(numerical))
        k, j = np.unravel_index(np.argmax(ratio), ratio.shape)
        failure = self.describe(i, k, j, outputs, kind="mismatch")
        failure.update(
            analytic=float(analytic[k, j]) + 0.0, numerical=float(numerical[k, j]) + 0.0,
            max_abs_error=float(np.nanmax(abs_err)) if not np.isnan(abs_err).all() else np.nan,
            max_rel_error=float(np.nanmax(rel)) if not np.isnan(rel).all() else np.nan,
            n_bad=int(bad.sum()), n_total=int(bad.size),
            analytic_jacobian=analytic, numerical_jacobian=numerical,
        )
        failure.update(self.kink(i, k, j, failure["numerical"]))
        return failure

    def nondeterminism(self, i, first, second, outputs):
        """A failure dict for input i when two backward runs disagree, else None (`outputs` is
        None in fast mode: the rows are then one random projection, not an output element)."""
        if np.array_equal(first, second, equal_nan=True):
            return None
        diff = np.nan_to_num(np.abs(first - second), nan=np.inf)
        k, j = np.unravel_index(np.argmax(diff), diff.shape)
        failure = self.describe(i, k, j, outputs, kind="nondeterministic")
        failure.update(first=float(first[k, j]), second=float(second[k, j]),
                       max_abs_error=float(diff.max()))
        return failure

    def describe(self, i, k, j, outputs, kind):
        """The common part of a failure dict: which input, which entry."""
        x = self.wrt[i]
        output, output_index, output_requires_grad = _locate(k, outputs)
        return dict(
            kind=kind, input=self.positions[i], name=x.name, shape=x.shape, order=self.order,
            input_index=tuple(int(n) for n in np.unravel_index(j, x.shape)),
            output=output, output_index=output_index, output_requires_grad=output_requires_grad,
        )

    def kink(self, i, k, j, numerical):
        """Left and right one-sided slopes at the worst entry, and whether they disagree."""
        index = np.unravel_index(j, self.wrt[i].shape)
        left, right = one_sided_differences(self.evaluate, self.wrt[i], index, self.eps)
        left, right = float(left[k]), float(right[k])
        tolerance = self.atol + self.rtol * max(abs(left), abs(right), abs(numerical))
        return dict(left=left, right=right, kink=not abs(right - left) <= 10 * tolerance)

    def error(self, failures, outputs):
        """The GradcheckError carrying the text report of `failures`."""
        what = ("gradgradcheck failed (second derivatives: the gradient of v.J, built with "
                "create_graph=True)" if self.order == 2 else "gradcheck failed")
        lines = [f"{what}: eps={self.eps:g}, atol={self.atol:g}, rtol={self.rtol:g}"]
        for f in failures:
            lines += _render(f, len(outputs), self.positions)
        return GradcheckError("\n".join(lines), failures, self.order)


_NAMES = {1: "gradcheck", 2: "gradgradcheck"}


def _render(f, n_outputs, positions):
    """The report lines of one failure dict (`positions`: the checked inputs' positions)."""
    order = f["order"]
    name = f" {f['name']!r}" if f["name"] else ""
    head = f"input {f['input']}{name}, shape {f['shape']}:"
    where = f"at input index {f['input_index']}"
    if f["output"] is None:
        out = "for a random projection v of the outputs"
    else:
        out = _output_label(f["output"], f["output_index"], n_outputs, order, positions)
    if f["kind"] == "nondeterministic":
        return [
            f"  {head} backward is not deterministic (or not reentrant): two backward passes "
            f"over the same graph with the same grad_outputs gave different gradients",
            f"    {where}, {out}: {f['first']:.10g} then {f['second']:.10g} "
            f"(max difference {f['max_abs_error']:.3g})",
        ]
    lines = [
        f"  {head} {f['n_bad']} of {f['n_total']} Jacobian entries out of tolerance",
        f"    worst {where}, {out}:",
        f"      analytic  = {f['analytic']:.10g}",
        f"      numerical = {f['numerical']:.10g}",
        f"    max abs error {f['max_abs_error']:.3g}, max rel error {f['max_rel_error']:.3g}",
    ]
    if f["kink"]:
        lines.append(
            f"    KINK: the left and right one-sided slopes differ there ({f['left']:.6g} vs "
            f"{f['right']:.6g}): the function is not differentiable at this point (relu or abs "
            f"at 0, ties in max), so this is not necessarily a bug; move the input off the kink"
        )
    if not f["output_requires_grad"]:
        lines.append(
            "    note: this output does not require grad, so its analytic derivative is 0"
            + (": the first backward returned a constant (NumPy arrays or .data) instead of "
               "differentiable Tensor ops" if order == 2 else
               " (computed under no_grad, detached, or through NumPy?)")
        )
    return lines


def _output_label(output, index, n_outputs, order, positions):
    if order == 2:
        return f"output: the gradient w.r.t. input {positions[output]}, index {index}"
    if n_outputs == 1:
        return f"output index {index}"
    return f"output {output} index {index}"


# ============================================================================ helpers


class _private_copies:
    """Within the block each input's `.data` is a private copy; the original object comes back
    on exit, so perturbations never touch the caller's arrays (nor arrays sharing their memory)."""

    def __init__(self, tensors):
        self.tensors = list({id(t): t for t in tensors}.values())

    def __enter__(self):
        self.originals = [t.data for t in self.tensors]
        for t in self.tensors:
            t.data = t.data.copy()

    def __exit__(self, *exc):
        for t, data in zip(self.tensors, self.originals):
            t.data = data


def _as_inputs(inputs):
    if isinstance(inputs, Tensor):
        return (inputs,)
    if isinstance(inputs, (tuple, list)):
        return tuple(inputs)
    return (inputs,)


def _checked_positions(inputs, who):
    """Positions of the Tensors that require grad; they must be float64."""
    positions = []
    for p, x in enumerate(inputs):
        if not (isinstance(x, Tensor) and x.requires_grad):
            continue
        if x.dtype != np.float64:
            raise TypeError(
                f"{who}: input {p} (shape {x.shape}) has dtype {x.dtype}; finite differences need "
                f"float64 precision (a step of 1e-6 drowns in float32 rounding): create it with "
                f"dtype=np.float64, e.g. mg.tensor(x, dtype=np.float64, requires_grad=True)"
            )
        positions.append(p)
    if not positions:
        raise ValueError(f"{who}: no input requires grad, so there is nothing to check")
    return positions


def _as_outputs(result, who):
    """fn's result as a tuple of Tensors."""
    outputs = (result,) if isinstance(result, Tensor) else result
    if not isinstance(outputs, (tuple, list)) or not all(isinstance(o, Tensor) for o in outputs):
        raise TypeError(f"{who}: fn must return a Tensor or a tuple of Tensors, got "
                        f"{type(result).__name__}")
    return tuple(outputs)


def _differentiable_outputs(result, who, allow_constant=False):
    """fn's outputs; at least one must require grad unless `allow_constant`."""
    outputs = _as_outputs(result, who)
    if not allow_constant and not any(o.requires_grad for o in outputs):
        raise RuntimeError(
            f"{who}: fn's output does not require grad, so it has no analytic gradient: was it "
            f"computed under no_grad(), with .detach(), or through NumPy on .data?"
        )
    return outputs


def _grad_outputs(fn, inputs, grad_outputs):
    """The fixed v of gradgradcheck: the given arrays, or random ones shaped like fn's outputs."""
    with no_grad():
        outputs = _as_outputs(fn(*inputs), "gradgradcheck")
    if grad_outputs is None:
        rng = np.random.default_rng(_SEED)
        return [rng.standard_normal(o.shape) for o in outputs]
    given = _as_outputs_like(grad_outputs)
    if len(given) != len(outputs):
        raise ValueError(f"gradgradcheck: {len(given)} grad_outputs for {len(outputs)} outputs")
    v = [np.array(g.data if isinstance(g, Tensor) else g, dtype=np.float64) for g in given]
    for g, o in zip(v, outputs):
        if g.shape != o.shape:
            raise ValueError(f"gradgradcheck: grad_outputs of shape {g.shape} for an output of "
                             f"shape {o.shape}")
    return v


def _as_outputs_like(g):
    if isinstance(g, (Tensor, np.ndarray)) or np.isscalar(g):
        return (g,)
    return tuple(g)


def _flat64(a):
    return np.array(a, dtype=np.float64).ravel()


def _unit(arrays):
    """Scale arrays jointly to unit Euclidean norm."""
    norm = np.sqrt(sum(float(np.sum(a * a)) for a in arrays)) or 1.0
    return [a / norm for a in arrays]


def _split(v, outputs):
    """Cut a flat vector into arrays shaped like `outputs`."""
    pieces, start = [], 0
    for o in outputs:
        pieces.append(v[start:start + o.size].reshape(o.shape))
        start += o.size
    return pieces


def _locate(k, outputs):
    """Flat output position k -> (output number, index inside it, whether it requires grad);
    all None when `outputs` is None (fast mode: a row is a random projection of the outputs)."""
    if outputs is None:
        return None, None, None
    for m, o in enumerate(outputs):
        if k < o.size:
            index = tuple(int(n) for n in np.unravel_index(k, o.shape))
            return m, index, o.requires_grad
        k -= o.size
    raise IndexError(k)
