"""User models: ``model: module:attribute`` in a scenario names a Python callable.

The example models and scenarios are in ``tests/models/``. Most tests call :func:`sim.cli.main`
in-process; those about imports from the scenario's own folder, worker processes and exit
statuses also start ``python -m sim`` as a real process.
"""

from __future__ import annotations

import math
import pickle
import shutil
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import Cli, SimProcess

from sim.errors import InputError
from sim.model import build_model, load_scenario
from sim.model.user import ModelImportError, UserModel
from sim.scenario import UserScenario
from sim.scenario.distributions import Uniform
from sim.seeding import Streams

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "tests" / "models"
sys.path.insert(0, str(MODELS))
import ishigami  # noqa: E402  (tests/models/ishigami.py: exact moments of the function)

sys.path.remove(str(MODELS))

PI = math.pi


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Each test runs in its own folder; sys.path and the modules of its own folder (which the
    loader imports into this process) are restored afterwards."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SIM_DEBUG", raising=False)
    saved_path = list(sys.path)
    saved_modules = set(sys.modules)
    yield
    sys.path[:] = saved_path
    roots = (str(tmp_path.resolve()), str(MODELS))
    for name in set(sys.modules) - saved_modules:
        file = getattr(sys.modules[name], "__file__", None) or ""
        if file.startswith(roots):
            del sys.modules[name]


def write(name: str, text: str) -> Path:
    """Write ``text`` (dedented) to ``name`` under the current folder; return the path."""
    path = Path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def runs(folder: str | Path) -> pd.DataFrame:
    return pd.read_parquet(Path(folder) / "runs.parquet")


ECHO = """
    name: echo
    model: tiny:echo
    model_dir: {models}
    seed: 5
    replications: 400
    parameters:
      p: {{dist: uniform, low: 2, high: 5}}
      c: 0.1
      k: 3
      z: {{dist: normal, mean: 10, sd: 2}}
"""


def echo_scenario(**changes: str) -> Path:
    text = textwrap.dedent(ECHO).format(models=MODELS)
    for key, value in changes.items():
        text = text.replace(f"  {key}: ", f"  {key}: {value}  # was: ", 1)
    return write("echo.yaml", text)


# --------------------------------------------------------------------------------------------
# Runs
# --------------------------------------------------------------------------------------------


def test_ishigami_run_writes_the_outputs_and_matches_the_exact_moments(
    cli: Cli,
) -> None:
    status, out, err = cli("run", MODELS / "ishigami.yaml", "--workers", "2", "--out", "o")
    assert status == 0, err
    assert "wrote o/ishigami/" in err
    assert "y" in out.split()  # the summary table
    folder = Path("o/ishigami")
    assert {p.name for p in folder.iterdir()} == {
        "runs.parquet",
        "summary.json",
        "timeseries.parquet",
        "scenario.resolved.yaml",
        "manifest.json",
    }
    table = runs(folder)
    assert list(table.columns) == ["replication", "seed", "y"]
    assert table["replication"].tolist() == list(range(2000))
    assert (table["seed"] == 1).all()
    assert table["y"].dtype == np.float64
    # Mean a/2 = 3.5 and the exact variance: within 4 standard errors (2,000 replications).
    y = table["y"].to_numpy()
    n = len(y)
    assert abs(y.mean() - ishigami.mean()) < 4 * math.sqrt(ishigami.variance() / n)
    # The variance of a sample variance is (mu4 - sigma^4) / n; mu4 < 5 sigma^4 here.
    assert abs(y.var() / ishigami.variance() - 1) < 4 * math.sqrt(4 / n)
    assert y.min() >= -1 - 0.1 * PI**4 and y.max() <= 1 + 7 + 0.1 * PI**4


def test_same_runs_whatever_the_workers(cli: Cli) -> None:
    tables = {}
    for scenario in ("tiny.yaml", "noisy-ishigami.yaml"):
        for workers in (1, 2):
            out = f"w{workers}"
            status, _, err = cli(
                "run", MODELS / scenario, "-n", "300", "--workers", workers, "--quiet",
                "--out", out,
            )  # fmt: skip
            assert status == 0, err
            name = scenario.removesuffix(".yaml")
            tables[scenario, workers] = pq.read_table(Path(out) / name / "runs.parquet")
        assert tables[scenario, 1].num_rows == 300
        assert tables[scenario, 1].equals(tables[scenario, 2])
    assert tables["tiny.yaml", 1].column_names == ["replication", "seed", "total", "noisy"]
    assert tables["noisy-ishigami.yaml", 1].column_names == ["replication", "seed", "y"]


def test_dask_workers_import_the_model_themselves(cli: Cli) -> None:
    pytest.importorskip("distributed")
    for executor in ("local", "dask"):
        status, _, err = cli(
            "run", MODELS / "tiny.yaml", "-n", "120", "--workers", "2",
            "--executor", executor, "--quiet", "--out", executor,
        )  # fmt: skip
        assert status == 0, err
    assert pq.read_table("dask/tiny/runs.parquet").equals(pq.read_table("local/tiny/runs.parquet"))


def test_parameters_are_drawn_once_per_replication_by_inverse_cdf(
    cli: Cli,
) -> None:
    status, _, err = cli("run", echo_scenario(), "--quiet", "--out", "o")
    assert status == 0, err
    table = runs("o/echo")
    assert list(table.columns) == ["replication", "seed", "p", "c", "k", "z", "r"]
    p = table["p"].to_numpy()
    # uniform(2, 5): in range, mean 3.5 within 4 standard errors (sd 3/sqrt(12), n = 400)
    assert p.min() >= 2 and p.max() <= 5
    assert abs(p.mean() - 3.5) < 4 * (3 / math.sqrt(12)) / math.sqrt(400)
    assert len(np.unique(p)) == 400  # a fresh draw in every replication
    z = table["z"].to_numpy()
    assert abs(z.mean() - 10) < 4 * 2 / math.sqrt(400)
    # Constants are passed exactly, as floats.
    assert (table["c"] == 0.1).all() and (table["k"] == 3.0).all()
    # One uniform per parameter, keyed by its name, through ppf; the function's rng is the
    # `model` stream.
    for i in (0, 1, 399):
        streams = Streams(5, i)
        u_p = streams.uniform("world/parameters.p")
        u_z = streams.uniform("world/parameters.z")
        assert table.loc[i, "p"] == 2 + 3 * u_p
        assert table.loc[i, "z"] == pytest.approx(10 + 2 * float(_norm_ppf(u_z)), rel=1e-12)
        assert table.loc[i, "r"] == streams["model"].random()


def _norm_ppf(u: float) -> float:
    from scipy import stats

    return float(stats.norm.ppf(u))


def test_changing_one_distribution_leaves_the_other_draws_alone(
    cli: Cli,
) -> None:
    cli("run", echo_scenario(), "-n", "50", "--quiet", "--out", "a")
    status, _, err = cli(
        "run", echo_scenario(), "-n", "50", "--quiet", "--out", "b",
        "--set", "parameters.p={dist: triangular, low: 0, mode: 1, high: 4}",
    )  # fmt: skip
    assert status == 0, err
    a, b = runs("a/echo"), runs("b/echo")
    assert (a["p"] != b["p"]).all()
    for column in ("c", "k", "z", "r"):
        assert a[column].equals(b[column]), column


def test_noise_is_the_only_difference_from_the_plain_function(
    cli: Cli,
) -> None:
    """Same seed: x1..x3 are the first uniforms of `world` in both, so the difference is noise."""
    for scenario in ("ishigami.yaml", "noisy-ishigami.yaml"):
        status, _, err = cli("run", MODELS / scenario, "-n", "1000", "--quiet", "--out", "o")
        assert status == 0, err
    noise = runs("o/noisy-ishigami")["y"] - runs("o/ishigami")["y"]
    assert abs(noise.mean()) < 4 * 0.5 / math.sqrt(1000)
    assert abs(noise.std() / 0.5 - 1) < 4 / math.sqrt(2 * 1000)


def test_outputs_null_and_nan_are_nulls(cli: Cli) -> None:
    write(
        "nulls.py",
        """
        import math

        def f(parameters, rng):
            u = rng.random()
            return {"y": None if u < 0.3 else math.nan if u < 0.5 else u}
        """,
    )
    write("nulls.yaml", "name: nulls\nmodel: nulls:f\noutputs: [y]\n")
    status, out, err = cli("run", "nulls.yaml", "-n", "200", "--out", "o")
    assert status == 0, err
    y = runs("o/nulls")["y"]
    assert 0.35 < y.isna().mean() < 0.65
    assert (y.dropna() >= 0.5).all()
    assert "null" in out


def test_resolved_scenario_reproduces_the_run_from_anywhere(
    cli: Cli, sim_process: SimProcess, tmp_path: Path
) -> None:
    shutil.copy(MODELS / "tiny.py", "tinymodel.py")
    write(
        "proj/tiny.yaml",
        """
        name: tiny2
        model: tinymodel:two_outputs
        model_dir: ..
        parameters: {a: {dist: uniform, low: 0, high: 1}, b: 2}
        """,
    )
    status, _, err = cli("run", "proj/tiny.yaml", "-n", "40", "--quiet", "--out", "first")
    assert status == 0, err
    resolved = Path("first/tiny2/scenario.resolved.yaml")
    data = yaml.safe_load(resolved.read_text())
    assert data["model"] == "tinymodel:two_outputs"
    assert data["model_dir"] == str(tmp_path.resolve())  # relative to the file that set it
    assert data["engine_version"]
    done = sim_process(
        "run", "tiny2/scenario.resolved.yaml", "--quiet", "--out", "../second",
        cwd=tmp_path / "first",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert pq.read_table("second/tiny2/runs.parquet").equals(
        pq.read_table("first/tiny2/runs.parquet")
    )


def test_model_in_the_scenario_folder_works_from_another_folder(
    sim_process: SimProcess, tmp_path: Path
) -> None:
    """A real process, so nothing is importable but the project and the scenario's folder; two
    workers, so the workers import the model themselves."""
    write(
        "project/mymodel.py",
        """
        import helper

        def simulate(parameters, rng):
            return {"y": helper.twice(parameters["x"]) + rng.normal()}
        """,
    )
    write("project/helper.py", "def twice(x):\n    return 2 * x\n")
    write(
        "project/scenario.yaml",
        """
        name: mine
        model: mymodel:simulate
        parameters:
          x: {dist: uniform, low: 0, high: 1}
        """,
    )
    Path("elsewhere").mkdir()
    done = sim_process(
        "run", "../project/scenario.yaml", "-n", "50", "--workers", "2", "--quiet", "--out", "o",
        cwd=tmp_path / "elsewhere",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    table = runs("elsewhere/o/mine")
    assert list(table.columns) == ["replication", "seed", "y"] and len(table) == 50
    done = sim_process("validate", "project/scenario.yaml")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == "project/scenario.yaml: ok (scenario 'mine', 1000 replications)\n"


def test_same_module_name_in_two_folders(cli: Cli) -> None:
    """In one process, each scenario gets the module of its own folder."""
    for folder, value in (("one", 1), ("two", 2)):
        write(f"{folder}/model.py", f"def f(parameters, rng):\n    return {{'y': {value}}}\n")
        write(f"{folder}/s.yaml", f"name: s{folder}\nmodel: model:f\nreplications: 3\n")
    for folder in ("one", "two", "one"):
        status, _, err = cli("run", f"{folder}/s.yaml", "--quiet", "--out", folder)
        assert status == 0, err
    assert runs("one/sone")["y"].tolist() == [1.0] * 3
    assert runs("two/stwo")["y"].tolist() == [2.0] * 3


# --------------------------------------------------------------------------------------------
# The model object
# --------------------------------------------------------------------------------------------


def test_user_model_pickles_without_its_function() -> None:
    scenario, _ = load_scenario(MODELS / "tiny.yaml")
    assert isinstance(scenario, UserScenario)
    model = build_model(scenario, MODELS)
    assert isinstance(model, UserModel)
    assert [spec.name for spec in model.outcome_specs()] == ["total", "noisy"]
    assert all(spec.kind == "float" for spec in model.outcome_specs())
    assert model.series_names() == []
    # The imported function is not part of the state: even an unpicklable one does not matter.
    model._function = lambda parameters, rng: {"total": 0.0, "noisy": 0.0}
    copy = pickle.loads(pickle.dumps(model))
    assert copy._function is None
    model._function = None
    streams = Streams(3, 17)
    assert copy.run_replication(streams).outcomes == model.run_replication(Streams(3, 17)).outcomes


def test_build_model_checks_the_import(monkeypatch: pytest.MonkeyPatch) -> None:
    # Other tests of this process may have imported the model folder's modules already.
    monkeypatch.delitem(sys.modules, "tiny", raising=False)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if Path(p) != MODELS])
    uniform = {"dist": "uniform", "low": 0, "high": 1}
    scenario = UserScenario(name="x", model="tiny:echo", parameters={"p": uniform})
    assert isinstance(scenario.parameters["p"], Uniform)
    with pytest.raises(ModelImportError, match="no module named 'tiny' on PYTHONPATH"):
        build_model(scenario)
    assert build_model(scenario, MODELS).outcome_specs()[0].name == "p"
    scenario = UserScenario(name="x", model="tiny:nope")
    with pytest.raises(ModelImportError, match="'tiny' has no attribute 'nope'"):
        build_model(scenario, MODELS)


# --------------------------------------------------------------------------------------------
# Bad input: exit 2 with FILE:LINE:COL: model: message, before anything runs
# --------------------------------------------------------------------------------------------

MY_MODEL = """
    import numpy as np

    A_NUMBER = 3.5

    def good(parameters, rng):
        return {"y": 1.0}
"""


def _import_cases(folder: Path) -> list[tuple[str, str]]:
    """(model value, expected message) for each way the import can fail."""
    return [
        (
            "nosuchmodule:f",
            f"cannot import module 'nosuchmodule': no module named 'nosuchmodule' in {folder} "
            "or on PYTHONPATH",
        ),
        (
            "nosuchpackage.sub:f",
            f"cannot import module 'nosuchpackage.sub': no module named 'nosuchpackage' in "
            f"{folder} or on PYTHONPATH",
        ),
        ("mymodel_x:godo", "'mymodel_x' has no attribute 'godo'; did you mean 'good'?"),
        ("mymodel_x:zzz", "'mymodel_x' has no attribute 'zzz'"),
        ("mymodel_x:good.inner", "'mymodel_x:good' has no attribute 'inner'"),
        (
            "mymodel_x:A_NUMBER",
            "'mymodel_x:A_NUMBER' is a float, not a callable (parameters, rng) -> dict of floats",
        ),
        (
            "broken_x:f",
            "cannot import module 'broken_x': ZeroDivisionError: division by zero",
        ),
        (
            "mymodel_x.good",
            "expected the built-in model 'standoff' or a Python callable written as "
            "'module.path:attribute' (e.g. 'mymodel:simulate'), got 'mymodel_x.good'",
        ),
        (
            "'mymodel_x:'",
            "expected the built-in model 'standoff' or a Python callable written as "
            "'module.path:attribute' (e.g. 'mymodel:simulate'), got 'mymodel_x:'",
        ),
        (
            "'my model:f'",
            "expected the built-in model 'standoff' or a Python callable written as "
            "'module.path:attribute' (e.g. 'mymodel:simulate'), got 'my model:f'",
        ),
        (
            "42",
            "expected the built-in model 'standoff' or a Python callable written as "
            "'module.path:attribute' (e.g. 'mymodel:simulate'), got 42 (int)",
        ),
    ]


@pytest.mark.parametrize("case", range(11))
@pytest.mark.parametrize("command", ["run", "validate"])
def test_import_problems_are_bad_input(cli: Cli, case: int, command: str, tmp_path: Path) -> None:
    write("mymodel_x.py", MY_MODEL)
    write("broken_x.py", "X = 1 / 0\n")
    value, message = _import_cases(tmp_path.resolve())[case]
    write("bad.yaml", f"name: bad\n# a comment\nmodel:   {value}\nparameters: {{a: 1}}\n")
    argv = ["run", "bad.yaml", "--out", "out"] if command == "run" else ["validate", "bad.yaml"]
    status, out, err = cli(*argv)
    assert (status, out, lines(err)) == (2, "", [f"bad.yaml:3:10: model: {message}"])
    assert not Path("out").exists()


def test_import_problem_from_an_override_is_at_the_override(
    cli: Cli,
) -> None:
    status, _, err = cli(
        "run", MODELS / "tiny.yaml", "--set", "seed=3", "--set", "model=tiny:nope",
        "--out", "out",
    )  # fmt: skip
    assert (status, lines(err)) == (2, ["--set:2:1: model: 'tiny' has no attribute 'nope'"])
    assert not Path("out").exists()


def test_missing_model_dir_is_bad_input(cli: Cli) -> None:
    write("s.yaml", "name: s\nmodel: m:f\nmodel_dir: nowhere\n")
    status, _, err = cli("validate", "s.yaml")
    assert (status, lines(err)) == (2, ["s.yaml:3:12: model_dir: no such folder: nowhere"])


def test_bad_input_in_a_real_process_exits_2_without_traceback(
    sim_process: SimProcess, tmp_path: Path
) -> None:
    write("mymodel_x.py", MY_MODEL)
    write("bad.yaml", "name: bad\nmodel: mymodel_x:A_NUMBER\n")
    done = sim_process("run", "bad.yaml", "--out", "out")
    assert done.returncode == 2
    assert done.stdout == "" and "Traceback" not in done.stderr
    assert lines(done.stderr) == [
        "bad.yaml:2:8: model: 'mymodel_x:A_NUMBER' is a float, not a callable "
        "(parameters, rng) -> dict of floats"
    ]
    assert not Path("out").exists()


def test_validate_accepts_good_user_scenarios_and_rejects_bad_ones(
    cli: Cli,
) -> None:
    write("mymodel_x.py", MY_MODEL)
    write(
        "bad.yaml",
        """
        name: bad
        model: mymodel_x:good
        replicatons: 10
        parameters:
          ok: 1
          2x: 3
          p: {dist: uniform, low: 5, high: 1}
          q: {dist: normall, mean: 0, sd: 1}
          s: text
        outputs: [y, seed, y-z]
        """,
    )
    write("dup.yaml", "name: dup\nmodel: mymodel_x:good\noutputs: [y, z, y]\n")
    write("empty.yaml", "name: empty\nmodel: mymodel_x:good\noutputs: []\n")
    status, out, err = cli(
        "validate", MODELS / "ishigami.yaml", "bad.yaml", MODELS / "tiny.yaml",
        "dup.yaml", "empty.yaml",
    )  # fmt: skip
    assert status == 2
    assert out.splitlines() == [
        f"{MODELS / 'ishigami.yaml'}: ok (scenario 'ishigami', 2000 replications)",
        f"{MODELS / 'tiny.yaml'}: ok (scenario 'tiny', 100 replications)",
    ]
    assert lines(err) == [
        "bad.yaml:3:1: replicatons: unknown key 'replicatons'; did you mean 'replications'?",
        "bad.yaml:6:7: parameters.2x: a parameter name '2x' is not allowed: use letters, "
        "digits and '_', not starting with a digit",
        "bad.yaml:7:3: parameters.p: uniform needs low < high (got low=5, high=1)",
        "bad.yaml:8:3: parameters.q: unknown distribution 'normall'; did you mean "
        "'normal'? (known: constant, uniform, triangular, normal, lognormal, gamma, beta, "
        "exponential, poisson, empirical, discrete)",
        "bad.yaml:9:6: parameters.s: expected a number or a distribution mapping with a "
        "`dist:` key, got the string 'text'",
        "bad.yaml:10:14: outputs.1: 'seed' is reserved: every run has the columns replication "
        "and seed",
        "bad.yaml:10:20: outputs.2: an output name 'y-z' is not allowed: use letters, digits "
        "and '_', not starting with a digit",
        "dup.yaml:3:1: outputs: outputs must be distinct (repeated: y)",
        "empty.yaml:3:1: outputs: needs at least one output (or leave `outputs` out to "
        "discover them)",
    ]


def test_standoff_scenarios_are_unchanged() -> None:
    """No `model:` or `model: standoff` is the built-in model, with its own schema."""
    scenario, _ = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    assert type(scenario).__name__ == "Scenario"
    scenario, _ = load_scenario(ROOT / "scenarios" / "baseline.yaml", ["model=standoff"])
    assert type(scenario).__name__ == "Scenario"
    with pytest.raises(InputError, match="parameters: unknown key"):
        load_scenario(ROOT / "scenarios" / "baseline.yaml", ["parameters.x=1"])


# --------------------------------------------------------------------------------------------
# Failures of the model: exit 1, naming the replication; nothing written
# --------------------------------------------------------------------------------------------


def _first_high(seed: int, threshold: float) -> int:
    i = 0
    while Streams(seed, i).uniform("world/parameters.u") <= threshold:
        i += 1
    return i


@pytest.mark.parametrize("workers", ["1", "2"])
def test_exception_in_the_function_fails_the_run_naming_the_replication(
    cli: Cli, workers: str
) -> None:
    write(
        "f.yaml",
        f"""
        name: f
        model: tiny:fails_when_high
        model_dir: {MODELS}
        seed: 9
        parameters:
          u: {{dist: uniform, low: 0, high: 1}}
          threshold: 0.97
        outputs: [y]
        """,
    )
    status, out, err = cli("run", "f.yaml", "-n", "300", "--workers", workers, "--out", "o")
    assert status == 1
    [line] = [line for line in lines(err) if line.startswith("sim: error:")]
    first = _first_high(9, 0.97)
    assert first > 0
    if workers == "1":
        assert line.startswith(
            f"sim: error: ReplicationError: replication {first} failed: ValueError: u = "
        )
    else:
        assert line.startswith("sim: error: ReplicationError: replication ")
        assert "failed: ValueError: u = " in line
    assert line.endswith("is too high")
    assert not Path("o").exists()


RETURNS = [
    "tiny:returns returned a list, not a mapping of output names to numbers",
    "tiny:returns returned 'z', not among the scenario's outputs (y)",
    "tiny:returns returned no 'y'",
    "tiny:returns returned '1.0' (str) for output 'y', not a number",
    "tiny:returns returned True (bool) for output 'y', not a number",
]


@pytest.mark.parametrize("kind", range(len(RETURNS)))
def test_bad_return_values_fail_the_run(cli: Cli, kind: int) -> None:
    scenario = f"name: r\nmodel: tiny:returns\nparameters: {{kind: {kind}}}\noutputs: [y]\n"
    write("r.yaml", scenario + f"model_dir: {MODELS}\n")
    status, _, err = cli("run", "r.yaml", "-n", "5", "--workers", "1", "--out", "o")
    assert status == 1
    assert lines(err)[-1] == (
        f"sim: error: ReplicationError: replication 0 failed: ModelOutputError: {RETURNS[kind]}"
    )
    assert not Path("o").exists()


def test_discovering_the_outputs_runs_replication_zero(cli: Cli) -> None:
    write("d.yaml", f"name: d\nmodel: tiny:fails_always\nmodel_dir: {MODELS}\n")
    status, _, err = cli("run", "d.yaml", "-n", "5", "--out", "o")
    assert status == 1
    assert lines(err)[-1] == (
        "sim: error: ReplicationError: replication 0 failed: ZeroDivisionError: nothing works"
    )
    write("e.yaml", "name: e\nmodel: m:f\n")
    write("m.py", "def f(parameters, rng):\n    return {'ok': 1.0, 'not-a-name': 2.0}\n")
    status, _, err = cli("run", "e.yaml", "-n", "5", "--out", "o")
    assert status == 1
    assert lines(err)[-1] == (
        "sim: error: ReplicationError: replication 0 failed: ModelOutputError: m:f returned "
        "output names 'not-a-name': names must be letters, digits and '_', not starting with "
        "a digit"
    )
    assert not Path("o").exists()


# --------------------------------------------------------------------------------------------
# sim params
# --------------------------------------------------------------------------------------------


def test_params_lists_the_parameters(cli: Cli) -> None:
    status, out, err = cli("params", MODELS / "noisy-ishigami.yaml", "--set", "parameters.sd=0.25")
    assert status == 0, err
    assert out.splitlines()[0].split() == ["parameter", "drawn", "per", "unit", "value"]
    rows = [line.split(maxsplit=2) for line in out.splitlines()]
    uniform = "uniform(low=-3.141592653589793, high=3.141592653589793)"
    assert rows[1:] == [
        ["parameters.x1", "replication", uniform],
        ["parameters.x2", "replication", uniform],
        ["parameters.x3", "replication", uniform],
        ["parameters.a", "replication", "7"],
        ["parameters.b", "replication", "0.1"],
        ["parameters.sd", "replication", "0.25"],
    ]


# --------------------------------------------------------------------------------------------
# Series: an array per name, the same length in every replication
# --------------------------------------------------------------------------------------------


def test_a_user_model_returning_a_series(cli: Cli) -> None:
    """A returned array is a series: not a column of runs.parquet, but per-step bands in
    timeseries.parquet, equal to the bands of the replications' arrays."""
    from sim.results import series_bands
    from sim.runner import run_replications

    write(
        "s.yaml",
        f"""
        name: s
        model: tiny:with_series
        model_dir: {MODELS}
        seed: 5
        parameters:
          a: {{dist: uniform, low: 0, high: 1}}
          b: 2
        """,
    )
    scenario, _ = load_scenario(Path("s.yaml"))
    model = build_model(scenario, Path.cwd())
    assert [spec.name for spec in model.outcome_specs()] == ["total"]
    assert model.series_names() == ["walk"]
    output = run_replications(model, seed=5, replications=40, workers=1, progress=False)
    walks = output.series["walk"]
    assert walks.shape == (40, 6)
    # Each walk starts at its replication's parameter a = total - 2.
    np.testing.assert_allclose(walks[:, 0], output.table.column("total").to_numpy() - 2)
    status, _, _ = cli("run", "s.yaml", "-n", 40, "--workers", 2, "--out", "o")
    assert status == 0
    runs = pq.read_table("o/s/runs.parquet")
    assert runs.column_names == ["replication", "seed", "total"]
    assert runs.equals(output.table)
    bands = pq.read_table("o/s/timeseries.parquet")
    assert set(bands.column("series").to_pylist()) == {"walk"}
    assert bands.column("day").to_pylist() == list(range(6))
    assert bands.equals(series_bands({"walk": walks}))
    np.testing.assert_allclose(bands.column("mean").to_numpy(), walks.mean(axis=0))


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_series_whose_length_varies_fails_its_replication(cli: Cli, workers: str) -> None:
    write("r.yaml", f"name: r\nmodel: tiny:ragged_series\nmodel_dir: {MODELS}\nseed: 1\n")
    lengths = [3 + int(Streams(1, i)["model"].random() < 0.5) for i in range(30)]
    first = next(i for i, n in enumerate(lengths) if n != lengths[0])
    status, _, err = cli("run", "r.yaml", "-n", 30, "--workers", workers, "--out", "o")
    assert status == 1
    [line] = [line for line in lines(err) if line.startswith("sim: error:")]
    assert "failed: ModelOutputError: tiny:ragged_series returned" in line
    assert f"steps for series 'walk', replication 0 returned {lengths[0]}" in line
    if workers == "1":
        assert line.startswith(f"sim: error: ReplicationError: replication {first} failed")
    assert not Path("o").exists()


def test_a_sweep_of_a_model_with_series_keeps_its_numbers(
    cli: Cli,
) -> None:
    write(
        "base.yaml",
        f"name: s\nmodel: tiny:with_series\nmodel_dir: {MODELS}\nparameters: {{a: 0.5, b: 2}}\n",
    )
    write(
        "sweep.yaml",
        """
        name: sw
        base: base.yaml
        method: grid
        replications: 3
        parameters:
          parameters.b: {values: [1.0, 2.0]}
        """,
    )
    status, _, _ = cli("sweep", "sweep.yaml", "--out", "o", "--workers", 1, "--quiet")
    assert status == 0
    runs = pd.read_parquet("o/sw/runs.parquet")
    assert runs["error"].isna().all() and "walk" not in runs.columns
    assert runs["total"].tolist() == [1.5] * 3 + [2.5] * 3
