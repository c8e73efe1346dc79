"""Memory of ``sim run``: the parent's peak RSS against the size of the result table.

Runs ``sim run scenarios/baseline.yaml -n N --workers W`` for a small and a larger N (default
2,000 and 20,000 on 2 workers), each in a fresh process, and prints for each: the parent
process's peak resident memory (``resource.getrusage``, this process only: the workers are
not counted), the bytes of the result table (``runs.parquet`` read back, Arrow buffers), and
the peak memory beyond the table per replication added. Memory is flat in N beyond the table
when that last figure stays near the table's own bytes per replication (the daily series are
not held as ``N x days`` arrays: they go to a temporary file and the bands are computed from
it day block by day block, see :mod:`sim.runner.series`).

It is a benchmark, not a test: it prints figures and exits 0.

    python benchmarks/run_memory.py [--small 2000] [--large 20000] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Run in a fresh interpreter: ``sim run`` through the CLI, then this process's peak RSS.
CHILD = """
import json, resource, sys, time
from sim.cli import main
started = time.perf_counter()
code = main(sys.argv[1:])
elapsed = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"code": code, "peak": peak, "seconds": elapsed}))
"""


def measure(replications: int, workers: int) -> dict[str, float]:
    """Peak RSS, table bytes and wall time of one ``sim run`` in a fresh process."""
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory(prefix="sim-run-memory-") as tmp:
        out = Path(tmp) / "run"
        argv = [
            "run",
            str(ROOT / "scenarios" / "baseline.yaml"),
            "-n",
            str(replications),
            "--workers",
            str(workers),
            "--out",
            str(out),
            "--quiet",
        ]
        done = subprocess.run(
            [sys.executable, "-c", CHILD, *argv],
            check=True,
            capture_output=True,
            text=True,
            cwd=tmp,
        )
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        figures["table"] = float(pq.read_table(next(out.glob("*/runs.parquet"))).nbytes)
    return figures


def main(argv: list[str] | None = None) -> int:
    """Measure both sizes and print the table of figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=2_000)
    parser.add_argument("--large", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    mib = 1024.0 * 1024.0
    rows = {n: measure(n, args.workers) for n in (args.small, args.large)}
    print(f"sim run scenarios/baseline.yaml --workers {args.workers} (parent process only)")
    print(f"{'replications':>12}  {'peak RSS':>10}  {'table':>9}  {'table/rep':>9}  {'time':>7}")
    for n, row in rows.items():
        print(
            f"{n:>12,}  {row['peak'] / mib:>7.1f} MiB  {row['table'] / mib:>5.2f} MiB"
            f"  {row['table'] / n:>7.0f} B  {row['seconds']:>5.1f} s"
        )
    small, large = rows[args.small], rows[args.large]
    added = args.large - args.small
    grown = (large["peak"] - small["peak"]) / added
    table = (large["table"] - small["table"]) / added
    print(
        f"peak RSS grows by {grown:,.0f} B per added replication; the table by {table:,.0f} B"
        f" (beyond the table: {grown - table:,.0f} B per replication)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
