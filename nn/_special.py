"""The error function and the normal CDF in float64 (NumPy has no erf), and Φ, φ as ops.

erf and erfc are Cephes' rational approximations (S. L. Moshier, the ones SciPy compiles):
relative error around 1e-16 on |x| <= 1 (erf = x T(x^2) / U(x^2)), and erfc = exp(-x^2) P(x)/Q(x)
on 1 < |x| < 8, exp(-x^2) R(x)/S(x) beyond. Φ(x) = erfc(-x / sqrt(2)) / 2 keeps its relative
accuracy far into the left tail, where 1 + erf(x / sqrt(2)) would cancel to 0.
"""

import math

import numpy as np

from microgradnp import Function
from microgradnp.ops import call

_T = (9.60497373987051638749e0, 9.00260197203842689217e1, 2.23200534594684319226e3,
      7.00332514112805075473e3, 5.55923013010394962768e4)
_U = (3.35617141647503099647e1, 5.21357949780152679795e2, 4.59432382970980127987e3,
      2.26290000613890934246e4, 4.92673942608635921086e4)
_P = (2.46196981473530512524e-10, 5.64189564831068821977e-1, 7.46321056442269912687e0,
      4.86371970985681366614e1, 1.96520832956077098242e2, 5.26445194995477358631e2,
      9.34528527171957607540e2, 1.02755188689515710272e3, 5.57535335369399327526e2)
_Q = (1.32281951154744992508e1, 8.67072140885989742329e1, 3.54937778887819891062e2,
      9.75708501743205489753e2, 1.82390916687909736289e3, 2.24633760818710981792e3,
      1.65666309194161350182e3, 5.57535340817727675546e2)
_R = (5.64189583547755073984e-1, 1.27536670759978104416e0, 5.01905042251180477414e0,
      6.16021097993053585195e0, 7.40974269950448939160e0, 2.97886665372100240670e0)
_S = (2.26052863220117276590e0, 9.39603524938001434673e0, 1.20489539808096656605e1,
      1.70814450747565897222e1, 9.60896809063285878198e0, 3.36907645100081516050e0)


def _polevl(x, coef):
    """coef[0] x^n + ... + coef[n] (Horner)."""
    out = np.full_like(x, coef[0])
    for c in coef[1:]:
        out = out * x + c
    return out


def _p1evl(x, coef):
    """x^n + coef[0] x^(n-1) + ... + coef[n-1]: a leading coefficient of 1."""
    return _polevl(x, (1.0,) + tuple(coef))


def _erf_small(x):
    """erf on |x| <= 1."""
    z = x * x
    return x * _polevl(z, _T) / _p1evl(z, _U)


def _erfc_big(x):
    """erfc on |x| > 1 (beyond |x| = 27, exp(-x^2) underflows to 0: the ratio is clamped)."""
    a = np.minimum(np.abs(x), 30.0)
    ratio = np.where(a < 8, _polevl(a, _P) / _p1evl(a, _Q), _polevl(a, _R) / _p1evl(a, _S))
    y = np.exp(-a * a) * ratio
    return np.where(x < 0, 2.0 - y, y)


def erf(x):
    """The error function, elementwise, float64-accurate."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    small = np.abs(x) <= 1
    out[small] = _erf_small(x[small])
    out[~small] = 1.0 - _erfc_big(x[~small])
    return out


def erfc(x):
    """1 - erf(x), elementwise, without the cancellation for large x."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    small = np.abs(x) <= 1
    out[small] = 1.0 - _erf_small(x[small])
    out[~small] = _erfc_big(x[~small])
    return out


def normal_cdf(x):
    """Φ(x) = P(Z <= x) for a standard normal Z, elementwise."""
    return 0.5 * erfc(-np.asarray(x, dtype=np.float64) / math.sqrt(2.0))


class NormalCDF(Function):
    """Φ(x), the standard normal CDF."""

    name = "normal_cdf"
    formula = ("φ(x)",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return normal_cdf(x).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):  # dΦ(x) = φ(x) dx
        (x,) = ctx.saved
        return grad * call(NormalPDF, x)


class NormalPDF(Function):
    """φ(x) = exp(-x^2 / 2) / sqrt(2 pi), the standard normal density."""

    name = "normal_pdf"
    formula = ("-x φ(x)",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)

    @staticmethod
    def backward(ctx, grad):  # dφ(x) = -x φ(x) dx
        (x,) = ctx.saved
        return grad * -x * call(NormalPDF, x)
