"""The built-in border-standoff model: a module per mechanism.

- ``border``: incidents, the closure rule, checkpoints as multi-lane FIFO queues;
- ``fleet``: every truck as a row of numpy arrays, and the carriers' costs;
- ``release``: the hold order, individual retrieval, general release, abandonment, confiscation;
- ``negotiation``: Lithuania's government, the carriers' talks, US mediation;
- ``model``: a replication assembled from these, its outcomes and daily series.
"""

from sim.model.standoff.model import OUTCOMES, SERIES, StandoffModel

__all__ = ["OUTCOMES", "SERIES", "StandoffModel"]
