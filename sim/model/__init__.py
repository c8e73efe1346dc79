"""Models the runner can replicate: the interface (:mod:`sim.model.interface`), the registry
that maps a scenario's ``model:`` to a model (:mod:`sim.model.registry`), the built-in models
(one folder each, e.g. the border standoff), and user models (a Python callable named by
``model: module:attribute``, :mod:`sim.model.user`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.model.registry import build_model, load_scenario, scenario_params

__all__ = ["build_model", "load_scenario", "scenario_params"]


def __getattr__(name: str) -> object:
    """The registry's functions, imported on first use (the interface stays light)."""
    if name in __all__:
        from sim.model import registry

        return getattr(registry, name)
    raise AttributeError(f"module 'sim.model' has no attribute {name!r}")
