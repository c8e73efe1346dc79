"""Detention and the ways out: the hold order, individual retrieval, general release,
abandonment and confiscation.

Individual retrieval decisions are drawn per truck when the hold order falls; they are
applied lazily, in time order, whenever the model reaches a later time that matters (a
checkpoint update, a release, a confiscation, the horizon), so a thousand decisions cost no
SimPy events and still happen in exact order with everything else.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from sim.model.standoff.border import Border
from sim.model.standoff.fleet import (
    ABANDONED,
    AT_LARGE,
    CONFISCATED,
    EXIT_EVACUATED,
    EXIT_RELEASED,
    EXIT_RETRIEVED,
    HELD,
    LEAVING,
    RETURNING,
    Fleet,
)
from sim.model.standoff.schema import Scenario

INF = math.inf


class Detention:
    """Trucks on guarded lots, their fees, and every decision that gets them out (or not)."""

    def __init__(
        self,
        scenario: Scenario,
        fleet: Fleet,
        border: Border,
        rng: np.random.Generator,
        checkpoint_rng: np.random.Generator,
        value_of: Callable[[object], float],
        log: Callable[[str], None] = lambda what: None,
    ) -> None:
        self.log = log
        self.scenario = scenario
        self.fleet = fleet
        self.border = border
        self.rng = rng
        self.checkpoint_rng = checkpoint_rng
        self.fee_eur_per_day = value_of(scenario.detention.storage_fee_eur_per_day)
        self.fee_discount = value_of(scenario.release.fee_discount)
        self.flat_fee_eur = value_of(scenario.release.flat_fee_eur)
        self.compensation_eur_per_day = value_of(scenario.compensation.eur_per_truck_per_day)
        self.hold_day: float | None = None
        self.release_day: float | None = None
        self.release_channel = "none"
        self.confiscation_day: float | None = None
        self.trucks_held = 0
        self._decision_ids = np.empty(0, dtype=np.int64)
        self._decision_at = np.empty(0)
        self._next_decision = 0
        self._retrieval_cost = np.empty(0)
        self._driver_travel = np.empty(0)
        self._synced = [0] * len(border.checkpoints)
        border.before_advance.append(self.apply_decisions)

    # -- state ---------------------------------------------------------------------------------
    @property
    def trucks_on_lots(self) -> int:
        return int(np.count_nonzero(self.fleet.status == HELD))

    def unresolved(self, now: float) -> bool:
        """At ``now``: a hold is in force, no general release yet, trucks still on the lots
        (after the retrieval decisions due by ``now``)."""
        self.apply_decisions(now)
        return (
            self.hold_day is not None
            and self.release_day is None
            and self.confiscation_day is None
            and self.trucks_on_lots > 0
        )

    def sync_exits(self) -> None:
        """Copy new checkpoint passages into the fleet: idle time ends when a truck is through."""
        for index, queue in enumerate(self.border.checkpoints):
            done = self._synced[index]
            if done == len(queue.started_ids):
                continue
            ids = np.concatenate(queue.started_ids[done:])
            start = np.concatenate(queue.started_at[done:])
            end = start + np.concatenate(queue.started_service[done:])
            self.fleet.idle_to[ids] = end
            self._synced[index] = len(queue.started_ids)

    # -- the hold order ------------------------------------------------------------------------
    def order_hold(self, now: float) -> None:
        """Every Lithuanian truck not yet through a checkpoint goes onto a guarded lot."""
        fleet = self.fleet
        self.border.withdraw_waiting(now)
        self.sync_exits()
        through = (fleet.status == LEAVING) & np.isfinite(fleet.idle_to)
        fleet.exit_kind[through] = EXIT_EVACUATED
        held = np.flatnonzero((fleet.status == AT_LARGE) | ((fleet.status == LEAVING) & ~through))
        fleet.status[held] = HELD
        fleet.held_from[held] = now
        fleet.idle_from[held] = np.minimum(fleet.idle_from[held], now)
        self.hold_day = now
        self.trucks_held = int(held.size)

        spec = self.scenario.retrieval
        count = held.size
        delay = np.asarray(spec.decision_delay_days.sample(self.rng, count), dtype=float)
        self._retrieval_cost = np.zeros(fleet.size)
        self._driver_travel = np.zeros(fleet.size)
        self._retrieval_cost[held] = spec.cost_eur.sample(self.rng, count)
        self._driver_travel[held] = spec.driver_travel_days.sample(self.rng, count)
        order = np.argsort(delay, kind="stable")
        self._decision_ids = held[order]
        self._decision_at = now + delay[order]
        self._next_decision = 0

    def accrued_fee(self, day: float) -> float:
        """Storage fee accrued per truck from the hold order to ``day``."""
        if self.hold_day is None:
            return 0.0
        return self.fee_eur_per_day * max(0.0, day - self.hold_day)

    # -- individual retrieval ------------------------------------------------------------------
    def apply_decisions(self, now: float) -> None:
        """Apply, in time order, every retrieval decision due by ``now``.

        An owner pays the accrued fee and sends a driver if fee plus retrieval cost is within
        the truck's worth to them; otherwise they wait for a general release.
        """
        start = self._next_decision
        stop = int(np.searchsorted(self._decision_at, now, side="right"))
        if stop <= start:
            return
        self._next_decision = stop
        ids = self._decision_ids[start:stop]
        at = self._decision_at[start:stop]
        fee = self.fee_eur_per_day * (at - self.hold_day)  # type: ignore[operator]
        cost = self._retrieval_cost[ids]
        go = fee + cost <= self.fleet.worth_eur[ids]
        if not go.any():
            return
        self._send_home(ids[go], paid_at=at[go], fee=fee[go], exit_kind=EXIT_RETRIEVED, now=now)

    def _send_home(
        self, ids: np.ndarray, paid_at: np.ndarray, fee: np.ndarray, exit_kind: int, now: float
    ) -> None:
        fleet = self.fleet
        arrival = paid_at + self._driver_travel[ids]
        fleet.status[ids] = RETURNING
        fleet.exit_kind[ids] = exit_kind
        fleet.paid_at[ids] = paid_at
        fleet.fee_paid_eur[ids] = fee
        fleet.retrieval_cost_eur[ids] = self._retrieval_cost[ids]
        fleet.left_lot[ids] = arrival
        fleet.queue_arrival[ids] = arrival
        self.border.submit(self.checkpoint_rng, now, ids, arrival, departure=paid_at)

    def _cancel_decisions(self) -> None:
        self._next_decision = self._decision_ids.size

    # -- general release and confiscation -------------------------------------------------------
    def release(self, now: float, channel: str) -> bool:
        """The general release: every held truck may leave once its fee is paid. Returns
        whether it happened (not if already released, confiscated, or nothing is held)."""
        if not self.unresolved(now):
            return False
        self.release_day = now
        self.release_channel = channel
        self._cancel_decisions()
        fleet = self.fleet
        held = np.flatnonzero(fleet.status == HELD)
        if self.scenario.release.fee_rule == "flat":
            due = self.flat_fee_eur
        else:
            due = self.accrued_fee(now) * (1.0 - self.fee_discount)
        pays = due + self._retrieval_cost[held] <= fleet.worth_eur[held]
        payers = held[pays]
        pickup = np.asarray(
            self.scenario.release.pickup_delay_days.sample(self.rng, payers.size), dtype=float
        )
        self._send_home(
            payers,
            paid_at=now + pickup,
            fee=np.full(payers.size, due),
            exit_kind=EXIT_RELEASED,
            now=now,
        )
        self._lose(held[~pays], now, ABANDONED)
        self.log(
            f"general release ({channel}): fee {due:.2f} EUR, {payers.size} paid, "
            f"{held.size - payers.size} abandoned"
        )
        return True

    def confiscate(self, now: float) -> None:
        """The storage period is over: Belarus takes every truck still on the lots."""
        if not self.unresolved(now):
            return
        self.confiscation_day = now
        self._cancel_decisions()
        seized = np.flatnonzero(self.fleet.status == HELD)
        self._lose(seized, now, CONFISCATED)
        self.log(f"confiscation: {seized.size} trucks")

    def _lose(self, ids: np.ndarray, now: float, status: int) -> None:
        fleet = self.fleet
        fleet.status[ids] = status
        fleet.lost_at[ids] = now
        fleet.left_lot[ids] = now
        fleet.idle_to[ids] = now

    # -- accounting ----------------------------------------------------------------------------
    def compensation_until(self, day: float) -> float:
        """What Lithuania's scheme has paid by ``day``: per held truck per day on the lots."""
        rate = self.compensation_eur_per_day
        if rate <= 0 or self.hold_day is None:
            return 0.0
        start = self.hold_day + self.scenario.compensation.starts_days_after_hold
        end = np.minimum(self.fleet.left_lot, day)
        held = np.isfinite(self.fleet.held_from)
        return float(rate * np.clip(end[held] - start, 0.0, None).sum())
