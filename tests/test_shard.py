# SPDX-License-Identifier: MIT
"""fbsim.shard: balance, exact assignment, hysteresis, migration cap, slow rebalancing and
border sets, checked against analytic bounds and the brute force in oracles_shard.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from oracles_shard import brute_border_sets, clustered_world, point_in_box, rcb_reference

import fbsim
from fbsim import shard

LIM = fbsim.MAX_COORDINATE


def _loads(servers, weights, k):
    return np.bincount(servers, weights=weights, minlength=k)


def _bound(k, max_w, method):
    """Largest |load - mean| the algorithm allows: max_w / 2 per split level (kd), or one
    weight per cut (hilbert: a run loses at most half a weight at each end)."""
    if method == "kd":
        return math.ceil(math.log2(k)) * max_w / 2 + 1e-6 if k > 1 else 1e-6
    return max_w + 1e-6


# ---------------------------------------------------------------- partition: balance
@pytest.mark.parametrize("method", ["kd", "hilbert"])
@pytest.mark.parametrize("world", ["uniform", "clustered", "stacked"])
@pytest.mark.parametrize("k", [2, 3, 7, 64, 100, 256])
def test_partition_balance_within_5_percent(rng, method, world, k):
    n = 60_000
    if world == "uniform":
        pos = rng.uniform(-5000, 5000, size=(n, 3))
    elif world == "clustered":
        pos = clustered_world(rng, n, n_plots=4, spread=6.0, frac=0.95)
    else:  # most players standing on exactly the same few spots (ties everywhere)
        spots = rng.uniform(-100, 100, size=(3, 3))
        pos = spots[rng.integers(0, 3, size=n)]
        pos[: n // 20] = rng.uniform(-1000, 1000, size=(n // 20, 3))
    weights = np.where(rng.random(n) < 0.3, 10.0, 1.0)  # players 10, items 1
    servers, regions = shard.partition(pos, weights, k, method=method)
    assert servers.dtype == np.int32
    assert servers.shape == (n,)
    assert regions.shape == (k, 6)
    assert servers.min() >= 0
    assert servers.max() < k
    loads = _loads(servers, weights, k)
    mean = weights.sum() / k
    assert np.all(np.abs(loads - mean) <= 0.05 * mean), (loads.min(), loads.max(), mean)
    assert np.all(np.abs(loads - mean) <= _bound(k, 10.0, method))


@given(
    n=st.integers(0, 300),
    k=st.integers(1, 40),
    seed=st.integers(0, 2**32 - 1),
    method=st.sampled_from(["kd", "hilbert"]),
    grid=st.booleans(),
)
def test_partition_assigns_each_entity_once_and_balances(n, k, seed, method, grid):
    rng = np.random.default_rng(seed)
    pos = rng.uniform(-50, 50, size=(n, 3))
    if grid:  # many exact ties
        pos = np.round(pos / 25) * 25
    w = rng.integers(1, 6, size=n).astype(float)
    servers, regions = shard.partition(pos, w, k, method=method)
    assert servers.shape == (n,)
    assert np.all((servers >= 0) & (servers < k))
    loads = _loads(servers, w, k)
    assert math.isclose(loads.sum(), w.sum())
    if n:
        assert np.all(np.abs(loads - w.sum() / k) <= _bound(k, w.max(), method))
    for s in range(k):  # every entity inside its server's (closed) region box
        mine = servers == s
        if mine.any():
            assert point_in_box(pos[mine], regions[s]).all()


@given(n=st.integers(1, 200), k=st.integers(1, 30), seed=st.integers(0, 2**32 - 1))
def test_kd_regions_tile_the_world(n, k, seed):
    rng = np.random.default_rng(seed)
    pos = rng.uniform(-1e3, 1e3, size=(n, 3))
    _, regions = shard.partition(pos, None, k)
    assert np.all(regions[:, :3] <= regions[:, 3:])
    assert np.all(regions >= -LIM)
    assert np.all(regions <= LIM)
    vol = np.prod((regions[:, 3:] - regions[:, :3]) / (2 * LIM), axis=1)
    assert math.isclose(vol.sum(), 1.0, rel_tol=1e-9)
    # random probes: each lies in at least one region; interiors are disjoint
    probes = rng.uniform(-LIM, LIM, size=(500, 3))
    inside = np.stack([np.all((probes > r[:3]) & (probes < r[3:]), axis=1) for r in regions])
    closed = np.stack([point_in_box(probes, r) for r in regions])
    assert np.all(inside.sum(axis=0) <= 1)
    assert np.all(closed.sum(axis=0) >= 1)


def test_kd_splits_longest_axis_at_weighted_median():
    # analytic: 10 unit points on x (long axis), 2 servers -> 5 / 5, plane between x=4 and 5
    pos = np.zeros((10, 3))
    pos[:, 0] = np.arange(10.0)
    pos[:, 1] = np.linspace(0, 1, 10)
    servers, regions = shard.partition(pos, None, 2)
    np.testing.assert_array_equal(servers, [0] * 5 + [1] * 5)
    assert regions[0, 3] == 4.5
    assert regions[1, 0] == 4.5
    # weighted: the last point weighs as much as the other 9 together
    w = np.ones(10)
    w[9] = 9.0
    servers, _ = shard.partition(pos, w, 2)
    np.testing.assert_array_equal(servers, [0] * 9 + [1])
    # 3 servers: low side gets 1 server and 1/3 of the weight
    servers, _ = shard.partition(np.c_[np.arange(9.0), np.zeros(9), np.zeros(9)], None, 3)
    np.testing.assert_array_equal(np.bincount(servers), [3, 3, 3])
    np.testing.assert_array_equal(servers, [0, 0, 0, 1, 1, 1, 2, 2, 2])


def test_partition_is_deterministic_and_permutation_consistent(rng):
    pos = clustered_world(rng, 5000)
    w = rng.integers(1, 5, size=5000).astype(float)
    a, ra = shard.partition(pos, w, 13)
    b, rb = shard.partition(pos.copy(), w.copy(), 13)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ra, rb)


def test_partition_empty_and_single_server():
    servers, regions = shard.partition(np.empty((0, 3)), None, 4)
    assert servers.dtype == np.int32
    assert servers.shape == (0,)
    assert regions.shape == (4, 6)
    servers, regions = shard.partition([[1.0, 2.0, 3.0]], [5.0], 1, method="hilbert")
    np.testing.assert_array_equal(servers, [0])
    servers, regions = shard.partition([[1.0, 2.0, 3.0]], None, 1)
    np.testing.assert_array_equal(regions, [[-LIM] * 3 + [LIM] * 3])


def test_partition_all_zero_weights_balances_counts(rng):
    pos = rng.uniform(-10, 10, size=(1000, 3))
    for method in ("kd", "hilbert"):
        servers, _ = shard.partition(pos, np.zeros(1000), 8, method=method)
        np.testing.assert_array_equal(np.bincount(servers, minlength=8), [125] * 8)


def test_hilbert_regions_are_compact(rng):
    # on a uniform world, hilbert runs are spatially compact: far smaller than the world
    pos = rng.uniform(0, 1000, size=(20000, 3))
    _, regions = shard.partition(pos, None, 64, method="hilbert")
    ext = regions[:, 3:] - regions[:, :3]
    assert np.median(ext.max(axis=1)) < 700


# ---------------------------------------------------------------- border sets
@given(
    n=st.integers(0, 250),
    k=st.integers(1, 12),
    radius=st.floats(0, 40),
    seed=st.integers(0, 2**32 - 1),
    method=st.sampled_from(["kd", "hilbert"]),
)
def test_border_sets_equal_brute_force(n, k, radius, seed, method):
    rng = np.random.default_rng(seed)
    pos = rng.uniform(-60, 60, size=(n, 3))
    servers, regions = shard.partition(pos, None, k, method=method)
    offsets, ids = shard.border_sets(pos, servers, regions, radius)
    assert offsets.shape == (k + 1,)
    assert offsets.dtype == np.int64
    assert ids.dtype == np.int64
    expected = brute_border_sets(pos, servers, regions, radius)
    for s in range(k):
        np.testing.assert_array_equal(ids[offsets[s] : offsets[s + 1]], expected[s])


def test_border_sets_boundary_is_inclusive():
    # a point exactly `radius` from the neighbour's face is a ghost; a hair farther is not
    pos = np.array([[-10.0, 0, 0], [-1.0, 0, 0], [3.0, 0, 0], [10.0, 0, 0]])
    servers = np.array([0, 0, 1, 1])
    regions = np.array([[-LIM, -LIM, -LIM, 0, LIM, LIM], [0, -LIM, -LIM, LIM, LIM, LIM]])
    offsets, ids = shard.border_sets(pos, servers, regions, 3.0)
    np.testing.assert_array_equal(ids[offsets[0] : offsets[1]], [2])
    np.testing.assert_array_equal(ids[offsets[1] : offsets[2]], [1])
    offsets, ids = shard.border_sets(pos, servers, regions, np.nextafter(1.0, 0))
    assert ids.size == 0


def test_shard_report_fields(rng):
    pos = clustered_world(rng, 20000)
    w = np.where(rng.random(20000) < 0.2, 10.0, 1.0)
    rep = shard.shard_report(pos, w, 16, radius=32.0)
    loads = _loads(shard.partition(pos, w, 16)[0], w, 16)
    assert rep["max_load"] == loads.max()
    assert math.isclose(rep["mean_load"], w.sum() / 16)
    assert rep["imbalance"] <= 1.05
    assert 0.0 <= rep["border_fraction"] <= 1.0
    assert rep["migrations_per_tick"] == 0.0
    servers, regions = shard.partition(pos, w, 16)
    ghosts = brute_border_sets(pos, servers, regions, 32.0)
    assert rep["ghosts"] == sum(g.size for g in ghosts)
    assert math.isclose(rep["border_fraction"], np.unique(np.concatenate(ghosts)).size / 20000)


# ---------------------------------------------------------------- Sharding: hysteresis
def _two_server_world(n=2000, seed=1):
    rng = np.random.default_rng(seed)
    pos = rng.uniform(-100, 100, size=(n, 3))
    pos[:, 0] = np.linspace(-100, 100, n)  # split lands at x ~ 0, x is the longest axis
    pos[:, 1:] *= 0.5
    return pos


def test_oscillation_below_margin_never_migrates():
    pos = _two_server_world()
    sh = shard.Sharding(pos, None, 2, margin=4.0, rebalance_every=0)
    split = sh.regions[0, 3]
    player = 1000
    for t in range(400):
        x = split + 3.9 * math.sin(t * 0.3)  # crosses the border every few ticks
        mig = sh.update([player], [[x, 0.0, 0.0]])
        assert len(mig) == 0
    assert sh.report()["total_migrations"] == 0


def test_oscillation_beyond_margin_migrates_once_per_crossing():
    pos = _two_server_world()
    margin = 4.0
    sh = shard.Sharding(pos, None, 2, margin=margin, rebalance_every=0)
    split = sh.regions[0, 3]
    player = 999
    side = int(sh.servers[player])  # 0: left of the border, 1: right
    crossings = 0
    total = 0
    for t in range(1000):
        x = split + 6.0 * math.sin(t * 0.05)
        if side == 0 and x > split + margin:
            crossings, side = crossings + 1, 1
        elif side == 1 and x < split - margin:
            crossings, side = crossings + 1, 0
        mig = sh.update([player], [[x, 0.0, 0.0]])
        total += len(mig)
        assert len(mig) <= 1
        # a migration happens exactly when the player is > margin beyond the border
        if len(mig):
            assert abs(x - split) > margin
    assert total == crossings
    assert total >= 10  # it did oscillate


def test_random_walk_migrations_bounded_by_path_length_over_margin():
    rng = np.random.default_rng(7)
    n = 3000
    pos = rng.uniform(-200, 200, size=(n, 3))
    margin = 3.0
    sh = shard.Sharding(pos, None, 16, margin=margin, rebalance_every=0, max_migrations=10**9)
    walkers = np.arange(0, n, 10)
    path = np.zeros(walkers.size)
    count = np.zeros(n, dtype=int)
    cur = pos[walkers].copy()
    for _ in range(300):
        step = rng.normal(0, 1.0, size=cur.shape)
        cur = np.clip(cur + step, -300, 300)
        path += np.linalg.norm(step, axis=1)  # clipping only shortens the true path
        mig = sh.update(walkers, cur)
        np.add.at(count, mig.ids, 1)
    assert count.sum() > 0
    assert np.all(count[walkers] <= np.floor(path / margin))
    # and every entity sits within `margin` of its server's region
    reg = sh.regions[sh.servers]
    p = sh.positions
    d = np.linalg.norm(np.maximum(reg[:, :3] - p, 0) + np.maximum(p - reg[:, 3:], 0), axis=1)
    assert np.all(d <= margin)


def test_migration_cap_defers_farthest_first():
    pos = _two_server_world()
    sh = shard.Sharding(pos, None, 2, margin=1.0, max_migrations=10, rebalance_every=0)
    split = sh.regions[0, 3]
    left = np.flatnonzero(sh.servers == 0)[:35]
    target = np.c_[split + 5.0 + np.arange(35.0), np.zeros(35), np.zeros(35)]
    mig = sh.update(left, target)
    assert len(mig) == 10
    # farthest outside first: the 10 largest x
    np.testing.assert_array_equal(mig.ids, np.sort(left[-10:]))
    np.testing.assert_array_equal(mig.src, 0)
    np.testing.assert_array_equal(mig.dst, 1)
    assert sh.pending.size == 25
    done = 10
    for _ in range(5):
        done += len(sh.update([], np.empty((0, 3))))
    assert done == 35
    assert sh.pending.size == 0
    assert np.all(sh.servers[left] == 1)
    np.testing.assert_allclose(sh.loads, np.bincount(sh.servers, minlength=2))


def test_boundaries_shift_slowly_toward_balance():
    pos = _two_server_world(4000)
    sh = shard.Sharding(pos, None, 2, margin=2.0, rebalance_every=1, max_shift=0.5)
    split0 = sh.regions[0, 3]
    # 600 entities on server 0 walk deep into server 1's side: imbalance 2600 vs 1400
    movers = np.flatnonzero(sh.servers == 0)[:600]
    sh.update(movers, np.c_[np.full(600, 80.0), np.zeros(600), np.zeros(600)])
    before = sh.loads
    assert before[1] - before[0] > 1000
    prev = sh.regions[0, 3]
    for _ in range(200):
        sh.update([], np.empty((0, 3)))
        now = sh.regions[0, 3]
        assert abs(now - prev) <= 0.5 + 1e-12  # at most max_shift per adjustment
        prev = now
    after = sh.loads
    assert sh.regions[0, 3] > split0  # server 0's region grew toward the crowd
    assert abs(after[1] - after[0]) < 0.25 * abs(before[1] - before[0])
    np.testing.assert_allclose(after, np.bincount(sh.servers, minlength=2))


def test_sharding_border_sets_use_ids():
    rng = np.random.default_rng(3)
    pos = rng.uniform(-30, 30, size=(300, 3))
    ids = rng.permutation(10**6)[:300].astype(np.int64)
    sh = shard.Sharding(pos, None, 5, ids=ids, rebalance_every=0)
    offsets, got = sh.border_sets(6.0)
    expected = brute_border_sets(pos, sh.servers, sh.regions, 6.0)
    for s in range(5):
        np.testing.assert_array_equal(got[offsets[s] : offsets[s + 1]], np.sort(ids[expected[s]]))
    rep = sh.report(radius=6.0)
    assert rep["ghosts"] == sum(e.size for e in expected)


def test_sharding_update_by_custom_ids():
    pos = _two_server_world(100)
    ids = np.arange(100, dtype=np.int64) * 7 + 1000
    sh = shard.Sharding(pos, None, 2, ids=ids, margin=1.0, rebalance_every=0)
    split = sh.regions[0, 3]
    mig = sh.update([ids[3]], [[split + 50.0, 0, 0]])
    np.testing.assert_array_equal(mig.ids, [ids[3]])
    assert sh.servers[3] == 1


def test_hilbert_keys_form_a_continuous_curve():
    # With a far corner at 2^16 - 1, cells are the integer coordinates. A Hilbert curve starting
    # at the origin fills the 4x4x4 corner block with its first 64 keys, each step moving to a
    # face neighbour: checked without any Hilbert code, from the definition.
    g = np.stack(np.meshgrid(np.arange(4), np.arange(4), np.arange(4), indexing="ij"), -1)
    pts = np.concatenate([g.reshape(-1, 3), [[65535, 65535, 65535]]]).astype(float)
    keys = shard._hilbert_keys(pts)[:64]
    np.testing.assert_array_equal(np.sort(keys), np.arange(64))
    path = pts[:64][np.argsort(keys)]
    steps = np.abs(np.diff(path, axis=0)).sum(axis=1)
    np.testing.assert_array_equal(steps, 1)


def test_partition_is_thread_safe_and_deterministic(rng):
    import concurrent.futures as cf

    pos = clustered_world(rng, 50_000)
    w = rng.integers(1, 4, size=50_000).astype(float)
    ref = shard.partition(pos, w, 37)
    with cf.ThreadPoolExecutor(4) as ex:
        outs = list(ex.map(lambda _: shard.partition(pos, w, 37), range(8)))
    for s, r in outs:
        np.testing.assert_array_equal(s, ref[0])
        np.testing.assert_array_equal(r, ref[1])


@given(seed=st.integers(0, 2**32 - 1), k=st.integers(2, 20))
def test_sharding_entities_stay_within_margin_of_their_region(seed, k):
    rng = np.random.default_rng(seed)
    pos = rng.uniform(-40, 40, size=(200, 3))
    sh = shard.Sharding(
        pos, None, k, margin=2.0, rebalance_every=3, max_shift=0.5, max_migrations=10**6
    )
    for _ in range(10):
        moved = rng.choice(200, 30, replace=False)
        sh.update(moved, np.clip(sh.positions[moved] + rng.normal(0, 3, (30, 3)), -60, 60))
        reg = sh.regions[sh.servers]
        p = sh.positions
        d = np.linalg.norm(np.maximum(reg[:, :3] - p, 0) + np.maximum(p - reg[:, 3:], 0), axis=1)
        assert np.all(d <= 2.0 + 1e-9)
        np.testing.assert_allclose(sh.loads, np.bincount(sh.servers, minlength=k), atol=1e-9)
        assert np.all(sh.regions[:, :3] <= sh.regions[:, 3:])


def test_partition_workers_do_not_change_the_result(rng):
    pos = np.round(clustered_world(rng, 200_000))  # ties too
    w = np.where(rng.random(200_000) < 0.1, 10.0, 1.0)
    ref = shard.partition(pos, w, 37)
    for workers in (2, 4, -1):
        s, r = shard.partition(pos, w, 37, workers=workers)
        np.testing.assert_array_equal(s, ref[0])
        np.testing.assert_array_equal(r, ref[1])


@given(
    n=st.integers(0, 300),
    k=st.integers(1, 9),
    margin=st.floats(0, 20),
    seed=st.integers(0, 2**32 - 1),
)
def test_entities_outside_regions_matches_brute_force(n, k, margin, seed):
    from fbsim import _core

    rng = np.random.default_rng(seed)
    pos = rng.uniform(-60, 60, size=(n, 3))
    _, regions = shard.partition(rng.uniform(-40, 40, size=(50, 3)), None, k)
    servers = rng.integers(0, k, size=n)
    got = _core.entities_outside_regions(pos, servers, regions, margin)
    box = regions[servers]
    nearest = np.clip(pos, box[:, :3], box[:, 3:])
    d = np.sqrt(((pos - nearest) ** 2).sum(axis=1))
    np.testing.assert_array_equal(got, np.flatnonzero(d > margin))


@pytest.mark.parametrize("n", [16_383, 16_384, 16_385, 50_000])
def test_entities_outside_regions_across_scan_chunks(rng, n):
    # the binding scans in chunks of 2^14 rows: rows must come back offset and ascending
    from fbsim import _core

    pos = rng.uniform(-100, 100, size=(n, 3))
    regions = np.array([[-90.0, -90, -90, 90, 90, 90], [-50, -50, -50, 50, 50, 50]])
    servers = rng.integers(0, 2, size=n)
    got = _core.entities_outside_regions(pos, servers, regions, 3.0)
    box = regions[servers]
    nearest = np.clip(pos, box[:, :3], box[:, 3:])
    d = np.sqrt(((pos - nearest) ** 2).sum(axis=1))
    np.testing.assert_array_equal(got, np.flatnonzero(d > 3.0))


# ---------------------------------------------------------------- partition: exact rule
@pytest.mark.parametrize("world", ["uniform", "clustered", "grid"])
@pytest.mark.parametrize("weights", ["none", "float", "dyadic", "zeros"])
@pytest.mark.parametrize("k", [2, 5, 37, 64])
def test_kd_partition_equals_numpy_reference(rng, world, weights, k):
    # Large enough for the sampled selection rounds (> 4096 entities per node) and the block
    # partition; "float" weights take the compact 32-byte records, "dyadic" ones (exact in
    # double, not in float) the 40-byte records. Weight sums are exact in both, so the rule
    # leaves no room for rounding: servers and regions must match the reference bit for bit.
    n = 20_000
    if world == "uniform":
        pos = rng.uniform(-5000, 5000, size=(n, 3))
    elif world == "clustered":
        pos = clustered_world(rng, n, n_plots=4, spread=6.0, frac=0.95)
    else:  # coarse grid: long runs of equal coordinates, decided by row index
        pos = np.round(rng.uniform(-50, 50, size=(n, 3)) / 10) * 10
    w = {
        "none": None,
        "float": np.where(rng.random(n) < 0.1, 10.0, 1.0),
        "dyadic": rng.integers(1, 8, size=n) + rng.integers(0, 2**20, size=n) * 2.0**-40,
        "zeros": np.zeros(n),
    }[weights]
    servers, regions = shard.partition(pos, w, k)
    ref_servers, ref_regions = rcb_reference(pos, w, k, LIM)
    np.testing.assert_array_equal(servers, ref_servers)
    np.testing.assert_array_equal(regions, ref_regions)
    for workers in (2, 3):
        s2, r2 = shard.partition(pos, w, k, workers=workers)
        np.testing.assert_array_equal(s2, ref_servers)
        np.testing.assert_array_equal(r2, ref_regions)


@given(
    n=st.integers(0, 3000),
    k=st.integers(1, 70),
    seed=st.integers(0, 2**32 - 1),
    ties=st.booleans(),
    weights=st.sampled_from(["none", "small_ints", "dyadic", "some_zero"]),
)
def test_kd_partition_equals_numpy_reference_property(n, k, seed, ties, weights):
    # sizes around the block partition's 128-item cut-over and the 4096-item sampling one
    rng = np.random.default_rng(seed)
    pos = rng.uniform(-500, 500, size=(n, 3))
    if ties:
        pos = np.round(pos / 100) * 100
    w = {
        "none": None,
        "small_ints": rng.integers(1, 11, size=n).astype(float),
        "dyadic": rng.integers(0, 4, size=n) + rng.integers(0, 2**16, size=n) * 2.0**-36,
        "some_zero": rng.integers(0, 2, size=n).astype(float),
    }[weights]
    servers, regions = shard.partition(pos, w, k)
    ref_servers, ref_regions = rcb_reference(pos, w, k, LIM)
    np.testing.assert_array_equal(servers, ref_servers)
    np.testing.assert_array_equal(regions, ref_regions)
