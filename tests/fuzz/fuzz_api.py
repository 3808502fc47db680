# SPDX-License-Identifier: MIT
"""atheris fuzz harness over fbsim's public Python API.

Every input byte string is decoded (FuzzedDataProvider) into a short program: a sequence of
calls on fresh stateful structures (broad phases, octree/quadtree) and stateless functions
(geometry, collision, pathfinding), each fed arrays of arbitrary dtype, shape and values
(NaN, inf, denormals, huge, negative, unknown/duplicate ids), in arbitrary order.

A finding is anything other than the errors fbsim documents for bad input
(TypeError, ValueError, IndexError, KeyError): a crash, a sanitizer report, a MemoryError,
an OverflowError, a SystemError. A stateful structure must also be unchanged by a call that
raised (its length and ``check_invariants()``).

Run:  python tests/fuzz/fuzz_api.py tests/fuzz/corpus/api -max_total_time=60
Replay one input (no atheris needed): ``one_input(bytes)``; tests/test_fuzz_regressions.py
replays the corpus this way in the normal test run.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np

if __name__ == "__main__":  # fuzzing: coverage feedback from fbsim's Python layer
    import atheris

    with atheris.instrument_imports(include=["fbsim"]):
        import fbsim
        from fbsim import collision, geometry, pathfinding
else:  # replayed by tests/test_fuzz_regressions.py, no atheris needed
    import fbsim
    from fbsim import collision, geometry, pathfinding

EXPECTED = (TypeError, ValueError, IndexError, KeyError)

# Values chosen to hit every branch of the boundary checks and the numerics behind them.
_SPECIAL = np.array(
    [
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        2.0,
        1e-9,
        5e-324,
        2.2e-308,
        1e5,
        -1e5,
        1e6,
        1e6 + 1,
        1e300,
        -1e300,
        np.nan,
        np.inf,
        -np.inf,
        3.0,
        7.0,
        100.0,
        1e-3,
    ]
)


class _Source:
    """Decodes fuzz bytes into arguments; never raises (runs out into defaults)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            return 0
        b = self.data[self.pos]
        self.pos += 1
        return b

    def int(self, n: int) -> int:
        return self.byte() % n if n > 0 else 0

    def done(self) -> bool:
        return self.pos >= len(self.data)

    def value(self) -> float:
        b = self.byte()
        if b < 128:
            return float(_SPECIAL[b % len(_SPECIAL)])
        # a "normal" coordinate in [-64, 64)
        return (b - 192) + self.byte() / 256.0

    def array(self, cols: int | None, n: int | None = None, kind: str = "f") -> object:
        """An array that is usually well-formed (so the kernels run), sometimes hostile."""
        mode = self.int(16)
        if mode == 0:
            return None
        if mode == 1:
            return [["a", "b", "c"]]
        rows = self.int(6) if n is None or self.int(4) == 0 else n
        if cols is None:
            shape: tuple[int, ...] = (rows,)
        else:
            c = cols if self.int(8) else self.int(8)
            shape = (rows, c) if self.int(10) else (rows,)
        count = int(np.prod(shape))
        vals = np.array([self.value() for _ in range(count)], dtype=np.float64).reshape(shape)
        dt = self.int(10)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if kind == "i" or dt == 2:
                v = np.nan_to_num(vals, nan=-1, posinf=2**62, neginf=-(2**62))
                return np.clip(v, -(2**62), 2**62).astype(np.int64)
            if dt == 3:
                return vals.astype(np.float32)
            if dt == 4:
                return vals.astype(np.complex128)
            if dt == 5:
                return vals > 0
            if dt == 6 and vals.ndim == 2:
                return np.asfortranarray(vals)
            if dt == 7 and count:
                big = np.repeat(vals, 2, axis=0)
                return big[::2]  # non-contiguous view
        return vals

    def scalar(self) -> object:
        m = self.int(6)
        if m == 0:
            return None
        if m == 1:
            return self.int(20) - 4
        return self.value()

    def ids(self, n: int | None = None) -> object:
        m = self.int(8)
        if m == 0:
            return self.array(None, n)
        rows = n if n is not None and self.int(4) else self.int(6)
        return np.array([self.int(12) - 2 for _ in range(rows)], dtype=np.int64)


def _shapes(s: _Source, n: int) -> object:
    k = s.int(5)
    if k == 0:
        return geometry.Boxes(s.array(3, n), s.array(4, n), s.array(3, n))
    if k == 1:
        return geometry.Spheres(s.array(3, n), s.array(None, n))
    if k == 2:
        return geometry.Capsules(s.array(3, n), s.array(3, n), s.array(None, n))
    if k == 3:
        pts = s.array(3, 4 * n + s.int(3))
        offs = np.arange(0, 4 * n + 1, 4, dtype=np.int64) if s.int(4) else s.ids()
        return geometry.Hulls(pts, offs)
    return s.array(3, n)  # not a shape batch at all


def _grid(s: _Source) -> object:
    m = s.int(8)
    if m == 0:
        return s.array(None)
    h, w = 1 + s.int(12), 1 + s.int(12)
    if m == 1:
        return np.array([s.value() for _ in range(h * w)]).reshape(h, w)  # cost grid, hostile
    if m == 2:
        d = 1 + s.int(4)
        return np.random.default_rng(s.byte()).random((d, h, w)) < 0.3
    return np.random.default_rng(s.byte()).random((h, w)) < 0.25


def _cell(s: _Source, dims: int = 2) -> object:
    if s.int(6) == 0:
        return s.array(None)
    return np.array([s.int(16) - 2 for _ in range(dims)], dtype=np.int64)


def _stateless(s: _Source) -> None:
    n = s.int(5)
    op = s.int(16)
    if op == 0:
        geometry.quat_to_matrix(s.array(4, n))
    elif op == 1:
        geometry.matrix_to_quat(s.array(9, n) if s.int(2) else s.array(3, n))
    elif op == 2:
        geometry.obb_to_aabb(s.array(3, n), s.array(4, n), s.array(3, n))
    elif op == 3:
        geometry.transform_points(s.array(3, n), s.array(4, n), s.array(3, n))
    elif op == 4:
        geometry.sphere_to_aabb(s.array(3, n), s.array(None, n))
    elif op == 5:
        geometry.capsule_to_aabb(s.array(3, n), s.array(3, n), s.array(None, n))
    elif op == 6:
        geometry.hull_to_aabb(s.array(3, n), s.ids())
    elif op == 7:
        collision.overlap(_shapes(s, n), _shapes(s, n if s.int(3) else 1), tol=s.value())
    elif op == 8:
        collision.distance(_shapes(s, n), _shapes(s, n if s.int(3) else 1))
    elif op == 9:
        collision.penetration(_shapes(s, n), _shapes(s, n if s.int(3) else 1))
    elif op == 10:
        collision.raycast(_shapes(s, n), s.array(3, n), s.array(3, n), s.array(None, n))
    elif op == 11:
        collision.shapecast(_shapes(s, n), s.array(3, n), _shapes(s, n))
    elif op == 12:
        g = _grid(s)
        pathfinding.astar(g, _cell(s), _cell(s), connectivity=s.int(10))
    elif op == 13:
        pathfinding.jps(_grid(s), _cell(s), _cell(s))
    elif op == 14:
        g = _grid(s)
        k = s.int(4)
        starts = np.array([[s.int(14) - 1, s.int(14) - 1] for _ in range(k)], dtype=np.int64)
        goals = np.array([[s.int(14) - 1, s.int(14) - 1] for _ in range(k)], dtype=np.int64)
        method = ["astar", "jps", "bogus"][s.int(3)]
        pathfinding.astar_many(g, starts, goals, method=method, workers=s.int(4))
    else:
        g = _grid(s)
        if s.int(2):
            pathfinding.flow_field(g, s.array(2, s.int(3), kind="i"), connectivity=s.int(10))
        else:
            pathfinding.smooth_path(g, s.array(2, s.int(5), kind="i"))


def _invariants(obj: object) -> bool:
    core = getattr(obj, "_tree", obj)  # Octree/Quadtree keep the check on their core object
    return bool(core.check_invariants())  # type: ignore[attr-defined]


def _snapshot(obj: object) -> tuple:
    n = len(obj)  # type: ignore[arg-type]
    ok = _invariants(obj)
    ids = tuple(np.sort(obj.ids()).tolist()) if hasattr(obj, "ids") and callable(obj.ids) else ()
    return n, ok, ids


def _stateful(s: _Source) -> None:
    k = s.int(6)
    if k == 0:
        obj: object = fbsim.SpatialHash(s.scalar() if s.int(3) == 0 else None)
    elif k == 1:
        obj = fbsim.SweepAndPrune(s.int(4))
    elif k == 2:
        obj = fbsim.DynamicTree(s.value() if s.int(3) == 0 else 0.1)
    elif k == 3:
        obj = fbsim.Octree(s.array(3, s.int(6)), s.ids() if s.int(2) else None)
    elif k == 4:
        obj = fbsim.Quadtree(s.array(2, s.int(6)), None)
    else:
        obj = fbsim.Octree.from_aabbs(s.array(6, s.int(6)), None)
    tree = k >= 3
    cols = 2 if k == 4 else 3
    for _ in range(1 + s.int(8)):
        if s.done():
            break
        before = _snapshot(obj)
        n = s.int(5)
        op = s.int(10)
        try:
            if tree:
                item_cols = 6 if obj.boxes else cols  # type: ignore[attr-defined]
                if op == 0:
                    obj.insert(s.ids(n), s.array(item_cols, n))  # type: ignore[attr-defined]
                elif op == 1:
                    obj.move(s.ids(n), s.array(item_cols, n))  # type: ignore[attr-defined]
                elif op == 2:
                    obj.remove(s.ids(n))  # type: ignore[attr-defined]
                elif op == 3:
                    obj.knn(s.array(cols, n), s.int(6) - 1, workers=s.int(4))  # type: ignore[attr-defined]
                elif op == 4:
                    obj.radius(s.array(cols, n), s.scalar(), workers=s.int(3))  # type: ignore[attr-defined]
                elif op == 5:
                    obj.radius_count(s.array(cols, n), s.array(None, n))  # type: ignore[attr-defined]
                elif op == 6:
                    obj.query_aabb(s.array(cols, n), s.array(cols, n))  # type: ignore[attr-defined]
                elif op == 7:
                    obj.raycast(s.array(cols, n), s.array(cols, n), s.array(None, n))  # type: ignore[attr-defined]
                elif op == 8:
                    obj.get(s.ids(n))  # type: ignore[attr-defined]
                else:
                    obj.query_aabb_count(s.array(cols, n), s.array(cols, n), workers=s.int(4))  # type: ignore[attr-defined]
            else:
                if op in (0, 1):
                    obj.insert(
                        s.ids(n),
                        s.array(3, n),
                        s.array(3, n),  # type: ignore[attr-defined]
                        layers=s.ids(n) if s.int(4) == 0 else None,
                    )
                elif op == 2:
                    obj.update(s.ids(n), s.array(6, n))  # type: ignore[attr-defined]
                elif op == 3:
                    obj.remove(s.ids(n))  # type: ignore[attr-defined]
                elif op == 4:
                    obj.pairs(s.ids(n) if s.int(2) else None)  # type: ignore[attr-defined]
                elif op == 5:
                    obj.query_aabb(s.array(3, n), s.array(3, n))  # type: ignore[attr-defined]
                elif op == 6:
                    obj.query_sphere(s.array(3, n), s.array(None, n))  # type: ignore[attr-defined]
                elif op == 7:
                    obj.raycast(s.array(3, n), s.array(3, n), s.array(None, n))  # type: ignore[attr-defined]
                elif op == 8:
                    obj.raycast_first(s.array(3, n), s.array(3, n), s.array(None, n))  # type: ignore[attr-defined]
                else:
                    other = fbsim.DynamicTree()
                    other.insert(np.arange(n), np.zeros((n, 3)), np.ones((n, 3)))
                    obj.pairs_with(other)  # type: ignore[attr-defined]
        except EXPECTED:
            after = _snapshot(obj)
            if after != before:
                raise AssertionError(
                    f"{type(obj).__name__} changed by a rejected call: {before[:2]} -> {after[:2]}"
                ) from None
        if not _invariants(obj):
            raise AssertionError(f"{type(obj).__name__} invariants broken")


def one_input(data: bytes) -> None:
    """Run one fuzz program; raises only on a finding."""
    s = _Source(data)
    for _ in range(4):
        if s.done():
            break
        try:
            if s.int(2):
                _stateless(s)
            else:
                _stateful(s)
        except EXPECTED:
            pass


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
