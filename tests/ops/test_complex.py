"""Complex numbers, PyTorch's convention: for a real loss L, z.grad == dL/dRe(z) + 1j dL/dIm(z).

Closed forms first (d|z|^2 = 2z, d Re(z^2) = 2 conj(z), ...), then every op
numpy defines on complex inputs against central finite differences in the
real and imaginary directions (check_grads pairs each complex argument's
real and imaginary parts), to second order; the engine's side (real inputs
keep the real part, dtype pairing, errors for complex losses); and the
testing kit catching a rule that forgets the conjugate.
"""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.core.primitive import Primitive
from tapegrad.testing import check_grads

RNG = np.random.default_rng(12)


def cplx(*shape, dtype=np.complex128):
    return (RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)).astype(dtype)


def real(*shape):
    return RNG.standard_normal(shape)


# -- the convention, in closed form --------------------------------------------------------


def test_the_gradient_of_abs_squared_is_2z():
    z = tg.tensor(np.array([1 + 2j, -0.5 + 0.25j, 3j]), requires_grad=True)
    tg.sum(tg.abs(z) ** 2).backward()
    np.testing.assert_allclose(z.grad, 2 * z.data, rtol=1e-15)
    assert z.grad.dtype == np.complex128


def test_closed_forms_of_the_parts_and_of_holomorphic_functions():
    z = cplx(4)
    cases = [
        (lambda t: tg.sum(tg.real(t * t)), 2 * np.conj(z)),  # Re(z^2) = x^2 - y^2
        (lambda t: tg.sum(tg.imag(t * t)), 2j * np.conj(z)),  # Im(z^2) = 2xy
        (lambda t: tg.sum(tg.real(t)), np.ones(4) + 0j),
        (lambda t: tg.sum(tg.imag(t)), 1j * np.ones(4)),
        (lambda t: tg.sum(tg.imag(tg.conj(t))), -1j * np.ones(4)),
        (lambda t: tg.sum(tg.angle(t)), 1j / np.conj(z)),
        (lambda t: tg.sum(tg.abs(t)), z / np.abs(z)),
        (lambda t: tg.sum(tg.real(tg.exp(t))), np.conj(np.exp(z))),
        (lambda t: tg.sum(tg.abs(tg.exp(t)) ** 2), 2 * np.exp(2 * z.real) + 0j),
    ]
    for f, expected in cases:
        np.testing.assert_allclose(tg.grad(f)(z), expected, rtol=1e-13, atol=1e-15)


def test_abs_and_angle_at_zero_have_gradient_zero():
    z = np.array([0j, 1 + 1j])
    np.testing.assert_array_equal(tg.grad(lambda t: tg.sum(tg.abs(t)))(z)[0], 0)
    np.testing.assert_array_equal(tg.grad(lambda t: tg.sum(tg.angle(t)))(z)[0], 0)


def test_a_real_input_gets_the_real_part_of_its_complex_cotangent():
    # L = Re(w conj(x c)) for real x: dL/dx = Re(w conj(c)).
    c, w = cplx(3), cplx(3)
    x = real(3)
    grad = tg.grad(lambda t: tg.sum(tg.real(t * c * np.conj(w))))(x)
    np.testing.assert_allclose(grad, np.real(c * np.conj(w)), rtol=1e-14)
    assert grad.dtype == np.float64
    # numpy's promotion mixes them: a real Tensor times a complex one is complex.
    both = tg.grad(lambda a, b: tg.sum(tg.abs(a * b) ** 2), argnums=(0, 1))(x, c)
    np.testing.assert_allclose(both[0], 2 * x * np.abs(c) ** 2, rtol=1e-13)
    np.testing.assert_allclose(both[1], 2 * x**2 * c, rtol=1e-13)


def test_float32_pairs_with_complex64():
    z = tg.tensor(cplx(3, dtype=np.complex64), requires_grad=True)
    x = tg.tensor(real(3).astype(np.float32), requires_grad=True)
    loss = tg.sum(tg.abs(z * x) ** 2)
    assert loss.dtype == np.float32
    loss.backward()
    assert z.grad.dtype == np.complex64 and x.grad.dtype == np.float32
    np.testing.assert_allclose(z.grad, 2 * z.data * x.data**2, rtol=1e-5)


def test_a_complex_leaf_can_require_grad_and_an_integer_one_cannot():
    assert tg.tensor(np.array([1j]), requires_grad=True).requires_grad
    with pytest.raises(TypeError, match="floating point and complex"):
        tg.tensor(np.array([1]), requires_grad=True)


# -- complex outputs: a real scalar loss is needed ------------------------------------------


def test_grad_of_a_complex_output_raises_naming_the_way_out():
    with pytest.raises(TypeError, match=r"complex value.*real scalar"):
        tg.grad(lambda t: tg.sum(t * t))(cplx(2))


def test_backward_of_a_complex_output_needs_a_gradient():
    z = tg.tensor(cplx(2), requires_grad=True)
    with pytest.raises(TypeError, match=r"complex output.*real scalar loss"):
        tg.sum(z * z).backward()
    w = cplx(2)
    (z * 3.0).backward(gradient=w)
    np.testing.assert_allclose(z.grad, 3.0 * w)  # g * conj(3)
    y = tg.tensor(real(2), requires_grad=True)
    with pytest.raises(TypeError, match="grad must be floating point"):
        (y * 2.0).backward(gradient=w)


def test_vjp_with_a_complex_cotangent_follows_the_convention():
    c, g = cplx(3), cplx(3)
    _, vjp_fn = tg.vjp(lambda t: t * c, cplx(3))
    (grad,) = vjp_fn(g)
    np.testing.assert_allclose(grad, g * np.conj(c), rtol=1e-15)
    # A real input of a complex output keeps the real part of that.
    _, vjp_fn = tg.vjp(lambda t: t * c, real(3))
    np.testing.assert_allclose(vjp_fn(g)[0], np.real(g * np.conj(c)), rtol=1e-15)


def test_an_optimizer_fits_a_complex_parameter_unchanged():
    target = cplx(3)
    z = tg.tensor(np.zeros(3, dtype=complex), requires_grad=True)
    optimizer = tg.optim.SGD([z], learning_rate=0.25)
    for _ in range(50):
        optimizer.zero_grad()
        tg.sum(tg.abs(z - target) ** 2).backward()
        optimizer.step()
    np.testing.assert_allclose(z.data, target, rtol=1e-10)


# -- every op numpy defines on complex inputs, against finite differences --------------------

UNARY = [
    np.exp, np.log, np.sqrt, np.reciprocal, np.square, np.negative, np.positive,
    np.conjugate, np.real, np.imag, np.abs, np.angle, np.expm1, np.log1p, np.log2,
    np.log10, np.exp2, np.sin, np.cos, np.tan, np.arcsin, np.arccos, np.arctan,
    np.sinh, np.cosh, np.tanh, np.arcsinh, np.arccosh, np.arctanh, np.sinc,
]  # fmt: skip


@pytest.mark.parametrize("fun", UNARY, ids=lambda f: f.__name__)
def test_unary_ops_to_second_order(fun):
    z = cplx(2, 3)
    check_grads(lambda t: fun(t), z, order=2)
    # A complex-valued op of a complex value, taken to a real loss inside check_grads too.
    check_grads(lambda t: tg.abs(fun(t)) ** 2, z, order=2)


def test_arccosh_follows_numpys_branch_in_the_left_half_plane():
    # d/dz arccosh z = 1 / (sqrt(z - 1) sqrt(z + 1)); 1 / sqrt(z^2 - 1) has the other sign here.
    z = np.array([-2.0 + 0.5j, -0.5 - 1.5j])
    check_grads(np.arccosh, z, order=2)


@pytest.mark.parametrize(
    "fun", [np.add, np.subtract, np.multiply, np.divide, np.power], ids=lambda f: f.__name__
)
def test_binary_ops_complex_and_mixed_with_real(fun):
    z, w = cplx(2, 3), cplx(3)
    positive = np.abs(real(2, 3)) + 0.5
    check_grads(fun, z, w, order=2)
    check_grads(fun, z, positive, order=2)
    check_grads(fun, positive, w, order=2)
    check_grads(lambda t: fun(t, 2.5), z, order=2)
    check_grads(lambda t: fun(1.5 - 0.5j, t), z, order=2)


def test_integer_and_fractional_powers_and_operators():
    z = cplx(4)
    check_grads(lambda t: t**2 * t**3.5 - 1j * t / (2 + t * t), z, order=2)


@pytest.mark.parametrize(
    "reduction",
    [
        np.sum,
        np.mean,
        np.prod,
        np.cumsum,
        np.cumprod,
        np.var,
        np.std,
        lambda t: np.sum(t, axis=0),
        lambda t: np.prod(t, axis=1, keepdims=True),
        lambda t: np.cumprod(t, axis=0),
    ],
)
def test_reductions(reduction):
    check_grads(reduction, cplx(3, 2), order=2)


def test_prod_and_cumprod_with_a_zero_factor():
    z = cplx(3, 2)
    z[1, 0] = 0
    check_grads(lambda t: np.prod(t, axis=0), z, order=2)
    check_grads(lambda t: np.cumprod(t, axis=0), z, order=1)


SHAPE_AND_INDEX = [
    lambda t: t[[0, 2, 2], 1:],
    lambda t: t.T @ t,
    lambda t: np.reshape(t, (2, 6)),
    lambda t: np.transpose(np.stack([t, 2 * t]), (2, 0, 1)),
    lambda t: np.concatenate([t, t[:1]]),
    lambda t: np.where(np.arange(4)[None, :] > 1, t, -t),
    lambda t: np.pad(t, 1),
    lambda t: np.flip(np.roll(t, 1, axis=1), 0),
    lambda t: np.broadcast_to(t[:, :1], (3, 4)) * t,
    lambda t: np.diagonal(t) + np.trace(t[:, :3]),
    lambda t: t.astype(np.complex128) * np.conj(t),
]


@pytest.mark.parametrize("fun", SHAPE_AND_INDEX, ids=range(len(SHAPE_AND_INDEX)))
def test_shape_and_indexing_ops(fun):
    check_grads(fun, cplx(3, 4), order=2)


def test_setitem_of_complex_values():
    def f(t, v):
        out = t * 1.0
        out[1] = v
        return out

    check_grads(f, cplx(3, 2), cplx(2), order=2)


def wellcond(n):
    return cplx(n, n) + 3 * np.eye(n)


LINALG = [
    ("matmul", lambda a, b: a @ b, lambda: (wellcond(3), cplx(3, 2))),
    ("matvec", lambda a, b: a @ b, lambda: (wellcond(3), cplx(3))),
    ("vecvec", lambda a, b: a @ b, lambda: (cplx(3), cplx(3))),
    ("batched", lambda a, b: np.matmul(a, b), lambda: (cplx(2, 2, 3), cplx(3, 2))),
    ("real @ complex", lambda a, b: a @ b, lambda: (real(2, 3), cplx(3, 2))),
    ("dot", np.dot, lambda: (cplx(2, 3), cplx(3, 2))),
    ("vdot", np.vdot, lambda: (cplx(2, 2), cplx(2, 2))),
    ("vecdot", np.vecdot, lambda: (cplx(2, 3), cplx(3))),
    ("linalg.vecdot", np.linalg.vecdot, lambda: (cplx(2, 3), real(2, 3))),
    ("inner", np.inner, lambda: (cplx(2, 3), cplx(3))),
    ("outer", np.outer, lambda: (cplx(2), cplx(3))),
    ("tensordot", lambda a, b: np.tensordot(a, b, 1), lambda: (cplx(2, 3), cplx(3, 2))),
    ("einsum", lambda a, b: np.einsum("ij,jk->ik", a, b), lambda: (cplx(2, 3), cplx(3, 2))),
    ("einsum trace", lambda a: np.einsum("ii", a), lambda: (cplx(3, 3),)),
    ("kron", np.kron, lambda: (cplx(2), cplx(2, 2))),
    ("inv", np.linalg.inv, lambda: (wellcond(3),)),
    ("solve", np.linalg.solve, lambda: (wellcond(3), cplx(3, 2))),
    ("solve vector", np.linalg.solve, lambda: (wellcond(3), cplx(3))),
    ("det", np.linalg.det, lambda: (wellcond(3),)),
    ("slogdet", lambda a: np.linalg.slogdet(a)[1], lambda: (wellcond(3),)),
    ("matrix_power", lambda a: np.linalg.matrix_power(a, 3), lambda: (cplx(3, 3),)),
    ("multi_dot", lambda a, b: np.linalg.multi_dot([a, b, a]), lambda: (cplx(2, 3), cplx(3, 2))),
    ("norm", np.linalg.norm, lambda: (cplx(4),)),
    ("norm 1", lambda a: np.linalg.norm(a, 1), lambda: (cplx(4),)),
    ("norm fro", lambda a: np.linalg.norm(a, "fro"), lambda: (cplx(3, 2),)),
    ("norm 3", lambda a: np.linalg.norm(a, 3), lambda: (cplx(4),)),
    ("norm inf", lambda a: np.linalg.norm(a, np.inf), lambda: (cplx(4),)),
    ("correlate", lambda a, v: np.correlate(a, v, "full"), lambda: (cplx(5), cplx(3))),
    ("convolve", lambda a, v: np.convolve(a, v, "same"), lambda: (cplx(5), cplx(3))),
]


@pytest.mark.parametrize("name, fun, args", LINALG, ids=[row[0] for row in LINALG])
def test_linalg(name, fun, args):
    args = args()
    np.testing.assert_allclose(fun(*[tg.tensor(a) for a in args]).data, fun(*args), rtol=1e-14)
    check_grads(fun, *args, order=2)


def test_singular_values_to_first_order():
    # Their second derivative goes through the singular vectors, not derived for complex yet.
    check_grads(lambda a: np.linalg.svd(a, compute_uv=False), wellcond(3))
    check_grads(lambda a: np.linalg.norm(a, 2), wellcond(3))


def test_det_of_a_singular_complex_matrix_has_the_cofactor_gradient():
    u, v = cplx(3), cplx(3)
    a = np.outer(u, v)  # rank 1, so det = 0 but some 2x2 minors are not
    a[:, 2] = a[:, 0] * (1 - 2j)  # rank 1 still
    b = cplx(3, 3)
    a = a + np.outer(b[0], b[1])  # rank 2: the cofactors are not all zero
    grad = tg.grad(lambda t: tg.real(np.linalg.det(t)))(a)
    cofactors = np.array(
        [
            [(-1) ** (i + j) * np.linalg.det(np.delete(np.delete(a, i, 0), j, 1)) for j in range(3)]
            for i in range(3)
        ]
    )
    np.testing.assert_allclose(grad, np.conj(cofactors), atol=1e-12)


def test_vdot_conjugates_its_first_argument_like_numpy():
    a, b = cplx(3), cplx(3)
    np.testing.assert_allclose(np.vdot(tg.tensor(a), b).data, np.vdot(a, b), rtol=1e-15)


def test_interp_of_complex_values_is_numpys_part_by_part():
    x, xp, fp = np.array([-0.5, 0.25, 1.0, 1.7, 3.5]), np.array([0.0, 1.0, 2.0]), cplx(3)
    for left, right in [(None, None), (2j, -1 + 1j)]:
        got = np.interp(x, xp, tg.tensor(fp), left, right)
        np.testing.assert_array_equal(got.data, np.interp(x, xp, fp, left, right))
    check_grads(lambda f, t: np.interp(t, xp, f), fp, np.array([0.25, 1.3, 1.7]), order=2)


# -- constructors and cleaning -------------------------------------------------------------


def test_complex_ranges_equal_numpys_and_differentiate():
    start, stop = 1 + 1j, -2 + 3j
    for make in (np.linspace, np.geomspace, np.logspace):
        got = make(tg.tensor(start), tg.tensor(stop), 5)
        np.testing.assert_array_equal(got.data, make(start, stop, 5))
        check_grads(lambda a, b, make=make: make(a, b, 5), np.array(start), np.array(stop))


def test_nan_to_num_cleans_both_parts_and_keeps_gradients_of_finite_ones():
    z = np.array([complex(np.nan, 1), complex(2, -np.inf), 1 + 2j])
    got = tg.nan_to_num(tg.tensor(z, requires_grad=True))
    np.testing.assert_array_equal(got.data, np.nan_to_num(z))

    # L = sum(Re + 2 Im): each finite part keeps its gradient, a replaced one gets 0.
    def loss(t):
        clean = tg.nan_to_num(t, neginf=-5.0)
        return tg.sum(tg.real(clean) + 2 * tg.imag(clean))

    grad = tg.grad(loss)(z)
    np.testing.assert_array_equal(grad, [2j, 1, 1 + 2j])


def test_the_parts_of_real_tensors():
    x = tg.tensor(real(3), requires_grad=True)
    assert tg.real(x) is x and tg.conj(x) is x
    zeros = tg.imag(x)
    assert not zeros.data.any()
    np.testing.assert_array_equal(tg.grad(lambda t: tg.sum(tg.imag(t)))(x.data), 0.0)
    # angle of a real number is piecewise constant (0 or pi): gradient 0.
    np.testing.assert_array_equal(tg.grad(lambda t: tg.sum(tg.angle(t)))(x.data), 0.0)


# -- the testing kit checks complex rules -------------------------------------------------


def test_check_grads_catches_a_rule_that_forgets_the_conjugate():
    times = Primitive(lambda a, b: a * b, name="times_without_conjugate_test")
    times.defvjp(lambda g, ans, a, b: (g * b, g * a))  # right for reals only
    with pytest.raises(AssertionError, match="disagrees with central finite differences"):
        check_grads(times, cplx(3), cplx(3))
    check_grads(times, real(3), real(3))  # the same rule passes on reals


def test_check_grads_catches_a_wrong_imaginary_direction():
    half = Primitive(lambda a: np.real(a) * 1.0, name="real_part_wrong_test")
    half.defvjp(lambda g, ans, a: (g * (1 + 1j),))  # Re(z) does not move with Im(z)
    with pytest.raises(AssertionError, match="argument 0"):
        check_grads(half, cplx(2))


# -- eig: complex spectra -------------------------------------------------------------------


def test_eig_of_a_real_matrix_with_a_complex_spectrum():
    a = np.array([[0.5, 2.0, 0.1], [-1.5, 0.3, 0.4], [0.2, -0.3, 1.2]])
    values, vectors = np.linalg.eig(tg.tensor(a, requires_grad=True))
    want = np.linalg.eig(a)
    assert values.dtype == np.complex128
    np.testing.assert_array_equal(values.data, want.eigenvalues)
    np.testing.assert_array_equal(vectors.data, want.eigenvectors)
    check_grads(lambda t: np.linalg.eigvals(t), a, order=2)
    # |V|^2 does not depend on each eigenvector's phase: a well-defined loss.
    check_grads(lambda t: tg.abs(np.linalg.eig(t).eigenvectors) ** 2, a)


def test_eig_of_a_complex_matrix():
    a = cplx(3, 3)
    check_grads(lambda t: np.linalg.eigvals(t), a, order=2)
    check_grads(lambda t: tg.abs(np.linalg.eig(t).eigenvectors) ** 2, a)


@pytest.mark.parametrize(
    "name, fun",
    [
        ("eigh", lambda t: np.linalg.eigh(t)[0]),
        ("eigvalsh", np.linalg.eigvalsh),
        ("cholesky", np.linalg.cholesky),
        ("pinv", np.linalg.pinv),
        ("qr", lambda t: np.linalg.qr(t)[1]),
        ("svd", lambda t: np.linalg.svd(t)[0]),
        ("lstsq", lambda t: np.linalg.lstsq(t, t[:, 0])[0]),
    ],
)
def test_rules_derived_for_real_matrices_refuse_complex_ones(name, fun):
    a = wellcond(3)
    a = a @ a.conj().T  # Hermitian positive definite, so every forward runs
    with pytest.raises(NotImplementedError, match=f"{name}.*complex input.*complex128"):
        tg.grad(lambda t: tg.sum(tg.abs(fun(t))))(a)


def test_real_and_imag_attributes_are_recorded():
    z = np.array([1 + 2j, -3 + 0.5j])
    grad = tg.grad(lambda t: tg.sum(t.real * t.imag))(z)  # d(xy) = y dx + x dy
    np.testing.assert_array_equal(grad, z.imag + 1j * z.real)


@pytest.mark.parametrize("name", ["SGD", "Momentum", "RMSProp", "Adam"])
def test_every_optimizer_steps_a_complex_parameter_as_its_pair_of_reals(name):
    # The complex parameter must move exactly as the same parameter stored as (re, im)
    # pairs: the convention makes z.grad the pair's gradient, and adaptive
    # optimizers scale each part on its own (as PyTorch's do).
    optimizer_class = getattr(tg.optim, name)
    target = cplx(2, 3)
    z = tg.tensor(np.zeros((2, 3), dtype=complex), requires_grad=True)
    pair = tg.tensor(np.zeros((2, 3, 2)), requires_grad=True)
    target_pair = np.stack([target.real, target.imag], axis=-1)
    optimizers = [
        optimizer_class([z], learning_rate=0.05),
        optimizer_class([pair], learning_rate=0.05),
    ]
    for _ in range(20):
        for optimizer in optimizers:
            optimizer.zero_grad()
        tg.sum(tg.abs(z - target) ** 4).backward()
        tg.sum(tg.sum((pair - target_pair) ** 2, axis=-1) ** 2).backward()
        for optimizer in optimizers:
            optimizer.step()
    np.testing.assert_allclose(z.data.real, pair.data[..., 0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(z.data.imag, pair.data[..., 1], rtol=1e-12, atol=1e-14)
    assert np.abs(z.data - target).max() < np.abs(target).max()  # it moved towards it
