"""The Ishigami function as a user model: a standard test case for sensitivity analysis.

``y = sin(x1) + a sin(x2)^2 + b x3^4 sin(x1)`` with ``a = 7``, ``b = 0.1`` and ``x1, x2, x3``
uniform on ``[-pi, pi]``. Its mean is ``a / 2``, its variance ``a^2/8 + b pi^4/5 + b^2 pi^8/18
+ 1/2``, and its first-order Sobol indices are about 0.314 (x1), 0.442 (x2) and 0 (x3).
"""

from __future__ import annotations

import math

import numpy as np

A = 7.0
B = 0.1


def ishigami(parameters: dict[str, float], rng: np.random.Generator) -> dict[str, float]:
    """The Ishigami function of ``x1``, ``x2``, ``x3`` (``a`` and ``b`` default to 7 and 0.1)."""
    x1, x2, x3 = parameters["x1"], parameters["x2"], parameters["x3"]
    a = parameters.get("a", A)
    b = parameters.get("b", B)
    return {"y": math.sin(x1) + a * math.sin(x2) ** 2 + b * x3**4 * math.sin(x1)}


def noisy_ishigami(parameters: dict[str, float], rng: np.random.Generator) -> dict[str, float]:
    """The Ishigami function plus ``normal(0, sd)`` noise drawn from ``rng`` (``sd`` a
    parameter)."""
    y = ishigami(parameters, rng)["y"]
    return {"y": y + float(rng.normal(0.0, parameters["sd"]))}


def mean(a: float = A) -> float:
    """The exact mean of the Ishigami function over uniform inputs."""
    return a / 2


def variance(a: float = A, b: float = B) -> float:
    """The exact variance of the Ishigami function over uniform inputs."""
    pi = math.pi
    return a**2 / 8 + b * pi**4 / 5 + b**2 * pi**8 / 18 + 0.5
