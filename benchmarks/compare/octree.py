# SPDX-License-Identifier: MIT
"""fbsim.Octree side by side with scipy cKDTree, pykdtree and rtree on the issue-5 workloads.

Run from the repository root: ``python -m benchmarks.compare.octree [--quick]``. Each
contender runs on the same arrays in this one process, repeats alternate between contenders
(so machine noise hits all of them alike), and the table reports medians and the ratio
peer / fbsim (> 1: fbsim is faster). Everything runs single-threaded (workers=1,
OMP_NUM_THREADS=1 for pykdtree). Writes docs/performance_octree.md.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # pykdtree: one thread, like workers=1

import argparse
import platform
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

import fbsim
from benchmarks.timing import alternate
from benchmarks.workloads_octree import (
    query_boxes,
    radius_for_neighbours,
    tick_moves,
    unit_cube_points,
    world_aabbs,
)

try:
    from pykdtree.kdtree import KDTree as PyKDTree
except ImportError:  # optional peer
    PyKDTree = None
try:
    import rtree
except ImportError:  # optional peer
    rtree = None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="10x smaller workloads, for a smoke run")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    scale = 10 if args.quick else 1
    n, nq = 1_000_000 // scale, 100_000 // scale
    rows: list[tuple[str, str, str, float, float]] = []

    def record(workload: str, result: dict[str, float]) -> None:
        base = result["fbsim"]
        for name, t in result.items():
            if name == "fbsim":
                continue
            rows.append((workload, name, f"{base * 1e3:.1f}", t * 1e3, t / base))
            print(
                f"{workload:<46} fbsim {base * 1e3:8.1f} ms  {name:<18} {t * 1e3:8.1f} ms  "
                f"ratio {t / base:6.2f}x",
                flush=True,
            )

    points = unit_cube_points(n)
    queries = unit_cube_points(nq, seed=5)

    # 1. Build.
    build = {"fbsim": lambda: fbsim.Octree(points), "cKDTree": lambda: cKDTree(points)}
    if PyKDTree is not None:
        build["pykdtree"] = lambda: PyKDTree(points)
    record(f"build, {n:,} points", alternate(build, args.repeats).medians())

    tree, kd = fbsim.Octree(points), cKDTree(points)
    pk = PyKDTree(points) if PyKDTree is not None else None

    # 2. kNN k=8 (check agreement once before timing).
    d_f, _ = tree.knn(queries, 8)
    d_k, _ = kd.query(queries, 8)
    assert np.allclose(d_f, d_k, rtol=1e-12, atol=0)
    knn = {
        "fbsim": lambda: tree.knn(queries, 8),
        "cKDTree": lambda: kd.query(queries, 8, workers=1),
    }
    if pk is not None:
        knn["pykdtree"] = lambda: pk.query(queries, k=8)
    record(f"knn k=8, {nq:,} queries", alternate(knn, args.repeats).medians())

    # 3. Radius with ~10 neighbours.
    r = radius_for_neighbours(n)
    offsets, _ = tree.radius(queries, r)
    assert np.array_equal(np.diff(offsets), kd.query_ball_point(queries, r, return_length=True))
    record(
        f"radius (~{np.diff(offsets).mean():.1f} neighbours), {nq:,} queries",
        alternate(
            {
                "fbsim": lambda: tree.radius(queries, r),
                "cKDTree": lambda: kd.query_ball_point(queries, r, workers=1),
            },
            args.repeats,
        ).medians(),
    )
    record(
        f"radius_count, {nq:,} queries",
        alternate(
            {
                "fbsim": lambda: tree.radius_count(queries, r),
                "cKDTree return_length": lambda: kd.query_ball_point(
                    queries, r, workers=1, return_length=True
                ),
            },
            args.repeats,
        ).medians(),
    )

    # 4. A tick: move 10% of the points, answer 10,000 k=8 queries. cKDTree must rebuild.
    ids, moved = tick_moves(points)
    tick_q = queries[: 10_000 // scale]
    live = points.copy()

    def fbsim_tick():
        tree.move(ids, moved)
        tree.knn(tick_q, 8)

    def ckdtree_tick():
        live[ids] = moved
        cKDTree(live).query(tick_q, 8, workers=1)

    tick = {"fbsim": fbsim_tick, "cKDTree rebuild": ckdtree_tick}
    if PyKDTree is not None:
        tick["pykdtree rebuild"] = lambda: (
            live.__setitem__(ids, moved),
            PyKDTree(live).query(tick_q, k=8),
        )
    record(
        f"tick: move 10% of {n:,}, {len(tick_q):,} knn k=8", alternate(tick, args.repeats).medians()
    )

    # 5. Box queries over boxes vs rtree (bulk loaded, vectorised intersection_v).
    nb = 100_000 // scale
    aabbs = world_aabbs(nb)
    lo, hi = query_boxes(nb)
    btree = fbsim.Octree.from_aabbs(aabbs)
    box = {"fbsim": lambda: btree.query_aabb(lo, hi)}
    if rtree is not None:
        props = rtree.index.Property()
        props.dimension = 3
        ridx = rtree.index.Index(
            ((i, tuple(b), None) for i, b in enumerate(aabbs)), properties=props
        )
        _, got_counts = ridx.intersection_v(lo, hi)
        offsets, _ = btree.query_aabb(lo, hi)
        assert np.array_equal(np.diff(offsets), got_counts)
        box["rtree intersection_v"] = lambda: ridx.intersection_v(lo, hi)
        brute_q = min(nb, 2_000)
        box_few = {
            "fbsim": lambda: btree.query_aabb(lo[:brute_q], hi[:brute_q]),
            "rtree per-query loop": lambda: [
                list(ridx.intersection((*lo[i], *hi[i]))) for i in range(brute_q)
            ],
        }
        record(
            f"box queries, {brute_q:,} over {nb:,} boxes (Python loop)",
            alternate(box_few, args.repeats).medians(),
        )
    record(f"box queries, {nb:,} over {nb:,} boxes", alternate(box, args.repeats).medians())

    # Markdown table.
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    machine = (
        f"{platform.machine()}, {os.cpu_count()} cores shared (load average {load} at the end),"
        f" Python {platform.python_version()}"
    )
    lines = [
        "# Octree performance (benchmarks/compare/octree.py)",
        "",
        (
            f"Machine: {machine}. Single-threaded (workers=1, OMP_NUM_THREADS=1). Median of "
            f"{args.repeats} alternating repeats; ratio = peer time / fbsim time (> 1: fbsim "
            "faster)."
        ),
        "Absolute times are noisy on this shared machine; quote the ratios.",
        "",
        "| workload | fbsim ms | peer | peer ms | ratio |",
        "| --- | ---: | --- | ---: | ---: |",
    ]
    lines += [f"| {w} | {f} | {p} | {t:.1f} | {ratio:.2f}x |" for w, p, f, t, ratio in rows]
    if not args.quick:
        out = Path("docs") / "performance_octree.md"
        out.parent.mkdir(exist_ok=True)
        out.write_text("\n".join(lines) + "\n")
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
