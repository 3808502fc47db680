# SPDX-License-Identifier: MIT
"""Geometry types and batch conversions.

Conventions for all of fbsim: distances in studs, times in seconds, float64 everywhere.
Quaternions are scalar-last ``(x, y, z, w)``, as ``scipy.spatial.transform.Rotation.as_quat()``;
any non-zero norm is accepted and normalised. An AABB is ``(min_x, min_y, min_z, max_x, max_y,
max_z)``, so a batch is an ``(n, 6)`` array. Coordinates and sizes must be finite with magnitude
at most :data:`MAX_COORDINATE` (1e6 studs); geometry stays exact to the 1e-3 placement tolerance
up to +-1e5.

Every function accepts array-likes, converts once to C-contiguous float64, and raises
``TypeError``/``ValueError`` naming the argument and the first bad element before any work.
Empty input gives empty output of the right shape.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from fbsim import _core

MAX_COORDINATE: float = _core.MAX_COORDINATE
"""Largest accepted absolute coordinate or size, studs."""

__all__ = [
    "MAX_COORDINATE",
    "Boxes",
    "Capsules",
    "Hulls",
    "Spheres",
    "capsule_to_aabb",
    "hull_to_aabb",
    "matrix_to_quat",
    "obb_to_aabb",
    "quat_to_matrix",
    "sphere_to_aabb",
    "transform_points",
]

FloatArray = npt.NDArray[np.float64]


def quat_to_matrix(quats: npt.ArrayLike) -> FloatArray:
    """Rotation matrices of quaternions.

    Parameters
    ----------
    quats : array_like, shape (n, 4) or (4,)
        Quaternions ``(x, y, z, w)``; normalised before use.

    Returns
    -------
    ndarray, shape (n, 3, 3) or (3, 3)
        Row-major matrices mapping local to world (``world = R @ local``).

    Raises
    ------
    TypeError
        ``quats`` is None or not real numbers.
    ValueError
        Wrong shape, a non-finite component, or a norm below 1e-9 (``quats[i]`` named).
    """
    if np.ndim(quats) == 1:
        return _core.quat_to_matrix(np.reshape(quats, (1, -1)))[0]
    return _core.quat_to_matrix(quats)


def matrix_to_quat(matrices: npt.ArrayLike) -> FloatArray:
    """Unit quaternions ``(x, y, z, w)`` of rotation matrices, with ``w >= 0``.

    Parameters
    ----------
    matrices : array_like, shape (n, 3, 3) or (3, 3)
        Rotation matrices, orthonormal within 1e-6 with determinant +1.

    Returns
    -------
    ndarray, shape (n, 4) or (4,)

    Raises
    ------
    TypeError
        Not real numbers.
    ValueError
        Wrong shape, non-finite entries, or ``matrices[i]`` not a rotation (reflections too).
    """
    if np.ndim(matrices) == 2:
        return _core.matrix_to_quat(np.reshape(matrices, (1, *np.shape(matrices))))[0]
    return _core.matrix_to_quat(matrices)


def obb_to_aabb(
    centers: npt.ArrayLike, quats: npt.ArrayLike, half_extents: npt.ArrayLike
) -> FloatArray:
    """Tight axis-aligned bounding boxes of oriented boxes.

    Parameters
    ----------
    centers : array_like, shape (n, 3)
    quats : array_like, shape (n, 4)
        Box rotations ``(x, y, z, w)``.
    half_extents : array_like, shape (n, 3)
        Half side lengths along the box axes, each >= 0.

    Returns
    -------
    ndarray, shape (n, 6)
        ``(min_xyz, max_xyz)`` per box.

    Raises
    ------
    TypeError, ValueError
        Per the boundary rules; also mismatched row counts, negative half extents, zero
        quaternions.
    """
    return _core.obb_to_aabb(centers, quats, half_extents)


def transform_points(
    points: npt.ArrayLike, translation: npt.ArrayLike, quat: npt.ArrayLike
) -> FloatArray:
    """Apply rigid transforms: ``rotate(quat, points) + translation``.

    Parameters
    ----------
    points : array_like, shape (n, 3)
    translation : array_like, shape (3,) or (n, 3)
        One translation for every point, or one per point.
    quat : array_like, shape (4,) or (n, 4)
        Same form as ``translation``: one rotation, or one per point.

    Returns
    -------
    ndarray, shape (n, 3)
    """
    return _core.transform_points(points, translation, quat)


def sphere_to_aabb(centers: npt.ArrayLike, radii: npt.ArrayLike) -> FloatArray:
    """AABBs ``(n, 6)`` of spheres with ``centers`` (n, 3) and ``radii`` (n,) >= 0."""
    return _core.sphere_to_aabb(centers, radii)


def capsule_to_aabb(p0: npt.ArrayLike, p1: npt.ArrayLike, radii: npt.ArrayLike) -> FloatArray:
    """AABBs ``(n, 6)`` of capsules: segments ``p0``-``p1`` (n, 3) swept by ``radii`` (n,)."""
    return _core.capsule_to_aabb(p0, p1, radii)


def hull_to_aabb(points: npt.ArrayLike, offsets: npt.ArrayLike) -> FloatArray:
    """AABBs ``(h, 6)`` of convex hulls stored CSR-style.

    Hull ``k`` is ``points[offsets[k]:offsets[k + 1]]``; ``offsets`` starts at 0, strictly
    increases (every hull has a point) and ends at ``len(points)``.
    """
    return _core.hull_to_aabb(points, offsets)


class _ShapeBatch:
    """Common behaviour of the immutable shape batches: length, read-only arrays, AABBs."""

    __slots__ = ()

    def __len__(self) -> int:
        raise NotImplementedError

    def aabbs(self) -> FloatArray:
        raise NotImplementedError

    @staticmethod
    def _frozen(a: np.ndarray) -> np.ndarray:
        # Own a private copy and freeze it: kernels may keep pointers into it (cKDTree's rule).
        a = np.array(a, dtype=np.float64, order="C", copy=True)
        a.flags.writeable = False
        return a

    def _rows(self, rows: npt.ArrayLike) -> np.ndarray:
        """``rows`` as int64 indices into this batch, each in ``[0, len(self))``."""
        idx = np.asarray(rows)
        if idx.dtype == np.bool_:
            if idx.shape != (len(self),):
                raise ValueError(f"rows: a boolean mask must have shape ({len(self)},)")
            return np.flatnonzero(idx)
        if idx.ndim != 1 or not (idx.size == 0 or np.issubdtype(idx.dtype, np.integer)):
            raise TypeError("rows must be a 1-D array of integer row indices or a boolean mask")
        idx = idx.astype(np.int64, copy=False)
        bad = np.flatnonzero((idx < 0) | (idx >= len(self)))
        if bad.size:
            raise ValueError(
                f"rows[{bad[0]}] = {idx[bad[0]]} is not a row of this batch of {len(self)}"
            )
        return idx

    def _with(self, **arrays: np.ndarray):
        # Rows of a validated batch are valid: skip the checks and the renormalisation.
        out = object.__new__(type(self))
        for name, a in arrays.items():
            a = np.ascontiguousarray(a)
            a.flags.writeable = False
            setattr(out, name, a)
        return out

    def take(self, rows: npt.ArrayLike):
        """A new batch of the same kind holding rows ``rows`` (indices or a boolean mask).

        Raises
        ------
        TypeError
            ``rows`` is not integer indices or a boolean mask.
        ValueError
            An index is outside ``[0, len(self))`` or a mask has the wrong length.
        """
        raise NotImplementedError


class Boxes(_ShapeBatch):
    """A batch of ``n`` oriented boxes.

    Parameters
    ----------
    centers : array_like, shape (n, 3)
    quats : array_like, shape (n, 4)
        Rotations ``(x, y, z, w)``; stored normalised.
    half_extents : array_like, shape (n, 3)
        Each >= 0.
    """

    __slots__ = ("centers", "half_extents", "quats")

    def __init__(
        self, centers: npt.ArrayLike, quats: npt.ArrayLike, half_extents: npt.ArrayLike
    ) -> None:
        c = _core.as_rows(centers, "centers", 3)
        q = _core.as_rows(quats, "quats", 4)
        h = _core.as_rows(half_extents, "half_extents", 3)
        # obb_to_aabb runs the full domain checks (lengths, zero quaternions, negative sizes).
        _core.obb_to_aabb(c, q, h)
        self.centers = self._frozen(c)
        self.quats = self._frozen(q / np.linalg.norm(q, axis=1, keepdims=True))
        self.half_extents = self._frozen(h)

    def __len__(self) -> int:
        return self.centers.shape[0]

    def aabbs(self) -> FloatArray:
        """Tight world AABBs, shape (n, 6)."""
        return _core.obb_to_aabb(self.centers, self.quats, self.half_extents)

    def take(self, rows: npt.ArrayLike) -> Boxes:
        r = self._rows(rows)
        return self._with(
            centers=self.centers[r], quats=self.quats[r], half_extents=self.half_extents[r]
        )

    def __repr__(self) -> str:
        return f"Boxes(n={len(self)})"


class Spheres(_ShapeBatch):
    """A batch of ``n`` spheres: ``centers`` (n, 3), ``radii`` (n,) >= 0."""

    __slots__ = ("centers", "radii")

    def __init__(self, centers: npt.ArrayLike, radii: npt.ArrayLike) -> None:
        c = _core.as_rows(centers, "centers", 3)
        r = _core.as_rows(radii, "radii", 0)
        _core.sphere_to_aabb(c, r)
        self.centers = self._frozen(c)
        self.radii = self._frozen(r)

    def __len__(self) -> int:
        return self.centers.shape[0]

    def aabbs(self) -> FloatArray:
        """Tight world AABBs, shape (n, 6)."""
        return _core.sphere_to_aabb(self.centers, self.radii)

    def take(self, rows: npt.ArrayLike) -> Spheres:
        r = self._rows(rows)
        return self._with(centers=self.centers[r], radii=self.radii[r])

    def __repr__(self) -> str:
        return f"Spheres(n={len(self)})"


class Capsules(_ShapeBatch):
    """A batch of ``n`` capsules: segments ``p0``-``p1`` (n, 3) swept by ``radii`` (n,) >= 0."""

    __slots__ = ("p0", "p1", "radii")

    def __init__(self, p0: npt.ArrayLike, p1: npt.ArrayLike, radii: npt.ArrayLike) -> None:
        a = _core.as_rows(p0, "p0", 3)
        b = _core.as_rows(p1, "p1", 3)
        r = _core.as_rows(radii, "radii", 0)
        _core.capsule_to_aabb(a, b, r)
        self.p0 = self._frozen(a)
        self.p1 = self._frozen(b)
        self.radii = self._frozen(r)

    def __len__(self) -> int:
        return self.p0.shape[0]

    def aabbs(self) -> FloatArray:
        """Tight world AABBs, shape (n, 6)."""
        return _core.capsule_to_aabb(self.p0, self.p1, self.radii)

    def take(self, rows: npt.ArrayLike) -> Capsules:
        r = self._rows(rows)
        return self._with(p0=self.p0[r], p1=self.p1[r], radii=self.radii[r])

    def __repr__(self) -> str:
        return f"Capsules(n={len(self)})"


class Hulls(_ShapeBatch):
    """A batch of convex hulls, each given by its points (interior points are harmless).

    Parameters
    ----------
    points_list : sequence of array_like, each shape (m_k, 3) with m_k >= 1
        The points of hull ``k``.

    Attributes
    ----------
    points : ndarray, shape (sum m_k, 3)
        All points, hull after hull.
    offsets : ndarray of int64, shape (n + 1,)
        Hull ``k`` is ``points[offsets[k]:offsets[k + 1]]``.
    """

    __slots__ = ("offsets", "points")

    def __init__(self, points_list: Sequence[npt.ArrayLike]) -> None:
        if points_list is None or isinstance(points_list, (str, bytes)):
            raise TypeError("points_list must be a sequence of (m, 3) point arrays")
        parts = [_core.as_rows(p, f"points_list[{k}]", 3) for k, p in enumerate(points_list)]
        for k, p in enumerate(parts):
            if p.shape[0] == 0:
                raise ValueError(f"points_list[{k}] is empty; a hull needs at least one point")
        counts = np.array([p.shape[0] for p in parts], dtype=np.int64)
        offsets = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        points = np.concatenate(parts) if parts else np.empty((0, 3))
        self.points = self._frozen(points)
        self.offsets = np.array(offsets)
        self.offsets.flags.writeable = False

    def __len__(self) -> int:
        return self.offsets.shape[0] - 1

    def aabbs(self) -> FloatArray:
        """Tight world AABBs of the points, shape (n, 6)."""
        return _core.hull_to_aabb(self.points, self.offsets)

    def take(self, rows: npt.ArrayLike) -> Hulls:
        r = self._rows(rows)
        counts = self.offsets[r + 1] - self.offsets[r]
        offsets = np.zeros(r.shape[0] + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        # Point k of the output hull j is point offsets_in[r[j]] + k of this batch.
        src = np.repeat(self.offsets[r] - offsets[:-1], counts) + np.arange(offsets[-1])
        return self._with(points=self.points[src].reshape(-1, 3), offsets=offsets)

    def __repr__(self) -> str:
        return f"Hulls(n={len(self)}, points={self.points.shape[0]})"
