# SPDX-License-Identifier: MIT
"""Narrow-phase collision between batches of convex shapes.

Shapes come as the batches of :mod:`fbsim.geometry`: :class:`~fbsim.Boxes`,
:class:`~fbsim.Spheres`, :class:`~fbsim.Capsules` and :class:`~fbsim.Hulls`. Pair queries take
two batches ``a`` and ``b`` and answer for pair ``i`` = ``(a[i], b[i])``. **One-vs-many:** a batch
of length 1 is broadcast against the other, so ``overlap(new_item, candidates)`` tests one new
item against K candidates and returns K answers. Otherwise both lengths must be equal.

Semantics (what a building game needs):

* ``overlap(a, b, tol)`` is True iff the shapes interpenetrate by **more** than ``tol`` studs.
  Touching (flush placement) is not overlapping, nor is an interpenetration of at most ``tol``.
* ``distance`` is 0 for overlapping or touching pairs; ``penetration`` depth is 0 for separated
  or touching pairs.
* Normals are unit vectors: from ``a`` towards ``b`` for penetration, and from the target
  towards the ray origin / moving shape for casts; zero where undefined (no hit, no contact).

Box-box overlap and depth use the separating axis theorem (exact at contact); every other pair
uses GJK (distance) and EPA (depth) on the shapes' cores (point, segment, box, hull) plus radii.
Coordinates up to +-1e5 keep full precision: each pair is solved in a frame centred on ``a``.
All queries release the GIL and are deterministic.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from fbsim import _core
from fbsim.geometry import Boxes, Capsules, Hulls, Spheres

__all__ = ["Shapes", "distance", "overlap", "penetration", "raycast", "shapecast"]

Shapes = Boxes | Spheres | Capsules | Hulls
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def _spec(shapes: object, name: str) -> tuple:
    """The (kind, arrays...) tuple _core takes for a shape batch."""
    if isinstance(shapes, Boxes):
        return ("box", shapes.centers, shapes.quats, shapes.half_extents)
    if isinstance(shapes, Spheres):
        return ("sphere", shapes.centers, shapes.radii)
    if isinstance(shapes, Capsules):
        return ("capsule", shapes.p0, shapes.p1, shapes.radii)
    if isinstance(shapes, Hulls):
        return ("hull", shapes.points, shapes.offsets)
    raise TypeError(
        f"{name} must be fbsim.Boxes, Spheres, Capsules or Hulls, not {type(shapes).__name__}"
    )


def overlap(a: Shapes, b: Shapes, tol: float = 0.0) -> BoolArray:
    """Whether each pair of shapes interpenetrates by more than ``tol``.

    Parameters
    ----------
    a, b : Boxes, Spheres, Capsules or Hulls
        Equal lengths N, or one of them of length 1 (broadcast: one item against N).
    tol : float, default 0.0
        Allowed interpenetration, studs, >= 0. Touching within ``tol`` is not overlapping, so
        ``tol=1e-3`` accepts placements that are flush up to the placement tolerance.

    Returns
    -------
    ndarray of bool, shape (N,)

    Raises
    ------
    TypeError
        ``a`` or ``b`` is not a shape batch, or ``tol`` is not a number.
    ValueError
        Lengths differ and neither is 1; ``tol`` negative, NaN or above MAX_COORDINATE.
    """
    return _core.overlap(_spec(a, "a"), _spec(b, "b"), tol)


def distance(a: Shapes, b: Shapes) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Separation distance and closest points of each pair.

    Parameters
    ----------
    a, b : Boxes, Spheres, Capsules or Hulls
        Equal lengths N, or one of length 1 (broadcast).

    Returns
    -------
    dist : ndarray, shape (N,)
        Studs, >= 0; exactly 0 for overlapping or touching pairs.
    point_a, point_b : ndarray, shape (N, 3)
        Closest points on ``a`` and on ``b``. For overlapping pairs both are one point common
        to the two shapes.

    Raises
    ------
    TypeError
        ``a`` or ``b`` is not a shape batch.
    ValueError
        Lengths differ and neither is 1.
    """
    return _core.distance(_spec(a, "a"), _spec(b, "b"))


def penetration(a: Shapes, b: Shapes) -> tuple[FloatArray, FloatArray]:
    """Penetration depth and contact normal of each pair.

    Parameters
    ----------
    a, b : Boxes, Spheres, Capsules or Hulls
        Equal lengths N, or one of length 1 (broadcast).

    Returns
    -------
    depth : ndarray, shape (N,)
        Shortest distance, studs, that ``b`` must move along ``normal`` to stop overlapping;
        0 for separated or touching pairs. Exact (SAT) for box-box, EPA otherwise.
    normal : ndarray, shape (N, 3)
        Unit normal from ``a`` towards ``b``; zero where depth is 0.

    Raises
    ------
    TypeError
        ``a`` or ``b`` is not a shape batch.
    ValueError
        Lengths differ and neither is 1.
    """
    return _core.penetration(_spec(a, "a"), _spec(b, "b"))


def raycast(
    shapes: Shapes, origins: npt.ArrayLike, dirs: npt.ArrayLike, max_t: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """First hit of each ray with its shape.

    Ray ``i`` is ``origins[i] + t * dirs[i] / |dirs[i]|`` for ``0 <= t <= max_t[i]`` against
    ``shapes[i]`` (or against ``shapes[0]`` for every ray when ``shapes`` has length 1).

    Parameters
    ----------
    shapes : Boxes, Spheres, Capsules or Hulls
        Length N, or 1.
    origins, dirs : array_like, shape (N, 3)
        Ray origins and non-zero directions (normalised internally).
    max_t : float or array_like, shape (N,)
        Ray lengths, studs, >= 0.

    Returns
    -------
    t : ndarray, shape (N,)
        Distance along the ray to the first hit, studs; ``inf`` on a miss; 0 when the origin
        is inside or on the shape.
    normal : ndarray, shape (N, 3)
        Unit surface normal at the hit, facing the ray origin (``-unit(dir)`` for an origin
        inside the shape); zero on a miss.

    Raises
    ------
    TypeError
        ``shapes`` is not a shape batch, or an array is None / not real numbers.
    ValueError
        Wrong shapes, mismatched lengths, a zero direction, negative or non-finite ``max_t``,
        coordinates beyond MAX_COORDINATE (each naming the argument and index).
    """
    return _core.raycast(_spec(shapes, "shapes"), origins, dirs, max_t)


def shapecast(
    moving: Shapes, displacement: npt.ArrayLike, targets: Shapes
) -> tuple[FloatArray, FloatArray]:
    """Time of impact of shapes swept along straight segments (noclip detection).

    ``moving[i]`` translates by ``s * displacement[i]``, ``s`` from 0 to 1, against the fixed
    ``targets[i]``. Any batch of length 1 is broadcast (one player against K walls, or K
    players against one wall).

    Parameters
    ----------
    moving : Spheres or Capsules (Boxes and Hulls work too)
    displacement : array_like, shape (N, 3) or (1, 3)
        Translation over the whole step, studs.
    targets : Boxes, Spheres, Capsules or Hulls

    Returns
    -------
    toi : ndarray, shape (N,)
        First ``s`` in [0, 1] at which the shapes touch; ``inf`` when they never do; 0 when
        they already touch or overlap at the start.
    normal : ndarray, shape (N, 3)
        Unit target surface normal at impact facing the mover; zero on a miss, and zero when
        the shapes' cores already overlap at ``s = 0``.

    Raises
    ------
    TypeError
        ``moving`` or ``targets`` not a shape batch; ``displacement`` None or not numbers.
    ValueError
        Lengths incompatible, ``displacement`` of the wrong shape or not finite.
    """
    return _core.shapecast(_spec(moving, "moving"), displacement, _spec(targets, "targets"))
