"""``import tapegrad.scipy as tsp``: scipy's differentiable functions on Tensors.

* :mod:`tapegrad.scipy.special`: rules for scipy.special's ufuncs, so that
  ``scipy.special.gammaln(t)`` records on the tape; plus the functions that
  are not ufuncs (``logsumexp``, ``softmax``, ``log_softmax``, ``polygamma``,
  ``multigammaln``), called as ``tsp.special.NAME``.
* :mod:`tapegrad.scipy.stats`: ``norm``, ``multivariate_normal``, ``t`` and
  other distributions' log densities, differentiable in the data and every
  parameter.
* :mod:`tapegrad.scipy.linalg`: ``solve_triangular``, ``cholesky``,
  ``cho_factor``/``cho_solve``, ``lu_factor``/``lu_solve``, ``solve`` (with
  ``assume_a``), ``solve_sylvester``, ``expm``, ``sqrtm``, ``logm``.
* :mod:`tapegrad.scipy.signal`: n-dimensional ``correlate`` and ``convolve``.
* :mod:`tapegrad.scipy.integrate`: ``odeint``, differentiated by the adjoint
  method.

scipy is an optional extra (``pip install -e ".[scipy]"``): ``import
tapegrad`` never imports it; this package does.
"""

try:
    import scipy  # noqa: F401
except ImportError as error:  # pragma: no cover - the test extra installs scipy
    raise ImportError(
        "tapegrad.scipy needs scipy, an optional extra: pip install 'tapegrad[scipy]'"
    ) from error

from . import integrate, linalg, signal, special, stats

__all__ = ["integrate", "linalg", "signal", "special", "stats"]
