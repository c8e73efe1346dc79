"""sim report on a calibration folder: prior and posterior marginals, the pair plot, the
posterior-predictive checks (held-out targets marked) and the tolerance per population."""

from __future__ import annotations

from pathlib import Path

import sim

MODELS = Path(__file__).parent / "models"


def write_calibration(folder: Path) -> Path:
    path = folder / "calibration.yaml"
    path.write_text(
        f"name: conj\nbase: {MODELS / 'normal-mean.yaml'}\nparticles: 100\nseed: 3\n"
        "parameters:\n  parameters.mu: {dist: normal, mean: 0, sd: 2}\n"
        "targets:\n  y: {observed: 1.5, sd: 0.5}\n"
        "  late: {series: path, day: 4, observed: 6, sd: 2}\n"
        "holdout: [late]\n"
    )
    return path


def test_a_calibration_folder_gets_its_report(tmp_path: Path, cli: object) -> None:
    result = sim.calibrate(write_calibration(tmp_path), out=tmp_path, workers=1)
    status, out, err = cli("report", result.folder)  # type: ignore[operator]
    assert status == 0, err
    html = (result.folder / "report.html").read_text()
    for heading in (
        "Parameters: prior and posterior",
        "The posterior, in pairs",
        "Targets: posterior-predictive checks",
        "Populations",
    ):
        assert heading in html
    assert "late (held out)" in html and "parameters.mu" in html
    plots = {path.name for path in (result.folder / "plots").glob("*.png")}
    assert plots == {"marginals.png", "pairs.png", "predictive.png", "tolerance.png"}
