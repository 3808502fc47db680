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
    "astar",
    "astar_many",
    "flow_field",
    "jps",
    "load_movingai_3d_map",
    "load_movingai_3d_scen",
    "load_movingai_map",
    "load_movingai_scen",
    "smooth_path",
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
        A path as returned by :func:`astar` (consecutive cells must be legal moves).

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
