"""Convolution and pooling: `Conv2d`, `MaxPool2d`, `AvgPool2d`, each one fused op, channels first.

Every op here is a sliding window: `_windows` views a padded (N, C, H, W) input as
(N, C, OH, OW, kh, kw) without copying (`sliding_window_view`), and `_fold`, its adjoint, adds
such windows back into an input-shaped array, one kernel offset at a time (kh * kw slices, no
loop over pixels or samples):

    conv2d:      out[n, o, i, j] = sum_{c,k,l} x_pad[n, c, i s + k d, j s + l d] weight[o, c, k, l]
                 im2col: the windows as a (N OH OW, C kh kw) matrix, times weight^T (one matmul)
    max_pool2d:  out = the max of each window; backward sends grad to the argmax (a scatter)
    avg_pool2d:  out = the mean of each window; backward spreads grad / window size (a fold)

Backward is differentiable (second derivatives work): conv2d's input and weight gradients are
ops of their own, `Conv2dInputGrad` (a transposed convolution) and `Conv2dWeightGrad`, and the
three are each other's derivatives, because all three are linear in each argument.
Vocabulary as in the engine: `x` the input, `weight`, `grad` the incoming gradient.
"""

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from microgradnp import Function, Tensor
from microgradnp.ops import call

from . import init
from .module import Module, Parameter

# ============================================================================ window helpers


def _windows(x, kernel, stride, padding, dilation, pad_value=0.0):
    """(N, C, H, W) -> a view (N, C, OH, OW, kh, kw) of every (dilated) window of the padded x."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    if ph or pw:
        n, c, h, w = x.shape
        padded = np.full((n, c, h + 2 * ph, w + 2 * pw), pad_value, dtype=x.dtype)
        padded[:, :, ph:ph + h, pw:pw + w] = x
        x = padded
    view = sliding_window_view(x, ((kh - 1) * dh + 1, (kw - 1) * dw + 1), axis=(2, 3))
    return view[:, :, ::sh, ::sw, ::dh, ::dw]


def _im2col(x, kernel, stride, padding, dilation):
    """(N, C, H, W) -> the windows as a (N * OH * OW, C * kh * kw) matrix (a copy), and (OH, OW)."""
    cols = _windows(x, kernel, stride, padding, dilation)
    n, c, oh, ow, kh, kw = cols.shape
    return cols.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * kh * kw), (oh, ow)


def _rows(grad):
    """(N, O, OH, OW) -> (N * OH * OW, O): one row per output position, as im2col's rows."""
    return grad.transpose(0, 2, 3, 1).reshape(-1, grad.shape[1])


def _fold(cols, x_shape, kernel, stride, padding, dilation):
    """The adjoint of `_windows`: add each window of `cols` (N, C, OH, OW, kh, kw) back where
    it came from in an (N, C, H, W) array (padding cut off)."""
    n, c, h, w = x_shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    oh, ow = cols.shape[2:4]
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    for k in range(kh):  # kh * kw strided slices: one per kernel offset
        rows = slice(k * dh, k * dh + sh * (oh - 1) + 1, sh)
        for ll in range(kw):
            out[:, :, rows, ll * dw:ll * dw + sw * (ow - 1) + 1:sw] += cols[:, :, :, :, k, ll]
    return out[:, :, ph:ph + h, pw:pw + w]


# ============================================================================ conv2d


class Conv2dOp(Function):
    """out = conv2d(x, weight) + bias. x (N, C, H, W), weight (O, C, kh, kw), bias (O,)."""

    name = "conv2d"
    formula = ("conv_transpose(grad, weight)", "grad ⋆ windows(x)", "Σ grad over n, i, j")

    @staticmethod
    def forward(ctx, x, weight, bias=None, *, stride, padding, dilation):
        ctx.save_for_backward(x, weight)
        ctx.conf = (stride, padding, dilation)
        cols, (oh, ow) = _im2col(x, weight.shape[2:], stride, padding, dilation)
        ctx.cols = cols  # kept for the weight gradient (a constant: the same numbers as x's)
        out = cols @ weight.reshape(weight.shape[0], -1).T  # (N * OH * OW, O)
        if bias is not None:
            out += bias
        return out.reshape(x.shape[0], oh, ow, -1).transpose(0, 3, 1, 2)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved
        stride, padding, dilation = ctx.conf
        cols, ctx.cols = getattr(ctx, "cols", None), None  # used once, then let go
        need_x, need_w, need_b = ctx.needs_input_grad
        gx = gw = gb = None
        if need_x:  # dx = conv_transpose(grad, weight)
            gx = call(Conv2dInputGrad, grad, weight, x_shape=tuple(x.shape), stride=stride,
                      padding=padding, dilation=dilation)
        if need_w:  # dweight[o, c, k, l] = sum_{n,i,j} grad[n, o, i, j] x_pad[n, c, i s + k d, ..]
            gw = call(Conv2dWeightGrad, x, grad, kernel=tuple(weight.shape[2:]), stride=stride,
                      padding=padding, dilation=dilation, cols=cols)
        if need_b:  # dbias[o] = sum_{n, i, j} grad[n, o, i, j]
            gb = grad.sum(axis=(0, 2, 3))
        return gx, gw, gb


class Conv2dInputGrad(Function):
    """dx = conv_transpose(grad, weight): each output gradient spread back over its window.
    Linear in both: its derivatives are conv2d (in grad) and Conv2dWeightGrad (in weight)."""

    name = "conv2d_input_grad"
    formula = ("conv2d(·, weight)", "windows(·) ⋆ grad")

    @staticmethod
    def forward(ctx, grad, weight, *, x_shape, stride, padding, dilation):
        ctx.save_for_backward(grad, weight)
        ctx.conf = (stride, padding, dilation)
        n, o, oh, ow = grad.shape
        cols = _rows(grad) @ weight.reshape(o, -1)  # d cols = grad rows times weight
        cols = cols.reshape((n, oh, ow, x_shape[1]) + weight.shape[2:])
        return _fold(cols.transpose(0, 3, 1, 2, 4, 5), x_shape, weight.shape[2:], stride,
                     padding, dilation)

    @staticmethod
    def backward(ctx, gg):  # gg: the gradient w.r.t. this op's output (shaped like x)
        grad, weight = ctx.saved
        stride, padding, dilation = ctx.conf
        need_grad, need_w = ctx.needs_input_grad
        d_grad = d_w = None
        if need_grad:  # d/dgrad <gg, conv_transpose(grad, w)> = conv2d(gg, w)
            d_grad = call(Conv2dOp, gg, weight, None, stride=stride, padding=padding,
                          dilation=dilation)
        if need_w:  # d/dw <gg, conv_transpose(grad, w)> = weight_grad(gg, grad)
            d_w = call(Conv2dWeightGrad, gg, grad, kernel=tuple(weight.shape[2:]), stride=stride,
                       padding=padding, dilation=dilation)
        return d_grad, d_w


class Conv2dWeightGrad(Function):
    """dweight = sum over samples and positions of grad times the input's windows.
    Linear in both: its derivatives are Conv2dInputGrad (in x) and conv2d (in grad)."""

    name = "conv2d_weight_grad"
    formula = ("conv_transpose(grad, ·)", "conv2d(x, ·)")

    @staticmethod
    def forward(ctx, x, grad, *, kernel, stride, padding, dilation, cols=None):
        ctx.save_for_backward(x, grad)
        ctx.conf = (stride, padding, dilation)
        if cols is None:  # not handed over by conv2d's forward: im2col again
            cols, _ = _im2col(x, kernel, stride, padding, dilation)
        return (_rows(grad).T @ cols).reshape((grad.shape[1], x.shape[1]) + tuple(kernel))

    @staticmethod
    def backward(ctx, gg):  # gg: shaped like the weight
        x, grad = ctx.saved
        stride, padding, dilation = ctx.conf
        need_x, need_grad = ctx.needs_input_grad
        d_x = d_grad = None
        if need_x:  # d/dx <gg, weight_grad(x, grad)> = conv_transpose(grad, gg)
            d_x = call(Conv2dInputGrad, grad, gg, x_shape=tuple(x.shape), stride=stride,
                       padding=padding, dilation=dilation)
        if need_grad:  # d/dgrad <gg, weight_grad(x, grad)> = conv2d(x, gg)
            d_grad = call(Conv2dOp, x, gg, None, stride=stride, padding=padding,
                          dilation=dilation)
        return d_x, d_grad


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """2-D convolution (cross-correlation, as in PyTorch). input (N, C, H, W) or (C, H, W),
    weight (O, C, kh, kw), bias (O,) or None -> (N, O, OH, OW) with
    OH = (H + 2 padding - dilation (kh - 1) - 1) // stride + 1 (likewise OW).

    stride, padding, dilation: an int or a pair; padding may also be "valid" (0) or "same"
    (stride 1, odd dilated kernel). Only groups=1."""
    x = input if isinstance(input, Tensor) else Tensor(input)
    w_shape = weight.shape if isinstance(weight, Tensor) else np.shape(weight)
    if len(w_shape) != 4:
        raise ValueError(f"conv2d: weight must be 4-D (out_channels, in_channels, kh, kw); got "
                         f"shape {tuple(w_shape)}")
    if groups != 1:
        raise ValueError(f"conv2d: only groups=1 is supported; got groups={groups!r}")
    kernel = tuple(w_shape[2:])
    stride, dilation = _pair("conv2d", "stride", stride), _pair("conv2d", "dilation", dilation)
    padding = _padding("conv2d", padding, kernel, stride, dilation)
    unbatched = x.ndim == 3
    if x.ndim not in (3, 4):
        raise ValueError(f"conv2d: expected a 4-D input (N, C, H, W) or a 3-D one (C, H, W); "
                         f"got shape {x.shape}")
    if unbatched:
        x = x.reshape((1,) + x.shape)
    if x.shape[1] != w_shape[1]:
        raise ValueError(f"conv2d: the input has {x.shape[1]} channels (shape {x.shape}) but the "
                         f"weight {tuple(w_shape)} expects in_channels={w_shape[1]}")
    if bias is not None:
        b_shape = bias.shape if isinstance(bias, Tensor) else np.shape(bias)
        if tuple(b_shape) != (w_shape[0],):
            raise ValueError(f"conv2d: bias must have shape ({w_shape[0]},); got "
                             f"{tuple(b_shape)}")
    _check_fits("conv2d", x.shape, kernel, padding, dilation)
    out = Conv2dOp.apply(x, weight, bias, stride=stride, padding=padding, dilation=dilation)
    return out.reshape(out.shape[1:]) if unbatched else out


# ============================================================================ pooling


class MaxPool2dOp(Function):
    """out = the max of each window (padding counts as -inf); ties go to the first maximum."""

    name = "max_pool2d"
    formula = ("1 at each window's argmax",)

    @staticmethod
    def forward(ctx, x, *, kernel, stride, padding, dilation):
        n, c, h, w = x.shape
        windows = _windows(x, kernel, stride, padding, dilation, pad_value=-np.inf)
        oh, ow = windows.shape[2:4]
        windows = windows.reshape(n, c, oh, ow, -1)  # a copy: one row per window
        k = windows.argmax(axis=-1)  # the window element that wins (the first if tied; NaN wins)
        out = np.take_along_axis(windows, k[..., None], axis=-1)[..., 0]
        # where the winner sits in x (row, column), then as a flat index into (N, C, H, W)
        row = np.arange(oh)[:, None] * stride[0] - padding[0] + (k // kernel[1]) * dilation[0]
        col = np.arange(ow) * stride[1] - padding[1] + (k % kernel[1]) * dilation[1]
        plane = np.arange(n * c).reshape(n, c, 1, 1)
        ctx.index = (plane * h + row) * w + col
        ctx.valid = None  # a window all in the padding (possible with dilation) gives -inf
        if padding != (0, 0):  # and no gradient, as in PyTorch
            valid = (row >= 0) & (row < h) & (col >= 0) & (col < w)
            if not valid.all():
                ctx.valid = valid
                ctx.index = np.where(valid, ctx.index, 0)
        ctx.x_shape = x.shape
        return out

    @staticmethod
    def backward(ctx, grad):  # dx = grad sent to each window's argmax (summed where they meet)
        return call(MaxPool2dBackward, grad, index=ctx.index, valid=ctx.valid,
                    x_shape=ctx.x_shape)


class MaxPool2dBackward(Function):
    """Scatter-add grad into an x-shaped array at the argmax positions `index` (a constant;
    where `valid` is False, nowhere). Linear in grad: its derivative is the gather gg[index]."""

    name = "max_pool2d_backward"
    formula = ("gather at the argmax",)

    @staticmethod
    def forward(ctx, grad, *, index, valid, x_shape):
        ctx.index, ctx.valid = index, valid
        weights = grad.ravel() if valid is None else (grad * valid).ravel()
        flat = np.bincount(index.ravel(), weights=weights, minlength=math.prod(x_shape))
        return flat.astype(grad.dtype, copy=False).reshape(x_shape)

    @staticmethod
    def backward(ctx, gg):  # d/dgrad <gg, scatter(grad)> = gg at the argmax positions
        gathered = gg.reshape(-1)[ctx.index]
        return gathered if ctx.valid is None else gathered * ctx.valid


class AvgPool2dOp(Function):
    """out = sum of each window / divisor (the window size, or the count of non-padding
    elements when count_include_pad=False, or divisor_override)."""

    name = "avg_pool2d"
    formula = ("1 / divisor over each window",)

    @staticmethod
    def forward(ctx, x, *, kernel, stride, padding, divisor):
        ctx.conf = (kernel, stride, padding, divisor)
        ctx.x_shape = x.shape
        return _windows(x, kernel, stride, padding, (1, 1)).sum(axis=(-2, -1)) / divisor

    @staticmethod
    def backward(ctx, grad):  # dx = grad / divisor spread over each window
        kernel, stride, padding, divisor = ctx.conf
        return call(AvgPool2dBackward, grad, x_shape=ctx.x_shape, kernel=kernel, stride=stride,
                    padding=padding, divisor=divisor)


class AvgPool2dBackward(Function):
    """Fold grad / divisor back over each window. Its adjoint is avg_pool2d itself."""

    name = "avg_pool2d_backward"
    formula = ("avg_pool2d(·)",)

    @staticmethod
    def forward(ctx, grad, *, x_shape, kernel, stride, padding, divisor):
        ctx.conf = (kernel, stride, padding, divisor)
        spread = (grad / divisor)[..., None, None]
        cols = np.broadcast_to(spread, grad.shape + tuple(kernel))
        return _fold(cols, x_shape, kernel, stride, padding, (1, 1))

    @staticmethod
    def backward(ctx, gg):  # d/dgrad <gg, fold(grad / divisor)> = avg_pool2d(gg)
        kernel, stride, padding, divisor = ctx.conf
        return call(AvgPool2dOp, gg, kernel=kernel, stride=stride, padding=padding,
                    divisor=divisor)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):  # noqa: A002
    """Max over each kernel_size window. input (N, C, H, W) or (C, H, W). stride defaults to
    kernel_size; padding (at most half the kernel) counts as -inf."""
    kernel, stride, padding, dilation = _pool_args("max_pool2d", kernel_size, stride, padding,
                                                   dilation, ceil_mode)
    return _batched("max_pool2d", input, kernel, padding, dilation, lambda x: MaxPool2dOp.apply(
        x, kernel=kernel, stride=stride, padding=padding, dilation=dilation))


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: A002
               count_include_pad=True, divisor_override=None):
    """Mean over each kernel_size window. input (N, C, H, W) or (C, H, W). stride defaults to
    kernel_size; zero padding (at most half the kernel) counted in the mean unless
    count_include_pad=False; divisor_override replaces the window size as the divisor."""
    kernel, stride, padding, _ = _pool_args("avg_pool2d", kernel_size, stride, padding, 1,
                                            ceil_mode)

    def pool(x):
        if divisor_override is not None:
            divisor = float(divisor_override)
        elif count_include_pad or padding == (0, 0):
            divisor = float(kernel[0] * kernel[1])
        else:  # per output position: how many of its window's elements are inside the input
            ones = np.ones((1, 1) + x.shape[2:], dtype=x.dtype)
            divisor = _windows(ones, kernel, stride, padding, (1, 1)).sum(axis=(-2, -1))[0, 0]
        return AvgPool2dOp.apply(x, kernel=kernel, stride=stride, padding=padding,
                                 divisor=divisor)

    if divisor_override is not None and not divisor_override:
        raise ValueError(f"avg_pool2d: divisor_override must be non-zero; got {divisor_override}")
    return _batched("avg_pool2d", input, kernel, padding, (1, 1), pool)


def _batched(name, input, kernel, padding, dilation, pool):  # noqa: A002
    x = input if isinstance(input, Tensor) else Tensor(input)
    if x.ndim not in (3, 4):
        raise ValueError(f"{name}: expected a 4-D input (N, C, H, W) or a 3-D one (C, H, W); "
                         f"got shape {x.shape}")
    unbatched = x.ndim == 3
    if unbatched:
        x = x.reshape((1,) + x.shape)
    _check_fits(name, x.shape, kernel, padding, dilation)
    out = pool(x)
    return out.reshape(out.shape[1:]) if unbatched else out


# ============================================================================ argument checks


def _pair(name, what, value, minimum=1):
    """An int or a pair of ints -> a pair, each >= minimum, else a ValueError naming it."""
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value) \
        if isinstance(value, (tuple, list)) else None
    if (pair is None or len(pair) != 2 or not all(isinstance(v, (int, np.integer))
                                                  and not isinstance(v, bool) for v in pair)
            or min(pair) < minimum):
        raise ValueError(f"{name}: {what} must be an integer >= {minimum} or a pair of them; "
                         f"got {value!r}")
    return int(pair[0]), int(pair[1])


def _padding(name, padding, kernel, stride, dilation):
    if padding == "valid":
        return (0, 0)
    if padding == "same":
        if stride != (1, 1):
            raise ValueError(f"{name}: padding='same' needs stride 1; got stride={stride}")
        extent = [d * (k - 1) for k, d in zip(kernel, dilation)]
        if any(e % 2 for e in extent):
            raise ValueError(f"{name}: padding='same' is supported for odd (dilated) kernel "
                             f"sizes only; got kernel {kernel} with dilation {dilation}")
        return extent[0] // 2, extent[1] // 2
    if isinstance(padding, str):
        raise ValueError(f"{name}: padding must be an int, a pair, 'valid' or 'same'; got "
                         f"{padding!r}")
    return _pair(name, "padding", padding, minimum=0)


def _check_fits(name, shape, kernel, padding, dilation):
    """A ValueError when the (dilated) kernel is larger than the padded input."""
    extent = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    padded = tuple(s + 2 * p for s, p in zip(shape[2:], padding))
    if any(e > p for e, p in zip(extent, padded)):
        raise ValueError(f"{name}: kernel size {tuple(kernel)}" +
                         (f" (dilated to {extent})" if extent != tuple(kernel) else "") +
                         f" is larger than the padded input {padded} (input {tuple(shape[2:])}, "
                         f"padding {tuple(padding)} on each side)")


def _pool_args(name, kernel_size, stride, padding, dilation, ceil_mode):
    if ceil_mode:
        raise ValueError(f"{name}: ceil_mode=True is not supported (output sizes round down)")
    kernel = _pair(name, "kernel_size", kernel_size)
    stride = kernel if stride is None else _pair(name, "stride", stride)
    padding = _pair(name, "padding", padding, minimum=0)
    dilation = _pair(name, "dilation", dilation)
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        raise ValueError(f"{name}: padding {padding} must be at most half the kernel size "
                         f"{kernel}")
    return kernel, stride, padding, dilation


# ============================================================================ modules


class Conv2d(Module):
    """2-D convolution over (N, C, H, W) inputs (channels first, as PyTorch).

    weight (out_channels, in_channels, kh, kw) and bias (out_channels,) start uniform in
    +-1/sqrt(in_channels kh kw) (PyTorch's default: kaiming_uniform with a=sqrt(5)), drawn
    from `mg.default_generator()`. Output (N, out_channels, OH, OW) with
    OH = (H + 2 padding - dilation (kh - 1) - 1) // stride + 1.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", dtype=np.float64):
        super().__init__()
        for what, n in (("in_channels", in_channels), ("out_channels", out_channels)):
            if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
                raise ValueError(f"Conv2d: {what} must be a positive integer; got {n!r}")
        if groups != 1:
            raise ValueError(f"Conv2d: only groups=1 is supported; got groups={groups!r}")
        if padding_mode != "zeros":
            raise ValueError(f"Conv2d: only padding_mode='zeros' is supported; got "
                             f"{padding_mode!r}")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = _pair("Conv2d", "kernel_size", kernel_size)
        self.stride = _pair("Conv2d", "stride", stride)
        self.dilation = _pair("Conv2d", "dilation", dilation)
        self.padding = padding if isinstance(padding, str) else _pair(
            "Conv2d", "padding", padding, minimum=0)
        self._padding = _padding("Conv2d", padding, self.kernel_size, self.stride,
                                 self.dilation)
        self.groups = 1
        self.weight = Parameter(np.empty((out_channels, in_channels) + self.kernel_size,
                                         dtype=dtype))
        self.bias = Parameter(np.empty(out_channels, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's default: weight kaiming_uniform(a=sqrt(5)), bias U(+-1/sqrt(fan_in))."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        if x.ndim in (3, 4) and x.shape[-3] != self.in_channels:
            raise ValueError(f"Conv2d: expected input with {self.in_channels} channels "
                             f"(in_channels={self.in_channels}), got input of shape {x.shape}")
        return conv2d(x, self.weight, self.bias, self.stride, self._padding, self.dilation)

    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        return text + ("" if self.bias is not None else ", bias=False")

    def _short_repr(self):
        kh, kw = self.kernel_size
        return f"{self.in_channels}→{self.out_channels}, {kh}x{kw}"


class MaxPool2d(Module):
    """Max over each kernel_size window of (N, C, H, W) inputs; stride defaults to the kernel."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        if return_indices:
            raise ValueError("MaxPool2d: return_indices=True is not supported")
        self.kernel_size, self.stride, self.padding, self.dilation = _pool_args(
            "MaxPool2d", kernel_size, stride, padding, dilation, ceil_mode)
        self.ceil_mode = False

    def forward(self, x):
        return max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}")

    def _short_repr(self):
        return f"{self.kernel_size[0]}x{self.kernel_size[1]}"


class AvgPool2d(Module):
    """Mean over each kernel_size window of (N, C, H, W) inputs; stride defaults to the kernel."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size, self.stride, self.padding, _ = _pool_args(
            "AvgPool2d", kernel_size, stride, padding, 1, ceil_mode)
        self.ceil_mode = False
        self.count_include_pad = bool(count_include_pad)
        self.divisor_override = divisor_override

    def forward(self, x):
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding,
                          count_include_pad=self.count_include_pad,
                          divisor_override=self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def _short_repr(self):
        return f"{self.kernel_size[0]}x{self.kernel_size[1]}"


__all__ = ["AvgPool2d", "Conv2d", "MaxPool2d", "avg_pool2d", "conv2d", "max_pool2d"]
