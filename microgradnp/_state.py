"""Thread-local engine state: whether graphs are recorded, anomaly mode, the current name scope."""

import functools
import inspect
import itertools
import threading


def _part(i):
    """A property reading and setting part i of `modes` (a tuple: set = a new tuple)."""
    def get(self):
        return self.modes[i]

    def set_(self, value):
        modes = list(self.modes)
        modes[i] = value
        self.modes = tuple(modes)

    return property(get, set_)


class _State(threading.local):
    """Per thread: `modes` = (grad_enabled, anomaly, scope), what every new op reads, in one
    tuple: reading an attribute of a thread-local looks up this thread's dict first, so the hot
    path (Function.apply) reads it once. `grad_enabled`, `anomaly` and `scope` read and set one
    part of it."""

    grad_enabled = _part(0)  # new ops record the graph
    anomaly = _part(1)  # mg.detect_anomaly(): check every op for NaN/inf
    scope = _part(2)  # tuple of names, outermost first, recorded by every new op

    def __init__(self):
        self.modes = (True, False, ())
        self.saved_modes = []  # (grad_enabled, anomaly) to restore, innermost last


_state = _State()


class _Clock:
    """One counter for every thread, numbering op nodes and in-place writes in one order. A
    node is newer than the nodes of its inputs (backward's order), and "was tensor t written
    after node n was made?" is one comparison: `t._written > n.seq`."""

    def __init__(self):
        self.tick = itertools.count(1).__next__
        self.last_write = 0  # the tick of the newest in-place write anywhere (0: none yet)

    def write(self):
        self.last_write = tick = self.tick()
        return tick


_clock = _Clock()


def is_grad_enabled():
    """True when new operations record the graph (per thread)."""
    return _state.grad_enabled


def is_anomaly_enabled():
    """True inside `mg.detect_anomaly()` (per thread)."""
    return _state.anomaly


class _Mode:
    """Context manager and decorator that sets a mode for its block, then restores it.

    Subclasses say what to set in `_set(modes)` (the new modes tuple). A decorated generator
    function gets the mode inside its body, each time it resumes (as PyTorch does)."""

    def __enter__(self):  # the previous mode is kept per thread: one instance may be reused
        modes = _state.modes
        _state.saved_modes.append(modes[:2])  # (grad_enabled, anomaly); the scope is nested
        _state.modes = self._set(modes)

    def __exit__(self, *exc):
        grad_enabled, anomaly = _state.saved_modes.pop()
        _state.modes = (grad_enabled, anomaly, _state.modes[2])

    def __call__(self, fn):
        mode = self._clone

        if inspect.isgeneratorfunction(fn):
            @functools.wraps(fn)
            def generator(*args, **kwargs):
                gen = fn(*args, **kwargs)
                value = None
                while True:
                    with mode():
                        try:
                            item = gen.send(value)
                        except StopIteration as stop:
                            return stop.value
                    value = yield item

            return generator

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with mode():
                return fn(*args, **kwargs)

        return wrapper


class _GradMode(_Mode):
    enabled = True

    def __new__(cls, fn=None):
        if callable(fn):  # bare `@mg.no_grad` without parentheses, as PyTorch allows
            return cls()(fn)
        return super().__new__(cls)

    def __init__(self, fn=None):
        pass

    def _clone(self):
        return self  # holds nothing per call: a decorated function reuses it

    def _set(self, modes):
        return (self.enabled, *modes[1:])


class no_grad(_GradMode):
    """Within this block (or decorated function) no graph is recorded: `with mg.no_grad(): ...`."""

    enabled = False


class enable_grad(_GradMode):
    """Re-enables graph recording inside a `no_grad` block."""

    enabled = True


class set_grad_enabled(_Mode):
    """`mg.set_grad_enabled(flag)` sets grad mode now (a plain call, as in PyTorch); used as
    `with mg.set_grad_enabled(flag):` the previous mode comes back after the block."""

    def __init__(self, mode):
        self.enabled = bool(mode)
        self.previous = _state.grad_enabled
        _state.grad_enabled = self.enabled  # the plain call takes effect at once

    def __enter__(self):
        _state.saved_modes.append((self.previous, _state.anomaly))

    def __call__(self, fn):  # as a decorator: undo the plain call's effect, set it per call
        _state.grad_enabled = self.previous
        return super().__call__(fn)

    def _clone(self):
        return set_grad_enabled(self.enabled)

    _set = _GradMode._set


class detect_anomaly(_Mode):
    """Inside this block (or decorated function) the forward raises at the first op that makes
    NaN or inf from finite inputs, and backward at the first op whose gradient is NaN or inf;
    each error names the op, the shapes, and the line of your code that created the op.
    Creation stacks are recorded only in this mode; outside it, nothing is checked."""

    def __init__(self, check_nan=True):
        self.check_nan = bool(check_nan)

    def _clone(self):
        return self  # holds nothing per call

    def _set(self, modes):
        grad_enabled, _, scope = modes
        return (grad_enabled, self.check_nan, scope)


class name_scope:
    """Ops created inside `with mg.name_scope("encoder"):` record the scope ("encoder",).

    Scopes nest; the graph picture groups ops by them. `nn.Module.__call__` enters one per
    module call, so this is a plain class (no generator): entering costs two attribute writes.
    """

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = str(name)

    def __enter__(self):
        grad_enabled, anomaly, scope = _state.modes
        _state.modes = (grad_enabled, anomaly, scope + (self.name,))
        return self

    def __exit__(self, exc_type, exc, tb):  # blocks nest, per thread: the innermost scope is
        # the last one (so one name_scope object can be entered again, and by any thread)
        grad_enabled, anomaly, scope = _state.modes
        _state.modes = (grad_enabled, anomaly, scope[:-1])
