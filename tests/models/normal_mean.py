"""A deterministic user model for calibration tests: ``y = mu`` (and ``twice = 2 mu``).

With a normal prior ``N(m0, s0)`` on ``mu`` and an observation ``y_obs`` of Gaussian error
``s``, the posterior of ``mu`` is normal with precision ``1/s0^2 + 1/s^2`` and mean
``(m0/s0^2 + y_obs/s^2) / precision`` (the conjugate normal case).
"""

from __future__ import annotations

import numpy as np


def normal_mean(parameters: dict[str, float], rng: np.random.Generator) -> dict[str, object]:
    """``y = mu``, ``twice = 2 mu``, a series ``path = mu * step`` over 5 steps; ``mu`` above
    ``fail_above`` raises (to test failures)."""
    mu = parameters["mu"]
    if mu > parameters.get("fail_above", np.inf):
        raise ValueError(f"mu {mu} is too large")
    return {"y": mu, "twice": 2 * mu, "path": np.arange(5) * mu}
