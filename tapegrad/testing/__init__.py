"""The public kit to prove gradients right: finite differences and property tests.

Imports hypothesis (``import tapegrad`` alone does not).
"""

from .gradcheck import check_grads

__all__ = ["check_grads"]
