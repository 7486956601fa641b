"""Pytrees: nested containers of arrays, as the transforms see their arguments.

A thin layer over `optree <https://github.com/metaopt/optree>`_ (the library
PyTorch uses): dicts, lists, tuples, namedtuples, OrderedDicts, defaultdicts
and deques are nodes; everything else (Tensors, ndarrays, Python numbers) is
a leaf; ``None`` is a node with no children, as in JAX, so it holds no leaf.

Types of your own become nodes with :func:`register_pytree_node`, which
registers them in tapegrad's optree namespace (``"tapegrad"``); types
registered with optree for that namespace work too.
"""

from __future__ import annotations

import optree

NAMESPACE = "tapegrad"

__all__ = [
    "NAMESPACE",
    "register_pytree_node",
    "tree_flatten",
    "tree_flatten_with_path",
    "tree_leaves",
    "tree_map",
    "tree_structure",
    "tree_unflatten",
]


def tree_flatten(tree, is_leaf=None):
    """``(leaves, treedef)``: the leaves in a fixed order (dict keys sorted) and the structure."""
    return optree.tree_flatten(tree, is_leaf, namespace=NAMESPACE)


def tree_unflatten(treedef, leaves):
    """The tree of structure ``treedef`` with ``leaves`` in place (inverse of tree_flatten)."""
    return optree.tree_unflatten(treedef, leaves)


def tree_map(fn, tree, *rest, is_leaf=None):
    """``fn`` applied to every leaf (and the matching leaves of ``rest``), same structure."""
    return optree.tree_map(fn, tree, *rest, is_leaf=is_leaf, namespace=NAMESPACE)


def tree_leaves(tree, is_leaf=None):
    """The leaves of ``tree``, in tree_flatten's order."""
    return optree.tree_leaves(tree, is_leaf, namespace=NAMESPACE)


def tree_structure(tree, is_leaf=None):
    """The treedef of ``tree`` (what tree_flatten returns second)."""
    return optree.tree_structure(tree, is_leaf, namespace=NAMESPACE)


def tree_flatten_with_path(tree, is_leaf=None):
    """``(paths, leaves, treedef)``; a path is the tuple of keys/indices down to a leaf."""
    return optree.tree_flatten_with_path(tree, is_leaf, namespace=NAMESPACE)


def register_pytree_node(cls, flatten, unflatten):
    """Make ``cls`` a node: ``flatten(obj) -> (children, metadata)`` (optionally
    ``(children, metadata, entries)``), ``unflatten(metadata, children) -> obj``."""
    return optree.register_pytree_node(cls, flatten, unflatten, namespace=NAMESPACE)


def path_text(path):
    """A path as the Python that reaches the leaf: ``['w'][0]``, or ``''`` for the root."""
    return "".join(f"[{key!r}]" for key in path)
