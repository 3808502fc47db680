# SPDX-License-Identifier: MIT
"""The server's world state: placed items, players, plots with roles, inventories.

Items live in struct-of-arrays columns keyed by stable int64 ids and in a broad-phase tree, so
"what is near this box/ray" is a batch query and exact answers come from the narrow phase.
Every batch mutation is atomic: all input is checked first, then everything is applied; a bad
row anywhere leaves the world exactly as it was.

Thread-safety: every public method takes the world's lock, so concurrent callers are
serialised (a single writer at a time, readers never see a half-applied batch).
"""

from __future__ import annotations

import enum
import hashlib
import io
import json
import os
import struct
import tempfile
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from fbsim import _core
from fbsim._table import Table
from fbsim.catalog import Catalog, default_catalog
from fbsim.geometry import Boxes, Capsules, Spheres


class Role(enum.IntEnum):
    """A player's role on a plot (higher is more trusted, except that the matrix decides)."""

    VISITOR = 0
    BUILDER = 1
    OWNER = 2
    ADMIN = 3


class Action(enum.IntEnum):
    """What a player asks to do to items on a plot."""

    PLACE = 0
    MOVE_OWN = 1
    REMOVE_OWN = 2
    MOVE_ANY = 3
    REMOVE_ANY = 4
    MANAGE_ROLES = 5


def default_permissions() -> np.ndarray:
    """RBAC matrix ``allowed[action, role]``: builders build and edit their own items, owners
    and admins edit anything on the plot, visitors only look."""
    allowed = np.zeros((len(Action), len(Role)), dtype=bool)
    for action in (Action.PLACE, Action.MOVE_OWN, Action.REMOVE_OWN):
        allowed[action, [Role.BUILDER, Role.OWNER, Role.ADMIN]] = True
    for action in (Action.MOVE_ANY, Action.REMOVE_ANY, Action.MANAGE_ROLES):
        allowed[action, [Role.OWNER, Role.ADMIN]] = True
    return allowed


@dataclass(frozen=True)
class WorldConfig:
    """World-wide constants (studs). y is up; the ground is the plane y = ground_y."""

    bounds_lo: tuple[float, float, float] = (-1e5, -500.0, -1e5)
    bounds_hi: tuple[float, float, float] = (1e5, 1e4, 1e5)
    ground_y: float = 0.0
    player_radius: float = 1.0
    player_height: float = 5.0
    eye_height: float = 4.5
    tree_margin: float = 0.1


_ROLE_KEY = np.dtype([("plot", "<i8"), ("player", "<i8")])
_SNAPSHOT_MAGIC = b"FBSIMWLD"
_SNAPSHOT_VERSION = 1
_HEADER = struct.Struct("<8sIQ32s")  # magic, format version, payload length, sha256


class SnapshotError(ValueError):
    """A snapshot file is truncated, corrupted or of an unknown version."""


class World:
    """Items, players, plots and inventories of one server.

    Parameters
    ----------
    catalog : Catalog, optional
        Item kinds (default: :func:`fbsim.catalog.default_catalog`).
    config : WorldConfig, optional
    """

    def __init__(self, catalog: Catalog | None = None, config: WorldConfig | None = None):
        from fbsim.spatial import DynamicTree, SpatialHash  # broad phase (issue 4)

        self.catalog = catalog if catalog is not None else default_catalog()
        self.config = config if config is not None else WorldConfig()
        self.permissions = default_permissions()
        self._lock = threading.RLock()
        self.version = 0  # bumped by every mutation; validation results name the version
        self._items = Table(
            {
                "kind": (np.int64, ()),
                "owner": (np.int64, ()),
                "plot": (np.int64, ()),
                "position": (np.float64, (3,)),
                "rotation": (np.float64, (4,)),
                "half_extents": (np.float64, (3,)),
            }
        )
        # Items: a BVH (fast rays for line of sight); players move every tick: a grid.
        self._item_tree = DynamicTree(margin=self.config.tree_margin)
        self._next_item_id = 1
        self._players = Table({"position": (np.float64, (3,)), "velocity": (np.float64, (3,))})
        self._player_tree = SpatialHash()
        self._inventory: dict[int, np.ndarray] = {}  # player id -> counts per kind
        self._plots = Table(
            {"lo": (np.float64, (2,)), "hi": (np.float64, (2,)), "owner": (np.int64, ())}
        )
        self._role_keys = np.empty(0, dtype=_ROLE_KEY)  # sorted (plot, player)
        self._role_values = np.empty(0, dtype=np.int8)
        self._admins: set[int] = set()
        self._attributes: dict[str, tuple[str, object]] = {}  # name -> (dtype, default)
        self._placed_by_player: dict[int, np.ndarray] = {}  # player -> items per kind
        self._placed_in_plot: dict[int, np.ndarray] = {}  # plot -> items per kind
        self._decisions: dict[int, dict[int, tuple[bool, int]]] = {}
        self._max_request: dict[int, int] = {}

    # ---- sizes ---------------------------------------------------------------------------

    @property
    def item_count(self) -> int:
        return len(self._items)

    @property
    def player_count(self) -> int:
        return len(self._players)

    @property
    def plot_count(self) -> int:
        return len(self._plots)

    @property
    def lock(self) -> threading.RLock:
        """The world's lock; hold it to read several things consistently."""
        return self._lock

    # ---- checks shared by every mutation -------------------------------------------------

    def _check_in_bounds(self, aabbs: np.ndarray, name: str) -> None:
        lo = np.asarray(self.config.bounds_lo)
        hi = np.asarray(self.config.bounds_hi)
        bad = np.flatnonzero(np.any(aabbs[:, :3] < lo, axis=1) | np.any(aabbs[:, 3:] > hi, axis=1))
        if bad.size:
            raise ValueError(f"{name}[{bad[0]}] is outside the world bounds {lo} .. {hi}")

    # ---- items ---------------------------------------------------------------------------

    def _new_item_ids(self, n: int) -> np.ndarray:
        return np.arange(self._next_item_id, self._next_item_id + n, dtype=np.int64)

    def add_items(
        self,
        kinds,
        positions,
        rotations,
        owners,
        half_extents=None,
        ids=None,
    ) -> np.ndarray:
        """Insert items directly (world generation, admin tools): no placement rules run.

        Parameters
        ----------
        kinds : array_like of int or str, shape (n,)
        positions : array_like, shape (n, 3)
            Item centres.
        rotations : array_like, shape (n, 4)
            Quaternions (x, y, z, w); stored normalised.
        owners : array_like of int, shape (n,) or scalar
            Owning player ids (need not be connected players).
        half_extents : array_like, shape (n, 3), optional
            Default: the first catalog size of each kind.
        ids : array_like of int, shape (n,), optional
            Item ids; default: fresh server-assigned ids.

        Returns
        -------
        ndarray of int64
            The item ids.

        Raises
        ------
        TypeError, ValueError
            Bad arrays, unknown kinds, items outside the world, duplicate or existing ids. The
            world is unchanged.
        """
        with self._lock:
            kinds = self.catalog.kind_ids(kinds)
            n = len(kinds)
            pos = _core.as_rows(positions, "positions", 3)
            rot = _core.as_quats(rotations, "rotations")
            if half_extents is None:
                half = self.catalog.sizes[kinds, 0]
            else:
                half = _core.as_sizes(half_extents, "half_extents", 3)
            aabbs = _core.obb_to_aabb(pos, rot, half)  # lengths, quaternions, sizes checked
            if len(pos) != n:
                raise ValueError(f"positions has {len(pos)} rows but kinds has {n}")
            owners = np.broadcast_to(_core.as_ids(np.atleast_1d(owners), "owners"), (n,))
            self._check_in_bounds(aabbs, "positions")
            if ids is None:
                ids = self._new_item_ids(n)
            else:
                ids = _core.as_ids(ids, "ids")
                if len(ids) != n:
                    raise ValueError(f"ids has {len(ids)} rows but kinds has {n}")
            plots = self._plots_containing(aabbs)
            rot = rot / np.linalg.norm(rot, axis=1, keepdims=True)
            self._insert_items(ids, kinds, owners, plots, pos, rot, half, aabbs)
            return ids

    def _insert_items(self, ids, kinds, owners, plots, pos, rot, half, aabbs) -> None:
        # Table.add checks ids (duplicates, existing) before changing anything; the tree insert
        # cannot fail on ids the table just accepted.
        self._items.add(
            ids,
            {
                "kind": kinds,
                "owner": owners,
                "plot": plots,
                "position": pos,
                "rotation": rot,
                "half_extents": half,
            },
        )
        self._item_tree.insert(ids, aabbs[:, :3], aabbs[:, 3:])
        if len(ids):
            self._next_item_id = max(self._next_item_id, int(ids.max()) + 1)
        self._count_items(kinds, owners, plots, +1)
        self.version += 1

    def _count_items(self, kinds, owners, plots, sign: int) -> None:
        nk = len(self.catalog)
        for key, table in ((owners, self._placed_by_player), (plots, self._placed_in_plot)):
            uniq, inv = np.unique(key, return_inverse=True)
            counts = np.zeros((len(uniq), nk), dtype=np.int64)
            np.add.at(counts, (inv, kinds), 1)
            for u, c in zip(uniq.tolist(), counts, strict=True):
                table[u] = table.get(u, np.zeros(nk, dtype=np.int64)) + sign * c

    def remove_items(self, ids) -> None:
        """Remove items (admin path; no rules). ValueError, nothing changed, on unknown ids."""
        with self._lock:
            ids = _core.as_ids(ids, "ids")
            rows = self._items.rows(ids)
            if len(np.unique(ids)) != len(ids):
                self._items.index.remove(ids)  # raises the precise "repeated" error
            kinds = self._items.column("kind")[rows].copy()
            owners = self._items.column("owner")[rows].copy()
            plots = self._items.column("plot")[rows].copy()
            self._items.remove(ids)
            self._item_tree.remove(ids)
            self._count_items(kinds, owners, plots, -1)
            self.version += 1

    def move_items(self, ids, positions, rotations) -> None:
        """Move items (admin path; no rules). Atomic; ValueError on unknown ids, bad poses."""
        with self._lock:
            ids = _core.as_ids(ids, "ids")
            rows = self._items.rows(ids)
            if len(np.unique(ids)) != len(ids):
                raise ValueError("ids must not repeat")
            pos = _core.as_rows(positions, "positions", 3)
            rot = _core.as_quats(rotations, "rotations")
            half = self._items.column("half_extents")[rows]
            aabbs = _core.obb_to_aabb(pos, rot, half)
            self._check_in_bounds(aabbs, "positions")
            plots = self._plots_containing(aabbs)
            kinds = self._items.column("kind")[rows].copy()
            owners = self._items.column("owner")[rows].copy()
            old_plots = self._items.column("plot")[rows].copy()
            rot = rot / np.linalg.norm(rot, axis=1, keepdims=True)
            self._items.set(rows, {"position": pos, "rotation": rot, "plot": plots})
            self._item_tree.update(ids, aabbs[:, :3], aabbs[:, 3:])
            self._count_items(kinds, owners, old_plots, -1)
            self._count_items(kinds, owners, plots, +1)
            self.version += 1

    def items(self, ids=None) -> dict[str, np.ndarray]:
        """Copies of item columns (all items, or the given ids in that order)."""
        with self._lock:
            if ids is None:
                return self._items.snapshot()
            rows = self._items.rows(_core.as_ids(ids, "ids"))
            out = {name: self._items.column(name)[rows].copy() for name in self._items.names}
            out["ids"] = np.asarray(ids, dtype=np.int64)
            return out

    # ---- user attributes (game data per item: color, material, health, ...) ----------------

    _FIXED_COLUMNS = ("kind", "owner", "plot", "position", "rotation", "half_extents")

    def add_attribute(self, name: str, dtype="float64", default=0) -> None:
        """Add a per-item attribute column (numeric dtype); existing items get `default`.

        Raises
        ------
        ValueError
            The name is taken or not an identifier, or the dtype is not numeric/bool.
        """
        with self._lock:
            dt = np.dtype(dtype)
            if not (isinstance(name, str) and name.isidentifier()):
                raise ValueError(f"attribute name {name!r} must be an identifier")
            if name in self._items.names or name == "ids":
                raise ValueError(f"attribute {name!r} already exists")
            if dt.kind not in "biuf":
                raise ValueError(f"attribute dtype must be numeric or bool, got {dt}")
            self._items.add_column(name, dt, (), dt.type(default))
            self._attributes[name] = (dt.str, dt.type(default).item())
            self.version += 1

    def set_attribute(self, ids, name: str, values) -> None:
        """Set an attribute for items (atomic: unknown ids or a bad shape change nothing)."""
        with self._lock:
            if name not in self._attributes:
                raise ValueError(f"no attribute {name!r}; add it with add_attribute")
            ids = _core.as_ids(ids, "ids")
            rows = self._items.rows(ids)
            values = np.asarray(values)
            if values.dtype.kind not in "biuf":
                raise TypeError(f"values must be numbers, got dtype {values.dtype}")
            if values.dtype.kind == "f" and not np.all(np.isfinite(values)):
                raise ValueError("values must be finite")
            self._items.set(rows, {name: np.broadcast_to(values, ids.shape)})
            self.version += 1

    @property
    def attributes(self) -> dict[str, str]:
        """Attribute names and their dtypes."""
        return {k: v[0] for k, v in self._attributes.items()}

    def item_rows(self, ids) -> np.ndarray:
        return self._items.rows(_core.as_ids(ids, "ids"))

    def item_boxes(self, rows: np.ndarray) -> Boxes:
        """Exact shapes of the items at dense rows."""
        return Boxes(
            self._items.column("position")[rows],
            self._items.column("rotation")[rows],
            self._items.column("half_extents")[rows],
        )

    def query_items(self, lo, hi) -> tuple[np.ndarray, np.ndarray]:
        """Broad phase: ids of items whose fattened AABB overlaps each box (CSR)."""
        with self._lock:
            return self._item_tree.query_aabb(lo, hi)

    # ---- players -------------------------------------------------------------------------

    def _player_aabbs(self, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r = self.config.player_radius
        lo = pos - np.array([r, 0.0, r])
        hi = pos + np.array([r, self.config.player_height, r])
        return lo, hi

    def add_players(self, ids, positions, velocities=None) -> None:
        """Connect players at feet positions (n, 3). Atomic; ValueError on existing ids."""
        with self._lock:
            ids = _core.as_ids(ids, "ids")
            pos = _core.as_rows(positions, "positions", 3)
            vel = (
                np.zeros_like(pos)
                if velocities is None
                else _core.as_rows(velocities, "velocities", 3)
            )
            _core.as_rows(pos, "positions", 3)
            if not (len(ids) == len(pos) == len(vel)):
                raise ValueError(f"positions has {len(pos)} rows but ids has {len(ids)}")
            self._players.add(ids, {"position": pos, "velocity": vel})
            self._player_tree.insert(ids, *self._player_aabbs(pos))
            for i in ids.tolist():
                self._inventory.setdefault(i, np.zeros(len(self.catalog), dtype=np.int64))
            self.version += 1

    def move_players(self, ids, positions, velocities=None) -> None:
        """Set server-known player positions (the movement checker's accepted positions)."""
        with self._lock:
            ids = _core.as_ids(ids, "ids")
            rows = self._players.rows(ids)
            pos = _core.as_rows(positions, "positions", 3)
            if len(pos) != len(ids):
                raise ValueError(f"positions has {len(pos)} rows but ids has {len(ids)}")
            values = {"position": pos}
            if velocities is not None:
                values["velocity"] = _core.as_rows(velocities, "velocities", 3)
            self._players.set(rows, values)
            self._player_tree.update(ids, *self._player_aabbs(pos))
            self.version += 1

    def remove_players(self, ids) -> None:
        """Disconnect players (their items and inventory stay)."""
        with self._lock:
            ids = _core.as_ids(ids, "ids")
            self._players.rows(ids)
            self._players.remove(ids)
            self._player_tree.remove(ids)
            self.version += 1

    def player_positions(self, ids) -> np.ndarray:
        with self._lock:
            return self._players.column("position")[
                self._players.rows(_core.as_ids(ids, "ids"))
            ].copy()

    def player_rows(self, ids, name: str = "players") -> np.ndarray:
        return self._players.rows(_core.as_ids(ids, name), name)

    def player_capsules(self, rows: np.ndarray) -> Capsules:
        """The capsules of players at dense rows: vertical, feet at the stored position."""
        r = self.config.player_radius
        pos = self._players.column("position")[rows]
        p0 = pos + np.array([0.0, r, 0.0])
        p1 = pos + np.array([0.0, self.config.player_height - r, 0.0])
        return Capsules(p0, p1, np.full(len(rows), r))

    def query_players(self, lo, hi) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            return self._player_tree.query_aabb(lo, hi)

    # ---- inventory -----------------------------------------------------------------------

    def give(self, player_ids, kinds, counts) -> None:
        """Add to (or with negative counts take from) server-owned inventories. Atomic: a
        count that would go negative raises ValueError and nothing changes."""
        with self._lock:
            pids = _core.as_ids(player_ids, "player_ids")
            kinds = self.catalog.kind_ids(np.atleast_1d(kinds))
            counts = np.broadcast_to(_core.as_ids(np.atleast_1d(counts), "counts"), pids.shape)
            if len(kinds) != len(pids):
                raise ValueError(f"kinds has {len(kinds)} rows but player_ids has {len(pids)}")
            new = {}
            for i, (p, k, c) in enumerate(
                zip(pids.tolist(), kinds.tolist(), counts.tolist(), strict=True)
            ):
                inv = new.get(p)
                if inv is None:
                    inv = self._inventory.get(p, np.zeros(len(self.catalog), dtype=np.int64)).copy()
                    new[p] = inv
                inv[k] += c
                if inv[k] < 0:
                    raise ValueError(f"counts[{i}] would make player {p}'s inventory negative")
            self._inventory.update(new)
            self.version += 1

    def inventory(self, player_id: int) -> np.ndarray:
        """Counts per kind (a copy; zeros for an unknown player)."""
        with self._lock:
            return self._inventory.get(int(player_id), np.zeros(len(self.catalog), np.int64)).copy()

    def placed_counts(self, player_id: int | None = None, plot_id: int | None = None) -> np.ndarray:
        """Items per kind owned by a player or standing on a plot."""
        with self._lock:
            table, key = (
                (self._placed_by_player, player_id)
                if plot_id is None
                else (self._placed_in_plot, plot_id)
            )
            return table.get(int(key), np.zeros(len(self.catalog), np.int64)).copy()

    # ---- plots and roles -----------------------------------------------------------------

    def add_plots(self, ids, lo, hi, owners) -> None:
        """Add rectangular plots on the ground plane: ``lo``/``hi`` are (n, 2) (x, z) corners.
        Plots must not overlap each other (touching edges is fine)."""
        with self._lock:
            ids = _core.as_ids(ids, "ids")
            lo = _core.as_rows(lo, "lo", 2)
            hi = _core.as_rows(hi, "hi", 2)
            owners = np.broadcast_to(_core.as_ids(np.atleast_1d(owners), "owners"), ids.shape)
            if not (len(lo) == len(hi) == len(ids)):
                raise ValueError(f"lo has {len(lo)} rows but ids has {len(ids)}")
            bad = np.flatnonzero(np.any(hi <= lo, axis=1))
            if bad.size:
                raise ValueError(f"hi[{bad[0]}] must exceed lo[{bad[0]}] on both axes")
            all_lo = np.vstack([self._plots.column("lo"), lo])
            all_hi = np.vstack([self._plots.column("hi"), hi])
            n_old = len(self._plots)
            for i in range(len(ids)):
                j = n_old + i
                clash = np.all((all_lo[:j] < all_hi[j]) & (all_hi[:j] > all_lo[j]), axis=1)
                if clash.any():
                    raise ValueError(f"lo[{i}], hi[{i}]: plot overlaps another plot")
            self._plots.add(ids, {"lo": lo, "hi": hi, "owner": owners})
            self.version += 1

    def plot_owner(self, plot_ids) -> np.ndarray:
        with self._lock:
            rows = self._plots.rows(_core.as_ids(plot_ids, "plot_ids"), "plot_ids")
            return self._plots.column("owner")[rows].copy()

    def _plots_containing(self, aabbs: np.ndarray, tolerance: float = 1e-3) -> np.ndarray:
        """Id of the plot whose rectangle contains each AABB's x/z footprint, else -1."""
        n = len(aabbs)
        out = np.full(n, -1, dtype=np.int64)
        if n == 0 or len(self._plots) == 0:
            return out
        plo = self._plots.column("lo")
        phi = self._plots.column("hi")
        pids = self._plots.ids()
        fx = aabbs[:, [0, 2]]
        fX = aabbs[:, [3, 5]]
        chunk = max(1, 4_000_000 // max(1, len(pids)))
        for s in range(0, n, chunk):
            inside = np.all(
                (fx[s : s + chunk, None, :] >= plo[None] - tolerance)
                & (fX[s : s + chunk, None, :] <= phi[None] + tolerance),
                axis=2,
            )
            has = inside.any(axis=1)
            out[s : s + chunk][has] = pids[inside.argmax(axis=1)[has]]
        return out

    def plots_containing(self, aabbs, tolerance: float = 1e-3) -> np.ndarray:
        """Plot id containing each (n, 6) AABB's footprint, or -1."""
        with self._lock:
            return self._plots_containing(_core.as_rows(aabbs, "aabbs", 6), tolerance)

    def set_roles(self, plot_ids, player_ids, roles) -> None:
        """Grant roles on plots (Role values). Atomic."""
        with self._lock:
            plots = _core.as_ids(plot_ids, "plot_ids")
            players = _core.as_ids(player_ids, "player_ids")
            roles = np.broadcast_to(_core.as_ids(np.atleast_1d(roles), "roles"), plots.shape)
            if len(players) != len(plots):
                raise ValueError(
                    f"player_ids has {len(players)} rows but plot_ids has {len(plots)}"
                )
            self._plots.rows(plots, "plot_ids")
            if np.any((roles < 0) | (roles > max(Role))):
                raise ValueError("roles must be Role values")
            keys = np.empty(len(plots), dtype=_ROLE_KEY)
            keys["plot"], keys["player"] = plots, players
            merged = dict(zip(self._role_keys.tolist(), self._role_values.tolist(), strict=True))
            merged.update(zip(keys.tolist(), roles.tolist(), strict=True))
            all_keys = np.array(list(merged), dtype=_ROLE_KEY)
            order = np.argsort(all_keys, kind="stable")
            self._role_keys = all_keys[order]
            self._role_values = np.array(list(merged.values()), dtype=np.int8)[order]
            self.version += 1

    def set_admins(self, player_ids, admin: bool = True) -> None:
        """Global admins hold Role.ADMIN on every plot."""
        with self._lock:
            ids = _core.as_ids(player_ids, "player_ids").tolist()
            if admin:
                self._admins.update(ids)
            else:
                self._admins.difference_update(ids)
            self.version += 1

    def roles(self, plot_ids, player_ids) -> np.ndarray:
        """Role of each player on each plot (vectorised): granted role, else OWNER for the
        plot's owner, else VISITOR; ADMIN for global admins; -1 where plot_id is -1."""
        with self._lock:
            plots = np.asarray(plot_ids, dtype=np.int64)
            players = np.asarray(player_ids, dtype=np.int64)
            out = np.full(len(plots), int(Role.VISITOR), dtype=np.int8)
            has_plot = plots >= 0
            rows = self._plots.index.lookup(plots)
            owners = np.where(rows >= 0, self._plots.column("owner")[np.maximum(rows, 0)], -1)
            out[has_plot & (owners == players)] = Role.OWNER
            if len(self._role_keys):
                keys = np.empty(len(plots), dtype=_ROLE_KEY)
                keys["plot"], keys["player"] = plots, players
                pos = np.searchsorted(self._role_keys, keys)
                pos_c = np.minimum(pos, len(self._role_keys) - 1)
                hit = self._role_keys[pos_c] == keys
                granted = self._role_values[pos_c]
                out[hit] = np.maximum(out[hit], granted[hit])
            if self._admins:
                out[np.isin(players, list(self._admins))] = Role.ADMIN
            out[~has_plot] = -1
            return out

    def allowed(self, action: Action, roles: np.ndarray) -> np.ndarray:
        """RBAC lookup: may a player with each role do `action`? (-1 = no plot: never)."""
        r = np.asarray(roles)
        return np.where(r >= 0, self.permissions[int(action), np.maximum(r, 0)], False)

    # ---- collision queries (the movement checker's protocol) -----------------------------

    def supported(self, feet, radius: float, tolerance: float) -> np.ndarray:
        """True where a sphere of `radius` resting at `feet` (centre feet + (0, radius, 0)) is
        within `tolerance` of the ground or of an item."""
        with self._lock:
            feet = _core.as_rows(feet, "feet", 3)
            centers = feet + np.array([0.0, radius, 0.0])
            out = centers[:, 1] - radius <= self.config.ground_y + tolerance
            reach = radius + tolerance
            offsets, ids = self._item_tree.query_aabb(centers - reach, centers + reach)
            if len(ids):
                q = np.repeat(np.arange(len(feet)), np.diff(offsets))
                rows = self._items.rows(ids)
                dist = _distance(
                    Spheres(centers[q], np.full(len(q), radius)), self.item_boxes(rows)
                )
                near = np.zeros(len(feet), dtype=bool)
                np.logical_or.at(near, q, dist <= tolerance)
                out |= near
            return out

    def sweep(self, start, end, radius: float, height: float):
        """First time of impact in [0, 1] of a vertical capsule (feet at the position) moving
        start -> end against items, and the surface normal; toi = inf where free."""
        from fbsim.collision import shapecast

        with self._lock:
            start = _core.as_rows(start, "start", 3)
            end = _core.as_rows(end, "end", 3)
            n = len(start)
            toi = np.full(n, np.inf)
            normal = np.zeros((n, 3))
            lo = np.minimum(start, end) - np.array([radius, 0.0, radius])
            hi = np.maximum(start, end) + np.array([radius, height, radius])
            offsets, ids = self._item_tree.query_aabb(lo, hi)
            if len(ids):
                q = np.repeat(np.arange(n), np.diff(offsets))
                rows = self._items.rows(ids)
                caps = Capsules(
                    start[q] + np.array([0.0, radius, 0.0]),
                    start[q] + np.array([0.0, height - radius, 0.0]),
                    np.full(len(q), radius),
                )
                boxes = self.item_boxes(rows)
                t, nrm = shapecast(caps, end[q] - start[q], boxes)
                # A capsule that starts inside an item hits at toi 0, where the cast has no
                # normal; report the way out (the penetration normal) so callers can tell
                # moving deeper from sliding or backing out.
                stuck = np.flatnonzero((t == 0.0) & ~np.any(nrm, axis=1))
                if len(stuck):
                    from fbsim.collision import penetration

                    sub = Capsules(caps.p0[stuck], caps.p1[stuck], caps.radii[stuck])
                    box_sub = Boxes(
                        boxes.centers[stuck], boxes.quats[stuck], boxes.half_extents[stuck]
                    )
                    _, n_ab = penetration(sub, box_sub)
                    nrm[stuck] = -n_ab
                order = np.lexsort((t, q))
                first = np.ones(len(order), dtype=bool)
                first[1:] = q[order][1:] != q[order][:-1]
                sel = order[first]
                toi[q[sel]] = t[sel]
                normal[q[sel]] = nrm[sel]
            return toi, normal

    # ---- request-id memory (replay protection) -------------------------------------------

    def decision_for(self, player: int, request_id: int) -> tuple[bool, int] | None:
        """First decision recorded for (player, request_id), if still remembered."""
        return self._decisions.get(player, {}).get(request_id)

    def max_request_id(self, players: np.ndarray) -> np.ndarray:
        """Highest request id recorded per player (-1 if none)."""
        if len(players) == 0:
            return np.empty(0, dtype=np.int64)
        uniq, inv = np.unique(players, return_inverse=True)
        get = self._max_request.get
        return np.array([get(p, -1) for p in uniq.tolist()], dtype=np.int64)[inv]

    # ---- commit ---------------------------------------------------------------------------

    def commit(self, results) -> np.ndarray:
        """Apply the accepted requests of a validation result atomically.

        Parameters
        ----------
        results : fbsim.placement.PlacementResults
            From ``PlacementValidator.validate`` on this world, with no mutation in between.

        Returns
        -------
        ndarray of int64
            Ids of the items created (one per accepted request, in request order).

        Raises
        ------
        ValueError
            The world changed since validation (stale results) or they belong to another
            world; nothing is applied.
        """
        with self._lock:
            if results.world is not self or results.world_version != self.version:
                raise ValueError(
                    "results are stale: the world changed since they were validated; validate again"
                )
            acc = results.ok & ~results.duplicate
            idx = np.flatnonzero(acc)
            action = getattr(results, "action", "place")
            if action == "move":
                return self._commit_moves(results, idx)
            if action == "remove":
                return self._commit_removals(results, idx)
            ids = self._new_item_ids(len(idx))
            kinds = results.kind[idx]
            players = results.player[idx]
            # Inventory first (the only step that can refuse): check, then commit everything.
            need: dict[int, np.ndarray] = {}
            for p, k in zip(players.tolist(), kinds.tolist(), strict=True):
                need.setdefault(p, np.zeros(len(self.catalog), np.int64))[k] += 1
            for p, c in need.items():
                have = self._inventory.get(p, np.zeros(len(self.catalog), np.int64))
                if np.any(have < c):
                    raise ValueError(f"player {p}'s inventory no longer covers the placement")
            if len(idx):
                aabbs = _core.obb_to_aabb(
                    results.position[idx], results.rotation[idx], results.half_extents[idx]
                )
                self._insert_items(
                    ids,
                    kinds,
                    players,
                    results.plot[idx],
                    results.position[idx],
                    results.rotation[idx],
                    results.half_extents[idx],
                    aabbs,
                )
            for p, c in need.items():
                self._inventory[p] = self._inventory[p] - c
            self._record_decisions(results)
            self.version += 1
            results.item_id[idx] = ids
            results.committed = True
            return ids

    def _commit_moves(self, results, idx: np.ndarray) -> np.ndarray:
        ids = results.item_id[idx]
        if len(idx):
            rows = self._items.rows(ids)
            aabbs = _core.obb_to_aabb(
                results.position[idx], results.rotation[idx], results.half_extents[idx]
            )
            kinds = self._items.column("kind")[rows].copy()
            owners = self._items.column("owner")[rows].copy()
            old_plots = self._items.column("plot")[rows].copy()
            new_plots = results.plot[idx]
            self._items.set(
                rows,
                {
                    "position": results.position[idx],
                    "rotation": results.rotation[idx],
                    "plot": new_plots,
                },
            )
            self._item_tree.update(ids, aabbs[:, :3], aabbs[:, 3:])
            self._count_items(kinds, owners, old_plots, -1)
            self._count_items(kinds, owners, new_plots, +1)
        self._record_decisions(results)
        self.version += 1
        results.committed = True
        return ids

    def _commit_removals(self, results, idx: np.ndarray) -> np.ndarray:
        ids = results.item_id[idx]
        if len(idx):
            rows = self._items.rows(ids)
            kinds = self._items.column("kind")[rows].copy()
            owners = self._items.column("owner")[rows].copy()
            plots = self._items.column("plot")[rows].copy()
            self._items.remove(ids)
            self._item_tree.remove(ids)
            self._count_items(kinds, owners, plots, -1)
            # A removal refunds the item to its owner's server-side inventory.
            for o, k in zip(owners.tolist(), kinds.tolist(), strict=True):
                inv = self._inventory.setdefault(o, np.zeros(len(self.catalog), np.int64))
                inv[k] += 1
        self._record_decisions(results)
        self.version += 1
        results.committed = True
        return ids

    # Decisions are remembered for the last REQUEST_WINDOW request ids of each player; older
    # ids are refused as stale, so memory stays bounded and a replay can never re-apply.
    REQUEST_WINDOW = 1024

    def _record_decisions(self, results) -> None:
        fresh = ~results.duplicate
        for p, r, ok, reason in zip(
            results.player[fresh].tolist(),
            results.request_id[fresh].tolist(),
            results.ok[fresh].tolist(),
            results.reason[fresh].tolist(),
            strict=True,
        ):
            mine = self._decisions.setdefault(p, {})
            mine.setdefault(r, (ok, reason))
            if r > self._max_request.get(p, -1):
                self._max_request[p] = r
            if len(mine) > 2 * self.REQUEST_WINDOW:
                floor = self._max_request[p] - self.REQUEST_WINDOW
                self._decisions[p] = {k: v for k, v in mine.items() if k > floor}

    # ---- snapshots ------------------------------------------------------------------------

    def save(self, path) -> None:
        """Write a versioned, checksummed snapshot atomically (temp file, fsync, rename).

        A crash mid-write leaves the previous snapshot at `path` untouched.
        """
        data = self.to_bytes()
        path = Path(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            Path(tmp).replace(path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(path.parent or ".", os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # make the rename itself durable
        finally:
            os.close(dir_fd)

    def _snapshot_payload(self) -> bytes:
        items = self._items.snapshot()
        players = self._players.snapshot()
        plots = self._plots.snapshot()
        inv_players = np.array(sorted(self._inventory), dtype=np.int64)
        inv = (
            np.stack([self._inventory[p] for p in inv_players.tolist()])
            if len(inv_players)
            else np.zeros((0, len(self.catalog)), np.int64)
        )
        dec = sorted(((p, r), d) for p, mine in self._decisions.items() for r, d in mine.items())
        arrays = {
            **{f"items.{k}": v for k, v in items.items()},
            **{f"players.{k}": v for k, v in players.items()},
            **{f"plots.{k}": v for k, v in plots.items()},
            "roles.keys": self._role_keys,
            "roles.values": self._role_values,
            "inventory.players": inv_players,
            "inventory.counts": inv,
            "decisions.keys": np.array([k for k, _ in dec], dtype=np.int64).reshape(-1, 2),
            "decisions.values": np.array(
                [(int(ok), r) for _, (ok, r) in dec], dtype=np.int64
            ).reshape(-1, 2),
        }
        meta = {
            "catalog": self.catalog.to_dict(),
            "config": asdict(self.config),
            "permissions": self.permissions.tolist(),
            "admins": sorted(self._admins),
            "attributes": self._attributes,
            "next_item_id": self._next_item_id,
            "max_request": sorted(self._max_request.items()),
        }
        buf = io.BytesIO()
        np.savez(buf, __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)
        return buf.getvalue()

    @classmethod
    def load(cls, path) -> World:
        """Read a snapshot written by :meth:`save`.

        Raises
        ------
        SnapshotError
            Truncated, corrupted (checksum mismatch) or unknown-version files.
        FileNotFoundError
            No file at `path`.
        """
        return cls.from_bytes(Path(path).read_bytes(), str(path))

    def to_bytes(self) -> bytes:
        """The snapshot as bytes (header, checksum, payload): what :meth:`save` writes."""
        with self._lock:
            payload = self._snapshot_payload()
        digest = hashlib.sha256(payload).digest()
        return _HEADER.pack(_SNAPSHOT_MAGIC, _SNAPSHOT_VERSION, len(payload), digest) + payload

    def __reduce__(self):
        # Pickle (e.g. to ship a replay's state between Dask tasks) through the snapshot.
        return (World.from_bytes, (self.to_bytes(),))

    @classmethod
    def from_bytes(cls, data: bytes, path: str = "snapshot") -> World:
        """Rebuild a world from :meth:`to_bytes` output; SnapshotError if damaged."""
        if len(data) < _HEADER.size:
            raise SnapshotError(f"{path}: truncated snapshot (no header)")
        magic, version, length, digest = _HEADER.unpack_from(data)
        if magic != _SNAPSHOT_MAGIC:
            raise SnapshotError(f"{path}: not an fbsim world snapshot")
        if version != _SNAPSHOT_VERSION:
            raise SnapshotError(f"{path}: snapshot format {version} is not supported")
        payload = data[_HEADER.size :]
        if len(payload) != length:
            raise SnapshotError(f"{path}: truncated snapshot ({len(payload)} of {length} bytes)")
        if hashlib.sha256(payload).digest() != digest:
            raise SnapshotError(f"{path}: snapshot checksum mismatch (corrupted file)")
        with np.load(io.BytesIO(payload), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(arrays.pop("__meta__").tobytes())
        world = cls(
            Catalog.from_dict(meta["catalog"]),
            WorldConfig(
                **{k: tuple(v) if isinstance(v, list) else v for k, v in meta["config"].items()}
            ),
        )
        world.permissions = np.array(meta["permissions"], dtype=bool)
        for name, (dt, default) in meta.get("attributes", {}).items():
            world.add_attribute(name, dt, default)
        it = {k[6:]: v for k, v in arrays.items() if k.startswith("items.")}
        if len(it["ids"]):
            aabbs = _core.obb_to_aabb(it["position"], it["rotation"], it["half_extents"])
            world._insert_items(
                it["ids"],
                it["kind"],
                it["owner"],
                it["plot"],
                it["position"],
                it["rotation"],
                it["half_extents"],
                aabbs,
            )
            extra = {name: it[name] for name in world._attributes}
            if extra:
                world._items.set(world._items.rows(it["ids"]), extra)
        pl = {k[8:]: v for k, v in arrays.items() if k.startswith("players.")}
        if len(pl["ids"]):
            world.add_players(pl["ids"], pl["position"], pl["velocity"])
        pt = {k[6:]: v for k, v in arrays.items() if k.startswith("plots.")}
        if len(pt["ids"]):
            world._plots.add(pt["ids"], {"lo": pt["lo"], "hi": pt["hi"], "owner": pt["owner"]})
        world._role_keys = arrays["roles.keys"].astype(_ROLE_KEY)
        world._role_values = arrays["roles.values"]
        world._inventory = {
            int(p): c.copy()
            for p, c in zip(arrays["inventory.players"], arrays["inventory.counts"], strict=True)
        }
        world._admins = set(meta["admins"])
        world._next_item_id = meta["next_item_id"]
        for k, v in zip(arrays["decisions.keys"], arrays["decisions.values"], strict=True):
            world._decisions.setdefault(int(k[0]), {})[int(k[1])] = (bool(v[0]), int(v[1]))
        world._max_request = {int(p): int(r) for p, r in meta["max_request"]}
        world.version = 0
        return world


def _distance(a, b) -> np.ndarray:
    from fbsim.collision import distance

    return distance(a, b)[0]
