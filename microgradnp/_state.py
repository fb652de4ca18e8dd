"""Thread-local engine state: whether graphs are recorded, and the current name scope."""

import functools
import threading


class _State(threading.local):
    def __init__(self):
        self.grad_enabled = True
        self.grad_modes = []  # grad modes to restore, innermost last (one per open block)
        self.scope = ()  # tuple of names, outermost first; recorded by every new op


_state = _State()


def is_grad_enabled():
    """True when new operations record the graph (per thread)."""
    return _state.grad_enabled


class _GradMode:
    """Context manager and decorator that sets grad mode for its block, then restores it."""

    enabled = True

    def __new__(cls, fn=None):
        if callable(fn):  # bare `@mg.no_grad` without parentheses, as PyTorch allows
            return cls()(fn)
        return super().__new__(cls)

    def __init__(self, fn=None):
        pass

    def __enter__(self):  # the previous mode is kept per thread: one instance may be reused
        _state.grad_modes.append(_state.grad_enabled)
        _state.grad_enabled = self.enabled

    def __exit__(self, *exc):
        _state.grad_enabled = _state.grad_modes.pop()

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Within this block (or decorated function) no graph is recorded: `with mg.no_grad(): ...`."""

    enabled = False


class enable_grad(_GradMode):
    """Re-enables graph recording inside a `no_grad` block."""

    enabled = True


class set_grad_enabled(_GradMode):
    """`with mg.set_grad_enabled(flag):` sets grad mode to `flag` for the block."""

    def __new__(cls, mode):
        return object.__new__(cls)

    def __init__(self, mode):
        self.enabled = bool(mode)

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(self.enabled):
                return fn(*args, **kwargs)

        return wrapper


class name_scope:
    """Ops created inside `with mg.name_scope("encoder"):` record the scope ("encoder",).

    Scopes nest; the graph picture groups ops by them. `nn.Module.__call__` enters one per
    module call, so this is a plain class (no generator): entering costs two attribute writes.
    """

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = str(name)

    def __enter__(self):
        _state.scope = _state.scope + (self.name,)
        return self

    def __exit__(self, *exc):  # blocks nest, per thread: the innermost scope is the last one
        _state.scope = _state.scope[:-1]
