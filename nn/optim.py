"""Optimizers: `SGD`, `Adam`, `AdamW`, with PyTorch's update formulas, step for step.

    optimizer = nn.Adam(model.parameters(), lr=1e-3)
    for X, y in loader:
        optimizer.zero_grad()
        loss_fn(model(X), y).backward()
        optimizer.step()                # p.copy_(new value) under no_grad: in place, version bumped

`param_groups` is a list of dicts ("params", "lr", ...) exactly as in PyTorch, so a scheduler (or
you) can change `group["lr"]` between steps. A step is all-or-nothing: the hyperparameters are
validated again, every gradient is checked (shape, NaN/inf) and every parameter's new value
(and new optimizer state) is computed first, and only then written, through the Tensor's
in-place `copy_`. Parameters may be given with their names (`model.named_parameters()`) so
that errors name them.
"""

import copy
import math

import numpy as np

import microgradnp as mg
from microgradnp import Tensor


class Optimizer:
    """Base class: holds `param_groups` and per-parameter `state`; subclasses define
    `_update(p, grad, group, state) -> (new_data, new_state)` without touching `p`."""

    def __init__(self, params, defaults):
        self.defaults = defaults
        self.state = {}  # Parameter -> dict of arrays (Tensors hash by identity)
        self._checked = {}  # id(group) -> its hyperparameters when last validated
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of Tensors "
                            f"(e.g. model.parameters()), got a single Tensor; wrap it in a list")
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__} got an empty parameter list: does the model "
                             f"have any Parameters (were layers assigned as attributes)?")
        if not isinstance(params[0], dict):
            params = [{"params": params}]
        for group in params:
            self.add_param_group(group)

    def add_param_group(self, group):
        """Add a dict {"params": [...], **hyperparameters}; missing ones take the defaults.
        "params" may hold (name, Tensor) pairs, as `model.named_parameters()` gives."""
        group = dict(group)
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        if params and all(isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str)
                          for p in params):
            group["param_names"] = [name for name, _ in params]
            params = [p for _, p in params]
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__}: parameter {i} is a {type(p).__name__}, "
                                f"not a Tensor")
            if not p.is_leaf:
                raise ValueError(f"{type(self).__name__}: parameter {i} (shape {p.shape}) is not "
                                 f"a leaf tensor; optimize the leaves it was computed from")
            if not p.requires_grad:
                raise ValueError(f"{type(self).__name__}: parameter {i} (shape {p.shape}) does "
                                 f"not require grad")
            if id(p) in seen:
                raise ValueError(f"{type(self).__name__}: parameter {i} (shape {p.shape}) "
                                 f"appears twice")
            seen.add(id(p))
        group["params"] = params
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self._validate(group, type(self).__name__)
        self.param_groups.append(group)

    def _validate(self, group, where):
        """Raise TypeError (not a number) or ValueError (out of range) naming the value."""
        check_hyperparameters(group, where)

    def _param_label(self, group, gi, pi):
        """"parameter 'layers.0.weight' (group 0, index 1, shape (4, 3))" or without the name."""
        p = group["params"][pi]
        names = group.get("param_names")
        name = f" {names[pi]!r}" if names and pi < len(names) else ""
        return f"parameter{name} (group {gi}, index {pi}, shape {p.shape})"

    def zero_grad(self, set_to_none=True):
        """Forget every parameter's gradient (`.grad = None`, or zeroed in place with
        set_to_none=False)."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    if p.grad.flags.writeable and p.grad.shape == p.shape:
                        p.grad[...] = 0
                    else:
                        p.grad = np.zeros_like(p.data)

    @mg.no_grad()
    def step(self):
        """Update every parameter that has a gradient (those whose `.grad` is None are skipped).

        All-or-nothing: a bad hyperparameter (also one changed in `param_groups` since), a
        gradient of the wrong shape or with NaN/inf values, or a read-only parameter raises,
        naming the parameter, before anything is written.
        """
        name = type(self).__name__
        updates = []
        for gi, group in enumerate(self.param_groups):
            values = tuple(v for k, v in group.items() if k != "params")
            if self._checked.get(id(group)) != values:  # new, or changed (a scheduler): check
                self._validate(group, f"{name}.step: param_groups[{gi}]")
                self._checked[id(group)] = tuple(v for k, v in group.items() if k != "params")
            for pi, p in enumerate(group["params"]):
                grad = p.grad
                if grad is None:
                    continue
                if grad.shape != p.shape:
                    raise ValueError(
                        f"{name}.step: {self._param_label(group, gi, pi)} has a gradient of "
                        f"shape {grad.shape}; nothing was updated"
                    )
                # NaN or inf anywhere shows in the sum of squares (one BLAS call, 2-3x faster
                # than a sum here); a finite gradient whose squares overflow is checked again
                if not math.isfinite(np.vdot(grad, grad)) and not np.isfinite(grad).all():
                    raise ValueError(
                        f"{name}.step: the gradient of {self._param_label(group, gi, pi)} has "
                        f"{_count_non_finite(grad)}; nothing was updated (a learning rate too "
                        f"large, or NaN/inf in the data?)"
                    )
                if not p.data.flags.writeable:
                    raise ValueError(
                        f"{name}.step: {self._param_label(group, gi, pi)} is a read-only array "
                        f"and cannot be updated in place; nothing was updated"
                    )
                step, new_state = self._update(p.data, grad, group, self.state.get(p, {}))
                updates.append((p, step, new_state))
        for p, step, new_state in updates:
            p.sub_(step)  # in place, version bumped: a graph that saved p will refuse
            self.state[p] = new_state

    def _update(self, data, grad, group, state):
        """(the step to subtract from `data`, the parameter's new state); writes nothing."""
        raise NotImplementedError

    # ---- state --------------------------------------------------------------------------------
    def state_dict(self):
        """PyTorch's layout: {"state": {index: {name: value}}, "param_groups": [{..., "params":
        [indices]}]}, parameters numbered in order across groups. Arrays are copies."""
        index, groups = {}, []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": ids})
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state:
                    state[index[id(p)]] = copy.deepcopy(self.state[p])
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore `state_dict()` output (e.g. from `nn.load`). Checked first: group and
        parameter counts and state shapes must match, or nothing changes."""
        name = type(self).__name__
        try:
            groups, saved_state = state_dict["param_groups"], state_dict["state"]
        except (KeyError, TypeError):
            raise ValueError(f"{name}.load_state_dict: expected a dict with 'state' and "
                             f"'param_groups' (from optimizer.state_dict())") from None
        if len(groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state has {len(groups)} parameter "
                             f"groups, this optimizer {len(self.param_groups)}")
        by_index = {}
        for gi, (saved, group) in enumerate(zip(groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{name}.load_state_dict: group {gi} has "
                                 f"{len(saved['params'])} parameters in the state, "
                                 f"{len(group['params'])} here")
            by_index.update(zip(saved["params"], group["params"]))
        new_state, problems = {}, []
        for key, s in saved_state.items():
            p = by_index.get(int(key))
            if p is None:
                problems.append(f"state for unknown parameter index {key}")
                continue
            for k, v in s.items():
                if isinstance(v, np.ndarray) and v.ndim and v.shape != p.shape:
                    problems.append(f"state {k!r} of parameter {key} has shape {v.shape}, the "
                                    f"parameter {p.shape}")
            new_state[p] = {k: (np.array(v, dtype=p.dtype) if isinstance(v, np.ndarray) and v.ndim
                                else v) for k, v in s.items()}
        if problems:
            raise ValueError(f"{name}.load_state_dict: nothing was loaded:\n  "
                             + "\n  ".join(problems))
        new_groups = []
        for gi, (saved, group) in enumerate(zip(groups, self.param_groups)):
            new_group = {**group, **{k: tuple(v) if isinstance(v, list) else v
                                     for k, v in saved.items() if k != "params"}}
            self._validate(new_group, f"{name}.load_state_dict: param_groups[{gi}]")
            new_groups.append(new_group)
        for group, new_group in zip(self.param_groups, new_groups):
            group.update(new_group)  # the same dicts: schedulers holding them see the change
        self.state = new_state

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            n = sum(p.size for p in group["params"])
            lines.append(f"Parameter Group {i} ({len(group['params'])} tensors, {n:,} weights)")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines + [")"])


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum (heavy-ball or Nesterov), dampening
    and L2 weight decay, exactly as `torch.optim.SGD`:

        g = grad + weight_decay * p
        buf = g (first step), else momentum * buf + (1 - dampening) * g
        g = g + momentum * buf (nesterov) or buf (momentum > 0)
        p = p - lr * g
    """

    def __init__(self, params, lr, momentum=0.0, dampening=0.0, nesterov=False,
                 weight_decay=0.0):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      nesterov=nesterov, weight_decay=weight_decay))

    def _validate(self, group, where):
        super()._validate(group, where)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"{where}: nesterov=True needs momentum > 0 and dampening = 0; got "
                             f"momentum={group['momentum']}, dampening={group['dampening']}")

    def _update(self, p, grad, group, state):
        lr, wd, momentum = group["lr"], group["weight_decay"], group["momentum"]
        g = grad + wd * p if wd != 0 else grad
        new_state = {}
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = np.array(g)
            else:
                buf = momentum * buf + (1 - group["dampening"]) * g
            new_state["momentum_buffer"] = buf
            g = g + momentum * buf if group["nesterov"] else buf
        return lr * g, new_state  # p - lr g


class Adam(Optimizer):
    """Adam (Kingma & Ba), exactly as `torch.optim.Adam` (weight decay is L2, added to grad):

        g = grad + weight_decay * p
        m = beta1 m + (1 - beta1) g;   v = beta2 v + (1 - beta2) g^2      (both start at 0)
        p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
    With amsgrad, v in the denominator is the running maximum of v.
    """

    _decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad))

    def _update(self, p, grad, group, state):
        lr, wd, eps = group["lr"], group["weight_decay"], group["eps"]
        beta1, beta2 = group["betas"]
        shrink = 0
        if self._decoupled:
            shrink = lr * wd * p  # AdamW: p (1 - lr wd), the weights shrunk directly
        elif wd != 0:
            grad = grad + wd * p
        step = state.get("step", 0) + 1
        m = beta1 * state["exp_avg"] + (1 - beta1) * grad if step > 1 else (1 - beta1) * grad
        v = (beta2 * state["exp_avg_sq"] + (1 - beta2) * grad * grad if step > 1
             else (1 - beta2) * grad * grad)
        new_state = {"step": step, "exp_avg": m, "exp_avg_sq": v}
        if group["amsgrad"]:
            v = np.maximum(state["max_exp_avg_sq"], v) if step > 1 else v
            new_state["max_exp_avg_sq"] = v
        step_size = lr / (1 - beta1**step)
        denom = np.sqrt(v) / math.sqrt(1 - beta2**step) + eps
        return shrink + step_size * (m / denom), new_state  # p - shrink - ...


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as `torch.optim.AdamW`:
    p = p (1 - lr weight_decay) first, then the Adam step on the plain gradient."""

    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad)


def check_hyperparameters(group, where):
    """The hyperparameters every optimizer shares, in a param group (also one read by `nn.load`):
    lr, eps, weight_decay, momentum, dampening finite numbers >= 0; betas two numbers in [0, 1).
    A TypeError for a non-number (lr="0.1"), a ValueError for a value out of range."""
    for key in ("lr", "eps", "weight_decay", "momentum", "dampening"):
        if key in group:
            _check_number(where, key, group[key])
    if "betas" in group:
        betas = group["betas"]
        try:
            betas = tuple(betas)
        except TypeError:
            betas = ()
        if len(betas) != 2:
            raise ValueError(f"{where}: betas must be two numbers in [0, 1); got "
                             f"betas={group['betas']!r}")
        for b in betas:
            _check_number(where, "betas", b, shown=group["betas"])
            if not b < 1:
                raise ValueError(f"{where}: betas must be two numbers in [0, 1); got "
                                 f"betas={group['betas']!r}")
        group["betas"] = betas


def _check_number(where, key, value, shown=None):
    """A hyperparameter must be a finite real number >= 0 (bool and strings are refused)."""
    shown = value if shown is None else shown
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer,
                                                                     np.floating)):
        raise TypeError(f"{where}: {key} must be a number; got {key}={shown!r} (a "
                        f"{type(value).__name__})")
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{where}: {key} must be a finite number >= 0; got {key}={shown!r}")


def _count_non_finite(a):
    nan, inf = int(np.isnan(a).sum()), int(np.isinf(a).sum())
    return " and ".join(f"{n} {what} value{'s' * (n != 1)}"
                        for n, what in ((nan, "NaN"), (inf, "inf")) if n)
