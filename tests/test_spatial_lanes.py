# SPDX-License-Identifier: MIT
"""SpatialHash.pairs()'s dense cell pass in each of its lane kernels (csrc/src/dense_pairs.cpp):
scalar (what FBSIM_NO_SIMD builds run), SSE2 and AVX2 (picked at run time when the CPU has it).
fbsim._core._force_simd narrows the choice (fbsim::force_simd_level), so every kernel runs
here on any x86-64 CI machine (on one without AVX2 "avx2" runs SSE2; the scalar and SSE2 runs
still cover the shared gather and key logic). Each is checked against brute force
(tests/oracles_broadphase.py, no fbsim code) on scenes that reach every branch of the kernel:
partial and full lane chunks, slices longer than a chunk (up to 32 boxes a cell), pairs the
floats cannot decide (exact fallback), boxes without an id rank yet (inserted after the
ranks were built: the slot path), custom layers (no packed keys at all), tombstones, and the
result cap stopping the pass."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles_broadphase import brute_pairs

import fbsim
from fbsim import _core

MODES = ["scalar", "sse2", "avx2"]


@contextmanager
def simd(level):
    previous = _core._force_simd(level)
    try:
        yield
    finally:
        _core._force_simd(previous)


@pytest.fixture(params=MODES)
def lanes(request):
    with simd(request.param):
        yield request.param


def _boxes(rng, n, side, origin=0.0, lo_h=0.25, hi_h=1.0):
    c = origin + rng.uniform(0.0, side, size=(n, 3))
    h = rng.uniform(lo_h, hi_h, size=(n, 3))
    return np.arange(n, dtype=np.int64) * 7 - 1000, c - h, c + h


def _check(s, ids, lo, hi):
    np.testing.assert_array_equal(s.pairs(), brute_pairs(ids, lo, hi))


@pytest.mark.parametrize("n", [64, 500, 3000])
@pytest.mark.parametrize("overlaps", [0.5, 3.0, 12.0])
@pytest.mark.usefixtures("lanes")
def test_lanes_random_scenes(n, overlaps):
    # Sparse to dense: slices of 0-2 boxes (mostly masked lanes) up to ~10 (two chunks).
    rng = np.random.default_rng(n + int(10 * overlaps))
    side = 2.5 * (n / overlaps) ** (1.0 / 3.0)
    ids, lo, hi = _boxes(rng, n, side, origin=-0.37 * side)
    s = fbsim.SpatialHash()
    s.insert(ids, lo, hi)
    _check(s, ids, lo, hi)


@pytest.mark.usefixtures("lanes")
def test_lanes_far_coordinates():
    rng = np.random.default_rng(3)
    ids, lo, hi = _boxes(rng, 2000, 40.0, origin=99_950.0)
    s = fbsim.SpatialHash()
    s.insert(ids, lo, hi)
    _check(s, ids, lo, hi)


@pytest.mark.usefixtures("lanes")
def test_lanes_touching_lattice_and_ulp_gaps():
    # Unit cubes on a lattice at cell size 1 (every contact exactly on a boundary), then a
    # chain of boxes touching or one double ulp apart at 1e3: the floats cannot decide them.
    g = np.stack(np.meshgrid(*[np.arange(7.0)] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    ids = np.arange(len(g), dtype=np.int64)
    s = fbsim.SpatialHash(cell_size=1.0)
    s.insert(ids, g, g + 1.0)
    _check(s, ids, g, g + 1.0)
    rng = np.random.default_rng(5)
    n = 600
    c = rng.uniform(1000.0, 1020.0, size=(n, 3))
    lo, hi = c - 0.5, c + 0.5
    for k in range(0, n - 1, 2):
        lo[k + 1] = lo[k]
        lo[k + 1, k % 3] = hi[k, k % 3] if k % 4 == 0 else np.nextafter(hi[k, k % 3], np.inf)
        hi[k + 1] = lo[k + 1] + 1.0
    ids = np.arange(n, dtype=np.int64)
    s = fbsim.SpatialHash(cell_size=1.0)
    s.insert(ids, lo, hi)
    _check(s, ids, lo, hi)


def _float_steps(x, k):
    """x (a float32 value) moved k float32 steps up (k < 0: down), as a double."""
    f = np.float32(x)
    for _ in range(abs(k)):
        f = np.nextafter(f, np.float32(np.inf if k > 0 else -np.inf), dtype=np.float32)
    return float(f)


@pytest.mark.usefixtures("lanes")
@pytest.mark.parametrize(
    "x",
    [1.0, 3.0, 1000.25, -7.5, -0.0, 0.0, 99_999.5, -99_999.5, 999_990.0, -999_990.0]
    + [_float_steps(b, 1) for b in (5.0, -5.0, 1000.25)],  # odd float orders
)
def test_lanes_float_step_gaps(x):
    # Facing bounds -1..3 float32 steps apart at x, a coordinate the floats hold exactly (so
    # the outward rounding adds nothing), or doubles a fraction of a float past it, on each axis, with both
    # parities of the float's order, both signs, -0.0 and near the coordinate limit. The AVX2
    # scan compares halved orders (the minimum of (t >> 1) - (v >> 1)): a gap of one float
    # whose two orders share a half passes its loose test and must be rejected exactly; a
    # touch (gap 0) or a 1-float overlap must not be taken as sure without the exact test.
    # Compact around x with a filler lattice, so the level is dense (>= 64 boxes, few cells
    # per box) and goes through the lane pass.
    lo, hi = [], []
    for axis in range(3):
        shifts = [(g, a, b) for g in (-1, 0, 1, 2, 3) for a in (0.0, 0.25) for b in (0.0, 0.5)]
        for c, (gap, a_past, b_past) in enumerate(shifts):
            o = x + 2.0 * np.array([c % 5, c // 5, 0.0])
            o = np.roll(o, axis)  # o[axis] is x
            a_lo, a_hi = o.copy(), o + 1.0
            a_lo[axis] = x - 1.0
            a_hi[axis] = x + a_past * (_float_steps(x, 1) - x)  # a past fraction of a float
            b_lo = o.copy()
            step = _float_steps(x, gap)
            b_lo[axis] = step + b_past * (_float_steps(step, 1) - step)
            lo += [a_lo, b_lo]
            hi += [a_hi, b_lo + 1.0]
    lattice = np.stack(np.meshgrid(*[np.arange(5.0)] * 3, indexing="ij"), -1).reshape(-1, 3)
    filler = x + 2.0 * lattice
    lo, hi = np.concatenate([lo, filler + 0.5]), np.concatenate([hi, filler + 1.25])
    ids = np.arange(len(lo), dtype=np.int64)
    for cell in (None, 1.0):
        s = fbsim.SpatialHash(cell_size=cell)
        s.insert(ids, lo, hi)
        _check(s, ids, lo, hi)


@pytest.mark.parametrize("per_cell", [5, 16, 32])
@pytest.mark.usefixtures("lanes")
def test_lanes_full_cells(per_cell):
    # Cells of up to 32 boxes (the dense pass's limit): blocks of 64 own boxes and slices of
    # several chunks, many of them hits.
    rng = np.random.default_rng(per_cell)
    cells = (
        np.stack(np.meshgrid(*[np.arange(4.0)] * 3, indexing="ij"), axis=-1).reshape(-1, 3) * 2.0
    )
    c = np.repeat(cells, per_cell, axis=0) + rng.uniform(0.0, 2.0, size=(len(cells) * per_cell, 3))
    h = rng.uniform(0.05, 0.9, size=c.shape)
    lo, hi = c - h, c + h
    ids = rng.permutation(10 * len(c))[: len(c)].astype(np.int64)
    s = fbsim.SpatialHash(cell_size=2.0)
    s.insert(ids, lo, hi)
    _check(s, ids, lo, hi)


@pytest.mark.usefixtures("lanes")
def test_lanes_unranked_and_tombstones():
    # Boxes inserted after the ranks were built carry no rank (their pairs go the slot way)
    # until a rebuild; removed ones leave tombstones in the index.
    rng = np.random.default_rng(9)
    ids, lo, hi = _boxes(rng, 2500, 2.5 * (2500 / 3.0) ** (1.0 / 3.0))
    s = fbsim.SpatialHash()
    s.insert(ids, lo, hi)
    s.pairs()  # ranks built
    live = np.ones(len(ids), dtype=bool)
    for step in range(4):
        extra = slice(step * 100, step * 100 + 100)
        s.remove(ids[extra])
        live[extra] = False
        s.insert(ids[extra], lo[extra] + 0.1, hi[extra] + 0.1)
        lo[extra] += 0.1
        hi[extra] += 0.1
        live[extra] = True
        s.buffer_cap = 0  # merged into the main index now
        s.buffer_cap = None
        _check(s, ids[live], lo[live], hi[live])


@pytest.mark.usefixtures("lanes")
def test_lanes_custom_layers():
    # With a custom layer anywhere, pairs come back as slots (no packed keys) and are
    # filtered by layer.
    rng = np.random.default_rng(4)
    ids, lo, hi = _boxes(rng, 1500, 2.5 * (1500 / 3.0) ** (1.0 / 3.0))
    layers = np.where(rng.uniform(size=len(ids)) < 0.5, 1, 2).astype(np.int64)
    masks = np.where(layers == 2, 1, 3).astype(np.int64)  # layer 2 never meets layer 2
    s = fbsim.SpatialHash()
    s.insert(ids, lo, hi, layers=layers, masks=masks)
    np.testing.assert_array_equal(s.pairs(), brute_pairs(ids, lo, hi, layers, masks))


@pytest.mark.usefixtures("lanes")
@pytest.mark.parametrize("line", [False, True])
@pytest.mark.parametrize("layered", [False, True])
def test_lanes_result_cap(line, layered):
    # Also with every box in one row of cells (a line along x): the pass checks the cap
    # within a row, not only between rows; and with a custom layer set (the pass then packs
    # slot pairs, counted against the cap the same way).
    rng = np.random.default_rng(8)
    ids, lo, hi = _boxes(rng, 3000, 2.5 * (3000 / 3.0) ** (1.0 / 3.0))
    if line:
        c = np.zeros((3000, 3))
        c[:, 0] = rng.uniform(0.0, 1500.0, size=3000)
        lo, hi = c - 0.6, c + 0.6
    s = fbsim.SpatialHash()
    layers = np.full(len(ids), 2 if layered else 1, dtype=np.int64)
    s.insert(ids, lo, hi, layers=layers)
    want = brute_pairs(ids, lo, hi)
    s.max_results = len(want)
    np.testing.assert_array_equal(s.pairs(), want)
    s.max_results = len(want) - 1
    with pytest.raises(ValueError, match="max_results"):
        s.pairs()
    s.max_results = len(want)
    np.testing.assert_array_equal(s.pairs(), want)  # nothing kept from the stopped call


def test_lanes_agree_with_each_other():
    rng = np.random.default_rng(12)
    ids, lo, hi = _boxes(rng, 6000, 2.5 * (6000 / 3.0) ** (1.0 / 3.0))
    s = fbsim.SpatialHash()
    s.insert(ids, lo, hi)
    got = {}
    for mode in MODES:
        with simd(mode):
            got[mode] = s.pairs()
    for mode in MODES[1:]:
        np.testing.assert_array_equal(got[mode], got[MODES[0]])
    np.testing.assert_array_equal(got["scalar"], brute_pairs(ids, lo, hi))


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(MODES),
    st.integers(64, 300),
    st.sampled_from([0.5, 1.0, 2.0]),
    st.integers(0, 2**32 - 1),
)
def test_lanes_lattice_property(mode, n, step, seed):
    # Coarse lattice coordinates: exact touches and equal bounds everywhere.
    rng = np.random.default_rng(seed)
    lo = rng.integers(-6, 6, size=(n, 3)).astype(float) * step
    hi = lo + rng.integers(1, 3, size=(n, 3)) * step
    ids = rng.permutation(10 * n)[:n].astype(np.int64)
    s = fbsim.SpatialHash()
    s.insert(ids, lo, hi)
    with simd(mode):
        _check(s, ids, lo, hi)


def _widest():
    with simd("avx2"):  # an override above what the build or CPU has falls back to that
        return _core._simd_level()


def test_simd_level_switch():
    now = _core._simd_level()
    assert now in ("sse2", "avx2", "scalar")
    with simd("scalar"):
        assert _core._simd_level() == "scalar"
        with simd("auto"):
            assert _core._simd_level() == now
        assert _core._simd_level() == "scalar"
    assert _core._simd_level() == now
    with pytest.raises(ValueError, match="level"):
        _core._force_simd("SSE2")


def test_simd_environment_variable():
    # Read once per process (not per call: getenv races with a concurrent setenv).
    widest = _widest()
    for level in ("scalar", "sse2"):
        expect = "scalar" if widest == "scalar" else level
        r = subprocess.run(
            [sys.executable, "-c", "from fbsim import _core; print(_core._simd_level())"],
            env={**os.environ, "FBSIM_SIMD": level},
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        assert r.stdout.strip() == expect
