"""The engine: record forward (``recorder``), walk backward (``backward``).

``tape`` holds grad mode and the nodes, ``primitive`` the registry,
``tensor`` the Tensor's state and ``dispatch`` numpy's protocols. Nothing
here knows about particular operations: those are in ``tapegrad.ops`` and
``tapegrad.nn``, and ``tapegrad/tensor.py`` binds them to the Tensor.
"""
