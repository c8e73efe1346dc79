"""Tests for sim.scenario.dumping: YAML written by dump_yaml reads back as the same data.

Each test runs in its own temporary directory (see tests/scenario_yaml.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from scenario_yaml import write

from sim.scenario.dumping import dump_yaml
from sim.scenario.merging import load_document


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


# --------------------------------------------------------------------------------------------
# dump_yaml
# --------------------------------------------------------------------------------------------


def test_dump_yaml_round_trips() -> None:
    data = {
        "name": "run: 1",
        "zeta": 1,
        "alpha": {"nested": {"x": 1.5, "y": None, "z": True}},
        "days": [1, 2, 3],
        "items": [{"a": 1}, {"b": [1e-7, 1e20]}],
        "text": "line one\nline two\n",
        "looks_like_numbers": ["1e6", "12", "yes", "null", "0.5"],
        "empty": [],
        "none": {},
    }
    text = dump_yaml(data, header="resolved scenario\n\nengine 0.1.0")
    assert text.startswith("# resolved scenario\n#\n# engine 0.1.0\nname: 'run: 1'\nzeta: 1\n")
    assert "days: [1, 2, 3]\n" in text
    assert "  nested:\n" in text  # block style
    doc = load_document(write("out.yaml", text))
    assert doc.data == data
    assert list(doc.data) == list(data)  # insertion order kept
