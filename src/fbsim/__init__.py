# SPDX-License-Identifier: MIT
"""fbsim: the simulation core of a building-game server.

Exact, batched geometry over numpy arrays, backed by a C++ library (``fbsim::core``) that a
C++ server can link directly (``python -m fbsim --cmake-dir``). See the README for the tour.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _dist_version

from fbsim import geometry
from fbsim._core import version as _core_version
from fbsim.geometry import (
    MAX_COORDINATE,
    Boxes,
    Capsules,
    Hulls,
    Spheres,
    capsule_to_aabb,
    hull_to_aabb,
    matrix_to_quat,
    obb_to_aabb,
    quat_to_matrix,
    sphere_to_aabb,
    transform_points,
)
from fbsim.spatial_tree import MAX_RAY_DISTANCE, Octree, Quadtree

try:
    __version__ = _dist_version("fbsim")
except PackageNotFoundError:  # running from a source tree without metadata
    _v = _core_version()
    __version__ = f"{_v // 10000}.{_v // 100 % 100}.{_v % 100}"

__all__ = [
    "MAX_COORDINATE",
    "MAX_RAY_DISTANCE",
    "Boxes",
    "Capsules",
    "Hulls",
    "Octree",
    "Quadtree",
    "Spheres",
    "__version__",
    "capsule_to_aabb",
    "geometry",
    "hull_to_aabb",
    "matrix_to_quat",
    "obb_to_aabb",
    "quat_to_matrix",
    "sphere_to_aabb",
    "transform_points",
]
