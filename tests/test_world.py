# SPDX-License-Identifier: MIT
"""World state: atomic batches, roles, inventories, collision queries and snapshots."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import fbsim
from fbsim.world import Role, SnapshotError, World

ID = [0.0, 0.0, 0.0, 1.0]


def make_world() -> World:
    w = World()
    w.add_plots([1, 2], [[0, 0], [100, 0]], [[100, 100], [200, 100]], owners=[10, 20])
    w.add_players([10, 20, 30], [[5, 0, 5], [150, 0, 5], [50, 0, 50]])
    w.add_items(
        ["brick"] * 3, [[0.5, 0.5, 0.5], [2.5, 0.5, 0.5], [150.5, 0.5, 0.5]], [ID] * 3, [10, 10, 20]
    )
    return w


def state(w: World):
    items = w.items()
    return (
        w.version,
        {k: v.copy() for k, v in items.items()},
        w.player_positions(w._players.ids()).copy(),
        w.inventory(10).copy(),
    )


def assert_same_state(a, b):
    assert a[0] == b[0]
    assert a[1].keys() == b[1].keys()
    for k in a[1]:
        np.testing.assert_array_equal(a[1][k], b[1][k])
    np.testing.assert_array_equal(a[2], b[2])
    np.testing.assert_array_equal(a[3], b[3])


def test_add_items_assigns_plots_and_counts():
    w = make_world()
    items = w.items()
    np.testing.assert_array_equal(items["plot"], [1, 1, 2])
    assert w.placed_counts(player_id=10)[w.catalog.kind_id("brick")] == 2
    assert w.placed_counts(plot_id=2)[w.catalog.kind_id("brick")] == 1


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"positions": [[0, 0, 0], [1, np.nan, 0]]}, ValueError, r"positions\[1, 1\] is nan"),
        ({"kinds": ["brick", "dragon"]}, ValueError, r"kinds\[1\] = 'dragon'"),
        ({"positions": [[0, 1, 0], [3e5, 1, 0]]}, ValueError, r"positions\[1\] is outside"),
        ({"rotations": [ID, [0, 0, 0, 0]]}, ValueError, r"rotations\[1\] has norm"),
        ({"ids": [100, 100]}, ValueError, r"ids\[1\] = 100 is repeated"),
        ({"ids": [100, 1]}, ValueError, r"ids\[1\] = 1 already exists"),
        ({"positions": [[0, 1, 0]]}, ValueError, "rows"),
    ],
)
def test_failed_add_leaves_world_unchanged(kwargs, exc, match):
    w = make_world()
    before = state(w)
    args = {
        "kinds": ["brick", "brick"],
        "positions": [[10.5, 0.5, 10.5], [12.5, 0.5, 10.5]],
        "rotations": [ID, ID],
        "owners": 10,
    }
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        w.add_items(**args)
    assert_same_state(before, state(w))
    # The broad phase is unchanged too: nothing new near the attempted spot.
    _, ids = w.query_items([[9, 0, 9]], [[14, 2, 12]])
    assert len(ids) == 0


def test_remove_and_move_are_atomic():
    w = make_world()
    before = state(w)
    with pytest.raises(ValueError, match=r"ids\[1\] = 999 does not exist"):
        w.remove_items([1, 999])
    with pytest.raises(ValueError, match="outside"):
        w.move_items([1, 2], [[0.5, 0.5, 0.5], [0.5, 1e5, 0.5]], [ID, ID])
    assert_same_state(before, state(w))
    w.remove_items([1])
    assert w.item_count == 2
    assert w.placed_counts(player_id=10)[0] == 1
    _, ids = w.query_items([[0, 0, 0]], [[1, 1, 1]])
    assert 1 not in ids


def test_roles_matrix_and_grants():
    w = make_world()
    roles = w.roles([1, 1, 2, -1], [10, 30, 10, 10])
    np.testing.assert_array_equal(roles, [Role.OWNER, Role.VISITOR, Role.VISITOR, -1])
    w.set_roles([1], [30], [Role.BUILDER])
    assert w.roles([1], [30])[0] == Role.BUILDER
    w.set_admins([30])
    assert w.roles([2], [30])[0] == Role.ADMIN
    from fbsim.world import Action

    np.testing.assert_array_equal(
        w.allowed(Action.PLACE, np.array([Role.VISITOR, Role.BUILDER, Role.OWNER, -1])),
        [False, True, True, False],
    )
    np.testing.assert_array_equal(
        w.allowed(Action.REMOVE_ANY, np.array([Role.BUILDER, Role.OWNER])), [False, True]
    )


def test_plots_must_not_overlap():
    w = make_world()
    with pytest.raises(ValueError, match="overlaps another plot"):
        w.add_plots([3], [[50, 50]], [[120, 120]], owners=[1])
    w.add_plots([3], [[0, 100]], [[100, 200]], owners=[1])  # touching edges is fine
    assert w.plot_count == 3


def test_inventory_give_is_atomic():
    w = make_world()
    w.give([10, 10], ["brick", "plate"], [5, 2])
    with pytest.raises(ValueError, match="negative"):
        w.give([10, 10], ["brick", "plate"], [-1, -3])
    assert w.inventory(10)[w.catalog.kind_id("plate")] == 2


def test_supported_on_ground_and_on_items():
    w = make_world()
    feet = [[50, 0.0, 50], [50, 0.5, 50], [0.5, 1.0, 0.5], [0.5, 1.3, 0.5]]
    np.testing.assert_array_equal(w.supported(feet, 1.0, 1e-3), [True, False, True, False])


def test_sweep_hits_wall_and_reports_time_of_impact():
    w = World()
    w.add_items(["wall"], [[10.0, 4.0, 0.0]], [ID], owners=1)  # x 6..14, y 0..8, z -0.5..0.5
    toi, normal = w.sweep([[0, 0.1, 0], [0, 0.1, 0]], [[20, 0.1, 0], [0, 0.1, 20]], 1.0, 5.0)
    # capsule radius 1 touches x = 6 when the feet reach x = 5: toi 5 / 20
    assert toi[0] == pytest.approx(5 / 20, abs=1e-6)
    np.testing.assert_allclose(normal[0], [-1, 0, 0], atol=1e-6)
    assert np.isinf(toi[1])


def test_snapshot_round_trip_is_exact(tmp_path):
    w = make_world()
    w.give([10], ["brick"], [7])
    w.set_roles([1], [30], [Role.BUILDER])
    path = tmp_path / "world.fbw"
    w.save(path)
    v = World.load(path)
    a, b = w.items(), v.items()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert v.inventory(10)[0] == 7
    assert v.roles([1], [30])[0] == Role.BUILDER
    np.testing.assert_array_equal(
        v.player_positions([10, 20, 30]), w.player_positions([10, 20, 30])
    )
    _, ids = v.query_items([[0, 0, 0]], [[3, 1, 1]])
    np.testing.assert_array_equal(np.sort(ids), [1, 2])


@pytest.mark.parametrize("damage", ["truncate", "flip", "header", "empty"])
def test_corrupted_snapshot_refused(tmp_path, damage):
    w = make_world()
    path = tmp_path / "world.fbw"
    w.save(path)
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":
        data[-100] ^= 0xFF
    elif damage == "header":
        data[:8] = b"NOTAWRLD"
    else:
        data = b""
    path.write_bytes(bytes(data))
    with pytest.raises(SnapshotError):
        World.load(path)


def test_save_killed_midway_keeps_previous_snapshot(tmp_path):
    path = tmp_path / "world.fbw"
    w = make_world()
    w.save(path)
    good = path.read_bytes()
    # A child process builds a big world and is killed while it is writing the snapshot.
    script = textwrap.dedent(
        f"""
        import os, signal, numpy as np
        import fbsim.world as fw
        w = fw.World()
        n = 200_000
        pos = np.column_stack([np.arange(n) * 3.0 % 1e4, np.full(n, 0.5), np.arange(n) // 3000 * 3.0])
        w.add_items(np.zeros(n, dtype=np.int64), pos, np.tile([0, 0, 0, 1.0], (n, 1)), owners=1)
        real_fsync = os.fsync
        def die(fd):
            os.kill(os.getpid(), signal.SIGKILL)
        os.fsync = die
        w.save({str(path)!r})
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, check=False)
    assert proc.returncode == -9
    assert path.read_bytes() == good
    assert World.load(path).item_count == 3


def test_concurrent_readers_and_writer_see_whole_batches():
    w = World()
    errors = []

    def writer():
        for k in range(50):
            w.add_items(
                ["brick"] * 10,
                [[2.0 * j + 0.5, 0.5, 2.0 * k + 0.5] for j in range(10)],
                [ID] * 10,
                1,
            )

    def reader():
        for _ in range(200):
            with w.lock:
                n = w.item_count
                if n % 10:
                    errors.append(n)

    threads = [threading.Thread(target=writer)] + [
        threading.Thread(target=reader) for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert w.item_count == 500
    _, ids = w.query_items([[-1, -1, -1]], [[1000, 10, 1000]])
    assert len(ids) == 500


def test_top_level_exports():
    assert fbsim.World is World


def test_user_attributes_are_stored_checked_and_saved(tmp_path):
    w = make_world()
    w.add_attribute("health", "float64", 100.0)
    w.add_attribute("color", "int32", 7)
    assert w.attributes == {"health": "<f8", "color": "<i4"}
    np.testing.assert_array_equal(w.items()["health"], [100.0] * 3)
    w.set_attribute([2], "health", [55.5])
    new = w.add_items(["brick"], [[20.5, 0.5, 20.5]], [ID], owners=10)
    np.testing.assert_array_equal(w.items([2, int(new[0])])["health"], [55.5, 100.0])
    before = w.items()["health"].copy()
    with pytest.raises(ValueError, match=r"ids\[1\] = 999"):
        w.set_attribute([1, 999], "health", [1.0, 2.0])
    with pytest.raises(ValueError, match="finite"):
        w.set_attribute([1], "health", [np.nan])
    with pytest.raises(ValueError, match="already exists"):
        w.add_attribute("position")
    with pytest.raises(ValueError, match="no attribute"):
        w.set_attribute([1], "mana", [1.0])
    np.testing.assert_array_equal(w.items()["health"], before)
    w.remove_items([1])  # swap-removal keeps attributes with their items
    np.testing.assert_array_equal(w.items([2])["health"], [55.5])
    path = tmp_path / "w.fbw"
    w.save(path)
    v = World.load(path)
    assert v.attributes == w.attributes
    a, b = w.items(), v.items()
    for k in ("ids", "health", "color"):
        np.testing.assert_array_equal(a[k], b[k])
