# cython: language_level=3, boundscheck=False, wraparound=False
# SPDX-License-Identifier: MIT
"""Cython kernels for the Python server layer (see STYLE.md section 6).

`IdIndex` maps the stable int64 ids a game server chooses to dense row indices of the
struct-of-arrays stores in the Python layer (items, players). Every method takes a whole batch,
checks all of it first, and only then changes anything: a bad id anywhere leaves the index as
it was. Bounds checks are off because every index below comes from a validated map lookup or
a loop bound.
"""

from cython.operator cimport dereference as deref
from libc.stdint cimport int64_t
from libcpp.unordered_map cimport unordered_map
from libcpp.vector cimport vector

import numpy as np

from fbsim._core import as_ids

from fbsim cimport _libfbsim


def core_version():
    """Version of the fbsim core linked into this module (major * 10000 + minor * 100 + patch)."""
    return _libfbsim.version()


cdef class IdIndex:
    """Bijection between int64 ids and dense indices 0..len-1, kept dense by swap-removal.

    Not thread-safe for writers: the owner (World) serialises writes; concurrent `lookup`
    calls with no writer are safe.
    """

    cdef unordered_map[int64_t, int64_t] _index_of
    cdef vector[int64_t] _ids

    def __len__(self):
        return self._ids.size()

    def __contains__(self, id_):
        if not isinstance(id_, (int, np.integer)) or isinstance(id_, bool):
            return False
        cdef int64_t key
        try:
            key = id_
        except OverflowError:
            return False
        return self._index_of.count(key) > 0

    def ids(self):
        """All ids, in dense-index order (int64 array, a copy)."""
        cdef Py_ssize_t n = self._ids.size()
        out = np.empty(n, dtype=np.int64)
        cdef int64_t[::1] o = out
        cdef Py_ssize_t i
        for i in range(n):
            o[i] = self._ids[i]
        return out

    def lookup(self, ids):
        """Dense index of each id, or -1 where the id is unknown. int64[n]."""
        arr = as_ids(ids, "ids")
        cdef const int64_t[::1] a = arr
        cdef Py_ssize_t n = a.shape[0], i
        out = np.empty(n, dtype=np.int64)
        cdef int64_t[::1] o = out
        cdef unordered_map[int64_t, int64_t].iterator it
        with nogil:
            for i in range(n):
                it = self._index_of.find(a[i])
                o[i] = -1 if it == self._index_of.end() else deref(it).second
        return out

    def indices(self, ids, name="ids"):
        """Dense index of each id; ValueError naming the first unknown id."""
        out = self.lookup(ids)
        missing = np.flatnonzero(out < 0)
        if missing.size:
            i = int(missing[0])
            raise ValueError(f"{name}[{i}] = {int(as_ids(ids, name)[i])} does not exist")
        return out

    def add(self, ids, name="ids"):
        """Append new ids; returns their dense indices (len .. len+n-1).

        Raises ValueError, changing nothing, if an id is already present or repeated in `ids`.
        """
        arr = as_ids(ids, name)
        cdef const int64_t[::1] a = arr
        cdef Py_ssize_t n = a.shape[0], i, bad = -1, first = -1
        cdef int64_t base = self._ids.size()
        cdef unordered_map[int64_t, int64_t] seen
        cdef int kind = 0
        with nogil:
            seen.reserve(n)
            for i in range(n):
                if self._index_of.count(a[i]):
                    bad = i
                    kind = 1
                    break
                if seen.count(a[i]):
                    bad = i
                    first = seen[a[i]]
                    kind = 2
                    break
                seen[a[i]] = i
        if kind == 1:
            raise ValueError(f"{name}[{bad}] = {a[bad]} already exists")
        if kind == 2:
            raise ValueError(f"{name}[{bad}] = {a[bad]} is repeated (first at {name}[{first}])")
        # Reserve first so a MemoryError cannot strike half-way through the commit.
        self._ids.reserve(base + n)
        self._index_of.reserve(base + n)
        with nogil:
            for i in range(n):
                self._index_of[a[i]] = base + i
                self._ids.push_back(a[i])
        return np.arange(base, base + n, dtype=np.int64)

    def remove(self, ids, name="ids"):
        """Remove ids, keeping indices dense by moving the last id into each freed slot.

        Returns (removed, moves): `removed[i]` is the dense index ids[i] had when it was
        removed, and `moves` is an int64 (m, 2) array of (dst, src) row moves, in order, that
        a struct-of-arrays store must apply (`store[dst] = store[src]`) and then truncate to the
        new length. Raises ValueError, changing nothing, on an unknown or repeated id.
        """
        arr = as_ids(ids, name)
        cdef const int64_t[::1] a = arr
        cdef Py_ssize_t n = a.shape[0], i, bad = -1, first = -1
        cdef unordered_map[int64_t, int64_t] seen
        cdef int kind = 0
        with nogil:
            for i in range(n):
                if not self._index_of.count(a[i]):
                    bad = i
                    kind = 1
                    break
                if seen.count(a[i]):
                    bad = i
                    first = seen[a[i]]
                    kind = 2
                    break
                seen[a[i]] = i
        if kind == 1:
            raise ValueError(f"{name}[{bad}] = {a[bad]} does not exist")
        if kind == 2:
            raise ValueError(f"{name}[{bad}] = {a[bad]} is repeated (first at {name}[{first}])")
        removed = np.empty(n, dtype=np.int64)
        moves = np.empty((n, 2), dtype=np.int64)
        cdef int64_t[::1] r = removed
        cdef int64_t[:, ::1] mv = moves
        cdef Py_ssize_t m = 0
        cdef int64_t slot, last_id
        with nogil:
            for i in range(n):
                slot = self._index_of[a[i]]
                r[i] = slot
                last_id = self._ids.back()
                if slot != <int64_t>(self._ids.size() - 1):
                    self._ids[slot] = last_id
                    self._index_of[last_id] = slot
                    mv[m, 0] = slot
                    mv[m, 1] = self._ids.size() - 1
                    m += 1
                self._ids.pop_back()
                self._index_of.erase(a[i])
        return removed, moves[:m].copy()
