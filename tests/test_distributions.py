"""Tests of sim.scenario.distributions: samplers against scipy theory, validation, params.

Statistical checks draw N = 200,000 values from a fixed seed and compare them with the scipy
frozen distribution. Tolerance: 4 standard errors. The sample mean has SE sigma / sqrt(N); the
sample variance has SE sqrt((mu4 - sigma^4) / N), mu4 being the 4th central moment (from scipy's
excess kurtosis). By the central limit theorem a correct sampler lands within 4 SE with
probability about 0.99994 per check, so with ~40 such checks a false alarm is very unlikely,
while a wrong parametrisation (e.g. sd passed where the variance was expected) misses by many SE.
The seeds are fixed, so the outcome is deterministic anyway. Distribution-shape checks use a KS
test (continuous) or a chi-square test (discrete) with p > 1e-4.
"""

from __future__ import annotations

import math
import pickle
from typing import Any

import numpy as np
import pytest
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from scipy import stats

from sim.scenario.distributions import (
    Beta,
    Constant,
    Dist,
    Distribution,
    Empirical,
    Lognormal,
    ParamInfo,
    Poisson,
    Uniform,
    iter_params,
    param,
    param_info,
    to_dist,
)

N = 200_000
SEED = 20251005
Z = 4.0  # tolerance in standard errors, see the module docstring

CONTINUOUS: dict[str, dict[str, Any]] = {
    "uniform": {"dist": "uniform", "low": 2, "high": 7},
    "triangular": {"dist": "triangular", "low": 1, "mode": 3, "high": 9},
    "triangular-mode-at-low": {"dist": "triangular", "low": 0, "mode": 0, "high": 4},
    "normal": {"dist": "normal", "mean": 10, "sd": 3},
    "normal-truncated-both": {"dist": "normal", "mean": 0.5, "sd": 0.2, "low": 0, "high": 1},
    "normal-truncated-low": {"dist": "normal", "mean": 0, "sd": 1, "low": 1.5},
    "normal-truncated-high": {"dist": "normal", "mean": 5, "sd": 2, "high": 3},
    "normal-truncated-far-tail": {"dist": "normal", "mean": 0, "sd": 1, "low": 6},
    "lognormal-mean-sd": {"dist": "lognormal", "mean": 14900, "sd": 6000},
    "lognormal-mu-sigma": {"dist": "lognormal", "mu": 1.0, "sigma": 0.5},
    "gamma-shape-scale": {"dist": "gamma", "shape": 2.5, "scale": 3},
    "gamma-mean-sd": {"dist": "gamma", "mean": 92, "sd": 10},
    "beta": {"dist": "beta", "a": 2, "b": 5},
    "beta-scaled": {"dist": "beta", "a": 2, "b": 3, "low": 10, "high": 20},
    "exponential-mean": {"dist": "exponential", "mean": 2},
    "exponential-rate": {"dist": "exponential", "rate": 0.25},
}
DISCRETE: dict[str, dict[str, Any]] = {
    "poisson": {"dist": "poisson", "mean": 3.5},
    "empirical-weights": {"dist": "empirical", "values": [1, 2.5, 10], "weights": [0.2, 0.5, 0.3]},
    "discrete-alias-repeats": {"dist": "discrete", "values": [5, 2, 2, 1]},
    "empirical-zero-weight": {"dist": "empirical", "values": [0, 1, 2], "weights": [1, 0, 3]},
}
ALL = {**CONTINUOUS, **DISCRETE}


def draws(d: Dist, seed: int = SEED) -> np.ndarray:
    """N seeded draws."""
    x = d.sample(np.random.default_rng(seed), N)
    assert isinstance(x, np.ndarray) and x.shape == (N,)
    return x


def assert_moments(d: Dist, x: np.ndarray) -> None:
    """Sample mean and variance within Z standard errors of the theoretical ones."""
    rv = d.frozen()
    mean, var = float(rv.mean()), float(rv.var())
    excess_kurtosis = float(rv.stats(moments="k"))
    mu4 = (excess_kurtosis + 3.0) * var**2
    se_mean = math.sqrt(var / N)
    se_var = math.sqrt((mu4 - var**2) / N)
    assert abs(x.mean() - mean) < Z * se_mean, (x.mean(), mean, se_mean)
    assert abs(x.var(ddof=1) - var) < Z * se_var, (x.var(ddof=1), var, se_var)


# --------------------------------------------------------------------------------------------
# Samplers agree with the theory
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", CONTINUOUS.values(), ids=CONTINUOUS.keys())
def test_continuous_sampler_matches_theory(spec: dict[str, Any]) -> None:
    d = to_dist(spec)
    x = draws(d)
    assert_moments(d, x)
    assert stats.kstest(x, d.frozen().cdf).pvalue > 1e-4
    lo, hi = d.support()
    assert x.min() >= lo and x.max() <= hi


@pytest.mark.parametrize("spec", DISCRETE.values(), ids=DISCRETE.keys())
def test_discrete_sampler_matches_theory(spec: dict[str, Any]) -> None:
    d = to_dist(spec)
    x = draws(d)
    assert_moments(d, x)
    rv = d.frozen()
    if isinstance(d, Poisson):
        # Chi-square over 0..k-1 and a tail bin >= k, k chosen so every bin expects >= 5 draws.
        k = int(rv.ppf(1 - 5 / N))
        observed = np.append(np.bincount(x.astype(int), minlength=k)[:k], (x >= k).sum())
        expected = N * np.append(rv.pmf(np.arange(k)), rv.sf(k - 1))
    else:
        values, probabilities = d.probabilities  # type: ignore[attr-defined]
        assert set(np.unique(x)) <= set(values.tolist())
        observed = np.array([(x == v).sum() for v in values])
        expected = N * probabilities
        np.testing.assert_allclose(probabilities, rv.pmf(values))
    assert observed.sum() == N
    assert stats.chisquare(observed, expected).pvalue > 1e-4


def test_empirical_frequencies() -> None:
    alias = to_dist(DISCRETE["discrete-alias-repeats"])
    assert isinstance(alias, Empirical) and alias.dist == "discrete"
    values, probabilities = alias.probabilities
    assert values.tolist() == [1, 2, 5]
    np.testing.assert_allclose(probabilities, [0.25, 0.5, 0.25])
    zero = to_dist(DISCRETE["empirical-zero-weight"])
    assert 1.0 not in draws(zero)
    assert zero.support() == (0.0, 2.0)


def test_constant_is_exact_and_leaves_rng_alone() -> None:
    d = to_dist(7.5)
    rng = np.random.default_rng(SEED)
    state = rng.bit_generator.state
    one = d.sample(rng)
    assert one == 7.5 and type(one) is float
    np.testing.assert_array_equal(d.sample(rng, 4), np.full(4, 7.5))
    assert rng.bit_generator.state == state
    assert (d.mean(), d.var(), d.support()) == (7.5, 0.0, (7.5, 7.5))
    assert d.frozen().mean() == 7.5 and d.frozen().var() == 0.0
    assert d.ppf(0.3) == 7.5 and d.ppf(np.array([0.1, 0.9])).tolist() == [7.5, 7.5]


def test_extreme_truncation_falls_back_to_scipy() -> None:
    d = to_dist({"dist": "normal", "mean": 0, "sd": 1, "low": 40, "high": 41})
    x = d.sample(np.random.default_rng(SEED), 1000)
    assert np.all(np.isfinite(x)) and x.min() >= 40 and x.max() <= 41
    assert 40 <= d.sample(np.random.default_rng(SEED)) <= 41


# --------------------------------------------------------------------------------------------
# Theory: closed forms, equivalent parametrisations, ppf
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ALL.values(), ids=ALL.keys())
def test_moments_and_support_agree_with_scipy(spec: dict[str, Any]) -> None:
    d = to_dist(spec)
    rv = d.frozen()
    assert d.mean() == pytest.approx(rv.mean(), rel=1e-9)
    assert d.var() == pytest.approx(rv.var(), rel=1e-9)
    lo, hi = d.support()
    scipy_lo, scipy_hi = rv.support()
    assert (lo, hi) == pytest.approx((scipy_lo, scipy_hi))


@pytest.mark.parametrize(
    ("spec", "mean", "var"),
    [
        ({"dist": "uniform", "low": 2, "high": 8}, 5.0, 36 / 12),
        ({"dist": "triangular", "low": 0, "mode": 3, "high": 6}, 3.0, (36 + 9 - 18) / 18),
        ({"dist": "gamma", "shape": 3, "scale": 2}, 6.0, 12.0),
        ({"dist": "beta", "a": 2, "b": 2, "low": 0, "high": 10}, 5.0, 100 * 4 / (16 * 5)),
        ({"dist": "exponential", "rate": 0.5}, 2.0, 4.0),
        ({"dist": "poisson", "mean": 4}, 4.0, 4.0),
        ({"dist": "lognormal", "mu": 0, "sigma": 1}, math.exp(0.5), (math.e - 1) * math.e),
        ({"dist": "empirical", "values": [0, 10], "weights": [3, 1]}, 2.5, 18.75),
        ({"dist": "normal", "mean": 3, "sd": 2}, 3.0, 4.0),
    ],
)
def test_closed_form_moments(spec: dict[str, Any], mean: float, var: float) -> None:
    d = to_dist(spec)
    assert d.mean() == pytest.approx(mean, rel=1e-12)
    assert d.var() == pytest.approx(var, rel=1e-12)


def test_equivalent_parametrisations() -> None:
    sigma2 = math.log(1 + (4 / 10) ** 2)
    by_moments = to_dist({"dist": "lognormal", "mean": 10, "sd": 4})
    by_logs = to_dist({"dist": "lognormal", "mu": math.log(10) - sigma2 / 2, "sigma": sigma2**0.5})
    exp_rate = to_dist({"dist": "exponential", "rate": 0.5})
    exp_mean = to_dist({"dist": "exponential", "mean": 2})
    gamma_moments = to_dist({"dist": "gamma", "mean": 6, "sd": math.sqrt(12)})
    gamma_shape = to_dist({"dist": "gamma", "shape": 3, "scale": 2})
    for a, b in [(by_moments, by_logs), (exp_rate, exp_mean), (gamma_moments, gamma_shape)]:
        assert a.frozen().mean() == pytest.approx(b.frozen().mean(), rel=1e-12)
        assert a.frozen().var() == pytest.approx(b.frozen().var(), rel=1e-12)
        assert a.mean() == pytest.approx(b.mean(), rel=1e-12)
        assert a.var() == pytest.approx(b.var(), rel=1e-12)
        np.testing.assert_allclose(
            a.sample(np.random.default_rng(1), 100), b.sample(np.random.default_rng(1), 100)
        )
    assert by_moments.mean() == 10 and by_moments.var() == pytest.approx(16)


@pytest.mark.parametrize("spec", ALL.values(), ids=ALL.keys())
def test_ppf(spec: dict[str, Any]) -> None:
    d = to_dist(spec)
    q = np.array([0.01, 0.2, 0.5, 0.77, 0.99])
    out = d.ppf(q)
    assert isinstance(out, np.ndarray) and out.shape == q.shape
    np.testing.assert_allclose(out, d.frozen().ppf(q), rtol=1e-9)
    assert isinstance(d.ppf(0.5), float)
    assert np.all(np.diff(out) >= 0)


def test_frozen_is_lazy_and_cached() -> None:
    d = to_dist({"dist": "gamma", "shape": 2, "scale": 1})
    with pytest.raises(AttributeError):
        d._rv  # noqa: B018  (not built by validation)
    assert d.frozen() is d.frozen()
    assert d == to_dist({"dist": "gamma", "shape": 2, "scale": 1})  # the cache is not state


# --------------------------------------------------------------------------------------------
# Sampling API
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", [7, *ALL.values()], ids=["constant", *ALL.keys()])
def test_sample_types_and_reproducibility(spec: Any) -> None:
    d = to_dist(spec)
    one = d.sample(np.random.default_rng(3))
    assert isinstance(one, float)
    many = d.sample(np.random.default_rng(3), 5)
    assert isinstance(many, np.ndarray) and many.shape == (5,) and many.dtype == float
    grid = d.sample(np.random.default_rng(3), (2, 3))
    assert isinstance(grid, np.ndarray) and grid.shape == (2, 3)
    np.testing.assert_array_equal(many, d.sample(np.random.default_rng(3), 5))
    rng_a, rng_b = np.random.default_rng(11), np.random.default_rng(11)
    assert [d.sample(rng_a) for _ in range(5)] == [d.sample(rng_b) for _ in range(5)]


def test_pickle_and_copy_keep_sampling() -> None:
    d = to_dist({"dist": "lognormal", "mean": 14900, "sd": 6000})
    d.frozen()
    for other in (pickle.loads(pickle.dumps(d)), d.model_copy(), d.model_copy(deep=True)):
        assert other == d and hash(other) == hash(d)
        assert other.sample(np.random.default_rng(5)) == d.sample(np.random.default_rng(5))


# --------------------------------------------------------------------------------------------
# Validation messages
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"dist": "normal", "mean": 1, "sd": 0}, "normal needs sd > 0 (got mean=1, sd=0)"),
        ({"dist": "normal", "mean": 1, "sd": -2}, "sd > 0"),
        ({"dist": "normal", "mean": 0, "sd": 1, "low": 2, "high": 1}, "needs low < high"),
        ({"dist": "uniform", "low": 5, "high": 5}, "uniform needs low < high (got low=5, high=5)"),
        ({"dist": "uniform", "low": 6, "high": 5}, "uniform needs low < high"),
        (
            {"dist": "triangular", "low": 5, "mode": 3, "high": 9},
            "triangular needs low <= mode <= high (got low=5, mode=3, high=9)",
        ),
        ({"dist": "triangular", "low": 2, "mode": 2, "high": 2}, "triangular needs low < high"),
        (
            {"dist": "lognormal", "mean": 10, "sd": 4, "mu": 2, "sigma": 0.3},
            "lognormal takes exactly one of the pairs mean+sd or mu+sigma "
            "(got mean=10, sd=4, mu=2, sigma=0.3)",
        ),
        ({"dist": "lognormal"}, "lognormal needs either mean and sd"),
        ({"dist": "lognormal", "mean": 10}, "needs mean and sd together: sd is missing"),
        ({"dist": "lognormal", "mean": -1, "sd": 2}, "lognormal needs mean > 0 and sd > 0"),
        ({"dist": "lognormal", "mu": 1, "sigma": 0}, "lognormal needs sigma > 0"),
        ({"dist": "gamma", "shape": 2, "scale": 1, "mean": 2, "sd": 1}, "exactly one of the pairs"),
        ({"dist": "gamma"}, "gamma needs either shape and scale or mean and sd"),
        ({"dist": "gamma", "shape": 0, "scale": 1}, "gamma needs shape > 0 and scale > 0"),
        ({"dist": "beta", "a": 0, "b": 1}, "beta needs a > 0 and b > 0 (got a=0, b=1)"),
        ({"dist": "beta", "a": 1, "b": 1, "low": 3, "high": 1}, "beta needs low < high"),
        ({"dist": "exponential", "rate": -1}, "exponential needs rate > 0 (got rate=-1)"),
        ({"dist": "exponential", "mean": 0}, "exponential needs mean > 0"),
        ({"dist": "exponential", "mean": 2, "rate": 0.5}, "exactly one of mean or rate"),
        ({"dist": "exponential"}, "exactly one of mean or rate"),
        ({"dist": "poisson", "mean": -0.5}, "poisson needs mean >= 0 (got mean=-0.5)"),
        (
            {"dist": "empirical", "values": [1, 2, 3], "weights": [1, 2]},
            "empirical needs one weight per value (got 3 values and 2 weights)",
        ),
        ({"dist": "empirical", "values": []}, "needs at least one value"),
        ({"dist": "discrete", "values": [1, 2], "weights": [1, -1]}, "discrete needs weights >= 0"),
        ({"dist": "empirical", "values": [1], "weights": [0]}, "positive sum"),
        (
            {"dist": "lognorml", "mean": 1, "sd": 1},
            "unknown distribution 'lognorml'; did you mean 'lognormal'? (known: constant, uniform",
        ),
        ({"dist": "zzz"}, "unknown distribution 'zzz' (known: constant"),
        ({"mean": 1, "sd": 2}, "needs a `dist:` key"),
        ("abc", "expected a number or a distribution mapping with a `dist:` key"),
        ("1e4", "YAML reads 1e4 as text"),
        (True, "expected a number or a distribution mapping"),
        (None, "expected a number or a distribution mapping"),
        ([1, 2], "expected a number or a distribution mapping"),
        ({"dist": "uniform", "low": "a", "high": 2}, "expected a number, got the string 'a'"),
        ({"dist": "uniform", "low": True, "high": 2}, "expected a number, got True"),
        ({"dist": "uniform", "low": 0, "high": math.inf}, "finite number"),
        ({"dist": "uniform", "low": 0, "high": 1, "mode": 0.5}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_parameters(value: Any, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        to_dist(value)
    assert message in str(info.value)


def test_invalid_parameters_in_a_model_name_the_field() -> None:
    class Model(BaseModel):
        x: param("event") = 1  # type: ignore[valid-type]

    with pytest.raises(ValidationError) as info:
        Model(x={"dist": "uniform", "low": 3, "high": 1})
    assert info.value.errors()[0]["loc"][0] == "x"
    assert "uniform needs low < high" in str(info.value)


def test_coercion_accepts_numbers_and_instances() -> None:
    assert to_dist(3) == Constant(value=3)
    assert to_dist(np.float64(2.5)) == Constant(value=2.5)
    assert to_dist(np.int64(4)) == Constant(value=4)
    assert to_dist({"dist": "constant", "value": 4}) == Constant(value=4)
    u = Uniform(low=0, high=1)
    assert to_dist(u) is u
    assert TypeAdapter(Distribution).validate_python({"dist": "beta", "a": 1, "b": 2}) == Beta(
        a=1, b=2
    )


# --------------------------------------------------------------------------------------------
# param(): bounds, scope, unit
# --------------------------------------------------------------------------------------------


class Bounded(BaseModel):
    """A schema section as the scenario schema writes them."""

    model_config = ConfigDict(extra="forbid", validate_default=True)
    fee: param("replication", ge=0, unit="EUR/day") = Field(120, description="A fee.")  # type: ignore[valid-type]
    share: param("replication", ge=0, le=1) = Field(0.5)  # type: ignore[valid-type]
    value: param("truck", gt=0, unit="EUR") = Field(  # type: ignore[valid-type]
        {"dist": "lognormal", "mean": 14900, "sd": 6000}
    )
    delay: param("event", gt=0, unit="days") | None = None  # type: ignore[valid-type]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("fee", -3, "must be >= 0, but -3 is not"),
        (
            "share",
            {"dist": "normal", "mean": 0.5, "sd": 0.2},
            "must lie in [0, 1] (a probability), but normal(mean=0.5, sd=0.2) can take values in "
            "(-inf, inf): truncate it with low/high, or use beta or uniform",
        ),
        ("share", {"dist": "uniform", "low": 0.5, "high": 1.5}, "can take values in [0.5, 1.5]"),
        ("share", {"dist": "lognormal", "mean": 0.2, "sd": 0.1}, "use a bounded distribution"),
        ("share", 1.2, "must lie in [0, 1] (a probability), but 1.2 is not"),
        ("fee", {"dist": "normal", "mean": 120, "sd": 10}, "or use lognormal or gamma"),
        ("value", 0, "must be > 0, but 0 is not"),
        ("value", {"dist": "poisson", "mean": 3}, "poisson(mean=3) can take values in [0, inf)"),
        ("value", {"dist": "empirical", "values": [0, 5]}, "must be > 0"),
        ("delay", -1, "must be > 0, but -1 is not"),
    ],
)
def test_param_bounds_reject(field: str, value: Any, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        Bounded(**{field: value})
    assert message in str(info.value)
    assert info.value.errors()[0]["loc"][0] == field


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("share", {"dist": "beta", "a": 2, "b": 5}),
        ("share", {"dist": "uniform", "low": 0.2, "high": 0.9}),
        ("share", {"dist": "normal", "mean": 0.5, "sd": 0.2, "low": 0, "high": 1}),
        ("share", {"dist": "triangular", "low": 0, "mode": 0.1, "high": 1}),
        ("share", 0),
        ("share", 1),
        ("fee", {"dist": "normal", "mean": 120, "sd": 10, "low": 0}),
        ("fee", {"dist": "poisson", "mean": 2}),
        ("value", {"dist": "exponential", "mean": 3}),  # support (0, inf): 0 has probability 0
        ("value", {"dist": "gamma", "shape": 2, "scale": 1}),
        ("delay", {"dist": "uniform", "low": 1, "high": 3}),
    ],
)
def test_param_bounds_accept(field: str, value: Any) -> None:
    model = Bounded(**{field: value})
    assert isinstance(getattr(model, field), Dist)


def test_param_defaults_are_coerced() -> None:
    model = Bounded()
    assert model.fee == Constant(value=120)
    assert isinstance(model.value, Lognormal) and model.value.mean() == 14900
    assert model.delay is None


def test_param_info_and_json_schema() -> None:
    assert param_info(Bounded, "fee") == ParamInfo(scope="replication", ge=0, unit="EUR/day")
    assert param_info(Bounded, "share") == ParamInfo(scope="replication", ge=0, le=1)
    assert param_info(Bounded, "delay") == ParamInfo(scope="event", gt=0, unit="days")
    assert param_info(Bounded, "nope") is None
    schema = Bounded.model_json_schema()["properties"]
    assert schema["fee"]["scope"] == "replication" and schema["fee"]["unit"] == "EUR/day"
    assert schema["fee"]["minimum"] == 0 and schema["fee"]["description"] == "A fee."
    assert schema["value"]["scope"] == "truck"


def test_param_rejects_bad_declarations() -> None:
    with pytest.raises(ValueError, match="scope must be one of"):
        param("week")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at most one of ge and gt"):
        param("event", ge=0, gt=0)


# --------------------------------------------------------------------------------------------
# Serialisation
# --------------------------------------------------------------------------------------------


def test_serialisation_round_trip() -> None:
    model = Bounded(
        fee=120,
        share={"dist": "beta", "a": 2, "b": 5},
        value={"dist": "lognormal", "mu": 9.5, "sigma": 0.4},
        delay={"dist": "discrete", "values": [1, 2.5], "weights": [1, 3]},
    )
    data = model.model_dump(mode="json")
    assert data == {
        "fee": 120,
        "share": {"dist": "beta", "a": 2, "b": 5},
        "value": {"dist": "lognormal", "mu": 9.5, "sigma": 0.4},
        "delay": {"dist": "discrete", "values": [1, 2.5], "weights": [1, 3]},
    }
    assert Bounded.model_validate(data) == model
    assert Bounded.model_validate_json(model.model_dump_json()) == model
    assert model.model_dump()["fee"] == 120
    defaults = Bounded().model_dump(mode="json")
    assert defaults["value"] == {"dist": "lognormal", "mean": 14900, "sd": 6000}
    assert defaults["share"] == 0.5 and defaults["delay"] is None


@pytest.mark.parametrize("spec", [7, 0.25, *ALL.values()], ids=["7", "0.25", *ALL.keys()])
def test_to_data_round_trips(spec: Any) -> None:
    d = to_dist(spec)
    assert d.to_data() == spec
    assert to_dist(d.to_data()) == d


def test_describe() -> None:
    assert to_dist({"dist": "lognormal", "mean": 14900, "sd": 6000}).describe() == (
        "lognormal(mean=14900, sd=6000)"
    )
    assert to_dist(120).describe() == "120"
    assert to_dist(0.5).describe() == "0.5"
    assert to_dist({"dist": "beta", "a": 2, "b": 3}).describe() == "beta(a=2, b=3)"
    assert to_dist({"dist": "empirical", "values": [1, 2]}).describe() == "empirical(values=[1, 2])"
    assert repr(to_dist({"dist": "normal", "mean": 1, "sd": 2})) == "Normal(mean=1.0, sd=2.0)"


# --------------------------------------------------------------------------------------------
# iter_params
# --------------------------------------------------------------------------------------------


class Lane(BaseModel):
    model_config = ConfigDict(validate_default=True)
    service_days: param("event", gt=0, unit="days") = 0.02  # type: ignore[valid-type]
    lanes: int = 4


class Period(BaseModel):
    """No validate_default: iter_params still yields a Dist for the raw default."""

    rate: param("replication", ge=0) = 1.0  # type: ignore[valid-type]


class World(BaseModel):
    model_config = ConfigDict(validate_default=True)
    name: str = "w"
    bounded: Bounded = Field(default_factory=Bounded)
    checkpoints: dict[str, Lane] = Field(
        default_factory=lambda: {"medininkai": Lane(), "salcininkai": Lane()}
    )
    schedule: list[Period] = Field(default_factory=lambda: [Period(), Period(rate=2)])
    horizon: param("replication", gt=0) = 365  # type: ignore[valid-type]


def test_iter_params_walks_nested_models() -> None:
    found = {key: (info.scope, dist) for key, info, dist in iter_params(World())}
    assert list(found) == [
        "bounded.fee",
        "bounded.share",
        "bounded.value",
        "checkpoints.medininkai.service_days",
        "checkpoints.salcininkai.service_days",
        "schedule.0.rate",
        "schedule.1.rate",
        "horizon",
    ]
    assert found["bounded.value"][0] == "truck"
    assert found["checkpoints.medininkai.service_days"] == ("event", Constant(value=0.02))
    assert found["schedule.0.rate"] == ("replication", Constant(value=1))
    assert found["schedule.1.rate"] == ("replication", Constant(value=2))
    with_delay = World(bounded=Bounded(delay=3))
    keys = [key for key, _, _ in iter_params(with_delay, prefix="scenario")]
    assert "scenario.bounded.delay" in keys and keys[0] == "scenario.bounded.fee"


@pytest.mark.parametrize(
    "spec",
    [
        {"dist": "uniform", "low": 2, "high": 5},
        {"dist": "triangular", "low": 1, "mode": 2, "high": 7},
        {"dist": "triangular", "low": 1, "mode": 1, "high": 7},
        {"dist": "triangular", "low": 1, "mode": 7, "high": 7},
        {"dist": "normal", "mean": 3, "sd": 2},
        {"dist": "lognormal", "mean": 10, "sd": 4},
        {"dist": "gamma", "mean": 92, "sd": 8},
        {"dist": "beta", "a": 2, "b": 5, "low": 1, "high": 3},
        {"dist": "exponential", "rate": 0.5},
    ],
)
def test_closed_form_ppf_matches_scipy(spec: dict) -> None:
    """The fast quantile functions (used for every per-replication draw) equal scipy's."""
    d = to_dist(spec)
    q = np.array([1e-9, 0.001, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999, 1 - 1e-9])
    np.testing.assert_allclose(d.ppf(q), d.frozen().ppf(q), rtol=1e-9, atol=1e-12)
    assert isinstance(d.ppf(0.3), float)


def test_one_uniform_maps_as_an_array_of_them_does() -> None:
    """Uniform and triangular quantiles of one float (each replication's parameters) take a
    float-only path; it gives the array path's values to the last bit, modes at either end
    and quantiles 0 and 1 included."""
    from sim.scenario.distributions import Triangular, Uniform

    rng = np.random.default_rng(5)
    for trial in range(3000):
        low = float(rng.normal() * 100)
        high = low + float(rng.random() * 1000) + 1e-9
        mode = (low, high, low + (high - low) * float(rng.random()))[trial % 3]
        q = (0.0, 1.0, float(rng.random()))[min(trial % 50, 2)]
        for dist in (
            Uniform(dist="uniform", low=low, high=high),
            Triangular(dist="triangular", low=low, mode=mode, high=high),
        ):
            one = dist.ppf(q)
            assert type(one) is float
            assert one == float(dist.ppf(np.array([q]))[0]), (dist, q)
