"""Belarus's decision to release the trucks: what holding them still brings against its costs.

Per day, holding brings the fee on every truck still on the lots plus their worth as leverage
(``leverage_eur_per_truck_per_day``); it costs ``pressure_eur_per_day`` plus any EU
counter-measure in force. Minsk's reservation price for a release is what holding would net over
``planning_days`` (never below zero). An offer through any channel (a Lithuanian government
attempt, the carriers' talks, a US deal) frees the trucks when it is worth at least that. As
trucks leave, leverage falls and the price with it; a higher fee raises it; counter-measures
lower it.
"""

from __future__ import annotations

from collections.abc import Callable

from sim.model.standoff.release import Detention
from sim.model.standoff.schema import Scenario


class Minsk:
    """Belarus's side of the standoff in one run."""

    def __init__(
        self,
        scenario: Scenario,
        detention: Detention,
        value_of: Callable[[object], float],
        log: Callable[[str], None] = lambda what: None,
    ) -> None:
        spec = scenario.belarus
        self.detention = detention
        self.leverage = value_of(spec.leverage_eur_per_truck_per_day)
        self.pressure = value_of(spec.pressure_eur_per_day)
        self.planning_days = value_of(spec.planning_days)
        self.countermeasures = 0.0
        self.log = log

    def price(self, now: float) -> float:
        """Minsk's reservation price for releasing the trucks at ``now`` (EUR)."""
        detention = self.detention
        brings = detention.on_lots(now) * (detention.fees.rate(now) + self.leverage)
        costs = self.pressure + self.countermeasures
        return max(0.0, brings - costs) * self.planning_days

    def accepts(self, now: float, offer: float, channel: str) -> bool:
        """Whether an offer of ``offer`` EUR through ``channel`` frees the trucks at ``now``."""
        price = self.price(now)
        yes = offer >= price
        self.log(
            f"{channel} offer {offer / 1e6:.2f}M EUR against Minsk's price "
            f"{price / 1e6:.2f}M EUR: {'accepted' if yes else 'refused'}"
        )
        return yes
