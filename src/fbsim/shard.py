# SPDX-License-Identifier: MIT
"""World sharding: spread one world's entities across server processes.

A world that outgrows one server process is cut into regions, one per server. fbsim computes
the cut; the game's fleet (its orchestrator) runs the processes.

* :func:`partition` assigns every entity (player or item) to one of ``n_servers`` so that the
  summed weight per server is balanced (players weigh more than static items) and each region
  is a compact box: recursive k-d splits along the longest axis at the weighted median (the
  split weight is proportional to the servers on each side, so ``n_servers`` need not be a
  power of two), or contiguous runs of a 3D Hilbert curve (``method="hilbert"``).
* :class:`Sharding` keeps a k-d assignment across ticks: :meth:`Sharding.update` moves
  entities with hysteresis (an entity changes server only once it is more than ``margin``
  studs outside its server's region), caps migrations per tick, and shifts region boundaries
  slowly (``max_shift`` studs per rebalance) when load drifts.
* :func:`border_sets` lists, for each server, the other servers' entities within an
  interaction radius of its region: what it must receive as read-only ghosts. Exact: an
  :class:`fbsim.Octree` query of the region grown by the radius, then an exact point-to-box
  distance filter.
* :func:`shard_report` and :meth:`Sharding.report` give the quality figures: max/mean load,
  border fraction, migrations per tick.

Regions of the k-d method tile the world cube ``[-MAX_COORDINATE, MAX_COORDINATE]^3``;
neighbouring regions share faces. Entity ids are row indices into ``positions`` unless
``ids`` are given to :class:`Sharding`.

Costs (measured in ``docs/performance_shard.md``): :func:`partition` is expected
O(n log n_servers) in C++ (``workers=`` threads optional); a :meth:`Sharding.update` tick is
O(m + p log p) for m moved ids (contiguous ids; O(m log n) for arbitrary ids) and p pending
migrations, except a tick on which a boundary actually shifts (at most every
``rebalance_every``-th), which also scans all n entities (vectorised) to find those the shift
has left outside their region. The Hilbert method is numpy (a sort of n keys), several times
slower than ``"kd"``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from fbsim import _core
from fbsim.spatial_tree import Octree

__all__ = [
    "MAX_SERVERS",
    "Migration",
    "Sharding",
    "border_sets",
    "partition",
    "shard_report",
]

MAX_SERVERS: int = _core.MAX_SERVERS
"""Largest accepted ``n_servers``."""

MAX_WEIGHT: float = _core.MAX_SHARD_WEIGHT
"""Largest accepted entity weight."""

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

_METHODS = ("kd", "hilbert")
_HILBERT_BITS = 16  # per axis: 2^16 cells across the occupied box, 48-bit keys


def _n_servers(n_servers: object) -> int:
    if n_servers is None or isinstance(n_servers, (bool, np.bool_)):
        raise TypeError("n_servers must be an int")
    try:
        k = int(n_servers.__index__())  # type: ignore[attr-defined]
    except (AttributeError, TypeError):
        raise TypeError(f"n_servers must be an int, got {type(n_servers).__name__}") from None
    if not 1 <= k <= MAX_SERVERS:
        raise ValueError(f"n_servers must be in [1, {MAX_SERVERS}], got {k}")
    return k


def _float_arg(value: object, name: str, lo: float, hi: float) -> float:
    if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(
        value, (bool, np.bool_)
    ):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}") from None
    if not np.isfinite(v) or not lo <= v <= hi:
        raise ValueError(f"{name} must be finite and in [{lo}, {hi}], got {v}")
    return v


def _int_arg(value: object, name: str, lo: int, hi: int) -> int:
    if value is None or isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an int")
    try:
        v = int(value.__index__())  # type: ignore[attr-defined]
    except (AttributeError, TypeError):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}") from None
    if not lo <= v <= hi:
        raise ValueError(f"{name} must be in [{lo}, {hi}], got {v}")
    return v


def _weights(weights: object, n: int) -> FloatArray:
    """Checked float64 weights (finite, 0 <= w <= MAX_WEIGHT); None means all 1."""
    if weights is None:
        return np.ones(n)
    arr = np.asarray(weights) if not isinstance(weights, np.ndarray) else weights
    if arr.dtype == object or arr.dtype.kind not in "iuf":
        raise TypeError(f"weights must be a real numeric array, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"weights must have shape (n,), got {arr.shape}")
    if arr.shape[0] != n:
        raise ValueError(f"weights has {arr.shape[0]} rows but positions has {n}")
    w = np.ascontiguousarray(arr, dtype=np.float64)
    bad = ~np.isfinite(w) | (w < 0) | (w > MAX_WEIGHT)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"weights[{i}] = {w[i]!r} is invalid; weights must be finite and in [0, {MAX_WEIGHT}]"
        )
    return w


def _hilbert_keys(pos: FloatArray) -> npt.NDArray[np.uint64]:
    """3D Hilbert index of each point, quantised over the points' bounding box.

    Skilling, "Programming the Hilbert curve", AIP Conf. Proc. 707 (2004): AxesToTranspose,
    vectorised over points, then the transposed bits interleaved into one integer.
    """
    lo = pos.min(axis=0)
    ext = float((pos.max(axis=0) - lo).max())
    cells = (1 << _HILBERT_BITS) - 1
    scale = cells / ext if ext > 0 else 0.0
    x = [
        np.minimum(((pos[:, a] - lo[a]) * scale).astype(np.uint64), np.uint64(cells))
        for a in range(3)
    ]
    q = 1 << (_HILBERT_BITS - 1)
    while q > 1:  # inverse undo
        p = np.uint64(q - 1)
        qq = np.uint64(q)
        for i in range(3):
            hit = (x[i] & qq) != 0
            x[0] ^= np.where(hit, p, np.uint64(0))
            t = np.where(hit, np.uint64(0), (x[0] ^ x[i]) & p)
            x[0] ^= t
            x[i] ^= t
        q >>= 1
    for i in (1, 2):  # Gray encode
        x[i] ^= x[i - 1]
    t = np.zeros_like(x[0])
    q = 1 << (_HILBERT_BITS - 1)
    while q > 1:
        qq = np.uint64(q)
        t ^= np.where((x[2] & qq) != 0, np.uint64(q - 1), np.uint64(0))
        q >>= 1
    for i in range(3):
        x[i] ^= t
    key = np.zeros_like(x[0])
    for b in range(_HILBERT_BITS - 1, -1, -1):
        bb = np.uint64(b)
        for i in range(3):
            key = (key << np.uint64(1)) | ((x[i] >> bb) & np.uint64(1))
    return key


def _hilbert_partition(
    pos: FloatArray, w: FloatArray, k: int
) -> tuple[npt.NDArray[np.int32], FloatArray]:
    n = pos.shape[0]
    servers = np.zeros(n, dtype=np.int32)
    regions = np.zeros((k, 6))
    if n == 0:
        return servers, regions
    order = np.lexsort((np.arange(n), _hilbert_keys(pos)))  # key, then index: deterministic
    ws = w[order]
    if ws.sum() <= 0:
        ws = np.ones(n)
    cum = np.cumsum(ws)
    total = cum[-1]
    targets = total * np.arange(1, k) / k
    # cut j: the prefix length whose weight is closest to targets[j] (ties: the longer prefix)
    hi = np.searchsorted(cum, targets, side="left")  # cum[hi] >= target
    hi = np.minimum(hi, n - 1)
    lo_w = np.where(hi > 0, cum[np.maximum(hi - 1, 0)], 0.0)
    cuts = np.where(cum[hi] - targets <= targets - lo_w, hi + 1, hi)
    cuts = np.maximum.accumulate(cuts)
    ranks = np.empty(n, dtype=np.int64)
    ranks[order] = np.arange(n)
    servers[:] = np.searchsorted(cuts, ranks, side="right")
    mins = np.full((k, 3), np.inf)
    maxs = np.full((k, 3), -np.inf)
    for a in range(3):
        np.minimum.at(mins[:, a], servers, pos[:, a])
        np.maximum.at(maxs[:, a], servers, pos[:, a])
    empty = ~np.isfinite(mins[:, 0])
    mins[empty] = 0.0
    maxs[empty] = 0.0
    regions[:, :3] = mins
    regions[:, 3:] = maxs
    return servers, regions


def partition(
    positions: npt.ArrayLike,
    weights: npt.ArrayLike | None,
    n_servers: int,
    method: str = "kd",
    workers: int = 1,
) -> tuple[npt.NDArray[np.int32], FloatArray]:
    """Assign every entity to a server, balancing summed weight, with compact regions.

    Parameters
    ----------
    positions : array_like, shape (n, 3)
        Entity positions, studs, finite, ``|v| <= MAX_COORDINATE``.
    weights : array_like, shape (n,), or None
        Load of each entity (e.g. 1 for an item, 20 for a player), finite, in
        ``[0, MAX_WEIGHT]``. None: all 1. If all weights are 0, counts are balanced.
    n_servers : int
        Number of servers, ``1 <= n_servers <= MAX_SERVERS``.
    method : {"kd", "hilbert"}
        ``"kd"``: recursive splits along the longest axis of the entities at the weighted
        median, split weight proportional to the servers on each side; regions are boxes that
        tile the world cube. ``"hilbert"``: entities ordered along a 3D Hilbert curve over
        their bounding box, cut into ``n_servers`` runs of equal weight; regions are the
        bounding boxes of each server's entities (they may overlap; an empty server gets the
        zero box).
    workers : int
        Threads for the ``"kd"`` method (scipy's convention: ``-1`` = one per CPU). Subtrees
        of at least 65,536 entities are built in parallel; the result never depends on it.

    Returns
    -------
    servers : ndarray of int32, shape (n,)
        Server of each entity, in ``[0, n_servers)``; every entity is assigned exactly once.
    regions : ndarray of float64, shape (n_servers, 6)
        Region box of each server, ``(lo_x, lo_y, lo_z, hi_x, hi_y, hi_z)``.

    Notes
    -----
    Each server's load is within one entity weight per split level of
    ``sum(weights) / n_servers`` (exact up to the granularity of the weights). Deterministic:
    ties in coordinates are broken by row index.

    Raises
    ------
    TypeError
        ``positions`` None or not numeric, ``n_servers`` not an int, ``method`` not a str.
    ValueError
        Wrong shapes, mismatched lengths, NaN/inf, ``|v| > MAX_COORDINATE``, negative or too
        large weights, ``n_servers`` out of range, unknown ``method``.
    """
    if not isinstance(method, str):
        raise TypeError("method must be a str")
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if method == "kd":
        # _core checks every argument itself (same exception types, naming the argument and
        # the first bad index; weights in one C++ pass without numpy temporaries), so the
        # 1e6-row hot path is not checked twice.
        servers, regions, _, _, _ = _core.kd_partition(positions, weights, n_servers, workers)
        return servers, regions
    pos = _core.as_rows(positions, "positions", 3)
    k = _n_servers(n_servers)
    w = _weights(weights, pos.shape[0])
    if _int_arg(workers, "workers", -1, 256) == 0:
        raise ValueError("workers must be in [1, 256] or -1, got 0")
    return _hilbert_partition(pos, w, k)


def _point_box_distance(points: FloatArray, boxes: FloatArray) -> FloatArray:
    """Euclidean distance from each point to its box (0 inside), row by row."""
    d = np.maximum(boxes[:, :3] - points, 0.0) + np.maximum(points - boxes[:, 3:], 0.0)
    return np.sqrt(np.einsum("ij,ij->i", d, d))


def _outside_sq(points: FloatArray, boxes: FloatArray) -> FloatArray:
    """Squared distance from each point to its box (0 inside), row by row. Per axis, at most
    one of ``lo - p`` and ``p - hi`` is positive because ``lo <= hi``."""
    d = np.maximum(boxes[:, :3] - points, points - boxes[:, 3:])
    np.maximum(d, 0.0, out=d)
    return np.einsum("ij,ij->i", d, d)


def border_sets(
    positions: npt.ArrayLike,
    servers: npt.ArrayLike,
    regions: npt.ArrayLike,
    radius: float,
) -> tuple[IntArray, IntArray]:
    """For each server, the other servers' entities within ``radius`` of its region.

    These are the entities a server must receive as read-only ghosts. Exact: an entity ``i``
    is in server ``s``'s set iff ``servers[i] != s`` and the Euclidean distance from
    ``positions[i]`` to the box ``regions[s]`` is ``<= radius``.

    Parameters
    ----------
    positions : array_like, shape (n, 3)
    servers : array_like of int, shape (n,)
        Server of each entity, in ``[0, len(regions))``.
    regions : array_like, shape (k, 6)
        Region boxes ``(lo, hi)``, ``lo <= hi``.
    radius : float
        Interaction radius, studs, in ``[0, MAX_COORDINATE]``. With :class:`Sharding`, add its
        ``margin``: an entity may stand up to ``margin`` outside its own region.

    Returns
    -------
    offsets : ndarray of int64, shape (k + 1,)
    ids : ndarray of int64
        Server ``s``'s ghosts are ``ids[offsets[s]:offsets[s + 1]]``, row indices ascending.

    Raises
    ------
    TypeError, ValueError
        Per the boundary rules; a server id outside ``[0, k)``; ``lo > hi`` in a region.
    """
    pos = _core.as_rows(positions, "positions", 3)
    srv = _core.as_ids(servers, "servers")
    reg = _core.as_rows(regions, "regions", 6)
    r = _float_arg(radius, "radius", 0.0, float(_core.MAX_COORDINATE))
    if srv.shape[0] != pos.shape[0]:
        raise ValueError(f"servers has {srv.shape[0]} rows but positions has {pos.shape[0]}")
    k = reg.shape[0]
    bad = (srv < 0) | (srv >= k)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"servers[{i}] = {int(srv[i])} is not a server in [0, {k})")
    inv = reg[:, :3] > reg[:, 3:]
    if inv.any():
        i = int(np.argmax(inv.any(axis=1)))
        raise ValueError(f"regions[{i}] has hi < lo; a box needs lo <= hi")
    if k == 0 or pos.shape[0] == 0:
        return np.zeros(k + 1, dtype=np.int64), np.empty(0, dtype=np.int64)
    lim = float(_core.MAX_COORDINATE)
    grown = np.concatenate([reg[:, :3] - r, reg[:, 3:] + r], axis=1).clip(-lim, lim)
    tree = Octree(pos)
    offs, cand = tree.query_aabb(grown[:, :3], grown[:, 3:])
    owner = np.repeat(np.arange(k), np.diff(offs))
    keep = (srv[cand] != owner) & (_point_box_distance(pos[cand], reg[owner]) <= r)
    out_ids = cand[keep].astype(np.int64)
    counts = np.bincount(owner[keep], minlength=k)
    offsets = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets, out_ids


def _quality(loads: FloatArray, n: int, ghosts: IntArray | None) -> dict[str, float]:
    mean = float(loads.mean()) if loads.size else 0.0
    mx = float(loads.max()) if loads.size else 0.0
    out = {
        "n_servers": float(loads.size),
        "n_entities": float(n),
        "max_load": mx,
        "mean_load": mean,
        "min_load": float(loads.min()) if loads.size else 0.0,
        "imbalance": mx / mean if mean > 0 else 1.0,
    }
    if ghosts is not None:
        out["ghosts"] = float(ghosts.size)
        out["border_fraction"] = float(np.unique(ghosts).size) / n if n else 0.0
    return out


def shard_report(
    positions: npt.ArrayLike,
    weights: npt.ArrayLike | None,
    n_servers: int,
    radius: float = 64.0,
    method: str = "kd",
) -> dict[str, float]:
    """Partition a world and report its quality (for ``fbsim simulate --servers N``).

    Parameters
    ----------
    positions, weights, n_servers, method
        As :func:`partition`.
    radius : float
        Interaction radius for the border sets, studs.

    Returns
    -------
    dict
        ``n_servers``, ``n_entities``, ``max_load``, ``mean_load``, ``min_load``,
        ``imbalance`` (max/mean), ``ghosts`` (total border-set entries), ``border_fraction``
        (fraction of entities that are a ghost on at least one other server) and
        ``migrations_per_tick`` (0 for a fresh partition).

    Raises
    ------
    TypeError, ValueError
        As :func:`partition` and :func:`border_sets`.
    """
    pos = _core.as_rows(positions, "positions", 3)
    k = _n_servers(n_servers)
    w = _weights(weights, pos.shape[0])
    servers, regions = partition(pos, w, k, method)
    loads = np.bincount(servers, weights=w, minlength=k)
    _, ghosts = border_sets(pos, servers, regions, radius)
    out = _quality(loads, pos.shape[0], ghosts)
    out["migrations_per_tick"] = 0.0
    return out


class Migration:
    """Entities that changed server in one :meth:`Sharding.update` (row-aligned arrays)."""

    __slots__ = ("dst", "ids", "src")

    def __init__(self, ids: IntArray, src: npt.NDArray[np.int32], dst: npt.NDArray[np.int32]):
        self.ids = ids  #: entity ids, ascending
        self.src = src  #: server each left
        self.dst = dst  #: server each joined

    def __len__(self) -> int:
        return int(self.ids.size)

    def __repr__(self) -> str:
        return f"Migration({self.ids.size} entities)"


class Sharding:
    """A k-d sharding kept across ticks, with hysteresis, a migration cap and slow rebalancing.

    Parameters
    ----------
    positions : array_like, shape (n, 3)
        Initial entity positions.
    weights : array_like, shape (n,), or None
        Entity weights, as :func:`partition`.
    n_servers : int
        Number of servers.
    ids : array_like of int, shape (n,), optional
        Unique int64 entity ids (default ``0 .. n-1``).
    margin : float
        Hysteresis, studs (default 4): an entity changes server only when it is more than
        ``margin`` outside its current server's region. Consequence (static boundaries): right
        after a migration an entity is inside its new region, so each further migration needs
        more than ``margin`` studs of travel; over a walk of length L an entity migrates at most
        ``L / margin`` times, and a player oscillating across a border with amplitude below
        ``margin`` never migrates. Boundary shifts count as relative motion: the bound becomes
        ``(L + S) / margin`` where S is the total distance the planes around the entity
        travelled (at most ``max_shift`` per ``rebalance_every`` ticks per plane).
    max_migrations : int
        Cap on migrations per tick (default 1024). Excess candidates stay pending, farthest
        outside first, and migrate on later ticks.
    rebalance_every : int
        Ticks between boundary adjustments (default 60, once a second at 60 Hz); 0 disables.
    max_shift : float
        Largest move of one split plane per adjustment, studs (default 1).
    tolerance : float
        Relative imbalance of a split (left load vs its share) that triggers a shift
        (default 0.02).

    Raises
    ------
    TypeError, ValueError
        As :func:`partition`; bad or duplicate ids; parameters out of range.

    Notes
    -----
    Thread-safety: a single writer (``update``); reads of the properties from other threads
    must not overlap an update.
    """

    def __init__(
        self,
        positions: npt.ArrayLike,
        weights: npt.ArrayLike | None,
        n_servers: int,
        *,
        ids: npt.ArrayLike | None = None,
        margin: float = 4.0,
        max_migrations: int = 1024,
        rebalance_every: int = 60,
        max_shift: float = 1.0,
        tolerance: float = 0.02,
    ) -> None:
        pos = _core.as_rows(positions, "positions", 3)
        k = _n_servers(n_servers)
        w = _weights(weights, pos.shape[0])
        n = pos.shape[0]
        if ids is None:
            id_arr = np.arange(n, dtype=np.int64)
        else:
            id_arr = _core.as_ids(ids, "ids")
            if id_arr.shape[0] != n:
                raise ValueError(f"ids has {id_arr.shape[0]} rows but positions has {n}")
        order = np.argsort(id_arr, kind="stable")
        sorted_ids = id_arr[order]
        dup = np.flatnonzero(sorted_ids[1:] == sorted_ids[:-1])
        if dup.size:
            i = int(order[dup[0] + 1])
            raise ValueError(f"ids[{i}] = {int(id_arr[i])} is a duplicate; ids must be unique")
        self.margin = _float_arg(margin, "margin", 0.0, float(_core.MAX_COORDINATE))
        self.max_migrations = _int_arg(max_migrations, "max_migrations", 0, 2**62)
        self.rebalance_every = _int_arg(rebalance_every, "rebalance_every", 0, 2**62)
        self.max_shift = _float_arg(max_shift, "max_shift", 0.0, float(_core.MAX_COORDINATE))
        self.tolerance = _float_arg(tolerance, "tolerance", 0.0, 1.0)
        self._k = k
        self._ids = id_arr.copy()
        self._sorted_ids = sorted_ids
        self._order = order
        dense = n > 0 and sorted_ids[-1] - sorted_ids[0] == n - 1
        self._dense_base = int(sorted_ids[0]) if dense else None  # ids = base + row
        if dense and not np.array_equal(order, np.arange(n)):
            self._dense_base = None  # a permuted range: rows are not id - base
        self._scratch = np.zeros(n, dtype=np.int64)  # duplicate detection in O(m)
        self._pos = pos.copy()
        self._w = w.copy() if w.sum() > 0 else np.ones(n)
        servers, regions, axis, split, children = _core.kd_partition(pos, w, k)
        self._server = servers.astype(np.int64)  # int64: the core's row/id type, no copies
        self._regions = regions
        self._axis = axis.astype(np.int64)
        self._split = split.copy()
        self._children = children.astype(np.int64)
        self._loads = np.bincount(self._server, weights=self._w, minlength=k)
        self._pending = np.empty(0, dtype=np.int64)  # row indices awaiting a capped migration
        self._tick = 0
        self._migrations: list[int] = []
        self._node_range = self._subtree_ranges()

    # ---------------------------------------------------------------- read-only views
    @property
    def n_servers(self) -> int:
        """Number of servers."""
        return self._k

    @property
    def ids(self) -> IntArray:
        """Entity ids in row order (read-only view)."""
        v = self._ids.view()
        v.flags.writeable = False
        return v

    @property
    def servers(self) -> npt.NDArray[np.int32]:
        """Current server of each entity, in row order (int32 copy)."""
        return self._server.astype(np.int32)

    @property
    def regions(self) -> FloatArray:
        """Current region box of each server, shape (n_servers, 6) (copy)."""
        return self._regions.copy()

    @property
    def positions(self) -> FloatArray:
        """Last known position of each entity (copy)."""
        return self._pos.copy()

    @property
    def loads(self) -> FloatArray:
        """Summed weight per server (copy)."""
        return self._loads.copy()

    @property
    def pending(self) -> IntArray:
        """Ids waiting to migrate because of the per-tick cap, ascending."""
        return np.sort(self._ids[self._pending])

    # ---------------------------------------------------------------- internals
    def _subtree_ranges(self) -> npt.NDArray[np.int64]:
        """(n_nodes, 3): first server, servers on the low side, servers in the subtree."""
        n_nodes = self._k - 1
        out = np.zeros((n_nodes, 3), dtype=np.int64)
        if n_nodes == 0:
            return out
        stack = [(0, 0, self._k)]
        while stack:
            node, s0, k = stack.pop()
            kl = k // 2
            out[node] = (s0, kl, k)
            left, right = self._children[node]
            if left >= 0:
                stack.append((int(left), s0, kl))
            if right >= 0:
                stack.append((int(right), s0 + kl, k - kl))
        return out

    def _recompute_regions(self) -> None:
        lim = float(_core.MAX_COORDINATE)
        if self._k == 1:
            self._regions = np.array([[-lim] * 3 + [lim] * 3])
            return
        regions = np.zeros((self._k, 6))
        stack = [(0, np.array([-lim] * 3), np.array([lim] * 3))]
        while stack:
            node, lo, hi = stack.pop()
            a = int(self._axis[node])
            # a parent's plane may have moved past this one: keep it inside its region, so
            # every region stays a box (lo <= hi) and the regions keep tiling the world
            s = min(max(float(self._split[node]), lo[a]), hi[a])
            self._split[node] = s
            lhi, rlo = hi.copy(), lo.copy()
            lhi[a] = s
            rlo[a] = s
            for child, clo, chi in (
                (self._children[node, 0], lo, lhi),
                (self._children[node, 1], rlo, hi),
            ):
                if child >= 0:
                    stack.append((int(child), clo, chi))
                else:
                    srv = -int(child) - 1
                    regions[srv, :3] = clo
                    regions[srv, 3:] = chi
        self._regions = regions

    def _natural(self, pts: FloatArray) -> npt.NDArray[np.int32]:
        """Server whose region contains each point (descent rule: ``<= split`` goes low)."""
        if self._k == 1:
            return np.zeros(pts.shape[0], dtype=np.int32)
        node = np.zeros(pts.shape[0], dtype=np.int64)
        active = np.arange(pts.shape[0])
        result = np.zeros(pts.shape[0], dtype=np.int32)
        for _ in range(64):  # depth <= log2(MAX_SERVERS) + 1; the cap only bounds the loop
            if active.size == 0:
                break
            nd = node[active]
            go_low = pts[active, self._axis[nd]] <= self._split[nd]
            child = np.where(go_low, self._children[nd, 0], self._children[nd, 1])
            leaf = child < 0
            result[active[leaf]] = (-child[leaf] - 1).astype(np.int32)
            node[active[~leaf]] = child[~leaf]
            active = active[~leaf]
        return result

    def _rows(self, ids: npt.ArrayLike, name: str) -> IntArray:
        """Row of each id; ValueError naming the first unknown or repeated one. O(m) when
        the ids are a contiguous range (the default), else O(m log n)."""
        if isinstance(ids, (list, tuple)) and len(ids) == 0:
            ids = np.empty(0, dtype=np.int64)  # an empty list is float64 to numpy
        arr = _core.as_ids(ids, name)
        n = self._sorted_ids.size
        if self._dense_base is not None:
            rows = arr - self._dense_base
            bad = (arr < self._dense_base) | (rows >= n)
        else:
            pos = np.searchsorted(self._sorted_ids, arr)
            pos_c = np.minimum(pos, max(n - 1, 0))
            bad = (pos >= n) | (self._sorted_ids[pos_c] != arr) if n else np.ones(arr.size, bool)
            rows = self._order[pos_c].astype(np.int64) if n else arr
        if np.any(bad):
            i = int(np.argmax(bad))
            raise ValueError(f"{name}[{i}] = {int(arr[i])} is not a known id")
        if rows.size > 1:
            # duplicates without sorting: the last write to a scratch slot wins, so an id seen
            # twice reads back a different position at its first occurrence
            order = np.arange(rows.size)
            self._scratch[rows] = order
            dup = self._scratch[rows] != order
            if dup.any():
                i = int(np.argmax(dup))
                raise ValueError(f"{name}[{i}] = {int(arr[i])} is a duplicate; ids must be unique")
        return rows

    def _shift_boundaries(self) -> bool:
        """Move each unbalanced split plane by at most max_shift toward balance."""
        if self._k == 1 or self.max_shift == 0.0:
            return False
        csum = np.concatenate([[0.0], np.cumsum(self._loads)])
        s0, kl, k = self._node_range[:, 0], self._node_range[:, 1], self._node_range[:, 2]
        left = csum[s0 + kl] - csum[s0]
        total = csum[s0 + k] - csum[s0]
        share = total * kl / k
        err = left - share
        move = np.abs(err) > self.tolerance * np.maximum(total / k, 1e-300)
        if not move.any():
            return False
        lim = float(_core.MAX_COORDINATE)
        step = np.where(err > 0, -self.max_shift, self.max_shift)
        self._split = np.where(move, np.clip(self._split + step, -lim, lim), self._split)
        self._recompute_regions()  # clamps child planes into their (moved) parent's region
        return True

    # ---------------------------------------------------------------- the tick
    def update(self, moved_ids: npt.ArrayLike, new_positions: npt.ArrayLike) -> Migration:
        """Record moved entities and migrate those that left their region by > ``margin``.

        Parameters
        ----------
        moved_ids : array_like of int, shape (m,)
            Known, unique entity ids.
        new_positions : array_like, shape (m, 3)
            Their new positions (finite, within MAX_COORDINATE).

        Returns
        -------
        Migration
            Ids (ascending) that changed server this tick, with source and destination.
            At most ``max_migrations`` of them; candidates over the cap stay pending,
            farthest outside their region first.

        Raises
        ------
        TypeError, ValueError
            Bad arrays, mismatched lengths, unknown or duplicate ids. State unchanged.
        """
        rows = self._rows(moved_ids, "moved_ids")
        pts = _core.as_rows(new_positions, "new_positions", 3)
        if pts.shape[0] != rows.shape[0]:
            raise ValueError(
                f"new_positions has {pts.shape[0]} rows but moved_ids has {rows.shape[0]}"
            )
        # --- validated: commit
        self._pos[rows] = pts
        self._tick += 1
        cand = rows
        cand_pts = pts  # positions of cand, gathered only when cand is not just rows
        if self._pending.size:
            cand = np.union1d(rows, self._pending)
            cand_pts = None
        if (
            self.rebalance_every
            and self._tick % self.rebalance_every == 0
            and self._shift_boundaries()
        ):
            # a boundary moved: anyone may now be outside their region (O(n), once a period)
            far = _core.entities_outside_regions(
                self._pos, self._server, self._regions, self.margin
            )
            cand = np.union1d(cand, far)
            cand_pts = None
        if cand_pts is None:
            cand_pts = self._pos[cand]
        # squared distance outside the current region vs margin^2: no sqrt on the hot path
        d2 = _outside_sq(cand_pts, self._regions[self._server[cand]])
        want = d2 > self.margin**2
        cand, d2 = cand[want], d2[want]
        if cand.size > self.max_migrations:
            pick = np.lexsort((self._ids[cand], -d2))  # farthest first, then by id
            go = cand[pick[: self.max_migrations]]
            self._pending = np.sort(cand[pick[self.max_migrations :]])
        else:
            go = cand
            if self._pending.size:
                self._pending = np.empty(0, dtype=np.int64)
        if go.size == 0:
            self._migrations.append(0)
            empty = np.empty(0, dtype=np.int32)
            return Migration(np.empty(0, dtype=np.int64), empty, empty.copy())
        src = self._server[go].astype(np.int32)
        dst = self._natural(self._pos[go])
        self._server[go] = dst
        np.subtract.at(self._loads, src, self._w[go])
        np.add.at(self._loads, dst, self._w[go])
        self._migrations.append(int(go.size))
        out_ids = self._ids[go]
        o = np.argsort(out_ids, kind="stable")
        return Migration(out_ids[o], src[o], dst[o])

    def border_sets(self, radius: float) -> tuple[IntArray, IntArray]:
        """:func:`border_sets` of the current state, returning entity ids (not rows).

        ``radius`` should include ``margin`` (an entity may stand up to ``margin`` outside its
        server's region).
        """
        offsets, rows = border_sets(self._pos, self._server, self._regions, radius)
        ids = self._ids[rows]
        for s in range(self._k):  # ids may not follow row order: sort each server's run
            a, b = offsets[s], offsets[s + 1]
            ids[a:b] = np.sort(ids[a:b])
        return offsets, ids

    def report(self, radius: float | None = None) -> dict[str, float]:
        """Quality figures: loads, imbalance, and migrations per tick (mean and max).

        With ``radius``, also ``ghosts`` and ``border_fraction`` (see :func:`shard_report`).
        """
        ghosts = None
        if radius is not None:
            ghosts = self.border_sets(radius)[1]
        out = _quality(self._loads, self._pos.shape[0], ghosts)
        m = np.asarray(self._migrations, dtype=np.float64)
        out["ticks"] = float(self._tick)
        out["migrations_per_tick"] = float(m.mean()) if m.size else 0.0
        out["max_migrations_per_tick"] = float(m.max()) if m.size else 0.0
        out["total_migrations"] = float(m.sum())
        out["pending"] = float(self._pending.size)
        return out
