"""Result folders on disk: atomic writes, never deleting a user's files, stale temporaries."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli import main
from sim.errors import InputError
from sim.files import check_replaceable, remove_stale_siblings, write_file, write_folder

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "models" / "tiny.yaml"


def dead_pid() -> int:
    """The PID of a process that has exited (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_folder_with_user_files_is_not_replaced(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    write_folder(folder, {"summary.json": {"a": 1}})
    write_folder(folder, {"summary.json": {"a": 2}})  # sim's own files: replaced
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match=r"notes\.txt.*nothing was written") as info:
        write_folder(folder, {"summary.json": {"a": 3}})
    assert info.value.problems[0].file == str(folder)
    assert (folder / "notes.txt").read_text() == "mine"
    assert '"a": 2' in (folder / "summary.json").read_text()
    # A folder that is wholly sim's (a report's plots/) may be replaced whatever it holds.
    write_folder(folder / "plots", {"a.png": b"x"}, replace_any=True)
    (folder / "plots" / "extra.png").write_bytes(b"y")
    write_folder(folder / "plots", {"b.png": b"z"}, replace_any=True)
    assert sorted(p.name for p in (folder / "plots").iterdir()) == ["b.png"]


def test_sim_run_refuses_before_running(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "tiny"
    folder.mkdir()
    (folder / "my-analysis.ipynb").write_text("{}")
    argv = ["run", str(TINY), "-n", "5", "--workers", "1", "--quiet", "--out", str(tmp_path)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{folder}:1:1: (top): holds files sim did not write (my-analysis.ipynb)" in err
    assert "replications in" not in err  # nothing ran
    assert sorted(p.name for p in folder.iterdir()) == ["my-analysis.ipynb"]


def test_empty_out_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(TINY), "--out", ""]) == 2
    assert "<command line>:1:1: --out: expected the folder" in capsys.readouterr().err


def test_stale_temporaries_of_killed_writers_are_removed(tmp_path: Path) -> None:
    final = tmp_path / "run"
    stale = tmp_path / f".run.tmp-{dead_pid()}-abcd1234"
    stale.mkdir()
    (stale / "runs.parquet").write_bytes(b"half")
    stale_old = tmp_path / f".run.old-{dead_pid()}-abcd1234"
    stale_old.mkdir()
    live = tmp_path / f".run.tmp-{os.getpid()}-feedbeef"  # a concurrent writer: kept
    live.mkdir()
    other = tmp_path / f".other.tmp-{dead_pid()}-00000000"  # another folder's: not ours
    other.mkdir()
    write_folder(final, {"summary.json": {}})
    assert not stale.exists() and not stale_old.exists()
    assert live.exists() and other.exists()
    file_stale = tmp_path / f".report.html.tmp-{dead_pid()}-0badf00d"
    file_stale.write_text("<html")
    write_file(tmp_path / "report.html", "<html></html>")
    assert not file_stale.exists()
    assert remove_stale_siblings(tmp_path / "nothing-here") == []


def test_check_replaceable_on_a_file(tmp_path: Path) -> None:
    target = tmp_path / "run"
    target.write_text("not a folder")
    with pytest.raises(InputError, match="not a folder"):
        check_replaceable(target)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "not-utf8-summary"])
def test_report_and_discover_on_damaged_folders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    """A damaged file is bad input (exit 2) naming it, never a raw Arrow or Unicode error."""
    argv = ["run", str(TINY), "-n", "5", "--workers", "1", "--quiet", "--out", str(tmp_path)]
    assert main(argv) == 0
    folder = tmp_path / "tiny"
    runs = folder / "runs.parquet"
    if damage == "truncated":
        runs.write_bytes(runs.read_bytes()[: runs.stat().st_size // 2])
        bad = runs
    elif damage == "garbage":
        runs.write_bytes(b"\x00not parquet at all" * 10)
        bad = runs
    else:
        bad = folder / "summary.json"
        bad.write_bytes(b"\xff\xfe{\x00}")
    capsys.readouterr()
    assert main(["report", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{bad}:") and "Traceback" not in err
    assert "ArrowInvalid" not in err and "UnicodeDecodeError" not in err
    # discover reads a sweep's runs.parquet the same way.
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "design.parquet").write_bytes(b"PAR1 truncated")
    (sweep / "runs.parquet").write_bytes(b"PAR1 truncated")
    (sweep / "summary.json").write_text("{}")
    assert main(["discover", str(sweep), "--outcome", "total", "--above", "1"]) == 2
    err = capsys.readouterr().err
    assert str(sweep / "design.parquet") in err or str(sweep / "runs.parquet") in err
    assert "Traceback" not in err


def test_a_killed_sweeps_staging_folder_is_removed_by_the_next_sweep(tmp_path: Path) -> None:
    """The assembly staging folder is a temporary sibling named with the PID: one left by a
    killed sweep (dead PID) is removed when the next sweep of that name assembles."""
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(
        f"name: tiny-sweep\nbase: {TINY}\nmethod: grid\nreplications: 2\nseed: 1\n"
        "parameters:\n  parameters.b: {values: [1, 2]}\n"
    )
    stale = tmp_path / f".tiny-sweep.tmp-{dead_pid()}-0123abcd"
    stale.mkdir()
    (stale / "runs.parquet").write_bytes(b"half")
    assert main(["sweep", str(sweep), "--out", str(tmp_path), "--workers", "1", "--quiet"]) == 0
    assert not stale.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep.yaml", "tiny-sweep"]


def test_series_stores_of_killed_runs_are_removed(tmp_path: Path) -> None:
    """A run's series go to a temporary `sim-series-PID-*` folder; one a killed run left (its
    PID gone) is removed by the next run's store, a live one is kept."""
    from sim.runner.series import remove_stale_stores

    stale = tmp_path / f"sim-series-{dead_pid()}-abc"
    stale.mkdir()
    (stale / "0.f64").write_bytes(b"\0" * 64)
    live = tmp_path / f"sim-series-{os.getpid()}-def"
    live.mkdir()
    assert remove_stale_stores(tmp_path) == [stale]
    assert not stale.exists() and live.exists()


def test_replacing_a_folder_says_which_derived_files_go(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", str(TINY), "-n", "5", "--workers", "1", "--quiet", "--out", str(tmp_path)]
    assert main(argv) == 0
    assert main(["report", str(tmp_path / "tiny")]) == 0
    capsys.readouterr()
    assert main(argv) == 0
    assert f"note: {tmp_path / 'tiny'} will be replaced, with its report.html, plots" in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "tiny" / "report.html").exists()
