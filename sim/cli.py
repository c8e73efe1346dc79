"""The command line: ``sim run``, ``validate``, ``params``, ``sweep``, ``calibrate``, ``compare``,
``report``, ``discover``.

Parsing and printing over the Python API (:mod:`sim.api`), nothing else: each command parses
its arguments, calls the API and prints what it returns. Failures map to exit codes in one
place (0 success, 2 bad input, 1 any other failure, 130 interrupted, 143 terminated by SIGTERM,
which stops a run like Ctrl-C does). Bad input is printed as
``FILE:LINE:COL: KEY.PATH: message``, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

from sim import __version__
from sim.errors import ARGUMENTS, EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, InputError, Problem


def _output_folder(value: str) -> Path:
    """``--out`` (:func:`sim.files.output_folder`, imported when an argument is parsed: numpy
    and pyarrow stay out of ``sim --help`` and ``sim --version``)."""
    from sim.files import output_folder

    return output_folder(value)


EXIT_INTERRUPTED = 130
#: Exit status after SIGTERM (128 + 15, what a shell reports for a process it killed).
EXIT_TERMINATED = 128 + signal.SIGTERM


class Terminated(KeyboardInterrupt):
    """Raised in the main thread by SIGTERM: everything that stops cleanly on Ctrl-C (workers
    stopped, nothing half-written, a sweep's finished chunks kept) does so on SIGTERM too."""


@contextlib.contextmanager
def _sigterm_interrupts(received: list[int]) -> Iterator[None]:
    """Meanwhile SIGTERM raises :class:`Terminated` (once: a second one during the clean-up is
    ignored) and is noted in ``received``; the previous handler is restored afterwards. Outside
    the main thread (where handlers cannot be set) nothing changes."""

    def handler(signum: int, frame: FrameType | None) -> None:
        if received:
            return
        received.append(signum)
        raise Terminated

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _Parser(argparse.ArgumentParser):
    """argparse, with argument errors reported like every other bad input (exit 2)."""

    def error(self, message: str) -> NoReturn:
        # "argument -n/--replications: must be ..." -> key path "-n/--replications"
        match = re.fullmatch(r"argument ([^:\s]+): (.*)", message, flags=re.DOTALL)
        if match:
            where, message = match.groups()
        else:
            where = self.prog
        raise InputError([Problem(ARGUMENTS, 1, 1, where, message)])


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _replications(text: str) -> int:
    from sim.limits import MAX_REPLICATIONS

    value = _positive_int(text)
    if value > MAX_REPLICATIONS:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_REPLICATIONS:,}, got {value:,}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"must be between 0 and 2**63 - 1, got {value}")
    return value


def _add_executor_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--executor`` and ``--scheduler`` (``run`` and ``sweep``)."""
    parser.add_argument(
        "--executor",
        choices=["local", "dask"],
        default="local",
        help="where replications run: local processes (default) or a Dask cluster",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="with --executor dask: the scheduler of a running cluster (tcp://HOST:PORT or a "
        "scheduler file); default: a local cluster of --workers processes",
    )


def _check_executor(args: argparse.Namespace) -> None:
    """Refuse ``--scheduler`` without ``--executor dask``, and with ``--workers``."""
    if args.scheduler is None:
        return
    if args.executor != "dask":
        message = "a scheduler address needs --executor dask (the local executor has none)"
        raise InputError([Problem(ARGUMENTS, 1, 1, "--scheduler", message)])
    if args.workers is not None:
        message = "sizes a local cluster; with --scheduler the cluster's own workers run"
        raise InputError([Problem(ARGUMENTS, 1, 1, "--workers", message)])


def _add_common_arguments(parser: argparse.ArgumentParser, folder: str) -> None:
    """``--workers`` and ``--out``, shared by ``run`` and ``sweep``."""
    parser.add_argument(
        "--workers", type=_positive_int, help="worker processes (default: all cores)"
    )
    parser.add_argument(
        "--out",
        type=_output_folder,
        default=Path("results"),
        help=f"parent folder of the {folder} folder (default: results)",
    )


def _add_set_argument(parser: argparse.ArgumentParser) -> None:
    """``--set KEY.PATH=VALUE`` (repeatable), shared by the scenario commands."""
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY.PATH=VALUE",
        help="override a scenario value (repeatable)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="sim",
        description="Scenario simulation of the Lithuania-Belarus "
        "truck standoff: Monte Carlo runs of YAML scenarios.",
    )
    parser.add_argument("--version", action="version", version=f"sim {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = commands.add_parser("run", help="Monte Carlo replications of one scenario")
    run.add_argument("scenario", type=Path, help="scenario YAML file")
    run.add_argument(
        "-n",
        "--replications",
        type=_replications,
        help="replications (default: the scenario's `replications`)",
    )
    run.add_argument("--seed", type=_seed, help="root seed (default: the scenario's `seed`)")
    _add_common_arguments(run, "run")
    _add_set_argument(run)
    _add_executor_arguments(run)
    run.add_argument("--quiet", action="store_true", help="no progress bar, no summary table")
    run.add_argument(
        "--precision",
        metavar="REL",
        help="add replications in batches (the first: -n or the scenario's) until the 95%% CI "
        "half-width of each main outcome's mean is at most REL x |mean| (0.02 or 2%%)",
    )
    run.add_argument(
        "--max-replications",
        type=_replications,
        metavar="N",
        help="with --precision: stop at N replications (default: 20 x the first batch)",
    )
    run.add_argument(
        "--precision-outcomes",
        metavar="A,B,C",
        help="with --precision: the outcomes to make precise (default: the model's main "
        "outcomes; all numeric outputs of a user model)",
    )
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="validate, time a few replications, and show the estimated time and memory; "
        "run nothing else, write nothing",
    )

    check = commands.add_parser("validate", help="check scenario files without running them")
    check.add_argument("files", type=Path, nargs="+")
    _add_set_argument(check)

    sweep = commands.add_parser(
        "sweep", help="a parameter sweep (grid, list, lhs, sobol, morris) over a base scenario"
    )
    sweep.add_argument("sweep", type=Path, help="sweep YAML file")
    _add_common_arguments(sweep, "sweep")
    sweep.add_argument(
        "--resume", action="store_true", help="continue an interrupted run of this sweep"
    )
    sweep.add_argument(
        "--dry-run",
        action="store_true",
        help="show the points, runs and an estimated time (from a short timing run); run nothing",
    )
    _add_executor_arguments(sweep)
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")

    calibrate = commands.add_parser(
        "calibrate",
        help="fit a scenario's uncertain parameters to observed figures (ABC-SMC)",
    )
    calibrate.add_argument("calibration", type=Path, help="calibration YAML file")
    _add_common_arguments(calibrate, "calibration")
    calibrate.add_argument(
        "--resume", action="store_true", help="continue an interrupted run of this calibration"
    )
    calibrate.add_argument(
        "--dry-run",
        action="store_true",
        help="show the runs and an estimated time (from a short timing run); run nothing",
    )
    _add_executor_arguments(calibrate)
    calibrate.add_argument("--quiet", action="store_true", help="no progress bars")

    discover = commands.add_parser(
        "discover",
        help="scenario discovery (PRIM): the parameter ranges where an outcome is likely "
        "above or below a threshold",
        description="Scenario discovery on a sweep folder with PRIM (patient rule induction): "
        "the box of parameter ranges where OUTCOME is likely above (or below) X. By default "
        "each design point is one case: a point is a case of interest when at least "
        "--threshold-share of its successful replications have OUTCOME strictly above "
        "(below) X; points average out the replication noise the parameters cannot explain. "
        "The box is the step of PRIM's peeling trajectory with the highest density among "
        "those with coverage >= --min-coverage (or --step N). Prints the box and adds it "
        "to SWEEP_DIR/discovery.json.",
    )
    discover.add_argument("sweep_dir", type=Path, metavar="SWEEP_DIR", help="a sweep's folder")
    discover.add_argument("--outcome", required=True, metavar="NAME", help="an outcome column")
    discover.add_argument("--above", type=float, metavar="X", help="cases: OUTCOME > X")
    discover.add_argument("--below", type=float, metavar="X", help="cases: OUTCOME < X")
    discover.add_argument(
        "--threshold-share",
        type=float,
        default=0.5,
        metavar="P",
        help="a point is a case of interest when this share of its replications meets the "
        "condition (default 0.5)",
    )
    discover.add_argument(
        "--per-run",
        action="store_true",
        help="make each run a case (with its point's parameters) instead of each point: "
        "density is then the chance that one run in the box meets the condition",
    )
    discover.add_argument(
        "--peel-alpha",
        type=float,
        default=0.05,
        metavar="A",
        help="share of the cases peeled off at each step (default 0.05)",
    )
    discover.add_argument(
        "--min-support",
        type=float,
        default=0.05,
        metavar="M",
        help="smallest mass (share of all cases) a box may keep (default 0.05)",
    )
    discover.add_argument(
        "--min-coverage",
        type=float,
        default=0.5,
        metavar="C",
        help="the box: highest density among the steps with coverage >= C (default 0.5)",
    )
    discover.add_argument(
        "--step", type=int, metavar="N", help="take step N of the printed trajectory instead"
    )
    discover.add_argument(
        "--null-as",
        type=float,
        metavar="V",
        help="count a null OUTCOME (the event did not happen) as V (default: the sweep's "
        "null_as for it, else such runs are left out)",
    )
    discover.add_argument("--format", choices=["table", "json"], default="table")

    report = commands.add_parser(
        "report",
        help="plots and a self-contained report.html for a run, sweep or calibration folder",
    )
    report.add_argument("folder", type=Path, help="a run folder or a sweep folder")

    params = commands.add_parser(
        "params", help="list a scenario's uncertain parameters: when each is drawn, its value"
    )
    params.add_argument("scenario", type=Path)
    _add_set_argument(params)

    compare = commands.add_parser(
        "compare", help="metric by metric differences between two runs, with confidence intervals"
    )
    compare.add_argument("dir_a", type=Path, metavar="DIR_A", help="run folder A (the reference)")
    compare.add_argument("dir_b", type=Path, metavar="DIR_B", help="run folder B (diff = B - A)")
    compare.add_argument(
        "--format", choices=["table", "json"], default="table", help="output (default: table)"
    )
    compare.add_argument(
        "--unpaired",
        action="store_true",
        help="compare as independent samples even when both runs used the same seed",
    )
    return parser


def _overrides(args: argparse.Namespace) -> list[str]:
    overrides = list(args.overrides)
    if getattr(args, "replications", None) is not None:
        overrides.append(f"replications={args.replications}")
    if getattr(args, "seed", None) is not None:
        overrides.append(f"seed={args.seed}")
    return overrides


def _resume_command(command: str, path: Path, out: Path) -> str:
    """The command that continues an interrupted sweep or calibration (with its --out)."""
    import shlex

    words = ["sim", command, str(path)]
    if out != Path("results"):
        words += ["--out", str(out)]
    return shlex.join([*words, "--resume"])


def _note_replaced(folder: Path) -> None:
    """Say which derived files of an existing result folder a new run will replace."""
    from sim.files import derived_entries

    derived = derived_entries(folder)
    if derived:
        print(
            f"note: {folder} will be replaced, with its {', '.join(derived)} (made from the old "
            "results; rebuild them with sim report / sim discover)",
            file=sys.stderr,
        )


def _check_out(out: Path) -> None:
    """Refuse an --out that cannot become a folder before spending time on the runs."""
    missing = []  # the folders to make, from ``out`` up
    existing = out
    while not existing.exists() and existing != existing.parent:
        missing.append(existing)
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        if not missing:
            message = f"{str(out)!r} is a file, not a folder"
        else:
            message = f"cannot create the folder {str(out)!r}: {str(existing)!r} is a file"
        raise InputError([Problem(ARGUMENTS, 1, 1, "--out", message)])
    # Try making it now (and undo that): a folder that cannot be made fails before the runs,
    # not after them, and a failed command still leaves nothing behind.
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        message = f"cannot create the folder {str(out)!r}: {error.strerror or error}"
        raise InputError([Problem(ARGUMENTS, 1, 1, "--out", message)]) from None
    finally:
        for folder in missing:
            with contextlib.suppress(OSError):
                folder.rmdir()
    if not os.access(existing, os.W_OK | os.X_OK):
        message = f"cannot write into the folder {str(out)!r}: permission denied"
        raise InputError([Problem(ARGUMENTS, 1, 1, "--out", message)])


def cmd_run(args: argparse.Namespace) -> int:
    from sim import api
    from sim.files import check_replaceable

    _check_executor(args)
    scenario = api.load(args.scenario, _overrides(args))
    if args.precision is None:
        for option in ("max_replications", "precision_outcomes"):
            if getattr(args, option) is not None:
                flag = "--" + option.replace("_", "-")
                raise InputError([Problem(ARGUMENTS, 1, 1, flag, "only applies with --precision")])
    if args.dry_run:
        plan = api.plan_run(
            scenario,
            workers=args.workers,
            precision=args.precision,
            max_replications=args.max_replications,
        )
        print(plan.text)
        return EXIT_OK
    _check_out(args.out)
    check_replaceable(args.out / scenario.name)
    _note_replaced(args.out / scenario.name)
    result = api.run(
        scenario,
        workers=args.workers,
        executor=args.executor,
        precision=args.precision,
        progress=not args.quiet,
        scheduler=args.scheduler,
        max_replications=args.max_replications,
        precision_outcomes=args.precision_outcomes,
    )
    final_dir = result.save(args.out / result.name, command=["sim", *args.argv])
    result.close()  # the daily series' temporary folder: the folder keeps the bands
    if not args.quiet:
        print(result.table())
    if result.precision is not None:
        print(result.precision.message(), file=sys.stderr)
    rate = result.replications / result.elapsed_seconds if result.elapsed_seconds else 0.0
    print(
        f"{result.replications} replications in {result.elapsed_seconds:.1f} s "
        f"({rate:.0f}/s on {result.workers} worker(s)); wrote {final_dir}/",
        file=sys.stderr,
    )
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from sim import api
    from sim.calibration import looks_like_calibration
    from sim.scenario import load_document
    from sim.sweeps import looks_like_sweep
    from sim.sweeps.design import build_design

    problems: list[Problem] = []
    for path in args.files:
        try:
            if looks_like_calibration(load_document(path).data):
                calibration = api.load_calibration(path).spec
                print(
                    f"{path}: ok (calibration {calibration.name!r}, {calibration.method}, "
                    f"{len(calibration.parameters)} parameters, {len(calibration.targets)} "
                    f"targets, {len(calibration.holdout)} held out)"
                )
                continue
            if looks_like_sweep(load_document(path).data):
                loaded = api.load_sweep(path)
                points = build_design(loaded.spec).points
                print(
                    f"{path}: ok (sweep {loaded.spec.name!r}, {loaded.spec.method}, "
                    f"{points:,} points x {loaded.spec.replications} replications)"
                )
                continue
            scenario: Any = api.load(path, args.overrides)
        except InputError as error:
            problems.extend(error.problems)
            continue
        print(f"{path}: ok (scenario {scenario.name!r}, {scenario.replications} replications)")
    if problems:
        raise InputError(problems)
    return EXIT_OK


def cmd_params(args: argparse.Namespace) -> int:
    from sim import api
    from sim.model import scenario_params

    scenario = api.load(args.scenario, args.overrides)
    joint: dict[str, str] = {}
    source = scenario.parameters_from
    if source is not None:
        from sim.model.joint import read_particles

        keys, _, weights = read_particles(Path(source.file), source.weights, source.population)
        where = f"joint: one of {len(weights):,} particles of {Path(source.file).name}"
        joint = dict.fromkeys(keys, where)
    rows = [("parameter", "drawn per", "unit", "value")]

    def value(path: str, described: str) -> str:
        if path in joint:
            return joint[path]
        inner = [key.removeprefix(path + ".") for key in joint if key.startswith(path + ".")]
        if inner:
            return f"{described}; {', '.join(inner)} {next(iter(joint.values()))}"
        return described

    rows += [
        (path, info.scope, info.unit, value(path, dist.describe()))
        for path, info, dist in scenario_params(scenario)
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
            + "  "
            + row[3]
        )
    return EXIT_OK


def _resumable(
    args: argparse.Namespace,
    command: str,
    path: Path,
    name: str,
    work_path: Path,
    saved_chunks: Any,
    start: Any,
) -> Any:
    """Run a resumable command (``sweep``, ``calibrate``) into ``--out``: the checks before,
    and, on Ctrl-C or a failure, what was saved and the command that continues it. Returns
    ``start()``'s result, or an exit status."""
    from sim.files import check_replaceable

    _check_out(args.out)
    check_replaceable(args.out / name)
    _note_replaced(args.out / name)
    hint = f"continue with: {_resume_command(command, path, args.out)}"
    if args.resume and saved_chunks() is None:
        print(
            f"note: nothing to resume in {work_path}: starting from the beginning", file=sys.stderr
        )
    try:
        return start()
    except KeyboardInterrupt:
        saved = saved_chunks() or 0
        print(
            f"\ninterrupted: {saved} finished chunk(s) are saved in {work_path}; {hint}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    except InputError:
        raise
    except Exception as error:
        if saved_chunks() is None:
            raise
        print(
            f"sim: error: {type(error).__name__}: {error}\n"
            f"finished chunks are saved in {work_path}; {hint}",
            file=sys.stderr,
        )
        return EXIT_FAILURE


def _run_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments the API's sweep and calibrate take from the command line."""
    return {
        "out": args.out,
        "workers": args.workers,
        "executor": args.executor,
        "progress": not args.quiet,
        "scheduler": args.scheduler,
        "resume": args.resume,
        "command": ["sim", *args.argv],
    }


def _finished(counts: str, result: Any, quiet: bool) -> int:
    print(
        counts
        + (f", {result.resumed_runs:,} from the interrupted run" if result.resumed_runs else "")
        + f") in {result.elapsed_seconds:.1f} s; wrote {result.folder}/",
        file=sys.stderr,
    )
    if not quiet:
        print(result.table())
    return EXIT_OK


def cmd_sweep(args: argparse.Namespace) -> int:
    from sim import api
    from sim.sweeps.store import WorkFolder

    _check_executor(args)
    loaded = api.load_sweep(args.sweep)
    if args.dry_run:
        print(api.plan_sweep(loaded, args.workers))
        return EXIT_OK
    work = WorkFolder.for_output(args.out / loaded.spec.name)
    result = _resumable(
        args,
        "sweep",
        args.sweep,
        loaded.spec.name,
        work.path,
        lambda: len(work.done_chunks()) if work.exists() else None,
        lambda: api.sweep(loaded, **_run_options(args)),
    )
    if isinstance(result, int):
        return result
    counts = (
        f"{result.summary['points']:,} points, {result.runs_count:,} runs ({result.failed:,} failed"
    )
    return _finished(counts, result, args.quiet)


def cmd_calibrate(args: argparse.Namespace) -> int:
    from sim import api
    from sim.calibration.run import WorkFolder

    _check_executor(args)
    loaded = api.load_calibration(args.calibration)
    if args.dry_run:
        print(api.plan_calibration(loaded, args.workers))
        return EXIT_OK
    work = WorkFolder(args.out / f".{loaded.spec.name}.calibration")
    result = _resumable(
        args,
        "calibrate",
        args.calibration,
        loaded.spec.name,
        work.path,
        lambda: work.chunks() if work.exists() else None,
        lambda: api.calibrate(loaded, **_run_options(args)),
    )
    if isinstance(result, int):
        return result
    counts = f"{result.summary['runs']:,} runs ({result.summary['failed_runs']:,} failed"
    return _finished(counts, result, args.quiet)


def cmd_compare(args: argparse.Namespace) -> int:
    from sim import api

    comparison = api.compare(args.dir_a, args.dir_b, paired=False if args.unpaired else None)
    if args.format == "json":
        print(comparison.to_json())
    else:
        print(comparison.table(), end="")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from sim import api

    print(api.report(args.folder))
    return EXIT_OK


def cmd_discover(args: argparse.Namespace) -> int:
    import json

    from sim import api

    box = api.discover(
        args.sweep_dir,
        args.outcome,
        above=args.above,
        below=args.below,
        threshold_share=args.threshold_share,
        per_run=args.per_run,
        peel_alpha=args.peel_alpha,
        min_support=args.min_support,
        min_coverage=args.min_coverage,
        step=args.step,
        null_as=args.null_as,
    )
    for note in box.pop("notes"):
        print(f"note: {note}", file=sys.stderr)
    if args.format == "json":
        print(json.dumps(box, indent=2))
    else:
        from sim.analysis.discover import format_discovery

        print(format_discovery(box))
    print(f"wrote {args.sweep_dir / 'discovery.json'}", file=sys.stderr)
    return EXIT_OK


COMMANDS = {
    "run": cmd_run,
    "validate": cmd_validate,
    "params": cmd_params,
    "sweep": cmd_sweep,
    "calibrate": cmd_calibrate,
    "compare": cmd_compare,
    "discover": cmd_discover,
    "report": cmd_report,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sim`` console script; returns the exit status."""
    started = time.perf_counter()
    terminated: list[int] = []
    try:
        with _sigterm_interrupts(terminated):
            argv = list(sys.argv[1:] if argv is None else argv)
            args = build_parser().parse_args(argv)
            args.argv = argv  # recorded in manifest.json
            status = COMMANDS[args.command](args)
            sys.stdout.flush()  # a closed pipe fails here, inside the handlers below
        if terminated and status == EXIT_INTERRUPTED:  # a command that reported it (sweep)
            return EXIT_TERMINATED
        return status
    except InputError as error:
        print(error, file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        what = "terminated (SIGTERM)" if terminated else "interrupted"
        print(
            f"\n{what} after {time.perf_counter() - started:.1f} s; no results were written",
            file=sys.stderr,
        )
        return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
    except BrokenPipeError:  # stdout closed early (`sim params ... | head`): not an error to report
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush does not fail
        return EXIT_FAILURE
    except Exception as error:  # the one place that turns failures into an exit status
        print(f"sim: error: {type(error).__name__}: {error}", file=sys.stderr)
        if os.environ.get("SIM_DEBUG"):
            raise
        return EXIT_FAILURE
