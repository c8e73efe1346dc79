"""Uncertain scenario parameters: constants or probability distributions.

Every uncertain number of a scenario is a :class:`Dist`. In YAML it is written either as a plain
number (a :class:`Constant`) or as a mapping whose ``dist:`` key names the distribution::

    storage_fee_eur_per_day: 120
    value_eur: {dist: lognormal, mean: 14900, sd: 6000}
    share: {dist: beta, a: 2, b: 6}

Each distribution has two faces that the tests keep in agreement:

- the *sampler* (:meth:`Dist.sample`) draws with ``numpy.random.Generator`` methods directly, with
  parameters precomputed once at validation, because it runs many times per replication;
- the *theory* (:meth:`Dist.frozen`, a lazily built and cached ``scipy.stats`` frozen
  distribution) gives :meth:`Dist.ppf` for Latin-hypercube or Sobol designs, the CDF for tests, and
  the moments of the distributions that have no closed form here.

Schema fields declare uncertain numbers with :func:`param`, which records when the value is drawn
(:data:`Scope`: once per replication, per truck or per event), its unit, and bounds that the whole
support of the distribution must respect. :func:`iter_params` lists every such field of a model.
"""

from __future__ import annotations

import bisect
import math
import numbers
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Annotated, Any, ClassVar, Literal, Self, Union, get_args, get_origin

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    GetJsonSchemaHandler,
    PlainSerializer,
    Tag,
    TypeAdapter,
    model_serializer,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema as cs

from sim.errors import did_you_mean
from sim.fmt import as_written
from sim.limits import MAX_PARAMETER_MAGNITUDE

__all__ = [
    "DIST_TYPES",
    "SCOPES",
    "TAG_ALIASES",
    "Beta",
    "Constant",
    "Dist",
    "Distribution",
    "Empirical",
    "Exponential",
    "Gamma",
    "Lognormal",
    "Normal",
    "ParamInfo",
    "Poisson",
    "Scope",
    "Triangular",
    "Uniform",
    "iter_params",
    "param",
    "param_info",
    "to_dist",
]

Scope = Literal["replication", "truck", "event"]
"""When a parameter is drawn: once per replication, once per truck, or once per event."""

SCOPES: tuple[str, ...] = get_args(Scope)

Size = int | tuple[int, ...] | None
"""``size`` argument of :meth:`Dist.sample`: ``None`` for one float, else an array shape."""

# A normal variate beyond 40 standard deviations has probability below 1e-340: the truncated
# normal sampler clips there, which only removes infinities from rounding at u == 0 or 1.
_Z_CLIP = 40.0


# --------------------------------------------------------------------------------------------
# Numbers and their formatting
# --------------------------------------------------------------------------------------------


def _stats() -> Any:
    """``scipy.stats``, imported on first use: it takes about a second to import, which
    validating a scenario or starting a worker should not pay unless theory is needed."""
    from scipy import stats

    return stats


def _plain(x: Any) -> Any:
    """A parameter value for YAML/JSON: integral floats as ints, tuples as lists."""
    if isinstance(x, tuple | list):
        return [_plain(v) for v in x]
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return int(x)
    return x


def _string_hint(value: str) -> str:
    """Extra advice when a YAML scalar that looks like a number arrived as text."""
    try:
        float(value)
    except ValueError:
        return ""
    return (
        f"; YAML reads {value} as text (PyYAML needs a dot and a signed exponent, "
        "e.g. 1.0e+4), so write the number in full or as 1.0e+4"
    )


def _number(value: Any) -> float:
    """Validate one numeric parameter of a distribution: a real number, not a bool or string."""
    if isinstance(value, str):
        raise ValueError(f"expected a number, got the string {value!r}{_string_hint(value)}")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"expected a number, got {value!r}")
    return float(value)


Number = Annotated[float, BeforeValidator(_number, json_schema_input_type=float)]
"""A finite real number parameter (the models forbid inf and nan)."""


def _got(**params: Any) -> str:
    """``(got low=5, mode=3)`` for error messages, skipping parameters that were not given."""
    shown = ", ".join(f"{k}={as_written(v)}" for k, v in params.items() if v is not None)
    return f"(got {shown})"


def _scalar_or_array(out: Any, q: Any) -> float | np.ndarray:
    """A float when ``q`` was a scalar, else the array."""
    if np.ndim(q) == 0:
        return float(out)
    return np.asarray(out, dtype=float)


# --------------------------------------------------------------------------------------------
# The base class
# --------------------------------------------------------------------------------------------


class Dist(BaseModel):
    """An uncertain number: a constant or a probability distribution.

    Subclasses declare the parameters. Validation checks them (with messages that name the
    values) and precomputes what :meth:`sample` needs into the ``_fast`` slot; the scipy frozen
    distribution is built on first use of :meth:`frozen` and cached in the ``_rv`` slot. Both
    slots are plain ``__slots__`` rather than pydantic private attributes because reading a
    private attribute costs about 1.5 µs, more than a numpy draw. They are not part of the
    model's state: pickling or copying drops them and they are rebuilt on first use.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
    __slots__ = ("_fast", "_rv")

    dist: str
    """The tag naming the distribution in YAML, e.g. ``"lognormal"``."""

    discrete: ClassVar[bool] = False
    """Whether the distribution has point masses (constant, poisson, empirical)."""

    # -- validation and caches ---------------------------------------------------------------

    @model_validator(mode="after")
    def _validate_and_prepare(self) -> Self:
        self._check()
        with np.errstate(all="ignore"):  # the result is checked: no warning may leak
            try:
                fast = self._prepare()
                failed = False
            except (OverflowError, ZeroDivisionError, ValueError):
                fast, failed = None, True
            object.__setattr__(self, "_fast", fast)
            if failed or not self._finite_moments():
                raise ValueError(
                    f"{self.describe()} is too extreme to compute with: its parameters, mean "
                    "or variance overflow or vanish in floating point"
                )
        return self

    def _finite_moments(self) -> bool:
        """Whether the mean and variance are finite (only where they are computed without
        scipy, which validation does not import; the others are bounded by their parameters)."""
        cls = type(self)
        if cls.mean is Dist.mean or cls.var is Dist.var:
            return True
        try:
            return math.isfinite(self.mean()) and math.isfinite(self.var())
        except (OverflowError, ZeroDivisionError, ValueError):
            return False

    def _check(self) -> None:
        """Raise ValueError if the parameters are impossible."""

    def _prepare(self) -> Any:
        """What :meth:`sample` needs, computed once from valid parameters."""
        return None

    def _build_frozen(self) -> Any:
        """The scipy.stats frozen distribution of this parameterisation."""
        raise TypeError(f"{type(self).__name__} does not define its scipy distribution")

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails, e.g. after unpickling, copying or
        # model_construct(): rebuild the sampler's precomputed parameters on first use.
        if name == "_fast":
            fast = self._prepare()
            object.__setattr__(self, "_fast", fast)
            return fast
        return super().__getattr__(name)  # type: ignore[misc]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Dist):
            return NotImplemented
        return type(self) is type(other) and self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        return hash((type(self), tuple(self.__dict__.values())))

    # -- theory --------------------------------------------------------------------------------

    def frozen(self) -> Any:
        """The theoretical distribution as a ``scipy.stats`` frozen distribution (cached)."""
        try:
            return self._rv
        except AttributeError:
            rv = self._build_frozen()
            object.__setattr__(self, "_rv", rv)
            return rv

    def mean(self) -> float:
        """Expected value."""
        return float(self.frozen().mean())

    def var(self) -> float:
        """Variance."""
        return float(self.frozen().var())

    def std(self) -> float:
        """Standard deviation."""
        return math.sqrt(self.var())

    def support(self) -> tuple[float, float]:
        """Smallest and largest value the distribution can take (may be infinite)."""
        lo, hi = self.frozen().support()
        return float(lo), float(hi)

    def ppf(self, q: np.ndarray | float) -> np.ndarray | float:
        """Inverse CDF: maps uniforms in [0, 1] (e.g. a Latin-hypercube design) to values."""
        return _scalar_or_array(self.frozen().ppf(q), q)

    # -- sampling -------------------------------------------------------------------------------

    def sample(self, rng: np.random.Generator, size: Size = None) -> float | np.ndarray:
        """Draw one value (``size=None``: a float) or an array of the given shape."""
        raise TypeError(f"{type(self).__name__} does not define how to sample")

    # -- presentation ---------------------------------------------------------------------------

    def _given(self) -> list[tuple[str, Any]]:
        """The parameters the user gave, as (YAML key, value), in declaration order."""
        out: list[tuple[str, Any]] = []
        for name, field in type(self).model_fields.items():
            if name == "dist":
                continue
            value = getattr(self, name)
            if value is None:
                continue
            if name not in self.model_fields_set and value == field.default:
                continue
            out.append((field.alias or name, value))
        return out

    def describe(self) -> str:
        """Human-readable form, e.g. ``lognormal(mean=14900, sd=6000)``."""
        args = ", ".join(f"{key}={as_written(value)}" for key, value in self._given())
        return f"{self.dist}({args})"

    def to_data(self) -> float | dict[str, Any]:
        """YAML/JSON form: a number for a constant, else ``{"dist": ..., <given params>}``."""
        return {"dist": self.dist, **{key: _plain(value) for key, value in self._given()}}

    @model_serializer(mode="plain")
    def _serialize(self) -> Any:
        return self.to_data()

    def __str__(self) -> str:
        return self.describe()

    def __repr_args__(self) -> Any:
        # Show what the user gave, under the YAML keys: Lognormal(mean=14900.0, sd=6000.0).
        return self._given()


def _one_pair(
    tag: str, given: dict[str, float | None], pairs: list[tuple[str, str]], meaning: list[str]
) -> tuple[str, str]:
    """Check that exactly one complete pair of alternative parameters was given; return it."""
    present = {k for k, v in given.items() if v is not None}
    options = " or ".join(f"{a} and {b}{m}" for (a, b), m in zip(pairs, meaning, strict=True))
    if not present:
        raise ValueError(f"{tag} needs either {options}")
    for a, b in pairs:
        if present == {a, b}:
            return a, b
    for a, b in pairs:
        if present < {a, b}:
            missing = ({a, b} - present).pop()
            raise ValueError(
                f"{tag} needs {a} and {b} together: {missing} is missing {_got(**given)}"
            )
    alternatives = " or ".join(f"{a}+{b}" for a, b in pairs)
    raise ValueError(f"{tag} takes exactly one of the pairs {alternatives} {_got(**given)}")


# --------------------------------------------------------------------------------------------
# The distributions
# --------------------------------------------------------------------------------------------


class Constant(Dist):
    """A fixed number. YAML: a plain number, or ``{dist: constant, value: 3}``."""

    dist: Literal["constant"] = "constant"
    value: Number
    discrete: ClassVar[bool] = True

    def _prepare(self) -> float:
        return self.value

    def _build_frozen(self) -> Any:
        return _stats().rv_discrete(values=([self.value], [1.0])).freeze()

    def sample(self, rng: np.random.Generator, size: Size = None) -> float | np.ndarray:
        """The value (rng untouched); an array filled with it if ``size`` is given."""
        if size is None:
            return self.value
        return np.full(size, self.value)

    def mean(self) -> float:
        """The value."""
        return self.value

    def var(self) -> float:
        """Zero."""
        return 0.0

    def support(self) -> tuple[float, float]:
        """``(value, value)``."""
        return self.value, self.value

    def ppf(self, q: np.ndarray | float) -> np.ndarray | float:
        """The value, whatever the quantile."""
        if np.ndim(q) == 0:
            return self.value
        return np.full(np.shape(q), self.value)

    def describe(self) -> str:
        """The number itself, e.g. ``120``."""
        return as_written(self.value)

    def to_data(self) -> float:
        """The number itself (an int when it is integral)."""
        return _plain(self.value)


class Uniform(Dist):
    """Uniform on ``[low, high]``."""

    dist: Literal["uniform"] = "uniform"
    low: Number
    high: Number

    def _check(self) -> None:
        if not self.low < self.high:
            raise ValueError(f"uniform needs low < high {_got(low=self.low, high=self.high)}")

    def _build_frozen(self) -> Any:
        return _stats().uniform(loc=self.low, scale=self.high - self.low)

    def sample(self, rng: np.random.Generator, size: Size = None) -> float | np.ndarray:
        """Draw with ``rng.uniform``."""
        return rng.uniform(self.low, self.high, size)

    def ppf(self, q: np.ndarray | float) -> np.ndarray | float:
        """``low + q (high - low)``."""
        if type(q) is float:  # one per replication and parameter: the same arithmetic in floats
            return self.low + q * (self.high - self.low)
        return _scalar_or_array(self.low + np.asarray(q) * (self.high - self.low), q)

    def mean(self) -> float:
        """``(low + high) / 2``."""
        return (self.low + self.high) / 2

    def var(self) -> float:
        """``(high - low)^2 / 12``."""
        return (self.high - self.low) ** 2 / 12

    def support(self) -> tuple[float, float]:
        """``(low, high)``."""
        return self.low, self.high


class Triangular(Dist):
    """Triangular on ``[low, high]`` with its peak at ``mode``."""

    dist: Literal["triangular"] = "triangular"
    low: Number
    mode: Number
    high: Number

    def _check(self) -> None:
        got = _got(low=self.low, mode=self.mode, high=self.high)
        if not self.low <= self.mode <= self.high:
            raise ValueError(f"triangular needs low <= mode <= high {got}")
        if not self.low < self.high:
            raise ValueError(f"triangular needs low < high {got}")

    def _build_frozen(self) -> Any:
        width = self.high - self.low
        return _stats().triang(c=(self.mode - self.low) / width, loc=self.low, scale=width)

    def sample(self, rng: np.random.Generator, size: Size = None) -> float | np.ndarray:
        """Draw with ``rng.triangular``."""
        return rng.triangular(self.low, self.mode, self.high, size)

    def ppf(self, q: np.ndarray | float) -> np.ndarray | float:
        """Closed form: the square-root branches either side of the mode's CDF value."""
        a, c, b = self.low, self.mode, self.high
        if type(q) is float and 0.0 <= q <= 1.0:  # one uniform: only its branch, in floats
            if q < (c - a) / (b - a):
                return a + math.sqrt(q * (b - a) * (c - a))
            return b - math.sqrt((1.0 - q) * (b - a) * (b - c))
        u = np.asarray(q, dtype=float)
        split = (c - a) / (b - a)
        left = a + np.sqrt(u * (b - a) * (c - a))
        right = b - np.sqrt((1.0 - u) * (b - a) * (b - c))
        return _scalar_or_array(np.where(u < split, left, right), q)

    def mean(self) -> float:
        """``(low + mode + high) / 3``."""
        return (self.low + self.mode + self.high) / 3

    def var(self) -> float:
        """``(a^2 + b^2 + c^2 - ab - ac - bc) / 18``."""
        a, c, b = self.low, self.mode, self.high
        return (a * a + b * b + c * c - a * b - a * c - b * c) / 18

    def support(self) -> tuple[float, float]:
        """``(low, high)``."""
        return self.low, self.high


class Normal(Dist):
    """Normal with ``mean`` and ``sd``; with ``low`` and/or ``high`` a truncated normal.

    The parameter is stored as ``mean_`` (YAML and keyword ``mean``) because ``mean()`` is the
    method giving the expected value, which for a truncated normal differs from ``mean_``.
    Truncated draws use the inverse CDF with ``scipy.special.ndtri``, in the lower tail for
    precision, falling back to ``scipy.stats.truncnorm.ppf`` for absurdly remote intervals.
    """

    dist: Literal["normal"] = "normal"
    mean_: Number = Field(alias="mean")
    sd: Number
    low: Number | None = None
    high: Number | None = None

    @property
    def truncated(self) -> bool:
        """Whether ``low`` or ``high`` is given."""
        return self.low is not None or self.high is not None

    def _check(self) -> None:
        if not self.sd > 0:
            raise ValueError(f"normal needs sd > 0 {_got(mean=self.mean_, sd=self.sd)}")
        if self.low is not None and self.high is not None and not self.low < self.high:
            raise ValueError(
                "normal truncated to [low, high] needs low < high "
                f"{_got(mean=self.mean_, sd=self.sd, low=self.low, high=self.high)}"
            )

    def _standard_bounds(self) -> tuple[float, float]:
        a = -math.inf if self.low is None else (self.low - self.mean_) / self.sd
        b = math.inf if self.high is None else (self.high - self.mean_) / self.sd
        return a, b

    def _prepare(self) -> Any:
        if not self.truncated:
            return self.mean_, self.sd, None
        a, b = self._standard_bounds()
        flip = a > 0  # work in the lower tail, where ndtr/ndtri keep their relative precision
        if flip:
            a, b = -b, -a
        from scipy.special import ndtr, ndtri

        pa, pb = float(ndtr(a)), float(ndtr(b))
        fallback = not (pb > 1e-250 and pb > pa)
        lo = self.low if self.low is not None else self.mean_ - _Z_CLIP * self.sd
        hi = self.high if self.high is not None else self.mean_ + _Z_CLIP * self.sd
        return self.mean_, self.sd, (ndtri, pa, pb - pa, flip, lo, hi, fallback)

    def _build_frozen(self) -> Any:
        if not self.truncated:
            return _stats().norm(loc=self.mean_, scale=self.sd)
        a, b = self._standard_bounds()
        return _stats().truncnorm(a, b, loc=self.mean_, scale=self.sd)

    def sample(self, rng: np.random.Generator, size: Size = None) -> float | np.ndarray:
        """``rng.normal``; truncated: inverse CDF of ``rng.random``."""
        mean, sd, trunc = self._fast
        if trunc is None:
            return rng.normal(mean, sd, size)
        ndtri, pa, width, flip, lo, hi, fallback = trunc
        u = rng.random(size)
        if fallback:
            x = self.frozen().ppf(u)
        else:
            z = ndtri(pa + u * width)
            x = mean + sd * (-z if flip else z)
        if size is None:
            return min(max(float(x), lo), hi)
        return np.clip(x, lo, hi)

    def ppf(self, q: np.ndarray | float) -> np.ndarray | float:
        """``mean + sd ndtri(q)`` (scipy.special); truncated: scipy's truncnorm."""
        if self.truncated:
            return super().ppf(q)
        from scipy.special import ndtri

        return _scalar_or_array(self.mean_ + self.sd * ndtri(q), q)

    def mean(self) -> float:
        """``mean`` if not truncated, else the truncated normal's mean."""
        return self.mean_ if not self.truncated else float(self.frozen().mean())

    def var(self) -> float:
        """``sd^2`` if not truncated, else the truncated normal's variance."""
        return self.sd**2 if not self.truncated else float(self.frozen().var())

    def support(self) -> tuple[float, float]:
        """``(low, high)``, infinite where not given."""
        lo = -math.inf if self.low is None else self.low
        hi = math.inf if self.high is None else self.high
        return lo, hi


class Lognormal(Dist):
    """Lognormal: ``mean`` and ``sd`` of the variable itself, or ``mu`` and ``sigma`` of its log.

    The parameter ``mean`` is stored as ``mean_`` (see :class:`Normal`).
    """

    dist: Literal["lognormal"] = "lognormal"
    mean_: Number | None = Field(None, alias="mean")
    sd: Number | None = None
    mu: Number | None = None
    sigma: Number | None = None

    def _check(self) -> None:
        given = {"mean": self.mean_, "sd": self.sd, "mu": self.mu, "sigma": self.sigma}
        pair = _one_pair(
            "lognormal",
            given,
            [("mean", "sd"), ("mu", "sigma")],
            [" (of the variable itself)", " (of its log)"],
        )
        if pair == ("mean", "sd"):
            if not (self.mean_ > 0 and self.sd > 0):  # type: ignore[operator]
                raise ValueError(
                    f"lognormal needs mean > 0 and sd > 0 {_got(mean=self.mean_, sd=self.sd)}"
                )
        elif not self.sigma > 0:  # type: ignore[operator]
            raise ValueError(f"lognormal needs sigma > 0 {_got(mu=self.mu, sigma=self.sigma)}")

    def _prepare(self) -> tuple[float, float]:
        if self.mu is not None and self.sigma is not None:
            return self.mu, self.sigma
        m, s = self.mean_, self.sd
        assert m is not None and s is not None
        sigma2 = math.log1p((s / m) ** 2)
        return math.log(m) - sigma2 / 2, math.sqrt(sigma2)

    def _finite_moments(self) -> bool:
        mu, sigma = self._fast
        return math.isfinite(mu) and 0 < sigma < math.inf and super()._finite_moments()

    @property
    def log_params(self) -> tuple[float, float]:
        """``(mu, sigma)``: mean and sd of the log of the variable."""
        return self._fast

    def _build_frozen(self) -> Any:
        mu, sigma = self._fast
        return _stats().lognorm(s=sigma, scale=math.exp(mu))

    def ppf(self, q: np.ndarray | float) -> np.ndarray | float:
        """``exp(mu + sigma ndtri(q))`` (scipy.special)."""
        from scipy.special import ndtri

        mu, sigma = self._fast
        return _scalar_or_array(np.exp(mu + sigma * ndtri(q)), q)

    def sample(self, rng: np.random.Generator, size: Size = None) -> float | np.ndarray:
        """Draw with ``rng.lognormal``."""
        mu, sigma = self._fast
        return rng.lognormal(mu, sigma, size)

    def mean(self) -> float:
        """``mean``, or ``exp(mu + sigma^2 / 2)``."""
        if self.mean_ is not None:
            return self.mean_
        mu, sigma = self._fast
        return math.exp(mu + sigma**2 / 2)

    def var(self) -> float:
        """``sd^2``, or ``(exp(sigma^2) - 1) exp(2 mu + sigma^2)``."""
        if self.sd is not None:
            return self.sd**2
        mu, sigma = self._fast
        return math.expm1(sigma**2) * math.exp(2 * mu + sigma**2)

    def support(self) -> tuple[float, float]:
        """``(0, inf)``."""
        return 0.0, math.inf


class Gamma(Dist):
    """Gamma: ``shape`` and ``scale``, or ``mean`` and ``sd`` (stored as ``mean_``)."""

    dist: Literal["gamma"] = "gamma"
    shape: Number | None = None
    scale: Number | None = None
    mean_: Number | None = Field(None, alias="mean")
    sd: Number | None = None

    def _check(self) -> None:
        given = {"shape": self.shape, "scale": self.scale, "mean": self.mean_, "sd": self.sd}
        pair = _one_pair("gamma", given, [("shape", "scale"), ("mean", "sd")], ["", ""])
        a, b = (self.shape, self.scale) if pair == ("shape", "scale") else (self.mean_, self.sd)
        if not (a > 0 and b > 0):  # type: ignore[operator]
            raise ValueError(
                f"gamma needs {pair[0]} > 0 and {pair[1]} > 0 {_got(**{pair[0]: a, pair[1]: b})}"
            )

    def _prepare(self) -> tuple[float, float]:
        if self.shape is not None and self.scale is not None:
            return self.shape, self.scale
        m, s = self.mean_, self.sd
        assert m is not None and s is not None
        return (m / s) ** 2, s * s / m

    def _finite_moments(self) -> bool:
        shape, scale = self._fast
        return 0 < shape < math.inf and 0 < scale < math.inf and super()._finite_moments()

    @property
    def shape_scale(self) -> tuple[float, float]:
        """``(shape, scale)`` whichever pair was given."""
        return self._fast

    def _build_frozen(self) -> Any:
        shape, scale = self._fast
        return _stats().gamma(a=shape, scale=scale)

    def sample(self, rng: np.random.Generator, size: Size = None) -> float | np.ndarray:
        """Draw with ``rng.gamma``."""
        shape, scale = self._fast
        return rng.gamma(shape, scale, size)

    def ppf(self, q: np.ndarray | float) -> np.ndarray | float:
        """``scale * gammaincinv(shape, q)`` (scipy.special)."""
        from scipy.special import gammaincinv

        shape, scale = self._fast
        return _scalar_or_array(scale * gammaincinv(shape, q), q)

    def mean(self) -> float:
        """``shape * scale``."""
        shape, scale = self._fast
        return self.mean_ if self.mean_ is not None else shape * scale

    def var(self) -> float:
        """``shape * scale^2``."""
        shape, scale = self._fast
        return self.sd**2 if self.sd is not None else shape * scale**2

    def support(self) -> tuple[float, float]:
        """``(0, inf)``."""
        return 0.0, math.inf


class Beta(Dist):
    """Beta with shapes ``a`` and ``b``, scaled from [0, 1] to ``[low, high]``."""

    dist: Literal["beta"] = "beta"
    a: Number
    b: Number
    low: Number = 0.0
    high: Number = 1.0

    def _check(self) -> None:
        if not (self.a > 0 and self.b > 0):
            raise ValueError(f"beta needs a > 0 and b > 0 {_got(a=self.a, b=self.b)}")
        if not self.low < self.high:
            raise ValueError(f"beta needs low < high {_got(low=self.low, high=self.high)}")

    def _prepare(self) -> tuple[float, float, float, float]:
        return self.a, self.b, self.low, self.high - self.low

    def _build_frozen(self) -> Any:
        return _stats().beta(self.a, self.b, loc=self.low, scale=self.high - self.low)

    def sample(self, rng: np.random.Generator, size: Size = None) -> float | np.ndarray:
        """``low + (high - low) * rng.beta(a, b)``."""
        a, b, low, width = self._fast
        return low + width * rng.beta(a, b, size)

    def ppf(self, q: np.ndarray | float) -> np.ndarray | float:
        """``low + (high - low) betaincinv(a, b, q)`` (scipy.special)."""
        from scipy.special import betaincinv

        a, b, low, width = self._fast
        return _scalar_or_array(low + width * betaincinv(a, b, q), q)

    def mean(self) -> float:
        """``low + (high - low) a / (a + b)``."""
        return self.low + (self.high - self.low) * self.a / (self.a + self.b)

    def var(self) -> float:
        """``(high - low)^2 ab / ((a + b)^2 (a + b + 1))``."""
        a, b = self.a, self.b
        return (self.high - self.low) ** 2 * a * b / ((a + b) ** 2 * (a + b + 1))

    def support(self) -> tuple[float, float]:
        """``(low, high)``."""
        return self.low, self.high


class Exponential(Dist):
    """Exponential with ``mean`` (stored as ``mean_``) or ``rate`` = 1 / mean."""

    dist: Literal["exponential"] = "exponential"
    mean_: Number | None = Field(None, alias="mean")
    rate: Number | None = None

    def _check(self) -> None:
        if (self.mean_ is None) == (self.rate is None):
            given = _got(mean=self.mean_, rate=self.rate)
            raise ValueError(f"exponential needs exactly one of mean or rate {given}")
        key, value = ("mean", self.mean_) if self.mean_ is not None else ("rate", self.rate)
        if not value > 0:  # type: ignore[operator]
            raise ValueError(f"exponential needs {key} > 0 {_got(**{key: value})}")

    def _prepare(self) -> float:
        return self.mean_ if self.mean_ is not None else 1.0 / self.rate  # type: ignore[operator]

    def _build_frozen(self) -> Any:
        return _stats().expon(scale=self._fast)

    def sample(self, rng: np.random.Generator, size: Size = None) -> float | np.ndarray:
        """Draw with ``rng.exponential``."""
        return rng.exponential(self._fast, size)

    def ppf(self, q: np.ndarray | float) -> np.ndarray | float:
        """``-mean log(1 - q)`` (``inf`` at ``q = 1``, without a warning)."""
        with np.errstate(divide="ignore"):  # log1p(-1) = -inf is the right end of the support
            return _scalar_or_array(-self._fast * np.log1p(-np.asarray(q, dtype=float)), q)

    def mean(self) -> float:
        """``mean`` = 1 / rate."""
        return self._fast

    def var(self) -> float:
        """``mean^2``."""
        return self._fast**2

    def support(self) -> tuple[float, float]:
        """``(0, inf)``."""
        return 0.0, math.inf


class Poisson(Dist):
    """Poisson counts with ``mean`` (stored as ``mean_``); draws are returned as floats."""

    dist: Literal["poisson"] = "poisson"
    mean_: Number = Field(alias="mean")
    discrete: ClassVar[bool] = True

    def _check(self) -> None:
        if not self.mean_ >= 0:
            raise ValueError(f"poisson needs mean >= 0 {_got(mean=self.mean_)}")

    def _build_frozen(self) -> Any:
        return _stats().poisson(self.mean_)

    def sample(self, rng: np.random.Generator, size: Size = None) -> float | np.ndarray:
        """Draw with ``rng.poisson`` (as float)."""
        if size is None:
            return float(rng.poisson(self.mean_))
        return rng.poisson(self.mean_, size).astype(float)

    def mean(self) -> float:
        """``mean``."""
        return self.mean_

    def var(self) -> float:
        """``mean``."""
        return self.mean_

    def support(self) -> tuple[float, float]:
        """``(0, inf)``, or ``(0, 0)`` when the mean is 0."""
        return 0.0, (math.inf if self.mean_ > 0 else 0.0)

    def ppf(self, q: np.ndarray | float) -> np.ndarray | float:
        """Inverse CDF, at least 0 (scipy gives -1 at q = 0)."""
        return _scalar_or_array(np.maximum(self.frozen().ppf(q), 0.0), q)


class Empirical(Dist):
    """A finite set of ``values`` drawn with probabilities proportional to ``weights``.

    The tag ``discrete`` is accepted as an alias of ``empirical`` and kept as given. Without
    weights every value is equally likely; repeated values add up their weights.
    """

    dist: Literal["empirical", "discrete"] = "empirical"
    values: tuple[Number, ...]
    weights: tuple[Number, ...] | None = None
    discrete: ClassVar[bool] = True

    def _check(self) -> None:
        tag = self.dist
        if not self.values:
            raise ValueError(f"{tag} needs at least one value in `values`")
        if self.weights is None:
            return
        if len(self.weights) != len(self.values):
            raise ValueError(
                f"{tag} needs one weight per value (got {len(self.values)} values "
                f"and {len(self.weights)} weights)"
            )
        if any(w < 0 for w in self.weights):
            raise ValueError(f"{tag} needs weights >= 0 (got weights={as_written(self.weights)})")
        if not sum(self.weights) > 0:
            raise ValueError(
                f"{tag} needs weights with a positive sum (got weights={as_written(self.weights)})"
            )

    def _prepare(self) -> Any:
        weights = self.weights if self.weights is not None else (1.0,) * len(self.values)
        pooled: dict[float, float] = {}
        for value, weight in zip(self.values, weights, strict=True):
            if weight > 0:
                pooled[value] = pooled.get(value, 0.0) + weight
        xs = np.array(sorted(pooled), dtype=float)
        ps = np.array([pooled[x] for x in xs.tolist()], dtype=float)
        ps /= ps.sum()
        cdf = np.cumsum(ps)
        cdf[-1] = 1.0  # exactly: rng.random() < 1 always finds a value
        return xs, ps, cdf, xs.tolist(), cdf.tolist()

    @property
    def probabilities(self) -> tuple[np.ndarray, np.ndarray]:
        """``(distinct values sorted, their probabilities)``."""
        xs, ps, *_ = self._fast
        return xs, ps

    def _build_frozen(self) -> Any:
        xs, ps, *_ = self._fast
        return _stats().rv_discrete(values=(xs, ps)).freeze()

    def sample(self, rng: np.random.Generator, size: Size = None) -> float | np.ndarray:
        """Inverse CDF of ``rng.random`` over the sorted values (same law as ``rng.choice``)."""
        xs, _, cdf, xs_list, cdf_list = self._fast
        if size is None:
            return xs_list[bisect.bisect_right(cdf_list, rng.random())]
        return xs[np.searchsorted(cdf, rng.random(size), side="right")]

    def mean(self) -> float:
        """Probability-weighted mean of the values."""
        xs, ps, *_ = self._fast
        return float(ps @ xs)

    def var(self) -> float:
        """Probability-weighted variance of the values."""
        xs, ps, *_ = self._fast
        return float(ps @ (xs - ps @ xs) ** 2)

    def support(self) -> tuple[float, float]:
        """Smallest and largest value with a positive weight."""
        xs_list = self._fast[3]
        return xs_list[0], xs_list[-1]

    def ppf(self, q: np.ndarray | float) -> np.ndarray | float:
        """Smallest value whose CDF reaches ``q`` (the smallest value at q = 0)."""
        xs, _, cdf, *_ = self._fast
        idx = np.minimum(np.searchsorted(cdf, q, side="left"), len(xs) - 1)
        return _scalar_or_array(xs[idx], q)


DIST_TYPES: dict[str, type[Dist]] = {
    "constant": Constant,
    "uniform": Uniform,
    "triangular": Triangular,
    "normal": Normal,
    "lognormal": Lognormal,
    "gamma": Gamma,
    "beta": Beta,
    "exponential": Exponential,
    "poisson": Poisson,
    "empirical": Empirical,
}
"""Distribution classes by their ``dist:`` tag."""

TAG_ALIASES: dict[str, str] = {"discrete": "empirical"}
"""Extra tags accepted for a distribution, mapped to the canonical tag."""

_KNOWN_TAGS: tuple[str, ...] = (*DIST_TYPES, *TAG_ALIASES)


# --------------------------------------------------------------------------------------------
# Coercion: a number or a mapping -> a Dist
# --------------------------------------------------------------------------------------------


def _expected(value: Any) -> str:
    if isinstance(value, str):
        got = f"the string {value!r}{_string_hint(value)}"
    else:
        got = f"{value!r} ({type(value).__name__})"
    return f"expected a number or a distribution mapping with a `dist:` key, got {got}"


def _coerce(value: Any) -> Any:
    """Before-validator of :data:`Distribution`: numbers to constants, tags checked."""
    if isinstance(value, Dist):
        return value
    if isinstance(value, bool | str) or value is None:
        raise ValueError(_expected(value))
    if isinstance(value, numbers.Real):
        return {"dist": "constant", "value": float(value)}
    if isinstance(value, Mapping):
        if "dist" not in value:
            keys = ", ".join(str(k) for k in value) or "none"
            raise ValueError(
                "a distribution mapping needs a `dist:` key naming its type "
                f"(one of {', '.join(_KNOWN_TAGS)}); got keys: {keys}"
            )
        tag = value["dist"]
        if not isinstance(tag, str) or TAG_ALIASES.get(tag, tag) not in DIST_TYPES:
            suggestion = did_you_mean(str(tag), _KNOWN_TAGS)
            raise ValueError(
                f"unknown distribution {tag!r}{suggestion} (known: {', '.join(_KNOWN_TAGS)})"
            )
        return dict(value)
    raise ValueError(_expected(value))


def _tag_of(value: Any) -> str | None:
    """Discriminator: the canonical tag of a mapping or a Dist instance."""
    if isinstance(value, Dist):
        tag: Any = value.dist
    elif isinstance(value, Mapping):
        tag = value.get("dist")
    else:
        return None
    return TAG_ALIASES.get(tag, tag) if isinstance(tag, str) else None


def _serialize(value: Any) -> Any:
    # A raw default (e.g. ``120``) reaches here when pydantic renders JSON-schema defaults.
    return value.to_data() if isinstance(value, Dist) else value


_AnyDist = Annotated[
    Annotated[Constant, Tag("constant")]
    | Annotated[Uniform, Tag("uniform")]
    | Annotated[Triangular, Tag("triangular")]
    | Annotated[Normal, Tag("normal")]
    | Annotated[Lognormal, Tag("lognormal")]
    | Annotated[Gamma, Tag("gamma")]
    | Annotated[Beta, Tag("beta")]
    | Annotated[Exponential, Tag("exponential")]
    | Annotated[Poisson, Tag("poisson")]
    | Annotated[Empirical, Tag("empirical")],
    Discriminator(_tag_of),
]

Distribution = Annotated[
    _AnyDist,
    BeforeValidator(_coerce, json_schema_input_type=float | _AnyDist),
    PlainSerializer(_serialize, return_type=Any),
]
"""Pydantic type of an uncertain number: a number becomes a :class:`Constant`, a mapping with a
``dist:`` key the matching subclass; serialises through :meth:`Dist.to_data`."""

_DIST_ADAPTER: TypeAdapter[Dist] = TypeAdapter(Distribution)


def to_dist(value: Any) -> Dist:
    """Validate a number, a mapping or a Dist into a Dist (raises pydantic.ValidationError)."""
    return _DIST_ADAPTER.validate_python(value)


# --------------------------------------------------------------------------------------------
# Schema parameters: scope, unit and bounds
# --------------------------------------------------------------------------------------------


def _interval(lo: float, hi: float) -> str:
    left = "(" if math.isinf(lo) else "["
    right = ")" if math.isinf(hi) else "]"
    return f"{left}{as_written(lo)}, {as_written(hi)}{right}"


@dataclass(frozen=True)
class ParamInfo:
    """What :func:`param` records about a schema field: scope, bounds and unit.

    Bounds apply to the whole support of the distribution. For continuous distributions an
    open bound (``gt``/``lt``) may touch an end of the support, which has probability zero
    (so a lognormal or an exponential fits ``gt=0``); for constants, poisson and empirical
    distributions the ends are values that occur, so they must lie strictly inside.
    """

    scope: Scope
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    unit: str = ""
    max_magnitude: float | None = dataclass_field(default=None, compare=False)
    """If set, every number the parameter is written with (a constant, a distribution's
    parameters) must lie within ``-max_magnitude .. max_magnitude``."""

    def bounds_text(self) -> str:
        """E.g. ``must lie in [0, 1] (a probability)`` or ``must be >= 0``; empty if unbounded."""
        lower = self.ge if self.ge is not None else self.gt
        upper = self.le if self.le is not None else self.lt
        if lower is not None and upper is not None:
            left = "[" if self.ge is not None else "("
            right = "]" if self.le is not None else ")"
            text = f"must lie in {left}{as_written(lower)}, {as_written(upper)}{right}"
            if (left, lower, upper, right) == ("[", 0, 1, "]"):
                text += " (a probability)"
            return text
        if lower is not None:
            return f"must be {'>=' if self.ge is not None else '>'} {as_written(lower)}"
        if upper is not None:
            return f"must be {'<=' if self.le is not None else '<'} {as_written(upper)}"
        return ""

    def violates(self, dist: Dist) -> bool:
        """Whether some value ``dist`` can take lies outside the bounds."""
        lo, hi = dist.support()
        strict = dist.discrete
        return (
            (self.ge is not None and lo < self.ge)
            or (self.gt is not None and (lo < self.gt or (strict and lo == self.gt)))
            or (self.le is not None and hi > self.le)
            or (self.lt is not None and (hi > self.lt or (strict and hi == self.lt)))
        )

    def check(self, dist: Dist) -> Dist:
        """Return ``dist`` if its numbers are within :attr:`max_magnitude` and its support
        within the bounds, else raise ValueError."""
        if self.max_magnitude is not None:
            for key, value in dist._given():
                for number in value if isinstance(value, tuple | list) else (value,):
                    if isinstance(number, int | float) and abs(number) > self.max_magnitude:
                        limit = f"{self.max_magnitude:g}"
                        where = "" if isinstance(dist, Constant) else f"{key}={number:g}: "
                        raise ValueError(
                            f"{where}{number:g} is too large: the numbers of this parameter "
                            f"must lie within -{limit} .. {limit}"
                        )
        if not self.violates(dist):
            return dist
        bounds = self.bounds_text()
        if isinstance(dist, Constant):
            raise ValueError(f"{bounds}, but {dist.describe()} is not")
        message = f"{bounds}, but {dist.describe()} can take values in {_interval(*dist.support())}"
        hint = self._hint(dist)
        raise ValueError(f"{message}: {hint}" if hint else message)

    def _hint(self, dist: Dist) -> str:
        lower = self.ge if self.ge is not None else self.gt
        upper = self.le if self.le is not None else self.lt
        if lower is not None and upper is not None:
            alternative = "beta or uniform"
        elif upper is None and lower == 0:
            alternative = "lognormal or gamma"
        else:
            alternative = ""
        hi = dist.support()[1]
        if isinstance(dist, Normal):
            return "truncate it with low/high" + (f", or use {alternative}" if alternative else "")
        if math.isinf(hi) and upper is not None and alternative:
            return f"use a bounded distribution such as {alternative}"
        return ""

    def __get_pydantic_json_schema__(
        self, schema: cs.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["scope"] = self.scope
        if self.unit:
            json_schema["unit"] = self.unit
        for key, value in (
            ("minimum", self.ge),
            ("exclusiveMinimum", self.gt),
            ("maximum", self.le),
            ("exclusiveMaximum", self.lt),
        ):
            if value is not None:
                json_schema[key] = value
        return json_schema


def param(
    scope: Scope,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    unit: str = "",
    max_magnitude: float | None = MAX_PARAMETER_MAGNITUDE,
) -> Any:
    """The annotation of a schema field holding an uncertain number drawn per ``scope``.

    Returns ``Annotated[Distribution, ParamInfo(...), AfterValidator(...)]``: it accepts what
    :data:`Distribution` accepts, checks that the distribution's whole support lies within the
    bounds (see :class:`ParamInfo`), and records scope, unit and bounds in a :class:`ParamInfo`
    marker that :func:`param_info` reads. The marker also adds ``scope``, ``unit`` and the bounds
    (as ``minimum``/``exclusiveMinimum``/``maximum``/``exclusiveMaximum``, which constrain the
    plain-number form) to the field's JSON schema. ``param(...) | None`` works for optional
    parameters; defaults may be numbers or mappings when the model has ``validate_default=True``.
    ``max_magnitude`` (default :data:`sim.limits.MAX_PARAMETER_MAGNITUDE`; None: no limit)
    bounds every number the parameter is written with, so that sums over a run cannot overflow.
    """
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}")
    if ge is not None and gt is not None:
        raise ValueError("give at most one of ge and gt")
    if le is not None and lt is not None:
        raise ValueError("give at most one of le and lt")
    info = ParamInfo(
        scope=scope, ge=ge, gt=gt, le=le, lt=lt, unit=unit, max_magnitude=max_magnitude
    )
    return Annotated[Distribution, info, AfterValidator(info.check)]


def _find_param_info(annotation: Any) -> ParamInfo | None:
    """The ParamInfo inside an annotation such as ``Annotated[...]`` or ``param(...) | None``."""
    origin = get_origin(annotation)
    if origin is Annotated:
        for meta in annotation.__metadata__:
            if isinstance(meta, ParamInfo):
                return meta
        return _find_param_info(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        for arg in get_args(annotation):
            found = _find_param_info(arg)
            if found is not None:
                return found
    return None


def param_info(model_cls: type[BaseModel], field_name: str) -> ParamInfo | None:
    """The :class:`ParamInfo` of a field declared with :func:`param`, else None."""
    field = model_cls.model_fields.get(field_name)
    if field is None:
        return None
    for meta in field.metadata:
        if isinstance(meta, ParamInfo):
            return meta
    return _find_param_info(field.annotation)


def iter_params(model: BaseModel, prefix: str = "") -> Iterator[tuple[str, ParamInfo, Dist]]:
    """Every :func:`param` field of ``model`` and the models nested in it, with its dotted path.

    Walks fields holding models, dicts of models (the key joins the path: ``checkpoints.
    medininkai.service_days``) and lists or tuples of models (the index joins the path:
    ``incidents.schedule.0.rate_per_day``). Optional parameters left at None are skipped; a
    raw default (in a model without ``validate_default=True``) is validated on the way.
    """
    for name in type(model).model_fields:
        key = f"{prefix}.{name}" if prefix else name
        value = getattr(model, name)
        info = param_info(type(model), name)
        if info is not None:
            if value is not None:
                # A default is left raw (e.g. 120) when the model lacks validate_default=True.
                yield key, info, value if isinstance(value, Dist) else info.check(to_dist(value))
            continue
        yield from _walk(value, key)


def _walk(value: Any, key: str) -> Iterator[tuple[str, ParamInfo, Dist]]:
    if isinstance(value, Dist):
        return
    if isinstance(value, BaseModel):
        yield from iter_params(value, key)
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from _walk(v, f"{key}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from _walk(v, f"{key}.{i}")
