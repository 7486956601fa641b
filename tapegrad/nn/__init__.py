"""Neural networks: the seed's layers on ndarrays (``layers``), as primitives
(``functional``), a fully connected net (``models``) and a training loop (``train``)."""

# The engine first: tapegrad/__init__ may import nn before ops.
from .. import ops as _ops  # noqa: F401
from . import functional, layers, models, train
from .models import FullyConnectedNet
from .train import Solver

__all__ = ["layers", "functional", "models", "train", "FullyConnectedNet", "Solver"]
