# SPDX-License-Identifier: MIT
"""The item catalog: what each kind of item may look like. The server takes sizes and
rotation rules from here and never from the client (a client claiming another size is the
classic exploit)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

ROTATION_MODES = ("none", "yaw90", "free")


@dataclass(frozen=True)
class ItemKind:
    """One kind of placeable item.

    Parameters
    ----------
    name : str
        Unique name ("brick", "plate", ...).
    sizes : sequence of (hx, hy, hz)
        Allowed half extents, studs, each > 0. A request picks one of these (or the first).
    rotation : {"none", "yaw90", "free"}
        "none": axis-aligned only; "yaw90": multiples of 90 degrees about the vertical (y)
        axis; "free": any rotation.
    grid : float
        Snap step, studs (0 = no snapping). The minimum corner of the item's world AABB must lie
        on the grid, within the validator's grid tolerance, so faces line up with neighbours.
    needs_support : bool
        The item must rest on the ground or touch another item.
    max_per_player, max_per_plot : int or None
        Limits on how many items of this kind one player, or one plot, may hold.
    """

    name: str
    sizes: tuple[tuple[float, float, float], ...]
    rotation: str = "yaw90"
    grid: float = 0.0
    needs_support: bool = True
    max_per_player: int | None = None
    max_per_plot: int | None = None
    attributes: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise ValueError("name must be a non-empty string")
        sizes = tuple(tuple(float(v) for v in s) for s in self.sizes)
        if not sizes or any(len(s) != 3 for s in sizes):
            raise ValueError(f"{self.name}: sizes must be a non-empty list of (hx, hy, hz)")
        if any(not (math.isfinite(v) and 0 < v <= 1e4) for s in sizes for v in s):
            raise ValueError(f"{self.name}: half extents must be finite and in (0, 1e4]")
        object.__setattr__(self, "sizes", sizes)
        if self.rotation not in ROTATION_MODES:
            raise ValueError(f"{self.name}: rotation must be one of {ROTATION_MODES}")
        if not (math.isfinite(self.grid) and self.grid >= 0):
            raise ValueError(f"{self.name}: grid must be finite and >= 0")
        for lim in ("max_per_player", "max_per_plot"):
            v = getattr(self, lim)
            if v is not None and (not isinstance(v, int) or v < 0):
                raise ValueError(f"{self.name}: {lim} must be None or an int >= 0")


class Catalog:
    """Kinds by dense integer id (their order) and by name."""

    def __init__(self, kinds: Iterable[ItemKind]) -> None:
        self.kinds: tuple[ItemKind, ...] = tuple(kinds)
        names = [k.name for k in self.kinds]
        if len(set(names)) != len(names):
            raise ValueError("kind names must be unique")
        self._by_name = {k.name: i for i, k in enumerate(self.kinds)}
        n = len(self.kinds)
        self.max_sizes = max((len(k.sizes) for k in self.kinds), default=1)
        # Dense per-kind arrays so validation is vectorised over requests.
        self.sizes = np.full((n, self.max_sizes, 3), np.nan)
        for i, k in enumerate(self.kinds):
            self.sizes[i, : len(k.sizes)] = k.sizes
        self.size_count = np.array([len(k.sizes) for k in self.kinds], dtype=np.int64)
        self.rotation_mode = np.array(
            [ROTATION_MODES.index(k.rotation) for k in self.kinds], dtype=np.int8
        )
        self.grid = np.array([k.grid for k in self.kinds])
        self.needs_support = np.array([k.needs_support for k in self.kinds], dtype=bool)
        big = np.iinfo(np.int64).max
        self.max_per_player = np.array(
            [big if k.max_per_player is None else k.max_per_player for k in self.kinds],
            dtype=np.int64,
        )
        self.max_per_plot = np.array(
            [big if k.max_per_plot is None else k.max_per_plot for k in self.kinds],
            dtype=np.int64,
        )

    def __len__(self) -> int:
        return len(self.kinds)

    def kind_id(self, name: str) -> int:
        """Dense id of a kind name; KeyError if unknown."""
        return self._by_name[name]

    def kind_ids(self, kinds: Sequence) -> np.ndarray:
        """Dense ids for an array of ints or names; ValueError naming the first unknown one."""
        arr = np.asarray(kinds)
        if arr.dtype.kind in "US":
            out = np.empty(arr.shape, dtype=np.int64)
            for i, name in enumerate(arr.ravel().tolist()):
                if name not in self._by_name:
                    raise ValueError(f"kinds[{i}] = {name!r} is not in the catalog")
                out.flat[i] = self._by_name[name]
            return out
        if arr.dtype.kind not in "iu":
            raise TypeError(f"kinds must be integers or names, got dtype {arr.dtype}")
        arr = arr.astype(np.int64)
        bad = np.flatnonzero((arr < 0) | (arr >= len(self.kinds)))
        if bad.size:
            raise ValueError(f"kinds[{bad[0]}] = {arr.flat[bad[0]]} is not in the catalog")
        return arr

    def to_dict(self) -> list[dict]:
        return [
            {
                "name": k.name,
                "sizes": [list(s) for s in k.sizes],
                "rotation": k.rotation,
                "grid": k.grid,
                "needs_support": k.needs_support,
                "max_per_player": k.max_per_player,
                "max_per_plot": k.max_per_plot,
            }
            for k in self.kinds
        ]

    @classmethod
    def from_dict(cls, data: list[dict]) -> Catalog:
        return cls(ItemKind(**{**d, "sizes": tuple(map(tuple, d["sizes"]))}) for d in data)


def default_catalog() -> Catalog:
    """A small Roblox-like catalog: 1-stud grid bricks, plates, beams and a free-rotating part."""
    return Catalog(
        [
            ItemKind("brick", ((0.5, 0.5, 0.5), (1.0, 0.5, 0.5), (1.0, 0.5, 1.0)), grid=0.5),
            ItemKind("plate", ((2.0, 0.1, 2.0), (4.0, 0.1, 4.0)), grid=0.5),
            ItemKind("beam", ((4.0, 0.5, 0.5),), grid=0.5),
            ItemKind("wall", ((4.0, 4.0, 0.5),), grid=0.5, max_per_plot=5000),
            ItemKind("part", ((0.5, 0.5, 0.5), (1.5, 1.5, 1.5)), rotation="free"),
            ItemKind("baseplate", ((64.0, 0.5, 64.0),), rotation="none", needs_support=False),
        ]
    )
