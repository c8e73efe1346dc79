"""Detention and the ways out: the hold order, the fee, owners' decisions and Belarus's
processing of retrievals, the general release, write-offs and confiscation.

Owners decide at decision points (``review``): the hold, each piece of news, and periodically.
Those who retrieve join Belarus's processing queue, a deterministic FIFO server of
``processing_per_day``; a processed truck pays the fee owed then and its driver takes it to a
checkpoint. Processing is applied lazily, in time order, whenever the model reaches a later
time that matters (a checkpoint update, a review, a release, a confiscation, the horizon), so
a thousand retrievals cost no SimPy events and still happen in exact order with everything
else.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numba import njit

from sim.model.standoff import owners
from sim.model.standoff.border import Border, ExitDraws
from sim.model.standoff.compensation import Compensations
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
from sim.model.standoff.schema import Compensation, Scenario
from sim.model.standoff.sums import grid_last_day, ramp_sum, step_sum

INF = math.inf
NONE = np.empty(0)  # no compensation in owners.review


class FeeSchedule:
    """The storage fee per day over time (Belarus may change it); ``accrued(t)`` integrates it
    from day 0."""

    def __init__(self, rate: float) -> None:
        self.days = [0.0]
        self.rates = [rate]
        self.totals = [0.0]

    def rate(self, day: float) -> float:
        if len(self.days) == 1:
            return self.rates[0]
        index = int(np.searchsorted(self.days, day, side="right")) - 1
        return self.rates[max(index, 0)]

    def change(self, day: float, rate: float) -> None:
        self.totals.append(float(self.accrued(day)))
        self.days.append(day)
        self.rates.append(rate)

    def accrued_at(self, day: float | None) -> float:
        """The fee accrued per truck from day 0 to ``day`` (0 for None)."""
        return 0.0 if day is None else float(self.accrued(day))

    def accrued(self, day: float | np.ndarray) -> float | np.ndarray:
        if len(self.days) == 1:  # one rate from day 0: the common case, kept cheap
            return self.rates[0] * day
        days = np.asarray(self.days)
        index = np.maximum(np.searchsorted(days, day, side="right") - 1, 0)
        return np.asarray(self.totals)[index] + np.asarray(self.rates)[index] * (
            np.asarray(day) - days[index]
        )


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
        self.value_of = value_of
        self.fees = FeeSchedule(value_of(scenario.detention.storage_fee_eur_per_day))
        self.fee_discount = value_of(scenario.release.fee_discount)
        self.flat_fee_eur = value_of(scenario.release.flat_fee_eur)
        self.processing_per_day = value_of(scenario.belarus.processing_per_day)
        owners = scenario.owners
        self.pessimism = value_of(owners.belief_pessimism)
        self.expected_discount = value_of(owners.expected_fee_discount)
        self.credibility = value_of(owners.deadline_credibility)
        self.compensations = Compensations(value_of, list(scenario.fleet.groups))
        self.hold_day: float | None = None
        self.release_day: float | None = None
        self.release_channel = "none"
        self.confiscation_day: float | None = None
        self.trucks_held = 0
        # A compensation policy taken before the hold: the scheme from the hold on.
        self.pending_compensation: Compensation | None = None
        # News that moves every owner's expected wait: days added, and a day by which they
        # expect the release while the carriers' talks run.
        self.belief_shift = 0.0
        self.belief_cap_day = INF
        # Confiscation deadlines owners know of (announced), and whether Belarus enforces each.
        self.announced_deadlines: list[float] = []
        # Owners with a truck on the lots who have not asked for it yet, and what they weigh
        # (``owners.waiting_table``, made at the hold): the first ``_waiting`` columns are the
        # owners still waiting, their trucks and groups in ``_wait_ids`` and ``_wait_group``.
        self._wait_ids = np.empty(0, dtype=np.int64)
        self._wait_group = np.empty(0, dtype=np.int64)
        self._wait = np.empty((7, 0))
        self._waiting = 0
        # Belarus's processing queue: requests in processing order, and when each is due, with
        # room for every held truck (made at the hold: an owner asks once). Requests
        # [_queue_next, _queue_end) are not applied yet.
        self._queue_ids = np.empty(0, dtype=np.int64)
        self._queue_at = np.empty(0)
        self._queue_next = 0
        self._queue_end = 0
        self._server_free = 0.0
        self.backlog_peak = 0
        # Trucks on the lots as of the processing applied so far (``on_lots`` counts the
        # processing due since), and each held truck's checkpoint draws for its way home.
        self._on_lots = 0
        self._exit_draws: ExitDraws | None = None
        self._synced = [0] * len(border.checkpoints)
        border.before_advance.append(self.apply_processing)

    # -- state ---------------------------------------------------------------------------------
    def on_lots(self, now: float) -> int:
        """Trucks on the guarded lots at ``now``: held, neither written off nor processed by
        ``now``. Counted without applying the processing, which is done only when the border
        or the fleet's records are read, so that the checkpoints get retrievals in few batches."""
        if self._queue_next == self._queue_end:
            return self._on_lots
        if self._queue_at[self._queue_next] > now:
            return self._on_lots
        return self._on_lots - (self._due(now) - self._queue_next)

    def _due(self, now: float) -> int:
        """How many requests (from the first) Belarus has processed by ``now``."""
        return int(self._queue_at[: self._queue_end].searchsorted(now, side="right"))

    def unresolved(self, now: float) -> bool:
        """At ``now``: a hold is in force, no general release yet, trucks still on the lots
        (after the processing due by ``now``)."""
        return (
            self.hold_day is not None
            and self.release_day is None
            and self.confiscation_day is None
            and self.on_lots(now) > 0
        )

    def fee_owed(self, day: float) -> float:
        """Storage fee owed per truck held since the hold order, at ``day``."""
        if self.hold_day is None:
            return 0.0
        return float(self.fees.accrued(day)) - float(self.fees.accrued(self.hold_day))

    def fees_owed(self, day: float) -> float:
        """Fees owed and not yet paid at ``day``: the fee accrued on trucks still on the lots,
        and the fee due on trucks released (or processed) but not yet paid for."""
        fleet = self.fleet
        due = (fleet.fee_fixed_at <= day) & (fleet.paid_at > day)
        on_lots = int(
            np.count_nonzero(
                (fleet.held_from <= day)
                & (fleet.left_lot > day)
                & ~(fleet.fee_fixed_at <= day)
                & (fleet.lost_at > day)
            )
        )
        return float(fleet.fee_paid_eur[due].sum()) + on_lots * self.fee_owed(day)

    def fees_series(self, days: np.ndarray) -> np.ndarray:
        """Fees counted as they accrue, by each of ``days``: a truck whose fee was settled
        (processed, or released on terms) accrues what it pays evenly from its hold to the
        day the amount was fixed; a truck still on the lots at the end of the run accrues the
        fee owed at the going rate; a truck abandoned or confiscated never pays, and counts
        its value lost instead (``Fleet.cumulative_cost_series``). The series never falls.

        On the daily grid the settled fees are binned in one compiled pass
        (``_settled_fees_on_grid``, the arithmetic and order of ``ramp_sum`` and ``step_sum``:
        the same to the last bit as ``fees_series_numpy``)."""
        if self.hold_day is None:
            return np.zeros(days.size)
        fleet = self.fleet
        last = grid_last_day(days)
        if last is None:
            return self.fees_series_numpy(days)
        accrued = _settled_fees_on_grid(
            fleet.held_from, fleet.fee_fixed_at, fleet.fee_paid_eur, last
        )
        return self._add_fees_on_lots(days, accrued)

    def fees_series_numpy(self, days: np.ndarray) -> np.ndarray:
        """``fees_series`` from ``ramp_sum`` and ``step_sum`` over the settled trucks."""
        fleet = self.fleet
        if self.hold_day is None:
            return np.zeros(days.size)
        settled = np.isfinite(fleet.fee_fixed_at)
        start = fleet.held_from[settled]
        stop = fleet.fee_fixed_at[settled]
        amount = fleet.fee_paid_eur[settled]
        span = stop - start
        ramp = span > 0
        rate = np.zeros(amount.size)
        rate[ramp] = amount[ramp] / span[ramp]
        accrued = (
            ramp_sum(start[ramp], rate[ramp], days)
            - ramp_sum(stop[ramp], rate[ramp], days)
            + step_sum(stop[~ramp], amount[~ramp], days)
        )
        return self._add_fees_on_lots(days, accrued)

    def _add_fees_on_lots(self, days: np.ndarray, accrued: np.ndarray) -> np.ndarray:
        """``accrued`` plus the fee owed by each of ``days`` on the trucks still on the lots."""
        still = int(np.count_nonzero(self.fleet.status == HELD))
        if still:
            per_truck = np.asarray(self.fees.accrued(days)) - self.fees.accrued_at(self.hold_day)
            accrued = accrued + still * np.maximum(per_truck, 0.0)
        return accrued

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
        fleet.departs_at[held] = INF
        fleet.idle_from[held] = np.minimum(fleet.idle_from[held], now)
        self.hold_day = now
        self.trucks_held = int(held.size)
        self._on_lots = int(held.size)
        self._exit_draws = self.border.exit_draws(self.checkpoint_rng, held, fleet.size)
        self._wait_ids = held.copy()
        self._wait_group = fleet.group[held]
        self._waiting = int(held.size)
        self._queue_ids = np.empty(held.size, dtype=np.int64)
        self._queue_at = np.empty(held.size)
        self._wait = owners.waiting_table(
            expected=fleet.expected_release_days[held],
            idle=fleet.idle_eur_per_day[held],
            substitute=fleet.replacement_eur_per_day[held],
            replacement_cost=fleet.replacement_cost_eur[held],
            worth=fleet.worth_eur[held],
            retrieval=fleet.retrieval_cost_draw_eur[held],
        )
        self._server_free = now
        spec = self.pending_compensation or self.scenario.compensation
        self.compensations.start(spec, now + spec.starts_days_after_hold)

    # -- owners' decisions ---------------------------------------------------------------------
    def believed_deadline(self, now: float) -> float:
        future = [d for d in self.announced_deadlines if d > now]
        return min(future) if future else INF

    def review(self, now: float) -> bool:
        """A decision point: every owner still waiting with a truck on the lots chooses what
        to do (owners already in Belarus's processing queue have chosen). Returns whether the
        standoff is unresolved at ``now`` (if not, there is nothing to decide)."""
        if not self.unresolved(now):
            return False
        size = self._waiting
        if size == 0:
            return True
        fleet = self.fleet
        waited = now - self.hold_day  # type: ignore[operator]
        # A budget counts what was paid so far: every retrieval processed by now.
        per_day, share = self.compensations.terms_for(
            now, self._wait_group[:size], fleet, self.apply_processing
        )
        # The terms every owner knows (owners.Terms, in its order, passed one by one).
        self._waiting, retrieve, write_off, processed_at = owners.review(
            now,
            self.fee_owed(now),
            self.fees.rate(now),
            max(0.0, self._server_free - now),
            self.processing_per_day,
            self.expected_discount,
            self.believed_deadline(now),
            self.credibility,
            self._wait,
            self._wait_ids,
            self._wait_group,
            size,
            self.pessimism * waited + self.belief_shift,
            max(0.0, self.belief_cap_day - now),
            NONE if isinstance(per_day, float) else per_day,
            NONE if isinstance(share, float) else share,
            self._server_free,
            fleet.replaced_at,
        )
        if write_off.size:
            self._lose(write_off, now, ABANDONED)
        if retrieve.size:
            self._request(retrieve, now, processed_at)
        return True

    def _request(self, ids: np.ndarray, now: float, at: np.ndarray) -> None:
        """Owners ask Belarus to process ``ids`` (in this order) from ``now``, each done at
        ``at`` (in order, from when the processing is free)."""
        self.fleet.requested_at[ids] = now
        self._server_free = float(at[-1])
        # Requests processed by now but not applied yet are not part of the backlog (counted
        # before the new ones are queued: at a rate of 1e14 a day the first may round to now).
        due = self._due(now)
        end = self._queue_end + ids.size
        self._queue_ids[self._queue_end : end] = ids
        self._queue_at[self._queue_end : end] = at
        self._queue_end = end
        self.backlog_peak = max(self.backlog_peak, end - due)

    def apply_processing(self, now: float) -> None:
        """Process, in order, every request due by ``now``: the owner pays the fee owed then
        and a driver takes the truck to a checkpoint."""
        start = self._queue_next
        if start == self._queue_end or self._queue_at[start] > now:
            return
        stop = self._due(now)
        self._queue_next = stop
        ids = self._queue_ids[start:stop]
        at = self._queue_at[start:stop]
        fee = np.asarray(self.fees.accrued(at)) - self.fees.accrued_at(self.hold_day)
        self._send_home(ids, paid_at=at, fee=fee, exit_kind=EXIT_RETRIEVED, now=now)

    def _send_home(
        self, ids: np.ndarray, paid_at: np.ndarray, fee: np.ndarray, exit_kind: int, now: float
    ) -> None:
        fleet = self.fleet
        arrival = paid_at + fleet.driver_travel_days[ids]
        self._on_lots -= int(np.count_nonzero(fleet.status[ids] == HELD))
        fleet.status[ids] = RETURNING
        fleet.exit_kind[ids] = exit_kind
        fleet.paid_at[ids] = paid_at
        fleet.fee_fixed_at[ids] = (
            np.minimum(paid_at, now) if exit_kind == EXIT_RELEASED else paid_at
        )
        fleet.fee_paid_eur[ids] = fee
        fleet.retrieval_cost_eur[ids] = fleet.retrieval_cost_draw_eur[ids]
        fleet.left_lot[ids] = arrival
        fleet.queue_arrival[ids] = arrival
        self.border.submit(
            self.checkpoint_rng, now, ids, arrival, departure=paid_at, draws=self._exit_draws
        )

    def _cancel_requests(self) -> None:
        self._queue_next = self._queue_end

    # -- news ----------------------------------------------------------------------------------
    def news(self, now: float, shift: float = 0.0) -> None:
        """Owners hear news that makes them expect to wait ``shift`` days longer; then they
        reconsider."""
        self.belief_shift += shift
        self.review(now)

    def expect_release_by(self, now: float, day: float | None) -> None:
        """Owners hear news that makes them expect the release by ``day`` at the latest (None:
        that expectation is gone, e.g. the talks failed); then they reconsider."""
        self.belief_cap_day = INF if day is None else day
        self.review(now)

    def announce_deadline(self, now: float, deadline: float) -> None:
        """Belarus announces a confiscation deadline; owners with trucks on the lots (now, or
        from the hold if it comes later) take it into account with their credibility."""
        self.announced_deadlines.append(deadline)
        self.log(f"confiscation deadline announced for day {deadline:g}")
        self.review(now)

    # -- general release and confiscation -------------------------------------------------------
    def release_fee(self, now: float) -> float:
        if self.scenario.release.fee_rule == "flat":
            return self.flat_fee_eur
        return self.fee_owed(now) * (1.0 - self.fee_discount)

    def release(self, now: float, channel: str) -> bool:
        """The general release: every held truck may leave once its fee is paid. Returns
        whether it happened (not if already released, confiscated, or nothing is held)."""
        if not self.unresolved(now):
            return False
        self.apply_processing(now)
        self.release_day = now
        self.release_channel = channel
        self._cancel_requests()
        fleet = self.fleet
        held = np.flatnonzero(fleet.status == HELD)
        due = self.release_fee(now)
        _, share = self.compensations.terms_for(
            now, fleet.group[held], fleet, self.apply_processing
        )
        pays = (1.0 - share) * due + fleet.retrieval_cost_draw_eur[held] <= fleet.worth_eur[held]
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
        """A deadline enforced: Belarus takes every truck still on the lots."""
        if not self.unresolved(now):
            return
        self.apply_processing(now)
        self.confiscation_day = now
        self._cancel_requests()
        seized = np.flatnonzero(self.fleet.status == HELD)
        self._lose(seized, now, CONFISCATED)
        self.log(f"confiscation: {seized.size} trucks")

    def _lose(self, ids: np.ndarray, now: float, status: int) -> None:
        self._on_lots -= self.fleet.lose(ids, now, status)
        if status == ABANDONED and self.release_day is None:
            self.log(f"{ids.size} trucks written off")


@njit(cache=True)
def _settled_fees_on_grid(  # pragma: no cover - compiled
    held_from: np.ndarray, fixed_at: np.ndarray, paid: np.ndarray, last: int
) -> np.ndarray:
    """The settled fees of ``Detention.fees_series`` on days 0..last: over the trucks whose fee
    was fixed (a finite day), a ramp at ``paid / (fixed - held)`` a day from the hold to the
    day it was fixed, or the whole amount from that day if it was fixed at the hold; binned as
    ``sums._ramps_on_grid`` and ``sums._steps_on_grid`` bin (infinite and NaN times never
    count) and added in the order ``fees_series_numpy`` adds them."""
    days = last + 1
    started = np.zeros(days)
    started_weighted = np.zeros(days)
    stopped = np.zeros(days)
    stopped_weighted = np.zeros(days)
    counted = np.zeros(days)
    for i in range(fixed_at.size):
        stop = fixed_at[i]
        if not math.isfinite(stop):
            continue
        start = held_from[i]
        span = stop - start
        if span > 0:
            rate = paid[i] / span
            if -math.inf < start <= last:
                day = max(0, math.ceil(start))
                started[day] += rate
                started_weighted[day] += rate * start
            if stop <= last:
                day = max(0, math.ceil(stop))
                stopped[day] += rate
                stopped_weighted[day] += rate * stop
        elif stop <= last:
            counted[max(0, math.ceil(stop))] += paid[i]
    out = np.empty(days)
    rate_on = base_on = rate_off = base_off = step = 0.0
    for day in range(days):
        rate_on += started[day]
        base_on += started_weighted[day]
        rate_off += stopped[day]
        base_off += stopped_weighted[day]
        step += counted[day]
        out[day] = ((day * rate_on - base_on) - (day * rate_off - base_off)) + step
    return out
