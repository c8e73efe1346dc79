"""Parameter sweeps and sensitivity analysis over a base scenario.

- ``spec``: the sweep file's schema and its checks against the base scenario;
- ``design``: design points (grid, list, Latin hypercube, Saltelli, Morris);
- ``run``: running the points' replications in chunks over an executor, resumably;
- ``store``: the work folder of a sweep in progress (streamed chunk files, fingerprint);
- ``assemble``: the final folder (design, runs, points) from the chunk files;
- ``sensitivity``: Sobol and Morris indices (SALib) and the replication noise in them.
"""

from sim.sweeps.run import run_sweep
from sim.sweeps.spec import LoadedSweep, SweepSpec, load_sweep, looks_like_sweep

__all__ = ["LoadedSweep", "SweepSpec", "load_sweep", "looks_like_sweep", "run_sweep"]
