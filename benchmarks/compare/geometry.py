# SPDX-License-Identifier: MIT
"""Side-by-side: fbsim's batch geometry vs scipy/numpy on the same arrays, in one process.

Run from the repository root: ``python -m benchmarks.compare.geometry``. Repeats alternate
between the contenders so machine noise hits both alike; prints median times and ratios and
writes docs/performance_geometry.md.
"""

from __future__ import annotations

import platform
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

import fbsim
from benchmarks.common import random_boxes
from benchmarks.timing import alternate


def _numpy_obb_to_aabb(c, q, h):
    extent = np.einsum("nij,nj->ni", np.abs(Rotation.from_quat(q).as_matrix()), h)
    return np.hstack([c - extent, c + extent])


def main(n: int = 1_000_000, repeats: int = 7) -> list[tuple[str, str, float, float]]:
    c, q, h = random_boxes(n, seed=1)
    pts = c.copy()
    rows = []
    workloads = {
        "obb_to_aabb": {
            "fbsim": lambda: fbsim.obb_to_aabb(c, q, h),
            "scipy+numpy": lambda: _numpy_obb_to_aabb(c, q, h),
        },
        "quat_to_matrix": {
            "fbsim": lambda: fbsim.quat_to_matrix(q),
            "scipy": lambda: Rotation.from_quat(q).as_matrix(),
        },
        "transform_points (one transform)": {
            "fbsim": lambda: fbsim.transform_points(pts, c[0], q[0]),
            "scipy": lambda: Rotation.from_quat(q[0]).apply(pts) + c[0],
        },
    }
    for workload, contenders in workloads.items():
        med = alternate(contenders, repeats).medians()
        base = med["fbsim"]
        for name, t in med.items():
            rows.append((workload, name, t * 1e3, t / base))
    machine = f"{platform.machine()} {platform.processor() or ''}".strip()
    title = f"# Geometry: fbsim vs peers ({n:,} items, median of {repeats}, {machine}, 1 thread)"
    lines = [
        title,
        "",
        "| workload | contender | ms | time / fbsim |",
        "| --- | --- | ---: | ---: |",
    ]
    lines += [f"| {w} | {name} | {ms:.2f} | {ratio:.2f} |" for w, name, ms, ratio in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(__file__).resolve().parents[2] / "docs" / "performance_geometry.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text)
    return rows


if __name__ == "__main__":
    main()
