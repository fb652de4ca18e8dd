"""Helpers for testing your own ops: gradcheck as an assertion, and hypothesis strategies.

The strategies need hypothesis (a dev dependency); it is imported when a strategy is built, so
`assert_gradcheck` works without it and `import microgradnp` never imports it.

    from hypothesis import given, strategies as st
    from microgradnp.testing import assert_gradcheck, broadcastable_shapes, tensors

    @given(shapes=broadcastable_shapes(2), data=st.data())
    def test_mul(shapes, data):
        x, y = (data.draw(tensors(shape)) for shape in shapes)
        assert_gradcheck(lambda x, y: x * y, [x, y])
"""

import math

import numpy as np

import microgradnp as mg


def assert_gradcheck(fn, inputs, **kwargs):
    """Assert that the gradients of `fn(*inputs)` match finite differences.

    Takes `mg.gradcheck`'s arguments (eps, atol, rtol, fast_mode); on a mismatch raises
    `mg.GradcheckError`, an AssertionError whose message is gradcheck's report."""
    __tracebackhide__ = True  # pytest shows the failure at the caller's line
    try:
        mg.gradcheck(fn, inputs, raise_exception=True, **kwargs)
    except mg.GradcheckError as error:
        raise error.with_traceback(None) from None  # the report, not gradcheck's insides


def assert_gradgradcheck(fn, inputs, **kwargs):
    """Assert that the second derivatives of `fn(*inputs)` match finite differences: the
    `mg.gradgradcheck` counterpart of `assert_gradcheck` (also takes grad_outputs)."""
    __tracebackhide__ = True
    try:
        mg.gradgradcheck(fn, inputs, raise_exception=True, **kwargs)
    except mg.GradcheckError as error:
        raise error.with_traceback(None) from None


# ============================================================================ strategies


def broadcastable_shapes(n, min_dims=0, max_dims=3, min_side=1, max_side=4):
    """A strategy for a tuple of `n` shapes that broadcast together, e.g. ((3, 1), (2, 1, 4))."""
    from hypothesis.extra import numpy as hnp

    shapes = hnp.mutually_broadcastable_shapes(num_shapes=n, min_dims=min_dims, max_dims=max_dims,
                                               min_side=min_side, max_side=max_side)
    return shapes.map(lambda s: s.input_shapes)


def tensors(shape=None, elements=None, requires_grad=True, away_from=(), margin=1e-3):
    """A strategy for float64 Tensors of `shape` (a tuple or a strategy; by default 0 to 3 axes
    of 1 to 4) with values from `elements` (a strategy; by default floats in [-3, 3]).

    Each value is kept at least `margin` from every point in `away_from`: the kinks where finite
    differences cannot be trusted (0 for relu and abs)."""
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    if shape is None:
        shape = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
    if elements is None:
        elements = st.floats(-3, 3)
    if away_from:
        elements = elements.map(lambda value: _away(value, away_from, margin))
    arrays = hnp.arrays(np.float64, shape, elements=elements)
    return arrays.map(lambda a: mg.Tensor(a, requires_grad=requires_grad))


def _away(value, points, margin):
    """`value` pushed out to `margin` from each of `points` it is closer to (on its own side)."""
    for point in points:
        if abs(value - point) < margin:
            value = point + math.copysign(margin, value - point)
    return value
