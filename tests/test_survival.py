"""Times to an event censored at the horizon: Kaplan-Meier median, restricted mean (RMST) and
event share in summary.json, their comparison in ``sim compare`` (RMST difference over every
replication), the terminal tables and the report's survival curves.

Exact values are computed by hand on small censored samples; the what-if of confiscation shows
why a comparison over the pairs where both runs saw the event is not enough.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats

from sim.analysis.compare import (
    compare_runs,
    run_data,
    time_to_event_metric,
)
from sim.cli import main
from sim.model.interface import OutcomeSpec, horizon_of
from sim.results.summary import format_summary_table, summarize
from sim.results.survival import (
    SURVIVAL_KEYS,
    is_event_day,
    kaplan_meier,
    restricted_times,
    survival_summary,
)

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
NAN = math.nan

# Seven runs to day 10: events on days 2, 5, 5 and 8; two runs without the event and one
# whose event comes after the horizon (day 12), both censored at day 10.
DAYS = np.array([2.0, 5.0, 5.0, 8.0, NAN, NAN, 12.0])
HORIZON = 10.0
#: The built-in model's release day (a time to an event censored at the horizon).
RELEASE = "release_day"


def sim(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


# --------------------------------------------------------------------------------------------
# Kaplan-Meier by hand


def test_kaplan_meier_curve_median_and_rmst_by_hand() -> None:
    # At risk 7 on day 2 (1 event): S = 6/7; 6 on day 5 (2 events): 6/7 * 4/6 = 4/7;
    # 4 on day 8 (1 event): 4/7 * 3/4 = 3/7; then 3 censored at day 10.
    curve = kaplan_meier(DAYS, HORIZON)
    assert curve is not None
    assert curve.at(1.9) == 1.0
    assert curve.at(2.0) == pytest.approx(6 / 7, abs=1e-15)
    assert curve.at(5.0) == pytest.approx(4 / 7, abs=1e-15)
    assert curve.at(8.0) == pytest.approx(3 / 7, abs=1e-15)
    assert curve.at(10.0) == pytest.approx(3 / 7, abs=1e-15)
    # Median: the first day the curve is at or below 1/2 (4/7 after day 5, 3/7 after day 8).
    assert curve.median() == 8.0
    # RMST: 2 days at 1, 3 at 6/7, 3 at 4/7, 2 at 3/7 = 2 + 36/7 = 50/7.
    assert curve.rmst() == pytest.approx(50 / 7, abs=1e-12)
    # ... which is the mean of min(day, horizon) with the censored runs at the horizon.
    times, happened = restricted_times(DAYS, HORIZON)
    assert times.tolist() == [2, 5, 5, 8, 10, 10, 10]
    assert happened.tolist() == [True, True, True, True, False, False, False]
    assert times.mean() == pytest.approx(50 / 7, abs=1e-12)

    summary = survival_summary(DAYS, HORIZON)
    assert tuple(summary) == SURVIVAL_KEYS
    assert summary == {
        "median": 8.0,
        "rmst": pytest.approx(50 / 7, abs=1e-12),
        "horizon": 10.0,
        "event_share": pytest.approx(4 / 7, abs=1e-15),
    }


def test_median_conventions_and_degenerate_samples() -> None:
    # The curve reaching exactly 1/2 on day 2: that day is the median (first day at or below).
    assert survival_summary(np.array([1.0, 2.0, 3.0, 4.0]), 10.0)["median"] == 2.0
    # Under half the runs see the event: no median, RMST still defined.
    few = survival_summary(np.array([3.0, NAN, NAN, NAN]), 10.0)
    assert few["median"] is None
    assert few["rmst"] == pytest.approx((3 + 10 + 10 + 10) / 4)
    assert few["event_share"] == 0.25
    # No event at all: S = 1 throughout, RMST = the horizon.
    none = survival_summary(np.array([NAN, NAN]), 10.0)
    assert none == {"median": None, "rmst": 10.0, "horizon": 10.0, "event_share": 0.0}
    # Every event on day 0: RMST 0, median day 0.
    assert survival_summary(np.zeros(3), 10.0) == {
        "median": 0.0,
        "rmst": 0.0,
        "horizon": 10.0,
        "event_share": 1.0,
    }
    # No runs.
    assert survival_summary(np.array([]), 10.0)["rmst"] is None


def test_rmst_is_the_kaplan_meier_area_on_a_random_sample() -> None:
    """With censoring only at the horizon, KM's RMST (an exact step integral) equals the mean
    restricted time, to rounding."""
    rng = np.random.default_rng(11)
    days = rng.exponential(200.0, 500)
    days[rng.random(500) < 0.2] = NAN
    for horizon in (50.0, 365.0, 10_000.0):
        curve = kaplan_meier(days, horizon)
        assert curve is not None
        times, _ = restricted_times(days, horizon)
        assert curve.rmst() == pytest.approx(times.mean(), rel=1e-12)
        step_day, step_waiting = curve.steps()
        assert step_day[0] == 0 and step_day[-1] == horizon and step_waiting[0] == 1.0
        assert np.all(np.diff(step_waiting) <= 1e-15)


def test_which_outcomes_are_times_to_an_event() -> None:
    assert is_event_day(OutcomeSpec("x_day", "float", "", "day", nullable=True))
    assert not is_event_day(OutcomeSpec("x_day", "float", "", "day"))  # never null: not censored
    assert not is_event_day(OutcomeSpec("x_days", "float", "", "days", nullable=True))  # duration
    assert not is_event_day(OutcomeSpec("x", "float", "", "", nullable=True))


class _WithHorizon:
    def __init__(self, horizon: object) -> None:
        self.horizon = horizon


def test_horizon_of_a_model() -> None:
    assert horizon_of(_WithHorizon(365)) == 365.0
    assert horizon_of(_WithHorizon(np.float64(30.5))) == 30.5
    for bad in (None, True, 0, -1.0, math.inf, math.nan, "365"):
        assert horizon_of(_WithHorizon(bad)) is None
    assert horizon_of(object()) is None


# --------------------------------------------------------------------------------------------
# summary.json


SPECS = [
    OutcomeSpec("event_day", "float", "When it happened", "day", nullable=True),
    OutcomeSpec("gap_days", "float", "A duration", "days", nullable=True),
    OutcomeSpec("cost", "float", "A cost", "EUR"),
]


def _table(days: np.ndarray) -> pa.Table:
    n = len(days)
    return pa.table(
        {
            "replication": pa.array(range(n), pa.int64()),
            "seed": pa.array([1] * n, pa.int64()),
            "event_day": pa.array([None if math.isnan(d) else d for d in days], pa.float64()),
            "gap_days": pa.array([None if math.isnan(d) else d / 2 for d in days], pa.float64()),
            "cost": pa.array(np.arange(n, dtype=np.float64)),
        }
    )


def test_summary_gets_survival_only_with_a_horizon() -> None:
    table = _table(DAYS)
    without = summarize(table, SPECS, scenario="s", seed=1)
    assert all("survival" not in entry for entry in without["metrics"].values())
    summary = summarize(table, SPECS, scenario="s", seed=1, horizon=HORIZON)
    event = summary["metrics"]["event_day"]
    assert event["survival"] == survival_summary(DAYS, HORIZON)
    # the existing statistics are kept, over the runs with a value
    assert event["mean"] == pytest.approx((2 + 5 + 5 + 8 + 12) / 5)
    assert event["null_share"] == pytest.approx(2 / 7)
    assert "survival" not in summary["metrics"]["gap_days"]
    assert "survival" not in summary["metrics"]["cost"]
    json.dumps(summary, allow_nan=False)  # JSON-safe

    text = format_summary_table(summary, SPECS)
    line = next(row for row in text.splitlines() if row.strip().startswith("event_day  "))
    assert line.split() == ["event_day", "57.1%", "8.0", "7.1", "10.0", "day"]
    assert "Kaplan-Meier median" in text
    assert format_summary_table(without, SPECS).count("event_day") == 1  # no survival rows


# --------------------------------------------------------------------------------------------
# Comparison


def test_paired_rmst_difference_and_its_ci_equal_the_kaplan_meier_ones() -> None:
    rng = np.random.default_rng(5)
    base = rng.exponential(150.0, 400)
    a = np.where(rng.random(400) < 0.25, NAN, base)
    b = np.where(rng.random(400) < 0.5, NAN, base * 1.1)
    horizon = 365.0
    entry = time_to_event_metric(a, b, horizon, paired=True)
    km_a, km_b = kaplan_meier(a, horizon), kaplan_meier(b, horizon)
    assert km_a is not None and km_b is not None
    assert entry["mean_a"] == pytest.approx(km_a.rmst(), rel=1e-12)
    assert entry["mean_b"] == pytest.approx(km_b.rmst(), rel=1e-12)
    assert entry["diff"] == entry["rmst_diff"]
    assert entry["diff"] == pytest.approx(km_b.rmst() - km_a.rmst(), rel=1e-10)
    # the CI is the paired t-interval of the per-replication restricted differences
    differences = restricted_times(b, horizon)[0] - restricted_times(a, horizon)[0]
    half = stats.t.ppf(0.975, differences.size - 1) * differences.std(ddof=1)
    half /= math.sqrt(differences.size)
    assert entry["ci95"] == pytest.approx(
        [differences.mean() - half, differences.mean() + half], rel=1e-10
    )
    assert entry["n"] == 400
    # happened by the horizon (an event after it is censored too)
    assert entry["event_share_a"] == pytest.approx(np.mean(a <= horizon))
    assert entry["event_share_diff"] == pytest.approx(np.mean(b <= horizon) - np.mean(a <= horizon))
    assert entry["median_a"] == km_a.median() and entry["median_b"] == km_b.median()
    both = (a <= horizon) & (b <= horizon)
    assert entry["events_only"]["n"] == int(both.sum())
    assert entry["events_only"]["diff"] == pytest.approx(np.mean(b[both] - a[both]))

    unpaired = time_to_event_metric(a, b, horizon, paired=False)
    assert unpaired["diff"] == pytest.approx(entry["diff"], rel=1e-10)
    welch = stats.ttest_ind(restricted_times(b, horizon)[0], restricted_times(a, horizon)[0])
    assert unpaired["ci95"][0] < entry["diff"] < unpaired["ci95"][1]
    assert welch.pvalue > 0  # a real test ran on the same samples


def _summary(table: pa.Table, horizon: float | None) -> dict[str, Any]:
    return summarize(table, SPECS, scenario="s", seed=1, horizon=horizon)


def test_compare_uses_the_earlier_horizon_and_falls_back_without_one() -> None:
    a_days = np.array([2.0, 5.0, NAN, 8.0, 9.0])
    b_days = np.array([3.0, NAN, NAN, 11.0, 9.0])
    table_a, table_b = _table(a_days), _table(b_days)
    a = run_data(table_a, _summary(table_a, 10.0), Path("a"), "DIR_A")
    b = run_data(table_b, _summary(table_b, 20.0), Path("b"), "DIR_B")
    entry = compare_runs(a, b)["metrics"]["event_day"]
    assert entry["horizon"] == 10.0  # B's day 11 is censored at A's horizon
    assert entry["mean_b"] == pytest.approx((3 + 10 + 10 + 10 + 9) / 5)
    assert entry["mean_a"] == pytest.approx((2 + 5 + 10 + 8 + 9) / 5)
    # an older folder (no survival in summary.json): the former comparison
    old = run_data(table_b, _summary(table_b, None), Path("b"), "DIR_B")
    entry = compare_runs(a, old)["metrics"]["event_day"]
    assert "rmst_diff" not in entry and entry["n"] == 3
    # the duration is not a time to an event: the former comparison
    assert "rmst_diff" not in compare_runs(a, b)["metrics"]["gap_days"]


@pytest.fixture(scope="module")
def confiscation(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The baseline and the confiscation what-if with the baseline's credibility (enforced,
    hardly believed: owners behave as in the baseline and the trucks still on the lots at the
    deadline are taken), 300 replications each, seed 1."""
    out = tmp_path_factory.mktemp("survival")
    folders = {}
    hardly_believed = ["--set", "owners.deadline_credibility=0.2"]
    for key, scenario, extra in (
        ("baseline", "baseline.yaml", []),
        ("confiscation", "confiscation.yaml", hardly_believed),
    ):
        target = out / key
        status = main(
            [
                "run",
                str(SCENARIOS / scenario),
                "-n",
                "300",
                "--seed",
                "1",
                "--out",
                str(target),
                "--quiet",
                *extra,
            ]
        )
        assert status == 0
        folders[key] = next(path for path in target.iterdir() if path.is_dir())
    return folders


def test_summary_json_of_a_run_has_survival(confiscation: dict[str, Path]) -> None:
    summary = json.loads((confiscation["baseline"] / "summary.json").read_text())
    with_survival = {
        name: entry["survival"] for name, entry in summary["metrics"].items() if "survival" in entry
    }
    assert len(with_survival) >= 2
    for name, survival in with_survival.items():
        assert tuple(survival) == SURVIVAL_KEYS, name
        assert survival["horizon"] == 365.0
        assert 0 <= survival["event_share"] <= 1
        assert 0 <= survival["rmst"] <= 365
        entry = summary["metrics"][name]
        assert survival["event_share"] == pytest.approx(1 - entry["null_share"])
        assert {"mean", "ci95", "p50", "null_share"} <= set(entry)  # kept


def test_confiscation_delays_the_release_though_the_pairs_that_see_it_do_not_differ(
    capsys: pytest.CaptureFixture[str], confiscation: dict[str, Path]
) -> None:
    """The what-if of issue 10: far more runs end without a release; where both runs saw it,
    it came on the same day. The RMST difference shows the delay; the former statistic hid it."""
    release = RELEASE
    status, out, err = sim(
        capsys,
        "compare",
        confiscation["baseline"],
        confiscation["confiscation"],
        "--format",
        "json",
    )
    assert status == 0, err
    data = json.loads(out)
    assert data["paired"] is True
    entry = data["metrics"][release]
    assert entry["n"] == 300
    assert entry["diff"] == entry["rmst_diff"]
    assert entry["diff"] == pytest.approx(entry["mean_b"] - entry["mean_a"], abs=1e-9)
    # later or never: more than a month later in restricted mean, the whole CI above 0
    assert entry["ci95"][0] > 30
    assert entry["event_share_diff"] < -0.4
    assert entry["event_share_p_value"] < 1e-6
    # the former comparison over the pairs where both saw the release: no difference (owners
    # behave as in the baseline until the deadline), so it hides the delay
    assert entry["events_only"]["n"] < 150
    assert abs(entry["events_only"]["diff"]) < 1.0
    for key, run in (("a", "baseline"), ("b", "confiscation")):
        summary = json.loads((confiscation[run] / "summary.json").read_text())
        assert entry[f"rmst_{key}"] == pytest.approx(
            summary["metrics"][release]["survival"]["rmst"], rel=1e-10
        )

    status, out, err = sim(
        capsys, "compare", confiscation["baseline"], confiscation["confiscation"]
    )
    assert status == 0, err
    assert "times to an event, censored at the horizon (day 365)" in out
    assert "A, B and diff are restricted mean times to the horizon" in out
    main_row = next(line for line in out.splitlines() if line.startswith(f"{release} ("))
    assert f"+{entry['diff']:.1f}" in main_row  # the main table's diff is the RMST one
    section = out.split("times to an event, censored at the horizon")[1]
    row = next(line for line in section.splitlines() if line.startswith(f"  {release} "))
    cells = row.split()
    assert cells[0] == release and cells[3].startswith("+")  # RMST diff > 0
    assert "not reached" in row  # under half the confiscation runs see the release


def test_run_table_and_report_show_kaplan_meier(
    capsys: pytest.CaptureFixture[str], confiscation: dict[str, Path]
) -> None:
    folder = confiscation["baseline"]
    release = RELEASE
    status, out, err = sim(
        capsys,
        "run",
        SCENARIOS / "baseline.yaml",
        "-n",
        "30",
        "--seed",
        "1",
        "--out",
        folder.parent.parent / "table",
    )
    assert status == 0, err
    assert "Times to an event, censored at the horizon (Kaplan-Meier median" in out
    section = out.split("Times to an event, censored at the horizon")[1].split("\n\n")[0]
    row = next(line for line in section.splitlines() if line.startswith(f"  {release} "))
    happened, median, restricted, horizon, unit = row.split()[1:]
    assert happened.endswith("%") and unit == "day" and horizon == "365.0"
    assert float(restricted) <= 365 and float(median) <= 365

    status, _, err = sim(capsys, "report", folder)
    assert status == 0, err
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert 'id="survival"' in html and "Times to an event" in html
    png = (folder / "plots" / "survival.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    assert 'id="survival-table"' in html
    summary = json.loads((folder / "summary.json").read_text())
    survival = summary["metrics"][release]["survival"]
    assert f"<code>{release}</code>" in html.split('id="survival-table"')[1]
    assert survival["median"] is not None and survival["event_share"] > 0.5
