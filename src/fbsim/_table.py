# SPDX-License-Identifier: MIT
"""A growable struct-of-arrays table keyed by stable int64 ids (the World's item, player and
plot stores). Rows stay dense: removal moves the last row into the hole, as IdIndex says.

Every mutation checks everything first and then commits, so a failed call changes nothing.
Not thread-safe: the World serialises access.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from fbsim._kernels import IdIndex


class Table:
    """Columns of equal length addressed by id or by dense row.

    Parameters
    ----------
    columns : mapping of name -> (dtype, trailing shape)
        e.g. ``{"position": (np.float64, (3,)), "owner": (np.int64, ())}``.
    """

    def __init__(self, columns: Mapping[str, tuple[np.dtype, tuple[int, ...]]]) -> None:
        self.index = IdIndex()
        self._capacity = 16
        self._data = {
            name: np.zeros((self._capacity, *shape), dtype=dtype)
            for name, (dtype, shape) in columns.items()
        }

    def __len__(self) -> int:
        return len(self.index)

    @property
    def names(self) -> list[str]:
        return list(self._data)

    def column(self, name: str) -> np.ndarray:
        """A view of the live rows of a column (read-only: write through `set`)."""
        view = self._data[name][: len(self)]
        view.flags.writeable = False
        return view

    def add_column(self, name: str, dtype, shape: tuple[int, ...] = (), default=0) -> None:
        if name in self._data:
            raise ValueError(f"column {name!r} already exists")
        self._data[name] = np.full((self._capacity, *shape), default, dtype=dtype)

    def ids(self) -> np.ndarray:
        return self.index.ids()

    def rows(self, ids, name: str = "ids") -> np.ndarray:
        """Dense rows of ids; ValueError naming the first unknown id."""
        return self.index.indices(ids, name)

    def _reserve(self, n: int) -> None:
        if n <= self._capacity:
            return
        cap = max(n, 2 * self._capacity)
        for name, arr in self._data.items():
            grown = np.zeros((cap, *arr.shape[1:]), dtype=arr.dtype)
            grown[: len(self)] = arr[: len(self)]
            self._data[name] = grown
        self._capacity = cap

    def check_values(self, n: int, values: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Cast and shape-check column values for `n` rows (ValueError naming the column)."""
        out = {}
        for name, value in values.items():
            if name not in self._data:
                raise ValueError(f"unknown column {name!r}")
            target = self._data[name]
            arr = np.asarray(value)
            want = (n, *target.shape[1:])
            if arr.shape != want:
                try:
                    arr = np.broadcast_to(arr, want)
                except ValueError:
                    raise ValueError(
                        f"{name} must have shape {want}, got {np.shape(value)}"
                    ) from None
            out[name] = arr.astype(target.dtype, copy=False)
        return out

    def add(self, ids, values: Mapping[str, np.ndarray]) -> np.ndarray:
        """Append rows; ids must be new and unique. Returns their dense rows."""
        ids = np.asarray(ids)
        checked = self.check_values(len(ids), values)
        self._reserve(len(self) + len(ids))  # may raise MemoryError: nothing changed yet
        rows = self.index.add(ids)  # raises on duplicates before changing anything
        for name, arr in checked.items():
            self._data[name][rows] = arr
        return rows

    def set(self, rows: np.ndarray, values: Mapping[str, np.ndarray]) -> None:
        checked = self.check_values(len(rows), values)
        for name, arr in checked.items():
            self._data[name][rows] = arr

    def remove(self, ids, name: str = "ids") -> np.ndarray:
        """Remove rows by id (ValueError, nothing changed, on unknown or repeated ids).

        Returns the dense rows the ids had when each was removed.
        """
        size_before = len(self)
        removed, moves = self.index.remove(ids, name)
        if len(moves):
            # Moves chain (a later move may read a row an earlier one wrote), so compose them
            # into one gather per column: origin[r] is the pre-removal row now living at r.
            origin = np.arange(size_before)
            for dst, src in moves.tolist():
                origin[dst] = origin[src]
            changed = np.flatnonzero(origin[: len(self)] != np.arange(len(self)))
            for arr in self._data.values():
                arr[changed] = arr[origin[changed]]
        return removed

    def snapshot(self) -> dict[str, np.ndarray]:
        """Copies of the live rows of every column, plus ``ids``."""
        out = {name: arr[: len(self)].copy() for name, arr in self._data.items()}
        out["ids"] = self.ids()
        return out
