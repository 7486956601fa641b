"""Every primitive family; each module's ``__all__`` is part of ``tapegrad``'s namespace."""

from . import (
    construct,
    decompositions,
    elementwise,
    fft,  # noqa: F401  (numpy.fft's names, reached as tg.fft.NAME)
    index,
    linalg,
    nograd,
    reduce,
    shape,
    signal,
    spectral,
    stats,
    trig,
)
from .construct import *  # noqa: F403
from .elementwise import *  # noqa: F403
from .index import *  # noqa: F403
from .linalg import *  # noqa: F403
from .nograd import *  # noqa: F403
from .reduce import *  # noqa: F403
from .shape import *  # noqa: F403
from .signal import *  # noqa: F403
from .spectral import *  # noqa: F403
from .stats import *  # noqa: F403
from .trig import *  # noqa: F403

__all__ = [
    *construct.__all__,
    *decompositions.__all__,  # numpy.linalg names: reached as tg.linalg.NAME
    *elementwise.__all__,
    *index.__all__,
    *linalg.__all__,
    *nograd.__all__,
    *reduce.__all__,
    *shape.__all__,
    *signal.__all__,
    *spectral.__all__,
    *stats.__all__,
    *trig.__all__,
]
