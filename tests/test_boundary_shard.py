# SPDX-License-Identifier: MIT
"""fbsim.shard x every kind of bad input (STYLE.md section 5): a TypeError/ValueError naming
the argument, never a crash, and a Sharding exactly as it was."""

from __future__ import annotations

import numpy as np
import pytest

from fbsim import _core, shard

GOOD_POS = np.random.default_rng(5).uniform(-50, 50, size=(40, 3))
GOOD_W = np.ones(40)

BAD_POSITIONS = [
    ("nan", lambda a: np.where(np.arange(a.size).reshape(a.shape) == 7, np.nan, a), ValueError),
    ("inf", lambda a: np.where(np.arange(a.size).reshape(a.shape) == 0, np.inf, a), ValueError),
    ("huge", lambda a: np.full_like(a, 1e300), ValueError),
    ("over_limit", lambda a: np.full_like(a, 1.5e6), ValueError),
    ("none", lambda _a: None, TypeError),
    ("str", lambda a: np.full(a.shape, "x"), TypeError),
    ("list_of_str", lambda a: [["a", "b", "c"]] * len(a), TypeError),
    ("complex", lambda a: a.astype(complex), TypeError),
    ("bool", lambda a: a > 0, TypeError),
    ("wrong_ndim", lambda a: a.ravel(), ValueError),
    ("wrong_cols", lambda a: a[:, :2], ValueError),
]

BAD_WEIGHTS = [
    ("nan", lambda w: np.where(np.arange(w.size) == 3, np.nan, w), ValueError),
    ("inf", lambda w: np.where(np.arange(w.size) == 3, np.inf, w), ValueError),
    ("negative", lambda w: np.where(np.arange(w.size) == 3, -1.0, w), ValueError),
    ("too_large", lambda w: np.full_like(w, 1e300), ValueError),
    ("str", lambda w: np.full(w.shape, "x"), TypeError),
    ("complex", lambda w: w.astype(complex), TypeError),
    ("bool", lambda w: w > 0, TypeError),
    ("2d", lambda w: w.reshape(-1, 1), ValueError),
    ("short", lambda w: w[:-1], ValueError),
]

BAD_SERVERS = [
    (0, ValueError),
    (-3, ValueError),
    (shard.MAX_SERVERS + 1, ValueError),
    (2.5, TypeError),
    (None, TypeError),
    (True, TypeError),
    ("4", TypeError),
]


@pytest.mark.parametrize("method", ["kd", "hilbert"])
@pytest.mark.parametrize(
    ("make", "exc"), [c[1:] for c in BAD_POSITIONS], ids=[c[0] for c in BAD_POSITIONS]
)
def test_partition_rejects_bad_positions(method, make, exc):
    with pytest.raises(exc, match="positions"):
        shard.partition(make(GOOD_POS), GOOD_W, 4, method=method)
    with pytest.raises(exc, match="positions"):
        shard.shard_report(make(GOOD_POS), GOOD_W, 4)
    with pytest.raises(exc, match="positions"):
        shard.Sharding(make(GOOD_POS), GOOD_W, 4)


@pytest.mark.parametrize("method", ["kd", "hilbert"])
@pytest.mark.parametrize(
    ("make", "exc"), [c[1:] for c in BAD_WEIGHTS], ids=[c[0] for c in BAD_WEIGHTS]
)
def test_partition_rejects_bad_weights(method, make, exc):
    with pytest.raises(exc, match="weights"):
        shard.partition(GOOD_POS, make(GOOD_W), 4, method=method)
    with pytest.raises(exc, match="weights"):
        shard.Sharding(GOOD_POS, make(GOOD_W), 4)


@pytest.mark.parametrize(("k", "exc"), BAD_SERVERS)
def test_partition_rejects_bad_n_servers(k, exc):
    with pytest.raises(exc, match="n_servers"):
        shard.partition(GOOD_POS, GOOD_W, k)
    with pytest.raises(exc, match="n_servers"):
        shard.Sharding(GOOD_POS, GOOD_W, k)


def test_core_kd_partition_rejects_bad_input():
    bad = GOOD_POS.copy()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"positions\[2, 1\]"):
        _core.kd_partition(bad, GOOD_W, 4)
    w = GOOD_W.copy()
    w[3] = -2
    with pytest.raises(ValueError, match=r"weights\[3\]"):
        _core.kd_partition(GOOD_POS, w, 4)
    with pytest.raises(ValueError, match="weights has 39"):
        _core.kd_partition(GOOD_POS, GOOD_W[:-1], 4)
    with pytest.raises(ValueError, match="n_servers"):
        _core.kd_partition(GOOD_POS, GOOD_W, 0)
    with pytest.raises(TypeError, match="n_servers"):
        _core.kd_partition(GOOD_POS, GOOD_W, None)


def test_partition_rejects_bad_method():
    with pytest.raises(ValueError, match="method"):
        shard.partition(GOOD_POS, GOOD_W, 4, method="metis")
    with pytest.raises(TypeError, match="method"):
        shard.partition(GOOD_POS, GOOD_W, 4, method=None)


def test_partition_names_first_bad_weight_index():
    w = GOOD_W.copy()
    w[[5, 9]] = -1
    with pytest.raises(ValueError, match=r"weights\[5\]"):
        shard.partition(GOOD_POS, w, 4)


def test_border_sets_reject_bad_input():
    servers, regions = shard.partition(GOOD_POS, None, 4)
    with pytest.raises(ValueError, match=r"servers\[0\]"):
        shard.border_sets(GOOD_POS, np.r_[7, servers[1:]], regions, 1.0)
    with pytest.raises(ValueError, match=r"servers\[1\]"):
        shard.border_sets(GOOD_POS, np.r_[0, -1, servers[2:]], regions, 1.0)
    with pytest.raises(ValueError, match="servers has"):
        shard.border_sets(GOOD_POS, servers[:-1], regions, 1.0)
    with pytest.raises(TypeError, match="servers"):
        shard.border_sets(GOOD_POS, servers.astype(float), regions, 1.0)
    inv = regions.copy()
    inv[2, 0], inv[2, 3] = 5.0, -5.0
    with pytest.raises(ValueError, match=r"regions\[2\]"):
        shard.border_sets(GOOD_POS, servers, inv, 1.0)
    with pytest.raises(ValueError, match="regions"):
        shard.border_sets(GOOD_POS, servers, regions[:, :5], 1.0)
    for r, exc in [
        (np.nan, ValueError),
        (-1.0, ValueError),
        (np.inf, ValueError),
        (None, TypeError),
        ("1", TypeError),
    ]:
        with pytest.raises(exc, match="radius"):
            shard.border_sets(GOOD_POS, servers, regions, r)
    with pytest.raises(ValueError, match="positions"):
        shard.border_sets(GOOD_POS[:, :2], servers, regions, 1.0)


def test_border_sets_empty():
    offsets, ids = shard.border_sets(np.empty((0, 3)), np.empty(0, np.int64), np.zeros((3, 6)), 1.0)
    np.testing.assert_array_equal(offsets, [0, 0, 0, 0])
    assert ids.dtype == np.int64
    assert ids.shape == (0,)


def _state(sh):
    return (sh.servers, sh.positions, sh.loads, sh.regions, sh.pending, sh.report()["ticks"])


def _assert_same(a, b):
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


BAD_UPDATES = [
    ("unknown_id", lambda: ([1, 2, 99], np.zeros((3, 3))), ValueError, "moved_ids"),
    ("negative_id", lambda: ([-1], np.zeros((1, 3))), ValueError, "moved_ids"),
    ("duplicate_id", lambda: ([4, 5, 4], np.zeros((3, 3))), ValueError, "moved_ids"),
    ("float_ids", lambda: ([1.5], np.zeros((1, 3))), TypeError, "moved_ids"),
    ("none_ids", lambda: (None, np.zeros((1, 3))), TypeError, "moved_ids"),
    (
        "nan_pos",
        lambda: ([1, 2], np.array([[0, 0, 0], [np.nan, 0, 0]])),
        ValueError,
        "new_positions",
    ),
    ("huge_pos", lambda: ([1], np.full((1, 3), 2e6)), ValueError, "new_positions"),
    ("none_pos", lambda: ([1], None), TypeError, "new_positions"),
    ("short_pos", lambda: ([1, 2], np.zeros((1, 3))), ValueError, "new_positions"),
    ("wrong_cols", lambda: ([1], np.zeros((1, 2))), ValueError, "new_positions"),
]


@pytest.mark.parametrize("custom_ids", [False, True])
@pytest.mark.parametrize(
    ("case", "make", "exc", "name"), BAD_UPDATES, ids=[c[0] for c in BAD_UPDATES]
)
def test_sharding_update_rejects_bad_input_and_keeps_state(custom_ids, case, make, exc, name):
    ids = np.arange(40) * 3 + 1 if custom_ids else None
    sh = shard.Sharding(GOOD_POS, GOOD_W, 4, ids=ids, margin=0.5, max_migrations=2)
    # leave some migrations pending so the state is non-trivial
    rows = np.flatnonzero(sh.servers == 0)[:5]
    sh.update(sh.ids[rows], np.full((5, 3), 49.0))
    before = _state(sh)
    moved, pts = make()
    if custom_ids and moved is not None:
        moved = (
            [m * 3 + 1 if m != 99 else 99 * 3 + 1 for m in moved] if case != "float_ids" else moved
        )
    with pytest.raises(exc, match=name):
        sh.update(moved, pts)
    _assert_same(before, _state(sh))


def test_sharding_rejects_bad_parameters():
    with pytest.raises(ValueError, match="ids"):
        shard.Sharding(GOOD_POS, GOOD_W, 4, ids=np.r_[np.arange(39), 3])
    with pytest.raises(ValueError, match="ids has"):
        shard.Sharding(GOOD_POS, GOOD_W, 4, ids=np.arange(39))
    for kw, exc in [
        ({"margin": -1.0}, ValueError),
        ({"margin": np.nan}, ValueError),
        ({"margin": None}, TypeError),
        ({"max_migrations": -1}, ValueError),
        ({"max_migrations": 1.5}, TypeError),
        ({"rebalance_every": -2}, ValueError),
        ({"max_shift": np.inf}, ValueError),
        ({"tolerance": 2.0}, ValueError),
    ]:
        with pytest.raises(exc, match=next(iter(kw))):
            shard.Sharding(GOOD_POS, GOOD_W, 4, **kw)


def test_sharding_empty_world_and_empty_update():
    sh = shard.Sharding(np.empty((0, 3)), None, 3)
    mig = sh.update([], np.empty((0, 3)))
    assert len(mig) == 0
    assert mig.ids.dtype == np.int64
    assert sh.servers.shape == (0,)
    assert sh.regions.shape == (3, 6)
    with pytest.raises(ValueError, match="moved_ids"):
        sh.update([0], np.zeros((1, 3)))


@pytest.mark.parametrize("method", ["kd", "hilbert"])
@pytest.mark.parametrize(
    ("workers", "exc"),
    [
        (0, ValueError),
        (-2, ValueError),
        (1000, ValueError),
        (1.5, TypeError),
        (None, TypeError),
        (True, TypeError),
    ],
)
def test_partition_rejects_bad_workers(method, workers, exc):
    with pytest.raises(exc, match="workers"):
        shard.partition(GOOD_POS, GOOD_W, 4, method=method, workers=workers)


def test_core_entities_outside_regions_rejects_bad_input():
    servers, regions = shard.partition(GOOD_POS, None, 4)
    with pytest.raises(ValueError, match=r"servers\[2\]"):
        _core.entities_outside_regions(GOOD_POS, np.r_[0, 1, 9, servers[3:]], regions, 1.0)
    with pytest.raises(ValueError, match="servers"):
        _core.entities_outside_regions(GOOD_POS, servers[:-1], regions, 1.0)
    with pytest.raises(ValueError, match="margin"):
        _core.entities_outside_regions(GOOD_POS, servers, regions, -1.0)
    with pytest.raises(ValueError, match="regions"):
        _core.entities_outside_regions(GOOD_POS, servers, regions[:, :4], 1.0)
    with pytest.raises(TypeError, match="positions"):
        _core.entities_outside_regions(None, servers, regions, 1.0)
