"""numpy.fft: discrete Fourier transforms, their inverses, the real and Hermitian ones.

Each numpy function is a primitive whose forward is numpy's own (values equal
numpy's), and each rule is another transform of the family, so the rules are
differentiable to any order. The 2-D functions are the n-D ones with numpy's
default axes (numpy computes them the same way).

Rules follow the complex convention (docs/conventions.md): the cotangent of
a linear map is its adjoint applied to g. A DFT's adjoint is the inverse DFT
with the opposite scaling, ``_ADJOINT_NORM``: the unscaled forward transform
(norm "backward") has the unscaled inverse (norm "forward") as its adjoint,
and "ortho" is unitary. ``n``/``s`` crop or zero-pad the input first; the
adjoint of that is zero-padding or cropping back (``_fit``).

The real transforms need a factor more. ``rfft`` keeps the first n//2 + 1
outputs of a real input's spectrum, and its adjoint is the real part of the
inverse of the zero-padded g: that is ``irfft`` of g with the bins that have
a mirror image halved (``_mirrored``: every bin but 0 and, for even n,
n/2). ``irfft`` reads each such bin twice (as itself and as its conjugate
mirror) and the imaginary part of bins 0 and n/2 not at all, so its adjoint
is ``rfft`` with those bins doubled. ``hfft`` and ``ihfft`` are ``irfft`` and
``rfft`` of the conjugate, as numpy defines them.
"""

import numpy as np

from ..domain import Domain
from ._common import implements, primitive, unwrap
from .samples import fft as samples

# The norm whose transform in the other direction is the adjoint (None is "backward").
_ADJOINT_NORM = {None: "forward", "backward": "forward", "ortho": "ortho", "forward": "backward"}


def _fit(x, axes, sizes):
    """``x`` cropped or zero-padded at the end of each axis to ``sizes``: numpy's
    treatment of ``n``/``s``, here the adjoint of it (differentiable)."""
    shape = np.shape(x)
    crop = [slice(None)] * len(shape)
    widths = [(0, 0)] * len(shape)
    for axis, size in zip(axes, sizes):
        if shape[axis] > size:
            crop[axis] = slice(0, size)
        elif shape[axis] < size:
            widths[axis] = (0, size - shape[axis])
    if any(c != slice(None) for c in crop):
        x = x[tuple(crop)]
    if any(w != (0, 0) for w in widths):
        x = np.pad(x, widths)
    return x


def _mirrored(g, n, axis, factor):
    """``g`` times ``factor`` at the bins of a half spectrum of length ``n`` (along
    ``axis``) that have a mirror image in the full one; bin 0 and (``n`` even) bin
    n/2 keep their value."""
    # Weights in g's precision, so that a complex64 cotangent stays complex64.
    weights = np.full(n // 2 + 1, factor, dtype=np.finfo(g.dtype).dtype)
    weights[0] = 1.0
    if n % 2 == 0:
        weights[-1] = 1.0
    ndim = np.ndim(g)
    axis = axis % ndim
    return g * np.reshape(weights, [-1 if i == axis else 1 for i in range(ndim)])


def _axes_and_sizes(shape, s, axes, last=None):
    """numpy's reading of ``s`` and ``axes`` (numpy.fft._cook_nd_args): the axes as
    non-negative ints and the transform length along each. ``last`` overrides the
    default length of the last axis (irfftn: 2 * (m - 1))."""
    ndim = len(shape)
    if axes is None:
        axes = range(ndim) if s is None else range(ndim - len(s), ndim)
    axes = [int(a) % ndim for a in axes]
    defaults = [shape[a] for a in axes]
    if last is not None and axes:
        defaults[-1] = last(defaults[-1])
    if s is None:
        return axes, defaults
    return axes, [d if n is None or n == -1 else int(n) for n, d in zip(s, defaults)]


FFT_DOMAIN = Domain(sample=samples.fft_1d)
FFTN_DOMAIN = Domain(sample=samples.fft_nd)


# -- complex to complex --------------------------------------------------------------


@primitive(numpy=np.fft.fft, domain=FFT_DOMAIN)
def fft(a, n=None, axis=-1, norm=None, out=None):
    return np.fft.fft(a, n, axis, norm)


@fft.defvjp
def _fft_vjp(g, ans, a, n=None, axis=-1, norm=None, out=None):
    back = np.fft.ifft(g, None, axis, _ADJOINT_NORM[norm])
    return (_fit(back, [axis], [np.shape(a)[axis]]),)


fft.deflinear()  # real-linear: its own JVP


@primitive(numpy=np.fft.ifft, domain=FFT_DOMAIN)
def ifft(a, n=None, axis=-1, norm=None, out=None):
    return np.fft.ifft(a, n, axis, norm)


@ifft.defvjp
def _ifft_vjp(g, ans, a, n=None, axis=-1, norm=None, out=None):
    back = np.fft.fft(g, None, axis, _ADJOINT_NORM[norm])
    return (_fit(back, [axis], [np.shape(a)[axis]]),)


ifft.deflinear()  # real-linear: its own JVP


@primitive(numpy=np.fft.fftn, domain=FFTN_DOMAIN)
def fftn(a, s=None, axes=None, norm=None, out=None):
    return np.fft.fftn(a, s, axes, norm)


@fftn.defvjp
def _fftn_vjp(g, ans, a, s=None, axes=None, norm=None, out=None):
    shape = np.shape(a)
    axes, _ = _axes_and_sizes(shape, s, axes)
    back = np.fft.ifftn(g, None, axes, _ADJOINT_NORM[norm])
    return (_fit(back, axes, [shape[i] for i in axes]),)


fftn.deflinear()  # real-linear: its own JVP


@primitive(numpy=np.fft.ifftn, domain=FFTN_DOMAIN)
def ifftn(a, s=None, axes=None, norm=None, out=None):
    return np.fft.ifftn(a, s, axes, norm)


@ifftn.defvjp
def _ifftn_vjp(g, ans, a, s=None, axes=None, norm=None, out=None):
    shape = np.shape(a)
    axes, _ = _axes_and_sizes(shape, s, axes)
    back = np.fft.fftn(g, None, axes, _ADJOINT_NORM[norm])
    return (_fit(back, axes, [shape[i] for i in axes]),)


ifftn.deflinear()  # real-linear: its own JVP


# -- real input, half spectrum out ---------------------------------------------------------


@primitive(numpy=np.fft.rfft, domain=FFT_DOMAIN)
def rfft(a, n=None, axis=-1, norm=None, out=None):
    return np.fft.rfft(a, n, axis, norm)


@rfft.defvjp
def _rfft_vjp(g, ans, a, n=None, axis=-1, norm=None, out=None):
    shape = np.shape(a)
    length = shape[axis] if n is None else n
    halved = _mirrored(g, length, axis, 0.5)
    back = np.fft.irfft(halved, length, axis, _ADJOINT_NORM[norm])
    return (_fit(back, [axis], [shape[axis]]),)


rfft.deflinear()  # real-linear: its own JVP


@primitive(numpy=np.fft.rfftn, domain=FFTN_DOMAIN)
def rfftn(a, s=None, axes=None, norm=None, out=None):
    return np.fft.rfftn(a, s, axes, norm)


@rfftn.defvjp
def _rfftn_vjp(g, ans, a, s=None, axes=None, norm=None, out=None):
    shape = np.shape(a)
    axes, sizes = _axes_and_sizes(shape, s, axes)
    halved = _mirrored(g, sizes[-1], axes[-1], 0.5)
    back = np.fft.irfftn(halved, sizes, axes, _ADJOINT_NORM[norm])
    return (_fit(back, axes, [shape[i] for i in axes]),)


rfftn.deflinear()  # real-linear: its own JVP


# -- half spectrum in, real output -------------------------------------------------------


@primitive(numpy=np.fft.irfft, domain=FFT_DOMAIN)
def irfft(a, n=None, axis=-1, norm=None, out=None):
    return np.fft.irfft(a, n, axis, norm)


@irfft.defvjp
def _irfft_vjp(g, ans, a, n=None, axis=-1, norm=None, out=None):
    shape = np.shape(a)
    length = np.shape(ans)[axis]
    doubled = _mirrored(np.fft.rfft(g, None, axis, _ADJOINT_NORM[norm]), length, axis, 2.0)
    return (_fit(doubled, [axis], [shape[axis]]),)


irfft.deflinear()  # real-linear: its own JVP


@primitive(numpy=np.fft.irfftn, domain=FFTN_DOMAIN)
def irfftn(a, s=None, axes=None, norm=None, out=None):
    return np.fft.irfftn(a, s, axes, norm)


@irfftn.defvjp
def _irfftn_vjp(g, ans, a, s=None, axes=None, norm=None, out=None):
    shape = np.shape(a)
    axes, _ = _axes_and_sizes(shape, s, axes)
    length = np.shape(ans)[axes[-1]]
    doubled = _mirrored(np.fft.rfftn(g, None, axes, _ADJOINT_NORM[norm]), length, axes[-1], 2.0)
    return (_fit(doubled, axes, [shape[i] for i in axes]),)


irfftn.deflinear()  # real-linear: its own JVP


# -- Hermitian: irfft and rfft of the conjugate, with the norms swapped (numpy's definition) --


@primitive(numpy=np.fft.hfft, domain=FFT_DOMAIN)
def hfft(a, n=None, axis=-1, norm=None, out=None):
    return np.fft.hfft(a, n, axis, norm)


@hfft.defvjp
def _hfft_vjp(g, ans, a, n=None, axis=-1, norm=None, out=None):
    # The adjoint of irfft with the swapped norm is rfft with the swapped norm's
    # adjoint norm, which is `norm` itself.
    shape = np.shape(a)
    length = np.shape(ans)[axis]
    doubled = _mirrored(np.fft.rfft(g, None, axis, norm), length, axis, 2.0)
    return (np.conjugate(_fit(doubled, [axis], [shape[axis]])),)


hfft.deflinear()  # real-linear: its own JVP


@primitive(numpy=np.fft.ihfft, domain=FFT_DOMAIN)
def ihfft(a, n=None, axis=-1, norm=None, out=None):
    return np.fft.ihfft(a, n, axis, norm)


@ihfft.defvjp
def _ihfft_vjp(g, ans, a, n=None, axis=-1, norm=None, out=None):
    shape = np.shape(a)
    length = shape[axis] if n is None else n
    halved = _mirrored(np.conjugate(g), length, axis, 0.5)
    back = np.fft.irfft(halved, length, axis, norm)
    return (_fit(back, [axis], [shape[axis]]),)


ihfft.deflinear()  # real-linear: its own JVP


# -- the 2-D spellings: the n-D transforms over the last two axes ----------------------------


@implements(np.fft.fft2)
def fft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    """``np.fft.fft2``: ``fftn`` over ``axes`` (the last two by default)."""
    return fftn(a, s, axes, norm)


@implements(np.fft.ifft2)
def ifft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    """``np.fft.ifft2``: ``ifftn`` over ``axes`` (the last two by default)."""
    return ifftn(a, s, axes, norm)


@implements(np.fft.rfft2)
def rfft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    """``np.fft.rfft2``: ``rfftn`` over ``axes`` (the last two by default)."""
    return rfftn(a, s, axes, norm)


@implements(np.fft.irfft2)
def irfft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    """``np.fft.irfft2``: ``irfftn`` over ``axes`` (the last two by default)."""
    return irfftn(a, s, axes, norm)


# -- shifts: permutations, each the other's inverse ---------------------------------------


@primitive(numpy=np.fft.fftshift, domain=Domain(sample=samples.shift))
def fftshift(x, axes=None):
    return np.fft.fftshift(x, axes)


@fftshift.defvjp
def _fftshift_vjp(g, ans, x, axes=None):
    return (np.fft.ifftshift(g, axes),)


fftshift.deflinear()  # real-linear: its own JVP


@primitive(numpy=np.fft.ifftshift, domain=Domain(sample=samples.shift))
def ifftshift(x, axes=None):
    return np.fft.ifftshift(x, axes)


@ifftshift.defvjp
def _ifftshift_vjp(g, ans, x, axes=None):
    return (np.fft.fftshift(g, axes),)


ifftshift.deflinear()  # real-linear: its own JVP


# -- sample frequencies: constants ----------------------------------------------------------


def fftfreq(n, d=1.0):
    """``np.fft.fftfreq``: a constant array (no gradient, also for a Tensor ``d``)."""
    return np.fft.fftfreq(n, unwrap(d))


def rfftfreq(n, d=1.0):
    """``np.fft.rfftfreq``: a constant array (no gradient, also for a Tensor ``d``)."""
    return np.fft.rfftfreq(n, unwrap(d))


__all__ = [
    "fft",
    "ifft",
    "rfft",
    "irfft",
    "hfft",
    "ihfft",
    "fft2",
    "ifft2",
    "fftn",
    "ifftn",
    "rfft2",
    "irfft2",
    "rfftn",
    "irfftn",
    "fftshift",
    "ifftshift",
    "fftfreq",
    "rfftfreq",
]
