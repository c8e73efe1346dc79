"""Scenario discovery on a sweep folder: where in the parameter space is an outcome likely
above (or below) a threshold?

``sim discover SWEEP_DIR --outcome NAME --above X`` runs PRIM, the Patient Rule Induction
Method (Friedman and Fisher 1999, as used for scenario discovery by Bryant and Lempert 2010),
on the sweep's design, with the peeling and pasting of :mod:`sim.analysis.prim`.

**Cases.** By default each design point is one observation (``unit: point``). The outcome of a
successful replication (no ``error``) *meets the condition* when it is strictly above X
(``--above``) or strictly below X (``--below``); a point's *share* is the fraction of its
successful replications that meet it, and the point is a *case of interest* when its share is at
least ``threshold_share`` (default 0.5: the condition holds in at least half of the point's
replications, roughly "its median is above X"). Points aggregate the replication noise, which
the parameters cannot explain, so each observation says what the parameters make likely. With
``per_run`` every successful run is an observation with its point's parameters, and a box's
density is then the chance that a single run in the box meets the condition.

A null outcome (an event that did not happen, e.g. ``release_day`` without a release) counts as
``null_as`` if given, else as the sweep's own ``null_as`` for that output (``summary.json``),
else the run is left out of its point's share (a note says how many). Points left with no
usable run are left out of the analysis.

**The box.** PRIM peels the box that holds every point (a share ``peel_alpha`` of the
observations at a time, from one side of one parameter) while its density rises and its mass
stays at least ``min_support``, then pastes back while density still rises. Each step of this
*trajectory* is a candidate box with

- coverage: the share of all cases of interest that lie in the box;
- density: the share of the observations in the box that are cases of interest;
- mass (support): the share of all observations that lie in the box.

The chosen box is, by default, the one of highest density among the steps with coverage at least
``min_coverage`` (0.5), the earliest such step on ties (fewer restrictions); ``step`` picks a
step of the trajectory instead. A parameter is *restricted* when its box range is narrower than
its range in the data. Each restriction has a quasi-p value (Bryant and Lempert 2010): the
one-sided binomial probability of finding at least the box's cases of interest in the box if
that restriction were dropped; a large value (above 0.05, say) means the restriction adds
little.

**Output.** :func:`discover` returns the box as a dict; :func:`write_discovery` stores it in
``SWEEP_DIR/discovery.json``, a JSON list of boxes in which the entry of the same outcome,
direction and threshold is replaced, written atomically (temporary file and rename, under a lock
on the folder). Each box: ``outcome``, ``direction`` ("above" or "below"), ``threshold``,
``threshold_share`` (null in per-run mode), ``unit`` ("point" or "run"), ``coverage``,
``density``, ``mass``, ``cases`` (cases of interest in all), ``points`` (design points
analysed), ``runs`` (successful runs with a usable value), ``n`` (observations: points or runs),
``cases_in_box``, ``n_in_box``, ``limits`` ({KEY: [lo, hi]} for every parameter, the full range
for one not restricted; for a text parameter, the list of its values kept), ``restricted`` (the
restricted keys, most restricted first), ``ranges`` (each parameter's range in the data),
``quasi_p`` ({KEY: p} for the restricted keys), ``step`` and ``rule`` (how the box was chosen),
the settings (``peel_alpha``, ``paste_alpha``, ``min_support``, ``min_coverage``, ``null_as``),
``method``, and ``trajectory`` (per step: ``step``, ``coverage``, ``density``, ``mass``,
``restricted_dims``).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from sim.analysis.prim import peel_and_paste
from sim.analysis.thresholds import float_values, succeeded, threshold_shares
from sim.errors import InputError, Problem, did_you_mean
from sim.files import read_schema, read_table
from sim.fmt import significant
from sim.results.summary import render_table

#: The file name used for problems with command-line arguments (as in :mod:`sim.cli`).
ARGUMENTS = "<command line>"
#: Where the boxes of a sweep folder are kept.
DISCOVERY_FILE = "discovery.json"
#: Columns of runs.parquet that are not outcomes (besides the design's parameters).
RUN_COLUMNS = ("point", "replication", "seed", "error")

#: The ``method`` of every box: the PRIM implementation that found it.
METHOD = "PRIM (sim.analysis.prim)"

Direction = Literal["above", "below"]


@dataclass(frozen=True)
class Cases:
    """The observations PRIM works on: parameters ``x`` (one row per point or run) and ``y``
    (True for a case of interest), with the counts that describe how they were made."""

    x: Any  # pandas.DataFrame: one column per varied key path
    y: np.ndarray
    unit: Literal["point", "run"]
    points: int
    runs: int
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Discovery:
    """A box found by :func:`discover`: the ``entry`` stored in discovery.json, and notes for
    the user (points or runs left out)."""

    entry: dict[str, Any]
    notes: list[str]


def _argument(key: str, message: str) -> InputError:
    return InputError([Problem(ARGUMENTS, 1, 1, key, message)])


def _folder_problem(folder: Path, message: str) -> InputError:
    return InputError([Problem(str(folder), 1, 1, "", message)])


def _number(value: float) -> str:
    """A parameter value or threshold for the terminal: thousands separated, few digits."""
    return significant(value, 4, minus="-")


def _check_settings(
    above: float | None,
    below: float | None,
    threshold_share: float,
    peel_alpha: float,
    min_support: float,
    min_coverage: float,
    step: int | None,
    null_as: float | None,
) -> tuple[Direction, float]:
    """Refuse settings that cannot work; returns the direction and the threshold."""
    if above is None and below is None:
        raise _argument("--above", "give the condition: --above X or --below X")
    if above is not None and below is not None:
        raise _argument("--below", "give either --above X or --below X, not both")
    direction: Direction = "above" if above is not None else "below"
    threshold = float(above if above is not None else below)  # type: ignore[arg-type]
    if not math.isfinite(threshold):
        raise _argument(f"--{direction}", f"must be a finite number, got {threshold}")
    if not 0 < threshold_share <= 1:
        raise _argument(
            "--threshold-share",
            f"must lie in (0, 1] (a share of replications), got {threshold_share}",
        )
    if not 0 < peel_alpha < 0.5:
        raise _argument("--peel-alpha", f"must lie in (0, 0.5) (a share peeled), got {peel_alpha}")
    if not 0 < min_support < 1:
        raise _argument(
            "--min-support", f"must lie in (0, 1) (a share of points), got {min_support}"
        )
    if not 0 <= min_coverage <= 1:
        raise _argument("--min-coverage", f"must lie in [0, 1], got {min_coverage}")
    if step is not None and step < 0:
        raise _argument("--step", f"must be 0 or more, got {step}")
    if null_as is not None and not math.isfinite(null_as):
        raise _argument("--null-as", f"must be a finite number, got {null_as}")
    return direction, threshold


def _read_table(folder: Path, name: str, columns: Sequence[str] | None = None) -> pa.Table:
    return read_table(folder / name, list(columns) if columns is not None else None)


def _check_folder(folder: Path) -> None:
    if not folder.is_dir():
        what = "is a file" if folder.exists() else "does not exist"
        raise _folder_problem(folder, f"not a sweep folder: {what}")
    missing = [name for name in ("design.parquet", "runs.parquet") if not (folder / name).is_file()]
    if missing:
        hint = (
            " (it looks like the folder of `sim run`; scenario discovery needs a sweep's folder)"
            if (folder / "runs.parquet").is_file()
            else ""
        )
        raise _folder_problem(folder, f"not a sweep folder: it has no {' or '.join(missing)}{hint}")


def _sweep_null_as(folder: Path, outcome: str) -> float | None:
    """The sweep's own ``null_as`` for ``outcome`` (summary.json), if any."""
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        value = summary.get("null_as", {}).get(outcome)
    except (OSError, ValueError, AttributeError):
        return None
    return float(value) if isinstance(value, int | float) else None


def load_cases(
    folder: Path,
    outcome: str,
    direction: Direction,
    threshold: float,
    *,
    threshold_share: float = 0.5,
    per_run: bool = False,
    null_as: float | None = None,
) -> Cases:
    """Read a sweep folder and mark its cases of interest (see the module's docstring)."""
    _check_folder(folder)
    design = _read_table(folder, "design.parquet")
    if "point" not in design.column_names:
        raise InputError(
            [Problem(str(folder / "design.parquet"), 1, 1, "", "has no `point` column")]
        )
    keys = [name for name in design.column_names if name != "point"]
    if design.num_rows == 0:
        raise InputError([Problem(str(folder / "design.parquet"), 1, 1, "", "has no point")])
    if not keys:
        raise InputError([Problem(str(folder / "design.parquet"), 1, 1, "", "varies no parameter")])
    schema = read_schema(folder / "runs.parquet")
    outcomes = [name for name in schema.names if name not in RUN_COLUMNS and name not in keys]
    if outcome not in outcomes:
        hint = did_you_mean(outcome, outcomes)
        known = ", ".join(outcomes)
        raise _argument("--outcome", f"unknown outcome '{outcome}'{hint} (outcomes: {known})")
    kind = schema.field(outcome).type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)):
        raise _argument(
            "--outcome",
            f"'{outcome}' is not numeric ({kind}); --above and --below need a numeric outcome",
        )

    columns = ["point", outcome] + (["error"] if "error" in schema.names else [])
    runs = _read_table(folder, "runs.parquet", columns)
    design_points = design.column("point").to_numpy()
    order = np.argsort(design_points, kind="stable")
    run_points = runs.column("point").to_numpy()
    rows = order[np.searchsorted(design_points, run_points, sorter=order).clip(0, len(order) - 1)]
    if run_points.size and not np.array_equal(design_points[rows], run_points):
        raise InputError(
            [
                Problem(
                    str(folder / "runs.parquet"), 1, 1, "", "has points that design.parquet lacks"
                )
            ]
        )

    if null_as is None:
        null_as = _sweep_null_as(folder, outcome)
    n_design = design.num_rows
    ok = succeeded(runs)
    found = threshold_shares(
        rows, float_values(runs.column(outcome)), ok, direction, threshold, null_as, n_design
    )
    usable, meets, nulls = found.usable, found.meets, found.nulls
    notes: list[str] = []
    if null_as is None and nulls.any():
        notes.append(
            f"{int(nulls.sum()):,} successful run(s) have no {outcome} (null) and are left out; "
            "give --null-as V to count them as V"
        )
    failed = 0 if ok is None else int((~ok).sum())
    if failed:
        notes.append(f"{failed:,} failed run(s) are left out")

    x_all = design.drop_columns(["point"]).to_pandas()
    if per_run:
        picked = rows[usable]
        x = x_all.iloc[picked].reset_index(drop=True)
        y = meets[usable]
        points = int(np.unique(picked).size)
        return Cases(x=x, y=y, unit="run", points=points, runs=int(usable.sum()), notes=notes)

    kept = found.runs > 0
    dropped = int((~kept).sum())
    if dropped:
        notes.append(f"{dropped:,} design point(s) without a usable run are left out")
    share = found.share[kept]
    x = x_all.iloc[np.flatnonzero(kept)].reset_index(drop=True)
    y = share >= threshold_share - 1e-12
    return Cases(
        x=x, y=y, unit="point", points=int(kept.sum()), runs=int(usable.sum()), notes=notes
    )


def _describe_condition(outcome: str, direction: Direction, threshold: float) -> str:
    return f"{outcome} {direction} {_number(threshold)}"


def _check_cases(
    cases: Cases, condition: str, direction: Direction, threshold_share: float
) -> None:
    """Refuse data in which PRIM has nothing to find: no observation, no case, all cases."""
    n = int(cases.y.size)
    what = "points" if cases.unit == "point" else "runs"
    if n == 0:
        raise _argument("--outcome", f"no usable {what}: every run failed or has no value")
    found = int(cases.y.sum())
    rule = (
        f"{condition} in at least {threshold_share:.0%} of a point's replications"
        if cases.unit == "point"
        else condition
    )
    key = f"--{direction}"
    also = "".join(f"; note: {note}" for note in cases.notes)
    if found == 0:
        raise _argument(
            key,
            f"no case of interest: {rule} at none of the {n:,} {what}; there is no region to "
            "find (move the threshold"
            + (", or lower --threshold-share)" if cases.unit == "point" else ")")
            + also,
        )
    if found == n:
        raise _argument(
            key,
            f"every one of the {n:,} {what} is a case of interest ({rule}): the condition holds "
            "across the whole design, so there is no region to find (move the threshold"
            + (", or raise --threshold-share)" if cases.unit == "point" else ")")
            + also,
        )


def inside(x: Any, limits: dict[str, list[Any]]) -> np.ndarray:
    """Which rows of the parameter frame ``x`` lie in the box ``limits`` (bounds included)."""
    mask = np.ones(len(x), dtype=bool)
    for key, bounds in limits.items():
        values = x[key].to_numpy()
        if values.dtype.kind in "OUSb":  # text or boolean: the kept values
            mask &= np.isin(values.astype(object), np.array(bounds, dtype=object))
        else:
            mask &= (values >= bounds[0]) & (values <= bounds[1])
    return mask


def quasi_p(
    x: Any,
    y: np.ndarray,
    limits: dict[str, list[Any]],
    ranges: dict[str, list[Any]],
    keys: list[str],
) -> dict[str, float]:
    """Quasi-p value of each restricted key: the one-sided binomial probability of at least the
    box's cases among its observations, at the density of the box without that restriction."""
    from scipy.stats import binom

    in_box = inside(x, limits)
    total, hits = int(in_box.sum()), int(y[in_box].sum())
    values = {}
    for key in keys:
        relaxed = inside(x, {**limits, key: ranges[key]})
        p = float(y[relaxed].mean()) if relaxed.any() else 0.0
        values[key] = float(binom.sf(hits - 1, total, p))
    return values


def _restricted(limits: dict[str, list[Any]], ranges: dict[str, list[Any]]) -> list[str]:
    """Keys whose box range is narrower than the data's, most restricted first (the box's
    share of the range, or of the values, ascending)."""

    def share(key: str) -> float:
        box, full = limits[key], ranges[key]
        if len(full) != 2 or isinstance(full[0], str | bool) or len(box) != 2:
            return len(box) / max(len(full), 1)
        width = float(full[1]) - float(full[0])
        return (float(box[1]) - float(box[0])) / width if width > 0 else 1.0

    keys = [key for key in limits if limits[key] != ranges[key]]
    return sorted(keys, key=share)


def _choose(trajectory: list[dict[str, Any]], min_coverage: float) -> int:
    """The step of highest density among those with coverage >= ``min_coverage`` (step 0, the
    whole design, always qualifies), the earliest one on ties."""
    best = 0
    for index, row in enumerate(trajectory):
        if (
            row["coverage"] >= min_coverage - 1e-12
            and row["density"] > trajectory[best]["density"] + 1e-12
        ):
            best = index
    return best


def run_prim(
    x: Any, y: np.ndarray, *, peel_alpha: float, paste_alpha: float, min_support: float
) -> tuple[list[dict[str, Any]], list[dict[str, list[Any]]]]:
    """PRIM's peeling and pasting trajectory for one box (:mod:`sim.analysis.prim`): per step,
    its statistics and its limits (step 0's limits are each parameter's range in the data)."""
    steps = peel_and_paste(
        {key: x[key].to_numpy() for key in x.columns},
        y,
        peel_alpha=peel_alpha,
        paste_alpha=paste_alpha,
        min_support=min_support,
    )
    trajectory = [
        {
            "step": step.step,
            "coverage": step.coverage,
            "density": step.density,
            "mass": step.mass,
            "restricted_dims": len(step.restricted),
        }
        for step in steps
    ]
    return trajectory, [step.limits for step in steps]


def discover(
    folder: Path,
    outcome: str,
    *,
    above: float | None = None,
    below: float | None = None,
    threshold_share: float = 0.5,
    per_run: bool = False,
    peel_alpha: float = 0.05,
    paste_alpha: float = 0.05,
    min_support: float = 0.05,
    min_coverage: float = 0.5,
    step: int | None = None,
    null_as: float | None = None,
) -> Discovery:
    """Find the box where ``outcome`` is likely above (or below) the threshold in a sweep folder.

    Raises :class:`~sim.errors.InputError` for bad input: not a sweep folder, an unknown or
    non-numeric outcome, both or neither of ``above``/``below``, settings out of range, no case
    of interest or nothing but cases.
    """
    direction, threshold = _check_settings(
        above, below, threshold_share, peel_alpha, min_support, min_coverage, step, null_as
    )
    folder = Path(folder)
    cases = load_cases(
        folder,
        outcome,
        direction,
        threshold,
        threshold_share=threshold_share,
        per_run=per_run,
        null_as=null_as,
    )
    condition = _describe_condition(outcome, direction, threshold)
    _check_cases(cases, condition, direction, threshold_share)
    trajectory, steps = run_prim(
        cases.x, cases.y, peel_alpha=peel_alpha, paste_alpha=paste_alpha, min_support=min_support
    )
    if step is not None:
        if step >= len(trajectory):
            raise _argument(
                "--step", f"the trajectory has steps 0 to {len(trajectory) - 1}, not {step}"
            )
        chosen, rule = step, f"step {step}, as asked"
    else:
        chosen = _choose(trajectory, min_coverage)
        rule = f"highest density with coverage >= {min_coverage:g}"
    limits, ranges = steps[chosen], steps[0]
    restricted = _restricted(limits, ranges)
    in_box = inside(cases.x, limits)
    used_null = null_as if null_as is not None else _sweep_null_as(folder, outcome)
    stats = trajectory[chosen]
    entry: dict[str, Any] = {
        "outcome": outcome,
        "direction": direction,
        "threshold": threshold,
        "threshold_share": threshold_share if cases.unit == "point" else None,
        "unit": cases.unit,
        "coverage": stats["coverage"],
        "density": stats["density"],
        "mass": stats["mass"],
        "cases": int(cases.y.sum()),
        "points": cases.points,
        "runs": cases.runs,
        "n": int(cases.y.size),
        "cases_in_box": int(cases.y[in_box].sum()),
        "n_in_box": int(in_box.sum()),
        "limits": limits,
        "restricted": restricted,
        "ranges": ranges,
        "quasi_p": quasi_p(cases.x, cases.y, limits, ranges, restricted),
        "step": chosen,
        "rule": rule,
        "peel_alpha": peel_alpha,
        "paste_alpha": paste_alpha,
        "min_support": min_support,
        "min_coverage": min_coverage,
        "null_as": used_null,
        "method": METHOD,
        "trajectory": trajectory,
    }
    return Discovery(entry=entry, notes=cases.notes)


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on the folder (POSIX; elsewhere, no lock) while updating it."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def same_box(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two entries are about the same question: outcome, direction and threshold."""
    return (
        a.get("outcome") == b.get("outcome")
        and a.get("direction") == b.get("direction")
        and a.get("threshold") == b.get("threshold")
    )


def write_discovery(folder: Path, entry: dict[str, Any]) -> Path:
    """Add ``entry`` to ``folder/discovery.json`` (replacing the entry for the same outcome,
    direction and threshold), atomically; returns the file's path."""
    path = Path(folder) / DISCOVERY_FILE
    with _folder_lock(path.parent):
        boxes: list[dict[str, Any]] = []
        if path.exists():
            try:
                boxes = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as error:
                raise InputError(
                    [Problem(str(path), 1, 1, "", f"cannot read the existing boxes: {error}")]
                ) from None
            if not isinstance(boxes, list) or not all(isinstance(b, dict) for b in boxes):
                raise InputError(
                    [Problem(str(path), 1, 1, "", "is not a list of boxes; move it away first")]
                )
        updated: list[dict[str, Any]] = []
        for box in boxes:
            if not same_box(box, entry):
                updated.append(box)
            elif not any(b is entry for b in updated):
                updated.append(entry)  # in the place of the entry it replaces
        if not any(b is entry for b in updated):
            updated.append(entry)
        text = json.dumps(updated, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
        temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        try:
            temporary.write_text(text, encoding="utf-8")
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    return path


def format_discovery(entry: dict[str, Any]) -> str:
    """The box for the terminal: what was asked, the counts, the box's statistics, a table of
    the restricted parameters (box range, full range, quasi-p), and the trajectory."""
    outcome, direction, threshold = entry["outcome"], entry["direction"], entry["threshold"]
    condition = f"{outcome} {direction} {_number(threshold)}"
    unit = "points" if entry["unit"] == "point" else "runs"
    if entry["unit"] == "point":
        asked = f"{condition} in at least {entry['threshold_share']:.0%} of a point's replications"
    else:
        asked = f"{condition}, run by run"
    lines = [
        f"Scenario discovery (PRIM): where is {asked}?",
        f"cases of interest: {entry['cases']:,} of {entry['n']:,} {unit} "
        f"({entry['cases'] / entry['n']:.1%})",
        f"box: step {entry['step']} of {len(entry['trajectory']) - 1} ({entry['rule']})",
        f"  coverage {entry['coverage']:.1%}  density {entry['density']:.1%}  "
        f"mass {entry['mass']:.1%} ({entry['n_in_box']:,} {unit}, "
        f"{entry['cases_in_box']:,} cases)",
        "",
    ]
    if entry["restricted"]:
        rows = [["parameter", "box range", "full range", "quasi-p"]]
        for key in entry["restricted"]:
            rows.append(
                [
                    key,
                    _range_text(entry["limits"][key]),
                    _range_text(entry["ranges"][key]),
                    f"{entry['quasi_p'][key]:.2g}",
                ]
            )
        lines += render_table(rows, right={3})
        free = [key for key in entry["limits"] if key not in entry["restricted"]]
        if free:
            lines.append(f"not restricted: {', '.join(free)}")
    else:
        lines.append("the box restricts no parameter (the whole design)")
    lines += ["", "peeling trajectory (* the box above)"]
    rows = [["step", "coverage", "density", "mass", "restricted"]]
    for row in entry["trajectory"]:
        mark = "*" if row["step"] == entry["step"] else " "
        rows.append(
            [
                f"{mark}{row['step']}",
                f"{row['coverage']:.1%}",
                f"{row['density']:.1%}",
                f"{row['mass']:.1%}",
                str(row["restricted_dims"]),
            ]
        )
    lines += render_table(rows, right={0, 1, 2, 3, 4})
    return "\n".join(lines)


def _range_text(bounds: list[Any]) -> str:
    if len(bounds) == 2 and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in bounds
    ):
        return f"[{_number(bounds[0])}, {_number(bounds[1])}]"
    return "{" + ", ".join(str(v) for v in bounds) + "}"
