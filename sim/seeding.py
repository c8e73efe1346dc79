"""Seeding: one SeedSequence per replication, spawned from the scenario seed, and named streams.

Replication ``i`` of a scenario with seed ``S`` owns ``SeedSequence(S, spawn_key=(i,))``, which is
exactly ``SeedSequence(S).spawn(n)[i]``. Each random process of a model draws from its own named
stream, a child of that sequence keyed by a stable hash of the stream's name. Two scenarios run
with the same seed therefore share random numbers wherever they share structure (common random
numbers), and results do not depend on how replications are spread over workers.

A replication makes about twenty streams, and numpy takes about 8 µs to make each one (most of
it in ``SeedSequence``'s Python-level set-up and ``generate_state``). The streams here are
numpy's own ``PCG64`` generators in exactly the state numpy's ``SeedSequence`` would give them:
the state words are worked out by a compiled copy of numpy's ``SeedSequence`` algorithm (mixing
the entropy into a pool of four 32-bit words, then hashing the pool into the state), which
``tests/test_seeding.py`` holds to numpy's own bit for bit. Each stream then costs under 1 µs.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
from numpy.random.bit_generator import ISpawnableSeedSequence

# numpy's SeedSequence constants (numpy/random/bit_generator.pyx, after M. E. O'Neill's
# seed_seq_fe): the hash multipliers of the entropy mixing (A) and of the output (B).
_INIT_A = 0x43B0D7E5
_MULT_A = 0x931E8875
_INIT_B = 0x8B51F9DD
_MULT_B = 0x58F38DED
_MIX_MULT_L = 0xCA01F9DD
_MIX_MULT_R = 0x4973F715
_XSHIFT = 16
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


def _pcg64_state(entropy: np.ndarray, key: int, out: np.ndarray) -> None:  # pragma: no cover
    """The four 64-bit words ``SeedSequence(entropy + [key]).generate_state(4, np.uint64)``
    would give, into ``out``; ``entropy`` is the assembled entropy words without the stream key
    (the run's words padded to the pool size, then the replication's). Compiled on first use."""
    n = entropy.size + 1
    pool = np.empty(_POOL_SIZE, np.uint32)
    mult_a = np.uint32(_MULT_A)
    left = np.uint32(_MIX_MULT_L)
    right = np.uint32(_MIX_MULT_R)
    shift = np.uint32(_XSHIFT)
    hash_const = np.uint32(_INIT_A)
    # mix_entropy: hash the first pool-size words into the pool ...
    for i in range(_POOL_SIZE):
        value = entropy[i] if i < n - 1 else np.uint32(key)
        value ^= hash_const
        hash_const = np.uint32(hash_const * mult_a)
        value = np.uint32(value * hash_const)
        value ^= value >> shift
        pool[i] = value
    # ... mix every pool word into every other ...
    for i_src in range(_POOL_SIZE):
        for i_dst in range(_POOL_SIZE):
            if i_src != i_dst:
                value = pool[i_src] ^ hash_const
                hash_const = np.uint32(hash_const * mult_a)
                value = np.uint32(value * hash_const)
                value ^= value >> shift
                mixed = np.uint32(np.uint32(left * pool[i_dst]) - np.uint32(right * value))
                pool[i_dst] = mixed ^ (mixed >> shift)
    # ... then mix the remaining entropy words into every pool word.
    for i_src in range(_POOL_SIZE, n):
        word = entropy[i_src] if i_src < n - 1 else np.uint32(key)
        for i_dst in range(_POOL_SIZE):
            value = word ^ hash_const
            hash_const = np.uint32(hash_const * mult_a)
            value = np.uint32(value * hash_const)
            value ^= value >> shift
            mixed = np.uint32(np.uint32(left * pool[i_dst]) - np.uint32(right * value))
            pool[i_dst] = mixed ^ (mixed >> shift)
    # generate_state(4, uint64): eight 32-bit words cycling over the pool, paired little-endian.
    mult_b = np.uint32(_MULT_B)
    hash_const = np.uint32(_INIT_B)
    for j in range(4):
        halves = np.empty(2, np.uint64)
        for half in range(2):
            value = pool[(2 * j + half) % _POOL_SIZE] ^ hash_const
            hash_const = np.uint32(hash_const * mult_b)
            value = np.uint32(value * hash_const)
            value ^= value >> shift
            halves[half] = np.uint64(value)
        out[j] = (halves[1] << np.uint64(32)) | halves[0]


_compiled: Any = None


def _kernel() -> Any:
    """The compiled ``_pcg64_state`` (numba is imported only when a stream is first made, so
    commands that run no model do not pay for it; the machine code is cached beside this
    file)."""
    global _compiled
    if _compiled is None:
        from numba import njit

        _compiled = njit(cache=True, nogil=True)(_pcg64_state)
    return _compiled


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
        _kernel()(self._entropy, key, state)
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
        # Generator.random(): the top 53 bits of the next 64-bit output, times 2**-53.
        return float(int(self._bit_generator(name).random_raw()) >> 11) * (1.0 / 9007199254740992.0)

    def root_generator(self) -> np.random.Generator:
        """A generator on the replication's own SeedSequence (for user models with one rng)."""
        if self._root is None:
            self._root = replication_seed_sequence(self.seed, self.replication)
        return np.random.Generator(np.random.PCG64(self._root))
