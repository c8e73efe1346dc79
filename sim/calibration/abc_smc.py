"""ABC-SMC with a Gaussian (stochastic) acceptance kernel, on numpy and scipy.

The algorithm is Toni et al.'s ABC-SMC with importance weights (Toni, Welch, Strelkowa,
Ipsen & Stumpf 2009, "Approximate Bayesian computation scheme for parameter inference and
model selection in dynamical systems", J. R. Soc. Interface 6:187-202), with the perturbation
kernel of Beaumont, Cornuet, Marin & Robert 2009 (a multivariate normal with twice the
weighted covariance of the previous population), and, instead of a hard tolerance, the
stochastic acceptance kernel of Wilkinson 2013 ("Approximate Bayesian computation (ABC) gives
exact results under the assumption of model error", Stat. Appl. Genet. Mol. Biol. 12:129-141):
a simulation with summaries ``s`` is accepted with probability
``exp(-D / (2 h^2))``, ``D = sum_j ((s_j - y_j) / sd_j)^2``, where ``y_j`` is the observation and
``sd_j`` its stated error. At ``h = 1`` the accepted particles are exact draws from the
posterior under Gaussian observation error of sd ``sd_j`` (with one simulation per particle,
the model's own noise is integrated over, as in pseudo-marginal MCMC). Populations run at a
decreasing ``h`` (a quantile of the previous population's ``sqrt(D)``, at most a set ratio of
the previous ``h`` so that a model whose own noise dominates still gets there, never below 1)
and the calibration stops after the population at ``h = 1`` (or at ``max_populations`` or
``min_acceptance``, which it then reports as not having reached the exact target).

A proposal outside the prior's support counts as a rejected attempt (it is not redrawn), so
the proposal density in the importance weight ``prior(theta) / sum_j w_j K(theta | theta_j)``
is exactly the untruncated kernel mixture. Everything here is a pure function of its inputs and
the generator it is given.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from sim.scenario.distributions import Dist


def sample_prior(priors: Sequence[Dist], rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` draws from the independent priors, by inverse CDF: an ``(n, k)`` array."""
    u = rng.random((n, len(priors)))
    return np.column_stack([np.asarray(p.ppf(u[:, i]), dtype=float) for i, p in enumerate(priors)])


def prior_logpdf(priors: Sequence[Dist], theta: np.ndarray) -> np.ndarray:
    """Log prior density of each row of ``theta`` (-inf outside the support)."""
    total = np.zeros(theta.shape[0])
    with np.errstate(divide="ignore"):
        for i, prior in enumerate(priors):
            total += np.asarray(prior.frozen().logpdf(theta[:, i]), dtype=float)
    return np.where(np.isnan(total), -np.inf, total)


def weighted_covariance(theta: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The weighted covariance of the particles (``weights`` sum to one): ``(k, k)``."""
    mean = weights @ theta
    centred = theta - mean
    cov = (centred * weights[:, None]).T @ centred
    # A population collapsed onto one value in some direction still needs a proper kernel.
    floor = 1e-12 * np.maximum(np.abs(np.diag(cov)), np.abs(mean) ** 2 + 1e-12)
    return cov + np.diag(floor)


def kernel_cholesky(theta: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of the perturbation kernel's covariance (twice the weighted one)."""
    return np.linalg.cholesky(2.0 * weighted_covariance(theta, weights))


def propose(
    theta: np.ndarray, weights: np.ndarray, chol: np.ndarray, rng: np.random.Generator, n: int
) -> np.ndarray:
    """``n`` proposals: a particle picked by weight, moved by the kernel. ``(n, k)``."""
    cumulative = np.cumsum(weights)
    picks = np.minimum(
        np.searchsorted(cumulative / cumulative[-1], rng.random(n), side="right"), len(theta) - 1
    )
    return theta[picks] + rng.standard_normal((n, theta.shape[1])) @ chol.T


def log_kernel_mixture(
    new: np.ndarray, theta: np.ndarray, weights: np.ndarray, chol: np.ndarray
) -> np.ndarray:
    """``log sum_j w_j N(new_i; theta_j, 2 Sigma)`` for each row of ``new`` (blockwise)."""
    k = theta.shape[1]
    log_det = 2.0 * np.log(np.diag(chol)).sum()
    norm = -0.5 * (k * np.log(2 * np.pi) + log_det)
    log_w = np.log(np.maximum(weights, 1e-300))
    out = np.empty(new.shape[0])
    block = max(1, 2_000_000 // max(1, len(theta) * k))
    for start in range(0, new.shape[0], block):
        diff = new[start : start + block, None, :] - theta[None, :, :]
        z = np.linalg.solve(chol, diff.reshape(-1, k).T).T.reshape(diff.shape)
        terms = log_w[None, :] - 0.5 * (z**2).sum(axis=2)
        top = terms.max(axis=1)
        out[start : start + block] = top + np.log(np.exp(terms - top[:, None]).sum(axis=1))
    return out + norm


def importance_weights(
    new: np.ndarray,
    priors: Sequence[Dist],
    theta: np.ndarray,
    weights: np.ndarray,
    chol: np.ndarray,
) -> np.ndarray:
    """Normalised weights ``prior(new) / sum_j w_j K(new | theta_j)``."""
    log_w = prior_logpdf(priors, new) - log_kernel_mixture(new, theta, weights, chol)
    log_w -= log_w.max()
    w = np.exp(log_w)
    return w / w.sum()


def distances(summaries: np.ndarray, observed: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """``D = sum_j ((s_j - y_j) / sd_j)^2`` per row; inf where a summary is missing (NaN)."""
    d = (((summaries - observed) / sd) ** 2).sum(axis=1)
    return np.where(np.isnan(d), np.inf, d)


def acceptance_probability(d: np.ndarray, tolerance: float) -> np.ndarray:
    """The stochastic kernel: ``exp(-D / (2 h^2))`` (1 everywhere at ``h = inf``)."""
    if np.isinf(tolerance):
        return np.where(np.isfinite(d), 1.0, 0.0)
    return np.exp(-0.5 * d / tolerance**2)


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float | np.ndarray) -> np.ndarray:
    """Quantiles of a weighted sample (the inverse of its weighted empirical CDF, midpoints)."""
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    cumulative = np.cumsum(w) - 0.5 * w
    cumulative /= w.sum()
    return np.interp(q, cumulative, v)


def next_tolerance(
    d: np.ndarray,
    weights: np.ndarray,
    quantile: float,
    previous: float = math.inf,
    max_ratio: float = 1.0,
) -> float:
    """The next population's ``h``: the weighted ``quantile`` of ``sqrt(D)`` over the previous
    population, at most ``max_ratio`` times the ``previous`` ``h``, and at least 1."""
    finite = np.isfinite(d)
    if not finite.any():
        return max(1.0, previous * max_ratio)
    value = float(weighted_quantile(np.sqrt(d[finite]), weights[finite], quantile))
    return max(1.0, min(value, previous * max_ratio))


def effective_sample_size(weights: np.ndarray) -> float:
    """Kish's effective sample size ``1 / sum w^2`` of normalised weights."""
    w = weights / weights.sum()
    return float(1.0 / (w**2).sum())
