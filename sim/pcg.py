"""numpy's seeding of PCG64 from a SeedSequence, compiled (numba), for ``sim.seeding``.

``pcg64_state`` works out the four 64-bit words ``SeedSequence(...).generate_state(4,
np.uint64)`` gives a stream (numpy's algorithm, after M. E. O'Neill's ``seed_seq_fe``: the
entropy words are hashed and mixed into a pool of four 32-bit words, and the pool hashed into the
state); ``first_doubles`` goes on to numpy's ``pcg64_set_seed`` and the first
``Generator.random()`` of each stream (128-bit arithmetic in 64-bit halves). Numpy itself takes
about 8 µs a stream, most of it Python-level set-up; these take well under 1 µs.
``tests/test_seeding.py`` holds both to numpy bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

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


@njit(cache=True, nogil=True)
def pcg64_state(entropy: np.ndarray, key: int, out: np.ndarray) -> None:  # pragma: no cover
    """The four 64-bit words ``SeedSequence(entropy + [key]).generate_state(4, np.uint64)``
    would give, into ``out``; ``entropy`` is the assembled entropy words without the stream key
    (the run's words padded to the pool size, then the replication's)."""
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
        word = np.uint64(0)
        for half in range(2):
            value = pool[(2 * j + half) % _POOL_SIZE] ^ hash_const
            hash_const = np.uint32(hash_const * mult_b)
            value = np.uint32(value * hash_const)
            value ^= value >> shift
            word |= np.uint64(value) << np.uint64(32 * half)
        out[j] = word


# PCG64's 128-bit LCG multiplier (numpy's PCG_DEFAULT_MULTIPLIER_128), as its two halves.
_PCG_MULT_HIGH = 2549297995355413924
_PCG_MULT_LOW = 4865540595714422341


@njit(cache=True)
def _mul_high(a: Any, b: Any) -> Any:  # pragma: no cover - compiled
    """The high 64 bits of the 128-bit product of two uint64s (by 32-bit halves)."""
    low32 = np.uint64(0xFFFFFFFF)
    shift = np.uint64(32)
    a0, a1 = a & low32, a >> shift
    b0, b1 = b & low32, b >> shift
    p00, p01, p10, p11 = a0 * b0, a0 * b1, a1 * b0, a1 * b1
    middle = (p00 >> shift) + (p01 & low32) + (p10 & low32)
    return p11 + (p01 >> shift) + (p10 >> shift) + (middle >> shift)


@njit(cache=True)
def _pcg_step(  # pragma: no cover - compiled
    high: Any, low: Any, inc_high: Any, inc_low: Any
) -> tuple[Any, Any]:
    """One step of PCG64's LCG: state * multiplier + increment, modulo 2**128."""
    mult_high = np.uint64(_PCG_MULT_HIGH)
    mult_low = np.uint64(_PCG_MULT_LOW)
    product_low = low * mult_low
    product_high = _mul_high(low, mult_low) + high * mult_low + low * mult_high
    new_low = product_low + inc_low
    carry = np.uint64(1) if new_low < product_low else np.uint64(0)
    return product_high + inc_high + carry, new_low


@njit(cache=True, nogil=True)
def first_doubles(  # pragma: no cover - compiled
    entropy: np.ndarray, keys: np.ndarray, out: np.ndarray
) -> None:
    """For each stream key, the first ``Generator.random()`` of PCG64 seeded from the child
    SeedSequence with that key: numpy's ``pcg64_set_seed`` (state 0, increment ``2 seq + 1``,
    a step, add the initial state, a step), a step, the XSL-RR output, its top 53 bits."""
    state = np.empty(4, np.uint64)
    one = np.uint64(1)
    for k in range(keys.size):
        pcg64_state(entropy, keys[k], state)
        init_high, init_low, seq_high, seq_low = state[0], state[1], state[2], state[3]
        inc_high = (seq_high << one) | (seq_low >> np.uint64(63))
        inc_low = (seq_low << one) | one
        high, low = _pcg_step(np.uint64(0), np.uint64(0), inc_high, inc_low)
        low_sum = low + init_low
        high = high + init_high + (one if low_sum < low else np.uint64(0))
        high, low = _pcg_step(high, low_sum, inc_high, inc_low)
        high, low = _pcg_step(high, low, inc_high, inc_low)
        rotation = high >> np.uint64(58)
        mixed = high ^ low
        output = (mixed >> rotation) | (mixed << ((np.uint64(64) - rotation) & np.uint64(63)))
        out[k] = float(output >> np.uint64(11)) * (1.0 / 9007199254740992.0)
