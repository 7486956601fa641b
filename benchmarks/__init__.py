"""Benchmarks of tapegrad against hand-written numpy and peer engines (``run.py``)."""
