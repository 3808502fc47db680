# SPDX-License-Identifier: MIT
"""`take(rows)` on shape batches: the same rows as building the batch from the sliced inputs."""

from __future__ import annotations

import numpy as np
import pytest

import fbsim


def _batches(rng, n=7):
    q = rng.normal(size=(n, 4))
    boxes = fbsim.Boxes(rng.uniform(-5, 5, (n, 3)), q, rng.uniform(0.1, 2, (n, 3)))
    spheres = fbsim.Spheres(rng.uniform(-5, 5, (n, 3)), rng.uniform(0, 2, n))
    caps = fbsim.Capsules(
        rng.uniform(-5, 5, (n, 3)), rng.uniform(-5, 5, (n, 3)), rng.uniform(0, 1, n)
    )
    parts = [rng.uniform(-1, 1, (int(rng.integers(1, 6)), 3)) for _ in range(n)]
    return boxes, spheres, caps, fbsim.Hulls(parts), parts, q


def test_take_equals_batch_of_sliced_inputs(rng):
    boxes, spheres, caps, hulls, parts, q = _batches(rng)
    rows = np.array([5, 0, 5, 2])
    b = boxes.take(rows)
    ref = fbsim.Boxes(boxes.centers[rows], q[rows], boxes.half_extents[rows])
    np.testing.assert_array_equal(b.centers, ref.centers)
    np.testing.assert_allclose(b.quats, ref.quats, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(b.half_extents, ref.half_extents)
    np.testing.assert_array_equal(spheres.take(rows).radii, spheres.radii[rows])
    np.testing.assert_array_equal(caps.take(rows).p1, caps.p1[rows])
    h = hulls.take(rows)
    ref_h = fbsim.Hulls([parts[r] for r in rows])
    np.testing.assert_array_equal(h.offsets, ref_h.offsets)
    np.testing.assert_array_equal(h.points, ref_h.points)
    np.testing.assert_array_equal(h.aabbs(), ref_h.aabbs())


def test_take_accepts_masks_and_empty_rows(rng):
    boxes, spheres, caps, hulls, _, _ = _batches(rng)
    mask = np.zeros(len(boxes), dtype=bool)
    mask[[1, 4]] = True
    for batch in (boxes, spheres, caps, hulls):
        assert len(batch.take(mask)) == 2
        empty = batch.take(np.array([], dtype=np.int64))
        assert len(empty) == 0
        assert empty.aabbs().shape == (0, 6)


def test_take_results_are_frozen_and_independent(rng):
    boxes = _batches(rng)[0]
    sub = boxes.take([0, 1])
    with pytest.raises(ValueError, match="read-only"):
        sub.centers[0, 0] = 1.0
    assert not np.shares_memory(sub.centers, boxes.centers)


@pytest.mark.parametrize(
    ("rows", "error"),
    [
        ([7], ValueError),
        ([-1], ValueError),
        ([0.5], TypeError),
        ([[0, 1]], TypeError),
        (np.ones(3, dtype=bool), ValueError),
    ],
)
def test_take_rejects_bad_rows(rng, rows, error):
    for batch in _batches(rng)[:4]:
        with pytest.raises(error, match="rows"):
            batch.take(rows)
