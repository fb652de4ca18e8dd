"""Small custom `mg.Function`s that several test files use: right ones and a wrong one."""

import microgradnp as mg


class Square(mg.Function):
    """x^2, right to every order."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved
        return grad * 2 * x


class BadSquare(Square):
    """x^2 whose backward forgets the factor 2: grad * x instead of 2 * grad * x."""

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved
        return grad * x


class Cube(mg.Function):
    """x^3 with a backward written in operators (so it is differentiable twice)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved
        return grad * 3 * x * x
