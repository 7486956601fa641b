"""scipy.signal on Tensors: n-dimensional correlation and convolution, every ``mode``.

One primitive, ``correlate`` (scipy's, so its values and its ``method``
are scipy's); its rule is two correlations of the zero-padded cotangent, so
it differentiates to any order. ``convolve`` is the correlation with ``in2``
flipped along every axis, which is how the two are related for real inputs.
scipy's own functions convert their arguments to arrays: call these
(``tsp.signal.NAME``) on Tensors.
"""

import numpy as np
import scipy.signal as ss

from ..core import primitive as _core
from ..domain import Domain
from ..ops.index import call_in_rule
from ..ops.samples import scipy_signal as samples

_MODES = ("full", "valid", "same")


def _start(n, m, mode):
    """Where ``mode``'s output starts, along one axis, inside the full correlation of
    lengths n (in1) and m (in2); scipy's 'same' is centred on in1."""
    if mode == "full":
        return 0
    if mode == "valid":
        return min(n, m) - 1
    return (m - 1) // 2


# The name tells it apart from numpy's 1-d correlate (tg.correlate).
@_core.primitive(name="correlate_nd", domain=Domain(sample=samples.correlate), real_only=True)
def correlate(in1, in2, mode="full", method="auto"):
    """``scipy.signal.correlate``: arrays of the same number of dimensions, ``mode``
    'full', 'valid' or 'same', any ``method`` (the values are scipy's)."""
    if mode not in _MODES:
        raise ValueError(
            f"tsp.signal.correlate: mode must be one of {_MODES}, got {mode!r} "
            f"(in1 shape {np.shape(in1)}, in2 shape {np.shape(in2)})"
        )
    return ss.correlate(in1, in2, mode=mode, method=method)


@correlate.defvjp
def _correlate_vjp(g, ans, in1, in2, mode="full", method="auto"):
    # full[k] = sum_j in1[j] in2[j - k + m - 1] per axis, and the output is a
    # window of full. With G the cotangent padded back to full's shape:
    # in1_bar = valid correlation of G with flip(in2), in2_bar = flip of the
    # valid correlation of G with in1. G is at least as large as both inputs
    # along every axis, so 'valid' never needs scipy's swap.
    widths = []
    for n, m, size in zip(np.shape(in1), np.shape(in2), np.shape(g)):
        start = _start(n, m, mode)
        widths.append((start, n + m - 1 - start - size))
    full = np.pad(g, widths) if widths and any(w != (0, 0) for w in widths) else g
    g1 = call_in_rule(correlate, full, np.flip(in2), mode="valid", method=method)
    g2 = np.flip(call_in_rule(correlate, full, in1, mode="valid", method=method))
    return g1, g2


@correlate.defjvp
def _correlate_jvp(tangents, ans, in1, in2, mode="full", method="auto"):
    # Bilinear: one correlation per input with a tangent.
    t1, t2 = tangents
    terms = []
    if t1 is not None:
        terms.append(call_in_rule(correlate, t1, in2, mode=mode, method=method))
    if t2 is not None:
        terms.append(call_in_rule(correlate, in1, t2, mode=mode, method=method))
    return terms[0] if len(terms) == 1 else terms[0] + terms[1]


def convolve(in1, in2, mode="full", method="auto"):
    """``scipy.signal.convolve``: ``correlate`` with ``in2`` flipped along every axis."""
    return correlate(in1, np.flip(in2), mode=mode, method=method)


__all__ = ["correlate", "convolve"]
