"""A run folder from a finished run: runs, summary, daily bands, resolved scenario, manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
from pydantic import BaseModel

from sim.results.writer import write_run_folder


def write_run(
    final_dir: Path,
    scenario: BaseModel,
    *,
    runs: pa.Table,
    summary: dict[str, Any],
    bands: pa.Table,
    manifest: dict[str, Any],
    manifest_extra: dict[str, Any] | None = None,
) -> Path:
    """Write the run folder ``final_dir`` atomically: ``runs.parquet``, ``summary.json``,
    ``timeseries.parquet`` (the daily bands), ``scenario.resolved.yaml`` (the scenario with the
    engine's version: running it again reproduces the folder) and ``manifest.json``."""
    from sim import __version__
    from sim.scenario import dump_yaml

    name: str = scenario.name  # type: ignore[attr-defined]
    resolved = scenario.model_copy(update={"engine_version": __version__})
    header = (
        f"{name}: resolved by sim {__version__}; every default filled in.\n"
        f"`sim run` on this file reproduces runs.parquet of this folder."
    )
    return write_run_folder(
        final_dir,
        {
            "runs.parquet": runs,
            "summary.json": summary,
            "timeseries.parquet": bands,
            "scenario.resolved.yaml": dump_yaml(resolved.model_dump(mode="json"), header=header),
            "manifest.json": {**manifest, **(manifest_extra or {})},
        },
    )
