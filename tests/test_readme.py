"""The README stays true: it documents every parameter, outcome and shipped scenario."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.model import load_scenario
from sim.model.standoff import OUTCOMES, SERIES
from sim.scenario.distributions import iter_params

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_baseline_parameter_is_in_the_reference_table() -> None:
    scenario, _ = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    for path, info, dist in iter_params(scenario):
        row = f"| `{path}` | {info.scope} | {info.unit} | {dist.describe()} |"
        assert row in README, f"README's parameter table is out of date for {path}: {row}"


@pytest.mark.parametrize("outcome", OUTCOMES, ids=lambda o: o.name)
def test_every_outcome_column_is_documented(outcome) -> None:
    assert f"| `{outcome.name}` |" in README


def test_series_and_scenarios_are_documented() -> None:
    for name in SERIES:
        assert f"`{name}`" in README
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        assert f"`{path.name}`" in README, f"{path.name} is not in the README's scenario table"
