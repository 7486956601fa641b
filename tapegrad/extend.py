"""Everything needed to add an op: the public surface for extending tapegrad.

>>> import numpy as np
>>> from tapegrad.extend import primitive
>>> @primitive
... def softplus(x):
...     return np.logaddexp(0.0, x)
>>> @softplus.defvjp
... def _(g, ans, x):
...     return (g / (1.0 + np.exp(-x)),)

``primitive`` registers a forward (see its doc for the options and the rule
contract), ``Domain`` says which inputs its tests draw, ``implements`` routes
numpy functions to a composite, ``nondifferentiable`` marks numpy functions
that never carry a gradient. ``tapegrad.testing.check_primitive`` proves the
rule right. The same names are at the top level (``tg.primitive``, ...).
"""

from .core.primitive import Primitive, implements, nondifferentiable, primitive, primitives
from .domain import Domain

__all__ = ["Domain", "Primitive", "implements", "nondifferentiable", "primitive", "primitives"]
