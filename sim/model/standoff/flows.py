"""Ordinary trips: Lithuanian trucks enter and leave Belarus while the border is open.

On day 0 ``trucks_in_belarus`` trucks are in Belarus, each for an exponential stay of mean
``stay_days``; while the border is open and no hold is in force, trucks enter at
``trucks_in_belarus / stay_days`` a day, so the number inside stays about the same. A closure
stops entries and strands the trucks inside (some head home at once: the evacuation); a
reopening lets them resume their trips; the hold order stops entries for good. Trucks are
added to the fleet only when the model needs them (at a closure, a reopening, the hold): the
entries since the last such moment still inside then are a Poisson number with exponential
remaining stays (memorylessness), so no per-trip work is done; a truck draws its own
parameters (value, costs, beliefs) only when it joins the fleet.
"""

from __future__ import annotations

import math

import numpy as np

from sim.model.standoff.fleet import AT_LARGE, GONE, Fleet
from sim.model.standoff.schema import Scenario

INF = math.inf


class Trips:
    """The ordinary traffic of Lithuanian trucks in and out of Belarus, in one run."""

    def __init__(
        self,
        scenario: Scenario,
        fleet: Fleet,
        rng: np.random.Generator,
        initial: int,
        stay_days: float,
    ) -> None:
        self.scenario = scenario
        self.fleet = fleet
        self.rng = rng
        self.stay = stay_days
        self.entry_rate = initial / stay_days
        self.entries_open = True
        self.last = 0.0
        # The trucks in Belarus on day 0, by the day their trip ends: they join the fleet (and
        # draw their own parameters) only if still inside when the model first needs them.
        self.initial_departures: np.ndarray | None = rng.exponential(stay_days, initial)

    def update(self, now: float) -> None:
        """Bring the trucks in Belarus up to ``now``: ended trips leave, new entries arrive."""
        fleet = self.fleet
        scenario = self.scenario
        batches = []
        if self.initial_departures is not None:
            inside = self.initial_departures[self.initial_departures > now]
            self.initial_departures = None
            batches.append(Fleet.draw(scenario, inside.size, 0.0, self.rng, inside))
        if fleet.size:
            done = (fleet.status == AT_LARGE) & (fleet.departs_at <= now)
            fleet.status[done] = GONE
        if self.entries_open and now > self.last:
            mean = self.entry_rate * self.stay * -math.expm1(-(now - self.last) / self.stay)
            count = int(self.rng.poisson(mean))
            stays = self.rng.exponential(self.stay, count)
            batches.append(Fleet.draw(scenario, count, now, self.rng, now + stays))
        if batches:
            fleet.append(*batches)
        self.last = now

    def close(self, now: float) -> None:
        """A closure starts: no more entries; trucks inside are stranded until it ends."""
        self.update(now)
        self.entries_open = False
        fleet = self.fleet
        fleet.departs_at[fleet.status == AT_LARGE] = INF

    def reopen(self, now: float, held: bool) -> None:
        """The border reopens: stranded trucks resume their trips; entries resume unless a
        hold is in force."""
        self.update(now)
        self.entries_open = not held
        fleet = self.fleet
        stranded = np.flatnonzero(fleet.status == AT_LARGE)
        fleet.departs_at[stranded] = now + self.rng.exponential(self.stay, stranded.size)

    def stop(self, now: float) -> None:
        """The hold order: the trucks inside are brought up to date; no more entries."""
        self.update(now)
        self.entries_open = False
