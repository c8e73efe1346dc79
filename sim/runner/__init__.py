"""Running replications: the work engine, the runner and the executors they can use."""

from sim.errors import ReplicationError
from sim.runner.engine import ChunkResult, Engine, chunk_ranges, runs_schema
from sim.runner.executors import (
    DaskExecutor,
    Executor,
    InProcessExecutor,
    LocalProcessExecutor,
    make_executor,
)
from sim.runner.replications import RunOutput, run_replications

__all__ = [
    "ChunkResult",
    "DaskExecutor",
    "Engine",
    "Executor",
    "InProcessExecutor",
    "LocalProcessExecutor",
    "ReplicationError",
    "RunOutput",
    "chunk_ranges",
    "make_executor",
    "run_replications",
    "runs_schema",
]
