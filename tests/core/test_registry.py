"""Every primitive tapegrad registers is property-tested from its Domain.

A new op is tested the moment it is registered: forward against numpy,
dtypes, no input mutation, first and second derivatives against finite
differences, float64 and float32, 0-d and size-0 shapes included. The seed is
fixed so CI sees the same examples on every run.
"""

import pytest

from tapegrad.testing import builtin_primitives, check_primitive

# Modules beyond `import tapegrad` (tapegrad.nn.functional, ...) are imported
# too; only a module that does not exist yet is passed over.
PRIMITIVES = builtin_primitives()
MAX_EXAMPLES = 25


def test_the_registry_holds_the_starter_primitives():
    assert {"add", "multiply", "exp", "sum", "matmul", "getitem"} <= set(PRIMITIVES)


@pytest.mark.parametrize("name", sorted(PRIMITIVES))
def test_primitive(name):
    check_primitive(PRIMITIVES[name], MAX_EXAMPLES, seed=0)


def test_every_builtin_primitive_declares_its_domain():
    # The default domain (real arrays of one shape) fits few ops: a built-in
    # must say where it is defined, so that no op escapes meaningful testing.
    assert [name for name, prim in PRIMITIVES.items() if prim.domain is None] == []
