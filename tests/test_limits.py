"""Every size a user controls has a limit (sim.limits): a breach is exit 2 with its position,
found by ``sim validate``; input files are read with a cap, regular files only; a file that is
not YAML is never quoted in a message; extreme distributions are refused without warnings."""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import sim
from sim import limits
from sim.cli import main
from sim.errors import InputError
from sim.scenario.distributions import to_dist

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"


def problems(args: list[str], capsys: pytest.CaptureFixture) -> list[str]:
    """Run the CLI; assert exit 2 and return the problem lines of stderr."""
    assert main(args) == 2
    return capsys.readouterr().err.strip().splitlines()


def scenario(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(f"name: s\n{body}\n")
    return path


# --------------------------------------------------------------------------------------------
# Scenario sizes
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "where", "message"),
    [
        (
            "seed: 9223372036854775808",
            "2:7: seed",
            "Input should be less than or equal to 9223372036854775807",
        ),
        (
            "replications: 1208925819614629174706176",
            "2:15: replications",
            f"Input should be less than or equal to {limits.MAX_REPLICATIONS}",
        ),
        ("horizon_days: .inf", "2:15: horizon_days", "Input should be a finite number"),
        ("horizon_days: .nan", "2:15: horizon_days", "Input should be a finite number"),
        (
            "horizon_days: 1e9",
            "2:15: horizon_days",
            f"Input should be less than or equal to {limits.MAX_HORIZON_DAYS:g}",
        ),
        (
            "fleet: {trucks_in_belarus: 1e308}",
            "2:28: fleet.trucks_in_belarus",
            "1e+308 is too large",
        ),
        (
            "fleet: {trucks_in_belarus: 2000000}",
            "2:28: fleet.trucks_in_belarus",
            f"must lie in [0, {limits.MAX_TRUCKS}], but 2000000 is not",
        ),
        (
            "fleet: {trucks_in_belarus: {dist: lognormal, mean: 2000, sd: 300}}",
            "2:9: fleet.trucks_in_belarus",
            f"must lie in [0, {limits.MAX_TRUCKS}], but lognormal(mean=2000, sd=300) can take",
        ),
        (
            "checkpoints: {a: {lanes: 100000000000000000000, service_days: 0.02}}",
            "2:26: checkpoints.a.lanes",
            f"Input should be less than or equal to {limits.MAX_LANES}",
        ),
        (
            "closure: {max_closures: 10000000000}",
            "2:25: closure.max_closures",
            f"Input should be less than or equal to {limits.MAX_COUNT}",
        ),
        (
            "incidents: {schedule: [{from_day: 0, rate_per_day: 1e300}]}",
            "2:52: incidents.schedule.0.rate_per_day",
            "1e+300 is too large",
        ),
        (
            "incidents: {schedule: [{from_day: 0, rate_per_day: 1000000}]}",
            "2:52: incidents.schedule.0.rate_per_day",
            "must lie in [0, 10000], but 1000000 is not",
        ),
        (
            "detention: {storage_fee_eur_per_day: 1e300}",
            "2:38: detention.storage_fee_eur_per_day",
            "1e+300 is too large: the numbers of this parameter must lie within -1e+15 .. 1e+15",
        ),
    ],
)
def test_scenario_limits(
    tmp_path: Path, capsys: pytest.CaptureFixture, body: str, where: str, message: str
) -> None:
    path = scenario(tmp_path, body)
    errors = problems(["validate", str(path)], capsys)
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"{path}:{where}: {message}"), errors[0]


def test_a_long_name_is_refused_before_any_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(f"name: {'a' * 300}\nreplications: 2\n")
    out = tmp_path / "out"
    for command in (["validate", str(path)], ["run", str(path), "--out", str(out)]):
        assert problems(command, capsys) == [
            f"{path}:1:7: name: String should have at most {limits.MAX_NAME_LENGTH} characters "
            f"(got '{'a' * 57}...')"
        ]
    assert not out.exists()
    path.write_text(f"name: {'a' * limits.MAX_NAME_LENGTH}\nreplications: 2\n")
    assert main(["validate", str(path)]) == 0


def test_seed_and_replications_options_have_the_same_limits(
    capsys: pytest.CaptureFixture,
) -> None:
    """`-n` and `--seed` go through the same schema: too large is exit 2, like in YAML."""
    errors = problems(["validate", str(BASELINE), "--set", "replications=100000000000"], capsys)
    assert errors == [
        f"--set:1:1: replications: Input should be less than or equal to "
        f"{limits.MAX_REPLICATIONS} (got 100000000000)"
    ]
    errors = problems(["run", str(BASELINE), "-n", "1208925819614629174706176"], capsys)
    assert errors == [
        "<command line>:1:1: -n/--replications: must be at most 10,000,000, "
        "got 1,208,925,819,614,629,174,706,176"
    ]
    with pytest.raises(InputError):
        sim.load(BASELINE, overrides=[f"seed={2**63}"])
    assert sim.load(BASELINE, overrides=[f"seed={2**63 - 1}"]).seed == limits.MAX_SEED


# --------------------------------------------------------------------------------------------
# Sweep sizes
# --------------------------------------------------------------------------------------------


def sweep(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(f"name: big\nbase: {BASELINE}\n{body}")
    return path


def test_a_huge_grid_is_refused_without_building_it(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    values = "[" + ", ".join(str(0.01 * i) for i in range(1, 100)) + "]"
    keys = [
        "hold.probability",
        "evacuation.share",
        "release.fee_discount",
        "government.success_probability",
        "carriers.success_probability",
        "us.deal_probability",
        "us.trucks_probability",
    ]
    lines = "".join(f"  {key}: {{values: {values}}}\n" for key in keys)
    path = sweep(tmp_path, f"method: grid\nreplications: 2\nparameters:\n{lines}")
    started = time.perf_counter()
    errors = problems(["validate", str(path)], capsys)
    assert time.perf_counter() - started < 20
    assert errors == [
        f"{path}:5:1: parameters: the design has 93,206,534,790,699 points (the product of the "
        "value counts 99 x 99 x 99 x 99 x 99 x 99 x 99), more than the limit of "
        f"{limits.MAX_SWEEP_POINTS:,}"
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "method: lhs\nsamples: 1208925819614629174706176\n",
            "4:10: samples: Input should be less than or equal to 1000000 "
            "(got 1208925819614629174706176)",
        ),
        (
            "method: sobol\nsamples: 500000\n",
            "4:10: samples: the design has 2,000,000 points (samples 500,000 x (2 + 2)), more "
            "than the limit of 1,000,000",
        ),
        (
            "method: morris\nsamples: 400000\n",
            "4:10: samples: the design has 1,200,000 points (samples 400,000 x (2 + 1)), more "
            "than the limit of 1,000,000",
        ),
        (
            "method: lhs\nsamples: 1000\nreplications: 1208925819614629174706176\n",
            "5:15: replications: Input should be less than or equal to 10000000 "
            "(got 1208925819614629174706176)",
        ),
        (
            "method: lhs\nsamples: 100000\nreplications: 10000\n",
            "5:15: replications: the sweep has 1,000,000,000 runs (100,000 points x 10,000 "
            "replications), more than the limit of 100,000,000",
        ),
    ],
)
def test_sweep_limits(
    tmp_path: Path, capsys: pytest.CaptureFixture, body: str, expected: str
) -> None:
    params = (
        "parameters:\n"
        "  hold.probability: {low: 0.5, high: 1.0}\n"
        "  evacuation.share: {low: 0.1, high: 0.3}\n"
    )
    path = sweep(tmp_path, body + params)
    started = time.perf_counter()
    errors = problems(["validate", str(path)], capsys)
    assert time.perf_counter() - started < 20
    assert errors == [f"{path}:{expected}"]


def test_sweep_name_length_and_infinite_range(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text(
        f"name: {'s' * 101}\nbase: {BASELINE}\nmethod: lhs\nsamples: 4\nparameters:\n"
        "  hold.reaction_delay_days: {low: 0, high: .inf}\n"
    )
    errors = problems(["validate", str(path)], capsys)
    assert errors[0].startswith(f"{path}:1:7: name: String should have at most 100 characters")
    assert errors[1] == (
        f"{path}:6:44: parameters.hold.reaction_delay_days.high: Input should be a finite "
        "number (got inf)"
    )


# --------------------------------------------------------------------------------------------
# Input files
# --------------------------------------------------------------------------------------------


def test_input_files_are_read_with_a_cap(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"# " + b"x" * limits.MAX_INPUT_BYTES + b"\nname: big\n")
    child = tmp_path / "child.yaml"
    child.write_text("extends: big.yaml\nname: child\n")
    assert problems(["validate", str(big)], capsys) == [
        f"{big}:1:1: (top): cannot read file: the file is larger than 10 MiB"
    ]
    assert problems(["validate", str(child)], capsys) == [
        f"{child}:1:10: extends: cannot read extended file '{tmp_path}/big.yaml': the file is "
        "larger than 10 MiB"
    ]


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_devices_are_not_read(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    started = time.perf_counter()
    assert problems(["run", "/dev/zero", "--out", str(tmp_path)], capsys) == [
        "/dev/zero:1:1: (top): cannot read file: not a regular file (a character device)"
    ]
    child = scenario(tmp_path, "extends: /dev/zero")
    assert problems(["validate", str(child)], capsys) == [
        f"{child}:2:10: extends: cannot read extended file '/dev/zero': not a regular file "
        "(a character device)"
    ]
    assert time.perf_counter() - started < 10


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_refused_without_waiting(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    child = tmp_path / "child.yaml"
    child.write_text("name: c\nextends: pipe.yaml\n")
    started = time.perf_counter()
    assert problems(["validate", str(child)], capsys) == [
        f"{child}:2:10: extends: cannot read extended file '{tmp_path}/pipe.yaml': not a "
        "regular file (a FIFO)"
    ]
    assert problems(["validate", str(fifo)], capsys) == [
        f"{fifo}:1:1: (top): cannot read file: not a regular file (a FIFO)"
    ]
    assert time.perf_counter() - started < 10


def test_a_file_that_is_not_yaml_is_not_quoted(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    secret = tmp_path / "passwd"
    secret.write_text(
        "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    )
    child = scenario(tmp_path, "extends: passwd")
    errors = problems(["validate", str(child)], capsys)
    assert errors == [
        f"{tmp_path}/passwd:1:1: (top): the top level must be a mapping of keys to values, not "
        "a single value (text)"
    ]
    assert "bin/bash" not in errors[0] and "daemon" not in errors[0]


# --------------------------------------------------------------------------------------------
# Distributions: extreme parameters are refused, without numerical warnings
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        {"dist": "lognormal", "mean": 1e-300, "sd": 1e15},
        {"dist": "lognormal", "mean": 1e15, "sd": 1e-300},
        {"dist": "lognormal", "mu": 30, "sigma": 30},
        {"dist": "gamma", "mean": 1e15, "sd": 1e-300},
        {"dist": "gamma", "mean": 1e-300, "sd": 1e15},
        {"dist": "beta", "a": 1e-300, "b": 1e-300},
        {"dist": "exponential", "rate": 1e-300},
    ],
)
def test_extreme_distributions_are_refused_without_warnings(data: dict[str, object]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="too extreme to compute with"):
            to_dist(data)


def test_inverse_cdf_at_the_ends_gives_no_warning() -> None:
    exponential = to_dist({"dist": "exponential", "mean": 2})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ends = exponential.ppf(np.array([0.0, 1.0]))
        top = exponential.ppf(1.0)
    assert ends.tolist() == [0.0, np.inf] and top == np.inf


def test_scenario_with_extreme_distribution_is_exit_2_without_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = scenario(tmp_path, "retrieval: {cost_eur: {dist: gamma, mean: 1.0e-300, sd: 1000}}")
    errors = problems(["validate", str(path)], capsys)
    assert len(errors) == 1
    assert errors[0].startswith(f"{path}:2:13: retrieval.cost_eur: gamma(mean=1e-300, sd=1000)")
    assert "Warning" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("method", "extra"),
    [
        ("grid", {}),
        ("list", {}),
        ("lhs", {"samples": 5}),
        ("sobol", {"samples": 4}),
        ("sobol", {"samples": 4, "second_order": True}),
        ("morris", {"samples": 3}),
    ],
)
def test_design_points_counts_what_the_design_builds(method: str, extra: dict) -> None:
    """The size checked before building is the size built."""
    from sim.sweeps.design import build_design
    from sim.sweeps.spec import SweepSpec, design_points

    if method in ("grid", "list"):
        parameters: dict = {
            "a": {"values": [1, 2, 3]},
            "b": {"values": [4, 5, 6]},
            "c": {"values": [7, 8, 9]},
        }
    else:
        parameters = {key: {"low": 0, "high": 1} for key in "abc"}
    spec = SweepSpec.model_validate(
        {"name": "n", "base": "b.yaml", "method": method, "parameters": parameters, **extra}
    )
    assert design_points(spec) == build_design(spec).points


def test_check_argument() -> None:
    """The API's counts and seeds: the same limits as in a file, as an InputError."""
    assert limits.check_argument(np.int64(5), "replications", 1, limits.MAX_REPLICATIONS) == 5
    assert type(limits.check_argument(np.int64(5), "seed", 0, limits.MAX_SEED)) is int
    for value, message in [
        (True, "expected a whole number, got true or false (a boolean)"),
        (2.0, "expected a whole number, got 2.0"),
        (0, "must be a whole number in 1 .. 10,000,000, got 0"),
        (10**8, "must be a whole number in 1 .. 10,000,000, got 100,000,000"),
    ]:
        with pytest.raises(InputError) as caught:
            limits.check_argument(value, "replications", 1, limits.MAX_REPLICATIONS)
        assert str(caught.value) == f"<command line>:1:1: replications: {message}"


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_output_folder_is_refused(value: str) -> None:
    from sim.files import output_folder

    with pytest.raises(InputError) as caught:
        output_folder(value)
    assert str(caught.value) == (
        f"<command line>:1:1: --out: expected the folder to write results into, got {value!r} "
        "(for the current folder, write '.')"
    )
    assert output_folder(".") == Path(".") and output_folder(Path("results")) == Path("results")


def test_a_long_unknown_key_is_shortened(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    key = "k" * 200
    path = scenario(tmp_path, f"{key}: 1")
    errors = problems(["validate", str(path)], capsys)
    assert len(errors) == 1
    assert f"unknown key '{'k' * 37}...'" in errors[0]
    message = errors[0].split(": unknown key ", 1)[1]
    assert "k" * 38 not in message  # the key path names it; the message shortens it


def test_user_model_parameters_have_no_size_limit(tmp_path: Path) -> None:
    """Only the built-in model's numbers are capped: a user model may use large constants."""
    tiny = ROOT / "tests" / "models" / "tiny.yaml"
    scenario = sim.load(tiny, overrides=["parameters.b=6.02214076e+23"])
    assert scenario.parameters["b"].mean() == 6.02214076e23


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "  hold.reaction_delay_days: {low: -1.0e+308, high: 1.0e+308}",
            "the range is too wide to compute with (got low=-1e+308, high=1e+308)",
        ),
        (
            "  hold.reaction_delay_days: {low: 0, high: 1.0e+300, integer: true}",
            "an integer range must lie within -2**53 .. 2**53 (got low=0, high=1e+300)",
        ),
    ],
)
def test_sweep_ranges_that_cannot_be_computed(
    tmp_path: Path, capsys: pytest.CaptureFixture, line: str, message: str
) -> None:
    path = sweep(
        tmp_path, "method: lhs\nsamples: 4\nparameters:\n  hold.probability: {low: 0, high: 1}\n"
    )
    path.write_text(path.read_text() + line + "\n")
    assert problems(["validate", str(path)], capsys) == [
        f"{path}:7:3: parameters.hold.reaction_delay_days: {message}"
    ]
