"""A run folder from a finished run: runs, summary, daily bands, resolved scenario, manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from sim.model.interface import OutcomeSpec
from sim.results.summary import series_bands, summarize
from sim.results.writer import make_manifest, write_run_folder


def write_run(
    final_dir: Path,
    scenario: BaseModel,
    specs: list[OutcomeSpec],
    output: Any,
    *,
    command: list[str],
    executor: str,
    manifest_extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the run folder of ``output`` (a :class:`sim.runner.RunOutput`) atomically;
    returns its summary (the content of summary.json)."""
    from sim import __version__
    from sim.scenario import dump_yaml

    name: str = scenario.name  # type: ignore[attr-defined]
    seed: int = scenario.seed  # type: ignore[attr-defined]
    summary = summarize(output.table, specs, scenario=name, seed=seed)
    resolved = scenario.model_copy(update={"engine_version": __version__})
    header = (
        f"{name}: resolved by sim {__version__}; every default filled in.\n"
        f"`sim run` on this file reproduces runs.parquet of this folder."
    )
    manifest = make_manifest(command, output.elapsed_seconds, output.workers, executor)
    write_run_folder(
        final_dir,
        {
            "runs.parquet": output.table,
            "summary.json": summary,
            "timeseries.parquet": series_bands(output.series),
            "scenario.resolved.yaml": dump_yaml(resolved.model_dump(mode="json"), header=header),
            "manifest.json": {**manifest, **(manifest_extra or {})},
        },
    )
    return summary
