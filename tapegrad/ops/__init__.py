"""Every primitive family; each module's ``__all__`` is part of ``tapegrad``'s namespace."""

from . import elementwise, index, linalg, nograd, reduce, shape, spectral, trig
from .elementwise import *  # noqa: F403
from .index import *  # noqa: F403
from .linalg import *  # noqa: F403
from .nograd import *  # noqa: F403
from .reduce import *  # noqa: F403
from .shape import *  # noqa: F403
from .spectral import *  # noqa: F403
from .trig import *  # noqa: F403

__all__ = [
    *elementwise.__all__,
    *index.__all__,
    *linalg.__all__,
    *nograd.__all__,
    *reduce.__all__,
    *shape.__all__,
    *spectral.__all__,
    *trig.__all__,
]
