"""Running replications: the runner and the executors it can use."""

from sim.runner.executors import (
    DaskExecutor,
    Executor,
    InProcessExecutor,
    LocalProcessExecutor,
    make_executor,
)
from sim.runner.replications import (
    ChunkResult,
    ReplicationError,
    RunOutput,
    chunk_ranges,
    run_replications,
)

__all__ = [
    "ChunkResult",
    "DaskExecutor",
    "Executor",
    "InProcessExecutor",
    "LocalProcessExecutor",
    "ReplicationError",
    "RunOutput",
    "chunk_ranges",
    "make_executor",
    "run_replications",
]
