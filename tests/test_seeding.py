"""Streams are numpy's own generators, seeded exactly as numpy's SeedSequence seeds them.

``sim.seeding`` works out the PCG64 state words with a compiled copy of numpy's SeedSequence
algorithm, so these tests hold it to numpy bit for bit, over seeds and replication indices of
every width (one to several 32-bit words), and check what a user may ask of a stream's seed.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from sim.seeding import Streams, replication_seed_sequence, stream_key


def reference(seed: int, replication: int, name: str) -> np.random.Generator:
    """The generator the documented scheme defines, made by numpy alone."""
    child = np.random.SeedSequence(seed, spawn_key=(replication, zlib.crc32(name.encode())))
    return np.random.Generator(np.random.PCG64(child))


def widths(rng: np.random.Generator, count: int) -> list[int]:
    """Non-negative ints of one to five 32-bit words, and the edge values."""
    values = [0, 1, 2**32 - 1, 2**32, 2**64 - 1, 2**64, 2**96 + 7, 2**160 + 3]
    for _ in range(count):
        words = int(rng.integers(1, 6))
        values.append(int.from_bytes(rng.bytes(4 * words), "little") >> int(rng.integers(0, 32)))
    return values


def test_every_stream_is_numpys_generator_for_the_same_seed_sequence() -> None:
    rng = np.random.default_rng(20261204)
    seeds = widths(rng, 60)
    replications = widths(rng, 60)
    names = ["fleet", "world/fleet.trucks_in_belarus", "policy/ask the US", "ü", ""]
    checked = 0
    for index, seed in enumerate(seeds):
        for replication in replications[index : index + 8]:
            streams = Streams(seed, replication)
            for name in names:
                mine = streams[name].random(4)
                theirs = reference(seed, replication, name).random(4)
                assert np.array_equal(mine, theirs), (seed, replication, name)
                checked += 1
    assert checked > 2000


def test_uniform_is_the_first_random_of_the_stream() -> None:
    rng = np.random.default_rng(7)
    for seed, replication in zip(widths(rng, 40), widths(rng, 40), strict=False):
        streams = Streams(seed, replication)
        for name in ("world/a", "world/b.c"):
            assert streams.uniform(name) == reference(seed, replication, name).random()
            assert streams.uniform(name) == Streams(seed, replication)[name].random()


def test_numpy_integer_seeds_and_indices_give_the_same_streams() -> None:
    a = Streams(np.int64(12), np.uint32(3))["x"].random(3)  # type: ignore[arg-type]
    b = Streams(12, 3)["x"].random(3)
    assert np.array_equal(a, b)


def test_the_same_name_gives_the_same_generator_and_names_differ() -> None:
    streams = Streams(1, 0)
    assert streams["fleet"] is streams["fleet"]
    assert streams["fleet"].random() != streams["hold"].random()
    assert stream_key("fleet") == zlib.crc32(b"fleet")


def test_a_streams_seed_answers_as_the_real_seed_sequence() -> None:
    """Spawning from a stream, or asking its seed for other state sizes, gives what numpy's
    SeedSequence gives (the fast seed hands these to it)."""
    streams = Streams(5, 9)
    real = np.random.SeedSequence(5, spawn_key=(9, stream_key("fleet")))
    bit_generator = streams["fleet"].bit_generator
    seed_seq = bit_generator.seed_seq
    assert np.array_equal(seed_seq.generate_state(8), real.generate_state(8))
    assert np.array_equal(seed_seq.generate_state(4, np.uint64), real.generate_state(4, np.uint64))
    child = streams["fleet"].spawn(2)[1].random(3)
    assert np.array_equal(child, np.random.default_rng(real.spawn(2)[1]).random(3))


def test_a_negative_seed_is_refused_as_numpy_refuses_it() -> None:
    with pytest.raises(ValueError):
        Streams(-1, 0)["x"]


def test_the_root_generator_is_the_replications_seed_sequence() -> None:
    mine = Streams(3, 4).root_generator().random(3)
    theirs = np.random.default_rng(replication_seed_sequence(3, 4)).random(3)
    assert np.array_equal(mine, theirs)
    assert np.array_equal(
        theirs, np.random.default_rng(np.random.SeedSequence(3).spawn(5)[4]).random(3)
    )


def test_uniforms_are_the_uniforms_one_by_one() -> None:
    """The compiled batch (seeding, PCG64's set-up and first step) gives numpy's first
    ``random()`` of each stream, for seeds and indices of every width."""
    rng = np.random.default_rng(11)
    names = [f"world/p{k}" for k in range(7)] + ["ü"]
    for seed, replication in zip(widths(rng, 150), widths(rng, 150), strict=False):
        streams = Streams(seed, replication)
        expected = [reference(seed, replication, name).random() for name in names]
        assert streams.uniforms(names) == expected, (seed, replication)
    assert Streams(1, 2).uniforms([]) == []
    assert Streams(np.int64(3), 4).uniforms(["a"]) == [Streams(3, 4).uniform("a")]  # type: ignore[arg-type]


def test_a_streams_seed_has_the_seed_sequences_attributes() -> None:
    seed_seq = Streams(5, 9)["fleet"].bit_generator.seed_seq
    assert seed_seq.entropy == 5
    assert seed_seq.spawn_key == (9, stream_key("fleet"))
    assert seed_seq.n_children_spawned == 0
