"""Bad input to tg.nn.layers and tg.nn.functional: ValueError naming function, argument, shapes."""

import re

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.nn import functional, layers

X = np.zeros((4, 3))
W = np.zeros((3, 2))
B = np.zeros(2)
SCORES = np.zeros((4, 5))
GOOD_LABELS = np.array([0, 1, 4, 2])

LABEL_CASES = [
    # (labels, words the message must contain)
    (np.array([0, -1, 2, 3]), ["y", "[0, 5)", "-1", "(4, 5)"]),
    (np.array([0, 1, 5, 3]), ["y", "[0, 5)", "5", "(4, 5)"]),
    (np.array([0.0, 1.0, 2.0, 3.0]), ["y", "integers", "float64"]),
    (np.array([0.5, 1.0, 2.0, 3.0]), ["y", "integers"]),
    (np.array([0, 1, 2]), ["y", "(4,)", "(3,)", "(4, 5)"]),
    (np.array([[0, 1, 2, 3]]), ["y", "(4,)", "(1, 4)"]),
]

LOSSES = [
    ("svm_loss", layers.svm_loss),
    ("softmax_loss", layers.softmax_loss),
    ("svm_loss", functional.svm_loss),
    ("softmax_loss", functional.softmax_loss),
]


def assert_message(error, name, words):
    message = str(error.value)
    assert message.startswith(name), message
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


@pytest.mark.parametrize(("name", "loss_fn"), LOSSES)
@pytest.mark.parametrize(("labels", "words"), LABEL_CASES)
def test_bad_labels(name, loss_fn, labels, words):
    with pytest.raises(ValueError) as error:
        loss_fn(SCORES, labels)
    assert_message(error, name, words)


@pytest.mark.parametrize(("name", "loss_fn"), LOSSES)
def test_a_negative_label_never_selects_the_last_class(name, loss_fn):
    scores = tg.tensor(np.arange(10.0).reshape(2, 5), requires_grad=True)
    with pytest.raises(ValueError, match=re.escape("[-1]")):
        loss_fn(scores, np.array([4, -1]))


@pytest.mark.parametrize(("name", "loss_fn"), LOSSES)
def test_scores_must_be_a_matrix(name, loss_fn):
    with pytest.raises(ValueError) as error:
        loss_fn(np.zeros(5), np.array([0]))
    assert_message(error, name, ["scores", "(5,)"])


AFFINE_CASES = [
    (np.zeros((4, 2, 2)), W, B, ["x", "(4, 2, 2)", "(3, 2)"]),
    (X, np.zeros((3, 2, 1)), B, ["w", "(3, 2, 1)"]),
    (X, W, np.zeros(3), ["b", "(2,)", "(3,)"]),
    (X, W, np.zeros((1, 2)), ["b", "(1, 2)"]),
]


@pytest.mark.parametrize("name", ["affine_forward", "affine"])
@pytest.mark.parametrize(("x", "w", "b", "words"), AFFINE_CASES)
def test_affine_shapes_that_do_not_fit(name, x, w, b, words):
    affine = layers.affine_forward if name == "affine_forward" else functional.affine
    with pytest.raises(ValueError) as error:
        affine(x, w, b)
    assert_message(error, name, words)


BATCHNORM_CASES = [
    (X, np.ones(2), np.zeros(3), {"mode": "train"}, ["gamma", "(3,)", "(2,)", "(4, 3)"]),
    (X, np.ones(3), np.zeros(4), {"mode": "train"}, ["beta", "(3,)", "(4,)"]),
    (np.zeros((4, 3, 1)), np.ones(3), np.zeros(3), {"mode": "train"}, ["x", "(4, 3, 1)"]),
    (X, np.ones(3), np.zeros(3), {"mode": "eval"}, ["mode", "'eval'"]),
    (X, np.ones(3), np.zeros(3), {}, ["mode", "None"]),
    (
        X,
        np.ones(3),
        np.zeros(3),
        {"mode": "test", "running_mean": np.zeros(2), "running_var": np.ones(3)},
        ["running_mean", "(2,)"],
    ),
]


@pytest.mark.parametrize("name", ["batchnorm_forward", "batchnorm"])
@pytest.mark.parametrize(("x", "gamma", "beta", "bn_param", "words"), BATCHNORM_CASES)
def test_batchnorm_bad_input(name, x, gamma, beta, bn_param, words):
    batchnorm = layers.batchnorm_forward if name == "batchnorm_forward" else functional.batchnorm
    with pytest.raises(ValueError) as error:
        batchnorm(x, gamma, beta, dict(bn_param))
    assert_message(error, name, words)


@pytest.mark.parametrize("name", ["dropout_forward", "dropout"])
@pytest.mark.parametrize(
    ("dropout_param", "words"),
    [
        ({"p": 1.0, "mode": "train"}, ["p", "[0, 1)", "1.0"]),
        ({"p": -0.1, "mode": "train"}, ["p", "-0.1"]),
        ({"p": 1.5, "mode": "test"}, ["p", "1.5"]),
        ({"mode": "train"}, ["p", "None"]),
        ({"p": 0.5, "mode": "eval"}, ["mode", "'eval'"]),
    ],
)
def test_dropout_bad_param(name, dropout_param, words):
    dropout = layers.dropout_forward if name == "dropout_forward" else functional.dropout
    with pytest.raises(ValueError) as error:
        dropout(X, dropout_param)
    assert_message(error, name, words)


def test_dropout_primitive_needs_a_seed_in_train_mode():
    with pytest.raises(ValueError, match=r"dropout_op.*seed"):
        functional.dropout_op(X, {"p": 0.5, "mode": "train"})


def test_valid_inputs_pass_the_same_checks():
    # The checks above must not reject good input.
    assert layers.svm_loss(SCORES, GOOD_LABELS)[0] == pytest.approx(4.0)
    assert functional.softmax_loss(SCORES, list(GOOD_LABELS)).shape == ()
