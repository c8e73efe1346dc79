"""``sim report DIR``: charts in ``DIR/plots/`` and one self-contained ``DIR/report.html``.

One page module per folder kind (:mod:`sim.reporting.run_page`,
:mod:`sim.reporting.sweep_page` with :mod:`sim.reporting.discovery` for a sweep's boxes,
:mod:`sim.reporting.calibration_page`), reading the folder through
:mod:`sim.reporting.data` and drawing with :mod:`sim.reporting.plots`; the HTML comes from
the jinja2 templates in ``templates/`` and the style from ``report.css``
(:mod:`sim.reporting.page`).

The page needs nothing but itself: images are embedded as base64 ``data:`` URIs, the style is
inline, there is no script and no font or file is fetched. Everything is computed and drawn in
memory first; then ``plots/`` is replaced whole and ``report.html`` renamed into place, so a
failed report leaves the previous one (or none), never half of one.

The page modules import matplotlib (a few hundred ms): they are loaded when a report is built,
not when this package is imported.
"""

from __future__ import annotations

from pathlib import Path

from sim.files import folder_kind, write_file, write_folder

__all__ = ["build_report"]


def build_report(folder: Path) -> Path:
    """Write ``folder/plots/`` and ``folder/report.html`` for a run, sweep or calibration
    folder.

    Raises :class:`~sim.errors.InputError` (exit 2) if ``folder`` is neither. Everything is
    computed before anything is written; ``plots/`` is replaced whole, then ``report.html``
    renamed into place. Returns the path of ``report.html``.
    """
    folder = Path(folder)
    kind = folder_kind(folder, expected=("run", "sweep", "calibration"))
    if kind == "run":
        from sim.reporting.run_page import run_page

        page = run_page(folder)
    elif kind == "calibration":
        from sim.reporting.calibration_page import calibration_page

        page = calibration_page(folder)
    else:
        from sim.reporting.sweep_page import sweep_page

        page = sweep_page(folder)
    document = page.render()
    write_folder(folder / "plots", dict(page.images), replace_any=True)
    return write_file(folder / "report.html", document)
