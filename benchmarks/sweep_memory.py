"""Peak memory of a sweep against its size: runs stream to disk, so memory stays flat.

Runs the same Latin-hypercube sweep (a 200-truck variant of the baseline, so that 100,000
runs take a minute or two) at 1,000 and at 100,000 runs, each in a fresh process, and prints
the peak resident memory of the process that collects and writes the results and of its
workers.

    python benchmarks/sweep_memory.py [--small 1000] [--large 100000] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys
from pathlib import Path
from sim.sweeps import load_sweep, run_sweep
out = Path(sys.argv[2])
outcome = run_sweep(load_sweep(sys.argv[1]), out=out, workers=int(sys.argv[3]), progress=None)
size = sum(p.stat().st_size for p in outcome.folder.iterdir())
print(json.dumps({
    "runs": outcome.runs,
    "seconds": outcome.elapsed_seconds,
    "parent_peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "worker_peak_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    "folder_mib": size / 2**20,
}))
"""


def sweep_file(folder: Path, runs: int) -> Path:
    (folder / "base.yaml").write_text(
        f"extends: {ROOT / 'scenarios' / 'baseline.yaml'}\nname: small\n"
        "fleet:\n  trucks_in_belarus: 200\n"
    )
    replications = 10
    path = folder / f"sweep-{runs}.yaml"
    path.write_text(
        f"name: memory-{runs}\nbase: base.yaml\nmethod: lhs\nsamples: {runs // replications}\n"
        f"replications: {replications}\nseed: 1\nparameters:\n"
        "  detention.storage_fee_eur_per_day: {low: 30, high: 200}\n"
        "  us.deal_probability: {low: 0.3, high: 1.0}\n"
        "  hold.probability: {low: 0.5, high: 1.0}\n"
    )
    return path


def measure(runs: int, workers: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = sweep_file(folder, runs)
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-c", CHILD, str(path), str(folder / "out"), str(workers)],
            check=True,
            capture_output=True,
            text=True,
        )
        figures: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
        figures["wall_seconds"] = time.perf_counter() - started
        return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    rows = [measure(n, args.workers) for n in (args.small, args.large)]
    print(
        f"{'runs':>9} {'seconds':>8} {'runs/s':>8} {'parent peak':>12} {'worker peak':>12} "
        f"{'folder':>9}"
    )
    for row in rows:
        print(
            f"{row['runs']:>9,} {row['seconds']:>8.1f} {row['runs'] / row['seconds']:>8.0f} "
            f"{row['parent_peak_mib']:>9.0f} MiB {row['worker_peak_mib']:>8.0f} MiB "
            f"{row['folder_mib']:>5.1f} MiB"
        )
    growth = rows[1]["parent_peak_mib"] / rows[0]["parent_peak_mib"]
    ratio = rows[1]["runs"] / rows[0]["runs"]
    print(f"\n{ratio:.0f}x the runs, {growth:.2f}x the parent's peak memory")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
