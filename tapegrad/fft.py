"""``tg.fft``: numpy.fft's names on Tensors.

``np.fft.rfft(t)`` and ``tg.fft.rfft(t)`` are the same call. The rules live
in ``tapegrad/ops/fft.py``; ``fftfreq`` and ``rfftfreq`` give constants.
"""

from .ops import fft as _family
from .ops.fft import *  # noqa: F403  (numpy.fft's names, defined once in ops/fft.py)

__all__ = list(_family.__all__)
