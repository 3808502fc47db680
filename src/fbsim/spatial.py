# SPDX-License-Identifier: MIT
"""Broad phase: persistent, incremental spatial indexes over axis-aligned boxes.

Three structures share one interface. Each keeps boxes keyed by int64 ids you choose, across
ticks, and answers exactly (touching boxes, ``lo == hi`` on an axis, overlap):

* :class:`SpatialHash` -- hierarchical loose grid. Each box sits in one cell of the level whose
  cells are just larger than the box, so a 1000-stud baseplate occupies one coarse cell rather
  than a million fine ones. The boxes are kept sorted by cell, so ``pairs()`` needs no
  sorting: on the most populated level, when its boxes fill a compact block of cells and no
  cell holds more than 32 (similar sizes, the common case), it walks the cells, each against
  its 13 forward neighbours; otherwise it sweeps grid columns along x. A level with a
  crowded cell (a wall of bricks sharing one min x, specks piled in one cell) is re-gridded
  for the call instead: swept along the axis where its boxes spread most, in a grid sized to
  them (O(n log n) per call, within a small factor of DynamicTree on such scenes). Writes are log-structured: ``update`` is O(1) per box that stays in its cell;
  inserts and cell-changing updates go to a small sorted side buffer (a few us per call,
  whatever n) and removes leave tombstones; the write that overfills the buffer (4096 boxes
  at most) pays one O(n) merge, ~10-20 ms at a million boxes. So single-item requests are
  cheap (median ~4 us at 1e6 from Python, ~8 us amortised), and large batches merge at once
  (one O(n + m log n) pass). **Choose it** for many
  similar-sized, moving boxes (players, projectiles, dropped items) and for "what overlaps
  what" every tick; it is the fastest ``pairs()`` on dense, uniform scenes.
* :class:`SweepAndPrune` -- intervals on one axis kept sorted by insertion sort, which is
  near-linear when boxes move a little between ticks. **Choose it** when the world is spread
  out along one axis (a long obby, a flat map swept along x) or for thin slab queries; in a
  dense 3D cube one axis prunes poorly and ``pairs()`` is slower than the others.
* :class:`DynamicTree` -- bounding-volume hierarchy of boxes fattened by ``margin`` (boxes that
  move less than the margin cost nothing to update), balanced by rotations. **Choose it** for
  very mixed sizes, mostly static worlds that are queried a lot (raycasts, region queries,
  placement checks over a million items), and when you cannot guess a cell size.

``docs/performance_broadphase.md`` has the measured build, update, pairs and query times of
each, next to python-fcl, coal and scipy's cKDTree.

Results are numpy arrays: ``pairs()`` is int64 ``(M, 2)`` with the smaller id first and rows
sorted; box, sphere and ray queries return CSR ``(offsets, ids)``: the answers of query ``q``
are ``ids[offsets[q]:offsets[q + 1]]``, sorted. Optional per-id layers: an item has ``layers``
bits (default 1) and ``masks`` bits (default all); two items pair only if each one's layer
meets the other's mask, and queries take a ``mask`` selecting layers.

Batches are atomic: every row is validated (finite, ``|v| <= MAX_COORDINATE``, ``lo <= hi``,
ids unique and present/absent as required) before anything changes, so a bad row leaves the
structure exactly as it was. Queries may run from many threads at once (the GIL is released);
mutations take an exclusive lock.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from fbsim import _core

__all__ = ["DynamicTree", "SpatialHash", "SweepAndPrune"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Csr = tuple[IntArray, IntArray]

_MAX_RAY = 4e6  # longer than any segment inside the world (2 * sqrt(3) * MAX_COORDINATE)


def _split(lo: npt.ArrayLike, hi: npt.ArrayLike | None) -> tuple[object, object]:
    """``(lo, hi)`` as given, or split an ``(n, 6)`` AABB batch passed as ``lo`` alone."""
    if hi is not None:
        return lo, hi
    boxes = _core.as_rows(lo, "aabbs", 6)
    return boxes[:, :3], boxes[:, 3:]


def _ids(ids: object) -> object:
    """An empty list has dtype float64 in numpy; accept it as "no ids"."""
    if isinstance(ids, (list, tuple)) and len(ids) == 0:
        return np.empty(0, dtype=np.int64)
    return ids


def _ray_lengths(max_t: npt.ArrayLike, n: int) -> object:
    """Broadcast a scalar ``max_t``; ``inf`` means "the whole world"."""
    if max_t is None:
        raise TypeError("max_t must be a number or an array of shape (n,), not None")
    if np.ndim(max_t) == 0:
        try:
            v = float(max_t)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise TypeError(f"max_t must be a real number, got {type(max_t).__name__}") from None
        if isinstance(max_t, (bool, np.bool_)):
            raise TypeError("max_t must be a real number, not bool")
        max_t = np.full(n, v)
    arr = np.asarray(max_t)
    if arr.dtype.kind == "f":
        arr = np.where(np.isposinf(arr), _MAX_RAY, arr)
    return arr


class _Broadphase:
    """Shared interface; see the module docstring."""

    __slots__ = ("_core",)
    _core: _core.SpatialHash | _core.SweepAndPrune | _core.DynamicTree

    def insert(
        self,
        ids: npt.ArrayLike,
        lo: npt.ArrayLike,
        hi: npt.ArrayLike | None = None,
        layers: npt.ArrayLike | None = None,
        masks: npt.ArrayLike | None = None,
    ) -> None:
        """Add boxes.

        Parameters
        ----------
        ids : array_like of int, shape (n,)
            New ids, unique, not yet present.
        lo, hi : array_like, shape (n, 3)
            Box corners, ``lo <= hi``. Alternatively pass an ``(n, 6)`` batch as ``lo`` and
            leave ``hi`` None.
        layers, masks : array_like of int, shape (n,), optional
            32-bit layer bits (default 1) and the layers each item collides with (default all).

        Raises
        ------
        TypeError
            An argument is None (except ``hi``/``layers``/``masks``) or not numeric/integer.
        ValueError
            Wrong shape, mismatched lengths, NaN/inf, ``|v| > MAX_COORDINATE``, ``lo > hi``,
            an id repeated in the batch or already present, a layer outside 32 bits. The
            structure is unchanged.
        """
        lo, hi = _split(lo, hi)
        self._core.insert(_ids(ids), lo, hi, layers, masks)

    def update(
        self, ids: npt.ArrayLike, lo: npt.ArrayLike, hi: npt.ArrayLike | None = None
    ) -> None:
        """Move existing boxes to new bounds (layers are kept).

        Raises
        ------
        TypeError, ValueError
            As :meth:`insert`; also an id that is not present. The structure is unchanged.
        """
        lo, hi = _split(lo, hi)
        self._core.update(_ids(ids), lo, hi)

    def remove(self, ids: npt.ArrayLike) -> None:
        """Remove boxes by id.

        Raises
        ------
        TypeError, ValueError
            Not integers, an id repeated or not present. The structure is unchanged.
        """
        self._core.remove(_ids(ids))

    def __len__(self) -> int:
        return len(self._core)

    def __contains__(self, id: object) -> bool:
        return isinstance(id, (int, np.integer)) and int(id) in self._core

    @property
    def max_results(self) -> int:
        """Cap on one query's result size: ids of a ``query_aabb`` / ``query_sphere`` /
        ``raycast`` batch, or rows of ``pairs`` / ``pairs_with`` (counted before layer masks).
        Past it the query raises ValueError naming the limit instead of allocating (default
        ``fbsim.MAX_QUERY_RESULTS`` = 2**31). Settable (any integer >= 0); setting waits for
        running queries like any mutation."""
        return self._core.max_results

    @max_results.setter
    def max_results(self, limit: int) -> None:
        self._core.max_results = limit

    @property
    def max_items(self) -> int:
        """Most boxes the structure accepts: ``fbsim.MAX_BROADPHASE_ITEMS`` = 2**32 - 2 (32-bit
        slots) by default. An ``insert`` past it raises ValueError naming the limit, and
        nothing is inserted. Settable to any integer in [0, MAX_BROADPHASE_ITEMS] (a server's
        own, smaller bound); setting waits for running queries like any mutation."""
        return self._core.max_items

    @max_items.setter
    def max_items(self, limit: int) -> None:
        self._core.max_items = limit

    @property
    def nbytes(self) -> int:
        """Heap bytes held by the structure (buffer capacities)."""
        return self._core.nbytes

    def pairs(self, ids: npt.ArrayLike | None = None) -> IntArray:
        """All overlapping pairs, each once.

        Parameters
        ----------
        ids : array_like of int, optional
            Only pairs involving at least one of these ids (for example the ones that moved
            this tick). All must be present.

        Returns
        -------
        ndarray of int64, shape (m, 2)
            ``(smaller id, larger id)`` rows in ascending order. Layer masks apply.

        Raises
        ------
        TypeError, ValueError
            ``ids`` not integers, repeated, or not present.
        """
        return self._core.pairs(_ids(ids))

    def pairs_with(self, other: _Broadphase) -> IntArray:
        """Overlapping pairs ``(id in self, id in other)`` across two structures, rows sorted.

        Raises
        ------
        TypeError
            ``other`` is not a SpatialHash, SweepAndPrune or DynamicTree.
        """
        if not isinstance(other, _Broadphase):
            raise TypeError("other must be a SpatialHash, SweepAndPrune or DynamicTree")
        return self._core.pairs_with(other._core)

    def query_aabb(
        self, lo: npt.ArrayLike, hi: npt.ArrayLike | None = None, mask: int | None = None
    ) -> Csr:
        """Ids of boxes overlapping each query box (touching counts).

        Parameters
        ----------
        lo, hi : array_like, shape (q, 3)
            Query corners (or an ``(q, 6)`` batch as ``lo``).
        mask : int, optional
            Only items whose layer has a bit in ``mask``.

        Returns
        -------
        offsets : ndarray of int64, shape (q + 1,)
        ids : ndarray of int64
            Query ``k``'s ids are ``ids[offsets[k]:offsets[k + 1]]``, ascending.

        Raises
        ------
        TypeError, ValueError
            Per the boundary rules, and ``lo > hi``.
        """
        lo, hi = _split(lo, hi)
        return self._core.query_aabb(lo, hi, mask)

    def query_sphere(
        self, centers: npt.ArrayLike, radii: npt.ArrayLike, mask: int | None = None
    ) -> Csr:
        """Ids of boxes within ``radii[k]`` of ``centers[k]`` (distance to the box <= radius).

        Raises
        ------
        TypeError, ValueError
            Per the boundary rules; negative radii.
        """
        return self._core.query_sphere(centers, radii, mask)

    def raycast(
        self,
        origins: npt.ArrayLike,
        dirs: npt.ArrayLike,
        max_t: npt.ArrayLike,
        mask: int | None = None,
    ) -> Csr:
        """All boxes hit by each ray segment, CSR like :meth:`query_aabb`.

        Parameters
        ----------
        origins, dirs : array_like, shape (q, 3)
            Ray starts and directions (any non-zero length; normalised).
        max_t : float or array_like, shape (q,)
            Segment lengths in studs, >= 0; ``inf`` means unbounded.

        Raises
        ------
        TypeError, ValueError
            Per the boundary rules; zero directions (length < 1e-9), negative ``max_t``.
        """
        n = int(np.shape(origins)[0]) if np.ndim(origins) >= 1 else 0
        return self._core.raycast(origins, dirs, _ray_lengths(max_t, n), mask)

    def raycast_first(
        self,
        origins: npt.ArrayLike,
        dirs: npt.ArrayLike,
        max_t: npt.ArrayLike,
        mask: int | None = None,
    ) -> tuple[IntArray, FloatArray]:
        """Closest box hit by each ray.

        Returns
        -------
        ids : ndarray of int64, shape (q,)
            The closest hit (ties: smaller id), -1 for a miss.
        t : ndarray of float64, shape (q,)
            Distance to the entry point in studs (0 if the origin is inside), inf for a miss.

        Raises
        ------
        TypeError, ValueError
            As :meth:`raycast`.
        """
        n = int(np.shape(origins)[0]) if np.ndim(origins) >= 1 else 0
        return self._core.raycast_first(origins, dirs, _ray_lengths(max_t, n), mask)

    def check_invariants(self) -> bool:
        """Debug check of the internal invariants, O(n). True when consistent."""
        return self._core.check_invariants()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={len(self)})"


class SpatialHash(_Broadphase):
    """Hierarchical loose grid kept as one index sorted by cell (see the module docstring for
    when to choose it, and for the cost of each operation).

    Parameters
    ----------
    cell_size : float, optional
        Finest cell side in studs, in [1e-3, 1e6]. None picks it from the first insert: 1.01 x
        the largest box side that is at most 4x the median side, and picks it again by the same
        rule, from all stored boxes, at a merge of the side buffer when it is off by more than
        8x (a baseplate inserted alone, then thousands of bricks; one O(n log n) rekey, the
        next only after n / 2 more boxes written, so O(log n) amortised per write). Boxes
        larger than a cell go to coarser levels (cells double per level).

    Raises
    ------
    TypeError, ValueError
        ``cell_size`` not a finite number in range.
    """

    __slots__ = ()

    def __init__(self, cell_size: float | None = None) -> None:
        self._core = _core.SpatialHash(cell_size)

    @property
    def cell_size(self) -> float:
        """Finest cell side in use (0.0 until chosen automatically; an automatic size may
        change at merges, see the class docstring)."""
        return self._core.cell_size

    @property
    def buffer_cap(self) -> int:
        """Most boxes the side buffer holds before a write merges it into the sorted index.

        Inserts and cell-changing updates go to the buffer (a write costs O(buffer)); the
        write that would overfill it merges everything, O(n). Automatic by default:
        min(4096, max(64, n / 16)). Set an int in [0, 2**20] to fix it (0: every write
        merges at once; may merge right away), or None for automatic.

        Raises
        ------
        TypeError, ValueError
            Not None and not an integer in range.
        """
        return self._core.buffer_cap

    @buffer_cap.setter
    def buffer_cap(self, cap: int | None) -> None:
        self._core.buffer_cap = cap

    @property
    def buffered(self) -> int:
        """Boxes currently in the side buffer (written since the last merge)."""
        return self._core.buffered

    @property
    def tombstones(self) -> int:
        """Removed or moved-out boxes still marked in the sorted index until the next merge."""
        return self._core.tombstones


class SweepAndPrune(_Broadphase):
    """Sweep and prune along one axis (see the module docstring for when to choose it).

    Parameters
    ----------
    axis : int
        0, 1 or 2 (x, y, z): the axis along which the world is most spread out.

    Raises
    ------
    TypeError, ValueError
        ``axis`` not one of 0, 1, 2.
    """

    __slots__ = ()

    def __init__(self, axis: int = 0) -> None:
        self._core = _core.SweepAndPrune(axis)

    @property
    def axis(self) -> int:
        """The sweep axis."""
        return self._core.axis


class DynamicTree(_Broadphase):
    """Dynamic AABB tree (see the module docstring for when to choose it).

    Parameters
    ----------
    margin : float
        Studs added on every side of a stored box; updates that stay inside are free.
        In [0, 1e6].

    Raises
    ------
    TypeError, ValueError
        ``margin`` not a finite number in range.
    """

    __slots__ = ()

    def __init__(self, margin: float = 0.1) -> None:
        self._core = _core.DynamicTree(margin)

    @property
    def margin(self) -> float:
        """The fattening margin, studs."""
        return self._core.margin

    @property
    def height(self) -> int:
        """Tree height (-1 when empty)."""
        return self._core.height
