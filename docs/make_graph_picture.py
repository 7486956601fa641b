"""Draw the tape of the seed's two-layer net: ``python docs/make_graph_picture.py [OUT_DIR]``.

The net is CS231n's ``TwoLayerNet`` (affine - relu - affine - softmax, with
an L2 penalty) as ``tg.nn.FullyConnectedNet([100])``; its loss on one
minibatch is drawn with ``tg.graph(loss).render(...)`` into
``OUT_DIR/two_layer_net.svg`` (default: this folder), the picture in the
README. Needs the ``viz`` extra and the system's Graphviz (``dot``).
"""

from __future__ import annotations

import pathlib
import sys

import numpy as np

import tapegrad as tg

FILENAME = "two_layer_net.svg"


def two_layer_net_loss(batch=64, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10):
    """The loss Tensor of the two-layer net on a random minibatch, and the net."""
    rng = np.random.default_rng(0)
    net = tg.nn.FullyConnectedNet(
        [hidden_dim], input_dim=input_dim, num_classes=num_classes, reg=0.1, seed=0
    )
    X = rng.standard_normal((batch, input_dim)).astype(np.float32)
    y = rng.integers(0, num_classes, batch)
    return net.loss(X, y), net


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    out_dir = pathlib.Path(argv[0]) if argv else pathlib.Path(__file__).resolve().parent
    out_dir.mkdir(parents=True, exist_ok=True)
    loss, net = two_layer_net_loss()
    graph = tg.graph(loss, names=net.params)
    print(graph)
    path = graph.render(out_dir / FILENAME)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
