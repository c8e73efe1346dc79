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


@pytest.mark.slow
def test_the_python_api_session_runs_as_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's `>>>` session of the Python API gives the output it shows (doctest)."""
    import doctest

    section = README.split("## The Python API", 1)[1].split("\n## ", 1)[0]
    session = section.split("```python\n", 1)[1].split("```", 1)[0]
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    monkeypatch.chdir(tmp_path)  # results/ of the session go to a temporary folder
    parser = doctest.DocTestParser()
    test = parser.get_doctest(session, {}, "README: The Python API", str(ROOT / "README.md"), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    results = runner.summarize(verbose=False)
    assert results.attempted >= 10
    assert results.failed == 0


def test_the_layout_names_every_module_and_benchmark() -> None:
    """The README's map of the code stays true: every package and module of sim/ and every
    benchmark script is named in its Layout section."""
    layout = README.split("## Layout", 1)[1].split("\n## ", 1)[0]
    missing = []
    for path in sorted((ROOT / "sim").rglob("*.py")):
        if path.name == "__init__.py" and path.parent != ROOT / "sim":
            if f"{path.parent.name}/" not in layout:
                missing.append(str(path.parent.relative_to(ROOT)))
        elif path.name not in ("__init__.py", "__main__.py") and path.name not in layout:
            missing.append(str(path.relative_to(ROOT)))
    for path in sorted((ROOT / "benchmarks").glob("*.py")):
        if path.name not in layout:
            missing.append(str(path.relative_to(ROOT)))
    assert missing == []
