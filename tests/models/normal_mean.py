"""A deterministic user model for calibration tests: ``y = mu + offset``.

With a normal prior ``N(m0, s0)`` on ``mu`` (``offset`` 0) and an observation ``y_obs`` of
Gaussian error ``s``, the posterior of ``mu`` is normal with precision ``1/s0^2 + 1/s^2`` and
mean ``(m0/s0^2 + y_obs/s^2) / precision`` (the conjugate normal case).
"""

from __future__ import annotations

import numpy as np


def normal_mean(parameters: dict[str, float], rng: np.random.Generator) -> dict[str, object]:
    """``y = mu + offset``, ``twice = 2 mu``, ``limit = fail_above`` and a series ``path = mu *
    step`` over 5 steps; ``mu`` above ``fail_above`` raises (to test failures)."""
    mu = parameters["mu"]
    if mu > parameters["fail_above"]:
        raise ValueError(f"mu {mu} is too large")
    return {
        "y": mu + parameters["offset"],
        "twice": 2 * mu,
        "limit": parameters["fail_above"],
        "path": np.arange(5) * mu,
    }
