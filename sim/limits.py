"""The limits on every size a user controls: one place, named, so that messages and docs agree.

A scenario, a sweep or an input file that goes past one of these is bad input (exit 2, with the
position of the key), found by ``sim validate`` before anything is built or run. The limits are
far above any sensible use of the model and well below what exhausts a machine's memory or
overflows a number: they exist to turn a typo (``horizon_days: 1e9``, ``samples: 2**80``) into
a clear message instead of an out-of-memory kill. The README's scenario format section lists
them.
"""

from __future__ import annotations

import numbers

from sim.errors import ARGUMENTS, InputError, Problem

MAX_INPUT_BYTES = 10 * 1024 * 1024
"""Largest scenario or sweep file read (10 MiB); only regular files are read."""

MAX_NAME_LENGTH = 100
"""Longest scenario or sweep ``name`` (it names a folder; file systems allow about 255 bytes)."""

MAX_SEED = 2**63 - 1
"""Largest root seed (``seed``, ``--seed``): seeds are 0 .. 2**63 - 1."""

MAX_REPLICATIONS = 10_000_000
"""Most replications of one run, or per point of a sweep."""

MAX_HORIZON_DAYS = 3650.0
"""Longest simulated horizon (ten years): daily series hold one value per day."""

MAX_TRUCKS = 1_000_000
"""Most vehicles in a fleet (``fleet.trucks_in_belarus``: the whole support of its
distribution); the model holds several arrays of this length per replication."""

MAX_WORKERS = 4096
"""Most worker processes of a run, sweep or calibration (``--workers``, ``workers=``)."""

MAX_LANES = 10_000
"""Most lanes of one checkpoint."""

MAX_COUNT = 1_000_000
"""Most of any other whole-number setting of a model (``closure.max_closures``,
``closure.incidents_threshold``, ``us.sectors_per_deal``)."""

MAX_EVENT_RATE_PER_DAY = 10_000.0
"""Highest rate of a Poisson process of events (``incidents.schedule.N.rate_per_day``): at most
``MAX_EVENT_RATE_PER_DAY * MAX_HORIZON_DAYS`` events a replication."""

MAX_PARAMETER_MAGNITUDE = 1e15
"""Largest size of any number of a built-in model's parameter, constant or distribution
(``value_eur: 1e308`` is refused): sums over trucks, days and replications then stay far from
float overflow. A user model's parameters have no such limit (only finite numbers)."""

MAX_SWEEP_POINTS = 1_000_000
"""Most design points of a sweep (a grid's product of value counts; ``samples`` times the
method's factor for lhs, sobol and morris), checked before the design is built."""

MAX_SWEEP_RUNS = 100_000_000
"""Most runs of a sweep: design points times replications per point."""

MAX_RESAMPLES = 1_000_000
"""Most bootstrap resamples of a sweep's sensitivity indices."""

MAX_MORRIS_LEVELS = 1_000
"""Most grid levels of a Morris design."""


def mib(size: int) -> str:
    """A byte count in MiB for messages: ``10 MiB``."""
    return f"{size / (1024 * 1024):g} MiB"


def check_argument(value: object, name: str, low: int, high: int) -> int:
    """``value`` as an int if it is a whole number (not a bool) in ``[low, high]``, else an
    :class:`InputError` about the argument ``name`` (file ``<command line>``).

    For the Python API's counts and seeds (``sim.run(..., replications=..., seed=...)``), which
    do not pass through a scenario file: the same limits, the same exit status 2.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        shown = "true or false (a boolean)" if isinstance(value, bool) else repr(value)
        message = f"expected a whole number, got {shown}"
    elif not low <= int(value) <= high:
        message = f"must be a whole number in {low:,} .. {high:,}, got {int(value):,}"
    else:
        return int(value)
    raise InputError([Problem(ARGUMENTS, 1, 1, name, message)])
