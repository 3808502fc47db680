# SPDX-License-Identifier: MIT
"""The combined collision pipeline: broad-phase candidates, then the exact narrow phase.

``contacts(structure, groups)`` asks a broad-phase structure (SpatialHash, SweepAndPrune or
DynamicTree) for its candidate pairs and keeps the pairs whose exact shapes interpenetrate by
more than ``tol``, with the penetration depth and contact normal of each. Shapes may mix kinds
(boxes for items, capsules for players): pass one ``(ids, shapes)`` group per kind.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from fbsim import _core
from fbsim.collision import penetration
from fbsim.geometry import Boxes, Capsules, Hulls, Spheres

__all__ = ["contacts", "shape_aabbs"]


def shape_aabbs(shapes) -> np.ndarray:
    """Tight (n, 6) AABBs of a shape batch, to insert into a broad-phase structure."""
    if not isinstance(shapes, (Boxes, Spheres, Capsules, Hulls)):
        raise TypeError(f"shapes must be a shape batch, not {type(shapes).__name__}")
    return shapes.aabbs()


def contacts(
    structure,
    groups: Sequence[tuple[npt.ArrayLike, object]],
    tol: float = 0.0,
    pairs: npt.ArrayLike | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact contacts among the shapes a broad-phase structure holds.

    Parameters
    ----------
    structure : SpatialHash, SweepAndPrune or DynamicTree
        Holds (at least) the AABBs of every shape, keyed by the same ids.
    groups : sequence of (ids, shapes)
        Each group is an int64 id array and a shape batch of the same length (e.g. items as
        Boxes, players as Capsules). Ids must be unique across groups.
    tol : float
        Penetration up to this depth is touching, not a contact (flush placement).
    pairs : array_like (m, 2), optional
        Candidate id pairs to test instead of ``structure.pairs()`` (e.g. ``pairs(ids=moved)``
        for what moved this tick).

    Returns
    -------
    pairs : int64 (k, 2)
        Contacting id pairs, smaller id first, rows sorted.
    depth : float64 (k,)
        Penetration depths (> tol), studs.
    normal : float64 (k, 3)
        Unit normals pointing from the first id's shape towards the second's.

    Raises
    ------
    TypeError, ValueError
        Bad groups (lengths differ, repeated ids), a candidate id with no shape, bad tol.
    """
    if (
        not isinstance(tol, (int, float))
        or isinstance(tol, bool)
        or not np.isfinite(tol)
        or tol < 0
    ):
        raise ValueError("tol must be a finite number >= 0")
    all_ids, kinds, rows, batches = [], [], [], []
    for g, group in enumerate(groups):
        if not (isinstance(group, tuple) and len(group) == 2):
            raise TypeError(f"groups[{g}] must be an (ids, shapes) tuple")
        ids = _core.as_ids(group[0], f"groups[{g}] ids")
        shapes = group[1]
        shape_aabbs(shapes)  # type check
        if len(ids) != len(shapes):
            raise ValueError(f"groups[{g}] has {len(ids)} ids but {len(shapes)} shapes")
        all_ids.append(ids)
        kinds.append(np.full(len(ids), g, dtype=np.int64))
        rows.append(np.arange(len(ids), dtype=np.int64))
        batches.append(shapes)
    ids = np.concatenate(all_ids) if all_ids else np.empty(0, np.int64)
    kind = np.concatenate(kinds) if kinds else np.empty(0, np.int64)
    row = np.concatenate(rows) if rows else np.empty(0, np.int64)
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    if len(sorted_ids) > 1 and np.any(sorted_ids[1:] == sorted_ids[:-1]):
        dup = sorted_ids[1:][sorted_ids[1:] == sorted_ids[:-1]][0]
        raise ValueError(f"id {int(dup)} appears in more than one group or twice")

    cand = (
        structure.pairs()
        if pairs is None
        else _core.as_ids(np.ravel(pairs), "pairs").reshape(-1, 2)
    )
    empty = (np.empty((0, 2), np.int64), np.empty(0), np.empty((0, 3)))
    if len(cand) == 0:
        return empty
    if len(sorted_ids) == 0:
        raise ValueError(f"candidate id {int(cand[0, 0])} has no shape in groups")
    pos = np.searchsorted(sorted_ids, cand)
    pos_c = np.minimum(pos, len(sorted_ids) - 1)
    known = sorted_ids[pos_c] == cand
    if not known.all():
        bad = cand[~known][0]
        raise ValueError(f"candidate id {int(bad)} has no shape in groups")
    idx = order[pos_c]  # index into the concatenated groups
    ka, kb = kind[idx[:, 0]], kind[idx[:, 1]]
    depth = np.zeros(len(cand))
    normal = np.zeros((len(cand), 3))
    for ga in range(len(batches)):
        for gb in range(len(batches)):
            sel = np.flatnonzero((ka == ga) & (kb == gb))
            if len(sel):
                a = batches[ga].take(row[idx[sel, 0]])
                b = batches[gb].take(row[idx[sel, 1]])
                depth[sel], normal[sel] = penetration(a, b)
    hit = depth > tol
    out = cand[hit]
    d, n = depth[hit], normal[hit]
    # Smaller id first (flip the normal with the pair), rows sorted: deterministic output.
    swap = out[:, 0] > out[:, 1]
    out[swap] = out[swap][:, ::-1]
    n[swap] = -n[swap]
    srt = np.lexsort((out[:, 1], out[:, 0]))
    return out[srt], d[srt], n[srt]
