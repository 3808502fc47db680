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
from libc.stdint cimport int16_t, int64_t, uint8_t
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

    cdef _check_batch(self, const int64_t[::1] a, bint must_exist, str name):
        """Raises ValueError on the first id of `a` that is (must_exist) unknown / (not
        must_exist) already present, or that repeats an earlier id of the batch."""
        cdef Py_ssize_t n = a.shape[0], i, bad = -1, first = -1
        cdef unordered_map[int64_t, int64_t] seen
        cdef int kind = 0
        with nogil:
            seen.reserve(n)
            for i in range(n):
                if (self._index_of.count(a[i]) > 0) != must_exist:
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
            state = "does not exist" if must_exist else "already exists"
            raise ValueError(f"{name}[{bad}] = {a[bad]} {state}")
        if kind == 2:
            raise ValueError(f"{name}[{bad}] = {a[bad]} is repeated (first at {name}[{first}])")

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
        cdef Py_ssize_t n = a.shape[0], i
        cdef int64_t base = self._ids.size()
        self._check_batch(a, False, name)
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
        cdef Py_ssize_t n = a.shape[0], i
        self._check_batch(a, True, name)
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


def resolve_in_order(
    const int64_t[::1] live,
    const int64_t[::1] conf_off,
    const int64_t[::1] conf_idx,
    const int64_t[::1] sup_off,
    const int64_t[::1] sup_idx,
    const uint8_t[::1] supported,
    const int64_t[::1] player,
    const int64_t[::1] kind,
    const int64_t[::1] plot,
    const int64_t[::1] source_plot,
    int64_t[:, ::1] count_player,
    int64_t[:, ::1] count_plot,
    int64_t[:, ::1] inventory,
    const int64_t[::1] max_per_player,
    const int64_t[::1] max_per_plot,
    bint is_move,
    int16_t[::1] reason,
    uint8_t[::1] accepted,
    int code_conflict,
    int code_unsupported,
    int code_player_limit,
    int code_plot_limit,
    int code_no_inventory,
):
    """The sequential part of placement validation, in request order (first wins).

    Request i (an index into the batch) is refused if an earlier accepted request overlaps it
    (CSR conf_off/conf_idx), if it needs support that neither the world (`supported`) nor an
    earlier accepted request (sup_off/sup_idx) gives, or if a limit or the inventory is
    exhausted. `player`/`plot` are dense rows of count_player/count_plot/inventory, which are
    updated as requests are accepted. Moves count only against the target plot, and only when
    it differs from `source_plot`. All indices were produced by the caller from validated data,
    so bounds checks are off.
    """
    cdef Py_ssize_t t, i, j, m = live.shape[0]
    cdef int64_t p, k, q
    cdef bint ok
    with nogil:
        for t in range(m):
            i = live[t]
            ok = True
            for j in range(conf_off[i], conf_off[i + 1]):
                if accepted[conf_idx[j]]:
                    ok = False
                    break
            if not ok:
                reason[i] = code_conflict
                continue
            if not supported[i]:
                ok = False
                for j in range(sup_off[i], sup_off[i + 1]):
                    if accepted[sup_idx[j]]:
                        ok = True
                        break
                if not ok:
                    reason[i] = code_unsupported
                    continue
            p = player[i]
            k = kind[i]
            q = plot[i]
            if is_move:
                if source_plot[i] != q:
                    if count_plot[q, k] >= max_per_plot[k]:
                        reason[i] = code_plot_limit
                        continue
                    count_plot[q, k] += 1
                accepted[i] = 1
                continue
            if count_player[p, k] >= max_per_player[k]:
                reason[i] = code_player_limit
                continue
            if count_plot[q, k] >= max_per_plot[k]:
                reason[i] = code_plot_limit
                continue
            if inventory[p, k] < 1:
                reason[i] = code_no_inventory
                continue
            accepted[i] = 1
            count_player[p, k] += 1
            count_plot[q, k] += 1
            inventory[p, k] -= 1
