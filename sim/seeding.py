"""Seeding: one SeedSequence per replication, spawned from the scenario seed, and named streams.

Replication ``i`` of a scenario with seed ``S`` owns ``SeedSequence(S, spawn_key=(i,))``, which is
exactly ``SeedSequence(S).spawn(n)[i]``. Each random process of a model draws from its own named
stream, a child of that sequence keyed by a stable hash of the stream's name. Two scenarios run
with the same seed therefore share random numbers wherever they share structure (common random
numbers), and results do not depend on how replications are spread over workers.

A replication makes about twenty streams and draws a dozen per-replication parameters, and
numpy takes about 8 µs to seed each (most of it in ``SeedSequence``'s Python-level set-up and
``generate_state``). The streams here are numpy's own ``PCG64`` generators in exactly the state
numpy's ``SeedSequence`` would give them, worked out by a compiled copy of numpy's algorithm
(``sim.pcg``), which ``tests/test_seeding.py`` holds to numpy's own bit for bit: a stream costs
about 3 µs, a per-replication uniform (``uniforms``) well under 1 µs.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
from numpy.random.bit_generator import ISpawnableSeedSequence

_POOL_SIZE = 4  # numpy's DEFAULT_POOL_SIZE
_MASK32 = 0xFFFFFFFF


def replication_seed_sequence(seed: int, replication: int) -> np.random.SeedSequence:
    """The SeedSequence that replication ``replication`` of a run seeded ``seed`` owns."""
    return np.random.SeedSequence(seed, spawn_key=(replication,))


def stream_key(name: str) -> int:
    """A stable 32-bit key for a stream name (CRC32: the same on every platform and run)."""
    return zlib.crc32(name.encode("utf-8"))


def _words(value: int) -> list[int]:
    """``value`` as little-endian 32-bit words, as numpy's SeedSequence reads an int."""
    if value == 0:
        return [0]
    words = []
    while value:
        words.append(value & _MASK32)
        value >>= 32
    return words


def _pcg() -> Any:
    """``sim.pcg``, the compiled seeding (imported when a stream is first made: numba is
    imported then, so commands that run no model do not pay for it)."""
    from sim import pcg

    return pcg


class _StreamSeed(ISpawnableSeedSequence):
    """What a stream's ``PCG64`` is seeded from: the state words numpy's
    ``SeedSequence(seed, spawn_key=(replication, key))`` would generate, worked out already.
    Anything else asked of it (other state sizes, ``spawn``) goes to that real SeedSequence."""

    __slots__ = ("_state", "_entropy", "_spawn_key", "_real")

    def __init__(self, state: np.ndarray, entropy: int, spawn_key: tuple[int, ...]) -> None:
        self._state = state
        self._entropy = entropy
        self._spawn_key = spawn_key
        self._real: np.random.SeedSequence | None = None

    def real(self) -> np.random.SeedSequence:
        if self._real is None:
            self._real = np.random.SeedSequence(self._entropy, spawn_key=self._spawn_key)
        return self._real

    def generate_state(self, n_words: int, dtype: Any = np.uint32) -> np.ndarray:
        if n_words == 4 and np.dtype(dtype) == np.uint64 and self._real is None:
            return self._state.copy()
        return self.real().generate_state(n_words, dtype)

    def spawn(self, n_children: int) -> Any:  # numpy's stub says list[Self]; they are real
        return self.real().spawn(n_children)

    def __getattr__(self, name: str) -> Any:  # entropy, spawn_key, pool, n_children_spawned
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.real(), name)


class Streams:
    """Named random streams of one replication.

    ``streams["incidents"]`` is a ``numpy.random.Generator`` used only by the incident process;
    asking again for the same name returns the same generator. It is ``PCG64`` seeded by
    ``SeedSequence(seed, spawn_key=(replication, stream_key(name)))``.
    """

    __slots__ = ("seed", "replication", "_root", "_generators", "_entropy")

    def __init__(self, seed: int, replication: int) -> None:
        self.seed = seed
        self.replication = replication
        self._root: np.random.SeedSequence | None = None  # made only if asked for (costly)
        self._generators: dict[str, np.random.Generator] = {}
        # The entropy words numpy's SeedSequence assembles for a child of this replication,
        # without the stream's key: the seed's words padded to the pool size, then the
        # replication's. None if the seed is not a plain non-negative int (numpy decides).
        self._entropy: np.ndarray | None = None
        if isinstance(seed, int | np.integer) and isinstance(replication, int | np.integer):
            if seed >= 0 and replication >= 0:
                run = _words(int(seed))
                run += [0] * (_POOL_SIZE - len(run))
                self._entropy = np.array(run + _words(int(replication)), dtype=np.uint32)

    def _bit_generator(self, name: str) -> np.random.PCG64:
        """The PCG64 of the child of the replication's SeedSequence keyed by ``name``."""
        key = stream_key(name)
        spawn_key = (self.replication, key)
        if self._entropy is None:
            return np.random.PCG64(np.random.SeedSequence(self.seed, spawn_key=spawn_key))
        state = np.empty(4, dtype=np.uint64)
        _pcg().pcg64_state(self._entropy, key, state)
        seed_seq: Any = _StreamSeed(state, self.seed, spawn_key)  # numpy takes any ISeedSequence
        return np.random.PCG64(seed_seq)

    def __getitem__(self, name: str) -> np.random.Generator:
        generator = self._generators.get(name)
        if generator is None:
            generator = np.random.Generator(self._bit_generator(name))
            self._generators[name] = generator
        return generator

    def uniform(self, name: str) -> float:
        """One uniform in [0, 1) keyed by ``name``: the same for this replication and name,
        whatever else is drawn, in whatever order (used for per-replication parameters, keyed
        by their key path, so adding or removing a parameter moves no other draw). It is the
        first ``random()`` of the generator ``streams[name]`` would be."""
        return self.uniforms([name])[0]

    def uniforms(self, names: list[str]) -> list[float]:
        """``uniform`` of each of ``names``, worked out in one compiled call."""
        if self._entropy is None:  # a seed numpy must read itself
            return [
                float(np.random.Generator(self._bit_generator(name)).random()) for name in names
            ]
        keys = np.array([stream_key(name) for name in names], dtype=np.int64)
        out = np.empty(len(names))
        _pcg().first_doubles(self._entropy, keys, out)
        return out.tolist()

    def root_generator(self) -> np.random.Generator:
        """A generator on the replication's own SeedSequence (for user models with one rng)."""
        if self._root is None:
            self._root = replication_seed_sequence(self.seed, self.replication)
        return np.random.Generator(np.random.PCG64(self._root))
