"""The baseline scenario reproduces the figures of the case (MODEL.md, CASE.md).

Each check compares a statistic of 500 replications with the case figure, with a tolerance
that reflects how uncertain that figure is (sources differ by up to 10x, see CASE.md); the
README's table of reproduced figures is this file's content. 500 replications make the
Monte Carlo error of a median or share small (a few percent) against these tolerances.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from sim.model import build_model, load_scenario
from sim.runner import run_replications

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


#: Day 0 of the baseline is 5 Oct 2025; 10 Mar 2026 (the crisis centre's count) is day 156.
TENTH_OF_MARCH = 156


@pytest.fixture(scope="module")
def run() -> tuple[pa.Table, dict[str, np.ndarray]]:
    scenario, _ = load_scenario(SCENARIOS / "baseline.yaml")
    output = run_replications(
        build_model(scenario), seed=scenario.seed, replications=500, workers=1, progress=False
    )
    on_10_march = {name: output.series[name][:, TENTH_OF_MARCH] for name in ("held", "retrieved")}
    return output.table, on_10_march


@pytest.fixture(scope="module")
def baseline(run: tuple[pa.Table, dict[str, np.ndarray]]) -> pa.Table:
    return run[0]


def column(table: pa.Table, name: str) -> np.ndarray:
    """The non-null values of a column."""
    return table.column(name).drop_null().to_numpy().astype(float)


def with_nan(table: pa.Table, name: str) -> np.ndarray:
    """A column with NaN for nulls, aligned with the replications."""
    return table.column(name).to_numpy(zero_copy_only=False).astype(float)


def test_closure_on_day_24_and_reopening_after_about_22_days(baseline: pa.Table) -> None:
    # Case: closure decided 29 Oct 2025 = day 24; reopened 20 Nov, 22 days later.
    assert 20 <= np.median(column(baseline, "closure_day")) <= 28
    assert 18 <= np.median(column(baseline, "border_closed_days")) <= 27


def test_hold_order_about_12_days_after_closure(baseline: pa.Table) -> None:
    # Case: hold order 10 Nov, 12 days after the closure; Belarus retaliated.
    lag = with_nan(baseline, "hold_day") - with_nan(baseline, "closure_day")
    assert 10 <= np.median(lag[~np.isnan(lag)]) <= 14
    assert baseline.column("hold_day").null_count / baseline.num_rows <= 0.2


def test_between_1400_and_2000_vehicles_held(baseline: pa.Table) -> None:
    # Case: "almost 2,000" (crisis centre), 1,418 listed, 1,045-1,600 on lots [BY].
    held = column(baseline, "trucks_held")
    held = held[held > 0]
    assert 1400 <= np.median(held) <= 2000
    assert np.quantile(held, 0.05) >= 1000
    assert np.quantile(held, 0.95) <= 2300


def test_several_hundred_got_out_before_the_hold(baseline: pa.Table) -> None:
    # Case: partial exit via Medininkai at ~45/day, 218 on one day; "~900 brought back
    # earlier" counts these and the first individual retrievals.
    assert 300 <= np.median(column(baseline, "trucks_evacuated")) <= 750


def test_about_900_retrieved_individually_before_the_release(baseline: pa.Table) -> None:
    # Case: 868 of 1,418 listed returned by 10 Mar 2026, before the 23 Mar release.
    released = ~np.isnan(with_nan(baseline, "release_day"))
    retrieved = column(baseline, "trucks_retrieved")[released]
    assert 700 <= np.median(retrieved[retrieved > 0]) <= 1100


def test_868_back_and_550_on_the_lots_on_10_march(
    run: tuple[pa.Table, dict[str, np.ndarray]],
) -> None:
    # Case: on 10 Mar 2026 the crisis centre counted 868 of 1,418 listed vehicles returned,
    # so ~550 still on the lots. In runs with a hold (the list counts held vehicles): the
    # retrieved within +-15% of 868, and the median still held within [400, 700]. The share
    # returned (61% of those listed) is not asked of the model: it holds more trucks than
    # were listed (1,418 is a lower bound: "almost 2,000", CASE.md).
    table, on_10_march = run
    held = ~np.isnan(with_nan(table, "hold_day"))
    assert 740 <= np.median(on_10_march["retrieved"][held]) <= 1000
    assert 400 <= np.median(on_10_march["held"][held]) <= 700


def test_release_about_145_days_after_closure_mostly_by_the_us(baseline: pa.Table) -> None:
    # Case: released 23 Mar 2026, 145 days after the closure, after the US envoy's visit.
    assert 130 <= np.median(column(baseline, "closure_to_release_days")) <= 160
    channels = baseline.column("release_channel").to_pylist()
    shares = {c: channels.count(c) / len(channels) for c in ("us", "government", "carriers")}
    assert shares["us"] >= 0.5
    assert shares["us"] > 3 * max(shares["government"], shares["carriers"])


def test_storage_fees_of_about_15k_per_vehicle_by_the_release(baseline: pa.Table) -> None:
    # Case: EUR 120/day from 10 Nov to 23 Mar = EUR 16,080; "of the order of EUR 15k".
    assert 12_000 <= np.median(column(baseline, "storage_fee_per_truck_at_release_eur")) <= 20_000


def test_prisoners_and_potash_relief(baseline: pa.Table) -> None:
    # Case: 123 (Dec) + 250 (Mar) freed within the scenario's first six months, and more
    # later; the potash and finance sanctions lifted: both deals happen in most runs.
    assert 250 <= np.median(column(baseline, "prisoners_released")) <= 800
    assert np.median(column(baseline, "us_deals")) >= 2


def test_a_reopening_queue_of_about_650_and_waits_of_76_to_88_hours(baseline: pa.Table) -> None:
    # Case: after reopenings, queues of ~650 trucks with 76-88 h waits (lithuania-news.com).
    # The baseline's background traffic (queue share while closed) is tuned to the queue; the
    # wait follows from it and the checkpoint's capacity (~220 trucks/day), so it checks the
    # pair is consistent. Tolerances: the queue within [400, 1000] and the wait within
    # [50, 110] h (medians over runs that reopened), as sources give one observation.
    queue = column(baseline, "reopening_peak_queue")
    wait = column(baseline, "reopening_wait_hours")
    assert 400 <= np.median(queue) <= 1000
    assert 50 <= np.median(wait) <= 110


def test_about_218_trucks_out_in_one_day_at_the_peak(baseline: pa.Table) -> None:
    # Case: 218 trucks left via Medininkai in 24 h on 7 Nov 2025, during the partial exit.
    exits = column(baseline, "peak_daily_exits")
    assert 150 <= np.median(exits) <= 260
