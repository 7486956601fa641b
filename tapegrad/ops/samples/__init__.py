"""Test data for the op families' Domains, one module per family.

A rule file names its test domain at registration
(``Domain(sample=samples.eigh)``); the functions live here so that the rule
file reads as a table: registration, forward, rule, next op. Two kinds:

* ``sample(rng, dtype) -> (args, kwargs)`` hooks, for inputs the Domain
  vocabulary (value kinds and shape families, which hypothesis draws and
  shrinks) cannot say: index tuples, pad widths, einsum subscripts, matrices
  with separated eigenvalues, state dicts;
* numpy references for primitives that numpy spells differently
  (``*_reference``).

numpy only: the registrations import these modules with ``import tapegrad``,
which must not import hypothesis (tapegrad.testing does that).
"""
