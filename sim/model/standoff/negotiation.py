"""The three negotiation channels that compete to produce the general release.

- Lithuania's government: diplomatic attempts that rarely succeed.
- The carriers' direct talks with Minsk: opened when their patience (days or losses) runs out;
  they may produce the release themselves, and they raise the chance that a US deal includes
  the trucks.
- US mediation: envoy visits as a renewal process; a visit may end in a deal, a package of
  political prisoners, sanctions relief by sector, and (with some probability) the trucks.

Each channel is a SimPy process. Every visit or attempt draws the same random numbers whatever
its outcome, so scenarios that differ elsewhere keep common random numbers here.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from sim.model.standoff.release import Detention
from sim.model.standoff.schema import Scenario

Process = Generator[simpy.Event, Any, None]


@dataclass
class Negotiations:
    """State shared by the channels, and the outcomes they produce."""

    env: simpy.Environment
    scenario: Scenario
    detention: Detention
    value_of: Callable[[object], float]
    loss_until: Callable[[float], float]
    log: Callable[[str], None] = lambda what: None
    talks_open_day: float | None = None
    lithuania_asked_day: float | None = None
    us_visits: int = 0
    us_deals: int = 0
    prisoners_held: int = 0
    prisoners_released: int = 0
    sectors_lifted: list[tuple[str, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.prisoners_held = round(self.value_of(self.scenario.us.prisoners_held))

    def release_after(self, delay: float, channel: str) -> Process:
        yield self.env.timeout(delay)
        self.detention.release(self.env.now, channel)

    # -- Lithuania's government -----------------------------------------------------------------
    def government(self, rng: np.random.Generator) -> Process:
        spec = self.scenario.government
        success = self.value_of(spec.success_probability)
        while True:
            yield self.env.timeout(float(spec.attempt_interval_days.sample(rng)))
            if not self.detention.unresolved(self.env.now):
                return
            if rng.random() < success:
                self.detention.release(self.env.now, "government")
                return
            self.log("Lithuanian government attempt fails")

    # -- the carriers ---------------------------------------------------------------------------
    def carriers(self, rng: np.random.Generator) -> Process:
        spec = self.scenario.carriers
        hold_day = self.env.now
        if spec.opening_day is not None:
            opening = max(hold_day, spec.opening_day)
        else:
            opening = hold_day + self.value_of(spec.patience_days)
        success = self.value_of(spec.success_probability)
        duration = float(spec.talks_duration_days.sample(rng))
        succeeds = rng.random() < success
        if spec.patience_loss_eur is not None and spec.opening_day is None:
            threshold = self.value_of(spec.patience_loss_eur)
            while self.env.now + spec.check_interval_days < opening:
                yield self.env.timeout(spec.check_interval_days)
                if not self.detention.unresolved(self.env.now):
                    return
                if self.loss_until(self.env.now) >= threshold:
                    opening = self.env.now
                    break
        yield self.env.timeout(max(0.0, opening - self.env.now))
        if not self.detention.unresolved(self.env.now):
            return
        self.talks_open_day = self.env.now
        self.log("carriers open talks")
        if succeeds:
            yield self.env.timeout(duration)
            self.detention.release(self.env.now, "carriers")

    # -- Lithuania asks the US ------------------------------------------------------------------
    def lithuania_request(self, rng: np.random.Generator) -> Process:
        delay = self.scenario.us.lithuania_request_days_after_hold
        if delay is None:
            return
        yield self.env.timeout(float(delay.sample(rng)))
        self.lithuania_asked_day = self.env.now

    # -- US mediation ---------------------------------------------------------------------------
    def truck_probability(self) -> float:
        spec = self.scenario.us
        p = self.value_of(spec.trucks_probability)
        if self.talks_open_day is not None:
            p += self.value_of(self.scenario.carriers.us_truck_boost)
        if self.lithuania_asked_day is not None:
            p += self.value_of(spec.lithuania_request_boost)
        return min(1.0, p)

    def us_mediation(self, rng: np.random.Generator, horizon: float) -> Process:
        spec = self.scenario.us
        deal_probability = self.value_of(spec.deal_probability)
        sectors = [(name, s) for name, s in spec.sanctions.items() if not s.lifted_at_start]
        visit_day = spec.last_visit_day
        while True:
            visit_day += float(spec.visit_interval_days.sample(rng))
            deal_draw = rng.random()
            prisoners_draw = float(spec.prisoners_per_deal.sample(rng))
            trucks_draw = rng.random()
            release_delay = float(spec.release_delay_days.sample(rng))
            if visit_day >= horizon:
                return
            if visit_day < self.env.now:
                continue  # a visit before the scenario starts
            yield self.env.timeout(visit_day - self.env.now)
            self.us_visits += 1
            if deal_draw >= deal_probability:
                self.log("US envoy visit: no deal")
                continue
            self.us_deals += 1
            freed = min(round(prisoners_draw), self.prisoners_held - self.prisoners_released)
            self.prisoners_released += max(0, freed)
            for _ in range(spec.sectors_per_deal):
                if len(self.sectors_lifted) < len(sectors):
                    name, _sector = sectors[len(self.sectors_lifted)]
                    self.sectors_lifted.append((name, self.env.now))
            trucks = (
                self.detention.unresolved(self.env.now) and trucks_draw < self.truck_probability()
            )
            lifted = ", ".join(name for name, day in self.sectors_lifted if day == self.env.now)
            self.log(
                f"US deal: {max(0, freed)} prisoners, sanctions lifted: {lifted or 'none'}, "
                f"trucks: {'yes' if trucks else 'no'}"
            )
            if trucks:
                self.env.process(self.release_after(release_delay, "us"))

    def sanctions_relief_eur(self, horizon: float) -> float:
        """Value to Belarus of the sanctions lifted in this run, from lifting to the horizon."""
        sectors = self.scenario.us.sanctions
        return sum(
            self.value_of(sectors[name].value_eur_per_year) * (horizon - day) / 365.0
            for name, day in self.sectors_lifted
        )
