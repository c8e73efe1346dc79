"""Exit statuses and the error type for bad user input.

Every problem with a scenario, a sweep or a command-line argument is a :class:`Problem`, printed
as one line ``FILE:LINE:COL: KEY.PATH: message`` (line and column 1-based). A problem about the
document as a whole (malformed YAML, an empty file, a top level that is not a mapping) has an
empty key path, printed as ``(top)``. Overrides given with ``--set`` use the file name ``--set``
and the override's 1-based index as the line (see :mod:`sim.scenario.merging`).

Code that finds bad input raises :class:`InputError` with all the problems it found; the command
line prints ``str(error)`` to stderr and exits with :data:`EXIT_BAD_INPUT`, without a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

EXIT_OK = 0
"""The command did what was asked."""
EXIT_FAILURE = 1
"""Any failure other than bad input."""
EXIT_BAD_INPUT = 2
"""Bad input: a scenario, a sweep or an argument; the problems are on stderr."""

ARGUMENTS = "<command line>"
"""The file name of a problem with an argument (of a command, or of an API call)."""

TOP_PATH = "(top)"
"""How an empty key path (the document as a whole) is printed."""


@dataclass(frozen=True)
class Problem:
    """One problem with user input, at a place in a file.

    ``line`` and ``col`` are 1-based. ``path`` is the dotted key path (list indices as numbers,
    e.g. ``checkpoints.0.capacity``), or ``""`` for the document as a whole.
    """

    file: str
    line: int
    col: int
    path: str
    message: str

    def __str__(self) -> str:
        """``FILE:LINE:COL: KEY.PATH: message`` on one line (newlines in the message are joined)."""
        message = " ".join(part.strip() for part in self.message.splitlines() if part.strip())
        return f"{self.file}:{self.line}:{self.col}: {self.path or TOP_PATH}: {message}"


class InputError(Exception):
    """Bad user input (scenario, sweep, argument): exit status 2."""

    def __init__(self, problems: list[Problem]) -> None:
        """Keep ``problems`` (in the order given) as the error's content."""
        self.problems: list[Problem] = list(problems)
        super().__init__(self.__str__())

    def __str__(self) -> str:
        """The problems, one per line."""
        return "\n".join(str(problem) for problem in self.problems)


class ReplicationError(Exception):
    """A replication failed: ``replication`` is its index, ``message`` what went wrong.

    ``details`` holds the original traceback as text (it survives the trip from a worker).
    """

    def __init__(self, replication: int, message: str, details: str = "") -> None:
        super().__init__(replication, message, details)
        self.replication = replication
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return f"replication {self.replication} failed: {self.message}"


class ModelImportError(Exception):
    """The ``model:`` of a scenario cannot be imported, or is not a callable (bad input)."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the choice closest to ``word`` (difflib, similarity at
    least 0.6), else ``""``: the hint every message about a misspelt name ends with."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ""
