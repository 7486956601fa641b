"""Habits users bring from PyTorch and JAX: each works, or says what to write instead."""

import numpy as np
import pytest

import tapegrad as tg


@pytest.mark.parametrize("transform", [tg.grad, tg.value_and_grad])
def test_grad_of_a_tensor_says_it_takes_a_function(transform):
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = tg.sum(x * x)
    with pytest.raises(TypeError, match=r"takes a function.*backward\(\)"):
        transform(y, x)


def test_vjp_of_a_tensor_says_it_takes_a_function():
    with pytest.raises(TypeError, match="takes a function"):
        tg.vjp(tg.tensor([1.0]), np.ones(1))


def test_backward_takes_pytorchs_gradient_keyword():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    (x * 3.0).backward(gradient=np.array([1.0, 10.0]))
    np.testing.assert_array_equal(x.grad, [3.0, 30.0])
    with pytest.raises(TypeError, match="once"):
        (x * 3.0).backward(np.ones(2), gradient=np.ones(2))


def test_requires_grad_underscore_sets_the_flag_and_returns_the_tensor():
    x = tg.tensor([1.0, 2.0])
    assert x.requires_grad_() is x and x.requires_grad
    assert not x.requires_grad_(False).requires_grad
    with pytest.raises(TypeError, match="floating point"):
        tg.tensor([1, 2], dtype=np.int64).requires_grad_()


def test_help_of_tensor_shows_docs_not_internal_comments():
    import pydoc

    text = pydoc.render_doc(tg.Tensor, renderer=pydoc.plaintext)
    assert not [line for line in text.splitlines() if line.strip().startswith("#")]
    for name in ("backward", "detach", "register_hook", "retain_grad", "shape", "item"):
        assert name in text


def test_the_package_ships_type_information():
    import inspect
    from pathlib import Path

    assert (Path(tg.__file__).parent / "py.typed").exists()
    assert inspect.signature(tg.grad).return_annotation != inspect.Signature.empty
    assert inspect.signature(tg.Tensor.backward).return_annotation == "None"
