"""Conversions and writes that used to cut the graph or change saved memory without a word."""

import array
import ctypes
import math

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.core.primitive import Primitive


def _needs_grad():
    return tg.tensor([1.0, 2.0], requires_grad=True)


@pytest.mark.parametrize(
    "convert",
    [
        np.asarray,
        np.array,
        lambda t: np.array([t, t]),
        lambda t: np.r_[t, t],
        lambda t: np.vectorize(lambda v: v * 2.0)(t),
    ],
    ids=["asarray", "array", "array-of-list", "r_", "vectorize"],
)
def test_implicit_conversion_of_a_tensor_on_the_tape_raises(convert):
    with pytest.raises(TypeError, match="drop its gradient") as info:
        convert(_needs_grad())
    message = str(info.value)
    for way_out in ("t.detach()", "t.numpy()", "t.data", "tg.no_grad()", "tg.stack"):
        assert way_out in message


def test_conversion_is_allowed_where_no_gradient_is_lost():
    t = _needs_grad()
    np.testing.assert_array_equal(np.asarray(t.detach()), [1.0, 2.0])
    np.testing.assert_array_equal(np.asarray(tg.tensor([1.0, 2.0])), [1.0, 2.0])
    with tg.no_grad():
        np.testing.assert_array_equal(np.asarray(t), [1.0, 2.0])
    np.testing.assert_array_equal(t.numpy(), t.data)


def test_scipy_functions_without_a_rule_refuse_instead_of_dropping_the_gradient():
    from scipy import special  # the test extra installs scipy

    with pytest.raises(TypeError):
        special.logsumexp(_needs_grad())


def test_tensor_of_a_list_of_tensors_stacks_them_with_their_gradients():
    a = tg.tensor(1.0, requires_grad=True)
    b = tg.tensor(2.0, requires_grad=True)
    stacked = tg.tensor([a, b * 3.0])
    assert stacked.requires_grad and stacked.shape == (2,)
    tg.sum(stacked * stacked).backward()
    assert a.grad == 2.0 and b.grad == 36.0  # d/db (3b)^2 = 18 b
    nested = tg.tensor([[a, 0.5], [b, a]])
    assert nested.shape == (2, 2)
    np.testing.assert_array_equal(nested.data, [[1.0, 0.5], [2.0, 1.0]])


@pytest.mark.parametrize(
    "make",
    [
        lambda: np.array([1.0, 2.0]),
        lambda: memoryview(np.array([1.0, 2.0])),
        lambda: array.array("d", [1.0, 2.0]),
        lambda: (ctypes.c_double * 2)(1.0, 2.0),
        lambda: np.asmatrix(np.array([1.0, 2.0])),
        lambda: np.broadcast_to(np.array([1.0, 2.0]), (2,)),
    ],
    ids=["ndarray", "memoryview", "array.array", "ctypes", "matrix", "read-only view"],
)
def test_tensor_copies_memory_the_caller_can_still_write(make):
    source = make()
    t = tg.tensor(source)
    original = t.data.copy()
    target = np.asarray(source)
    if target.base is not None and not target.flags.writeable:
        target = target.base  # the read-only view's writeable owner
    target.flags.writeable = True
    target[...] = 99.0
    np.testing.assert_array_equal(t.data, original)


def test_a_read_only_array_that_owns_its_memory_is_copied_too():
    a = np.array([1.0, 2.0])
    a.flags.writeable = False
    t = tg.tensor(a)
    a.flags.writeable = True  # its owner can do this
    a[0] = 99.0
    assert t.data[0] == 1.0


def test_masked_arrays_are_refused():
    masked = np.ma.masked_array([1.0, 2.0, 3.0], mask=[False, True, False])
    with pytest.raises(TypeError, match="mask"):
        tg.tensor(masked)


def test_big_python_integers_become_float64():
    assert tg.tensor(2**70).dtype == np.float64


def test_tensor_keeps_fortran_order_so_order_k_matches_numpy():
    f = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    t = tg.tensor(f)
    np.testing.assert_array_equal(np.ravel(t, order="K").data, np.ravel(f, order="K"))
    np.testing.assert_array_equal(np.reshape(t, 6, order="A").data, np.reshape(f, 6, order="A"))


@pytest.mark.parametrize(
    "write",
    [
        lambda t: np.copyto(t, 5.0),
        lambda t: np.fill_diagonal(t, 5.0),
        lambda t: np.put(t, [0], 5.0),
        lambda t: np.putmask(t, np.ones(t.shape, bool), 5.0),
        lambda t: np.place(t, np.ones(t.shape, bool), [5.0]),
        lambda t: np.put_along_axis(t, np.zeros((1, 2), int), 5.0, axis=0),
        lambda t: np.add.at(t, [0], 5.0),
        lambda t: np.round(np.ones((2, 2)), out=t),
    ],
    ids=["copyto", "fill_diagonal", "put", "putmask", "place", "put_along_axis", "add.at", "out"],
)
def test_numpy_in_place_writers_refuse_tensors(write):
    x = tg.tensor(np.ones((2, 2)), requires_grad=True)
    y = x * 2.0
    for target in (x.detach(), y.detach(), tg.tensor(np.ones((2, 2)))):
        with pytest.raises(TypeError, match="immutable"):
            write(target)
    tg.sum(y).backward()
    np.testing.assert_array_equal(x.grad, np.full((2, 2), 2.0))


def test_the_base_of_a_slice_of_data_is_read_only_too():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    view = x[1:].data
    with pytest.raises(ValueError, match="read-only"):
        view.base[...] = 0.0


def test_a_user_forward_gets_read_only_inputs():
    prim = Primitive(lambda x: np.exp(x, out=x), name="exp_in_place_test")
    prim.defvjp(lambda g, ans, x: (g * ans,))
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="read-only") as info:
        prim(x)
    assert any("wrote into one of its inputs" in n for n in info.value.__notes__)
    np.testing.assert_array_equal(x.data, [1.0, 2.0])


def test_operands_the_caller_can_change_are_snapshotted():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    base = np.array([3.0, 4.0])
    view = np.broadcast_to(base, (2,))  # read-only, but base is writeable
    bounds = [0.0, 0.0]
    y = x * view + tg.clip(x, bounds, 10.0)
    base[...] = 100.0
    bounds[0] = 5.0
    tg.sum(y).backward()
    np.testing.assert_array_equal(x.grad, [4.0, 5.0])


def test_assigning_data_on_a_non_leaf_raises():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    with pytest.raises(RuntimeError, match="recorded node"):
        y.data = np.array([5.0, 5.0])
    x.data = np.array([3.0, 4.0])  # a leaf may be given new values
    np.testing.assert_array_equal(x.data, [3.0, 4.0])


@pytest.mark.parametrize(
    "write",
    [
        lambda m: m[0].__setitem__(1, 50.0),
        lambda m: m[0].__setitem__(slice(None), 0.0),
        lambda m: m.T.__setitem__((0, 0), 1.0),
        lambda m: m.reshape(6).__setitem__(0, 1.0),
    ],
    ids=["m[0][1]", "row[:]", "m.T[0,0]", "reshape"],
)
def test_writes_into_views_raise_instead_of_being_lost(write):
    m = tg.tensor(np.arange(6.0).reshape(2, 3))
    with pytest.raises(ValueError, match="m\\[0, 1\\] = 50"):
        write(m)
    np.testing.assert_array_equal(m.data, np.arange(6.0).reshape(2, 3))


def test_augmented_assignment_through_an_index_still_works():
    m = tg.tensor(np.zeros((2, 3)))
    m[0] += 1.0  # ends in m's own item assignment
    np.testing.assert_array_equal(m.data[0], [1.0, 1.0, 1.0])


def test_an_option_receiving_a_tensor_that_needs_a_gradient_raises():
    def softclip(x, t=1.0):
        return t * np.tanh(x / t)

    prim = Primitive(softclip, name="softclip_test")
    prim.defvjp(lambda g, ans, x, t=1.0: (g * (1.0 - (ans / t) ** 2),))
    t = tg.tensor(2.0, requires_grad=True)
    with pytest.raises(TypeError, match="option 't'") as info:
        prim(tg.tensor([0.5], requires_grad=True), t=t)
    assert "softclip_test" in str(info.value)
    # Detached, it is just a value.
    out = prim(tg.tensor([0.5], requires_grad=True), t=t.detach())
    np.testing.assert_allclose(out.data, 2.0 * np.tanh(0.25))


def test_an_object_result_that_needs_a_gradient_raises():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    prim = Primitive(lambda x: x.astype(object), name="as_objects_test")
    prim.defvjp(lambda g, ans, x: (g,))
    with pytest.raises(TypeError, match="object"):
        prim(x)


def test_a_complex_result_is_recorded_and_a_real_input_gets_the_real_part():
    # The convention (docs/conventions.md): z.grad = dL/dRe(z) + 1j dL/dIm(z); a
    # real input has no imaginary direction, so it keeps the real part.
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    prim = Primitive(lambda x: x * (1 + 2j), name="times_complex_test")
    prim.defvjp(lambda g, ans, x: (g * (1 - 2j),))
    out = prim(x)
    assert out.dtype == np.complex128 and out.requires_grad
    out.backward(gradient=np.array([1 + 1j, 2 - 1j]))
    np.testing.assert_array_equal(x.grad, [3.0, 0.0])  # Re((1+1j)(1-2j)), Re((2-1j)(1-2j))
    assert x.grad.dtype == np.float64


@pytest.mark.parametrize(
    "call",
    [
        lambda p, x: p(x),
        lambda p, x: p(x, 0),
        lambda p, x: Primitive.__call__(p, x),
    ],
)
def test_integer_results_are_constants_on_every_path(call):
    prim = Primitive(lambda x, axis=None: np.sum(x > 0, axis=axis), name="count_positive_test")
    prim.defvjp(lambda g, ans, x, axis=None: (None,))
    out = call(prim, tg.tensor([1.0, -1.0, 2.0], requires_grad=True))
    assert out.dtype.kind == "i" and not out.requires_grad


@pytest.mark.parametrize(
    "leave",
    [float, int, bool, lambda t: t.item(), lambda t: t.tolist(), math.exp],
    ids=["float", "int", "bool", "item", "tolist", "math.exp"],
)
def test_python_numbers_from_a_differentiated_value_raise_inside_transforms(leave):
    def f(x):
        total = tg.sum(x * x)
        return total * leave(total)

    for transform in (tg.grad, tg.value_and_grad):
        with pytest.raises(TypeError, match="would leave the tape"):
            transform(f)(np.array([0.5, 0.25]))
    with pytest.raises(TypeError, match="would leave the tape"):
        tg.vjp(f, np.array([0.5, 0.25]))


def test_python_numbers_of_values_that_do_not_depend_on_the_arguments_are_fine():
    outer = tg.tensor([2.0], requires_grad=True) * 3.0  # on a tape, not an argument

    def f(x):
        scale = float(tg.sum(outer))  # closes over an outer value: allowed
        return tg.sum(x) * scale

    np.testing.assert_array_equal(tg.grad(f)(np.ones(2)), [6.0, 6.0])
    loss = tg.sum(tg.tensor([1.0, 2.0], requires_grad=True) ** 2)
    assert float(loss) == 5.0 and loss.item() == 5.0  # outside transforms: logging is normal


def test_a_complex_cotangent_for_a_real_output_raises():
    _, vjp_fn = tg.vjp(lambda x: x * 2.0, np.ones(2))
    with pytest.raises(TypeError, match="imaginary part"):
        vjp_fn(np.ones(2) * (1 + 1j))


def test_a_settings_dict_is_seen_by_the_rule_as_the_forward_saw_it():
    prim = Primitive(lambda x, settings: x * settings["scale"], name="scaled_test", nondiff=(1,))
    prim.defvjp(lambda g, ans, x, settings: (g * settings["scale"], None))
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    settings = {"scale": 3.0}
    y = prim(x, settings)
    settings["scale"] = 100.0
    tg.sum(y).backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_a_scipy_ufunc_without_a_rule_is_named_as_scipy_names_it():
    from scipy import special  # the test extra installs scipy

    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"scipy\.special\.struve has no tapegrad rule"):
        special.struve(0.0, x)
    with pytest.raises(TypeError, match=r"np\.frexp|np\.spacing"):
        np.spacing(x)


def test_one_no_grad_decorator_used_by_two_threads_keeps_each_threads_mode():
    import threading

    b_inside, a_left = threading.Event(), threading.Event()
    seen = {}

    @tg.no_grad()
    def work(name):
        # Both threads are inside the same decorator instance; a leaves first.
        if name == "a":
            b_inside.wait(10)
        else:
            b_inside.set()
            a_left.wait(10)
            seen["b inside, after a left"] = tg.is_grad_enabled()

    def run(name):
        work(name)
        seen[name + " after"] = tg.is_grad_enabled()
        if name == "a":
            a_left.set()

    threads = [threading.Thread(target=run, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert seen == {"a after": True, "b inside, after a left": False, "b after": True}


def test_random_draws_with_a_tensor_parameter_refuse():
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError, match="drop its gradient"):
        rng.normal(loc=_needs_grad())
