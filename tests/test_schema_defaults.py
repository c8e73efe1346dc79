"""The standoff schema's defaults are the baseline's, except sections documented as generic.

A scenario that leaves a key out gets the schema default, so a default that differs from the
baseline silently changes a what-if written without `extends:`. Every parameter and plain key
the baseline sets must equal the default, except in the sections whose defaults are generic
(a neutral starting point, said so in the README): the incident schedule and closure rule (no
incidents by default: a scenario says when the border closes) and the checkpoints (the case's
two crossings, without background traffic).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sim.model import load_scenario
from sim.model.standoff.schema import Scenario

ROOT = Path(__file__).resolve().parents[1]
#: Top-level sections whose defaults are generic, not the baseline's (README: scenario format).
GENERIC = ("incidents", "closure", "checkpoints")
#: Keys that name the scenario rather than the world.
OWN = ("name", "description", "seed", "replications", "extends")


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def test_defaults_are_the_baseline_outside_the_generic_sections() -> None:
    baseline, _ = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    default = Scenario.model_validate({"name": "defaults"})
    ours = flatten(baseline.model_dump(mode="json"))
    theirs = flatten(default.model_dump(mode="json"))
    differ = {
        key: (theirs.get(key), value)
        for key, value in ours.items()
        if key.split(".")[0] not in GENERIC + OWN and theirs.get(key) != value
    }
    assert not differ, "schema default != baseline (default, baseline):\n" + "\n".join(
        f"  {key}: {pair}" for key, pair in sorted(differ.items())
    )
