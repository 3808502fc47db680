# SPDX-License-Identifier: MIT
"""Random-query equivalence of two fbsim builds' 2D exact A* (a development check, not a test).

Costs must not change when the kernel does: record them with one build, check with another.
``python -m benchmarks.compare.pathfinding_equiv record out.npz`` (e.g. with main's build),
then ``... check out.npz`` with the changed one: identical costs (bit for bit, inf alike),
and every returned path valid (each step a legal move without corner cutting, summing to the
reported cost; checked by tests/oracles_pathfinding.check_path, which shares no code with the
kernel). Expansion totals are printed: ties among equal f may change them.

Queries: 500 seeded grids (widths and heights 1-1030, thin strips among them, 0-35%
obstacles), 8 start/goal pairs each, 4- and 8-connected: 8,000 queries.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

from fbsim import pathfinding as pf

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
from oracles_pathfinding import check_path


def cases(n_grids: int = 500, seed: int = 12345):
    rng = np.random.default_rng(seed)
    for k in range(n_grids):
        kind = rng.integers(0, 4)
        if kind == 0:
            h, w = rng.integers(1, 1031, 2)
        elif kind == 1:
            h, w = rng.integers(1, 8), rng.integers(1, 1031)
        elif kind == 2:
            h, w = rng.integers(1, 1031), rng.integers(1, 8)
        else:
            h, w = rng.integers(1, 130, 2)
        while h * w > 400_000:
            h = max(1, h // 2)
        density = rng.uniform(0, 0.35)
        grid = rng.random((h, w)) >= density
        free = np.argwhere(grid)
        if len(free) == 0:
            continue
        starts = free[rng.integers(0, len(free), 8)]
        goals = free[rng.integers(0, len(free), 8)]
        if h * w > 4 and rng.random() < 0.3:  # a long one: first free cell to last
            starts[0], goals[0] = free[0], free[-1]
        yield k, grid, starts, goals


def record(path: str) -> None:
    keys, costs = [], []
    for k, grid, starts, goals in cases():
        for conn in (4, 8):
            keys.append((k, conn))
            costs.append(pf.astar_many(grid, starts, goals, connectivity=conn))
    np.savez(path, keys=np.array(keys), costs=np.array(costs))
    print(f"recorded {sum(len(c) for c in costs)} queries to {path}")


def check(path: str) -> None:
    data = np.load(path)
    ref = {
        tuple(int(v) for v in key): c for key, c in zip(data["keys"], data["costs"], strict=True)
    }
    queries = bad = paths = expansions = 0
    for k, grid, starts, goals in cases():
        for conn in (4, 8):
            got, exp = pf.astar_many(grid, starts, goals, connectivity=conn, return_expansions=True)
            want = ref[(k, conn)]
            queries += len(got)
            expansions += int(exp.sum())
            same = (got == want) | (np.isinf(got) & np.isinf(want))
            bad += int((~same).sum())
            for i in range(len(starts)):
                cells, cost = pf.astar(grid, tuple(starts[i]), tuple(goals[i]), connectivity=conn)
                if math.isinf(cost):
                    assert len(cells) == 0
                    continue
                paths += 1
                assert tuple(cells[0]) == tuple(starts[i])
                assert tuple(cells[-1]) == tuple(goals[i])
                assert abs(check_path(grid, cells, conn) - cost) <= 1e-9 * max(1.0, cost)
    print(f"{queries} queries: {bad} cost mismatches; {paths} paths valid; expansions {expansions}")
    if bad:
        raise SystemExit(1)


if __name__ == "__main__":
    {"record": record, "check": check}[sys.argv[1]](sys.argv[2])
