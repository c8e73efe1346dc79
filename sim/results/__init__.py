"""Results of a run: summary statistics, daily bands, the terminal table and the run folder."""

from sim.results.summary import (
    QUANTILES,
    category_shares,
    format_summary_table,
    numeric_metrics,
    series_bands,
    summarize,
)
from sim.results.writer import make_manifest, to_json, write_run_folder

__all__ = [
    "QUANTILES",
    "category_shares",
    "format_summary_table",
    "make_manifest",
    "numeric_metrics",
    "series_bands",
    "summarize",
    "to_json",
    "write_run_folder",
]
