"""Scenario discovery (``sim discover``): PRIM boxes on synthetic sweep folders whose answer is
known, the discovery.json file, per-run mode, nulls, bad input, and one real sweep end to end."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sim.analysis.discover import discover, inside
from sim.cli import main

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"

#: The keys another helper's report code reads from every box.
BOX_KEYS = {
    "outcome",
    "direction",
    "threshold",
    "threshold_share",
    "coverage",
    "density",
    "mass",
    "cases",
    "points",
    "limits",
    "restricted",
    "trajectory",
}
#: How far PRIM's limits may sit from the true edges of the region (in units of [0, 1]).
EDGE = 0.05
#: The least coverage and density of a box around a noise-free region. (PRIM's last peels may
#: shave a case or two off the edges, so coverage stays a little under 1.)
COVERAGE, DENSITY = 0.9, 0.95


def latin_hypercube(points: int, keys: list[str], seed: int) -> dict[str, np.ndarray]:
    """One point in each of ``points`` equal strata of [0, 1] for every key."""
    rng = np.random.default_rng(seed)
    return {key: (rng.permutation(points) + rng.random(points)) / points for key in keys}


def write_folder(
    folder: Path,
    design: dict[str, Any],
    outcomes: dict[str, Any],
    replications: int,
    *,
    errors: list[str | None] | None = None,
    null_as: dict[str, float] | None = None,
) -> Path:
    """A sweep folder as ``sim sweep`` writes it: design.parquet, runs.parquet, summary.json.

    ``design`` maps each key to one value per point; ``outcomes`` maps each outcome to a
    function ``(design columns, replication) -> one value per point`` (a value or None).
    """
    folder.mkdir(parents=True, exist_ok=True)
    points = len(next(iter(design.values())))
    table = {"point": np.arange(points, dtype=np.int64), **design}
    pq.write_table(pa.table(table), folder / "design.parquet")
    rows: dict[str, list[Any]] = {"point": [], "replication": [], "seed": []}
    rows.update({key: [] for key in design})
    rows["error"] = []
    rows.update({name: [] for name in outcomes})
    for point in range(points):
        for replication in range(replications):
            rows["point"].append(point)
            rows["replication"].append(replication)
            rows["seed"].append(7)
            for key, values in design.items():
                value = values[point]
                rows[key].append(value.item() if isinstance(value, np.generic) else value)
            run = point * replications + replication
            rows["error"].append(errors[run] if errors else None)
    for name, make in outcomes.items():
        for point in range(points):
            for replication in range(replications):
                values = make({k: v[point] for k, v in design.items()}, replication)
                rows[name].append(None if values is None else values)
    pq.write_table(pa.table(rows), folder / "runs.parquet")
    summary = {
        "sweep": folder.name,
        "method": "lhs",
        "parameters": list(design),
        "points": points,
        "replications": replications,
        "outputs": list(outcomes),
        "null_as": null_as or {},
    }
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder


def corner(p: dict[str, Any], replication: int) -> float:
    """1 in the corner x1 > 0.6, x2 < 0.3 of the unit cube, else 0 (no noise)."""
    return 1.0 if p["x1"] > 0.6 and p["x2"] < 0.3 else 0.0


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """500 LHS points of x1, x2, x3 in [0, 1], 3 replications; y is 1 in the corner, z = x3."""
    design = latin_hypercube(500, ["x1", "x2", "x3"], seed=11)
    outcomes = {
        "y": corner,
        "z": lambda p, r: float(p["x3"]),
        "count": lambda p, r: int(p["x1"] > 0.5) * 10,
    }
    return write_folder(tmp_path_factory.mktemp("synthetic") / "sweep", design, outcomes, 3)


def run_json(args: list[str], capsys: pytest.CaptureFixture) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["discover", *args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def stored(folder: Path) -> list[dict[str, Any]]:
    boxes = json.loads((folder / "discovery.json").read_text())
    assert isinstance(boxes, list)
    return boxes


def assert_consistent(entry: dict[str, Any]) -> None:
    """Coverage, density and mass agree with the counts, and the box follows the rule."""
    assert entry["coverage"] == pytest.approx(entry["cases_in_box"] / entry["cases"])
    assert entry["density"] == pytest.approx(entry["cases_in_box"] / entry["n_in_box"])
    assert entry["mass"] == pytest.approx(entry["n_in_box"] / entry["n"])
    chosen = entry["trajectory"][entry["step"]]
    assert {k: chosen[k] for k in ("coverage", "density", "mass")} == {
        k: entry[k] for k in ("coverage", "density", "mass")
    }
    eligible = [row for row in entry["trajectory"] if row["coverage"] >= entry["min_coverage"]]
    assert chosen["density"] == max(row["density"] for row in eligible)


def test_finds_the_corner(synthetic: Path, capsys: pytest.CaptureFixture) -> None:
    entry = run_json([str(synthetic), "--outcome", "y", "--above", "0.5"], capsys)
    limits = entry["limits"]
    assert sorted(entry["restricted"]) == ["x1", "x2"]
    assert abs(limits["x1"][0] - 0.6) <= EDGE and limits["x1"][1] >= 1 - EDGE
    assert limits["x2"][0] <= EDGE and abs(limits["x2"][1] - 0.3) <= EDGE
    assert limits["x3"] == entry["ranges"]["x3"]  # unrestricted: the full range in the data
    assert entry["coverage"] >= COVERAGE and entry["density"] >= DENSITY
    design = pq.read_table(synthetic / "design.parquet").to_pandas()
    assert entry["cases"] == int(((design.x1 > 0.6) & (design.x2 < 0.3)).sum())
    assert entry["points"] == entry["n"] == 500 and entry["runs"] == 1500
    assert entry["unit"] == "point" and entry["threshold_share"] == 0.5
    assert_consistent(entry)
    assert entry["quasi_p"]["x1"] < 1e-6 and entry["quasi_p"]["x2"] < 1e-6


def test_json_shape_and_file(synthetic: Path, capsys: pytest.CaptureFixture) -> None:
    entry = run_json([str(synthetic), "--outcome", "y", "--above", "0.5"], capsys)
    [box] = [b for b in stored(synthetic) if b["outcome"] == "y"]
    assert box == entry
    assert BOX_KEYS <= set(box)
    assert box["direction"] == "above" and box["threshold"] == 0.5
    assert set(box["limits"]) == {"x1", "x2", "x3"}
    assert all(len(v) == 2 and v[0] <= v[1] for v in box["limits"].values())
    assert set(box["restricted"]) <= set(box["limits"])
    assert box["trajectory"][0] == {
        "step": 0,
        "coverage": 1.0,
        "density": box["cases"] / box["n"],
        "mass": 1.0,
        "restricted_dims": 0,
    }
    for row in box["trajectory"]:
        assert {"coverage", "density", "mass"} <= set(row)
        assert 0 <= row["coverage"] <= 1 and 0 <= row["density"] <= 1 and 0 < row["mass"] <= 1
    assert not [p.name for p in synthetic.iterdir() if p.name.startswith(".")]  # no temp file


def test_method_names_the_implementation(synthetic: Path, capsys: pytest.CaptureFixture) -> None:
    entry = run_json([str(synthetic), "--outcome", "y", "--above", "0.5"], capsys)
    assert entry["method"] == "PRIM (sim.analysis.prim)"


def test_table(synthetic: Path, capsys: pytest.CaptureFixture) -> None:
    capsys.readouterr()
    assert main(["discover", str(synthetic), "--outcome", "y", "--above", "0.5"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert re.search(r"cases of interest: \d+ of 500 points \(\d+\.\d%\)", captured.out)
    assert re.search(r"coverage \d+\.\d%  density \d+\.\d%  mass \d+\.\d%", captured.out)
    header = next(line for line in lines if line.startswith("parameter"))
    assert header.split() == ["parameter", "box", "range", "full", "range", "quasi-p"]
    assert any(line.startswith("x1 ") and "[0.6" in line for line in lines)
    assert "not restricted: x3" in captured.out
    assert "peeling trajectory" in captured.out
    assert f"wrote {synthetic / 'discovery.json'}" in captured.err


def test_entries_are_replaced_per_question(synthetic: Path, capsys: pytest.CaptureFixture) -> None:
    folder = synthetic
    (folder / "discovery.json").unlink(missing_ok=True)
    run_json([str(folder), "--outcome", "y", "--above", "0.5"], capsys)
    run_json([str(folder), "--outcome", "z", "--below", "0.25"], capsys)
    run_json([str(folder), "--outcome", "y", "--above", "0.5", "--min-coverage", "0.9"], capsys)
    run_json([str(folder), "--outcome", "y", "--above", "0.25"], capsys)
    boxes = stored(folder)
    assert [(b["outcome"], b["direction"], b["threshold"]) for b in boxes] == [
        ("y", "above", 0.5),
        ("z", "below", 0.25),
        ("y", "above", 0.25),
    ]
    assert boxes[0]["min_coverage"] == 0.9  # the latest run of the same question


def test_below(synthetic: Path, capsys: pytest.CaptureFixture) -> None:
    entry = run_json([str(synthetic), "--outcome", "z", "--below", "0.25"], capsys)
    assert entry["direction"] == "below"
    assert entry["restricted"] == ["x3"]
    assert entry["limits"]["x3"][0] <= EDGE and abs(entry["limits"]["x3"][1] - 0.25) <= EDGE
    assert entry["coverage"] >= COVERAGE and entry["density"] >= DENSITY
    assert_consistent(entry)


def test_integer_outcome(synthetic: Path, capsys: pytest.CaptureFixture) -> None:
    entry = run_json([str(synthetic), "--outcome", "count", "--above", "5"], capsys)
    assert entry["restricted"] == ["x1"] and abs(entry["limits"]["x1"][0] - 0.5) <= EDGE


def test_threshold_share(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A point is a case when at least the share of its replications meets the condition."""
    design = latin_hypercube(200, ["x1", "x2"], seed=3)
    # Above 0.5 in replications 0, 1, 2 of 4 (share 0.75) where x1 > 0.5; else in none.
    outcomes = {"y": lambda p, r: 1.0 if p["x1"] > 0.5 and r < 3 else 0.0}
    folder = write_folder(tmp_path / "sweep", design, outcomes, 4)
    entry = run_json([str(folder), "--outcome", "y", "--above", "0.5"], capsys)
    assert entry["cases"] == 100 and entry["restricted"] == ["x1"]
    entry = run_json(
        [str(folder), "--outcome", "y", "--above", "0.5", "--threshold-share", "0.75"], capsys
    )
    assert entry["cases"] == 100 and entry["threshold_share"] == 0.75
    assert main(["discover", str(folder), "--outcome", "y", "--above", "0.5",
                 "--threshold-share", "0.8"]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "no case of interest" in err and "at least 80% of a point's replications" in err
    # Run by run, the same data: 3 of the 4 runs of each x1 > 0.5 point are cases.
    entry = run_json([str(folder), "--outcome", "y", "--above", "0.5", "--per-run"], capsys)
    assert entry["unit"] == "run" and entry["threshold_share"] is None
    assert entry["n"] == entry["runs"] == 800 and entry["points"] == 200
    assert entry["cases"] == 300
    assert entry["restricted"] == ["x1"] and abs(entry["limits"]["x1"][0] - 0.5) <= EDGE
    assert entry["density"] == pytest.approx(0.75, abs=0.03)
    assert_consistent(entry)


def test_per_run_finds_the_corner(synthetic: Path, capsys: pytest.CaptureFixture) -> None:
    entry = run_json([str(synthetic), "--outcome", "y", "--above", "0.5", "--per-run"], capsys)
    assert entry["unit"] == "run" and entry["n"] == 1500
    assert (
        entry["cases"]
        == 3 * run_json([str(synthetic), "--outcome", "y", "--above", "0.5"], capsys)["cases"]
    )
    assert sorted(entry["restricted"]) == ["x1", "x2"]
    assert abs(entry["limits"]["x1"][0] - 0.6) <= EDGE
    assert abs(entry["limits"]["x2"][1] - 0.3) <= EDGE
    assert entry["coverage"] >= COVERAGE and entry["density"] >= DENSITY


def test_step_and_min_coverage(synthetic: Path, capsys: pytest.CaptureFixture) -> None:
    entry = run_json([str(synthetic), "--outcome", "y", "--above", "0.5", "--step", "3"], capsys)
    assert entry["step"] == 3 and entry["rule"] == "step 3, as asked"
    assert entry["coverage"] == entry["trajectory"][3]["coverage"]
    entry = run_json(
        [str(synthetic), "--outcome", "y", "--above", "0.5", "--min-coverage", "1"], capsys
    )
    assert entry["coverage"] == 1.0


def test_text_and_integer_parameters(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A text parameter's box is the set of its values kept; an integer one's a range."""
    rng = np.random.default_rng(5)
    design = {
        "x1": latin_hypercube(400, ["x1"], seed=5)["x1"],
        "rule": rng.choice(["accrued", "flat", "none"], 400),
        "closures": rng.integers(1, 4, 400),
    }
    outcomes = {"y": lambda p, r: float(p["rule"] == "flat" and p["x1"] > 0.5)}
    folder = write_folder(tmp_path / "sweep", design, outcomes, 2)
    entry = run_json([str(folder), "--outcome", "y", "--above", "0.5"], capsys)
    assert entry["limits"]["rule"] == ["flat"]
    assert abs(entry["limits"]["x1"][0] - 0.5) <= EDGE
    assert entry["limits"]["closures"] == [1, 3] and "closures" not in entry["restricted"]
    assert entry["ranges"]["rule"] == ["accrued", "flat", "none"]
    assert entry["density"] == 1.0 and entry["coverage"] >= COVERAGE
    assert_consistent(entry)
    capsys.readouterr()
    assert main(["discover", str(folder), "--outcome", "y", "--above", "0.5"]) == 0
    assert re.search(r"^rule +\{flat\} +\{accrued, flat, none\}", capsys.readouterr().out, re.M)


def test_nulls_and_failed_runs(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A null outcome counts as the sweep's null_as, or --null-as, or is left out."""
    design = latin_hypercube(200, ["x1", "x2"], seed=8)
    # The event does not happen (null) where x2 > 0.7; else it happens on day 10.
    outcomes = {"day": lambda p, r: None if p["x2"] > 0.7 else 10.0}
    errors = ["boom" if run % 7 == 0 else None for run in range(400)]
    folder = write_folder(tmp_path / "a", design, outcomes, 2, errors=errors)
    capsys.readouterr()
    assert main(["discover", str(folder), "--outcome", "day", "--above", "100"]) == 2
    assert "no case of interest" in capsys.readouterr().err
    entry = run_json(
        [str(folder), "--outcome", "day", "--above", "100", "--null-as", "365"], capsys
    )
    assert entry["null_as"] == 365 and entry["runs"] == 400 - len([e for e in errors if e])
    assert entry["restricted"] == ["x2"] and abs(entry["limits"]["x2"][0] - 0.7) <= EDGE
    folder = write_folder(tmp_path / "b", design, outcomes, 2, null_as={"day": 365.0})
    entry = run_json([str(folder), "--outcome", "day", "--above", "100"], capsys)
    assert entry["null_as"] == 365 and entry["cases"] == 60
    # With the sweep's null_as, no run is left out.
    found = discover(folder, "day", below=20, null_as=None)
    assert found.entry["n"] == 200 and found.notes == []
    capsys.readouterr()
    folder = write_folder(tmp_path / "c", design, outcomes, 2, errors=errors)
    assert main(["discover", str(folder), "--outcome", "day", "--below", "20"]) == 2
    err = capsys.readouterr().err
    # Left out: only the 140 points with a value remain, all of them cases; the error says why.
    assert "; note: " in err and "are left out; give --null-as V" in err
    assert "failed run(s) are left out" in err
    assert "every one of the 140 points is a case of interest" in err


def test_inside_includes_the_bounds() -> None:
    import pandas as pd

    x = pd.DataFrame({"a": [0.0, 0.5, 1.0], "b": ["p", "q", "r"]})
    assert inside(x, {"a": [0.0, 0.5], "b": ["p", "q", "r"]}).tolist() == [True, True, False]
    assert inside(x, {"a": [0.0, 1.0], "b": ["q"]}).tolist() == [False, True, False]


@pytest.mark.parametrize(
    ("args", "where", "message"),
    [
        (["--outcome", "y"], "<command line>:1:1: --above", "give the condition"),
        (["--outcome", "y", "--above", "1", "--below", "2"], "<command line>:1:1: --below",
         "either --above X or --below X, not both"),
        (["--outcome", "yy", "--above", "0.5"], "<command line>:1:1: --outcome",
         "unknown outcome 'yy'; did you mean 'y'?"),
        (["--outcome", "label", "--above", "0.5"], "<command line>:1:1: --outcome",
         "'label' is not numeric"),
        (["--outcome", "y", "--above", "5"], "<command line>:1:1: --above",
         "no case of interest: y above 5 in at least 50% of a point's replications at none of "
         "the 500 points"),
        (["--outcome", "y", "--above", "-1"], "<command line>:1:1: --above",
         "every one of the 500 points is a case of interest"),
        (["--outcome", "y", "--below", "-1", "--per-run"], "<command line>:1:1: --below",
         "no case of interest: y below -1 at none of the 1,500 runs"),
        (["--outcome", "y", "--above", "nan"], "<command line>:1:1: --above",
         "must be a finite number"),
        (["--outcome", "y", "--above", "0.5", "--threshold-share", "0"],
         "<command line>:1:1: --threshold-share", "must lie in (0, 1]"),
        (["--outcome", "y", "--above", "0.5", "--peel-alpha", "0.7"],
         "<command line>:1:1: --peel-alpha", "must lie in (0, 0.5)"),
        (["--outcome", "y", "--above", "0.5", "--min-support", "1"],
         "<command line>:1:1: --min-support", "must lie in (0, 1)"),
        (["--outcome", "y", "--above", "0.5", "--step", "999"], "<command line>:1:1: --step",
         "the trajectory has steps 0 to"),
        (["--outcome", "y", "--above", "0.5", "--format", "xml"], "<command line>:1:1: --format",
         "invalid choice"),
    ],
)  # fmt: skip
def test_bad_arguments(
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    args: list[str],
    where: str,
    message: str,
) -> None:
    design = latin_hypercube(500, ["x1", "x2", "x3"], seed=11)
    outcomes = {"y": corner, "label": lambda p, r: "a"}
    folder = write_folder(tmp_path / "sweep", design, outcomes, 3)
    capsys.readouterr()
    assert main(["discover", str(folder), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith(f"{where}: ") and message in err, err
    assert not (folder / "discovery.json").exists()


def test_not_a_sweep_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run_folder = tmp_path / "run"
    run_folder.mkdir()
    pq.write_table(pa.table({"replication": [0], "y": [1.0]}), run_folder / "runs.parquet")
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    cases = [
        (tmp_path / "missing", "not a sweep folder: does not exist"),
        (a_file, "not a sweep folder: is a file"),
        (tmp_path, "not a sweep folder: it has no design.parquet or runs.parquet"),
        (run_folder, "it has no design.parquet (it looks like the folder of `sim run`"),
    ]
    for folder, message in cases:
        capsys.readouterr()
        assert main(["discover", str(folder), "--outcome", "y", "--above", "0"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"{folder}:1:1: (top): ") and message in err, err


def test_unreadable_discovery_file_is_kept(synthetic: Path, capsys: pytest.CaptureFixture) -> None:
    path = synthetic / "discovery.json"
    path.write_text('{"not": "a list"}')
    try:
        capsys.readouterr()
        assert main(["discover", str(synthetic), "--outcome", "y", "--above", "0.5"]) == 2
        assert f"{path}:1:1: (top): is not a list of boxes" in capsys.readouterr().err
        assert path.read_text() == '{"not": "a list"}'
    finally:
        path.unlink()


def test_real_sweep_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """``sim sweep`` on a small LHS of the baseline (200 trucks), then ``sim discover``."""
    (tmp_path / "base.yaml").write_text(
        f"extends: {BASELINE}\nname: small\nfleet:\n  trucks_in_belarus: 200\n"
    )
    (tmp_path / "sweep.yaml").write_text(
        "name: disc\nbase: base.yaml\nmethod: lhs\nsamples: 16\nreplications: 3\nseed: 5\n"
        "parameters:\n"
        "  hold.probability: {low: 0.0, high: 1.0}\n"
        "  detention.storage_fee_eur_per_day: {low: 30, high: 200}\n"
    )
    out = tmp_path / "out"
    assert main(["sweep", str(tmp_path / "sweep.yaml"), "--out", str(out), "--quiet"]) == 0
    folder = out / "disc"
    entry = run_json([str(folder), "--outcome", "trucks_held", "--above", "50"], capsys)
    assert set(entry["limits"]) == {"hold.probability", "detention.storage_fee_eur_per_day"}
    assert entry["points"] == 16 and entry["runs"] == 48 and 0 < entry["cases"] < 16
    # No hold, no held trucks: where trucks are held, Belarus was likely to order a hold.
    assert "hold.probability" in entry["restricted"]
    assert entry["limits"]["hold.probability"][0] > 0.2
    assert_consistent(entry)
    [box] = stored(folder)
    assert box == entry
