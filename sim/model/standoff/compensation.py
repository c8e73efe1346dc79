"""Lithuania's compensation schemes: who is covered, what they get, and what it costs.

A scheme pays, to the owners of covered trucks on the lots while it is in force, an amount per
truck per day, a lump sum per truck, and a share of the fees they pay, within an optional
budget. The scenario's ``compensation`` section is the scheme in force from the hold; a
``compensation`` policy replaces it from its day on. Payments are computed from the fleet's
records, so a total up to any day, and a daily series, are exact (a budget caps each scheme's
total). Owners count on a scheme until its budget is spent: they do not foresee it running out,
and learn of it at their next decision point.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sim.model.standoff.fleet import Fleet
from sim.model.standoff.schema import Compensation
from sim.model.standoff.sums import ramp_sum, step_sum

INF = math.inf


@dataclass
class Scheme:
    """One scheme with this replication's amounts, in force over [start, end)."""

    start: float
    end: float
    per_day: float
    lump_sum: float
    fee_share: float
    budget: float
    groups: np.ndarray | None  # whether each group (by index) is covered (None: all are)
    enters_decisions: bool

    @classmethod
    def from_spec(
        cls,
        spec: Compensation,
        start: float,
        value_of: Callable[[object], float],
        group_names: list[str],
    ) -> Scheme:
        groups = (
            None
            if spec.groups is None
            else np.array([name in spec.groups for name in group_names], dtype=bool)
        )
        return cls(
            start=start,
            end=INF,
            per_day=value_of(spec.eur_per_truck_per_day),
            lump_sum=value_of(spec.lump_sum_eur_per_truck),
            fee_share=value_of(spec.fee_share_reimbursed),
            budget=INF if spec.budget_eur is None else value_of(spec.budget_eur),
            groups=groups,
            enters_decisions=spec.enters_decisions,
        )

    def covers(self, group: np.ndarray) -> np.ndarray:
        """Whether each truck of ``group`` (group indices) is covered."""
        if self.groups is None:
            return np.ones(group.size, dtype=bool)
        return self.groups[group]

    def _parts(self, fleet: Fleet) -> tuple[np.ndarray, ...]:
        """(per-day start, per-day end, lump-sum day, fee refund day, fee refund) per truck."""
        covered = self.covers(fleet.group) & np.isfinite(fleet.held_from)
        on_from = np.where(covered, np.maximum(fleet.held_from, self.start), INF)
        on_to = np.minimum(fleet.left_lot, self.end)
        on_to = np.where(on_to > on_from, on_to, on_from)
        lump_day = np.where(on_to > on_from, on_from, INF)
        in_force = covered & (fleet.paid_at >= self.start) & (fleet.paid_at < self.end)
        refund_day = np.where(in_force, fleet.paid_at, INF)
        refund = self.fee_share * fleet.fee_paid_eur
        return on_from, on_to, lump_day, refund_day, refund

    def pays(self) -> bool:
        return bool(self.per_day or self.lump_sum or self.fee_share)

    def paid_until(self, fleet: Fleet, day: float) -> float:
        """What this scheme has paid by ``day``: the series at one day, summed directly."""
        on_from, on_to, lump_day, refund_day, refund = self._parts(fleet)
        days_on = np.clip(np.minimum(on_to, day) - on_from, 0.0, None)
        days_on[~np.isfinite(on_from)] = 0.0
        paid = (
            self.per_day * float(days_on.sum())
            + self.lump_sum * int(np.count_nonzero(lump_day <= day))
            + float(refund[refund_day <= day].sum())
        )
        return min(paid, self.budget)

    def series(self, fleet: Fleet, days: np.ndarray) -> np.ndarray:
        """What this scheme has paid by each of ``days``."""
        on_from, on_to, lump_day, refund_day, refund = self._parts(fleet)
        rate = np.full(fleet.size, self.per_day)
        paid = (
            ramp_sum(on_from, rate, days)
            - ramp_sum(np.where(np.isfinite(on_from), on_to, INF), rate, days)
            + step_sum(lump_day, np.full(fleet.size, self.lump_sum), days)
            + step_sum(refund_day, refund, days)
        )
        return np.minimum(paid, self.budget)


class Compensations:
    """The schemes of one run, in time order."""

    def __init__(self, value_of: Callable[[object], float], group_names: list[str]) -> None:
        self.value_of = value_of
        self.group_names = group_names
        self.schemes: list[Scheme] = []

    def start(self, spec: Compensation, day: float) -> None:
        """``spec`` replaces the scheme in force from ``day`` on."""
        for scheme in self.schemes:
            scheme.end = min(scheme.end, max(day, scheme.start))
        self.schemes.append(Scheme.from_spec(spec, day, self.value_of, self.group_names))

    def in_force(self, day: float) -> Scheme | None:
        for scheme in reversed(self.schemes):
            if scheme.start <= day < scheme.end:
                return scheme
        return None

    def terms_for(
        self,
        day: float,
        group: np.ndarray,
        fleet: Fleet,
        bring_records_up_to: Callable[[float], None],
    ) -> tuple[np.ndarray | float, np.ndarray | float]:
        """(per day, fee share) that owners of trucks of ``group`` count on at ``day`` (plain
        zeros when no scheme that enters their decisions pays anything, or its budget is
        spent: owners learn that at their next decision point). A budget is read from the
        fleet's records, which ``bring_records_up_to(day)`` completes first."""
        scheme = self.in_force(day)
        if (
            scheme is None
            or not scheme.enters_decisions
            or (scheme.per_day == 0 and scheme.fee_share == 0)
        ):
            return 0.0, 0.0
        if math.isfinite(scheme.budget):
            bring_records_up_to(day)
            if scheme.paid_until(fleet, day) >= scheme.budget:
                return 0.0, 0.0
        covered = scheme.covers(group)
        return covered * scheme.per_day, covered * scheme.fee_share

    def series(self, fleet: Fleet, days: np.ndarray) -> np.ndarray:
        total = np.zeros(days.size)
        for scheme in self.schemes:
            if scheme.pays():
                total += scheme.series(fleet, days)
        return total

    def paid_until(self, fleet: Fleet, day: float) -> float:
        return sum(s.paid_until(fleet, day) for s in self.schemes if s.pays())
