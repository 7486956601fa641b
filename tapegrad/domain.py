"""The inputs a primitive accepts, declared next to it and read by tapegrad.testing.

A domain is plain data (this module must not import hypothesis): the testing
kit turns it into hypothesis strategies. Two ways to declare one:

* the vocabulary: one value kind per positional input, a shape family, and
  options for keyword arguments::

      Domain(("real", "positive"), shapes="broadcast")
      Domain(("real",), shapes="reduce", kwargs={"keepdims": (False, True)})

* an escape hatch for inputs the vocabulary cannot say (einsum subscripts,
  index tuples, pad widths): ``sample(rng, dtype) -> (args, kwargs)`` where
  ``rng`` is a ``numpy.random.Generator``. Float arrays in ``args`` (at
  positions not in the primitive's ``nondiff``) are the differentiated inputs.
  Prefer the vocabulary where it can say the inputs: hypothesis shrinks what
  it draws, not what a seeded hook draws. tapegrad's own hooks live in
  ``tapegrad/ops/samples/``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

# Value kinds, one per positional input.
VALUE_KINDS = {
    "real": "any finite real, magnitude up to ~10",
    "positive": "strictly positive, away from 0 (>= 0.1)",
    "nonzero": "magnitude >= 0.1",
    "unit": "inside (-1, 1), away from the ends (|x| <= 0.9)",
    "above1": "greater than 1, away from it (>= 1.1)",
    "kinkfree": "real, at least 0.1 away from 0 (kinks of abs, relu, sign)",
    "distinct": "real, pairwise at least 0.1 apart (no ties for max, sort, clip)",
    "withzeros": "in [-1.5, 1.5], about one in five exactly 0 (factors of prod, cumprod)",
    "spd": "symmetric positive definite matrices (...., n, n)",
    "wellcond": "square matrices with condition number below ~10 (..., n, n)",
    "index": "an integer array, valid indices into the first input",
    "any": "a non-float argument given by the sample hook or kwargs",
}

# Shape families.
SHAPE_FAMILIES = {
    "same": "all inputs share one shape (0-d and size-0 included)",
    "broadcast": "shapes that broadcast together, as numpy's elementwise ops take",
    "reduce": "one array of ndim 0-3; kwargs draw `axis` (None, int, negative, tuple)",
    "scan": "one array of ndim 0-3; kwargs draw `axis` (None or one int, maybe negative)",
    "matmul": "two operands matmul accepts: 1-D, 2-D and batched",
    "square": "one or more (..., n, n) matrices with the same leading shape",
}


@dataclass(frozen=True)
class Domain:
    """Where a primitive is tested: the inputs it accepts and their shapes.

    ``inputs``: one value kind per positional input (see ``VALUE_KINDS``).
    ``shapes``: a shape family (see ``SHAPE_FAMILIES``).
    ``kwargs``: keyword argument -> tuple of values to draw from; for
    ``shapes="reduce"`` and ``"scan"`` an ``axis`` entry is drawn to fit the
    array unless given here.
    ``sample``: the escape hatch, ``sample(rng, dtype) -> (args, kwargs)``.
    ``order``: the highest derivative order that is defined and checked.
    ``reference``: a numpy function the forward must agree with (defaults to
    the primitive's registered numpy function, if any).
    ``dtypes``: float dtypes the primitive takes.
    ``rtol``, ``atol``: extra tolerance for ill-conditioned finite differences.
    """

    inputs: tuple[str, ...] = ()
    shapes: str = "same"
    kwargs: Mapping[str, tuple] = field(default_factory=dict)
    sample: Callable | None = None
    order: int = 2
    reference: Callable | None = None
    dtypes: tuple[str, ...] = ("float64", "float32")
    rtol: float | None = None
    atol: float | None = None

    def __post_init__(self):
        for kind in self.inputs:
            if kind not in VALUE_KINDS:
                raise ValueError(
                    f"unknown value kind {kind!r} in Domain; known: {sorted(VALUE_KINDS)}"
                )
        if self.shapes not in SHAPE_FAMILIES:
            raise ValueError(
                f"unknown shape family {self.shapes!r} in Domain; known: {sorted(SHAPE_FAMILIES)}"
            )
        if not self.inputs and self.sample is None:
            raise ValueError("a Domain needs `inputs` (value kinds) or a `sample` function")
