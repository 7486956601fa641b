"""tapegrad: reverse-mode automatic differentiation for NumPy code.

>>> import numpy as np, tapegrad as tg
>>> x = tg.tensor([1.0, 2.0], requires_grad=True)
>>> tg.sum(x * x).backward()
>>> x.grad
array([2., 4.])
"""

from . import ops
from .tensor import Tensor, tensor  # binds the operators and methods to the ops

# isort: split
from . import extend, fft, linalg, nn, optim
from .compile import CompileError, compile  # noqa: A004  (tg.compile)
from .core.tape import detect_anomaly, enable_grad, is_grad_enabled, no_grad, trace_origins
from .debug import graph
from .extend import Domain, Primitive, implements, nondifferentiable, primitive, primitives
from .forward_mode import jvp, linearize
from .jacobians import hessian, hvp, jacfwd, jacobian, jacrev
from .ops import *  # noqa: F403  (numpy names at top level: tg.exp, tg.sum, ...)
from .remat import checkpoint
from .transforms import grad, stop_gradient, value_and_grad, vjp
from .tree import register_pytree_node, tree_flatten, tree_leaves, tree_map, tree_unflatten

__version__ = "0.1.0"


def __getattr__(name):
    # tapegrad.testing imports hypothesis; load it only when asked for.
    if name == "testing":
        import importlib

        return importlib.import_module(".testing", __name__)
    raise AttributeError(f"module 'tapegrad' has no attribute {name!r}")


__all__ = [
    "extend",
    "fft",
    "linalg",
    "nn",
    "optim",
    "Tensor",
    "tensor",
    "grad",
    "value_and_grad",
    "vjp",
    "jvp",
    "linearize",
    "jacrev",
    "jacfwd",
    "jacobian",
    "hessian",
    "hvp",
    "stop_gradient",
    "checkpoint",
    "compile",
    "CompileError",
    "tree_flatten",
    "tree_unflatten",
    "tree_map",
    "tree_leaves",
    "register_pytree_node",
    "primitive",
    "primitives",
    "Primitive",
    "Domain",
    "implements",
    "nondifferentiable",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
    "trace_origins",
    "graph",
    "detect_anomaly",
    *ops.__all__,
]
