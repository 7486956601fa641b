"""Samples for tapegrad/ops/linalg.py (see tapegrad.ops.samples)."""

import numpy as np

# The einsum primitive takes explicit subscripts (the public einsum spells
# implicit ones out first); the implicit form each row stands for is noted.
_EINSUMS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ii->i", [(3, 3)]),
    ("ii->", [(3, 3)]),  # 'ii'
    ("ij->", [(2, 3)]),
    ("i,i->", [(3,), (3,)]),  # 'i,i'
    ("aij,jk->aik", [(2, 2, 3), (3, 2)]),  # '...ij,...jk'
    ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]),
    ("ba->ab", [(2, 3)]),  # 'ba'
    ("iij->j", [(2, 2, 3)]),
    ("i,j->ij", [(2,), (0,)]),
    (",i->i", [(), (3,)]),
]


def einsum(rng, dtype):
    """Products, traces, diagonals, sums, outer products, broadcast batches, size 0."""
    subscripts, shapes = _EINSUMS[int(rng.integers(len(_EINSUMS)))]
    operands = tuple(rng.standard_normal(s).astype(dtype) for s in shapes)
    return operands, {"subscripts": subscripts}


def einsum_reference(*operands, subscripts="", optimize=False):
    return np.einsum(subscripts, *operands)


def slogdet_reference(a):
    return np.linalg.slogdet(a)[1]
