"""Metric by metric comparison of two run folders: ``sim compare DIR_A DIR_B``.

Every numeric outcome present in both folders' ``runs.parquet`` gets the mean in A and in B,
``diff = mean_b - mean_a``, a 95% confidence interval of the difference and a p-value; every
category outcome (``release_channel``...) the share of each value in A and B, the change and a
chi-square test of the contingency table.

**Paired or not.** Replication ``i`` of a run seeded ``S`` always draws the same random numbers
(:mod:`sim.seeding`), so two runs with the same seed share their randomness replication by
replication (common random numbers). Then the comparison is *paired*: over the replications the
two runs have in common (``0..min(n_a, n_b) - 1`` for ordinary runs), the per-replication
differences ``b_i - a_i`` give the t-interval of the mean difference and a paired t-test, with
a Wilcoxon signed-rank p-value as a robustness check. The luck both runs share cancels, so the
interval is usually much narrower than an unpaired one. Otherwise (different seeds, or
``unpaired=True``) the comparison is *unpaired*: Welch's t-interval of the difference of means
and Welch's t-test, with a two-sample Kolmogorov-Smirnov p-value (a test of the two
distributions, not only of their means).

**Nullable outcomes** (``release_day``...) are compared on their non-null values (paired: the
replications where both are non-null); the change in the null share is reported too, with its
own test (McNemar's exact test when paired, chi-square otherwise). Means are those of the
values compared, so ``diff`` is always ``mean_b - mean_a`` of the same sample.

**Times to an event** (an outcome with a ``survival`` entry in both summaries: a nullable event
day of a run with a known horizon, :mod:`sim.results.survival`) are censored, not missing:
comparing them only where the event happened in both runs hides a change in how often it
happens (a what-if where the event mostly never comes can show a difference of 0). They are
compared over every replication by the restricted mean time to the horizon (RMST): each run's
``min(day, horizon)``, a run without the event counted as the horizon (the earlier horizon of
the two runs). Every run being observed to the horizon, the mean of these restricted times is
exactly the Kaplan-Meier RMST, and the paired t-interval of their per-replication differences
is the CI of the RMST difference (unpaired: Welch's). So ``mean_a``/``mean_b`` are the RMSTs,
``diff`` and ``ci95`` the RMST difference B - A and its CI (also ``rmst_diff``), next to the
share of runs where the event happened (``event_share_a``/``_b``/``_diff`` and its p-value),
the Kaplan-Meier medians (``median_a``/``_b``) and, under ``events_only``, the former
comparison over the runs (paired: the pairs) where the event happened.

**Degenerate cases.** Outcomes constant in both runs (or differences all equal) have a zero-width
interval and p 1 when the difference is 0 (p 0 when it is not: it is then certain); with too few
values a statistic is ``None`` (``null`` in JSON), never NaN.
"""

from __future__ import annotations

import json
import math
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import stats

from sim.errors import InputError, Problem
from sim.fmt import fixed_formatter, percent, rounded_share
from sim.results.summary import render_table
from sim.results.survival import kaplan_meier, restricted_times, survival_horizon

#: Confidence level of every interval.
CONFIDENCE = 0.95
#: Columns of runs.parquet that are not outcomes.
RESERVED_COLUMNS = ("replication", "seed")
#: Files whose presence marks a sweep folder (``sim sweep``), which compare refuses.
SWEEP_FILES = ("design.parquet", "points.parquet")

PAIRED_TEST = "paired t-test"
PAIRED_CI = "t-interval of the per-replication differences"
PAIRED_ROBUST = "Wilcoxon signed-rank"
UNPAIRED_TEST = "Welch t-test"
UNPAIRED_CI = "Welch t-interval of the difference of means"
UNPAIRED_ROBUST = "two-sample Kolmogorov-Smirnov"
CATEGORY_TEST = "chi-square (contingency table)"
NULL_TEST_PAIRED = "McNemar exact (binomial) on the replications whose nullness changed"
NULL_TEST_UNPAIRED = "chi-square (null / non-null by run)"
TIME_TO_EVENT = (
    "restricted mean time to the horizon (RMST): diff and ci95 on min(day, horizon), a run "
    "without the event counted as the horizon"
)


@dataclass(frozen=True)
class Column:
    """An outcome column of runs.parquet: numeric (``int``/``float``) or ``category``."""

    name: str
    kind: Literal["int", "float", "category"]
    unit: str = ""
    nullable: bool = False


@dataclass
class RunFolder:
    """A run folder read for comparison.

    ``seed`` is None when unknown (then runs cannot be paired); ``columns`` are the outcome
    columns in runs.parquet order; ``category_order`` the value order of each category outcome
    as summary.json lists it; ``horizons`` the horizon of each time to an event (the outcomes
    with a ``survival`` entry in summary.json).
    """

    path: Path
    name: str
    seed: int | None
    table: pa.Table
    columns: dict[str, Column]
    category_order: dict[str, list[str]] = field(default_factory=dict)
    horizons: dict[str, float] = field(default_factory=dict)

    @property
    def replications(self) -> int:
        """Rows (replications) in runs.parquet."""
        return int(self.table.num_rows)

    def replication_index(self) -> np.ndarray:
        """The ``replication`` column as int64."""
        return np.asarray(self.table.column("replication").to_numpy(), dtype=np.int64)

    def numeric(self, name: str) -> np.ndarray:
        """A numeric column as float64, nulls as NaN."""
        return _as_float(self.table.column(name))

    def strings(self, name: str) -> list[str | None]:
        """A category column as Python strings (None for nulls)."""
        return [
            None if value is None else str(value) for value in self.table.column(name).to_pylist()
        ]


def _problem(path: Path, label: str, message: str) -> Problem:
    return Problem(str(path), 1, 1, label, message)


def _column_kind(arrow_field: pa.Field) -> Literal["int", "float", "category"] | None:
    """The outcome kind of a column: from sim's field metadata, else from the Arrow type."""
    metadata = arrow_field.metadata or {}
    declared = metadata.get(b"kind", b"").decode("utf-8", "replace")
    if declared in ("int", "float", "category"):
        return declared
    kind = arrow_field.type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        return "int"
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return "float"
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "category"
    return None


def load_run_folder(path: Path, label: str = "DIR") -> RunFolder:
    """Read a run folder (``runs.parquet`` and ``summary.json``) for :func:`compare_runs`.

    ``label`` names the argument in problems (``DIR_A``). Raises :class:`InputError` with a
    ``FILE:1:1: LABEL: message`` problem for anything that is not a readable run folder: a
    missing path, a file, a sweep folder, a missing or unreadable runs.parquet or summary.json.
    """
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.exists():
        raise InputError([_problem(path, label, "no such run folder")])
    if not path.is_dir():
        raise InputError([_problem(path, label, "is a file, not a run folder")])
    for name in SWEEP_FILES:
        if (path / name).exists():
            raise InputError(
                [
                    _problem(
                        path,
                        label,
                        f"is a sweep folder (it has {name}), not a run folder: sim compare "
                        "compares two runs of `sim run`",
                    )
                ]
            )
    runs_path = path / "runs.parquet"
    summary_path = path / "summary.json"
    if not runs_path.is_file():
        raise InputError([_problem(path, label, "is not a run folder: runs.parquet is missing")])
    if not summary_path.is_file():
        raise InputError([_problem(path, label, "is not a run folder: summary.json is missing")])
    try:
        table = pq.read_table(runs_path)
    except Exception as error:  # any Arrow error: not a Parquet file, truncated...
        message = f"cannot read runs.parquet: {type(error).__name__}: {error}"
        raise InputError([_problem(runs_path, label, message)]) from None
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        message = f"cannot read summary.json: {error}"
        raise InputError([_problem(summary_path, label, message)]) from None
    if not isinstance(summary, dict):
        raise InputError([_problem(summary_path, label, "summary.json is not a JSON object")])
    return run_data(table, summary, path, label)


def run_data(table: pa.Table, summary: dict[str, Any], path: Path, label: str = "DIR") -> RunFolder:
    """A run's table and summary (read from a folder or in memory) checked for comparison."""
    runs_path = path / "runs.parquet"
    if "point" in table.column_names:
        message = "has a `point` column: a sweep's runs, not a run folder's"
        raise InputError([_problem(runs_path, label, message)])
    if "replication" not in table.column_names:
        raise InputError([_problem(runs_path, label, "has no `replication` column")])
    if _column_kind(table.schema.field("replication")) != "int":
        raise InputError([_problem(runs_path, label, "`replication` is not an integer column")])
    if table.column("replication").null_count:
        raise InputError([_problem(runs_path, label, "`replication` has nulls")])
    replications = np.asarray(table.column("replication").to_numpy(), dtype=np.int64)
    if np.unique(replications).size != replications.size:
        raise InputError([_problem(runs_path, label, "`replication` has repeated values")])

    seed = _seed(table, summary)
    columns: dict[str, Column] = {}
    for arrow_field in table.schema:
        if arrow_field.name in RESERVED_COLUMNS:
            continue
        kind = _column_kind(arrow_field)
        if kind is None:
            continue  # lists, structs...: nothing sensible to compare
        metadata = arrow_field.metadata or {}
        unit = metadata.get(b"unit", b"").decode("utf-8", "replace")
        declared_nullable = b"kind" in metadata and arrow_field.nullable
        has_nulls = table.column(arrow_field.name).null_count > 0
        if kind != "category" and not has_nulls:
            has_nulls = bool(np.isnan(_as_float(table.column(arrow_field.name))).any())
        columns[arrow_field.name] = Column(
            arrow_field.name, kind, unit, nullable=declared_nullable or has_nulls
        )
    scenario_name = summary.get("scenario")
    categories = summary.get("categories")
    order: dict[str, list[str]] = {}
    if isinstance(categories, dict):
        for key, shares in categories.items():
            if isinstance(shares, dict):
                order[str(key)] = [str(value) for value in shares]
    horizons: dict[str, float] = {}
    metrics = summary.get("metrics")
    if isinstance(metrics, dict):
        for key, metric in metrics.items():
            horizon = survival_horizon(metric)
            if horizon is not None and key in columns and columns[key].kind != "category":
                horizons[str(key)] = horizon
    return RunFolder(
        path=path,
        name=scenario_name if isinstance(scenario_name, str) and scenario_name else path.name,
        seed=seed,
        table=table,
        columns=columns,
        category_order=order,
        horizons=horizons,
    )


def _as_float(column: pa.ChunkedArray) -> np.ndarray:
    """A numeric column as float64, nulls as NaN."""
    return np.asarray(pc.fill_null(column.cast(pa.float64()), math.nan).to_numpy(), np.float64)


def _seed(table: pa.Table, summary: dict[str, Any]) -> int | None:
    """The run's seed: the ``seed`` column if it holds one value, else summary.json's."""
    if "seed" in table.column_names and table.num_rows:
        values = pc.unique(table.column("seed").drop_null()).to_pylist()
        if len(values) == 1 and isinstance(values[0], int):
            return int(values[0])
        if len(values) > 1:
            return None
    seed = summary.get("seed")
    if isinstance(seed, int) and not isinstance(seed, bool):
        return seed
    return None


def _number(value: Any) -> float | None:
    """A JSON-safe float (None for None, NaN, infinity)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _quiet(function: Callable[[], Any]) -> Any:
    """Call a scipy statistic, silencing its warnings; None if it refuses the data."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return function()
        except (ValueError, ZeroDivisionError, FloatingPointError):
            return None


def _degenerate(diff: float) -> tuple[list[float | None], float]:
    """Zero spread: the difference is known exactly."""
    return [diff, diff], (1.0 if diff == 0 else 0.0)


def paired_metric(a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    """Paired comparison of aligned samples (NaN = null; pairs with a null are left out).

    ``ci95``: t-interval of the mean of ``b - a``; ``p_value``: paired t-test;
    ``wilcoxon_p_value``: Wilcoxon signed-rank test (None when every difference is 0).
    """
    both = ~np.isnan(a) & ~np.isnan(b)
    a, b = a[both], b[both]
    n = int(a.size)
    entry: dict[str, Any] = {
        "test": PAIRED_TEST,
        "ci_method": PAIRED_CI,
        "robustness_test": PAIRED_ROBUST,
        "n": n,
        "n_a": n,
        "n_b": n,
        "mean_a": None,
        "mean_b": None,
        "diff": None,
        "ci95": [None, None],
        "p_value": None,
        "wilcoxon_p_value": None,
    }
    if n == 0:
        return entry
    mean_a, mean_b = float(np.mean(a)), float(np.mean(b))
    diff = mean_b - mean_a
    entry.update(mean_a=_number(mean_a), mean_b=_number(mean_b), diff=_number(diff))
    if n < 2:
        return entry
    differences = b - a
    if np.all(differences == differences[0]):
        ci95, p_value = _degenerate(diff)
    else:
        result = stats.ttest_rel(b, a)
        interval = result.confidence_interval(CONFIDENCE)
        ci95 = [_number(interval.low), _number(interval.high)]
        p_value = float(result.pvalue)
    entry.update(ci95=ci95, p_value=_number(p_value))
    if np.any(differences != 0):
        wilcoxon = _quiet(lambda: stats.wilcoxon(differences))
        if wilcoxon is not None:
            entry["wilcoxon_p_value"] = _number(wilcoxon.pvalue)
    return entry


def unpaired_metric(a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    """Unpaired comparison of two samples (NaN = null, left out).

    ``ci95``: Welch t-interval of ``mean(b) - mean(a)``; ``p_value``: Welch's t-test;
    ``ks_p_value``: two-sample Kolmogorov-Smirnov test.
    """
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    n_a, n_b = int(a.size), int(b.size)
    entry: dict[str, Any] = {
        "test": UNPAIRED_TEST,
        "ci_method": UNPAIRED_CI,
        "robustness_test": UNPAIRED_ROBUST,
        "n_a": n_a,
        "n_b": n_b,
        "mean_a": _number(np.mean(a)) if n_a else None,
        "mean_b": _number(np.mean(b)) if n_b else None,
        "diff": None,
        "ci95": [None, None],
        "p_value": None,
        "ks_p_value": None,
    }
    if n_a == 0 or n_b == 0:
        return entry
    diff = float(np.mean(b)) - float(np.mean(a))
    entry["diff"] = _number(diff)
    ks = _quiet(lambda: stats.ks_2samp(a, b))
    if ks is not None:
        entry["ks_p_value"] = _number(ks.pvalue)
    if n_a < 2 or n_b < 2:
        return entry
    if np.all(a == a[0]) and np.all(b == b[0]):
        ci95, p_value = _degenerate(diff)
    else:
        result = stats.ttest_ind(b, a, equal_var=False)
        interval = result.confidence_interval(CONFIDENCE)
        ci95 = [_number(interval.low), _number(interval.high)]
        p_value = float(result.pvalue)
    entry.update(ci95=ci95, p_value=_number(p_value))
    return entry


def _chi_square(table: np.ndarray) -> float | None:
    """p of scipy's chi-square test of a contingency table; None when it is not defined."""
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or np.any(table.sum(axis=1) == 0):
        return None
    result = _quiet(lambda: stats.chi2_contingency(table))
    return None if result is None else _number(result.pvalue)


def null_share_change(null_a: np.ndarray, null_b: np.ndarray, *, paired: bool) -> dict[str, Any]:
    """Null shares in A and B, their change and a test (McNemar when paired, else chi-square)."""
    share_a = float(null_a.mean()) if null_a.size else None
    share_b = float(null_b.mean()) if null_b.size else None
    change = None if share_a is None or share_b is None else share_b - share_a
    p_value: float | None
    if paired:
        only_b = int(np.sum(~null_a & null_b))
        only_a = int(np.sum(null_a & ~null_b))
        discordant = only_a + only_b
        p_value = 1.0 if discordant == 0 else float(stats.binomtest(only_b, discordant).pvalue)
        test = NULL_TEST_PAIRED
    else:
        counts = np.array(
            [[null_a.sum(), (~null_a).sum()], [null_b.sum(), (~null_b).sum()]], dtype=np.int64
        )
        p_value = _chi_square(counts)
        test = NULL_TEST_UNPAIRED
    return {
        "null_share_a": share_a,
        "null_share_b": share_b,
        "null_share_diff": change,
        "null_share_p_value": _number(p_value),
        "null_share_test": test,
    }


def category_change(
    values_a: Sequence[str | None],
    values_b: Sequence[str | None],
    order: Sequence[str] = (),
    *,
    paired: bool = False,
) -> dict[str, Any]:
    """Shares of each value in A and B (nulls left out), the change and a chi-square test.

    ``order`` lists values to show first (summary.json's order); the rest follow, sorted. With
    ``paired`` (aligned samples), ``changed_share`` is the share of replications whose value
    differs between the runs.
    """
    counts_a = Counter(value for value in values_a if value is not None)
    counts_b = Counter(value for value in values_b if value is not None)
    seen = set(counts_a) | set(counts_b)
    names = list(dict.fromkeys(order))
    names += sorted(value for value in seen if value not in names)
    total_a, total_b = sum(counts_a.values()), sum(counts_b.values())
    shares: dict[str, Any] = {}
    for name in names:
        share_a = counts_a[name] / total_a if total_a else None
        share_b = counts_b[name] / total_b if total_b else None
        shares[name] = {
            "share_a": share_a,
            "share_b": share_b,
            "diff": None if share_a is None or share_b is None else share_b - share_a,
        }
    table = np.array([[counts_a[n] for n in names], [counts_b[n] for n in names]], np.int64)
    entry: dict[str, Any] = {
        "test": CATEGORY_TEST + (" (ignores the pairing)" if paired else ""),
        "n_a": total_a,
        "n_b": total_b,
        "p_value": _chi_square(table) if names else None,
        "values": shares,
    }
    if paired:
        pairs = [(x, y) for x, y in zip(values_a, values_b, strict=True)]
        entry["changed_share"] = sum(x != y for x, y in pairs) / len(pairs) if pairs else None
    return entry


def _common_horizon(horizon_a: float | None, horizon_b: float | None) -> float | None:
    """The horizon both runs were observed to (the earlier one), None unless both have one."""
    if horizon_a is None or horizon_b is None:
        return None
    return min(horizon_a, horizon_b)


def time_to_event_metric(
    a: np.ndarray, b: np.ndarray, horizon: float, *, paired: bool
) -> dict[str, Any]:
    """Comparison of a time to an event (event days, NaN = no event) censored at ``horizon``.

    Each run's time is restricted to the horizon (``min(day, horizon)``, a run without the
    event counted as the horizon: :func:`sim.results.survival.restricted_times`), so its mean
    is the restricted mean time to the event (RMST), exactly the Kaplan-Meier one since every
    run is observed to the horizon. ``mean_a``, ``mean_b``, ``diff`` (= ``rmst_diff``),
    ``ci95`` and the tests are those of :func:`paired_metric` or :func:`unpaired_metric` on
    these restricted times: over every (common) replication, not only where the event
    happened. Beside them: ``horizon``, the Kaplan-Meier medians, the share of runs where the
    event happened in each run and its change (``event_share_*``; the test is that of the
    null share), and under ``events_only`` the former comparison over the runs (paired: the
    pairs) where the event happened.
    """
    times_a, happened_a = restricted_times(a, horizon)
    times_b, happened_b = restricted_times(b, horizon)
    entry = paired_metric(times_a, times_b) if paired else unpaired_metric(times_a, times_b)
    events_a = np.where(happened_a, a, math.nan)
    events_b = np.where(happened_b, b, math.nan)
    observed = paired_metric(events_a, events_b) if paired else unpaired_metric(events_a, events_b)
    curve_a, curve_b = kaplan_meier(a, horizon), kaplan_meier(b, horizon)
    share_a = float(happened_a.mean()) if happened_a.size else None
    share_b = float(happened_b.mean()) if happened_b.size else None
    change = null_share_change(~happened_a, ~happened_b, paired=paired)
    entry.update(
        ci_method=(PAIRED_CI if paired else UNPAIRED_CI) + " of min(day, horizon)",
        horizon=horizon,
        rmst_a=entry["mean_a"],
        rmst_b=entry["mean_b"],
        rmst_diff=entry["diff"],
        median_a=curve_a.median() if curve_a is not None else None,
        median_b=curve_b.median() if curve_b is not None else None,
        event_share_a=share_a,
        event_share_b=share_b,
        event_share_diff=None if share_a is None or share_b is None else share_b - share_a,
        event_share_p_value=change["null_share_p_value"],
        events_only={
            key: observed[key]
            for key in ("n", "n_a", "n_b", "mean_a", "mean_b", "diff", "ci95", "p_value")
            if key in observed
        },
    )
    return entry


def _describe(folder: RunFolder) -> dict[str, Any]:
    return {
        "name": folder.name,
        "path": str(folder.path),
        "seed": folder.seed,
        "replications": folder.replications,
    }


def compare_runs(a: RunFolder, b: RunFolder, *, unpaired: bool = False) -> dict[str, Any]:
    """The comparison of two loaded run folders (the JSON of ``sim compare --format json``).

    Paired when both seeds are known and equal, the runs have replications in common and
    ``unpaired`` is False; ``diff`` is always B minus A. Numerical warnings of the tests (a
    near-constant difference: scipy's precision loss) stay inside: their results are reported
    as computed, a non-finite one as null.
    """
    import warnings

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return _compare_runs(a, b, unpaired=unpaired)


def _compare_runs(a: RunFolder, b: RunFolder, *, unpaired: bool) -> dict[str, Any]:
    if not set(a.columns) & set(b.columns):
        raise InputError(
            [
                Problem(
                    str(b.path),
                    1,
                    1,
                    "",
                    f"has no outcome in common with {a.path}: runs of different models "
                    "cannot be compared",
                )
            ]
        )
    rep_a, rep_b = a.replication_index(), b.replication_index()
    common, index_a, index_b = np.intersect1d(rep_a, rep_b, return_indices=True)
    same_seed = a.seed is not None and a.seed == b.seed
    paired = same_seed and common.size > 0 and not unpaired
    if paired:
        pairing = (
            f"paired on {common.size:,} common replications "
            f"(same seed {a.seed}: common random numbers)"
        )
    elif unpaired:
        pairing = "unpaired (forced by --unpaired" + (
            f"; same seed {a.seed})" if same_seed else f"; seeds {a.seed} and {b.seed})"
        )
    elif not same_seed:
        pairing = f"unpaired (different seeds): A seed {a.seed}, B seed {b.seed}"
    else:
        pairing = f"unpaired (same seed {a.seed} but no replications in common)"

    metrics: dict[str, Any] = {}
    categories: dict[str, Any] = {}
    for name, column in a.columns.items():
        other = b.columns.get(name)
        if other is None:
            continue
        numeric_a = column.kind != "category"
        numeric_b = other.kind != "category"
        if numeric_a and numeric_b:
            x_a, x_b = a.numeric(name), b.numeric(name)
            if paired:
                x_a, x_b = x_a[index_a], x_b[index_b]
            horizon = _common_horizon(a.horizons.get(name), b.horizons.get(name))
            if horizon is not None:
                entry = time_to_event_metric(x_a, x_b, horizon, paired=paired)
            elif paired:
                entry = paired_metric(x_a, x_b)
            else:
                entry = unpaired_metric(x_a, x_b)
            integer = column.kind == "int" and other.kind == "int"
            entry["kind"] = "int" if integer else "float"
            entry["unit"] = column.unit or other.unit
            mean_a, diff = entry["mean_a"], entry["diff"]
            entry["relative_diff"] = (
                _number(diff / abs(mean_a)) if diff is not None and mean_a else None
            )
            if column.nullable or other.nullable:
                entry.update(null_share_change(np.isnan(x_a), np.isnan(x_b), paired=paired))
            metrics[name] = entry
        elif not numeric_a and not numeric_b:
            s_a, s_b = a.strings(name), b.strings(name)
            if paired:
                s_a = [s_a[i] for i in index_a]
                s_b = [s_b[i] for i in index_b]
            order = a.category_order.get(name, []) + b.category_order.get(name, [])
            categories[name] = category_change(s_a, s_b, order, paired=paired)
    shared = set(metrics) | set(categories)
    return {
        "paired": bool(paired),
        "pairing": pairing,
        "a": _describe(a),
        "b": _describe(b),
        "seed_a": a.seed,
        "seed_b": b.seed,
        "replications": {
            "a": a.replications,
            "b": b.replications,
            "common": int(common.size),
            "compared": int(common.size) if paired else None,
        },
        "tests": {
            "diff": "mean_b - mean_a",
            "ci95": PAIRED_CI if paired else UNPAIRED_CI,
            "p_value": PAIRED_TEST if paired else UNPAIRED_TEST,
            "robustness": PAIRED_ROBUST if paired else UNPAIRED_ROBUST,
            "categories": CATEGORY_TEST,
            "times_to_event": TIME_TO_EVENT,
            "confidence": CONFIDENCE,
        },
        "metrics": metrics,
        "categories": categories,
        "only_in_a": [name for name in a.columns if name not in shared],
        "only_in_b": [name for name in b.columns if name not in shared],
    }


def compare_folders(dir_a: Path, dir_b: Path, *, unpaired: bool = False) -> dict[str, Any]:
    """Load two run folders and compare them; problems with either raise one InputError."""
    problems: list[Problem] = []
    loaded: list[RunFolder] = []
    for path, label in ((dir_a, "DIR_A"), (dir_b, "DIR_B")):
        try:
            loaded.append(load_run_folder(path, label))
        except InputError as error:
            problems.extend(error.problems)
    if problems:
        raise InputError(problems)
    return compare_runs(loaded[0], loaded[1], unpaired=unpaired)


def _p_text(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 0.001:
        return "<0.001"
    return f"{value:.3f}"


def _time_to_event_lines(metrics: dict[str, Any], paired: bool) -> list[str]:
    """The times to an event: RMST in A and B, their difference with its CI, the share of runs
    where the event happened, the Kaplan-Meier medians, and the former diff where it happened
    in both."""
    found = [(name, entry) for name, entry in metrics.items() if "rmst_diff" in entry]
    if not found:
        return []
    where = "in both" if paired else "in each"
    rows = [
        [
            "",
            "RMST A",
            "RMST B",
            "diff",
            "95% CI",
            "happened A",
            "B",
            "KM median A",
            "B",
            f"diff where it happened {where}",
        ]
    ]
    for name, entry in found:
        fmt = fixed_formatter(entry.get("unit", ""), name, entry.get("kind", "float"))

        def signed(value: float | None, fmt: Callable[[Any], str] = fmt) -> str:
            text = fmt(value)
            return "+" + text if value is not None and value > 0 and text != "0" else text

        def median(value: float | None, fmt: Callable[[Any], str] = fmt) -> str:
            return "not reached" if value is None else fmt(value)

        low, high = entry["ci95"]
        observed = entry.get("events_only") or {}
        rows.append(
            [
                "  " + name,
                fmt(entry["rmst_a"]),
                fmt(entry["rmst_b"]),
                signed(entry["rmst_diff"]),
                "-" if low is None or high is None else f"[{signed(low)}, {signed(high)}]",
                percent(entry["event_share_a"]),
                percent(entry["event_share_b"]),
                median(entry["median_a"]),
                median(entry["median_b"]),
                signed(observed.get("diff")),
            ]
        )
    horizons = sorted({compact_day(entry["horizon"]) for _, entry in found})
    heading = (
        f"times to an event, censored at the horizon (day {', '.join(horizons)}): diff = "
        "restricted mean time (RMST) B - A, a run without the event counting as the horizon"
    )
    return ["", heading, *render_table(rows, right=set(range(1, 10)))]


def compact_day(value: float) -> str:
    """A horizon as a day number: 365, or 365.5."""
    return f"{value:g}"


def format_comparison(result: dict[str, Any]) -> str:
    """A fixed-width terminal table of :func:`compare_runs`'s result.

    The header names the runs and says whether the comparison is paired (and why); one row per
    numeric outcome: A, B, diff, 95% CI of the diff, p, the robustness p and the unit (for a
    time to an event: the restricted means and their difference); then the times to an event
    (RMSTs, share of runs where the event happened, Kaplan-Meier medians, the former diff over
    the runs where it happened); then the shares of each category outcome.
    """
    paired = bool(result["paired"])
    lines = []
    for key in ("a", "b"):
        run = result[key]
        lines.append(
            f"{key.upper()}: {run['name']} ({run['path']}: {run['replications']:,} "
            f"replications, seed {run['seed']})"
        )
    lines.append(result["pairing"])
    tests = result["tests"]
    robust_key, robust_label = (
        ("wilcoxon_p_value", "p Wilcoxon") if paired else ("ks_p_value", "p KS")
    )
    lines.append(
        f"diff = B - A; 95% CI: {tests['ci95']}; p: {tests['p_value']}; "
        f"{robust_label}: {tests['robustness']}"
    )
    if any("rmst_diff" in entry for entry in result["metrics"].values()):
        lines.append(
            "times to an event (see below): A, B and diff are restricted mean times to the "
            "horizon over every replication, a run without the event counted as the horizon"
        )
    lines.append("")
    rows = [["metric", "A", "B", "diff", "95% CI of diff", "p", robust_label, "unit"]]
    for name, entry in result["metrics"].items():
        fmt = fixed_formatter(entry.get("unit", ""), name, entry.get("kind", "float"))

        def signed(value: float | None, fmt: Callable[[Any], str] = fmt) -> str:
            text = fmt(value)
            return "+" + text if value is not None and value > 0 and text != "0" else text

        low, high = entry["ci95"]
        ci = "-" if low is None or high is None else f"[{signed(low)}, {signed(high)}]"
        label = name
        if "null_share_a" in entry and (entry["null_share_a"] or entry["null_share_b"]):
            share_a, share_b = entry["null_share_a"], entry["null_share_b"]
            count = f"{entry['n']:,} pairs" if paired else f"n {entry['n_a']:,}/{entry['n_b']:,}"
            label += f" (null {rounded_share(share_a)} -> {rounded_share(share_b)}; {count})"
        rows.append(
            [
                label,
                fmt(entry["mean_a"]),
                fmt(entry["mean_b"]),
                signed(entry["diff"]),
                ci,
                _p_text(entry["p_value"]),
                _p_text(entry.get(robust_key)),
                entry.get("unit", ""),
            ]
        )
    if len(rows) > 1:
        lines.extend(render_table(rows, right={1, 2, 3, 4, 5, 6}))
    nulls = [
        (name, entry)
        for name, entry in result["metrics"].items()
        if "null_share_a" in entry and entry["null_share_diff"]
    ]
    if nulls:
        lines.append("")
        lines.append("null share (no value: the event did not happen)")
        null_rows = [
            [
                "  " + name,
                percent(entry["null_share_a"]),
                percent(entry["null_share_b"]),
                f"{entry['null_share_diff'] * 100:+.1f} pp",
                "p " + _p_text(entry["null_share_p_value"]),
            ]
            for name, entry in nulls
        ]
        lines.extend(render_table(null_rows, right={1, 2, 3}))
    lines.extend(_time_to_event_lines(result["metrics"], paired))
    for name, entry in result["categories"].items():
        lines.append("")
        heading = f"{name} (share of replications; chi-square p {_p_text(entry['p_value'])}"
        if paired:
            heading += ", ignoring the pairing"
        if entry.get("changed_share") is not None:
            heading += f"; changed in {entry['changed_share']:.1%} of replications"
        lines.append(heading + ")")
        share_rows = [["", "A", "B", "change"]]
        for value, shares in entry["values"].items():
            share_a, share_b, change = shares["share_a"], shares["share_b"], shares["diff"]
            share_rows.append(
                [
                    "  " + value,
                    percent(share_a),
                    percent(share_b),
                    "-" if change is None else f"{change * 100:+.1f} pp",
                ]
            )
        lines.extend(render_table(share_rows, right={1, 2, 3}))
    only = [(key, result[f"only_in_{key}"]) for key in ("a", "b")]
    for key, names in only:
        if names:
            lines.append("")
            lines.append(f"only in {key.upper()} (not compared): {', '.join(names)}")
    return "\n".join(lines) + "\n"
