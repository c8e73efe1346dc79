"""A sweep's resume verifies every saved chunk against its record (run range, rows, size,
sha256) and re-runs the ones that fail, so damaged work ends in the same folder as an
uninterrupted run; an unreadable work-folder fingerprint is exit 2 naming it."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from conftest import Interrupt

from sim.cli import main
from sim.sweeps import load_sweep, run_sweep
from sim.sweeps.store import ChunkError, ChunkLayout, WorkFolder

MODELS = Path(__file__).resolve().parent / "models"

#: 8 points x 4 replications of the tiny user model, in 8 chunks of 4 runs (one point each).
SWEEP = f"""\
name: tiny-sweep
base: {MODELS / "tiny.yaml"}
method: lhs
samples: 8
replications: 4
seed: 5
chunk_runs: 4
parameters:
  parameters.a: {{low: 0, high: 1}}
"""
CHUNKS = 8
RESULTS = ("runs.parquet", "points.parquet", "design.parquet")


def sweep_command(sweep: Path, out: Path, *extra: str) -> list[str]:
    return ["sweep", str(sweep), "--out", str(out), "--workers", "1", "--quiet", *extra]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sweep run at once."""
    folder = tmp_path_factory.mktemp("reference")
    sweep = folder / "sweep.yaml"
    sweep.write_text(SWEEP)
    assert main(sweep_command(sweep, folder / "out")) == 0
    return folder / "out" / "tiny-sweep"


def interrupted(tmp_path: Path) -> tuple[Path, Path, WorkFolder]:
    """The sweep stopped by Ctrl-C with chunks 0..5 saved: (sweep file, out, work folder)."""
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(SWEEP)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_sweep(load_sweep(sweep), out=out, workers=1, progress=Interrupt(7))
    work = WorkFolder.for_output(out / "tiny-sweep")
    assert {0, 1, 2, 3, 4, 5} <= work.done_chunks() < set(range(CHUNKS))
    return sweep, out, work


def assert_same_as_uninterrupted(folder: Path, reference: Path) -> None:
    for name in RESULTS:
        assert pq.read_table(folder / name).equals(pq.read_table(reference / name)), name
    assert json.loads((folder / "summary.json").read_text()) == json.loads(
        (reference / "summary.json").read_text()
    )


def resume(sweep: Path, out: Path, capsys: pytest.CaptureFixture[str], reference: Path) -> str:
    """``--resume``, then the same folder as the uninterrupted run; returns stderr."""
    capsys.readouterr()
    assert main(sweep_command(sweep, out, "--resume")) == 0
    err = capsys.readouterr().err
    assert_same_as_uninterrupted(out / "tiny-sweep", reference)
    assert not WorkFolder.for_output(out / "tiny-sweep").path.exists()
    return err


def note_line(err: str) -> str:
    notes = [line for line in err.splitlines() if line.startswith("note: resume:")]
    assert len(notes) == 1, err
    return notes[0]


def copy_chunk_0_over_5(work: WorkFolder) -> None:
    shutil.copyfile(work.chunk_path(0), work.chunk_path(5))


def truncate_chunk_5(work: WorkFolder) -> None:
    data = work.chunk_path(5).read_bytes()
    work.chunk_path(5).write_bytes(data[: len(data) // 2])


def garbage_chunk_5(work: WorkFolder) -> None:
    work.chunk_path(5).write_bytes(b"\x00garbage\xff" * 100)


def edit_a_value_in_chunk_5(work: WorkFolder) -> None:
    """Rewrite chunk 5 as valid Parquet with one outcome value changed (schema kept)."""
    table = pq.read_table(work.chunk_path(5))
    total = table.column("total")
    changed = pc.add(total, pa.scalar(0.0)).to_pylist()
    changed[2] = changed[2] + 1.0
    index = table.schema.get_field_index("total")
    table = table.set_column(index, table.schema.field(index), pa.array(changed, total.type))
    pq.write_table(table, work.chunk_path(5), compression="zstd")


def remove_record_5(work: WorkFolder) -> None:
    work.record_path(5).unlink()


def copy_record_0_over_5(work: WorkFolder) -> None:
    shutil.copyfile(work.record_path(0), work.record_path(5))


def garbage_record_5(work: WorkFolder) -> None:
    work.record_path(5).write_text("{not json")


def forge_chunk_0_as_5(work: WorkFolder) -> None:
    """Chunk 0's file copied over chunk 5's, and chunk 5's record rewritten to match its bytes:
    only the run range of the rows shows that it holds chunk 0's runs."""
    copy_chunk_0_over_5(work)
    record = json.loads(work.record_path(5).read_text())
    data = work.chunk_path(5).read_bytes()
    record.update(bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
    work.record_path(5).write_text(json.dumps(record))


#: Another file of a chunk: its size differs, or (same size) its sha256.
SIZE_OR_CHECKSUM = "of another size|checksum mismatch"


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (copy_chunk_0_over_5, SIZE_OR_CHECKSUM),
        (truncate_chunk_5, "of another size"),
        (garbage_chunk_5, "of another size"),
        (edit_a_value_in_chunk_5, SIZE_OR_CHECKSUM),
        (remove_record_5, "without a record"),
        (copy_record_0_over_5, "record of another chunk"),
        (garbage_record_5, "unreadable record"),
        (forge_chunk_0_as_5, "runs of another range"),
    ],
    ids=lambda value: getattr(value, "__name__", "")[:40],
)
def test_a_damaged_chunk_is_run_again(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    reference: Path,
    damage: Callable[[WorkFolder], None],
    reason: str,
) -> None:
    sweep, out, work = interrupted(tmp_path)
    damage(work)
    err = resume(sweep, out, capsys, reference)
    note = note_line(err)
    assert "1 of 8 saved chunks failed verification and are run again" in note, note
    assert re.search(reason, note) and "(chunk 5)" in note, note
    assert "Traceback" not in err


def test_edited_value_with_the_same_size_is_caught_by_the_checksum(tmp_path: Path) -> None:
    """Flip one byte of a chunk file: same size, other sha256."""
    sweep, out, work = interrupted(tmp_path)
    data = bytearray(work.chunk_path(3).read_bytes())
    data[len(data) // 2] ^= 0xFF
    work.chunk_path(3).write_bytes(bytes(data))
    schema = pq.read_schema(work.chunk_path(0))
    found = work.verify(ChunkLayout(32, 4, 4), schema)
    assert found.failed == {3: "with a checksum mismatch (edited or replaced)"}
    assert not work.chunk_path(3).exists() and not work.record_path(3).exists()
    assert 0 in found.done and 5 in found.done


def test_a_stray_file_is_removed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], reference: Path
) -> None:
    sweep, out, work = interrupted(tmp_path)
    shutil.copyfile(work.chunk_path(1), work.parts / "chunk-abc.parquet")
    (work.parts / "chunk-9999999.parquet").write_bytes(b"beyond the last chunk")
    (work.parts / ".chunk-0000006.parquet.tmp-123").write_bytes(b"left by a killed run")
    note = note_line(resume(sweep, out, capsys, reference))
    assert "removed 2 stray file(s) in parts/: chunk-9999999.parquet, chunk-abc.parquet" in note
    assert "failed verification" not in note


def test_several_damaged_chunks_are_counted_by_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], reference: Path
) -> None:
    sweep, out, work = interrupted(tmp_path)
    copy_chunk_0_over_5(work)
    truncate_chunk_5(work)
    remove_record_5(work)
    garbage_chunk_5(work)  # chunk 5: without a record (its file is there)
    for index in (1, 2):
        work.chunk_path(index).write_bytes(b"")
    note = note_line(resume(sweep, out, capsys, reference))
    assert note == (
        "note: resume: 3 of 8 saved chunks failed verification and are run again: "
        "2 with a file of another size (truncated or replaced) (chunk 1, 2); "
        "1 without a record (chunk 5)"
    )


def test_an_undamaged_resume_says_nothing_about_verification(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], reference: Path
) -> None:
    sweep, out, _ = interrupted(tmp_path)
    err = resume(sweep, out, capsys, reference)
    assert "note:" not in err


def test_a_chunk_damaged_while_the_sweep_runs_is_run_again_before_assembly(
    tmp_path: Path, reference: Path
) -> None:
    """Chunk 0 is truncated while chunk 7 runs: the check before assembly finds it, runs it
    again, and the folder is the uninterrupted one (the assembly never reads a bad chunk)."""
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(SWEEP)
    out = tmp_path / "out"
    work = WorkFolder.for_output(out / "tiny-sweep")
    notes: list[str] = []

    class Damage(Interrupt):
        def update(self, runs: int) -> None:
            self.after -= 1
            if self.after == 0:
                truncate = work.chunk_path(0)
                truncate.write_bytes(truncate.read_bytes()[:10])

    outcome = run_sweep(
        load_sweep(sweep), out=out, workers=1, progress=Damage(CHUNKS), notify=notes.append
    )
    assert outcome.rerun_chunks == 1
    assert notes == [
        "before assembly: 1 of 8 saved chunks failed verification and are run again: "
        "1 with a file of another size (truncated or replaced) (chunk 0)"
    ]
    assert_same_as_uninterrupted(out / "tiny-sweep", reference)


def test_a_chunk_changed_after_verification_is_a_chunk_error(tmp_path: Path) -> None:
    """Reading chunks at assembly never fails with a raw Arrow error."""
    _, _, work = interrupted(tmp_path)
    schema = pq.read_schema(work.chunk_path(0))
    layout = ChunkLayout(24, 4, 4)  # chunks 0..5, all saved
    work.verify(layout, schema)
    work.chunk_path(4).write_bytes(b"garbage")
    with pytest.raises(ChunkError, match="chunk-0000004.parquet became unreadable"):
        list(work.read_chunks(layout, schema))


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b"{not json", "invalid JSON at line 1 column 2"),
        (b"\xff\xfe garbage", "not UTF-8 text"),
        (b'["a list"]', 'not an object with "files"'),
        (b'{"files": {}, "engine_version": "0", "chunk_runs": true}', "positive"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
    ids=["not-json", "not-utf8", "wrong-shape", "bool-chunk-runs", "deep"],
)
@pytest.mark.parametrize("flag", ["--resume", None])
def test_an_unreadable_fingerprint_is_exit_2_naming_it(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: bytes,
    what: str,
    flag: str | None,
) -> None:
    sweep, out, work = interrupted(tmp_path)
    (work.path / "fingerprint.json").write_bytes(content)
    capsys.readouterr()
    command = sweep_command(sweep, out, *([flag] if flag else []))
    assert main(command) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"{work.path / 'fingerprint.json'}:1:1: (top): "), err
    assert what in err
    assert f"delete the folder {work.path} to start again" in err
    assert "--resume" not in err and "Traceback" not in err and "JSONDecodeError" not in err
    # Deleting the folder, as told, starts again.
    shutil.rmtree(work.path)
    assert main(sweep_command(sweep, out)) == 0


def test_a_sweep_without_chunk_runs_reads_them_from_a_bad_fingerprint_as_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without ``chunk_runs`` in the sweep, resume takes it from the fingerprint: a bad one is
    exit 2 there too, not a KeyError."""
    sweep, out, work = interrupted(tmp_path)
    sweep.write_text(SWEEP.replace("chunk_runs: 4\n", ""))
    (work.path / "fingerprint.json").write_text('{"files": {}}')
    capsys.readouterr()
    assert main(sweep_command(sweep, out, "--resume")) == 2
    assert "fingerprint.json:1:1: (top): the record of an interrupted sweep is unreadable" in (
        capsys.readouterr().err
    )


def test_chunks_that_keep_failing_verification_stop_the_sweep_with_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disk that damages every chunk 5 it is given: two rounds of repair, then an error that
    says so (the work folder stays; nothing is assembled from a bad chunk)."""
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(SWEEP)
    out = tmp_path / "out"
    original = WorkFolder.write_chunk
    writes: list[int] = []

    def damaging(self: WorkFolder, index: int, *args: object) -> None:
        original(self, index, *args)
        writes.append(index)
        if index == 5:
            self.chunk_path(5).write_bytes(b"")

    monkeypatch.setattr(WorkFolder, "write_chunk", damaging)
    with pytest.raises(RuntimeError, match=r"1 chunk\(s\) in .* failed verification right after"):
        run_sweep(load_sweep(sweep), out=out, workers=1, progress=None, notify=None)
    assert writes.count(5) == 3
    assert not (out / "tiny-sweep").exists()


def test_resume_refuses_an_edited_user_model_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The user model's Python file is part of the fingerprint: editing it between the
    interrupted run and the resume is refused (its rows would mix two models)."""
    # The model's folder goes first on sys.path when it is imported: undone after the test.
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "edited_model", raising=False)
    shutil.copyfile(MODELS / "tiny.py", tmp_path / "edited_model.py")
    model = (MODELS / "tiny.yaml").read_text().replace("tiny:", "edited_model:")
    (tmp_path / "tiny.yaml").write_text(model)
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(SWEEP.replace(str(MODELS / "tiny.yaml"), str(tmp_path / "tiny.yaml")))
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_sweep(load_sweep(sweep), out=out, workers=1, progress=Interrupt(3))
    with (tmp_path / "edited_model.py").open("a") as handle:
        handle.write("\n# edited\n")
    capsys.readouterr()
    assert main(sweep_command(sweep, out, "--resume")) == 2
    err = capsys.readouterr().err
    assert f"cannot resume: {tmp_path / 'edited_model.py'} changed" in err
    sys.modules.pop("edited_model", None)
