"""check_grads: reverse-mode derivatives against central finite differences.

First order: the VJP ``J^T v`` for a fixed random cotangent ``v`` is compared
with central differences of the scalar ``<v, f(x)>``. Second order: the same
check runs on ``<w, J^T v>`` (``w`` random), whose gradient is the VJP of the
VJP and whose differences are differences of the VJP.

Differences are taken in float64 even for float32 inputs (the float32 point
is exactly representable in float64), so they measure the derivative of the
ideal function; only the analytic side carries float32 rounding, and the
tolerances are chosen for that. Small inputs are checked element by element;
larger ones along a few random directions ``<J^T v, u>`` (a handful of
evaluations, as fast gradcheck does), and on failure element by element to
find the worst entry.

With ``modes=("rev", "fwd")`` each order also checks forward mode: the JVP
``J t`` along a random tangent ``t`` against central differences of ``f``
along ``t``, and against reverse mode (``<v, J t> == <J^T v, t>``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..core.tensor import Tensor, as_array
from ..forward_mode import jvp
from ..transforms import vjp

# Inputs up to this many elements are checked element by element.
ELEMENTWISE_LIMIT = 64
# Random directions per input above that size.
PROJECTIONS = 3
# After a failed projection, inputs up to this size are searched for the worst element.
LOCALIZE_LIMIT = 4096
# (rtol, atol relative to the largest derivative) for the analytic side's dtype.
DEFAULT_TOLERANCES = {
    np.dtype(np.float16): (5e-2, 5e-3),
    np.dtype(np.float32): (1e-3, 1e-4),
    np.dtype(np.float64): (1e-5, 1e-6),
}
# Rounding in one evaluation of the projected output is taken as this many
# machine epsilons times the sum of the magnitudes of its terms.
NOISE_FACTOR = 16.0

# Derivative scale below which errors are reported as absolute ones.
RELATIVE_FLOOR = 1e-8

ORDER_NAMES = {1: "first-order derivative", 2: "second-order derivative (the VJP of the VJP)"}

MODES = ("rev", "fwd")


def check_grads(
    f,
    *args,
    order=1,
    eps=None,
    rtol=None,
    atol=None,
    seed=0,
    name=None,
    argnames=None,
    modes=("rev",),
    fwd_order=None,
):
    """Check the derivatives of ``f`` at ``args`` up to ``order`` against finite differences.

    ``f`` takes the arguments (arrays or Tensors; float and complex ones are
    differentiated, the others passed through) and returns a Tensor or array
    of any shape (entries that are not finite at ``args`` are left out). A
    complex argument is differenced in its real and imaginary directions and
    a complex output compared part by part (the convention of
    docs/conventions.md: ``z.grad = dL/dRe(z) + 1j dL/dIm(z)``).
    ``eps`` is the relative step (default 1e-7, scaled to each element's
    magnitude). ``rtol`` and ``atol`` default to values suited to the
    arguments' dtype (``atol`` then scales with the largest derivative); the
    estimated rounding noise of the differences is always allowed for.
    ``name`` and ``argnames`` (one label per argument) name them in the failure report.
    ``modes``: ``"rev"`` checks vector-Jacobian products (the default),
    ``"fwd"`` Jacobian-vector products ``J t`` along a random tangent (and,
    with both, the dot-product test ``<v, J t> == <J^T v, t>``); at order 2
    the JVP of the first-order VJP is checked (forward over reverse).
    ``fwd_order`` (default ``order``) is the highest order checked in
    forward mode (check_primitive uses 1: a JVP rule is first-order math).

    Raises AssertionError naming the argument, its shape and dtype, the worst
    element, analytic and numeric values, errors and tolerances. Returns
    ``{order: worst relative error}`` (largest absolute error over the largest
    numeric derivative) for reporting.
    """
    name = name or getattr(f, "__name__", "f")
    modes = (modes,) if isinstance(modes, str) else tuple(modes)
    if not modes or any(m not in MODES for m in modes):
        raise ValueError(f"check_grads({name}): modes={modes!r}; choose from {MODES}")
    values = [_value(a) for a in args]
    positions = [i for i, v in enumerate(values) if v.dtype.kind in "fc"]
    if not positions:
        raise TypeError(f"check_grads({name}): no floating point argument to differentiate")
    # Complex arguments and outputs are checked as pairs of reals (a last axis of
    # 2: real, imaginary part), so the differences run in the real and imaginary
    # directions, and z.grad = dL/dRe(z) + 1j dL/dIm(z) is what the pair gets.
    paired = {p for p in positions if values[p].dtype.kind == "c"}

    def fun(*xs):
        full = list(values)
        for p, x in zip(positions, xs):
            full[p] = x[..., 0] + x[..., 1] * 1j if p in paired else x
        out = f(*full)
        if _value(out).dtype.kind == "c":
            return np.stack([np.real(out), np.imag(out)], axis=-1)
        return out

    labels = [p if argnames is None else argnames[p] for p in positions]
    worst = {}
    xs = [_as_pair(values[p]) if p in paired else values[p] for p in positions]
    fwd_order = order if fwd_order is None else fwd_order
    _check(
        fun,
        xs,
        labels,
        order,
        1,
        eps,
        rtol,
        atol,
        seed,
        name,
        worst,
        modes=modes,
        fwd_order=fwd_order,
    )
    return worst


def error_text(error):
    """``Type: message``, plus any notes (the engine notes which VJP rule raised)."""
    notes = "".join(f"\n  {note}" for note in getattr(error, "__notes__", ()))
    return f"{type(error).__name__}: {error}{notes}"


def _value(arg):
    if isinstance(arg, Tensor):
        return arg._data
    return as_array(arg)


def _as_pair(z):
    return np.stack([z.real, z.imag], axis=-1)


@dataclasses.dataclass
class _Setting:
    """What one order's comparison needs besides the function and its inputs."""

    name: str
    k: int  # the derivative order being checked
    modes: tuple
    eps: float | None
    rtol: float | None
    atol: float | None
    rng: np.random.Generator
    floors: list  # per input: the smallest derivative scale errors are judged against

    @property
    def what(self):
        return ORDER_NAMES.get(self.k, f"order-{self.k} derivative")


def _check(
    fun,
    xs,
    labels,
    order,
    k,
    eps,
    rtol,
    atol,
    seed,
    name,
    worst,
    floors=None,
    modes=("rev",),
    fwd_order=1,
):
    """Check ``fun`` at order ``k``, then build the projected VJP and recurse."""
    rng = np.random.default_rng(seed)
    setting = _Setting(name, k, modes, eps, rtol, atol, rng, floors or [0.0] * len(xs))
    try:
        out, vjp_fn = vjp(fun, *xs)
    except AssertionError:
        raise
    except Exception as error:
        raise AssertionError(
            f"{name}: computing the {setting.what} failed: {error_text(error)}"
        ) from error
    out = _value(out)
    if out.dtype.kind != "f":
        raise TypeError(
            f"check_grads({name}): the function returns dtype {out.dtype}; only floating point "
            "outputs have derivatives"
        )
    cotangent = rng.standard_normal(out.shape).astype(out.dtype)
    # Entries that are not finite at this point (sqrt(x) * mask for x < 0)
    # have no derivative to check; a zero cotangent leaves them out of both sides.
    cotangent[~np.isfinite(out)] = 0
    try:
        analytic = vjp_fn(cotangent)
    except Exception as error:
        raise AssertionError(
            f"{name}: the backward pass for the {setting.what} raised {error_text(error)}"
        ) from error
    analytic = [_value(a) for a in analytic]
    _check_cotangent_types(name, k, xs, labels, analytic)

    projected = _Projected(fun, xs, cotangent)
    errors = []
    if "rev" in modes:
        errors = [
            _compare(projected, i, x, a, setting, label)
            for i, (x, a, label) in enumerate(zip(xs, analytic, labels))
        ]
    if "fwd" in modes and k <= fwd_order:
        errors.append(_check_forward(fun, xs, setting, cotangent, analytic))
    worst[k] = max([worst.get(k, 0.0), *errors])
    if k >= order:
        return

    weights = [rng.standard_normal(np.shape(x)).astype(x.dtype) for x in xs]

    def projected_vjp(*inner):
        # <w, J^T v> summed over the inputs: a scalar whose gradient is the
        # VJP of the VJP, so the next order reuses the same comparison.
        _, inner_vjp = vjp(fun, *inner)
        grads = inner_vjp(cotangent)
        total = 0.0
        for w, grad in zip(weights, grads):
            total = total + np.sum(grad * w)
        return total

    # The next derivative can be small where this one is not (tanh'' near
    # saturation); float32 rounding in it is still of the size this order's
    # scale divided by the input's size suggests, so that is its floor.
    first = max(_derivative_scale(projected, i, setting.floors[i]) for i in range(len(xs)))
    next_floors = [first / _typical(projected.xs[i]) for i in range(len(xs))]
    _check(
        projected_vjp,
        xs,
        labels,
        order,
        k + 1,
        eps,
        rtol,
        atol,
        seed + 1,
        name,
        worst,
        next_floors,
        modes,
        fwd_order,
    )


def _check_forward(fun, xs, setting, cotangent, analytic):
    """Compare the JVP along a random tangent with differences along it; returns the error."""
    what = f"forward-mode {setting.what} (the JVP J t along a random tangent t)"
    bases = [np.asarray(x, dtype=np.float64) for x in xs]
    tangents = [setting.rng.standard_normal(b.shape) * _steps(b, 1.0) for b in bases]
    try:
        _, t_out = jvp(fun, tuple(xs), tuple(t.astype(x.dtype) for t, x in zip(tangents, xs)))
    except Exception as error:
        raise AssertionError(
            f"{setting.name}: computing the {what} raised {error_text(error)}"
        ) from error
    t_out = _value(t_out)

    def along(h):
        return _value(fun(*[Tensor(b + h * t) for b, t in zip(bases, tangents)]))

    out = along(0.0)
    if t_out.shape != out.shape:
        raise AssertionError(
            f"{setting.name}: the {what} has shape {t_out.shape}; the output has {out.shape}"
        )
    dtype = max([t_out.dtype, *(x.dtype for x in xs)], key=lambda d: np.finfo(d).eps)
    # The differences are taken in float64 (as in reverse mode), so their
    # step suits float64 whatever the analytic side's dtype.
    eps = (1e-7 if out.dtype == np.float64 else 1e-3) if setting.eps is None else setting.eps
    numeric, noise = _directional(along, out, eps)
    finite = np.isfinite(out)
    got = t_out.astype(np.float64)
    scale = max(_finite_max(numeric[finite]), _finite_max(got[finite]))
    # As in reverse mode, a derivative that vanishes here (a second
    # derivative near saturation) is judged against the scale of the order
    # below: each input's floor times the size of its tangent.
    floor = sum(f * float(np.sum(np.abs(t))) for f, t in zip(setting.floors, tangents))
    # And, as reverse mode's implied scale, the size of derivative the
    # output's magnitude suggests (|f| / |x| per unit of tangent): float32
    # rounding in 1 - tanh(x)**2 near saturation is of that order.
    implied = _finite_max(out.astype(np.float64)) * sum(
        float(np.mean(np.abs(t))) / _typical(b) for b, t in zip(bases, tangents) if t.size
    )
    scale_for_tolerance = max(scale, floor / max(out.size, 1), implied, RELATIVE_FLOOR)
    rtol, atol = _tolerances(dtype, setting.rtol, setting.atol, scale_for_tolerance)
    error = np.where(finite, np.abs(got - numeric), 0.0)
    both_nan = np.isnan(got) & np.isnan(numeric)
    bad = finite & ~both_nan & ~(error <= atol + rtol * np.abs(numeric) + noise)
    if bad.any():  # rounding from cancellation inside f: see _compare_elements
        coarse, _ = _directional(along, out, 10 * eps)
        bad &= ~(error <= atol + rtol * np.abs(numeric) + noise + np.abs(coarse - numeric))
    if bad.any():
        worst = np.unravel_index(int(np.argmax(np.where(bad, error, -np.inf))), out.shape)
        index = tuple(int(j) for j in worst)
        raise AssertionError(
            f"{setting.name}: {what} disagrees with central finite differences along t\n"
            f"  worst output element {index}: analytic {float(got[worst])!r}, numeric "
            f"{float(numeric[worst])!r}\n"
            f"  max abs error {float(np.max(error[bad])):.3e}; tolerances: rtol={rtol:.1e}, "
            f"atol={atol:.1e}, plus finite-difference noise up to {float(np.max(noise)):.1e}"
        )
    if "rev" in setting.modes:
        _dot_product_test(setting, what, cotangent, t_out, analytic, tangents, dtype, atol)
    return _relative(error[finite & ~both_nan], scale_for_tolerance)


def _directional(along, out, eps):
    """Central differences of ``along(h)`` at 0, and their rounding noise, per element."""
    plus = along(eps).astype(np.float64)
    minus = along(-eps).astype(np.float64)
    magnitude = np.maximum(np.abs(out.astype(np.float64)), np.maximum(np.abs(plus), np.abs(minus)))
    machine = np.finfo(out.dtype if out.dtype.kind == "f" else np.float64).eps
    with np.errstate(invalid="ignore"):
        return (plus - minus) / (2 * eps), NOISE_FACTOR * machine * magnitude / eps


def _dot_product_test(setting, what, cotangent, t_out, analytic, tangents, dtype, atol):
    # <v, J t> and <J^T v, t> are the same number computed by the two modes;
    # atol (per output element) allows for rounding where both vanish.
    v = cotangent.astype(np.float64)
    jt = np.where(v == 0, 0.0, t_out.astype(np.float64))
    forward = float(np.sum(v * jt))
    reverse = sum(float(np.sum(a.astype(np.float64) * t)) for a, t in zip(analytic, tangents))
    size = float(np.sum(np.abs(v * jt))) + sum(
        float(np.sum(np.abs(a.astype(np.float64) * t))) for a, t in zip(analytic, tangents)
    )
    rtol = DEFAULT_TOLERANCES.get(np.dtype(dtype), (1e-5, 1e-6))[0]
    if not abs(forward - reverse) <= rtol * size + atol * float(np.sum(np.abs(v))):
        raise AssertionError(
            f"{setting.name}: the {what} and the reverse-mode derivative disagree: "
            f"<v, J t> = {forward!r} but <J^T v, t> = {reverse!r} (rtol={rtol:.1e})"
        )


def _check_cotangent_types(name, k, xs, labels, analytic):
    for x, a, label in zip(xs, analytic, labels):
        if a.shape != x.shape or a.dtype != x.dtype:
            raise AssertionError(
                f"{name}: the {ORDER_NAMES.get(k, 'derivative')} with respect to argument "
                f"{label} has shape {a.shape} and dtype {a.dtype}; the argument has shape "
                f"{x.shape} and dtype {x.dtype}"
            )


class _Projected:
    """``x -> <v, fun(x)>`` evaluated in float64, with the size of its rounding noise."""

    def __init__(self, fun, xs, cotangent):
        self.fun = fun
        self.xs = [np.asarray(x, dtype=np.float64) for x in xs]
        self.cotangent = cotangent.astype(np.float64)
        _, self.magnitude, self.out_dtype = self.at(0, self.xs[0])

    def at(self, i, x_i):
        """(value, sum of |terms|, output dtype) with input ``i`` replaced by ``x_i``."""
        xs = list(self.xs)
        xs[i] = x_i
        out = _value(self.fun(*[Tensor(x) for x in xs]))
        terms = np.where(self.cotangent == 0, 0.0, self.cotangent * out.astype(np.float64))
        return float(np.sum(terms)), float(np.sum(np.abs(terms))), out.dtype

    def difference(self, i, plus, minus):
        f_plus, m_plus, _ = self.at(i, plus)
        f_minus, m_minus, _ = self.at(i, minus)
        return f_plus - f_minus, max(self.magnitude, m_plus, m_minus)

    def noise(self, magnitude):
        machine = np.finfo(self.out_dtype if self.out_dtype.kind == "f" else np.float64).eps
        return NOISE_FACTOR * machine * magnitude


def _default_eps(projected):
    # Central differences: the best step is about cbrt(machine epsilon).
    return 1e-7 if projected.out_dtype == np.float64 else 1e-3


def _tolerances(dtype, rtol, atol, scale):
    default_rtol, relative_atol = DEFAULT_TOLERANCES.get(np.dtype(dtype), (1e-5, 1e-6))
    rtol = default_rtol if rtol is None else rtol
    atol = relative_atol * scale if atol is None else atol
    return rtol, atol


def _steps(x, eps):
    """Per-element steps scaled to the magnitude of each element and of the array."""
    magnitude = np.abs(x)
    typical = float(np.mean(magnitude)) if x.size else 1.0
    scale = np.maximum(magnitude, typical)
    scale = np.where((scale > 1e-30) & np.isfinite(scale), scale, 1.0)
    return eps * scale


def _compare(projected, i, x, analytic, setting, label):
    """Compare one input's analytic derivative with differences; returns the relative error."""
    if x.size == 0:
        return 0.0
    got = analytic.astype(np.float64)
    if x.size <= ELEMENTWISE_LIMIT:
        return _compare_elements(projected, i, x, got, setting, label)
    return _compare_projections(projected, i, x, got, setting, label)


def _numeric_elements(projected, i, eps, indices=None):
    base = projected.xs[i]
    steps = _steps(base, eps)
    numeric = np.zeros(base.shape)
    noise = np.zeros(base.shape)
    for index in np.ndindex(base.shape) if indices is None else indices:
        plus, minus = base.copy(), base.copy()
        plus[index] += steps[index]
        minus[index] -= steps[index]
        width = plus[index] - minus[index]  # the step actually taken, after rounding
        delta, magnitude = projected.difference(i, plus, minus)
        numeric[index] = delta / width
        noise[index] = projected.noise(magnitude) / width
    return numeric, noise


def _typical(x):
    typical = float(np.mean(np.abs(x))) if x.size else 1.0
    return typical if typical > 1e-30 and np.isfinite(typical) else 1.0


def _derivative_scale(projected, i, largest):
    """The size of derivative that matters: the largest one, or the average size
    implied by the magnitude of the projected output (when all derivatives
    vanish, rounding in the analytic side is judged against that)."""
    x = projected.xs[i]
    implied = projected.magnitude / (_typical(x) * max(x.size, 1))
    return max(largest, implied if np.isfinite(implied) else 0.0)


def _eps(projected, setting):
    return _default_eps(projected) if setting.eps is None else setting.eps


def _compare_elements(projected, i, x, got, setting, label):
    eps = _eps(projected, setting)
    numeric, noise = _numeric_elements(projected, i, eps)
    scale = _derivative_scale(projected, i, max(_finite_max(numeric), setting.floors[i]))
    rtol, atol = _tolerances(x.dtype, setting.rtol, setting.atol, scale)
    error = np.abs(got - numeric)
    bound = atol + rtol * np.abs(numeric) + noise
    both_nan = np.isnan(got) & np.isnan(numeric)
    bad = ~(error <= bound) & ~both_nan
    if bad.any():
        # Cancellation inside the function (1 - tanh(x)**2 near saturation)
        # makes rounding noise larger than the estimate from the output's
        # size. Differences with a 10x larger step expose it: where the two
        # estimates disagree, that disagreement is allowed for. A wrong rule
        # is wrong at every step, so it still fails.
        indices = [index for index in np.ndindex(bad.shape) if bad[index]]
        coarse, _ = _numeric_elements(projected, i, 10 * eps, indices)
        spread = np.where(bad, np.abs(coarse - numeric), 0.0)
        bad &= ~(error <= bound + spread)
    relative = _relative(error[~both_nan], scale)
    if bad.any():
        excess = np.where(bad, np.nan_to_num(error - bound, nan=np.inf), -np.inf)
        worst = np.unravel_index(int(np.argmax(excess)), x.shape)
        raise AssertionError(
            _report(setting, label, x, worst, got, numeric, error, scale, rtol, atol, noise)
        )
    return relative


def _compare_projections(projected, i, x, got, setting, label):
    eps = _eps(projected, setting)
    base = projected.xs[i]
    scale = _steps(base, 1.0)
    scale_used = _derivative_scale(projected, i, max(_finite_max(got), setting.floors[i]))
    rtol, atol = _tolerances(x.dtype, setting.rtol, setting.atol, scale_used)
    analytic_dirs, numeric_dirs, bounds = [], [], []
    for _ in range(PROJECTIONS):
        u = setting.rng.standard_normal(base.shape) * scale
        delta, magnitude = projected.difference(i, base + eps * u, base - eps * u)
        numeric_dirs.append(delta / (2 * eps))
        analytic_dirs.append(float(np.sum(got * u)))
        bounds.append(
            atol * float(np.sum(np.abs(u)))
            + rtol * (abs(numeric_dirs[-1]) + float(np.sum(np.abs(got * u))))
            + projected.noise(magnitude) / eps
        )
    analytic_dirs, numeric_dirs = np.array(analytic_dirs), np.array(numeric_dirs)
    error = np.abs(analytic_dirs - numeric_dirs)
    if np.all(error <= np.array(bounds)):
        typical_direction = scale_used * float(np.sum(scale)) / np.sqrt(base.size)
        return _relative(error, max(_finite_max(numeric_dirs), typical_direction))
    if x.size <= LOCALIZE_LIMIT:
        # Find the element at fault; this raises unless the elementwise check passes.
        _compare_elements(projected, i, x, got, setting, label)
    raise AssertionError(
        f"{setting.name}: {setting.what} with respect to argument {label} "
        f"(shape {x.shape}, dtype {x.dtype}) disagrees with central finite differences "
        f"along random directions u\n"
        f"  analytic <grad, u>: {analytic_dirs.tolist()}\n"
        f"  numeric  <grad, u>: {numeric_dirs.tolist()}\n"
        f"  max abs error {error.max():.3e}; bounds {[f'{b:.3e}' for b in bounds]} "
        f"(rtol={rtol:.1e}, atol={atol:.1e} per unit of |u|)"
    )


def _finite_max(a):
    finite = np.abs(a[np.isfinite(a)])
    return float(finite.max()) if finite.size else 0.0


def _relative(error, scale):
    """Largest error over the derivative scale: the figure reports and tables show.

    Where every derivative vanishes (x**3 at 0) the differences still carry
    truncation error; the floor keeps that from reading as a 100% error.
    """
    if error.size == 0:
        return 0.0
    largest = float(np.max(error)) if np.all(np.isfinite(error)) else np.inf
    if largest == 0.0:
        return 0.0
    return largest / max(scale, RELATIVE_FLOOR)


def _report(setting, label, x, worst, got, numeric, error, scale, rtol, atol, noise):
    index = tuple(int(j) for j in worst)
    a, n = got[worst], numeric[worst]
    element_relative = abs(a - n) / abs(n) if n != 0 else np.inf
    finite = error[np.isfinite(error)]
    max_abs = float(finite.max()) if finite.size == error.size else np.inf
    hint = ""
    if setting.k >= 2 and not np.any(got):
        hint = (
            "\n  the analytic derivative is exactly zero: does the VJP rule leave the tape "
            "(np.asarray, .copy(), in-place writes, a raw-ndarray-only call)?"
        )
    return (
        f"{setting.name}: {setting.what} with respect to argument {label} "
        f"(shape {x.shape}, dtype {x.dtype}) disagrees with central finite differences\n"
        f"  (values are vector-Jacobian products with a fixed random cotangent)\n"
        f"  worst element {index}: analytic {float(a)!r}, numeric {float(n)!r} "
        f"(relative error {element_relative:.3e})\n"
        f"  max abs error {max_abs:.3e}; max error relative to the largest derivative "
        f"({scale:.3e}): {_relative(error, scale):.3e}\n"
        f"  tolerances: rtol={rtol:.1e}, atol={atol:.1e}, plus finite-difference noise up to "
        f"{float(np.max(noise)):.1e}{hint}"
    )
