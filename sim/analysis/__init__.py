"""Analysis on top of finished run and sweep folders.

- ``compare``: ``sim compare``, metric by metric differences of two runs (paired on common
  random numbers when they share a seed);
- ``discover``: ``sim discover``, scenario discovery (PRIM boxes) on a sweep;
- ``thresholds``: the per-point share of runs above or below a threshold (discover, report).

The report itself (``sim report``) is the package :mod:`sim.reporting`.
"""
