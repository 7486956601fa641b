"""The public kit to prove gradients right: finite differences and property tests.

* :func:`check_grads` compares reverse-mode derivatives of any function with
  central finite differences, to first or second order.
* :func:`check_primitive` property-tests a primitive on examples drawn from
  its declared :class:`tapegrad.Domain`; :func:`primitive_test` turns that
  into a pytest test in one line: ``test_softplus = primitive_test(softplus)``.
* :mod:`tapegrad.testing.strategies` has the hypothesis strategies
  (arrays and tensors of a value kind, broadcastable shapes, axes, examples).
* ``python -m tapegrad check [MODULE ...]`` runs check_primitive on every
  registered primitive (see :mod:`tapegrad.testing.cli`).

Imports hypothesis (``import tapegrad`` alone does not).
"""

from . import strategies
from .gradcheck import check_grads
from .primitive_check import (
    PrimitiveCheckError,
    PrimitiveReport,
    builtin_primitives,
    check_primitive,
    describe,
    import_builtins,
    primitive_test,
)

__all__ = [
    "PrimitiveCheckError",
    "PrimitiveReport",
    "builtin_primitives",
    "check_grads",
    "check_primitive",
    "describe",
    "import_builtins",
    "primitive_test",
    "strategies",
]
