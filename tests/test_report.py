"""``sim report``: the self-contained report.html and plots/ of run and sweep folders.

Small real folders are made once per module (a 40-replication run of the baseline, a Sobol and
a Morris sweep of three of its levers, a user-model run) and reported on; the tests read the
HTML back (sections, tables against summary.json and sensitivity.json, embedded PNGs) and open
it in headless Chromium when one is installed.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
import textwrap
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import matplotlib.image
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sim.analysis import thresholds
from sim.cli import main
from sim.errors import InputError
from sim.fmt import number as format_number
from sim.fmt import share as format_share
from sim.reporting import build_report, plots, sweep_page

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
ISHIGAMI = ROOT / "tests" / "models" / "ishigami.yaml"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

RUN_SECTIONS = {
    "provenance": "Scenario and provenance",
    "outcomes": "Outcome distributions",
    "distributions": "Distributions of the main outcomes",
    "survival": "Times to an event",
    "channels": "Release channels",
    "timeseries": "Over time",
    "costs": "Who pays, who gains",
}
SWEEP_SECTIONS = {
    "provenance": "Sweep and provenance",
    "design": "Design",
    "effects": "Effect of each parameter",
    "tornado": "Tornado charts",
    "noise": "Replication noise",
    "failures": "Failed runs",
}
PARAMETERS = {
    "detention.storage_fee_eur_per_day": "{low: 30, high: 200}",
    "hold.probability": "{low: 0.5, high: 1.0}",
    "closure.planned_duration_days": "{low: 7, high: 40}",
}


# --------------------------------------------------------------------------------------------
# Reading the HTML back


class _Page(HTMLParser):
    """Sections (id -> h2 text), images (src), and table rows (cells' text, row ids)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.sections: dict[str, str] = {}
        self.images: list[dict[str, str]] = []
        self.rows: dict[str, list[str]] = {}
        self.tables: dict[str, list[list[str]]] = {}
        self.tags: list[str] = []
        self._section: str | None = None
        self._in_h2 = False
        self._h2 = ""
        self._table: str | None = None
        self._row: list[str] | None = None
        self._row_id: str | None = None
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {key: value or "" for key, value in attrs}
        self.tags.append(tag)
        if tag == "section":
            self._section = attributes.get("id", "")
        elif tag == "h2":
            self._in_h2, self._h2 = True, ""
        elif tag == "img":
            self.images.append(attributes)
        elif tag == "table":
            self._table = attributes.get("id", f"table-{len(self.tables)}")
            self.tables[self._table] = []
        elif tag == "tr":
            self._row, self._row_id = [], attributes.get("id")
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2" and self._section is not None:
            self._in_h2 = False
            self.sections[self._section] = self._h2.strip()
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._table is not None:
                self.tables[self._table].append(self._row)
            if self._row_id:
                self.rows[self._row_id] = self._row
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._in_h2:
            self._h2 += data
        if self._cell is not None:
            self._cell.append(data)


def _decode(src: str) -> bytes:
    prefix = "data:image/png;base64,"
    assert src.startswith(prefix), src[:60]
    return base64.b64decode(src[len(prefix) :], validate=True)


def _check_png(data: bytes) -> np.ndarray:
    """A valid, non-blank PNG: its signature, decoded by matplotlib's reader."""
    assert data[:8] == PNG_SIGNATURE
    pixels = matplotlib.image.imread(io.BytesIO(data), format="png")
    assert pixels.ndim == 3 and pixels.shape[0] >= 100 and pixels.shape[1] >= 200
    assert float(pixels[..., :3].std()) > 0.02, "blank image"
    return pixels


# --------------------------------------------------------------------------------------------
# Folders


def _sim(*argv: str) -> None:
    assert main(list(argv)) == 0


def _sweep_file(folder: Path, name: str, method: str, samples: int) -> Path:
    parameters = "\n".join(f"  {key}: {value}" for key, value in PARAMETERS.items())
    text = textwrap.dedent(
        f"""\
        name: {name}
        description: A small {method} sweep of three levers, for the report tests.
        base: {BASELINE}
        method: {method}
        samples: {samples}
        replications: 3
        seed: 11
        parameters:
        """
    )
    text += parameters + "\n"
    text += textwrap.dedent(
        """\
        outputs:
          - carrier_cost_eur
          - {outcome: release_day, null_as: 365}
          - trucks_held
        """
    )
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A baseline run, a Sobol and a Morris sweep, and a user-model run, each reported on."""
    base = tmp_path_factory.mktemp("report")
    _sim("run", str(BASELINE), "-n", "40", "--seed", "7", "--out", str(base), "--quiet")
    _sim("run", str(ISHIGAMI), "-n", "60", "--out", str(base), "--quiet")
    _sim("sweep", str(_sweep_file(base, "sobol", "sobol", 8)), "--out", str(base), "--quiet")
    _sim("sweep", str(_sweep_file(base, "morris", "morris", 4)), "--out", str(base), "--quiet")
    _sim("sweep", str(_sweep_file(base, "lhs", "lhs", 12)), "--out", str(base), "--quiet")
    out = {
        "run": base / "baseline",
        "user": base / "ishigami",
        "sobol": base / "sobol",
        "morris": base / "morris",
        "lhs": base / "lhs",
    }
    for folder in out.values():
        build_report(folder)
    return out


def _html(folder: Path) -> str:
    return (folder / "report.html").read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------------
# Numbers


@pytest.mark.parametrize(
    ("value", "unit", "name", "text"),
    [
        (45_803_288.4, "EUR", "", "45.8 M"),
        (479_337_646.0, "EUR", "", "479 M"),
        (1_234_000_000.0, "", "belarus_gain_eur", "1.23 bn"),
        (18_077.3, "EUR", "", "18,077"),
        (1_537.4, "trucks", "", "1,537"),
        (186.24, "day", "", "186"),
        (23.64, "days", "", "23.6"),
        (3.333, "deals", "", "3.33"),
        (0.0, "trucks", "", "0"),
        (-5.91, "", "", "\u22125.91"),
        (None, "EUR", "", "\u2013"),
        (float("nan"), "", "", "\u2013"),
    ],
)
def test_format_number(value: float | None, unit: str, name: str, text: str) -> None:
    assert format_number(value, unit, name) == text


def test_format_share() -> None:
    assert [format_share(s) for s in (0.0, 0.004, 0.2234, 1.0, None)] == [
        "0%",
        "0.4%",
        "22%",
        "100%",
        "\u2013",
    ]


def test_binned_means_and_fifth_swing() -> None:
    """Binned means equal the group means; the swing compares the outer fifths of the range."""
    x = np.array([0.0, 0.0, 1.0, 1.0, 2.0, 2.0])
    y = np.array([1.0, 3.0, 5.0, 7.0, 9.0, 11.0])
    binned = sweep_page.binned_means(x, y)
    assert binned.centre.tolist() == [0.0, 1.0, 2.0]
    assert binned.mean.tolist() == [2.0, 6.0, 10.0]
    # two values per bin: t(0.975, 1) * std / sqrt(2) with std = sqrt(2)
    assert binned.high[0] - binned.mean[0] == pytest.approx(12.7062047, rel=1e-6)
    swing = sweep_page.fifth_swing("k", x, y, 0.0, 2.0)
    assert swing is not None and (swing.low, swing.high, swing.size) == (2.0, 10.0, 8.0)
    assert sweep_page.fifth_swing("k", x, y, 1.0, 1.0) is None


# --------------------------------------------------------------------------------------------
# Run folders


def test_run_report_has_every_section(folders: dict[str, Path]) -> None:
    page = _Page(_html(folders["run"]))
    assert page.sections == RUN_SECTIONS
    assert "discovery" not in page.sections


def test_run_report_provenance(folders: dict[str, Path]) -> None:
    folder = folders["run"]
    text = _html(folder)
    page = _Page(text)
    manifest = json.loads((folder / "manifest.json").read_text())
    summary = json.loads((folder / "summary.json").read_text())
    cells = re.findall(r"<d[td]>(.*?)</d[td]>", text, flags=re.S)
    facts = dict(zip(cells[::2], cells[1::2], strict=True))
    assert facts["Scenario"] == "<code>baseline</code>"
    assert facts["Description"].startswith("The 2025-26 standoff as it happened")
    assert facts["Seed"] == "7" == str(summary["seed"])
    assert facts["Replications"] == "40"
    assert facts["Engine version"] == f"sim {manifest['engine_version']}"
    assert facts["Date"] == manifest["finished_utc"][:16].replace("T", " ") + " UTC"
    assert "sim run" in facts["Command"] and "-n 40" in facts["Command"]
    assert facts["Day 0"] == "2025-10-05"
    # the resolved scenario, whole, in a collapsible block
    resolved = (folder / "scenario.resolved.yaml").read_text()
    match = re.search(
        r"<details><summary>scenario.resolved.yaml</summary><pre>(.*?)</pre>", text, re.S
    )
    assert match is not None
    import html as html_module

    assert html_module.unescape(match.group(1)) == resolved
    assert page.sections["provenance"] == "Scenario and provenance"


def test_run_report_table_matches_summary(folders: dict[str, Path]) -> None:
    """Every row of the outcome table shows summary.json's numbers, with units."""
    from sim.model.standoff.model import OUTCOMES

    folder = folders["run"]
    page = _Page(_html(folder))
    summary = json.loads((folder / "summary.json").read_text())
    units = {spec.name: spec.unit for spec in OUTCOMES}
    assert page.tables["outcome-table"][0] == [
        "outcome",
        "unit",
        "mean",
        "95% CI of the mean",
        "p05",
        "p50",
        "p95",
        "no event",
    ]
    assert len(page.tables["outcome-table"]) == 1 + len(summary["metrics"])
    for name, entry in summary["metrics"].items():
        row = page.rows[f"metric-{name}"]
        unit = units[name]

        def fmt(value: Any, unit: str = unit, name: str = name) -> str:
            return format_number(value, unit, name)

        assert row[0].startswith(name)
        assert row[1] == unit
        assert row[2] == fmt(entry["mean"])
        low, high = entry["ci95"]
        assert row[3] == f"{fmt(low)} \u2013 {fmt(high)}"
        assert row[4:7] == [fmt(entry["p05"]), fmt(entry["p50"]), fmt(entry["p95"])]
        share = entry.get("null_share")
        assert row[7] == (format_share(share) if share else "")
    # a few spelled out, independent of the formatter
    cost = page.rows["metric-carrier_cost_eur"]
    assert cost[1] == "EUR" and cost[2].endswith(" M")
    release = page.rows["metric-release_day"]
    assert release[7].endswith("%") and release[1] == "day"


def test_run_report_images(folders: dict[str, Path]) -> None:
    """Every image is an embedded PNG that decodes; plots/ holds the same files."""
    folder = folders["run"]
    page = _Page(_html(folder))
    embedded = [_decode(image["src"]) for image in page.images]
    for data in embedded:
        _check_png(data)
    files = sorted((folder / "plots").glob("*.png"))
    assert {path.name for path in files} == {
        "distributions.png",
        "survival.png",
        "category-release_channel.png",
        "category-resolution.png",
        "timeseries.png",
        "cost-split.png",
    }
    assert sorted(path.read_bytes() for path in files) == sorted(embedded)
    assert all(image.get("alt") for image in page.images)


@pytest.mark.parametrize("kind", ["run", "sobol", "morris", "lhs", "user"])
def test_report_fetches_nothing(folders: dict[str, Path], kind: str) -> None:
    """No network reference, no script, no external style sheet or font: it renders offline."""
    text = _html(folders[kind])
    page = _Page(text)
    assert "http://" not in text and "https://" not in text
    assert "script" not in page.tags and "link" not in page.tags and "iframe" not in page.tags
    assert "@import" not in text and "url(" not in text and "@font-face" not in text
    assert page.images and all(
        image["src"].startswith("data:image/png;base64,") for image in page.images
    )


def test_user_model_run_report(folders: dict[str, Path]) -> None:
    """A user model: every output is shown; the built-in model's sections are left out."""
    folder = folders["user"]
    page = _Page(_html(folder))
    assert set(page.sections) == {"provenance", "outcomes", "distributions"}
    assert page.sections["distributions"] == "Distributions of the outputs"
    summary = json.loads((folder / "summary.json").read_text())
    assert page.rows["metric-y"][2] == format_number(summary["metrics"]["y"]["mean"])
    assert [path.name for path in (folder / "plots").glob("*.png")] == ["distributions.png"]


# --------------------------------------------------------------------------------------------
# Sweep folders


@pytest.mark.parametrize("kind", ["sobol", "morris"])
def test_sweep_report_sections_and_images(folders: dict[str, Path], kind: str) -> None:
    folder = folders[kind]
    page = _Page(_html(folder))
    heading = "Sobol indices" if kind == "sobol" else "Morris screening"
    assert page.sections == {**SWEEP_SECTIONS, "sensitivity": heading}
    outputs = ["carrier_cost_eur", "release_day", "trucks_held"]
    expected = {"design.png"}
    expected |= {f"effects-{o}.png" for o in outputs} | {f"tornado-{o}.png" for o in outputs}
    expected |= {f"{kind}-{o}.png" for o in outputs}
    files = {path.name: path.read_bytes() for path in (folder / "plots").glob("*.png")}
    assert set(files) == expected
    embedded = [_decode(image["src"]) for image in page.images]
    assert sorted(embedded) == sorted(files.values())
    for data in embedded:
        _check_png(data)


@pytest.mark.parametrize("kind", ["sobol", "morris"])
def test_sweep_report_tables(folders: dict[str, Path], kind: str) -> None:
    """The design table shows the sweep's ranges; indices and noise match the JSON files."""
    folder = folders[kind]
    page = _Page(_html(folder))
    design = {row[0]: row for row in page.tables["design-table"][1:]}
    assert design["detention.storage_fee_eur_per_day"][1] == "30 \u2013 200"
    assert design["hold.probability"][1] == "0.5 \u2013 1"
    assert design["closure.planned_duration_days"][1] == "7 \u2013 40"
    summary = json.loads((folder / "summary.json").read_text())
    indices = json.loads((folder / "sensitivity.json").read_text())
    rows = {(row[0], row[1]): row[2:] for row in page.tables["indices-table"][1:]}
    assert len(rows) == 3 * len(PARAMETERS)
    for output in summary["outputs"]:
        for key in PARAMETERS:
            cells = rows[(output, key)]
            if kind == "sobol":
                expected = [
                    f"{indices[output][name][key]:.2f}".replace("-", "\u2212")
                    for name in ("S1", "S1_conf", "ST", "ST_conf")
                ]
            else:
                expected = [
                    format_number(indices[output][name][key])
                    for name in ("mu_star", "mu_star_conf", "sigma", "mu")
                ]
            assert cells == expected
    noise = {row[0]: row for row in page.tables["noise-table"][1:]}
    for output in summary["outputs"]:
        share = summary["replication_noise"][output]["noise_share"]
        assert noise[output][1] == format_share(share)
    failures = re.search(r'id="failed-count">([^<]*)<', _html(folder))
    assert failures is not None and failures.group(1) == str(summary["failed_runs"]) == "0"


def test_lhs_sweep_has_no_indices(folders: dict[str, Path]) -> None:
    """A Latin hypercube has effects and tornado charts, and no indices (said so)."""
    folder = folders["lhs"]
    page = _Page(_html(folder))
    assert page.sections == {**SWEEP_SECTIONS, "sensitivity": "Sensitivity indices"}
    assert "indices-table" not in page.tables
    assert "No indices: a lhs design" in _html(folder)
    names = {path.name for path in (folder / "plots").glob("*.png")}
    assert "effects-carrier_cost_eur.png" in names and "tornado-release_day.png" in names


def test_missing_sensitivity_json_is_said(tmp_path: Path, folders: dict[str, Path]) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(folders["sobol"], folder)
    (folder / "sensitivity.json").unlink()
    text = _html_of(folder)
    assert "indices-table" not in _Page(text).tables
    assert "No indices: this folder has no sensitivity.json." in text


def _html_of(folder: Path) -> str:
    build_report(folder)
    return _html(folder)


def test_failed_runs_are_counted_and_listed(tmp_path: Path, folders: dict[str, Path]) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(folders["sobol"], folder)
    runs = pq.read_table(folder / "runs.parquet")
    errors = [
        "Traceback...\nValueError: boom" if i % 10 == 0 else None for i in range(runs.num_rows)
    ]
    index = runs.column_names.index("error")
    runs = runs.set_column(index, "error", pa.array(errors, type=pa.string()))
    pq.write_table(runs, folder / "runs.parquet")
    summary = json.loads((folder / "summary.json").read_text())
    failed = sum(error is not None for error in errors)
    summary["failed_runs"] = failed
    (folder / "summary.json").write_text(json.dumps(summary))
    text = _html_of(folder)
    page = _Page(text)
    count = re.search(r'id="failed-count">([^<]*)<', text)
    assert count is not None and count.group(1) == str(failed)
    assert page.tables["errors-table"][1:] == [["ValueError: boom", str(failed)]]


# --------------------------------------------------------------------------------------------
# Discovery boxes (discovery.json, written by `sim discover`)


def _box(outcome: str, direction: str, threshold: float, limits: dict[str, list[float]]) -> Any:
    return {
        "outcome": outcome,
        "direction": direction,
        "threshold": threshold,
        "threshold_share": 0.5,
        "unit": "point",
        "coverage": 0.75,
        "density": 0.8,
        "mass": 0.4,
        "cases_in_box": 8,
        "n_in_box": 10,
        "limits": limits,
        "restricted": list(limits),
    }


def test_discovery_boxes(tmp_path: Path, folders: dict[str, Path]) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(folders["sobol"], folder)
    boxes = [
        _box(
            "carrier_cost_eur",
            "above",
            30e6,
            {"hold.probability": [0.7, 1.0], "closure.planned_duration_days": [15, 40]},
        ),
        _box("release_day", "below", 250, {"hold.probability": [0.8, 1.0]}),
    ]
    (folder / "discovery.json").write_text(json.dumps(boxes))
    text = _html_of(folder)
    page = _Page(text)
    assert page.sections["discovery"] == "Discovered boxes"
    rows = page.tables["discovery-table"]
    assert rows[0] == [
        "box",
        "condition",
        "coverage",
        "density",
        "mass",
        "cases in box",
        "restrictions",
    ]
    assert rows[1][:6] == ["1", "carrier_cost_eur > 30 M", "75%", "80%", "40%", "8 of 10"]
    assert "hold.probability in [0.7, 1]" in rows[1][6]
    assert "closure.planned_duration_days in [15, 40]" in rows[1][6]
    assert rows[2][1] == "release_day < 250"
    for name in ("box-1.png", "box-2.png"):
        _check_png((folder / "plots" / name).read_bytes())


def test_point_shares_follow_sim_discover(folders: dict[str, Path]) -> None:
    """A point's share of runs strictly above a threshold, nulls as null_as."""
    runs = folders["sobol"] / "runs.parquet"
    table = pq.read_table(runs, columns=["point", "release_day"]).to_pylist()
    shares = thresholds.point_shares(runs, "release_day", "above", 200.0, 365.0, 1)
    for point in (0, 1, 5):
        values = [
            365.0 if r["release_day"] is None else r["release_day"]
            for r in table
            if r["point"] == point
        ]
        assert shares[point] == pytest.approx(sum(v > 200 for v in values) / len(values))


def test_point_shares_are_the_cases_of_sim_discover(tmp_path: Path) -> None:
    """The report marks the same design points as ``sim discover`` (one shared function):
    failed runs left out, nulls as null_as or left out, a point without a usable run NaN."""
    from sim.analysis.discover import load_cases

    folder = tmp_path / "sweep"
    folder.mkdir()
    points, replications = 6, 4
    pq.write_table(
        pa.table({"point": np.arange(points), "x": np.linspace(0.0, 1.0, points)}),
        folder / "design.parquet",
    )
    # point p, replication r: a value p * 10 + r, null when r == 3, failed when p == 5
    rows = [(p, r) for p in range(points) for r in range(replications)]
    values = [None if r == 3 else float(p * 10 + r) for p, r in rows]
    errors = ["boom" if p == 5 else None for p, _ in rows]
    runs = pa.table(
        {
            "point": [p for p, _ in rows],
            "replication": [r for _, r in rows],
            "seed": [1] * len(rows),
            "x": [p / 5 for p, _ in rows],
            "error": pa.array(errors, type=pa.string()),
            "v": values,
        }
    )
    pq.write_table(runs, folder / "runs.parquet")
    (folder / "summary.json").write_text(json.dumps({"outputs": ["v"], "null_as": {}}))
    for null_as, threshold in ((None, 21.0), (100.0, 21.0), (None, 1.5)):
        shares = thresholds.point_shares(
            folder / "runs.parquet", "v", "above", threshold, null_as, 6
        )
        # by hand: replications 0..2 have values, replication 3 is null
        for point in range(5):
            counted = [point * 10 + r for r in range(3)] + ([null_as] if null_as else [])
            assert shares[point] == pytest.approx(
                sum(v > threshold for v in counted) / len(counted)
            )
        assert math.isnan(shares[5])  # every run failed
        cases = load_cases(folder, "v", "above", threshold, null_as=null_as)
        assert cases.points == 5
        assert cases.y.tolist() == (shares[:5] >= 0.5).tolist()


def test_threshold_shares_below_and_unknown_outcome(tmp_path: Path) -> None:
    found = thresholds.threshold_shares(
        np.array([0, 0, 1, 1]),
        np.array([1.0, np.nan, 5.0, 0.5]),
        None,
        "below",
        2.0,
        None,
        3,
    )
    assert found.runs.tolist() == [1, 2, 0]
    assert found.share[:2].tolist() == [1.0, 0.5] and math.isnan(found.share[2])
    assert found.nulls.tolist() == [False, True, False, False]
    assert thresholds.direction_of(">") == "above" and thresholds.direction_of("lt") == "below"
    with pytest.raises(ValueError, match="unknown direction"):
        thresholds.direction_of("sideways")


# --------------------------------------------------------------------------------------------
# The model's presentation, read from the folder


def test_specs_and_presentation_round_trip() -> None:
    """What the runner writes into runs.parquet's schema reads back as the same specs and
    presentation; a schema without them gets guessed specs and the default presentation."""
    from sim.model.interface import OutcomeSpec, Presentation
    from sim.model.standoff.presentation import PRESENTATION
    from sim.results.metadata import (
        PRESENTATION_KEY,
        field_metadata,
        outcome_specs_from_schema,
        presentation_from_schema,
    )

    specs = [
        OutcomeSpec("cost_usd", "float", "Total cost", "USD"),
        OutcomeSpec("day", "float", "Day of the event", "day", nullable=True),
        OutcomeSpec("state", "category", "Final state", categories=("on", "off")),
    ]
    types = {"float": pa.float64(), "category": pa.string()}
    schema = pa.schema(
        [pa.field("replication", pa.int64()), pa.field("seed", pa.int64())]
        + [pa.field(s.name, types[s.kind], metadata=field_metadata(s)) for s in specs],
        metadata={PRESENTATION_KEY: PRESENTATION.to_json()},
    )
    assert outcome_specs_from_schema(schema) == specs
    assert presentation_from_schema(schema) == PRESENTATION
    bare = pa.schema([pa.field("replication", pa.int64()), pa.field("y", pa.float64())])
    assert presentation_from_schema(bare) == Presentation()
    assert outcome_specs_from_schema(bare) == [OutcomeSpec("y", "float", "", nullable=True)]


def _own_run_folder(folder: Path, with_metadata: bool = True) -> Path:
    """A run folder of a made-up model that describes itself (specs and presentation)."""
    from sim.model.interface import Breakdown, OutcomeSpec, Presentation, SeriesSpec
    from sim.results.metadata import PRESENTATION_KEY, field_metadata
    from sim.results.summary import summarize

    rng = np.random.default_rng(3)
    n = 50
    part_a = rng.uniform(10, 20, n)
    part_b = rng.uniform(1, 5, n)
    data: dict[str, Any] = {
        "total_usd": part_a + part_b,
        "part_a_usd": part_a,
        "part_b_usd": part_b,
        "widgets": rng.integers(0, 9, n),
        "state": rng.choice(["on", "off"], n).tolist(),
    }
    specs = [
        OutcomeSpec("total_usd", "float", "Total spent", "USD"),
        OutcomeSpec("part_a_usd", "float", "Spent on A", "USD"),
        OutcomeSpec("part_b_usd", "float", "Spent on B", "USD"),
        OutcomeSpec("widgets", "int", "Widgets made", "widgets"),
        OutcomeSpec("state", "category", "Final state", categories=("on", "off")),
    ]
    presentation = Presentation(
        title="Widget factory",
        main_outcomes=("total_usd", "widgets"),
        breakdowns=(
            Breakdown("Spending", "total_usd", (("part_a_usd", "A"), ("part_b_usd", "B"))),
        ),
        series=(SeriesSpec("stock", "Widgets in stock", "widgets"),),
        category_titles={"state": "How the factory ended"},
        colours={"on": "#123456"},
        section_titles={"categories": "Final states", "breakdowns": "Where the money went"},
    )
    types = {"int": pa.int64(), "float": pa.float64(), "category": pa.string()}
    fields = [pa.field("replication", pa.int64()), pa.field("seed", pa.int64())]
    fields += [
        pa.field(s.name, types[s.kind], metadata=field_metadata(s) if with_metadata else None)
        for s in specs
    ]
    metadata = {PRESENTATION_KEY: presentation.to_json()} if with_metadata else None
    table = pa.table(
        {"replication": np.arange(n), "seed": np.full(n, 4), **data},
        schema=pa.schema(fields, metadata=metadata),
    )
    folder.mkdir(parents=True)
    pq.write_table(table, folder / "runs.parquet")
    summary = summarize(table, specs, scenario="widgets", seed=4)
    (folder / "summary.json").write_text(json.dumps(summary))
    (folder / "scenario.resolved.yaml").write_text("name: widgets\nmodel: factory:run\n")
    return folder


def test_report_follows_the_presentation_of_the_folder(tmp_path: Path) -> None:
    """A model that is not the built-in one gets every section from its own specs and
    presentation: main outcomes, category titles, its breakdown, headings, units."""
    folder = _own_run_folder(tmp_path / "widgets")
    page = _Page(_html_of(folder))
    assert page.sections == {
        "provenance": "Scenario and provenance",
        "outcomes": "Outcome distributions",
        "distributions": "Distributions of the main outcomes",
        "channels": "Final states",
        "costs": "Where the money went",
    }
    summary = json.loads((folder / "summary.json").read_text())
    row = page.rows["metric-total_usd"]
    assert row[0] == "total_usdTotal spent" and row[1] == "USD"
    assert row[2] == format_number(summary["metrics"]["total_usd"]["mean"], "USD")
    # the declared colour of the category value "on" is drawn
    pixels = _check_png((folder / "plots" / "category-state.png").read_bytes())
    rgb = np.round(pixels[..., :3] * 255).astype(int).reshape(-1, 3)
    assert (np.abs(rgb - [0x12, 0x34, 0x56]).max(axis=1) <= 2).sum() > 100
    cost_rows = page.tables["cost-table"]
    assert cost_rows[0] == ["total", "component", "mean (USD)", "share"]
    assert [r[1] for r in cost_rows[1:]] == ["A (part_a_usd)", "B (part_b_usd)"]
    assert {p.name for p in (folder / "plots").glob("*.png")} == {
        "distributions.png",
        "category-state.png",
        "cost-split.png",
    }
    assert 'alt="How the factory ended"' in _html(folder)


def test_report_of_a_folder_without_metadata(tmp_path: Path) -> None:
    """An older folder (no specs, no presentation): every numeric outcome, no breakdown."""
    folder = _own_run_folder(tmp_path / "old", with_metadata=False)
    page = _Page(_html_of(folder))
    assert page.sections == {
        "provenance": "Scenario and provenance",
        "outcomes": "Outcome distributions",
        "distributions": "Distributions of the outputs",
        "channels": "Categories",
    }
    assert page.rows["metric-widgets"][1] == ""


def test_colours_declared_first_then_the_palette() -> None:
    assert plots.colours_for(["a", "b", "c"], {"b": plots.BLUE}) == [
        plots.ORANGE,
        plots.BLUE,
        plots.GREEN,
    ]
    many = plots.colours_for([str(i) for i in range(10)], {})
    assert many[:8] == list(plots.PALETTE) and many[8:] == list(plots.PALETTE[:2])


def test_report_code_names_no_model() -> None:
    """Nothing in the report package, the formatting or the metadata readers names the
    built-in model or one of its outcomes: all of that comes from the folder."""
    from sim.model.standoff.model import OUTCOMES

    names = ["standoff", *(spec.name for spec in OUTCOMES)]
    sim_dir = ROOT / "sim"
    files = [p for p in (sim_dir / "report").rglob("*") if p.suffix in (".py", ".j2", ".css")]
    files += [
        sim_dir / "fmt.py",
        sim_dir / "results" / "metadata.py",
        sim_dir / "analysis" / "thresholds.py",
    ]
    for path in files:
        text = path.read_text(encoding="utf-8")
        found = [name for name in names if re.search(rf"\b{re.escape(name)}\b", text)]
        assert not found, f"{path.relative_to(ROOT)} names {found}"


# --------------------------------------------------------------------------------------------
# The command, its errors, and atomic writing


def test_cli_prints_the_report_path(
    folders: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    folder = folders["morris"]
    assert main(["report", str(folder)]) == 0
    assert capsys.readouterr().out.strip() == str(folder / "report.html")


def test_cli_refuses_what_is_not_a_run_or_sweep_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "file.txt").write_text("x")
    cases = {
        tmp_path / "empty": "not a run folder (runs.parquet and summary.json) nor a sweep folder",
        tmp_path / "missing": "no such folder",
        tmp_path / "file.txt": "is a file; expected a run folder or a sweep folder",
    }
    for path, message in cases.items():
        assert main(["report", str(path)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"{path}:1:1: (top): {message}"), err
        assert "Traceback" not in err
    assert not (tmp_path / "empty" / "report.html").exists()


def test_invalid_summary_is_reported_at_its_line(tmp_path: Path, folders: dict[str, Path]) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(folders["run"], folder)
    (folder / "summary.json").write_text('{\n  "scenario": ,\n}')
    with pytest.raises(InputError) as caught:
        build_report(folder)
    assert str(caught.value).startswith(f"{folder / 'summary.json'}:2:15: (top): invalid JSON")


def test_failed_report_leaves_the_previous_one(
    tmp_path: Path, folders: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A report that fails half-way writes nothing: report.html and plots/ stay as they were."""
    folder = tmp_path / "copy"
    shutil.copytree(folders["run"], folder)
    before = (folder / "report.html").read_bytes()
    plots_before = {p.name: p.read_bytes() for p in (folder / "plots").iterdir()}

    def broken(*args: Any, **kwargs: Any) -> bytes:
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(plots, "cost_split", broken)
    with pytest.raises(RuntimeError, match="drawing failed"):
        build_report(folder)
    assert (folder / "report.html").read_bytes() == before
    assert {p.name: p.read_bytes() for p in (folder / "plots").iterdir()} == plots_before
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []


def test_no_global_matplotlib_state(folders: dict[str, Path]) -> None:
    """Reporting neither imports pyplot nor changes the backend or rcParams of the process."""
    code = textwrap.dedent(
        f"""\
        import sys, matplotlib
        # dict.items: reading rcParams["backend"] the usual way would resolve it (via pyplot)
        before = {{key: repr(value) for key, value in dict.items(matplotlib.rcParams)}}
        from pathlib import Path
        from sim.reporting import build_report
        build_report(Path({str(folders["morris"])!r}))
        assert "matplotlib.pyplot" not in sys.modules, "pyplot imported"
        after = {{key: repr(value) for key, value in dict.items(matplotlib.rcParams)}}
        changed = [key for key in before if before[key] != after[key]]
        assert not changed, changed
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


# --------------------------------------------------------------------------------------------
# In a real browser

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=2000",
]

#: Appended to a test-only copy of the report (the report itself carries no script).
PROBE = """<script>
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var ok = images.length > 0 && images.every(function (i) {
    return i.complete && i.naturalWidth > 0 && i.getBoundingClientRect().width > 0;
  });
  document.body.dataset.imagesLoaded = ok ? "yes" : "no";
  document.body.dataset.imageCount = String(images.length);
});
</script>"""


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    pytest.skip("chromium not installed: apt-get install chromium")


def _run_chromium(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(profile)}
    return subprocess.run(
        [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


@pytest.mark.parametrize("kind", ["run", "sobol"])
def test_report_renders_in_chromium(tmp_path: Path, folders: dict[str, Path], kind: str) -> None:
    """Headless Chromium loads the page offline with every image decoded and laid out, and a
    screenshot of it is not blank."""
    browser = _chromium()
    text = _html(folders[kind])
    count = len(_Page(text).images)
    probe = tmp_path / "probe.html"
    probe.write_text(text.replace("</body>", PROBE + "\n</body>"), encoding="utf-8")
    dumped = _run_chromium(browser, tmp_path / "profile-dom", "--dump-dom", probe.as_uri())
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    assert 'data-images-loaded="yes"' in dumped.stdout, dumped.stdout[-500:]
    assert f'data-image-count="{count}"' in dumped.stdout

    shot = tmp_path / "shot.png"
    page = folders[kind] / "report.html"
    taken = _run_chromium(
        browser,
        tmp_path / "profile-shot",
        f"--screenshot={shot}",
        "--window-size=1200,3000",
        page.as_uri(),
    )
    assert taken.returncode == 0 and shot.is_file(), taken.stderr[-2000:]
    pixels = _check_png(shot.read_bytes())
    assert pixels.shape[:2] == (3000, 1200)
    # Not a blank page: many distinct colours (text, tables, charts).
    colours = np.unique((pixels[::4, ::4, :3] * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 200
