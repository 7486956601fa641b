"""Which ``tapegrad.scipy`` function to call instead of the scipy function on the stack.

scipy's Python functions convert their arguments with ``np.asarray``, which a
Tensor that requires grad refuses (``Tensor.__array__``). The refusal can
then say what to call instead: :func:`replacement` walks the stack from the
refusing frame outward and names the ``tapegrad.scipy`` twin of the
outermost scipy function it finds (the one the user called: ``expm``, not
the helper it called in turn). It only reads the stack: use it on an error
path, where its cost does not matter.
"""

import functools

import scipy.integrate
import scipy.linalg
import scipy.signal
import scipy.special
import scipy.stats

from . import integrate, linalg, signal, special, stats

_PAIRS = {
    "integrate": (scipy.integrate, integrate),
    "linalg": (scipy.linalg, linalg),
    "signal": (scipy.signal, signal),
    "special": (scipy.special, special),
}


def _codes(function, name):
    """The code objects of ``function`` and, through decorators, of the function it
    wraps, that bear its name: scipy's batching decorator gives every function it
    wraps the same wrapper code, which names none of them."""
    while function is not None:
        code = getattr(function, "__code__", None)
        if code is not None and code.co_name == name:
            yield code
        function = getattr(function, "__wrapped__", None)


@functools.cache
def _functions():
    """(code object -> ``tapegrad.scipy.MODULE.NAME`` for scipy's plain functions,
    the code objects of the decorators' wrappers around them)."""
    table, wrappers = {}, set()
    for module, (theirs, ours) in _PAIRS.items():
        for name in ours.__all__:
            function = getattr(theirs, name, None)
            for code in _codes(function, name):
                table[code] = f"tapegrad.scipy.{module}.{name}"
            if getattr(function, "__wrapped__", None) is not None:
                wrappers.add(function.__code__)
    return table, wrappers


def _wrapped(frame, functions):
    # A wrapper's frame holds the function it wraps (a closure variable), and it
    # may convert the arguments itself before calling it.
    for value in frame.f_locals.values():
        name = functions.get(getattr(value, "__code__", None))
        if name is not None:
            return name
    return None


@functools.cache
def _distribution_methods():
    """code object -> method name, for the methods of scipy.stats's distributions that
    tapegrad.scipy.stats has (one code object serves every distribution of a kind)."""
    table = {}
    for name in stats.__all__:
        theirs = getattr(scipy.stats, name, None)
        for method in dir(getattr(stats, name)):
            if method.startswith("_"):
                continue
            for code in _codes(getattr(type(theirs), method, None), method):
                table[code] = method
    return table


def _distribution(frame, method):
    owner = frame.f_locals.get("self")
    name = getattr(owner, "name", None) or type(owner).__name__.removesuffix("_gen")
    if hasattr(getattr(stats, name, None), method):
        return f"tapegrad.scipy.stats.{name}.{method}"
    return None


def replacement(frame):
    """``'tapegrad.scipy.linalg.expm'`` when ``frame`` runs inside ``scipy.linalg.expm``
    (or any scipy function with a ``tapegrad.scipy`` twin), else None."""
    (functions, wrappers), methods = _functions(), _distribution_methods()
    found = None
    while frame is not None:
        code = frame.f_code
        if code in functions:
            found = functions[code]
        elif code in wrappers:
            found = _wrapped(frame, functions) or found
        elif code in methods:
            found = _distribution(frame, methods[code]) or found
        frame = frame.f_back
    return found
