"""Bad policies and names in a scenario file: every problem at its file, line and key, with a
did-you-mean hint, and exit status 2 (nothing runs)."""

from __future__ import annotations

from pathlib import Path

import pytest

import sim
from sim.errors import InputError
from sim.model.standoff.schema import Scenario

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "what-if.yaml"
    path.write_text(f"extends: {BASELINE}\nname: what-if\n{body}")
    return path


def problems(path: Path) -> list[tuple[int, str, str]]:
    with pytest.raises(InputError) as caught:
        sim.load(path)
    return [(p.line, p.path, p.message) for p in caught.value.problems]


def test_unknown_names_are_reported_at_their_keys_with_a_hint(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "policies:\n"
        "  - name: shut\n"  # line 4
        "    day: 80\n"
        "    action: checkpoint\n"
        "    checkpoint: medinikai\n"  # line 7
        "    capacity_fraction: 0.5\n"
        "  - name: shut\n"  # line 9: a second policy of the same name
        "    day: 90\n"
        "    action: compensation\n"
        "    groups: [polish, lithuanain]\n",  # line 12
    )
    found = problems(path)
    assert found == [
        (
            7,
            "policies.0.checkpoint",
            "'medinikai' is not one of the checkpoints (medininkai, salcininkai); "
            "did you mean 'medininkai'?",
        ),
        (9, "policies.1.name", "'shut' names policy 0 too"),
        (
            12,
            "policies.1.groups.1",
            "'lithuanain' is not one of the owner groups (lithuanian, polish); "
            "did you mean 'lithuanian'?",
        ),
    ]


def test_a_misspelt_action_or_key_and_two_triggers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "policies:\n"
        "  - name: a\n"
        "    day: 60\n"
        "    action: compensaton\n"  # line 6
        "  - name: b\n"  # line 7
        "    day: 70\n"
        "    when: {metric: days_since_hold, above: 3}\n"
        "    action: ask_us\n"
        "  - name: c\n"
        "    day: 90\n"
        "    action: set_fee\n"
        "    eur_per_dya: 60\n",  # line 14
    )
    found = problems(path)
    messages = {(line, key): message for line, key, message in found}
    assert "did you mean 'compensation'?" in messages[(6, "policies.0.action")]
    assert messages[(7, "policies.1")] == "give exactly one of `day` and `when`"
    assert "did you mean 'eur_per_day'?" in messages[(14, "policies.2.eur_per_dya")]


def test_built_in_code_the_first_problem_is_raised() -> None:
    data = {
        "name": "x",
        "policies": [
            {
                "name": "p",
                "day": 5,
                "action": "checkpoint",
                "checkpoint": "nowhere",
                "capacity_fraction": 0,
            },
        ],
    }
    with pytest.raises(ValueError, match=r"policies\.0\.checkpoint: 'nowhere' is not one of"):
        Scenario.model_validate(data)


def test_the_command_exits_2_and_runs_nothing(tmp_path: Path, cli) -> None:
    path = write(
        tmp_path,
        "policies:\n"
        "  - {name: p, day: 5, action: checkpoint, checkpoint: nowhere, capacity_fraction: 0}\n",
    )
    out = tmp_path / "out"
    status, _, err = cli("run", path, "-n", "3", "--out", out)
    assert status == 2
    assert f"{path}:4:" in err and "policies.0.checkpoint: 'nowhere' is not one of" in err
    assert not out.exists()


def test_a_condition_that_could_never_hold_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "policies:\n"
        "  - name: never\n"
        "    when: {metric: trucks_on_lots, above: 500, below: 100}\n"  # line 5
        "    action: ask_us\n",
    )
    [(line, key, message)] = problems(path)
    assert (line, key) == (5, "policies.0.when")
    assert "could never hold" in message


def test_a_key_of_the_first_version_says_what_replaced_it(tmp_path: Path) -> None:
    path = write(tmp_path, "us:\n  trucks_probability: 0.3\n")  # line 4
    [(line, key, message)] = problems(path)
    assert (line, key) == (4, "us.trucks_probability")
    assert message.startswith("unknown key 'trucks_probability': removed in the model's second")
    assert "us.trucks_offer_eur" in message and "did you mean" not in message
