"""Runs per second of the same sweep on local processes and on a Dask cluster.

Runs a Latin-hypercube sweep of the baseline (default 200 points x 20 replications) with
``--executor local`` and ``--executor dask`` (a local cluster of the same number of workers,
or ``--scheduler ADDRESS``), checks that both give identical rows, and prints runs per second
(wall time, cluster start-up included) and the number and size of the chunks sent.

    python benchmarks/executors.py [--points 200] [--replications 20] [--workers 2]
                                   [--scheduler tcp://HOST:PORT]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from sim.sweeps import load_sweep, run_sweep
from sim.sweeps.run import automatic_chunk_runs, prepare

ROOT = Path(__file__).resolve().parents[1]


def write_sweep(folder: Path, points: int, replications: int) -> Path:
    path = folder / "sweep.yaml"
    path.write_text(
        f"name: executors\nbase: {ROOT / 'scenarios' / 'baseline.yaml'}\nmethod: lhs\n"
        f"samples: {points}\nreplications: {replications}\nseed: 5\nparameters:\n"
        "  detention.storage_fee_eur_per_day: {low: 30, high: 200}\n"
        "  us.deal_probability: {low: 0.3, high: 1.0}\n"
        "  hold.probability: {low: 0.5, high: 1.0}\n"
    )
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--replications", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scheduler", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sweep = write_sweep(folder, args.points, args.replications)
        loaded = load_sweep(sweep)
        prepared = prepare(loaded)
        chunk = automatic_chunk_runs(prepared.seconds_per_run, prepared.total_runs, args.workers)
        chunks = math.ceil(prepared.total_runs / chunk)
        print(
            f"sweep: {prepared.design.points} points x {args.replications} replications = "
            f"{prepared.total_runs:,} runs, {prepared.seconds_per_run * 1000:.2f} ms/run in "
            f"process; {chunks} chunks of up to {chunk} runs\n"
        )
        tables = {}
        print(f"{'executor':<10} {'wall s':>8} {'runs/s':>8}")
        for executor in ("local", "dask"):
            started = time.perf_counter()
            run_sweep(
                load_sweep(sweep),
                out=folder / executor,
                workers=args.workers,
                executor=executor,
                scheduler=args.scheduler if executor == "dask" else None,
                progress=None,
            )
            wall = time.perf_counter() - started
            print(f"{executor:<10} {wall:>8.2f} {prepared.total_runs / wall:>8.0f}")
            tables[executor] = pq.read_table(folder / executor / "executors" / "runs.parquet")
        same = tables["local"].equals(tables["dask"])
        print(f"\nidentical runs.parquet: {'yes' if same else 'NO'}")
        return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
