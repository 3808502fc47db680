# SPDX-License-Identifier: MIT
"""fbsim: the simulation core of a building-game server.

Exact, batched geometry, collision, spatial queries and pathfinding over numpy arrays, backed by
a C++ library (``fbsim::core``) that a C++ server can link directly
(``python -m fbsim --cmake-dir``), and the server layer on top: the world, placement
validation, movement checks, rate limits and the audit log. See the README for the tour.

Names that exist in several subsystems are exported with a prefix at the top level:
``PlacementReason`` (``fbsim.placement.Reason``), ``MovementReason`` and ``MovementAction``
(``fbsim.movement.Reason`` / ``Action``), ``PlotAction`` (``fbsim.world.Action``).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _dist_version

from fbsim import geometry, pathfinding, spatial
from fbsim._core import MAX_BROADPHASE_ITEMS as MAX_BROADPHASE_ITEMS  # issue 10
from fbsim._core import MAX_GRID_CELLS
from fbsim._core import MAX_QUERY_RESULTS as MAX_QUERY_RESULTS  # issue 10
from fbsim._core import version as _core_version
from fbsim.audit import AppealState, AuditLog, BanRecord, BanRegistry
from fbsim.catalog import Catalog, ItemKind, default_catalog
from fbsim.collision import distance, overlap, penetration, raycast, shapecast
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
from fbsim.movement import Action as MovementAction
from fbsim.movement import (
    Check,
    CollisionQueries,
    MovementChecker,
    MovementConfig,
    ServerMoveKind,
    StepResult,
)
from fbsim.movement import Reason as MovementReason
from fbsim.pipeline import contacts
from fbsim.placement import PlacementConfig, PlacementResults, PlacementValidator
from fbsim.placement import Reason as PlacementReason
from fbsim.ratelimit import DuplicationDetector, RateLimiter, Rule
from fbsim.shard import Sharding, shard_report  # issue 11: world sharding
from fbsim.spatial import DynamicTree, SpatialHash, SweepAndPrune
from fbsim.spatial_tree import MAX_RAY_DISTANCE, Octree, Quadtree
from fbsim.world import Action as PlotAction
from fbsim.world import Role, SnapshotError, World, WorldConfig

try:
    __version__ = _dist_version("fbsim")
except PackageNotFoundError:  # running from a source tree without metadata
    _v = _core_version()
    __version__ = f"{_v // 10000}.{_v // 100 % 100}.{_v % 100}"

__all__ = [
    "MAX_BROADPHASE_ITEMS",
    "MAX_COORDINATE",
    "MAX_GRID_CELLS",
    "MAX_QUERY_RESULTS",
    "MAX_RAY_DISTANCE",
    "AppealState",
    "AuditLog",
    "BanRecord",
    "BanRegistry",
    "Boxes",
    "Capsules",
    "Catalog",
    "Check",
    "CollisionQueries",
    "DuplicationDetector",
    "DynamicTree",
    "Hulls",
    "ItemKind",
    "MovementAction",
    "MovementChecker",
    "MovementConfig",
    "MovementReason",
    "Octree",
    "PlacementConfig",
    "PlacementReason",
    "PlacementResults",
    "PlacementValidator",
    "PlotAction",
    "Quadtree",
    "RateLimiter",
    "Role",
    "Rule",
    "ServerMoveKind",
    "Sharding",
    "SnapshotError",
    "SpatialHash",
    "Spheres",
    "StepResult",
    "SweepAndPrune",
    "World",
    "WorldConfig",
    "__version__",
    "capsule_to_aabb",
    "contacts",
    "default_catalog",
    "distance",
    "geometry",
    "hull_to_aabb",
    "matrix_to_quat",
    "obb_to_aabb",
    "overlap",
    "pathfinding",
    "penetration",
    "quat_to_matrix",
    "raycast",
    "shapecast",
    "shard",
    "shard_report",
    "spatial",
    "sphere_to_aabb",
    "transform_points",
]
