# SPDX-License-Identifier: MIT
"""fbsim narrow phase vs python-fcl, coal and a vectorised numpy SAT, side by side.

Workload (the issue's): 100,000 random OBB pairs, half extents 0.25-1, random rotations,
centres uniform in a cube of side 3. Peers called per pair from Python run on a prefix of the
pairs (their cost per pair does not depend on n); objects are built before timing for every
library, so only the queries are timed. Repeats alternate between libraries; we report the
median time per pair and the ratio peer / fbsim. Single-threaded throughout.

Run from the repository root:  python -m benchmarks.compare.narrowphase [--pairs N]
Writes docs/performance_narrowphase.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

import fbsim
from benchmarks.workloads_narrowphase import random_obb_pairs


def numpy_sat_overlap(ca, qa, ha, cb, qb, hb, tol=0.0):
    """What a Python developer writes instead: the 15-axis OBB SAT (Ericson 4.4.1),
    vectorised over pairs with numpy."""
    ra = Rotation.from_quat(qa).as_matrix()  # (n, 3, 3), columns = box axes
    rb = Rotation.from_quat(qb).as_matrix()
    r = np.einsum("nki,nkj->nij", ra, rb)
    ar = np.abs(r) + 1e-12
    t = np.einsum("nki,nk->ni", ra, cb - ca)
    sep = np.zeros(len(ca), dtype=bool)
    for i in range(3):
        sep |= np.abs(t[:, i]) >= ha[:, i] + np.einsum("nj,nj->n", hb, ar[:, i, :]) - tol
    for j in range(3):
        ra_ = np.einsum("ni,ni->n", ha, ar[:, :, j])
        sep |= np.abs(np.einsum("ni,ni->n", t, r[:, :, j])) >= ra_ + hb[:, j] - tol
    for i in range(3):
        i1, i2 = (i + 1) % 3, (i + 2) % 3
        for j in range(3):
            j1, j2 = (j + 1) % 3, (j + 2) % 3
            rad = (
                ha[:, i1] * ar[:, i2, j]
                + ha[:, i2] * ar[:, i1, j]
                + hb[:, j1] * ar[:, i, j2]
                + hb[:, j2] * ar[:, i, j1]
            )
            dist = np.abs(t[:, i2] * r[:, i1, j] - t[:, i1] * r[:, i2, j])
            sep |= dist >= rad - tol * np.hypot(r[:, i1, j], r[:, i2, j])
    return ~sep


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=100_000)
    ap.add_argument("--peer-pairs", type=int, default=20_000, help="pairs for per-pair peers")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default="docs/performance_narrowphase.md")
    args = ap.parse_args(argv)

    (ca, qa, ha), (cb, qb, hb) = random_obb_pairs(args.pairs, seed=0)
    a, b = fbsim.Boxes(ca, qa, ha), fbsim.Boxes(cb, qb, hb)
    m = min(args.peer_pairs, args.pairs)

    runners = {}  # name -> (pairs, callable returning bool or float array)
    runners["fbsim overlap"] = (args.pairs, lambda: fbsim.overlap(a, b))
    runners["fbsim distance"] = (args.pairs, lambda: fbsim.distance(a, b)[0])
    runners["fbsim penetration"] = (args.pairs, lambda: fbsim.penetration(a, b)[0])
    runners["numpy SAT overlap"] = (args.pairs, lambda: numpy_sat_overlap(ca, qa, ha, cb, qb, hb))
    try:
        import fcl

        def fcl_objs(c, q, h):
            return [
                fcl.CollisionObject(fcl.Box(*(2 * h[i])), fcl.Transform(np.roll(q[i], 1), c[i]))
                for i in range(m)
            ]

        fa, fb = fcl_objs(ca, qa, ha), fcl_objs(cb, qb, hb)
        creq, dreq = fcl.CollisionRequest(), fcl.DistanceRequest()

        def fcl_collide():
            return np.array(
                [
                    fcl.collide(x, y, creq, fcl.CollisionResult()) > 0
                    for x, y in zip(fa, fb, strict=True)
                ]
            )

        def fcl_distance():
            return np.array(
                [
                    fcl.distance(x, y, dreq, fcl.DistanceResult())
                    for x, y in zip(fa, fb, strict=True)
                ]
            )

        runners["python-fcl collide"] = (m, fcl_collide)
        runners["python-fcl distance"] = (m, fcl_distance)
    except ImportError:
        print("python-fcl not installed: skipped")
    try:
        import coal

        def coal_objs(c, q, h):
            return [
                (
                    coal.Box(*(2 * h[i])),
                    coal.Transform3s(Rotation.from_quat(q[i]).as_matrix(), c[i].copy()),
                )
                for i in range(m)
            ]

        ka, kb = coal_objs(ca, qa, ha), coal_objs(cb, qb, hb)
        kcreq, kdreq = coal.CollisionRequest(), coal.DistanceRequest()

        def coal_collide():
            return np.array(
                [
                    coal.collide(x[0], x[1], y[0], y[1], kcreq, coal.CollisionResult()) > 0
                    for x, y in zip(ka, kb, strict=True)
                ]
            )

        def coal_distance():
            return np.array(
                [
                    coal.distance(x[0], x[1], y[0], y[1], kdreq, coal.DistanceResult())
                    for x, y in zip(ka, kb, strict=True)
                ]
            )

        runners["coal collide"] = (m, coal_collide)
        runners["coal distance"] = (m, coal_distance)
    except ImportError:
        print("coal not installed: skipped")

    times = {name: [] for name in runners}
    outputs = {}
    for _ in range(args.repeats):  # alternate libraries within each repeat
        for name, (n, fn) in runners.items():
            dt, out = _timed(fn)
            times[name].append(dt / n)
            outputs[name] = out
    per_pair = {name: statistics.median(v) for name, v in times.items()}

    # Sanity: everyone answers the same question the same way on the shared prefix.
    ov = outputs["fbsim overlap"]
    agree = {"numpy SAT overlap": np.mean(outputs["numpy SAT overlap"] == ov)}
    for peer in ("python-fcl collide", "coal collide"):
        if peer in outputs:
            agree[peer] = np.mean(outputs[peer] == ov[:m])

    pairs_of = {
        "fbsim overlap": ["numpy SAT overlap", "python-fcl collide", "coal collide"],
        "fbsim distance": ["python-fcl distance", "coal distance"],
    }
    rows = [
        (ours, peer, per_pair[ours], per_pair[peer], per_pair[peer] / per_pair[ours])
        for ours, peers in pairs_of.items()
        for peer in peers
        if peer in per_pair
    ]

    lines = [
        "# Narrow phase: fbsim vs peers",
        "",
        (
            f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other jobs "
            f"(load average {os.getloadavg()[0]:.1f}), Python {platform.python_version()}, "
            f"numpy {np.__version__}; single thread."
        ),
        (
            f"Workload: {args.pairs:,} random OBB pairs (half extents 0.25-1, random rotations, "
            f"centres in a cube of side 3; {ov.mean():.0%} overlap). Per-pair peers ran on the "
            f"first {m:,} pairs. Median of {args.repeats} alternating repeats."
        ),
        "Generated by `python -m benchmarks.compare.narrowphase`.",
        "",
        "| query | fbsim us/pair | peer | peer us/pair | speed-up (peer / fbsim) |",
        "| --- | ---: | --- | ---: | ---: |",
    ]
    for ours, peer, t_ours, t_peer, ratio in rows:
        lines.append(
            f"| {ours} | {t_ours * 1e6:.3f} | {peer} | {t_peer * 1e6:.3f} | {ratio:.1f}x |"
        )
    lines += [
        "",
        f"fbsim penetration (SAT depth + normal): {per_pair['fbsim penetration'] * 1e6:.3f} us/pair.",
        "",
        "Boolean agreement with fbsim on the same pairs: "
        + ", ".join(f"{k} {v:.4%}" for k, v in agree.items())
        + " (differences only at touching within rounding).",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)


if __name__ == "__main__":
    main()
