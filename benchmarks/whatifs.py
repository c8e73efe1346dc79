"""The README's what-if table: every shipped what-if against the baseline, paired.

Usage::

    python benchmarks/whatifs.py [--replications N] [--seed S] [--workers W]

Runs the baseline and each what-if in scenarios/ with the same seed (common random numbers),
compares each with the baseline through ``sim.compare`` (paired differences B - A with 95%
confidence intervals; a time to an event by its restricted mean, a run without the event
counting as the horizon) and prints a Markdown table of the main outcomes, then the resolution
shares. Not a test: it prints figures for the README.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sim  # noqa: E402

WHATIFS = [
    "no-us-mediation",
    "compensation",
    "short-closure",
    "no-closure",
    "fee-halved",
    "early-carrier-talks",
    "confiscation",
    "second-closure",
    "double-fleet",
]
#: (outcome, heading, scale, format)
COLUMNS = [
    ("carrier_net_cost_eur", "carriers' net cost, EUR M", 1e6, "{:+.1f}"),
    ("trucks_held", "trucks held", 1, "{:+.0f}"),
    ("trucks_retrieved", "retrieved", 1, "{:+.0f}"),
    ("trucks_abandoned", "abandoned", 1, "{:+.0f}"),
    ("trucks_confiscated", "confiscated", 1, "{:+.0f}"),
    ("truck_days_held", "truck-days on the lots, thousands", 1e3, "{:+.0f}"),
    ("release_day", "release day (RMST)", 1, "{:+.1f}"),
    ("belarus_standoff_gain_eur", "Belarus's standoff gain, EUR M", 1e6, "{:+.1f}"),
    ("lithuania_fiscal_cost_eur", "Lithuania's fiscal cost, EUR M", 1e6, "{:+.1f}"),
]


def cell(entry: dict, scale: float, fmt: str) -> str:
    diff = entry.get("diff")
    if diff is None:
        return "n/a"
    low, high = entry["ci95"]
    return f"{fmt.format(diff / scale)} [{fmt.format(low / scale)}, {fmt.format(high / scale)}]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    options = {"replications": args.replications, "seed": args.seed, "progress": False}
    if args.workers:
        options["workers"] = args.workers
    base = sim.run(ROOT / "scenarios" / "baseline.yaml", **options)
    print(
        f"{args.replications} paired replications per what-if, seed {args.seed}; B - A with CI95\n"
    )
    print("| what-if | " + " | ".join(h for _, h, _, _ in COLUMNS) + " |")
    print("|---|" + "---|" * len(COLUMNS))
    shares = {}
    for name in WHATIFS:
        result = sim.run(ROOT / "scenarios" / f"{name}.yaml", **options)
        metrics = sim.compare(base, result).metrics
        cells = [cell(metrics[c], s, f) for c, s, f in [(c, s, f) for c, _, s, f in COLUMNS]]
        print(f"| {name} | " + " | ".join(cells) + " |")
        shares[name] = result.summary["categories"]["resolution"]
    shares = {"baseline": base.summary["categories"]["resolution"], **shares}
    print("\nresolution shares")
    kinds = sorted({k for s in shares.values() for k in s})
    print("| scenario | " + " | ".join(kinds) + " |")
    print("|---|" + "---|" * len(kinds))
    for name, share in shares.items():
        print(f"| {name} | " + " | ".join(f"{share.get(k, 0):.0%}" for k in kinds) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
