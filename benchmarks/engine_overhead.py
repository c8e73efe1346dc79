"""Engine overhead: what a sweep costs beyond its model, and whether its memory stays flat.

With a trivial user model (``tests/models/tiny.py``, ``two_outputs``: two additions and one
normal draw), prints

- the model itself: the time per call of the function, called directly with a parameters dict
  and a generator made once (no framework at all);
- a sweep in one process (``workers: 1``): its wall time per run, and the framework time per
  run (the sweep's time per run minus the direct call's; target at most 0.05 ms);
- the share of the sweep's wall time spent assembling the final folder after the last run
  (target under 10%), and what ``--dry-run`` estimated, assembly included;
- the parent process's peak memory at two sweep sizes, each in a fresh process, with the same
  chunk size (target: flat in the number of runs; the automatic chunk size grows with the
  sweep up to about 0.5 s of work, and a chunk's buffers with it).

It is a benchmark, not a test: it prints figures and exits 0.

    python benchmarks/engine_overhead.py [--runs 50000] [--small 50000] [--large 500000]
                                         [--replications 10] [--chunk-runs 5000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "tests" / "models"

# The sweep in a fresh process. ``assembly_seconds`` is the time after the last run as the
# sweep reports it; an older engine that does not report it is timed around its assemble().
CHILD = r"""
import json, resource, sys, time
from pathlib import Path
import sim.sweeps.assemble
from sim.sweeps import load_sweep, run_sweep
timed = []
assemble = sim.sweeps.assemble.assemble
def timed_assemble(*args, **kwargs):
    begun = time.perf_counter()
    try:
        return assemble(*args, **kwargs)
    finally:
        timed.append(time.perf_counter() - begun)
sim.sweeps.assemble.assemble = timed_assemble
started = time.perf_counter()
outcome = run_sweep(load_sweep(sys.argv[1]), out=Path(sys.argv[2]), workers=1, progress=None)
print(json.dumps({
    "runs": outcome.runs,
    "seconds": time.perf_counter() - started,
    "assembly_seconds": getattr(outcome, "assembly_seconds", None) or sum(timed),
    "parent_peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def sweep_file(folder: Path, runs: int, replications: int, chunk_runs: int | None = None) -> Path:
    """A Latin-hypercube sweep of ``runs`` runs over the tiny model's two parameters (chunks of
    ``chunk_runs`` runs, else the automatic size)."""
    path = folder / f"sweep-{runs}.yaml"
    chunking = f"chunk_runs: {chunk_runs}\n" if chunk_runs else ""
    path.write_text(
        f"name: overhead-{runs}\nbase: {MODELS / 'tiny.yaml'}\nmethod: lhs\n"
        f"samples: {runs // replications}\nreplications: {replications}\nseed: 1\n{chunking}"
        "parameters:\n"
        "  parameters.a: {low: 0, high: 1}\n"
        "  parameters.b: {low: 1, high: 3}\n"
    )
    return path


def direct_seconds_per_call(calls: int) -> float:
    """The model function alone: a parameters dict and one generator, made once."""
    sys.path.insert(0, str(MODELS))
    from tiny import two_outputs  # type: ignore[import-not-found]

    rng = np.random.default_rng(1)
    parameters = {"a": 0.5, "b": 2.0}
    started = time.perf_counter()
    for _ in range(calls):
        two_outputs(parameters, rng)
    return (time.perf_counter() - started) / calls


def run_child(path: Path, out: Path) -> dict[str, float]:
    """Run one sweep in a fresh process; its JSON line of figures."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(out)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def dry_run_estimate(path: Path) -> str:
    """What ``sim sweep --dry-run --workers 1`` says it will take."""
    done = subprocess.run(
        [sys.executable, "-m", "sim", "sweep", str(path), "--dry-run", "--workers", "1"],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return done.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50_000, help="runs of the timed sweep")
    parser.add_argument("--small", type=int, default=50_000, help="runs of the small sweep")
    parser.add_argument("--large", type=int, default=500_000, help="runs of the large sweep")
    parser.add_argument("--replications", type=int, default=10, help="replications per point")
    parser.add_argument(
        "--chunk-runs", type=int, default=5_000, help="chunk size of the two memory sweeps"
    )
    args = parser.parse_args()

    direct = direct_seconds_per_call(200_000)
    print(f"model function called directly: {direct * 1e3:.4f} ms/call")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = sweep_file(folder, args.runs, args.replications)
        print(f"dry run: {dry_run_estimate(path)}")
        timed = run_child(path, folder / "out")
        per_run = timed["seconds"] / timed["runs"]
        print(
            f"sweep of {int(timed['runs']):,} runs in one process: {timed['seconds']:.2f} s, "
            f"{per_run * 1e3:.4f} ms/run; framework {(per_run - direct) * 1e3:.4f} ms/run "
            "(target <= 0.05)"
        )
        if timed["assembly_seconds"] is not None:
            share = timed["assembly_seconds"] / timed["seconds"]
            print(
                f"assembly after the last run: {timed['assembly_seconds']:.2f} s, "
                f"{share:.1%} of the sweep's wall time (target < 10%)"
            )
        print(f"peak memory of the parent, chunks of {args.chunk_runs:,} runs:")
        for runs in (args.small, args.large):
            path = sweep_file(folder, runs, args.replications, args.chunk_runs)
            figures = run_child(path, folder / f"out-{runs}")
            assembly = figures["assembly_seconds"]
            share = f", assembly {assembly / figures['seconds']:.1%}" if assembly else ""
            print(
                f"{int(figures['runs']):>9,} runs: {figures['seconds']:6.1f} s{share}, "
                f"parent peak {figures['parent_peak_mib']:.0f} MiB"
            )


if __name__ == "__main__":
    main()
