"""Speed benchmark: the engine against a naive per-truck SimPy version of the same model.

Usage::

    python benchmarks/speed.py [--scenario scenarios/baseline.yaml] [--replications N]
                               [--naive-replications M] [--seed S] [--min-ratio R]
                               [--min-rate N] [--cpu C]

On one core of this process (the process is pinned to a single CPU where the OS allows it),
the script times ``StandoffModel.run_replication`` (the engine) and
``NaiveStandoffModel.run_replication`` (``benchmarks/naive_standoff.py``) on the same scenario,
after one untimed warm-up replication each, and prints replications per second and their
ratio (target: at least ``--min-ratio``, 20 by default) and the engine's own rate (target: at
least ``--min-rate`` replications per second, 500 by default; 0 checks nothing, e.g. for a
what-if heavier than the baseline). The two run in alternating blocks
(``--blocks``, 20 by default), so that other load on a shared machine slows both alike.

It then checks that the two agree in distribution, which is what makes the ratio meaningful:

- for every numeric outcome both produce, a Welch t-test of the means
  (``scipy.stats.ttest_ind(equal_var=False)``) on the non-empty values;
- for every nullable outcome that is empty in some runs, Fisher's exact test of the share of
  empty values;
- for each category outcome (``release_channel``, ``resolution``), a chi-square test of the
  category shares.

All tests together hold a family-wise alpha of 0.001 (Bonferroni: each test at 0.001 / m).
The exit status is 1 if any test rejects or the ratio is below the target.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from naive_standoff import NaiveStandoffModel  # noqa: E402
from scipy import stats  # noqa: E402

from sim.model.standoff import StandoffModel  # noqa: E402
from sim.model.standoff.schema import Scenario  # noqa: E402
from sim.seeding import Streams  # noqa: E402

FAMILY_ALPHA = 0.001
WIDTH = 50  # of the outcome column
NAIVE_OFFSET = 1_000_000  # the naive runs use replication indices from here: independent streams

Outcomes = dict[str, Any]

#: Category outcomes compared by a chi-square test of their shares.
CATEGORIES = ("release_channel", "resolution")


def pin_to_one_core(cpu: int | None = None) -> str:
    """Restrict this process to one CPU (Linux; ``cpu``, default the lowest allowed); returns
    a description for the header."""
    if hasattr(os, "sched_setaffinity"):
        if cpu is None:
            cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity)"


def load_scenario(path: Path) -> Scenario:
    """The project's loader (with ``extends:``) if it is there, else plain YAML."""
    try:
        from sim.scenario import load_document, validate
    except ImportError:
        import yaml

        with path.open(encoding="utf-8") as handle:
            return Scenario.model_validate(yaml.safe_load(handle))
    return validate(load_document(path), Scenario)


def interleaved_runs(
    engine: Callable[[Streams], Outcomes],
    naive: Callable[[Streams], Outcomes],
    seed: int,
    counts: tuple[int, int],
    blocks: int,
) -> tuple[list[Outcomes], float, list[Outcomes], float]:
    """Both models' replications in ``blocks`` alternating blocks, so that a change in the
    machine's load (other processes on a shared core) weighs on both alike; returns each
    model's outcomes and seconds. One untimed warm-up replication each first, then a full
    garbage collection, so that collecting what start-up left (imports, scenario loading)
    falls into neither model's time."""
    engine(Streams(seed, counts[0]))
    naive(Streams(seed, NAIVE_OFFSET + counts[1]))
    gc.collect()
    results: tuple[list[Outcomes], list[Outcomes]] = ([], [])
    seconds = [0.0, 0.0]
    blocks = max(1, blocks)
    for block in range(blocks):
        for which, (run, first) in enumerate(((engine, 0), (naive, NAIVE_OFFSET))):
            lo = counts[which] * block // blocks
            hi = counts[which] * (block + 1) // blocks
            start = time.perf_counter()
            for i in range(first + lo, first + hi):
                results[which].append(run(Streams(seed, i)))
            seconds[which] += time.perf_counter() - start
    return results[0], seconds[0], results[1], seconds[1]


def is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def welch(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value of Welch's t-test; degenerate (constant) samples handled."""
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    if x.var() == 0 and y.var() == 0:
        return 1.0 if x.mean() == y.mean() else 0.0
    with warnings.catch_warnings():  # nearly constant samples (e.g. one closure in almost
        warnings.simplefilter("ignore", RuntimeWarning)  # every run): scipy warns, still exact
        return float(stats.ttest_ind(x, y, equal_var=False).pvalue)


def mean_or_none(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if values else None


def fmt(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if abs(x) >= 1e5:
        return f"{x:.4g}"
    return f"{x:.2f}"


def compare(engine: list[Outcomes], naive: list[Outcomes]) -> list[str]:
    """Print the agreement table; return the reasons of any failure."""
    names = [
        k
        for k in engine[0]
        if k in naive[0] and k not in CATEGORIES and any(is_number(o[k]) for o in engine + naive)
    ]
    missing = sorted(set(engine[0]) - set(naive[0]))
    if missing:
        print(f"outcomes the naive version does not produce (not compared): {', '.join(missing)}")
    rows: list[tuple[str, str, str, float | None]] = []  # name, engine, naive, p-value
    for name in names:
        e = [float(o[name]) for o in engine if o[name] is not None]
        n = [float(o[name]) for o in naive if o[name] is not None]
        p = welch(e, n) if len(e) >= 2 and len(n) >= 2 else None
        rows.append((name, fmt(mean_or_none(e)), fmt(mean_or_none(n)), p))
        e_null = len(engine) - len(e)
        n_null = len(naive) - len(n)
        if e_null or n_null:
            p = float(stats.fisher_exact([[e_null, len(e)], [n_null, len(n)]]).pvalue)
            rows.append(
                (
                    f"{name} (empty share)",
                    f"{e_null / len(engine):.3f}",
                    f"{n_null / len(naive):.3f}",
                    p,
                )
            )

    shares: list[tuple[str, list[str], np.ndarray, float | None]] = []
    for category in CATEGORIES:
        if category not in engine[0] or category not in naive[0]:
            continue
        levels = sorted({o[category] for o in engine + naive})
        counts = np.array(
            [[sum(o[category] == c for o in runs) for c in levels] for runs in (engine, naive)]
        )
        p_value = float(stats.chi2_contingency(counts).pvalue) if len(levels) > 1 else None
        shares.append((category, levels, counts, p_value))

    tested = [(r[3], r[0]) for r in rows if r[3] is not None]
    tested += [(s[3], f"{s[0]} shares") for s in shares if s[3] is not None]
    tests = len(tested)
    alpha = FAMILY_ALPHA / max(1, tests)
    failures = []
    print(f"\nAgreement: {tests} tests, Bonferroni alpha {FAMILY_ALPHA} / {tests} = {alpha:.2e}")
    print(f"{'outcome':<{WIDTH}} {'engine':>12} {'naive':>12} {'p-value':>9}  ok")
    for name, e_text, n_text, p in rows:
        if p is None:
            print(f"{name:<{WIDTH}} {e_text:>12} {n_text:>12} {'-':>9}  n/a (too few values)")
            continue
        ok = p >= alpha
        print(f"{name:<{WIDTH}} {e_text:>12} {n_text:>12} {p:>9.3g}  {'yes' if ok else 'NO'}")
        if not ok:
            failures.append(f"{name}: engine {e_text} vs naive {n_text} (p = {p:.3g})")

    for category, levels, counts, p_value in shares:
        print(f"\n{category} shares (chi-square test of the counts)")
        print(f"{'category':<22} {'engine':>8} {'naive':>8}")
        for index, level in enumerate(levels):
            print(
                f"{level:<22} {counts[0, index] / len(engine):>8.3f} "
                f"{counts[1, index] / len(naive):>8.3f}"
            )
        if p_value is None:
            print("only one category occurs in both: nothing to test")
            continue
        ok = p_value >= alpha
        print(f"chi-square p-value {p_value:.3g}  ok: {'yes' if ok else 'NO'}")
        if not ok:
            failures.append(f"{category} shares differ (p = {p_value:.3g})")
    if tested:
        lowest, name = min(tested)
        print(f"\nlowest p-value: {lowest:.3g} ({name}); alpha per test {alpha:.2e}")
    return failures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="scenarios/baseline.yaml")
    parser.add_argument(
        "--replications", type=int, default=1000, help="engine replications (default 1000)"
    )
    parser.add_argument(
        "--naive-replications", type=int, default=200, help="naive replications (default 200)"
    )
    parser.add_argument("--seed", type=int, default=None, help="default: the scenario's seed")
    parser.add_argument(
        "--min-ratio", type=float, default=20.0, help="speed-up the engine must reach (default 20)"
    )
    parser.add_argument(
        "--min-rate",
        type=float,
        default=500.0,
        help="replications/s the engine must reach on one core (default 500; 0: no check)",
    )
    parser.add_argument(
        "--blocks",
        type=int,
        default=20,
        help="alternating timed blocks of engine and naive replications (default 20)",
    )
    parser.add_argument(
        "--cpu", type=int, default=None, help="CPU to pin to (default: the lowest allowed)"
    )
    args = parser.parse_args(argv)

    path = Path(args.scenario)
    if not path.exists() and (ROOT / path).exists():
        path = ROOT / path
    scenario = load_scenario(path)
    seed = scenario.seed if args.seed is None else args.seed
    pinned = pin_to_one_core(args.cpu)
    print(f"scenario {scenario.name} ({path}), seed {seed}, {pinned}")

    engine_model = StandoffModel(scenario)
    naive_model = NaiveStandoffModel(scenario)
    engine, engine_s, naive, naive_s = interleaved_runs(
        lambda s: engine_model.run_replication(s).outcomes,
        naive_model.run_replication,
        seed,
        (args.replications, args.naive_replications),
        args.blocks,
    )
    engine_rate = len(engine) / engine_s
    naive_rate = len(naive) / naive_s
    ratio = engine_rate / naive_rate
    print(
        f"\nengine: {len(engine):>5} replications in {engine_s:7.2f} s = "
        f"{engine_rate:8.2f} replications/s ({1000 / engine_rate:7.2f} ms each)"
    )
    print(
        f"naive:  {len(naive):>5} replications in {naive_s:7.2f} s = "
        f"{naive_rate:8.2f} replications/s ({1000 / naive_rate:7.2f} ms each)"
    )
    print(f"speed-up: {ratio:.1f}x (target >= {args.min_ratio:g}x)")
    if args.min_rate > 0:
        print(f"engine rate: {engine_rate:.1f}/s (target >= {args.min_rate:g}/s on one core)")

    failures = compare(engine, naive)
    if ratio < args.min_ratio:
        failures.append(f"speed-up {ratio:.1f}x is below the target {args.min_ratio:g}x")
    if engine_rate < args.min_rate:
        failures.append(
            f"the engine's {engine_rate:.1f} replications/s are below the target "
            f"{args.min_rate:g}/s"
        )
    if failures:
        print("\nFAILED:")
        for reason in failures:
            print(f"  - {reason}")
        return 1
    print("\nOK: the engine and the naive version agree, and the engine meets its targets.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
