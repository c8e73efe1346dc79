"""The model's books balance: outcomes, series and their identities agree in every run.

Seeded runs of the baseline and of the what-ifs that move money most (confiscation, a halved
fee, compensation): each identity below is exact arithmetic on the same records, so it must
hold to rounding (1e-6 relative), run by run.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from sim.model import build_model, load_scenario
from sim.model.standoff.fleet import COLUMNS, Fleet
from sim.seeding import Streams

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


@pytest.mark.parametrize("name", ["baseline", "confiscation", "fee-halved", "compensation"])
def test_costs_and_gains_add_up(name: str) -> None:
    scenario, _ = load_scenario(SCENARIOS / f"{name}.yaml")
    model = build_model(scenario)
    horizon = int(scenario.horizon_days)
    for index in range(25):
        result = model.run_replication(Streams(11, index))
        out, series = result.outcomes, result.series
        cost = out["carrier_cost_eur"]
        parts = (
            out["fees_paid_eur"]
            + out["idle_cost_eur"]
            + out["replacement_cost_eur"]
            + out["assets_lost_eur"]
            + out["retrieval_cost_eur"]
        )
        assert cost == pytest.approx(parts, rel=1e-9)
        assert out["carrier_net_cost_eur"] == pytest.approx(cost - out["compensation_paid_eur"])
        assert out["lithuania_fiscal_cost_eur"] == out["compensation_paid_eur"]
        assert out["belarus_standoff_gain_eur"] == pytest.approx(
            out["fees_paid_eur"] + out["assets_lost_eur"]
        )
        assert out["belarus_gain_eur"] == pytest.approx(
            out["belarus_standoff_gain_eur"] + out["sanctions_relief_eur"]
        )
        # The cumulative cost series counts fees as they accrue: it never falls, and at the
        # horizon it is the cost so far plus the fees still owed.
        cumulative = series["carrier_cost_eur"]
        assert np.all(np.diff(cumulative) >= -1e-6 * max(1.0, cost))
        assert cumulative[horizon] == pytest.approx(cost + out["fees_owed_eur"], rel=1e-6)
        # Every truck held is accounted for once.
        assert out["trucks_held"] == (
            out["trucks_retrieved"]
            + out["trucks_released"]
            + out["trucks_abandoned"]
            + out["trucks_confiscated"]
            + out["trucks_still_held"]
        )
        assert series["retrieved"][horizon] == out["trucks_retrieved"]
        if out["trucks_held"]:
            assert out["truck_days_held"] == pytest.approx(
                out["detention_days_mean"] * out["trucks_held"], rel=1e-9
            )
        else:
            assert out["truck_days_held"] == 0


def test_compensation_paid_by_a_day_equals_its_series() -> None:
    # Two ways to the same sums (a direct sum at one day, decisions and conditions use it;
    # sorted ramps and steps for the series): equal to rounding, with and without a budget.
    from sim.model.standoff.model import Replication

    for budget in (None, 5_000_000):
        scenario, _ = load_scenario(SCENARIOS / "compensation.yaml")
        scenario.compensation.budget_eur = budget  # type: ignore[attr-defined]
        if budget is not None:
            scenario = type(scenario).model_validate(scenario.model_dump())
        model = build_model(scenario)
        for index in range(8):
            run = Replication(model, Streams(2, index))
            run.run()
            schemes = run.detention.compensations
            for day in (40.0, 80.0, 150.0, 300.0):
                series = float(schemes.series(run.fleet, np.array([day]))[0])
                assert schemes.paid_until(run.fleet, day) == pytest.approx(series, rel=1e-9)


def random_fleet(rng: np.random.Generator, size: int) -> Fleet:
    """A fleet of random records, a fifth of its times never reached (inf), before the run
    (-inf), unknown (NaN) or on day 40."""
    specials = np.array([np.inf, -np.inf, np.nan, 40.0])
    fleet = Fleet.empty()
    for name in COLUMNS:
        column = rng.uniform(-5.0, 90.0, size)
        special = rng.random(size) < 0.2
        column[special] = rng.choice(specials, int(special.sum()))
        if name in ("group", "status", "exit_kind"):
            column = rng.integers(0, 3, size)
        setattr(fleet, name, column)
    return fleet


def costs_by_numpy(fleet: Fleet, day: float) -> tuple[float, ...]:
    """``Fleet.costs_until`` as the numpy array expressions it was before it was compiled."""

    def interval_cost(start: np.ndarray, end: np.ndarray, rate: np.ndarray) -> float:
        span = np.maximum(np.minimum(end, day) - start, 0.0)
        span[~np.isfinite(start)] = 0.0
        return float(rate @ span)

    idle_end, lease_start, lease_end, lease_rate = fleet._segments()
    paid = fleet.paid_at <= day
    replaced = fleet.replaced_at <= day
    return (
        float(fleet.fee_paid_eur[paid].sum()),
        float(fleet.retrieval_cost_eur[paid].sum()),
        interval_cost(fleet.idle_from, idle_end, fleet.idle_eur_per_day),
        float(fleet.replacement_cost_eur[replaced].sum())
        + interval_cost(lease_start, lease_end, lease_rate),
        float(fleet.value_eur[fleet.lost_at <= day].sum()),
    )


def test_the_compiled_costs_are_the_numpy_expressions_to_the_last_bit() -> None:
    """``Fleet.costs_until`` (one compiled pass and two dot products) and the daily cost series
    (one compiled pass) against the array expressions they replaced, on random fleets."""
    rng = np.random.default_rng(8)
    days = np.arange(0.0, 61.0)
    fees = np.cumsum(rng.uniform(0, 100, days.size))
    for trial in range(200):
        fleet = random_fleet(rng, int(rng.integers(0, 400)))
        with np.errstate(invalid="ignore"):  # NaN times make NaN costs, on both sides
            for day in (40.0, float(rng.uniform(0, 90)), np.inf):
                mine = fleet.costs_until(day)
                theirs = costs_by_numpy(fleet, day)
                for a, b in zip(mine, theirs, strict=True):
                    assert a == b or (math.isnan(a) and math.isnan(b)), (trial, day)
            series = fleet.cumulative_cost_series(days, lambda d: fees)
            reference = fleet.cumulative_cost_series_numpy(days, lambda d: fees)
        assert np.array_equal(series, reference, equal_nan=True), trial


def test_the_compiled_fee_series_is_the_numpy_path_to_the_last_bit() -> None:
    """``Detention.fees_series`` on the daily grid (one compiled pass) against the ramp and
    step sums it replaced: on seeded runs, then on the same runs' fleets with random
    records (fees fixed at the hold, never, before day 0, unknown)."""
    from sim.model.standoff.model import Replication

    scenario, _ = load_scenario(SCENARIOS / "fee-halved.yaml")
    model = build_model(scenario)
    rng = np.random.default_rng(2)
    days = np.arange(0.0, float(int(scenario.horizon_days)) + 1.0)
    checked = 0
    for index in range(6):
        run = Replication(model, Streams(5, index))  # type: ignore[arg-type]
        run.run()
        detention = run.detention
        if detention.hold_day is None:
            continue
        assert np.array_equal(detention.fees_series(days), detention.fees_series_numpy(days))
        fleet = run.fleet
        size = fleet.size
        fleet.held_from[:] = rng.uniform(-5.0, 200.0, size)
        fleet.fee_fixed_at[:] = fleet.held_from + rng.choice([0.0, 3.5, 40.0], size)
        fleet.fee_fixed_at[rng.random(size) < 0.2] = rng.choice([np.inf, np.nan, -1.0])
        fleet.fee_paid_eur[:] = rng.uniform(0.0, 5000.0, size)
        with np.errstate(invalid="ignore"):
            mine = detention.fees_series(days)
            theirs = detention.fees_series_numpy(days)
        assert np.array_equal(mine, theirs, equal_nan=True)
        checked += 1
    assert checked >= 3
