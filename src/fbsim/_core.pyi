# Stubs for the pybind11 extension fbsim._core (csrc/python). Types only; see fbsim.geometry.
import numpy as np
import numpy.typing as npt

_F = npt.NDArray[np.float64]
_I = npt.NDArray[np.int64]

MAX_COORDINATE: float
MIN_QUATERNION_NORM: float

def version() -> int: ...
def as_rows(obj: object, name: str, cols: int, limit: float = ...) -> _F: ...
def as_ids(obj: object, name: str) -> _I: ...
def quat_to_matrix(quats: npt.ArrayLike) -> _F: ...
def matrix_to_quat(matrices: npt.ArrayLike) -> _F: ...
def obb_to_aabb(centers: npt.ArrayLike, quats: npt.ArrayLike, half_extents: npt.ArrayLike) -> _F: ...
def transform_points(points: npt.ArrayLike, translation: npt.ArrayLike, quat: npt.ArrayLike) -> _F: ...
def sphere_to_aabb(centers: npt.ArrayLike, radii: npt.ArrayLike) -> _F: ...
def capsule_to_aabb(p0: npt.ArrayLike, p1: npt.ArrayLike, radii: npt.ArrayLike) -> _F: ...
def hull_to_aabb(points: npt.ArrayLike, offsets: npt.ArrayLike) -> _F: ...
def grid_path(
    grid: npt.ArrayLike,
    start: npt.ArrayLike,
    goal: npt.ArrayLike,
    connectivity: int = 8,
    method: str = "astar",
    max_expansions: int = 0,
) -> tuple[_I, float, int]: ...
def grid_paths_batch(
    grid: npt.ArrayLike,
    starts: npt.ArrayLike,
    goals: npt.ArrayLike,
    connectivity: int = 8,
    method: str = "astar",
    workers: int = 1,
    max_expansions: int = 0,
) -> tuple[_F, _I]: ...
def flow_field(grid: npt.ArrayLike, goals: npt.ArrayLike, connectivity: int = 8) -> _F: ...
def smooth_path(grid: npt.ArrayLike, path: npt.ArrayLike) -> tuple[_I, float]: ...
def voxel_add_boxes(
    counts: npt.NDArray[np.int32],
    origin: npt.ArrayLike,
    cell_size: float,
    centers: npt.ArrayLike,
    quats: npt.ArrayLike,
    half_extents: npt.ArrayLike,
    delta: int,
) -> _I: ...
def walkable_voxels(
    solid: npt.NDArray[np.bool_],
    out: npt.NDArray[np.bool_],
    cell_size: float,
    agent_radius: float,
    agent_height: float,
    step_height: float,
    floor: bool = True,
    lo: npt.ArrayLike | None = None,
    hi: npt.ArrayLike | None = None,
) -> None: ...
