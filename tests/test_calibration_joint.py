"""parameters_from: a scenario drawing key paths jointly from a posterior table, usable by
run, sweep and compare, and checked at load like every input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import Cli

import sim
from sim.errors import InputError

MODELS = Path(__file__).parent / "models"


def write_posterior(folder: Path, **columns: list[float]) -> Path:
    """Two populations; the last has particles (mu, fail_above) = (1, 1001), (2, 1002),
    (3, 1003) with weights 0.2, 0.5, 0.3 (the first population has other values)."""
    data = {
        "population": [0, 0, 0, 1, 1, 1],
        "particle": [0, 1, 2, 0, 1, 2],
        "weight": [1 / 3, 1 / 3, 1 / 3, 0.2, 0.5, 0.3],
        "parameters.mu": [9.0, 9.0, 9.0, 1.0, 2.0, 3.0],
        "parameters.fail_above": [1009.0, 1009.0, 1009.0, 1001.0, 1002.0, 1003.0],
        **columns,
    }
    path = folder / "posterior.parquet"
    pq.write_table(pa.table(data), path)
    return path


def write_scenario(folder: Path, text: str = "", name: str = "joint") -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(
        f"extends: {MODELS / 'normal-mean.yaml'}\nname: {name}\nmodel_dir: {MODELS}\n"
        f"parameters_from: {{file: posterior.parquet}}\n{text}"
    )
    return path


def test_every_replication_draws_one_particle_jointly(tmp_path: Path) -> None:
    write_posterior(tmp_path)
    result = sim.run(write_scenario(tmp_path), replications=4000, seed=2)
    y = result.runs.column("y").to_numpy()
    limit = result.runs.column("limit").to_numpy()
    # Both parameters of a replication come from the same particle of the last population.
    assert np.array_equal(limit - y, np.full(len(y), 1000.0))
    shares = [np.mean(y == value) for value in (1.0, 2.0, 3.0)]
    # 4000 draws: each share within 4 binomial standard errors of its weight.
    for share, weight in zip(shares, (0.2, 0.5, 0.3), strict=True):
        assert abs(share - weight) < 4 * np.sqrt(weight * (1 - weight) / 4000)


def test_the_population_can_be_chosen_and_the_scenario_resolves_the_path(tmp_path: Path) -> None:
    write_posterior(tmp_path)
    scenario = sim.load(write_scenario(tmp_path), ["parameters_from.population=0"])
    assert Path(scenario.parameters_from.file).is_absolute()  # type: ignore[attr-defined]
    result = sim.run(scenario, replications=20, seed=2)
    assert set(result.runs.column("y").to_numpy()) == {9.0}
    saved = result.save(tmp_path / "out")
    reopened = sim.run(saved / "scenario.resolved.yaml", replications=20, seed=2)
    assert reopened.runs.column("y").to_numpy().tolist() == [9.0] * 20


def test_a_scenario_without_parameters_from_dumps_as_before(tmp_path: Path) -> None:
    scenario = sim.load(MODELS / "normal-mean.yaml")
    assert "parameters_from" not in scenario.model_dump(mode="json", by_alias=True)


def test_sweep_and_compare_work_on_a_posterior_scenario(tmp_path: Path) -> None:
    write_posterior(tmp_path)
    base = write_scenario(tmp_path)
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(
        f"name: over-offset\nbase: {base.name}\nmethod: list\nreplications: 200\nseed: 4\n"
        "parameters:\n  parameters.offset: {values: [0, 10]}\n"
    )
    result = sim.sweep(sweep, out=tmp_path / "sweeps", workers=1)
    points = result.points().to_pandas()
    means = points[points["outcome"] == "y"].sort_values("point")["mean"].to_numpy()
    # Common random numbers: both points draw the same particles, 10 apart.
    assert means[1] - means[0] == pytest.approx(10.0)
    a = sim.run(base, replications=300, seed=7)
    b = sim.run(write_scenario(tmp_path, "parameters: {offset: 10}\n", "shifted"), 300, seed=7)
    comparison = sim.compare(a, b)
    assert comparison.paired
    assert comparison.metrics["y"]["diff"] == pytest.approx(10.0)


@pytest.mark.parametrize(
    ("columns", "file", "expected"),
    [
        ({"parameters.nope": [0.0] * 6}, "posterior.parquet", "column 'parameters.nope'"),
        ({}, "missing.parquet", "no such file"),
        ({"weight": [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]}, "posterior.parquet", "sum to zero"),
    ],
)
def test_a_bad_posterior_table_is_refused_at_parameters_from(
    tmp_path: Path, columns: dict[str, list[float]], file: str, expected: str
) -> None:
    write_posterior(tmp_path, **columns)
    path = write_scenario(tmp_path)
    path.write_text(path.read_text().replace("posterior.parquet", file))
    with pytest.raises(InputError) as caught:
        sim.load(path)
    problem = caught.value.problems[0]
    assert problem.path == "parameters_from.file" and expected in problem.message
    assert problem.file == str(path) and problem.line == 4


def test_params_says_which_parameters_come_from_the_posterior(cli: Cli) -> None:
    scenario = Path(__file__).resolve().parents[1] / "scenarios" / "baseline-calibrated.yaml"
    status, out, _ = cli("params", scenario)
    assert status == 0
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    joint = "joint: one of 1,000 particles of calibration-posterior.parquet"
    assert rows["evacuation.share"].endswith(joint)
    assert rows["us.trucks_offer_eur"].endswith(f"; mean {joint}")
    assert joint not in rows["hold.probability"]
