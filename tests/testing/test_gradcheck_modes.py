"""check_grads(modes=...): forward mode against finite differences and against reverse mode."""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.testing import check_grads


@tg.primitive
def wrong_square(x):
    return x * x


@wrong_square.defvjp
def _wrong_square_vjp(g, ans, x):
    return (g * 3.0 * x,)  # should be 2 x


X = np.array([0.5, -1.5, 2.0])


def test_default_is_reverse_mode_only():
    calls = []

    def f(x):
        calls.append(1)
        return tg.sin(x)

    worst = check_grads(f, X)
    assert set(worst) == {1}
    n_rev = len(calls)
    check_grads(f, X, modes=("rev", "fwd"))
    assert len(calls) > n_rev + 2  # the forward check evaluates f more


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_forward_mode_passes_on_correct_rules_to_second_order(dtype):
    def f(x, w):
        return tg.tanh(x[:, None] * w) @ x

    w = np.array([[0.3, -0.2, 0.5], [1.0, 0.1, -0.4], [0.2, 0.2, 0.2]], dtype=dtype)
    worst = check_grads(f, X.astype(dtype), w, order=2, modes=("rev", "fwd"))
    assert set(worst) == {1, 2}


def test_forward_mode_alone_catches_a_wrong_rule():
    with pytest.raises(AssertionError, match="forward-mode first-order derivative"):
        check_grads(wrong_square, X, modes=("fwd",))


def test_reverse_mode_catches_it_first_when_both_are_asked():
    with pytest.raises(AssertionError, match="first-order derivative with respect to argument 0"):
        check_grads(wrong_square, X, modes=("rev", "fwd"))


def test_non_finite_outputs_are_left_out_of_the_forward_check():
    def masked_sqrt(x):
        return tg.sqrt(x) * (x.data > 0)

    with np.errstate(invalid="ignore"):
        check_grads(masked_sqrt, np.array([-2.0, 0.3, 1.7]), order=2, modes=("rev", "fwd"))


def test_unknown_mode_is_an_error():
    with pytest.raises(ValueError, match="modes"):
        check_grads(tg.sin, X, modes=("reverse",))
