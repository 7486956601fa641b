"""tg.tree_*: pytrees as the transforms see them (optree underneath)."""

import collections

import numpy as np
import pytest

import tapegrad as tg

Params = collections.namedtuple("Params", "w b")


def test_flatten_and_unflatten_round_trip():
    x = tg.tensor([1.0, 2.0])
    tree = {"b": [np.ones(2), (3.0, Params(x, 4))], "a": 1.5}
    leaves, treedef = tg.tree_flatten(tree)
    # Dict keys in sorted order, containers depth first.
    assert leaves[0] == 1.5 and leaves[1] is tree["b"][0] and leaves[3] is x
    assert len(leaves) == 5
    rebuilt = tg.tree_unflatten(treedef, leaves)
    assert list(rebuilt) == ["b", "a"]  # the caller's key order comes back
    assert rebuilt["a"] == 1.5 and rebuilt["b"][0] is tree["b"][0]
    assert type(rebuilt["b"][1][1]) is Params and rebuilt["b"][1][1].w is x


def test_tensors_and_arrays_are_leaves_and_none_holds_no_leaf():
    t = tg.tensor(np.ones((2, 3)))
    assert tg.tree_leaves(t) == [t]
    a = np.ones(4)
    assert tg.tree_leaves(a) == [a]
    assert tg.tree_leaves(None) == []
    assert tg.tree_leaves([None, a, {"c": None}]) == [a]


def test_tree_map_keeps_structure_and_accepts_several_trees():
    tree = {"w": np.array([1.0, 2.0]), "layers": [np.array(3.0), None]}
    doubled = tg.tree_map(lambda v: 2 * v, tree)
    np.testing.assert_array_equal(doubled["w"], [2.0, 4.0])
    assert doubled["layers"][1] is None
    summed = tg.tree_map(lambda u, v: u + v, tree, doubled)
    np.testing.assert_array_equal(summed["layers"][0], 9.0)


def test_registered_type_is_a_node_for_the_transforms():
    class Pair:
        def __init__(self, left, right):
            self.left, self.right = left, right

    tg.register_pytree_node(
        Pair, lambda p: ((p.left, p.right), None), lambda _, children: Pair(*children)
    )
    assert len(tg.tree_leaves(Pair(np.ones(2), 3.0))) == 2

    def loss(p):
        return tg.sum(p.left**2) * p.right

    g = tg.grad(loss)(Pair(np.array([1.0, 2.0]), 3.0))
    assert isinstance(g, Pair)
    np.testing.assert_allclose(g.left, [6.0, 12.0])
    assert g.right == pytest.approx(5.0)
