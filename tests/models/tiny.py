"""A tiny user model with two outputs, and a few misbehaving ones for the tests."""

from __future__ import annotations

from typing import Any

import numpy as np


def two_outputs(parameters: dict[str, float], rng: np.random.Generator) -> dict[str, float]:
    """``total = a + b`` and ``noisy = a * b + normal(0, 1)``."""
    a, b = parameters["a"], parameters["b"]
    return {"total": a + b, "noisy": a * b + float(rng.normal())}


def echo(parameters: dict[str, float], rng: np.random.Generator) -> dict[str, float]:
    """Returns its parameters unchanged, and one uniform draw of ``rng`` as ``r``."""
    return {**parameters, "r": float(rng.random())}


def fails_when_high(parameters: dict[str, float], rng: np.random.Generator) -> dict[str, float]:
    """Raises when the parameter ``u`` exceeds ``threshold``."""
    if parameters["u"] > parameters["threshold"]:
        raise ValueError(f"u = {parameters['u']:.3f} is too high")
    return {"y": parameters["u"]}


def fails_always(parameters: dict[str, float], rng: np.random.Generator) -> dict[str, float]:
    """Raises every time."""
    raise ZeroDivisionError("nothing works")


def returns(parameters: dict[str, float], rng: np.random.Generator) -> Any:
    """Returns whatever parameter ``kind`` asks for: 0 a list, 1 an extra key, 2 a missing
    key, 3 a string value, 4 a bool value, 5 a None value."""
    kind = int(parameters["kind"])
    return [
        [1.0],
        {"y": 1.0, "z": 2.0},
        {},
        {"y": "1.0"},
        {"y": True},
        {"y": None},
    ][kind]


NOT_CALLABLE = 3.5
"""An attribute that is not a function."""


def with_series(parameters: dict[str, float], rng: np.random.Generator) -> dict[str, Any]:
    """A number ``total = a + b`` and a series ``walk``: a 6-step random walk from ``a``."""
    a = parameters["a"]
    steps = rng.normal(size=5)
    return {"total": a + parameters["b"], "walk": np.concatenate([[a], a + np.cumsum(steps)])}


def ragged_series(parameters: dict[str, float], rng: np.random.Generator) -> dict[str, Any]:
    """A series of 3 or 4 steps (a coin flip of ``rng``): its length varies between
    replications, which is an error."""
    steps = 3 + int(rng.random() < 0.5)
    return {"y": 1.0, "walk": list(range(steps))}
