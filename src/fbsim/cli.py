# SPDX-License-Identifier: MIT
"""The ``fbsim`` command line.

``fbsim demo`` shows what the library does today on a synthetic world; ``fbsim --cmake-dir``
prints the CMake package directory for C++ servers (``-Dfbsim_DIR=$(fbsim --cmake-dir)``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

import fbsim
from fbsim import _paths


def _random_boxes(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Items of a building world: sizes 0.5-8 studs, random orientations, over a 2,000-stud map."""
    rng = np.random.default_rng(seed)
    centers = rng.uniform([-1000, 0, -1000], [1000, 200, 1000], size=(n, 3))
    quats = rng.normal(size=(n, 4))
    half_extents = rng.uniform(0.25, 4.0, size=(n, 3))
    return centers, quats, half_extents


def _numpy_obb_to_aabb(centers, quats, half_extents):
    """What a Python developer writes instead: scipy rotations and numpy corner brute force."""
    from scipy.spatial.transform import Rotation

    mats = Rotation.from_quat(quats).as_matrix()
    extent = np.einsum("nij,nj->ni", np.abs(mats), half_extents)
    return np.hstack([centers - extent, centers + extent])


def _best_of(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def run_demo(items: int, seed: int, as_json: bool) -> dict:
    """Time fbsim's batch geometry against the numpy/scipy equivalent and show the checks."""
    centers, quats, half_extents = _random_boxes(items, seed)
    aabbs = fbsim.obb_to_aabb(centers, quats, half_extents)
    reference = _numpy_obb_to_aabb(centers, quats, half_extents)
    max_error = float(np.max(np.abs(aabbs - reference))) if items else 0.0

    t_fbsim = _best_of(lambda: fbsim.obb_to_aabb(centers, quats, half_extents), 3)
    t_numpy = _best_of(lambda: _numpy_obb_to_aabb(centers, quats, half_extents), 3)

    bad = centers[:2].copy() if items >= 2 else np.zeros((2, 3))
    bad[1, 2] = np.nan
    try:
        fbsim.obb_to_aabb(bad, np.tile([0, 0, 0, 1.0], (2, 1)), np.ones((2, 3)))
        rejected = "accepted (bug!)"
    except ValueError as exc:
        rejected = str(exc)

    report = {
        "items": items,
        "obb_to_aabb_ms": {"fbsim": t_fbsim * 1e3, "numpy_scipy": t_numpy * 1e3},
        "speedup_vs_numpy": t_numpy / t_fbsim if t_fbsim > 0 else float("inf"),
        "max_abs_difference": max_error,
        "nan_input_rejected_with": rejected,
        "core_version": fbsim._core.version(),
    }
    if as_json:
        print(json.dumps(report))
    else:
        print(f"fbsim {fbsim.__version__}: batch geometry for building-game servers")
        print(f"  {items:,} oriented boxes -> AABBs")
        print(f"    fbsim (C++ core)   {t_fbsim * 1e3:9.2f} ms")
        print(
            f"    numpy + scipy      {t_numpy * 1e3:9.2f} ms   ({report['speedup_vs_numpy']:.1f}x slower)"
        )
        print(f"    max |difference|   {max_error:.3g} studs")
        print(f"  a NaN coordinate is rejected, not simulated: {rejected}")
        print("  C++ servers link the same core: cmake -Dfbsim_DIR=$(fbsim --cmake-dir)")
    return report


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fbsim", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"fbsim {fbsim.__version__}")
    parser.add_argument(
        "--cmake-dir", action="store_true", help="print the directory of fbsimConfig.cmake and exit"
    )
    parser.add_argument(
        "--include-dir", action="store_true", help="print the C++ include directory and exit"
    )
    sub = parser.add_subparsers(dest="command")
    demo = sub.add_parser("demo", help="time the batch geometry kernels on a synthetic world")
    demo.add_argument("--items", type=int, default=1_000_000, help="number of boxes (default 1e6)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.cmake_dir or args.include_dir:
        try:
            path = _paths.get_cmake_dir() if args.cmake_dir else _paths.get_include_dir()
        except FileNotFoundError as exc:
            print(f"fbsim: {exc}", file=sys.stderr)
            return 1
        print(path)
        return 0
    if args.command == "demo":
        if args.items < 0:
            parser.error("--items must be >= 0")
        run_demo(args.items, args.seed, args.json)
        return 0
    parser.print_help()
    return 0
