"""Samples for tapegrad/ops/elementwise.py (see tapegrad.ops.samples)."""


def _random_shape(rng):
    return tuple(int(n) for n in rng.integers(0, 4, size=rng.integers(0, 3)))


def remainder(rng, dtype):
    """x / y at least 0.1 away from an integer (remainder jumps there)."""
    shape = _random_shape(rng)
    y = rng.uniform(0.5, 3.0, size=shape[-1:]) * rng.choice([-1.0, 1.0], size=shape[-1:])
    quotient = rng.integers(-3, 4, size=shape) + rng.uniform(0.1, 0.9, size=shape)
    return ((quotient * y).astype(dtype), y.astype(dtype)), {}


def where(rng, dtype):
    """A boolean condition, x of its shape and y broadcast along the last axis."""
    shape = _random_shape(rng)
    x = rng.standard_normal(shape).astype(dtype)
    y = rng.standard_normal(shape[-1:]).astype(dtype)
    return (rng.random(shape) > 0.5, x, y), {}
