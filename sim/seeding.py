"""Seeding: one SeedSequence per replication, spawned from the scenario seed, and named streams.

Replication ``i`` of a scenario with seed ``S`` owns ``SeedSequence(S, spawn_key=(i,))``, which is
exactly ``SeedSequence(S).spawn(n)[i]``. Each random process of a model draws from its own named
stream, a child of that sequence keyed by a stable hash of the stream's name. Two scenarios run
with the same seed therefore share random numbers wherever they share structure (common random
numbers), and results do not depend on how replications are spread over workers.
"""

from __future__ import annotations

import zlib

import numpy as np


def replication_seed_sequence(seed: int, replication: int) -> np.random.SeedSequence:
    """The SeedSequence that replication ``replication`` of a run seeded ``seed`` owns."""
    return np.random.SeedSequence(seed, spawn_key=(replication,))


def stream_key(name: str) -> int:
    """A stable 32-bit key for a stream name (CRC32: the same on every platform and run)."""
    return zlib.crc32(name.encode("utf-8"))


class Streams:
    """Named random streams of one replication.

    ``streams["incidents"]`` is a ``numpy.random.Generator`` used only by the incident process;
    asking again for the same name returns the same generator.
    """

    __slots__ = ("seed", "replication", "_root", "_generators")

    def __init__(self, seed: int, replication: int) -> None:
        self.seed = seed
        self.replication = replication
        self._root: np.random.SeedSequence | None = None  # made only if asked for (costly)
        self._generators: dict[str, np.random.Generator] = {}

    def _child(self, name: str) -> np.random.SeedSequence:
        """The child of the replication's SeedSequence keyed by ``name``: the same sequence as
        ``SeedSequence(root.entropy, spawn_key=(*root.spawn_key, key))`` without making the
        root (whose entropy is the seed and spawn key ``(replication,)``)."""
        return np.random.SeedSequence(self.seed, spawn_key=(self.replication, stream_key(name)))

    def __getitem__(self, name: str) -> np.random.Generator:
        generator = self._generators.get(name)
        if generator is None:
            generator = np.random.Generator(np.random.PCG64(self._child(name)))
            self._generators[name] = generator
        return generator

    def uniform(self, name: str) -> float:
        """One uniform in [0, 1) keyed by ``name``: the same for this replication and name,
        whatever else is drawn, in whatever order (used for per-replication parameters, keyed
        by their key path, so adding or removing a parameter moves no other draw)."""
        return float(np.random.Generator(np.random.PCG64(self._child(name))).random())

    def root_generator(self) -> np.random.Generator:
        """A generator on the replication's own SeedSequence (for user models with one rng)."""
        if self._root is None:
            self._root = replication_seed_sequence(self.seed, self.replication)
        return np.random.Generator(np.random.PCG64(self._root))
