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

Imports hypothesis when it is installed (``import tapegrad`` alone does not).
check_grads needs only numpy; without hypothesis (``pip install -e '.[test]'``)
the property-test names raise an ImportError that says so.
"""

from importlib import import_module as _import_module

from . import _extra
from .gradcheck import check_grads

# The names that need hypothesis, and the submodule each comes from.
_PROPERTY_TESTS = {
    "strategies": "strategies",
    "PrimitiveCheckError": "primitive_check",
    "PrimitiveReport": "primitive_check",
    "builtin_primitives": "primitive_check",
    "check_primitive": "primitive_check",
    "describe": "primitive_check",
    "import_builtins": "primitive_check",
    "primitive_test": "primitive_check",
}

try:
    _import_module("hypothesis")
except ImportError:
    pass  # left to __getattr__: it names the extra (or re-raises any other error)
else:
    from . import strategies
    from .primitive_check import (
        PrimitiveCheckError,
        PrimitiveReport,
        builtin_primitives,
        check_primitive,
        describe,
        import_builtins,
        primitive_test,
    )


def __getattr__(name):
    # Reached only for a property-test name that hypothesis failed to import.
    module_name = _PROPERTY_TESTS.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = _import_module(f".{module_name}", __name__)
    except ImportError as error:
        if not _extra.hypothesis_is_missing(error):
            raise
        raise _extra.needs_hypothesis(f"{__name__}.{name}") from None
    value = module if name == module_name else getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_PROPERTY_TESTS))


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
