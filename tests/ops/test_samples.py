"""tapegrad/ops/samples/: the test data that the op families' Domains name.

Rule files hold registrations, forwards and rules; every sample hook and
numpy reference they name lives in the samples module of their family, and
every function there is named by some registration (no dead test data).
"""

import importlib
import inspect
import pkgutil

import numpy as np
import pytest

import tapegrad.ops.samples
from tapegrad.testing import builtin_primitives

PRIMITIVES = builtin_primitives()
# The family (rule module) each samples module serves.
FAMILY = {
    "nn": "tapegrad.nn.functional",
    "scipy_special": "tapegrad.scipy.special",
    "scipy_linalg": "tapegrad.scipy.linalg",
    "scipy_signal": "tapegrad.scipy.signal",
    "scipy_integrate": "tapegrad.scipy.integrate",
}
MODULES = [
    importlib.import_module(info.name)
    for info in pkgutil.iter_modules(tapegrad.ops.samples.__path__, "tapegrad.ops.samples.")
]


def _family(samples_module):
    short = samples_module.__name__.rsplit(".", 1)[-1]
    return FAMILY.get(short, f"tapegrad.ops.{short}")


def _hooks(prim):
    domain = prim.domain
    return [f for f in (domain.sample, domain.reference) if inspect.isfunction(f)]


def test_every_sample_hook_lives_in_the_samples_module_of_its_family():
    for prim in PRIMITIVES.values():
        for hook in _hooks(prim):
            if hook.__module__ == prim.__module__:
                continue  # the forward itself as the reference (eigh, svd)
            assert hook.__module__.startswith("tapegrad.ops.samples."), (prim.name, hook)
            assert _family(importlib.import_module(hook.__module__)) == prim.__module__


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_every_function_in_a_samples_module_is_named_by_a_registration(module):
    named = {hook for prim in PRIMITIVES.values() for hook in _hooks(prim)}
    public = [
        f
        for name, f in vars(module).items()
        if inspect.isfunction(f) and f.__module__ == module.__name__ and not name.startswith("_")
    ]
    assert public
    assert [f.__name__ for f in public if f not in named] == []


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sample_hooks_give_float_inputs_of_the_dtype_asked_for(dtype):
    for prim in PRIMITIVES.values():
        sample = prim.domain.sample
        if sample is None:
            continue
        for seed in range(5):
            args, kwargs = sample(np.random.default_rng(seed), np.dtype(dtype))
            assert isinstance(args, tuple) and isinstance(kwargs, dict)
            floats = [a for a in args if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
            assert floats and all(a.dtype == dtype for a in floats), prim.name
