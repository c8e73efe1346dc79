"""PRIM's peeling and pasting (sim.analysis.prim): a hand-computed trajectory, known boxes
recovered on synthetic data, the support floor, pasting, categorical parameters, determinism,
no recursion, bad input; and the project's licence and dependencies (no GPL PRIM)."""

from __future__ import annotations

import math
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from sim.analysis.prim import Step, peel_and_paste

ROOT = Path(__file__).resolve().parents[1]


def densest(steps: list[Step], min_coverage: float = 0.5) -> Step:
    """The step of highest density with coverage >= min_coverage (as `sim discover` picks)."""
    eligible = [s for s in steps if s.coverage >= min_coverage]
    return max(eligible, key=lambda s: (s.density, -s.step))


def uniform(points: int, keys: list[str], seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {key: rng.random(points) for key in keys}


def test_a_hand_computed_trajectory() -> None:
    """x = 0, 1, ..., 9 and cases at 7, 8, 9; peeling 10% is one observation a step. The low
    peel always gains (it drops a non-case), the high one loses, so PRIM peels 0, 1, ..., 6 and
    stops at density 1; a float bound sits halfway between the kept and the dropped value."""
    y = np.arange(10) >= 7
    steps = peel_and_paste({"x": np.arange(10.0)}, y, peel_alpha=0.1, min_support=0.05)
    assert [s.phase for s in steps] == ["start"] + ["peel"] * 7
    assert [s.limits["x"] for s in steps] == [[0.0, 9.0]] + [[i + 0.5, 9.0] for i in range(7)]
    assert [s.n_in_box for s in steps] == list(range(10, 2, -1))
    assert [s.density for s in steps] == [3 / n for n in range(10, 2, -1)]
    assert all(s.coverage == 1.0 and s.cases_in_box == 3 for s in steps)
    assert [s.mass for s in steps] == [n / 10 for n in range(10, 2, -1)]
    assert steps[0].restricted == () and all(s.restricted == ("x",) for s in steps[1:])
    # Integers: the bound is the lowest value kept, so integer bounds stay integers.
    steps = peel_and_paste({"x": np.arange(10)}, y, peel_alpha=0.1, min_support=0.05)
    assert steps[-1].limits == {"x": [7, 9]} and steps[-1].density == 1.0
    assert all(isinstance(v, int) for s in steps for v in s.limits["x"])


def test_recovers_a_known_box() -> None:
    """Uniform points, cases where x1 > 0.7 and x2 < 0.3 (no noise): the densest box is that
    corner, to within the spacing of the points (0.05 is about 5 peels' worth at its edges)."""
    x = uniform(2000, ["x1", "x2", "x3"], seed=2)
    y = (x["x1"] > 0.7) & (x["x2"] < 0.3)
    steps = peel_and_paste(x, y)
    box = densest(steps)
    assert box.density == 1.0 and box.coverage >= 0.9
    assert sorted(box.restricted) == ["x1", "x2"]
    assert abs(box.limits["x1"][0] - 0.7) <= 0.05 and box.limits["x1"][1] == x["x1"].max()
    assert box.limits["x2"][0] == x["x2"].min() and abs(box.limits["x2"][1] - 0.3) <= 0.05
    assert box.limits["x3"] == [x["x3"].min(), x["x3"].max()]
    # The counts agree with the limits.
    inside = np.ones(2000, dtype=bool)
    for key, (lo, hi) in box.limits.items():
        inside &= (x[key] >= lo) & (x[key] <= hi)
    assert box.n_in_box == inside.sum() and box.cases_in_box == y[inside].sum()
    assert box.coverage == y[inside].sum() / y.sum() and box.mass == inside.sum() / 2000
    # Peeling stops once density reaches 1: there is nothing left to gain.
    assert steps[-1].density == 1.0 and steps[-2].density < 1.0


def test_matches_the_prim_package_on_floats() -> None:
    """The trajectory the GPL `prim` package (1.0.0, used before) gave on noisy float data,
    pinned: the same boxes step for step (counts per step and the final limits), 41 peels and
    one paste."""
    rng = np.random.default_rng(1)
    x = {"a": rng.random(2000), "b": rng.random(2000)}
    y = rng.random(2000) < np.where((x["a"] > 0.5) & (x["b"] < 0.4), 0.8, 0.1)
    steps = peel_and_paste(x, y, peel_alpha=0.05, paste_alpha=0.05, min_support=0.05)
    assert [s.n_in_box for s in steps] == [
        2000, 1900, 1805, 1714, 1628, 1546, 1468, 1394, 1324, 1257, 1194, 1134, 1077, 1023, 971,
        922, 875, 831, 789, 749, 711, 675, 641, 608, 577, 548, 520, 494, 469, 445, 422, 400, 380,
        361, 342, 324, 307, 291, 276, 262, 248, 235, 239,
    ]  # fmt: skip
    assert [s.cases_in_box for s in steps] == [
        481, 471, 461, 456, 446, 441, 434, 427, 421, 415, 410, 404, 398, 391, 383, 379, 375, 369,
        365, 358, 353, 351, 348, 342, 338, 334, 332, 329, 325, 322, 317, 305, 292, 280, 268, 255,
        243, 233, 223, 213, 203, 194, 198,
    ]  # fmt: skip
    assert steps[-1].limits == {
        "a": [0.5130631606809397, 0.9303933532247545],
        "b": [0.07916335955252907, 0.3637918941281113],
    }
    assert [s.phase for s in steps].count("paste") == 1


@pytest.mark.parametrize("min_support", [0.05, 0.2, 0.5])
def test_peeling_respects_min_support(min_support: float) -> None:
    """No step's mass is below min_support, and peeling stopped because the next peel (the
    values up to the 5% quantile of the box's, float values without ties) would have gone below
    it, not for lack of gain."""
    # The cases are the top 1% of x1, a box smaller than any min_support here: peeling x1 from
    # below drops non-cases only, so density rises until the support floor.
    i = np.arange(1000)
    x = {"x1": i / 1000, "x2": uniform(1000, ["x2"], seed=4)["x2"]}
    y = i >= 990
    steps = peel_and_paste(x, y, peel_alpha=0.05, min_support=min_support)
    assert all(s.mass >= min_support for s in steps)
    last = [s for s in steps if s.phase in ("start", "peel")][-1]
    assert last.density < 1.0
    peeled = math.floor((last.n_in_box - 1) * 0.05) + 1
    assert last.n_in_box - peeled < min_support * 1000


def test_pasting_never_lowers_density() -> None:
    """Noisy data (80% cases in the corner, 20% outside) peeled coarsely: PRIM pastes back, and
    every paste raises the density and the mass; so does every peel the density."""
    rng = np.random.default_rng(3)
    x = {"x1": rng.random(1000), "x2": rng.random(1000)}
    y = rng.random(1000) < np.where((x["x1"] > 0.5) & (x["x2"] < 0.5), 0.8, 0.2)
    steps = peel_and_paste(x, y, peel_alpha=0.1, paste_alpha=0.01, min_support=0.1)
    phases = [s.phase for s in steps]
    assert phases.count("paste") >= 3 and phases == sorted(
        phases, key=["start", "peel", "paste"].index
    )
    for before, after in zip(steps, steps[1:], strict=False):
        assert after.density > before.density
        if after.phase == "paste":
            assert after.mass > before.mass and after.coverage >= before.coverage
            # A paste widens the box: every bound moves outwards or stays.
            for key in ("x1", "x2"):
                assert after.limits[key][0] <= before.limits[key][0]
                assert after.limits[key][1] >= before.limits[key][1]
        else:
            assert after.mass < before.mass


def test_categorical_parameters() -> None:
    """Text and boolean parameters are peeled a whole value at a time; their limits are the
    sorted values kept. Cases: rule == "flat", flag set and x > 0.5, among noise."""
    rng = np.random.default_rng(6)
    n = 1200
    x = {
        "x": rng.random(n),
        "rule": rng.choice(np.array(["none", "flat", "accrued"], dtype=object), n),
        "flag": rng.random(n) < 0.5,
        "level": rng.integers(1, 4, n),
    }
    y = (x["rule"] == "flat") & x["flag"] & (x["x"] > 0.5)
    steps = peel_and_paste(x, y)
    assert steps[0].limits["rule"] == ["accrued", "flat", "none"]
    assert steps[0].limits["flag"] == [False, True] and steps[0].limits["level"] == [1, 3]
    box = densest(steps)
    assert box.limits["rule"] == ["flat"] and box.limits["flag"] == [True]
    assert abs(box.limits["x"][0] - 0.5) <= 0.05
    assert box.limits["level"] == [1, 3] and "level" not in box.restricted
    assert box.density == 1.0 and box.coverage >= 0.9
    # Every categorical step keeps a subset of the values, never an empty one.
    for s in steps:
        assert s.limits["rule"] and set(s.limits["rule"]) <= {"accrued", "flat", "none"}
    # Text given as a numpy unicode array works the same.
    same = peel_and_paste({**x, "rule": x["rule"].astype(str)}, y)
    assert same == steps


def test_deterministic_and_independent_of_row_order() -> None:
    rng = np.random.default_rng(9)
    x = {"a": rng.random(800), "b": rng.integers(0, 5, 800), "c": rng.choice(["p", "q"], 800)}
    y = rng.random(800) < np.where((x["a"] < 0.4) & (x["b"] >= 2), 0.7, 0.1)
    first = peel_and_paste(x, y)
    assert peel_and_paste(x, y) == first
    order = rng.permutation(800)
    assert peel_and_paste({k: v[order] for k, v in x.items()}, y[order]) == first
    assert peel_and_paste(x, y.astype(int)) == first  # 0 and 1 work as booleans


def test_long_trajectories_need_no_recursion() -> None:
    """Over a thousand steps (the `prim` package recursed once per step) at the default
    recursion limit, which is left as it was."""
    limit = sys.getrecursionlimit()
    values = np.arange(3000.0)
    steps = peel_and_paste(
        {"x": values}, values < 3, peel_alpha=0.001, paste_alpha=0.001, min_support=0.001
    )
    assert len(steps) > limit and steps[-1].limits == {"x": [0.0, 2.5]}
    assert sys.getrecursionlimit() == limit


@pytest.mark.parametrize(
    ("x", "y", "settings", "message"),
    [
        ({"a": [0.1, np.nan]}, [True, False], {}, "missing values"),
        ({"a": ["p", None]}, [True, False], {}, "missing values"),
        ({"a": [0.1, 0.2]}, [True, False, True], {}, "one per observation"),
        ({"a": [0.1, 0.2]}, [0.5, 1.0], {}, "must be boolean"),
        ({}, [True], {}, "no parameter"),
        ({"a": [0.1]}, [], {}, "at least one"),
        ({"a": [0.1, 0.2]}, [True, False], {"peel_alpha": 1.0}, "peel_alpha"),
        ({"a": [0.1, 0.2]}, [True, False], {"min_support": 0.0}, "min_support"),
    ],
)
def test_bad_input(x: dict, y: list, settings: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        peel_and_paste(
            {k: np.asarray(v) if k else v for k, v in x.items()}, np.asarray(y), **settings
        )


def test_licence_and_dependencies() -> None:
    """The project is MIT-licensed and depends on no GPL PRIM package."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = [
        dep.split(">")[0].split("=")[0].split("[")[0].strip().lower()
        for dep in project["dependencies"]
    ]
    assert "prim" not in names and "ema_workbench" not in names
    assert "dask" in names  # dask[distributed] stays a core dependency
    licence = project["license"]
    assert (licence if isinstance(licence, str) else licence["text"]) == "MIT"
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Copyright (c) 2026 the sim authors" in text
