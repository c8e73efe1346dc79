"""Analysis on top of finished run and sweep folders.

- ``compare``: ``sim compare``, metric by metric differences of two runs (paired on common
  random numbers when they share a seed);
- ``discover``: ``sim discover``, scenario discovery (PRIM boxes) on a sweep;
- ``plots`` and ``report``: ``sim report``, charts and a self-contained HTML report.
"""
