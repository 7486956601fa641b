"""The testing kit's one optional dependency: hypothesis (the ``test`` extra).

check_grads needs only numpy; the property tests (strategies, check_primitive,
primitive_test, ``python -m tapegrad check``) need hypothesis. Without it they
raise an ImportError of one line that names the extra.
"""

from __future__ import annotations

INSTALL = "pip install -e '.[test]' (or pip install hypothesis)"


def needs_hypothesis(what):
    """The ImportError for ``what`` (a dotted name or a command) when hypothesis is missing."""
    return ImportError(f"{what} needs hypothesis: {INSTALL}", name="hypothesis")


def hypothesis_is_missing(error):
    """True if ``error`` (an ImportError) says that hypothesis itself cannot be imported."""
    name = getattr(error, "name", None) or ""
    return name == "hypothesis" or name.startswith("hypothesis.")
