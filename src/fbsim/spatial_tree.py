# SPDX-License-Identifier: MIT
"""Loose octree (3D) and quadtree (2D) over points or boxes that change every tick.

Both are built in bulk from arrays and then updated by id (``insert``/``move``/``remove``)
without rebuilding. Queries are batched, return numpy arrays and are deterministic: k nearest
neighbours come ordered by (distance, id), range results (CSR ``offsets, ids``) list ids
ascending, ray casts return the nearest hit (smallest id on ties). ``workers=`` splits a query
batch over threads as scipy's ``cKDTree`` does (``-1``: one per CPU); results never depend on it.

Distances are Euclidean, in studs, from the query point to the item (0 inside a box). Items
are stored exactly as given (float64), so for points every distance is bit-identical to
``sqrt(sum((q - p) ** 2))``.

Thread-safety: any number of Python threads may query a tree at once (the GIL is released);
an update waits for running queries and blocks new ones until it finishes.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import numpy.typing as npt

from fbsim import _core

__all__ = ["MAX_RAY_DISTANCE", "Octree", "Quadtree"]

MAX_RAY_DISTANCE: float = _core.MAX_RAY_DISTANCE
"""Longest accepted ray or radius, studs (longer than any segment in the world)."""

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class _SpatialTree:
    """Shared implementation of :class:`Octree` and :class:`Quadtree`."""

    _dim: ClassVar[int] = 3
    _core_type: ClassVar[type] = _core.Octree

    __slots__ = ("_tree",)

    def __init__(self, points: npt.ArrayLike, ids: npt.ArrayLike | None = None) -> None:
        self._tree = self._core_type(points, ids, False)

    @classmethod
    def from_aabbs(cls, aabbs: npt.ArrayLike, ids: npt.ArrayLike | None = None):
        """A tree of boxes instead of points.

        Parameters
        ----------
        aabbs : array_like, shape (n, 2 * dim)
            ``(min..., max...)`` per box: ``(n, 6)`` for an octree, ``(n, 4)`` for a quadtree.
        ids : array_like of int, shape (n,), optional
            Unique ids; ``0..n-1`` when omitted.

        Raises
        ------
        TypeError
            ``aabbs`` or ``ids`` not numeric (ids must be integers).
        ValueError
            Wrong shape, non-finite or out-of-range values, ``max < min``, duplicate ids,
            mismatched lengths.
        """
        self = cls.__new__(cls)
        self._tree = cls._core_type(aabbs, ids, True)
        return self

    # ------------------------------------------------------------------ contents
    @property
    def boxes(self) -> bool:
        """True for a tree of boxes (:meth:`from_aabbs`), False for points."""
        return self._tree.boxes

    @property
    def max_results(self) -> int:
        """Cap on one :meth:`radius` / :meth:`query_aabb` batch's result size, in ids. Past
        it the query raises ValueError naming the limit instead of allocating (default
        ``fbsim.MAX_QUERY_RESULTS`` = 2**31); the search stops once the cap is passed, and the
        tree is unchanged. Settable (any integer >= 0); setting waits for running queries like
        any update. The ``*_count`` queries are not capped."""
        return self._tree.max_results

    @max_results.setter
    def max_results(self, limit: int) -> None:
        self._tree.max_results = limit

    def __len__(self) -> int:
        return len(self._tree)

    def __contains__(self, id_: object) -> bool:
        return self._tree.__contains__(id_)

    def ids(self) -> IntArray:
        """All ids, ascending."""
        return self._tree.ids()

    def get(self, ids: npt.ArrayLike) -> FloatArray:
        """Current geometry of ``ids``: points ``(m, dim)`` or boxes ``(m, 2 * dim)``.

        Raises
        ------
        ValueError
            An id is not in the tree (``ids[i]`` named).
        """
        return self._tree.get(ids)

    # ------------------------------------------------------------------ updates
    def insert(self, ids: npt.ArrayLike, items: npt.ArrayLike) -> None:
        """Add items with new ids. Atomic: on any error the tree is unchanged.

        Parameters
        ----------
        ids : array_like of int, shape (m,)
            New, unique ids.
        items : array_like, shape (m, dim) for points or (m, 2 * dim) for boxes

        Raises
        ------
        TypeError
            Non-integer ids or non-numeric items.
        ValueError
            An id already in the tree or repeated in the batch, bad coordinates, mismatched
            lengths.
        """
        self._tree.insert(ids, items)

    def move(self, ids: npt.ArrayLike, items: npt.ArrayLike) -> None:
        """Replace the geometry of existing ids. Atomic.

        Raises
        ------
        TypeError, ValueError
            As :meth:`insert`; unknown or repeated ids are rejected.
        """
        self._tree.move(ids, items)

    def remove(self, ids: npt.ArrayLike) -> None:
        """Remove existing ids. Atomic.

        Raises
        ------
        TypeError, ValueError
            Non-integer ids, unknown or repeated ids.
        """
        self._tree.remove(ids)

    # ------------------------------------------------------------------ queries
    def knn(self, queries: npt.ArrayLike, k: int, workers: int = 1) -> tuple[FloatArray, IntArray]:
        """Exact k nearest items of each query point.

        Parameters
        ----------
        queries : array_like, shape (q, dim)
        k : int
            ``1 <= k <= len(self)``.
        workers : int, default 1
            Threads; ``-1`` for one per CPU.

        Returns
        -------
        dist : ndarray, shape (q, k)
            Distances in studs, ascending (0 for a point inside a box).
        ids : ndarray of int64, shape (q, k)
            The first k items in the order (distance, id).

        Raises
        ------
        TypeError
            ``k``/``workers`` not an int, ``queries`` not numeric.
        ValueError
            ``k <= 0`` or ``k > len(self)``, non-finite or out-of-range queries, bad workers.
        """
        return self._tree.knn(queries, k, workers)

    def radius(
        self, queries: npt.ArrayLike, r: float | npt.ArrayLike, workers: int = 1
    ) -> tuple[IntArray, IntArray]:
        """Items within distance ``r`` (closed ball) of each query point.

        Parameters
        ----------
        queries : array_like, shape (q, dim)
        r : float or array_like, shape (q,)
            One radius for all queries or one each, ``0 <= r <= MAX_RAY_DISTANCE``.
        workers : int, default 1

        Returns
        -------
        offsets : ndarray of int64, shape (q + 1,)
        ids : ndarray of int64
            Query ``i`` found ``ids[offsets[i]:offsets[i + 1]]``, ascending.

        Raises
        ------
        TypeError, ValueError
            Bad queries, negative/non-finite radii (``r`` or ``r[i]`` named), length mismatch;
            the batch's result would exceed :attr:`max_results` ids (the limit is named).
        """
        return self._tree.radius(queries, r, workers)

    def radius_count(
        self, queries: npt.ArrayLike, r: float | npt.ArrayLike, workers: int = 1
    ) -> IntArray:
        """Number of items :meth:`radius` would return per query, shape (q,), int64.

        Raises
        ------
        TypeError, ValueError
            As :meth:`radius`.
        """
        return self._tree.radius_count(queries, r, workers)

    def query_aabb(
        self, lo: npt.ArrayLike, hi: npt.ArrayLike, workers: int = 1
    ) -> tuple[IntArray, IntArray]:
        """Items overlapping each box ``[lo[i], hi[i]]`` (closed: touching counts).

        Parameters
        ----------
        lo, hi : array_like, shape (q, dim)
            Box corners, ``lo <= hi``.
        workers : int, default 1

        Returns
        -------
        offsets, ids : ndarray of int64
            CSR as in :meth:`radius`, ids ascending.

        Raises
        ------
        TypeError, ValueError
            Bad coordinates, ``hi < lo`` (``hi[i, a]`` named), length mismatch; the result
            would exceed :attr:`max_results` ids.
        """
        return self._tree.query_aabb(lo, hi, workers)

    def query_aabb_count(self, lo: npt.ArrayLike, hi: npt.ArrayLike, workers: int = 1) -> IntArray:
        """Number of items :meth:`query_aabb` would return per box, shape (q,), int64."""
        return self._tree.query_aabb_count(lo, hi, workers)

    def raycast(
        self,
        origins: npt.ArrayLike,
        directions: npt.ArrayLike,
        max_distance: float | npt.ArrayLike = MAX_RAY_DISTANCE,
        workers: int = 1,
    ) -> tuple[FloatArray, IntArray]:
        """First item hit by each ray (items are their boxes; points are zero-size boxes).

        Parameters
        ----------
        origins : array_like, shape (q, dim)
        directions : array_like, shape (q, dim)
            Any non-zero length (norm >= 1e-9); normalised, so distances are in studs.
        max_distance : float or array_like, shape (q,)
            Ignore hits farther than this, ``0 <= max_distance <= MAX_RAY_DISTANCE``.
        workers : int, default 1

        Returns
        -------
        t : ndarray, shape (q,)
            Hit distance (0 if the origin is inside an item), ``inf`` on a miss.
        ids : ndarray of int64, shape (q,)
            Id hit (the smallest among equal distances), ``-1`` on a miss.

        Raises
        ------
        TypeError, ValueError
            Bad coordinates, zero directions (``directions[i]`` named), bad max_distance.
        """
        return self._tree.raycast(origins, directions, max_distance, workers)

    def __repr__(self) -> str:
        kind = "boxes" if self.boxes else "points"
        return f"{type(self).__name__}(n={len(self)}, {kind})"


class Octree(_SpatialTree):
    """Loose octree over 3D points (or boxes, via :meth:`from_aabbs`), updated by id.

    Parameters
    ----------
    points : array_like, shape (n, 3)
        Item positions, finite, ``|v| <= MAX_COORDINATE``.
    ids : array_like of int, shape (n,), optional
        Unique int64 ids; ``0..n-1`` when omitted.

    Raises
    ------
    TypeError
        ``points`` is None or not real numbers; ``ids`` not integers.
    ValueError
        Wrong shape, non-finite or out-of-range coordinates (``points[i, j]`` named),
        duplicate ids, mismatched lengths.

    Examples
    --------
    >>> import numpy as np, fbsim
    >>> tree = fbsim.Octree(np.array([[0.0, 0, 0], [1, 0, 0], [5, 0, 0]]))
    >>> dist, ids = tree.knn([[0.9, 0, 0]], k=2)
    >>> ids.tolist()
    [[1, 0]]
    """

    _dim: ClassVar[int] = 3
    _core_type: ClassVar[type] = _core.Octree
    __slots__ = ()


class Quadtree(_SpatialTree):
    """Loose quadtree over 2D points (or boxes, via :meth:`from_aabbs`), updated by id.

    The same API as :class:`Octree` with ``dim = 2``: points ``(n, 2)``, boxes ``(n, 4)``,
    queries ``(q, 2)``. Use it for top-down footprints (plots, maps) by passing two axes.

    Raises
    ------
    TypeError, ValueError
        As :class:`Octree`.
    """

    _dim: ClassVar[int] = 2
    _core_type: ClassVar[type] = _core.Quadtree
    __slots__ = ()
