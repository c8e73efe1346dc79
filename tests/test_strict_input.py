"""Whole-number keys are strict: a boolean, a decimal number or a string is refused (exit 2, at
``FILE:LINE:COL: KEY.PATH``), never read as a count or a seed; ``--set`` and the resolved
scenario of a run still give whole numbers that pass."""

from __future__ import annotations

from pathlib import Path

import pytest

import sim
from sim.cli import main
from sim.errors import InputError
from sim.scenario.pydantic_errors import whole_number_message

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
TINY_USER = ROOT / "tests" / "models" / "tiny.yaml"


def validate_errors(path: Path, capsys: pytest.CaptureFixture, *extra: str) -> list[str]:
    """``sim validate PATH``: asserts exit 2 and returns the problem lines."""
    assert main(["validate", str(path), *extra]) == 2
    return capsys.readouterr().err.strip().splitlines()


@pytest.mark.parametrize(
    ("line", "where", "message"),
    [
        ("replications: true", "2:15: replications", "got true (a boolean)"),
        ('replications: "50"', "2:15: replications", "got '50' (text: write it without quotes)"),
        ("replications: 50.0", "2:15: replications", "got 50.0 (a decimal number: write 50)"),
        ("replications: 1e3", "2:15: replications", "got 1000.0 (a decimal number: write 1000)"),
        ("seed: true", "2:7: seed", "got true (a boolean)"),
        ("seed: false", "2:7: seed", "got false (a boolean)"),
        ("seed: '7'", "2:7: seed", "got '7' (text: write it without quotes)"),
        ("seed: 2.5", "2:7: seed", "got 2.5 (a number with a fractional part)"),
        ("closure: {max_closures: true}", "2:25: closure.max_closures", "got true (a boolean)"),
        (
            "closure: {incidents_threshold: yes}",
            "2:32: closure.incidents_threshold",
            "got true (a boolean)",
        ),
        ("us: {sectors_per_deal: '2'}", "2:24: us.sectors_per_deal", "got '2' (text: write"),
        (
            "checkpoints: {a: {lanes: true, service_days: 0.02}}",
            "2:26: checkpoints.a.lanes",
            "got true (a boolean)",
        ),
        (
            "checkpoints: {a: {lanes: 1e20, service_days: 0.02}}",
            "2:26: checkpoints.a.lanes",
            "got 1e+20 (a decimal number)",
        ),
    ],
)
def test_scenario_whole_numbers_are_strict(
    tmp_path: Path, capsys: pytest.CaptureFixture, line: str, where: str, message: str
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(f"name: s\n{line}\n")
    errors = validate_errors(path, capsys)
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"{path}:{where}: expected a whole number, {message}")


def test_run_refuses_a_boolean_replications(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """`sim run` stops at the same problem before running anything."""
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nreplications: true\n")
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"{path}:2:15: replications: expected a whole number, got true (a boolean)"
    assert not (tmp_path / "out").exists()


def test_user_scenario_whole_numbers_are_strict(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(InputError) as caught:
        sim.load(TINY_USER, overrides=["seed=true", "replications='5'"])
    assert [str(p) for p in caught.value.problems] == [
        "--set:1:1: seed: expected a whole number, got true (a boolean)",
        "--set:2:1: replications: expected a whole number, got '5' (text: write it without quotes)",
    ]


def test_overrides_and_options_still_give_whole_numbers(capsys: pytest.CaptureFixture) -> None:
    """`--set replications=50` reads 50 as YAML: an int, accepted; so are -n and --seed."""
    scenario = sim.load(BASELINE, overrides=["replications=50", "seed=7"])
    assert (scenario.replications, scenario.seed) == (50, 7)
    assert type(scenario.replications) is int
    assert main(["validate", str(BASELINE), "--set", "replications=50"]) == 0
    assert "50 replications" in capsys.readouterr().out


def test_resolved_scenario_round_trip(tmp_path: Path) -> None:
    """`scenario.resolved.yaml` of a run is read back by `sim run` (its ints stay ints)."""
    source = tmp_path / "small.yaml"
    source.write_text(
        f"extends: {BASELINE}\nname: small\nreplications: 3\nfleet:\n  trucks_in_belarus: 20\n"
    )
    out = tmp_path / "out"
    assert main(["run", str(source), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    resolved = out / "small" / "scenario.resolved.yaml"
    assert resolved.is_file()
    again = tmp_path / "again"
    assert main(["run", str(resolved), "--out", str(again), "--workers", "1", "--quiet"]) == 0
    assert sim.load(resolved).replications == 3


SWEEP = """\
name: strict
base: {base}
method: lhs
samples: 4
replications: 2
parameters:
  hold.probability: {{low: 0.5, high: 1.0}}
  closure.max_closures: {{low: 1, high: 3, integer: true}}
"""


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("samples: 4", "samples: true", "4:10: samples"),
        ("samples: 4", "samples: 4.0", "4:10: samples"),
        ("replications: 2", 'replications: "2"', "5:15: replications"),
        ("method: lhs", "method: lhs\nseed: yes", "4:7: seed"),
        ("method: lhs", "method: lhs\nchunk_runs: 2.5", "4:13: chunk_runs"),
        ("method: lhs", "method: lhs\nresamples: true", "4:12: resamples"),
        ("method: lhs", "method: lhs\nlevels: '4'", "4:9: levels"),
    ],
)
def test_sweep_whole_numbers_are_strict(
    tmp_path: Path, capsys: pytest.CaptureFixture, old: str, new: str, where: str
) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text(SWEEP.format(base=BASELINE).replace(old, new))
    errors = validate_errors(path, capsys)
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"{path}:{where}: expected a whole number, got ")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, "expected a whole number, got true (a boolean)"),
        ("x" * 30, "expected a whole number, got 'xxxxxxxxxxxxxxxxx...' (text)"),
        (3.0, "expected a whole number, got 3.0 (a decimal number: write 3)"),
        (1e300, "expected a whole number, got 1e+300 (a decimal number)"),
    ],
)
def test_whole_number_message(value: object, expected: str) -> None:
    assert whole_number_message(value) == expected


def test_text_that_is_no_number(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Text that is not a number keeps pydantic's wording for an int."""
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nreplications: many\n")
    assert validate_errors(path, capsys) == [
        f"{path}:2:15: replications: Input should be a valid integer, unable to parse string as "
        "an integer (got 'many')"
    ]


def test_numpy_integers_from_python_are_whole_numbers() -> None:
    """A numpy integer given from Python (``seed=np.int64(3)``) is an int; a numpy bool or
    float is not."""
    import numpy as np
    from pydantic import ValidationError

    scenario = sim.load(BASELINE)
    data = scenario.model_dump(mode="json", by_alias=True)
    again = type(scenario).model_validate(
        {**data, "seed": np.int64(3), "replications": np.int32(4)}
    )
    assert (again.seed, again.replications) == (3, 4) and type(again.seed) is int
    for value in (np.bool_(True), np.float64(2.0)):
        with pytest.raises(ValidationError):
            type(scenario).model_validate({**data, "seed": value})
