"""The three negotiation channels whose offers Minsk weighs (``belarus.py``).

- Lithuania's government: diplomatic attempts whose offers rarely meet Minsk's price.
- The carriers' direct talks with Minsk: opened when their patience (days or losses) runs out;
  at their end Minsk takes or refuses the carriers' offer; while they are open they add to what
  a US deal offers for the trucks, and owners expect the release by their end.
- US mediation: envoy visits as a renewal process; a visit may end in a deal, a package of
  political prisoners and sanctions relief by sector; the deal includes the trucks if its offer
  for them (raised by Lithuania's request and by open carriers' talks) meets Minsk's price.

Each channel is a SimPy process. Every visit or attempt draws the same random numbers whatever
its outcome, so scenarios that differ elsewhere keep common random numbers here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from sim.model.standoff.belarus import Minsk
from sim.model.standoff.release import Detention
from sim.model.standoff.schema import Scenario, UsMediation
from sim.scenario.distributions import Dist

Process = Generator[simpy.Event, Any, None]


@dataclass
class Negotiations:
    """State shared by the channels, and the outcomes they produce."""

    env: simpy.Environment
    scenario: Scenario
    detention: Detention
    minsk: Minsk
    value_of: Callable[[object], float]
    loss_until: Callable[[float], float]
    log: Callable[[str], None] = lambda what: None
    horizon: float = math.inf
    talks_open_day: float | None = None
    talks_open: bool = False
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
        while True:
            yield self.env.timeout(float(spec.attempt_interval_days.sample(rng)))
            offer = float(spec.offer_eur.sample(rng))
            if not self.detention.unresolved(self.env.now):
                return
            if self.minsk.accepts(self.env.now, offer, "government"):
                self.detention.release(self.env.now, "government")
                return

    # -- the carriers ---------------------------------------------------------------------------
    def carriers(self, rng: np.random.Generator) -> Process:
        spec = self.scenario.carriers
        hold_day = self.env.now
        if spec.opening_day is not None:
            opening = max(hold_day, spec.opening_day)
        else:
            opening = hold_day + self.value_of(spec.patience_days)
        duration = float(spec.talks_duration_days.sample(rng))
        offer = float(spec.offer_eur.sample(rng))
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
        while True:
            if not self.detention.unresolved(self.env.now):
                return
            if self.talks_open_day is None:
                self.talks_open_day = self.env.now
            self.talks_open = True
            self.log("carriers open talks")
            expected = self.value_of(self.scenario.owners.talks_open_expected_days)
            self.detention.expect_release_by(self.env.now, self.env.now + expected)
            yield self.env.timeout(duration)
            self.talks_open = False
            if not self.detention.unresolved(self.env.now):
                return
            if self.minsk.accepts(self.env.now, offer, "carriers"):
                self.detention.release(self.env.now, "carriers")
                return
            self.log("carriers' talks fail")
            self.detention.expect_release_by(self.env.now, None)
            # The next round's draws, whatever happens next (common random numbers).
            retry = spec.retry_days
            wait = float(retry.sample(rng)) if retry is not None else math.inf
            duration = float(spec.talks_duration_days.sample(rng))
            offer = float(spec.offer_eur.sample(rng))
            if self.env.now + wait >= self.horizon:
                return
            yield self.env.timeout(wait)

    # -- Lithuania asks the US ------------------------------------------------------------------
    def lithuania_request(self, rng: np.random.Generator) -> Process:
        delay = self.scenario.us.lithuania_request_days_after_hold
        if delay is None:
            return
        yield self.env.timeout(float(delay.sample(rng)))
        self.ask_us()

    def ask_us(self) -> None:
        if self.lithuania_asked_day is None:
            self.lithuania_asked_day = self.env.now
            self.log("Lithuania asks the US to include the trucks")

    # -- US mediation ---------------------------------------------------------------------------
    def truck_offer(self, draw: float) -> float:
        """What a deal at this moment offers Minsk for the trucks, given the deal's own draw."""
        offer = draw
        if self.lithuania_asked_day is not None:
            offer += self.value_of(self.scenario.us.lithuania_request_offer_eur)
        if self.talks_open:
            offer += self.value_of(self.scenario.carriers.us_offer_eur)
        return offer

    def us_mediation(self, rng: np.random.Generator, horizon: float) -> Process:
        spec = self.scenario.us
        deal_probability = self.value_of(spec.deal_probability)
        sectors = [(name, s) for name, s in spec.sanctions.items() if not s.lifted_at_start]
        visit_day = spec.last_visit_day
        while True:
            visit_day += float(spec.visit_interval_days.sample(rng))
            deal_draw = rng.random()
            prisoners_draw = float(spec.prisoners_per_deal.sample(rng))
            offer_draw = float(spec.trucks_offer_eur.sample(rng))
            release_delay = float(spec.release_delay_days.sample(rng))
            if visit_day >= horizon:
                return
            if visit_day < self.env.now:
                continue  # a visit before the scenario starts
            yield self.env.timeout(visit_day - self.env.now)
            self.us_visits += 1
            now = self.env.now
            held = self.detention.unresolved(now)
            if deal_draw >= deal_probability:
                self.log("US envoy visit: no deal")
                if held:
                    self.detention.news(now, self.disappointment())
                continue
            self.us_deals += 1
            freed = min(round(prisoners_draw), self.prisoners_held - self.prisoners_released)
            self.prisoners_released += max(0, freed)
            for _ in range(spec.sectors_per_deal):
                if len(self.sectors_lifted) < len(sectors):
                    name, _sector = sectors[len(self.sectors_lifted)]
                    self.sectors_lifted.append((name, now))
            lifted = ", ".join(name for name, day in self.sectors_lifted if day == now)
            self.log(f"US deal: {max(0, freed)} prisoners, sanctions lifted: {lifted or 'none'}")
            trucks = held and self.minsk.accepts(now, self.truck_offer(offer_draw), "us")
            if trucks:
                self.detention.expect_release_by(now, now + release_delay)
                self.env.process(self.release_after(release_delay, "us"))
            elif held:
                self.detention.news(now, self.disappointment())

    def disappointment(self) -> float:
        """Days a US visit that leaves the trucks out adds to owners' expected wait."""
        return self.value_of(self.scenario.owners.us_visit_without_trucks_days)

    def sanctions_relief_eur(self) -> float:
        """Present value at day 0 of the sanctions lifted in this run
        (:func:`sanctions_relief_eur`)."""
        return sanctions_relief_eur(self.scenario.us, self.value_of, self.sectors_lifted)


def sanctions_relief_eur(
    spec: UsMediation, value_of: Callable[[Dist], float], lifted: list[tuple[str, float]]
) -> float:
    """Present value at day 0 of the sanctions ``lifted`` (sector, day): each sector's yearly
    value (``value_of`` its parameter) over ``appraisal_years`` from its lifting, discounted at
    ``discount_rate``. It does not depend on the horizon (beyond which deals happen before it).
    What the outcome means: the naive benchmark reads it from here too."""
    rho = math.log1p(spec.discount_rate)
    years = spec.appraisal_years
    annuity = years if rho == 0 else (1.0 - math.exp(-rho * years)) / rho
    return sum(
        value_of(spec.sanctions[name].value_eur_per_year) * annuity * math.exp(-rho * day / 365.0)
        for name, day in lifted
    )
