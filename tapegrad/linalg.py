"""``tg.linalg``: numpy.linalg's names on Tensors (filled in by the op-set issue)."""
