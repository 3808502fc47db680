# SPDX-License-Identifier: MIT
"""Exact shortest paths on 2D and 3D grids, flow fields, smoothing and Moving AI loaders.

Grids are numpy arrays, 2D ``(rows, cols)`` or 3D ``(z, rows, cols)``:

* ``bool``: passability (True = free), uniform cost;
* real numbers: cost of entering each cell, ``>= 1``, ``inf`` = blocked.

Moving from a cell to a neighbour costs the step length (1, sqrt 2, sqrt 3) times the cost of
the cell entered. Connectivity is 4 or 8 in 2D and 6, 18 or 26 in 3D. Corners are never cut: a
move is legal only if every cell of the bounding box of its two cells is free (a 2D diagonal
needs both orthogonal neighbours free; a 3D diagonal its whole 2x2 or 2x2x2 block). These are
the rules of the Moving AI benchmarks, whose stored optimal costs the tests reproduce.

Cells are given as ``(row, col)`` or ``(z, row, col)`` integer tuples; paths are returned as
``int64`` arrays of shape ``(L, ndim)``, start first. An unreachable goal gives an empty path
and ``inf``; bad input (a start outside the grid or on a blocked cell, NaN costs, costs below 1,
wrong dtypes) raises ``ValueError``/``TypeError`` naming the argument.

The searches run in C++ with the GIL released; ``astar_many`` spreads queries over threads.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import numpy.typing as npt

from fbsim import _core

__all__ = [
    "SCEN_DTYPE",
    "VoxelWorld",
    "astar",
    "astar_many",
    "flow_field",
    "jps",
    "load_movingai_3d_map",
    "load_movingai_3d_scen",
    "load_movingai_map",
    "load_movingai_scen",
    "smooth_path",
    "voxelize_boxes",
    "walkable_map",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

SCEN_DTYPE = np.dtype(
    [
        ("bucket", np.int64),
        ("map", "U256"),
        ("width", np.int64),
        ("height", np.int64),
        ("sx", np.int64),
        ("sy", np.int64),
        ("gx", np.int64),
        ("gy", np.int64),
        ("optimal", np.float64),
    ]
)
"""Rows of a Moving AI ``.scen`` file; ``x`` is the column, ``y`` the row."""

_PASSABLE = frozenset(".GS")
_BLOCKED = frozenset("@OTW")


def _lines(path: str | os.PathLike[str]) -> list[str]:
    # splitlines() accepts LF, CRLF and a missing final newline alike.
    return Path(path).read_text(encoding="ascii").splitlines()


def load_movingai_map(path: str | os.PathLike[str]) -> npt.NDArray[np.bool_]:
    """Read a Moving AI ``.map`` file.

    Parameters
    ----------
    path : str or PathLike
        File in the ``type octile / height H / width W / map`` format.

    Returns
    -------
    ndarray of bool, shape (H, W)
        True where passable (``.``, ``G``, ``S``); ``@``, ``O``, ``T`` and ``W`` are blocked.

    Raises
    ------
    ValueError
        Missing header fields, a wrong number of rows or columns, or an unknown character
        (the row and column are named).
    OSError
        The file cannot be read.
    """
    lines = _lines(path)
    header: dict[str, str] = {}
    body_start = None
    for i, line in enumerate(lines):
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "map":
            body_start = i + 1
            break
        if len(parts) == 2:
            header[parts[0]] = parts[1]
    if body_start is None or "height" not in header or "width" not in header:
        raise ValueError(f"{path}: not a Moving AI map (needs 'height', 'width' and 'map' lines)")
    height, width = int(header["height"]), int(header["width"])
    if height < 0 or width < 0:
        raise ValueError(f"{path}: negative map size {height} x {width}")
    rows = [ln for ln in lines[body_start:] if ln != ""]
    if len(rows) != height:
        raise ValueError(f"{path}: expected {height} map rows, found {len(rows)}")
    grid = np.zeros((height, width), dtype=bool)
    for r, row in enumerate(rows):
        if len(row) != width:
            raise ValueError(f"{path}: map row {r} has {len(row)} columns, expected {width}")
        chars = np.frombuffer(row.encode("ascii"), dtype=np.uint8)
        free = np.isin(chars, np.frombuffer(b".GS", dtype=np.uint8))
        if not np.all(free | np.isin(chars, np.frombuffer(b"@OTW", dtype=np.uint8))):
            c = int(np.flatnonzero(~(free | np.isin(chars, np.frombuffer(b"@OTW", np.uint8))))[0])
            raise ValueError(f"{path}: unknown map character {row[c]!r} at row {r}, column {c}")
        grid[r] = free
    return grid


def load_movingai_scen(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a Moving AI ``.scen`` scenario file.

    Parameters
    ----------
    path : str or PathLike
        ``version 1`` followed by tab-separated rows
        ``bucket map width height start_x start_y goal_x goal_y optimal_length``.

    Returns
    -------
    ndarray with dtype :data:`SCEN_DTYPE`
        Fields ``bucket, map, width, height, sx, sy, gx, gy, optimal``; ``x`` is the column and
        ``y`` the row, so a start cell is ``(row, col) = (sy, sx)``. ``map`` is the basename.

    Raises
    ------
    ValueError
        A row without 9 fields or with a non-numeric field (the line is named).
    OSError
        The file cannot be read.
    """
    rows = []
    for lineno, line in enumerate(_lines(path), start=1):
        if not line.strip() or line.startswith("version"):
            continue
        parts = line.split("\t") if "\t" in line else line.split()
        if len(parts) != 9:
            raise ValueError(f"{path}:{lineno}: expected 9 fields, got {len(parts)}")
        try:
            b, w, h, sx, sy, gx, gy = (int(parts[i]) for i in (0, 2, 3, 4, 5, 6, 7))
            opt = float(parts[8])
        except ValueError as exc:
            raise ValueError(f"{path}:{lineno}: {exc}") from None
        name = parts[1].replace("\\", "/").rsplit("/", 1)[-1]
        rows.append((b, name, w, h, sx, sy, gx, gy, opt))
    return np.array(rows, dtype=SCEN_DTYPE)


def load_movingai_3d_map(path: str | os.PathLike[str]) -> npt.NDArray[np.bool_]:
    """Read a Moving AI 3D voxel map (``voxel X Y Z`` then one ``x y z`` line per blocked voxel).

    Returns
    -------
    ndarray of bool, shape (Z, Y, X)
        True where passable; index as ``grid[z, y, x]``, matching ``(z, row, col)``.

    Raises
    ------
    ValueError
        A bad header or a voxel outside the declared size.
    """
    lines = _lines(path)
    head = lines[0].split()
    if len(head) != 4 or head[0] != "voxel":
        raise ValueError(f"{path}: first line must be 'voxel X Y Z'")
    nx, ny, nz = (int(v) for v in head[1:])
    body = "\n".join(lines[1:])
    xyz = (
        np.array(body.split(), dtype=np.int64).reshape(-1, 3)
        if body.strip()
        else np.zeros((0, 3), np.int64)
    )
    bad = (xyz < 0) | (xyz >= np.array([nx, ny, nz]))
    if bad.any():
        i = int(np.flatnonzero(bad.any(axis=1))[0])
        raise ValueError(f"{path}: voxel {xyz[i].tolist()} outside {nx} x {ny} x {nz}")
    grid = np.ones((nz, ny, nx), dtype=bool)
    grid[xyz[:, 2], xyz[:, 1], xyz[:, 0]] = False
    return grid


def load_movingai_3d_scen(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a Moving AI 3D scenario file (``version 1``, map name, then
    ``sx sy sz gx gy gz optimal ratio`` rows).

    Returns
    -------
    ndarray, structured with fields ``sx, sy, sz, gx, gy, gz`` (int64) and ``optimal`` (float64)
    """
    dt = np.dtype(
        [(k, np.int64) for k in ("sx", "sy", "sz", "gx", "gy", "gz")] + [("optimal", np.float64)]
    )
    rows = []
    for line in _lines(path)[2:]:
        parts = line.split()
        if len(parts) < 7:
            continue
        rows.append((*(int(p) for p in parts[:6]), float(parts[6])))
    return np.array(rows, dtype=dt)


def astar(
    grid: npt.ArrayLike, start: npt.ArrayLike, goal: npt.ArrayLike, connectivity: int = 8
) -> tuple[IntArray, float]:
    """Optimal path by A*.

    Parameters
    ----------
    grid : array_like, shape (rows, cols) or (z, rows, cols)
        ``bool`` passability or float costs (``>= 1``, ``inf`` = blocked).
    start, goal : array_like of int
        ``(row, col)`` or ``(z, row, col)``.
    connectivity : int
        4 or 8 (2D), 6, 18 or 26 (3D).

    Returns
    -------
    path : ndarray of int64, shape (L, ndim)
        Cells from start to goal; empty (shape ``(0, ndim)``) when unreachable.
    cost : float
        Sum of step costs; ``inf`` when unreachable.

    Raises
    ------
    TypeError
        ``grid`` is None or of a non-numeric dtype; ``start``/``goal`` are not integers.
    ValueError
        ``grid`` is not 2-D/3-D or has a cost that is NaN, ``-inf`` or below 1; ``start``/``goal``
        have the wrong length, lie outside the grid or on a blocked cell; a bad connectivity.

    Notes
    -----
    On ``bool`` grids the search state (about 8 bytes per cell in 2D, 12 in 3D, touched
    lazily) is kept per calling thread between calls while it holds at most 64 MiB (2D grids
    up to about 8M cells, 3D up to about 5M, less after long searches whose open list grew
    large; per thread, so N calling threads keep up to N times that), so calling ``astar``
    every tick does not fault in
    fresh memory each time; a bigger grid's state is freed when the call returns, and a
    thread's state when the thread exits. The grid itself is not cached: it may be edited
    between calls. Threads never share the state, so concurrent calls are safe.
    """
    path, cost, _ = _core.grid_path(grid, start, goal, int(connectivity), "astar")
    return path, float(cost)


def jps(grid: npt.ArrayLike, start: npt.ArrayLike, goal: npt.ArrayLike) -> tuple[IntArray, float]:
    """Optimal path by jump point search (same result cost as :func:`astar`, 8-connected).

    Only for 2D uniform-cost grids (``bool``, or every finite cost equal to 1); it expands far
    fewer nodes than A* on open maps.

    Returns
    -------
    path : ndarray of int64, shape (L, 2)
        The full cell sequence (jumps are expanded), start first; empty when unreachable.
    cost : float
        Path cost; ``inf`` when unreachable.

    Raises
    ------
    TypeError, ValueError
        As :func:`astar`; also ``ValueError`` for a 3-D or weighted grid.
    """
    path, cost, _ = _core.grid_path(grid, start, goal, 8, "jps")
    return path, float(cost)


def astar_many(
    grid: npt.ArrayLike,
    starts: npt.ArrayLike,
    goals: npt.ArrayLike,
    connectivity: int = 8,
    method: str = "astar",
    workers: int = 1,
    *,
    return_expansions: bool = False,
) -> FloatArray | tuple[FloatArray, IntArray]:
    """Optimal costs of many start/goal pairs in one call (GIL released, threaded).

    Parameters
    ----------
    grid : array_like
        As in :func:`astar`.
    starts, goals : array_like of int, shape (Q, ndim)
        One query per row.
    connectivity : int
        As in :func:`astar` (``method="jps"`` needs 8).
    method : {"astar", "jps"}
        Search algorithm; both are exact.
    workers : int
        Threads to use; ``-1`` for all cores. Results do not depend on it.
    return_expansions : bool
        Also return the number of expanded nodes per query.

    Returns
    -------
    costs : ndarray of float64, shape (Q,)
        Optimal cost per query, ``inf`` when unreachable.
    expansions : ndarray of int64, shape (Q,)
        Only with ``return_expansions=True``.

    Raises
    ------
    TypeError, ValueError
        As :func:`astar`, naming ``starts[i]``/``goals[i]``; mismatched lengths; unknown
        ``method``; ``workers`` not -1 or 1..1024.
    """
    costs, expansions = _core.grid_paths_batch(
        grid, starts, goals, int(connectivity), str(method), int(workers)
    )
    return (costs, expansions) if return_expansions else costs


def flow_field(grid: npt.ArrayLike, goals: npt.ArrayLike, connectivity: int = 8) -> FloatArray:
    """Cost-to-go from every cell to the nearest goal (a Dijkstra map).

    An NPC at cell ``c`` walks optimally by stepping to the legal neighbour ``n`` minimising
    ``step_length * cost(n) + field[n]``.

    Parameters
    ----------
    grid : array_like
        As in :func:`astar`.
    goals : array_like of int, shape (G, ndim) or (ndim,)
        Goal cells (free). No goals gives an all-``inf`` field.
    connectivity : int
        As in :func:`astar`.

    Returns
    -------
    ndarray of float64, same shape as ``grid``
        ``0`` at goals, ``inf`` on blocked and unreachable cells.

    Raises
    ------
    TypeError, ValueError
        As :func:`astar`, naming ``goals[i]``.
    """
    g = np.asarray(goals) if goals is not None else goals
    if g is not None and g.ndim == 1 and g.size > 0:
        g = g[None, :]
    return _core.flow_field(grid, g, int(connectivity))


def smooth_path(grid: npt.ArrayLike, path: npt.ArrayLike) -> tuple[IntArray, float]:
    """Any-angle smoothing of a grid path by line of sight.

    Keeps a subset of the path's cells such that the straight segment between consecutive
    kept cells (between cell centres) touches only free cells; a segment through an edge or
    corner shared by cells touches them all, so smoothed paths never cut corners either.

    Parameters
    ----------
    grid : array_like
        As in :func:`astar`; costs are used only for passability.
    path : array_like of int, shape (L, ndim)
        A path as returned by :func:`astar`; consecutive cells must see each other
        (legal moves always do).

    Returns
    -------
    waypoints : ndarray of int64, shape (K, ndim)
        Same first and last cell as ``path``; K <= L.
    length : float
        Euclidean length of the polyline through the waypoints, in cells.

    Raises
    ------
    TypeError, ValueError
        As :func:`astar`, naming ``path[i]`` (outside, blocked, or not visible from the
        previous cell).
    """
    return _core.smooth_path(grid, path)


# ---------------------------------------------------------------------------- voxelization


def _grid_shape(shape: npt.ArrayLike) -> tuple[int, int, int]:
    dims = tuple(int(v) for v in np.asarray(shape, dtype=np.int64).reshape(-1))
    if len(dims) != 3 or min(dims) < 0:
        raise ValueError(f"shape must be (layers, rows, cols) with sizes >= 0, got {shape!r}")
    if int(np.prod(dims, dtype=np.float64)) > 2**31:
        raise ValueError(f"shape {dims} has more than 2^31 cells")
    return dims  # type: ignore[return-value]


def voxelize_boxes(
    centers: npt.ArrayLike,
    quats: npt.ArrayLike,
    half_extents: npt.ArrayLike,
    origin: npt.ArrayLike,
    cell_size: float,
    shape: tuple[int, int, int],
) -> npt.NDArray[np.bool_]:
    """Conservative occupancy grid of oriented boxes.

    The grid is Y-up and indexed ``(layer, row, col) = (y, z, x)``: cell ``(i, j, k)`` covers
    ``x in [origin[0] + k*s, +s)``, ``y in [origin[1] + i*s, +s)``, ``z in [origin[2] + j*s, +s)``.
    A cell is occupied when a box overlaps it with positive volume (exact separating-axis test);
    boxes flush with a cell face (within 1e-9 studs) do not occupy the neighbouring cell. Parts
    of boxes outside the grid are ignored.

    Parameters
    ----------
    centers, quats, half_extents : array_like, shapes (n, 3), (n, 4), (n, 3)
        Oriented boxes (quaternions ``(x, y, z, w)``), as in :mod:`fbsim.geometry`.
    origin : array_like, shape (3,)
        World ``(x, y, z)`` of the grid's minimum corner, studs.
    cell_size : float
        Cell edge, studs, > 0.
    shape : tuple of int
        ``(layers, rows, cols)``.

    Returns
    -------
    ndarray of bool, shape ``shape``
        True where occupied (blocked). ``~occupied`` is a passability grid for :func:`astar`.

    Raises
    ------
    TypeError, ValueError
        Bad boxes (named as in :func:`fbsim.obb_to_aabb`), origin, cell_size or shape.
    """
    counts = np.zeros(_grid_shape(shape), dtype=np.int32)
    _core.voxel_add_boxes(counts, origin, float(cell_size), centers, quats, half_extents, 1)
    return counts > 0


def walkable_map(
    occupied: npt.ArrayLike,
    cell_size: float,
    agent_radius: float,
    agent_height: float,
    step_height: float = 0.0,
    floor: bool = True,
) -> npt.NDArray[np.bool_]:
    """Cells an agent may occupy (feet in the cell), as a 3D passability grid.

    A cell is walkable when the agent's body fits there (no occupied cell in the
    ``ceil(height / s)`` layers from the feet up, within ``ceil(radius / s + 1/2) - 1`` cells
    on each side horizontally; cells beyond the grid's sides or top count as free) and it
    stands on something at most ``floor(step_height / s)`` layers below (an occupied cell
    directly under, or the world floor under layer 0 when ``floor``), with the body fitting
    at every layer in between. Search it with ``connectivity=26``: stepping up is a vertical
    move through the air above the lower floor, and drops higher than the step are not walkable.

    Parameters
    ----------
    occupied : array_like of bool, shape (layers, rows, cols)
        From :func:`voxelize_boxes` (True = blocked).
    cell_size, agent_radius, agent_height, step_height : float
        Studs; cell_size and agent_height > 0, the others >= 0.
    floor : bool
        Whether layer 0 stands on a world floor.

    Returns
    -------
    ndarray of bool, same shape
        True where the agent may be.

    Raises
    ------
    TypeError, ValueError
        ``occupied`` not a 3-D bool array; non-finite or out-of-range sizes (named).
    """
    occ = _bool3d(occupied, "occupied")
    sizes = _agent_sizes(cell_size, agent_radius, agent_height, step_height)
    out = np.zeros(occ.shape, dtype=bool)
    _core.walkable_voxels(occ, out, *sizes, bool(floor))
    return out


def _bool3d(a: npt.ArrayLike, name: str) -> npt.NDArray[np.bool_]:
    if a is None:
        raise TypeError(f"{name} must be an array, not None")
    arr = np.asarray(a)
    if arr.dtype != bool:
        raise TypeError(f"{name} must be a bool array, got dtype {arr.dtype}")
    if arr.ndim != 3:
        raise ValueError(f"{name} must be 3-D (layers, rows, cols), got shape {arr.shape}")
    return np.ascontiguousarray(arr)


def _agent_sizes(cell_size, agent_radius, agent_height, step_height) -> tuple[float, ...]:
    out = []
    for name, v, lo in [
        ("cell_size", cell_size, 1e-9),
        ("agent_radius", agent_radius, 0.0),
        ("agent_height", agent_height, 1e-9),
        ("step_height", step_height, 0.0),
    ]:
        if v is None or isinstance(v, (str, bytes, complex)):
            raise TypeError(f"{name} must be a real number, got {v!r}")
        f = float(v)
        if not np.isfinite(f) or f < lo or f > _core.MAX_COORDINATE:
            raise ValueError(f"{name} = {v!r} must be finite, >= {lo:g} and <= 1e6")
        out.append(f)
    return tuple(out)


class VoxelWorld:
    """An occupancy grid kept in step with the world's boxes, plus an agent's walkable map.

    Adding or removing boxes touches only the cells they overlap (a per-cell overlap count
    makes removal exact), and the walkable map is recomputed only in the affected region.
    Not thread-safe: one writer at a time; readers must not overlap with ``add``/``remove``.

    Parameters
    ----------
    origin, cell_size, shape
        As in :func:`voxelize_boxes`.
    agent_radius, agent_height, step_height, floor
        As in :func:`walkable_map`.
    """

    def __init__(
        self,
        origin: npt.ArrayLike,
        cell_size: float,
        shape: tuple[int, int, int],
        agent_radius: float = 0.0,
        agent_height: float = 1.0,
        step_height: float = 0.0,
        floor: bool = True,
    ) -> None:
        self._sizes = _agent_sizes(cell_size, agent_radius, agent_height, step_height)
        self._origin = _core.as_rows(np.reshape(np.asarray(origin, float), (1, 3)), "origin", 3)[0]
        self._floor = bool(floor)
        self._counts = np.zeros(_grid_shape(shape), dtype=np.int32)
        self._boxes: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._walkable = np.zeros(self._counts.shape, dtype=bool)
        _core.walkable_voxels(self._counts > 0, self._walkable, *self._sizes, self._floor)

    @property
    def occupied(self) -> npt.NDArray[np.bool_]:
        """Occupancy (True = blocked), a fresh array."""
        return self._counts > 0

    @property
    def walkable(self) -> npt.NDArray[np.bool_]:
        """The agent's walkable map (a read-only view; copy before modifying)."""
        v = self._walkable.view()
        v.flags.writeable = False
        return v

    @property
    def ids(self) -> IntArray:
        """Ids of the boxes in the world, sorted."""
        return np.array(sorted(self._boxes), dtype=np.int64)

    def add(
        self,
        ids: npt.ArrayLike,
        centers: npt.ArrayLike,
        quats: npt.ArrayLike,
        half_extents: npt.ArrayLike,
    ) -> None:
        """Adds boxes under new ids.

        Raises
        ------
        TypeError, ValueError
            Bad boxes (named), mismatched lengths, an id already present or repeated
            (``ids[i]`` named). The world is unchanged when anything is rejected.
        """
        ids_a = _core.as_ids(ids, "ids")
        c = _core.as_rows(centers, "centers", 3)
        q = _core.as_rows(quats, "quats", 4, 1e150)
        h = _core.as_rows(half_extents, "half_extents", 3)
        for name, arr in (("centers", c), ("quats", q), ("half_extents", h)):
            if len(arr) != len(ids_a):
                raise ValueError(f"{name} has {len(arr)} rows but ids has {len(ids_a)}")
        seen: set[int] = set()
        for i, v in enumerate(ids_a.tolist()):
            if v in self._boxes:
                raise ValueError(f"ids[{i}] = {v} already exists")
            if v in seen:
                raise ValueError(f"ids[{i}] = {v} is repeated")
            seen.add(v)
        # Validates the boxes fully on a scratch grid first, so a bad box changes nothing.
        _core.voxel_add_boxes(
            np.zeros((0, 0, 0), np.int32), self._origin, self._sizes[0], c, q, h, 1
        )
        rng = _core.voxel_add_boxes(self._counts, self._origin, self._sizes[0], c, q, h, 1)
        for i, v in enumerate(ids_a.tolist()):
            self._boxes[v] = (c[i].copy(), q[i].copy(), h[i].copy())
        self._refresh(rng)

    def remove(self, ids: npt.ArrayLike) -> None:
        """Removes boxes by id.

        Raises
        ------
        TypeError, ValueError
            Unknown or repeated ids (``ids[i]`` named); the world is then unchanged.
        """
        ids_a = _core.as_ids(ids, "ids")
        seen: set[int] = set()
        for i, v in enumerate(ids_a.tolist()):
            if v not in self._boxes:
                raise ValueError(f"ids[{i}] = {v} is not in the world")
            if v in seen:
                raise ValueError(f"ids[{i}] = {v} is repeated")
            seen.add(v)
        if len(ids_a) == 0:
            return
        boxes = [self._boxes[v] for v in ids_a.tolist()]
        c, q, h = (np.array([b[k] for b in boxes]) for k in range(3))
        rng = _core.voxel_add_boxes(self._counts, self._origin, self._sizes[0], c, q, h, -1)
        for v in ids_a.tolist():
            del self._boxes[v]
        self._refresh(rng)

    def _refresh(self, rng: IntArray) -> None:
        lo, hi = rng[:3].copy(), rng[3:].copy()
        if np.any(lo >= hi):
            return
        # A solid cell changes walkability of cells that can see it within the agent's
        # footprint: radius sideways, clearance below it, and step + 1 above it (support).
        clearance = int(np.ceil(self._sizes[2] / self._sizes[0] - 1e-9))
        radius = max(0, int(np.ceil(self._sizes[1] / self._sizes[0] + 0.5 - 1e-9)) - 1)
        step = int(np.floor(self._sizes[3] / self._sizes[0] + 1e-9))
        lo = lo - np.array([clearance + step, radius, radius])
        hi = hi + np.array([step + 1 + step, radius, radius])
        _core.walkable_voxels(
            self._counts > 0, self._walkable, *self._sizes, self._floor, np.maximum(lo, 0), hi
        )
