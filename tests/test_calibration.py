"""sim calibrate: ABC-SMC recovers a known posterior, is deterministic across workers and
resume, records failures, and checks its input like every other file.

The model (tests/models/normal_mean.py) is ``y = mu``: with a normal prior N(0, 2) on ``mu``
and an observation 1.5 of Gaussian error sd 0.5, the exact posterior is normal with precision
1/4 + 1/0.25 = 4.25, sd 4.25**-0.5 = 0.4851, mean (1.5/0.25)/4.25 = 1.4118 (conjugate case).
"""

from __future__ import annotations

import math
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

import sim
from sim.calibration import run as calibration_run
from sim.errors import InputError

MODELS = Path(__file__).parent / "models"
EXACT_MEAN = (1.5 / 0.25) / (1 / 4 + 1 / 0.25)
EXACT_SD = (1 / 4 + 1 / 0.25) ** -0.5


def write_calibration(folder: Path, *, particles: int = 1000, extra: str = "", **over: str) -> Path:
    """A calibration of ``parameters.mu`` of the normal-mean model, written in ``folder``."""
    base = over.get("base", str(MODELS / "normal-mean.yaml"))
    text = f"""\
name: {over.get("name", "conj")}
base: {base}
particles: {particles}
max_populations: 12
seed: 3
parameters:
  parameters.mu: {over.get("prior", "{dist: normal, mean: 0, sd: 2}")}
targets:
  y: {{observed: 1.5, sd: 0.5}}
  late: {{series: path, day: 4, observed: 6, sd: 2}}
holdout: [late]
{extra}"""
    path = folder / "calibration.yaml"
    path.write_text(text)
    return path


def posterior(folder: Path) -> dict[str, np.ndarray]:
    table = pq.read_table(folder / "posterior.parquet")
    return {name: table.column(name).to_numpy() for name in table.column_names}


def stop_after_writes(monkeypatch: pytest.MonkeyPatch, count: int) -> Callable[[], None]:
    """Make a calibration stop as on Ctrl-C (KeyboardInterrupt) once ``count`` chunks are
    saved; returns what undoes it."""
    original = calibration_run.WorkFolder.write
    calls = {"n": 0}

    def write_then_stop(self: calibration_run.WorkFolder, *args: object) -> None:
        original(self, *args)  # type: ignore[arg-type]
        calls["n"] += 1
        if calls["n"] == count:
            raise KeyboardInterrupt

    monkeypatch.setattr(calibration_run.WorkFolder, "write", write_then_stop)
    return lambda: monkeypatch.setattr(calibration_run.WorkFolder, "write", original)


def test_the_conjugate_normal_posterior_is_recovered(tmp_path: Path) -> None:
    """1000 particles, seeded: the posterior mean within 0.1 posterior sd of the exact one
    (the Monte Carlo error of a weighted mean with ESS ~950 is about 0.03 sd) and its sd within
    10% (the relative error of an sd estimate is about 1/sqrt(2 ESS) ~ 2.3%)."""
    result = sim.calibrate(write_calibration(tmp_path), out=tmp_path / "out", workers=1)
    mu = result.summary["parameters"]["parameters.mu"]
    assert result.summary["reached_target"] is True
    assert abs(mu["mean"] - EXACT_MEAN) < 0.1 * EXACT_SD
    assert abs(mu["sd"] / EXACT_SD - 1) < 0.10
    # 90% interval of the exact posterior, within 0.15 sd at each end.
    assert abs(mu["p05"] - (EXACT_MEAN - 1.6449 * EXACT_SD)) < 0.15 * EXACT_SD
    assert abs(mu["p95"] - (EXACT_MEAN + 1.6449 * EXACT_SD)) < 0.15 * EXACT_SD
    # The last population's weights sum to one; populations are numbered from 0 (the prior).
    rows = posterior(result.folder)
    last = rows["population"] == rows["population"].max()
    assert math.isclose(rows["weight"][last].sum(), 1.0)
    populations = result.populations().to_pydict()
    assert populations["population"][0] == 0 and math.isinf(populations["tolerance"][0])
    assert populations["tolerance"][-1] == 1.0
    tolerances = populations["tolerance"]
    assert all(later < earlier for earlier, later in zip(tolerances, tolerances[1:], strict=False))
    # The held-out series value: path[4] = 4 mu ~ 5.6, observed 6 with sd 2: predicted.
    late = result.summary["targets"]["late"]
    assert late["holdout"] is True and late["inside_90"] is True
    assert abs(late["predictive_mean"] - 4 * EXACT_MEAN) < 0.2
    # The posterior-predictive interval of y: N(mean, sqrt(sd_post^2 + 0.5^2)), 90%.
    y = result.summary["targets"]["y"]
    half = 1.6449 * math.hypot(EXACT_SD, 0.5)
    assert abs(y["predictive_p05"] - (EXACT_MEAN - half)) < 0.1
    assert abs(y["predictive_p95"] - (EXACT_MEAN + half)) < 0.1
    for name in ("posterior.yaml", "populations.parquet", "calibration.yaml", "manifest.json"):
        assert (result.folder / name).is_file()


def test_workers_and_executors_give_the_same_posterior(tmp_path: Path) -> None:
    path = write_calibration(tmp_path, particles=200)
    one = sim.calibrate(path, out=tmp_path / "one", workers=1)
    two = sim.calibrate(path, out=tmp_path / "two", workers=2)
    a, b = posterior(one.folder), posterior(two.folder)
    assert a.keys() == b.keys()
    for name in a:
        assert np.array_equal(a[name], b[name]), name
    assert one.summary == two.summary


def test_a_resumed_calibration_ends_with_the_same_posterior(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Interrupted (KeyboardInterrupt after some chunks are saved), then resumed: the same
    posterior as a run never interrupted, with the saved runs not run again."""
    path = write_calibration(tmp_path, particles=200, extra="chunk_runs: 50\n")
    whole = sim.calibrate(path, out=tmp_path / "whole", workers=1)

    undo = stop_after_writes(monkeypatch, 13)
    out = tmp_path / "resumed"
    with pytest.raises(KeyboardInterrupt):
        sim.calibrate(path, out=out, workers=1)
    undo()
    assert (out / ".conj.calibration").is_dir() and not (out / "conj").exists()
    with pytest.raises(InputError, match="--resume"):
        sim.calibrate(path, out=out, workers=1)
    resumed = sim.calibrate(path, out=out, workers=1, resume=True)
    # 13 chunks of at most 50 runs (a batch's last chunk may be shorter) were not run again.
    assert 12 * 1 + 50 <= resumed.resumed_runs <= 13 * 50
    a, b = posterior(whole.folder), posterior(resumed.folder)
    for name in a:
        assert np.array_equal(a[name], b[name]), name
    assert not (out / ".conj.calibration").exists()


def test_a_failing_simulation_is_a_rejected_particle(tmp_path: Path) -> None:
    base = tmp_path / "fragile.yaml"
    base.write_text(
        f"extends: {MODELS / 'normal-mean.yaml'}\nname: fragile\n"
        f"model_dir: {MODELS}\nparameters: {{fail_above: 2.5}}\n"
    )
    path = write_calibration(tmp_path, particles=200, base=str(base))
    result = sim.calibrate(path, out=tmp_path / "out", workers=1)
    populations = result.populations().to_pydict()
    assert populations["failed"][0] > 0
    assert result.summary["failed_runs"] == sum(populations["failed"])
    assert posterior(result.folder)["parameters.mu"].max() <= 2.5


def test_the_posterior_scenario_runs_from_the_posterior(tmp_path: Path) -> None:
    result = sim.calibrate(write_calibration(tmp_path, particles=300), out=tmp_path, workers=1)
    run = sim.run(result.scenario_path, replications=2000, seed=5)
    y = run.runs.column("y").to_numpy()
    mu = result.summary["parameters"]["parameters.mu"]
    # 2000 draws of the weighted particles: the mean within 4 standard errors.
    assert abs(y.mean() - mu["mean"]) < 4 * mu["sd"] / math.sqrt(2000)
    rows = posterior(result.folder)
    last = rows["population"] == rows["population"].max()
    assert set(np.round(y, 12)) <= set(np.round(rows["parameters.mu"][last], 12))


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            {"prior": "{dist: normall, mean: 0, sd: 2}"},
            "parameters.parameters.mu: unknown distribution 'normall'; did you mean 'normal'?",
        ),
        (
            {"prior": "{dist: poisson, mean: 3}"},
            "a prior must be a continuous distribution",
        ),
        (
            {"extra": "  bad: {observed: 1, sd: 0}\n"},
            "Input should be greater than 0",
        ),
    ],
)
def test_bad_priors_are_refused_at_their_position(
    tmp_path: Path, cli: object, edit: dict[str, str], expected: str
) -> None:
    extra = edit.pop("extra", "")
    path = write_calibration(tmp_path, **edit)
    if extra:  # one more target, indented under targets
        text = path.read_text().replace("holdout:", extra.rstrip("\n") + "\nholdout:")
        path.write_text(text)
    status, _, err = cli("calibrate", path, "--out", tmp_path / "out")  # type: ignore[operator]
    assert status == 2
    assert f"{path}:" in err and expected in err
    assert not (tmp_path / "out").exists()


def test_unknown_key_paths_outcomes_series_and_holdouts_are_refused(
    tmp_path: Path, cli: object
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        f"name: bad\nbase: {MODELS / 'normal-mean.yaml'}\nparticles: 100\n"
        "parameters:\n  parameters.muu: {dist: normal, mean: 0, sd: 2}\n"
        "targets:\n  yy: {observed: 1.5, sd: 0.5}\n"
        "  late: {series: pth, day: 4, observed: 6, sd: 2}\n"
        "holdout: [latee]\n"
    )
    status, _, err = cli("calibrate", path)  # type: ignore[operator]
    assert status == 2
    assert f"{path}:5:3: parameters.parameters.muu: 'parameters.muu' is not a key" in err
    assert "did you mean 'parameters.mu'?" in err
    assert f"{path}:7:3: targets.yy: 'yy' is not a numeric outcome of the model" in err
    assert "targets.late.series: 'pth' is not a series of the model" in err
    assert "did you mean 'path'?" in err
    assert f"{path}:9:11: holdout.0: 'latee' is not a target; did you mean 'late'?" in err


def test_a_prior_reaching_invalid_values_is_refused(tmp_path: Path, cli: object) -> None:
    """The base's ``replications`` must be at least 1: a prior reaching below is refused."""
    path = tmp_path / "bad.yaml"
    path.write_text(
        f"name: bad\nbase: {MODELS / 'normal-mean.yaml'}\n"
        "parameters:\n  replications: {dist: uniform, low: -5, high: 5}\n"
        "targets:\n  y: {observed: 1.5, sd: 0.5}\n"
    )
    status, _, err = cli("calibrate", path)  # type: ignore[operator]
    assert status == 2
    assert "parameters.replications: the prior's 0.001 quantile" in err


def test_dry_run_estimates_runs_and_time(tmp_path: Path, cli: object) -> None:
    path = write_calibration(tmp_path)
    status, out, _ = cli("calibrate", path, "--dry-run", "--workers", "2")  # type: ignore[operator]
    assert status == 0
    assert "1,000 particles per population" in out and "ms/run" in out and "estimate:" in out
    assert not (tmp_path / "results").exists()


def test_the_cli_writes_the_folder_and_prints_the_fit(tmp_path: Path, cli: object) -> None:
    path = write_calibration(tmp_path, particles=200)
    status, out, err = cli(  # type: ignore[operator]
        "calibrate", path, "--out", tmp_path / "out", "--workers", "1"
    )
    assert status == 0, err
    assert "parameters.mu:" in out and "late (held out)" in out
    from sim.files import folder_kind

    assert folder_kind(tmp_path / "out" / "conj") == "calibration"
    opened = sim.CalibrationResult.open(tmp_path / "out" / "conj")
    assert opened.summary["calibration"] == "conj"


def test_ctrl_c_keeps_the_finished_chunks_and_says_how_to_resume(
    tmp_path: Path, cli: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_calibration(tmp_path, particles=100, extra="chunk_runs: 20\n")
    undo = stop_after_writes(monkeypatch, 3)
    out = tmp_path / "out"
    status, _, err = cli("calibrate", path, "--out", out, "--workers", "1", "--quiet")  # type: ignore[operator]
    assert status == 130
    assert "3 finished chunk(s) are saved" in err and "--resume" in err
    undo()
    status, _, err = cli(  # type: ignore[operator]
        "calibrate", path, "--out", out, "--workers", "1", "--quiet", "--resume"
    )
    assert status == 0, err
    assert "from the interrupted run" in err


def test_the_dask_executor_gives_the_same_posterior(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    path = write_calibration(tmp_path, particles=100)
    local = sim.calibrate(path, out=tmp_path / "local", workers=1)
    dask = sim.calibrate(path, out=tmp_path / "dask", workers=2, executor="dask")
    a, b = posterior(local.folder), posterior(dask.folder)
    for name in a:
        assert np.array_equal(a[name], b[name]), name


def _interrupted_calibration(
    tmp_path: Path, base: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Path, Path]:
    """A calibration of ``base`` stopped after 2 saved chunks: (file, out, work folder)."""
    path = write_calibration(tmp_path, particles=100, extra="chunk_runs: 20\n", base=str(base))
    undo = stop_after_writes(monkeypatch, 2)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        sim.calibrate(path, out=out, workers=1)
    undo()
    work = out / ".conj.calibration"
    assert (work / "fingerprint.json").is_file()
    return path, out, work


@pytest.mark.parametrize(
    ("content", "what"),
    [(b"{not json", "invalid JSON at line 1"), (b'{"files": {}}', "not an object with")],
    ids=["not-json", "wrong-shape"],
)
def test_an_unreadable_calibration_fingerprint_is_exit_2_naming_it(
    tmp_path: Path, cli: object, content: bytes, what: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Resuming a calibration whose work-folder record is damaged is bad input naming the
    file (as for sweeps), not a traceback; the calibration file takes chunk_runs from it too."""
    path, out, work = _interrupted_calibration(tmp_path, MODELS / "normal-mean.yaml", monkeypatch)
    (work / "fingerprint.json").write_bytes(content)
    path.write_text(path.read_text().replace("chunk_runs: 20\n", ""))
    status, _, err = cli("calibrate", path, "--out", out, "--workers", "1", "--quiet", "--resume")  # type: ignore[operator]
    assert status == 2, err
    assert err.startswith(f"{work / 'fingerprint.json'}:1:1: (top): "), err
    assert "the record of an interrupted calibration is unreadable" in err and what in err
    assert "Traceback" not in err and "JSONDecodeError" not in err and "KeyError" not in err


def test_resuming_a_calibration_refuses_an_edited_user_model_file(
    tmp_path: Path, cli: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The user model's Python file is part of the calibration's fingerprint: editing it
    between the interrupted run and the resume is refused, naming it (the saved attempts came
    from the old model)."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "edited_normal_mean", raising=False)
    shutil.copyfile(MODELS / "normal_mean.py", tmp_path / "edited_normal_mean.py")
    base = tmp_path / "model.yaml"
    base.write_text(
        (MODELS / "normal-mean.yaml").read_text().replace("normal_mean:", "edited_normal_mean:")
    )
    path, out, work = _interrupted_calibration(tmp_path, base, monkeypatch)
    with (tmp_path / "edited_normal_mean.py").open("a") as handle:
        handle.write("\n# edited\n")
    status, _, err = cli("calibrate", path, "--out", out, "--workers", "1", "--quiet", "--resume")  # type: ignore[operator]
    assert status == 2, err
    assert f"cannot resume: {tmp_path / 'edited_normal_mean.py'} changed" in err
    sys.modules.pop("edited_normal_mean", None)
