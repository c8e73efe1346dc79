"""Policies: actions analysts write in a scenario's ``policies:`` list, taken once, on a day or
on the first day a condition on the state holds.

Each policy is a SimPy process. A condition is checked once a day (at whole days) and only
while a hold is in force, since every metric is about the held trucks. What each action does:

- ``set_fee``: Belarus's fee per day changes (owed fees so far stay); owners reconsider.
- ``compensation``: Lithuania's scheme is replaced from then on (before the hold: from the
  hold); owners reconsider.
- ``ask_us``: Lithuania asks the US to include the trucks (raises a deal's offer for them).
- ``checkpoint``: a checkpoint's capacity changes from then on.
- ``confiscation_deadline``: Belarus announces that trucks still held in ``days`` will be
  confiscated; it enforces it with ``probability``; owners believe it with their credibility.
- ``eu_countermeasures``: the EU's measures raise Minsk's cost of holding the trucks.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from sim.model.standoff.fleet import EXIT_RETRIEVED
from sim.model.standoff.schema import Condition, Policy

if TYPE_CHECKING:
    from sim.model.standoff.model import Replication

Process = Generator[simpy.Event, Any, None]


def metric(run: Replication, name: str, now: float) -> float | None:
    """The value of a condition's metric at ``now`` (None before any hold)."""
    detention = run.detention
    if detention.hold_day is None:
        return None
    if name == "days_since_hold":
        return now - detention.hold_day
    if name == "trucks_on_lots":
        return float(detention.on_lots(now))
    if name == "trucks_retrieved":
        detention.apply_processing(now)
        return float(np.count_nonzero(run.fleet.exit_kind == EXIT_RETRIEVED))
    if name == "carriers_net_loss_eur":
        return run.net_loss_until(now)
    raise ValueError(f"unknown metric {name!r}")


def holds(condition: Condition, value: float | None) -> bool:
    if value is None:
        return False
    if condition.above is not None and not value > condition.above:
        return False
    return not (condition.below is not None and not value < condition.below)


def policy_process(run: Replication, policy: Policy, act: Callable[[Policy], None]) -> Process:
    """Wait for the policy's trigger, then act."""
    env = run.env
    if policy.day is not None:
        if policy.day >= run.horizon:
            return
        yield env.timeout(max(0.0, policy.day - env.now))
    else:
        condition = policy.when
        assert condition is not None
        while not holds(condition, metric(run, condition.metric, env.now)):
            if env.now + 1.0 >= run.horizon:
                return
            detention = run.detention
            if detention.hold_day is not None and not detention.unresolved(env.now):
                return  # the hold is over: the condition can no longer fire
            yield env.timeout(1.0)
    run.log(f"policy {policy.name}: {policy.action}")
    act(policy)
