"""Tensors over Dask arrays: lazy values and gradients, on threads and on a cluster."""

# Dask is in the test extra (and the `dask` extra): these tests always run.
import dask
import dask.array as da
import distributed
import numpy as np
import pytest
from dask.callbacks import Callback

import tapegrad as tg

RNG = np.random.default_rng(0)
N, D = 400, 5
X_NP = RNG.standard_normal((N, D))
Y_NP = (RNG.random(N) < 1.0 / (1.0 + np.exp(-X_NP @ np.linspace(-1, 1, D)))).astype(float)


def logistic_loss(w, X, y):
    z = X @ w
    return tg.sum(np.logaddexp(0.0, z) - y * z) / X.shape[0]


def logistic_gradient(w, X, y):
    """The closed form: X^T (sigmoid(X w) - y) / N."""
    return X.T @ (1.0 / (1.0 + np.exp(-(X @ w))) - y) / X.shape[0]


class CountTasks(Callback):
    def __init__(self):
        super().__init__()
        self.tasks = 0

    def _start_state(self, dsk, state):
        self.tasks += len(state["ready"]) + len(state["waiting"])


def _data(chunks=100):
    return da.from_array(X_NP, chunks=(chunks, D)), da.from_array(Y_NP, chunks=chunks)


def test_forward_and_backward_build_graphs_and_compute_nothing():
    X, y = _data()
    w = tg.tensor(da.full(D, 0.1, chunks=D), requires_grad=True)
    counter = CountTasks()
    with counter:
        loss = logistic_loss(w, X, y)
        loss.backward()
    assert counter.tasks == 0  # nothing ran: every value is still a graph
    assert isinstance(loss.data, da.Array) and isinstance(w.grad, da.Array)
    w0 = np.full(D, 0.1)
    np.testing.assert_allclose(w.grad.compute(), logistic_gradient(w0, X_NP, Y_NP), rtol=1e-12)
    assert float(loss.data.compute()) == pytest.approx(
        float(np.mean(np.logaddexp(0.0, X_NP @ w0) - Y_NP * (X_NP @ w0))), rel=1e-12
    )


def test_dask_gradients_equal_numpy_gradients_and_finite_differences():
    X, y = _data()
    w0 = RNG.standard_normal(D)
    w_dask = tg.tensor(da.from_array(w0, chunks=2), requires_grad=True)
    logistic_loss(w_dask, X, y).backward()
    w_np = tg.tensor(w0, requires_grad=True)
    logistic_loss(w_np, X_NP, Y_NP).backward()
    np.testing.assert_allclose(w_dask.grad.compute(), w_np.grad, rtol=1e-12)
    tg.testing.check_grads(lambda w: logistic_loss(w, X_NP, Y_NP), w0, order=2)


def test_mixing_dask_and_numpy_tensors_follows_dask():
    X, _ = _data()
    w = tg.tensor(np.ones(D), requires_grad=True)  # a numpy parameter, Dask data
    out = tg.sum(tg.tanh(X @ w))
    assert isinstance(out.data, da.Array)
    out.backward()
    expected = X_NP.T @ (1.0 - np.tanh(X_NP @ np.ones(D)) ** 2)
    np.testing.assert_allclose(np.asarray(dask.compute(w.grad)[0]), expected, rtol=1e-12)


def test_nan_masking_of_zero_cotangents_is_lazy():
    x = tg.tensor(da.from_array(np.array([0.0, -1.0, 4.0]), chunks=1), requires_grad=True)
    counter = CountTasks()
    with counter:
        tg.sum(tg.where(x > 0, tg.sqrt(x), 0.0)).backward()
    assert counter.tasks == 0
    np.testing.assert_array_equal(x.grad.compute(), [0.0, 0.0, 0.25])


def test_an_op_without_a_lazy_dask_version_raises_naming_it():
    a = tg.tensor(da.from_array(np.eye(3) * 2.0, chunks=3), requires_grad=True)
    with pytest.warns(FutureWarning), pytest.raises(TypeError, match="'eigh'"):
        np.linalg.eigh(a)


def test_conversion_guards_apply_to_dask_tensors():
    w = tg.tensor(da.ones(3, chunks=3), requires_grad=True)
    with pytest.raises(TypeError, match="drop its gradient"):
        np.asarray(w)
    assert "dask.array" in repr(w)  # repr shows the graph, computes nothing


def test_a_dask_array_given_to_tensor_is_not_reached_by_later_writes():
    source = da.zeros(3, chunks=3)
    t = tg.tensor(source)
    source[0] = 5.0  # dask supports item assignment on its own handle
    np.testing.assert_array_equal(t.data.compute(), [0.0, 0.0, 0.0])


def test_gradient_descent_on_dask_data_with_an_optimizer():
    X, y = _data()
    w = tg.tensor(np.zeros(D), requires_grad=True)
    optimizer = tg.optim.SGD([w], learning_rate=0.5)
    losses = []
    for _ in range(30):
        optimizer.zero_grad()
        loss = logistic_loss(w, X, y)
        loss.backward()
        (w.grad,) = dask.compute(w.grad)  # one compute per step
        optimizer.step()
        losses.append(float(loss.data.compute()))
    assert losses[-1] < losses[0] - 0.05
    w_np = np.zeros(D)
    for _ in range(30):
        w_np = w_np - 0.5 * logistic_gradient(w_np, X_NP, Y_NP)
    np.testing.assert_allclose(w.data, w_np, rtol=1e-10)


def test_gradients_on_a_local_cluster_equal_the_local_ones():
    X, y = _data()
    w0 = np.linspace(-0.5, 0.5, D)
    w = tg.tensor(da.from_array(w0, chunks=D), requires_grad=True)
    loss = logistic_loss(w, X, y)
    loss.backward()
    local = w.grad.compute(scheduler="threads")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        assert len(client.scheduler_info()["workers"]) == 2
        remote_grad, remote_loss = client.compute([w.grad, loss.data], sync=True)
    np.testing.assert_allclose(remote_grad, local, rtol=1e-12)
    np.testing.assert_allclose(remote_grad, logistic_gradient(w0, X_NP, Y_NP), rtol=1e-12)
    assert float(remote_loss) == pytest.approx(float(loss.data.compute()), rel=1e-12)


def test_transforms_take_and_return_dask_arrays():
    X, y = _data()
    w0 = np.full(D, 0.2)
    value, g = tg.value_and_grad(lambda w: logistic_loss(w, X, y))(da.from_array(w0, chunks=D))
    assert isinstance(value, da.Array) and isinstance(g, da.Array)
    np.testing.assert_allclose(g.compute(), logistic_gradient(w0, X_NP, Y_NP), rtol=1e-12)
    _, vjp_fn = tg.vjp(lambda w: tg.tanh(X @ w), da.from_array(w0, chunks=D))
    (back,) = vjp_fn(da.ones(N, chunks=100))
    expected = X_NP.T @ (1.0 - np.tanh(X_NP @ w0) ** 2)
    np.testing.assert_allclose(back.compute(), expected, rtol=1e-12)


def test_jvp_and_an_optimizer_on_dask_parameters():
    X, _ = _data()
    w0 = np.full(D, 0.1)
    tangent = np.linspace(1.0, 2.0, D)
    out, t_out = tg.jvp(
        lambda w: tg.sum(tg.tanh(X @ w)),
        (da.from_array(w0, chunks=D),),
        (da.from_array(tangent, chunks=D),),
    )
    assert isinstance(out, da.Array) and isinstance(t_out, da.Array)
    expected = np.sum((1.0 - np.tanh(X_NP @ w0) ** 2) * (X_NP @ tangent))
    assert float(t_out.compute()) == pytest.approx(float(expected), rel=1e-12)
    p = tg.tensor(da.from_array(w0, chunks=D), requires_grad=True)
    optimizer = tg.optim.SGD([p], learning_rate=0.1)
    tg.sum(tg.tanh(X @ p)).backward()
    optimizer.step()
    assert isinstance(p.data, da.Array)  # the parameter stays a Dask array
    step = X_NP.T @ (1.0 - np.tanh(X_NP @ w0) ** 2)
    np.testing.assert_allclose(p.data.compute(), w0 - 0.1 * step, rtol=1e-12)
