# SPDX-License-Identifier: MIT
"""fbsim.shard side by side with what a Python developer would otherwise write.

Run from the repository root: ``python -m benchmarks.compare.shard [--quick]``. Contenders run
on the same arrays in this one process, repeats alternate between them (machine noise hits all
alike), and the tables report medians and the ratio peer / fbsim (> 1: fbsim is faster).
Writes docs/performance_shard.md.

Peers:
* ``numpy RCB``: the same weighted recursive bisection in numpy (argsort per node).
* ``scipy cKDTree``: building a median-split k-d tree over the same points with leaves of
  n / n_servers points (unweighted, so it does less: a lower bound for any k-d split in scipy).
* ``re-partition``: the tick done without incremental state, partitioning from scratch.
* ``numpy box lookup``: the tick done naively, testing each moved player against all region
  boxes (no hysteresis, no cap, no loads).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from benchmarks.timing import cpu_model
from benchmarks.workloads_shard import walk, world
from fbsim import shard


def numpy_rcb(pos: np.ndarray, w: np.ndarray, k: int) -> np.ndarray:
    """Weighted recursive coordinate bisection, the plain numpy way."""
    out = np.empty(pos.shape[0], dtype=np.int32)
    stack = [(np.arange(pos.shape[0]), 0, k)]
    while stack:
        idx, s0, kk = stack.pop()
        if kk == 1:
            out[idx] = s0
            continue
        p = pos[idx]
        axis = int(np.argmax(p.max(axis=0) - p.min(axis=0))) if idx.size else 0
        order = np.argsort(p[:, axis], kind="stable")
        cw = np.cumsum(w[idx][order])
        kl = kk // 2
        m = int(np.searchsorted(cw, cw[-1] * kl / kk)) + 1 if idx.size else 0
        stack.append((idx[order[:m]], s0, kl))
        stack.append((idx[order[m:]], s0 + kl, kk - kl))
    return out


def box_lookup(regions: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Server whose box contains each point, testing every box (first match)."""
    inside = np.all(
        (pts[:, None, :] >= regions[None, :, :3]) & (pts[:, None, :] <= regions[None, :, 3:]),
        axis=2,
    )
    return np.argmax(inside, axis=1)


CPU: dict[str, float] = {}  # contender -> median process CPU time of its last race, seconds


def race(contenders: dict, repeats: int) -> dict[str, float]:
    """Median wall time of each contender; their median process CPU time goes to ``CPU``.

    CPU time (all threads of this process) is what the code costs; wall time also holds
    whatever the other jobs on a shared machine take from it.
    """
    times: dict[str, list[float]] = {name: [] for name in contenders}
    cpu: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            c0 = time.process_time()
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
    CPU.update({name: statistics.median(v) for name, v in cpu.items()})
    return {name: statistics.median(v) for name, v in times.items()}


def machine() -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return (
        f"{platform.node()} ({cpu_model()}, {platform.machine()}, {os.cpu_count()} CPUs "
        f"shared with other jobs, {platform.python_implementation()} "
        f"{platform.python_version()}, load average {load[0]:.1f} at start)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="fewer repeats and entities")
    args = ap.parse_args()
    n = 200_000 if args.quick else 1_000_000
    k = 64
    repeats = 3 if args.quick else 7
    rows = []
    header = machine()
    print(header)

    for kind in ("uniform", "clustered"):
        pos, w = world(n, kind)
        leaf = -(-n // k)
        med = race(
            {
                "fbsim kd": lambda pos=pos, w=w: shard.partition(pos, w, k),
                "fbsim kd workers=2": lambda pos=pos, w=w: shard.partition(pos, w, k, workers=2),
                "numpy RCB": lambda pos=pos, w=w: numpy_rcb(pos, w, k),
                # machine-speed anchor: one sort of one coordinate column (no partition)
                "numpy sort of x (reference)": lambda pos=pos: np.sort(pos[:, 0]),
                "scipy cKDTree": lambda pos=pos, leaf=leaf: cKDTree(
                    pos, leafsize=leaf, balanced_tree=True
                ),
            },
            repeats,
        )
        s, _ = shard.partition(pos, w, k)
        loads = np.bincount(s, weights=w, minlength=k)
        imb = loads.max() / loads.mean()
        base = med["fbsim kd"]
        for name, t in med.items():
            rows.append(
                (
                    f"partition {n:,} -> {k}, {kind}",
                    name,
                    t * 1e3,
                    CPU[name] * 1e3,
                    t / base,
                    CPU[name] / CPU["fbsim kd"],
                    imb if name == "fbsim kd" else None,
                )
            )
            print(
                f"{kind:9s} {name:28s} wall {t * 1e3:9.1f} ms cpu {CPU[name] * 1e3:9.1f} ms"
                f"  ratio {t / base:6.2f}"
            )

    pos, w = world(n)
    ids, frames = walk(pos, 10_000, 4 * repeats + 8)
    sh = shard.Sharding(pos, w, k, rebalance_every=0)
    regions = sh.regions
    counter = iter(range(10**9))
    med = race(
        {
            "fbsim Sharding.update": lambda: sh.update(ids, frames[next(counter) % len(frames)]),
            "numpy box lookup": lambda: box_lookup(regions, frames[0]),
            "re-partition": lambda: shard.partition(pos, w, k),
        },
        repeats * 2,
    )
    base = med["fbsim Sharding.update"]
    for name, t in med.items():
        rows.append(
            (
                f"tick: 10,000 moved of {n:,}, {k} servers",
                name,
                t * 1e3,
                CPU[name] * 1e3,
                t / base,
                CPU[name] / CPU["fbsim Sharding.update"],
                None,
            )
        )
        print(f"tick      {name:22s} {t * 1e3:9.2f} ms  ratio {t / base:7.2f}")
    # tolerance 0: the second tick shifts planes, so it pays the O(n) rescan (the first warms up)
    shift_wall, shift_cpu = [], []
    for _ in range(max(3, repeats // 2)):
        rb = shard.Sharding(pos, w, k, rebalance_every=2, tolerance=0.0)
        rb.update(ids, frames[0])
        c0 = time.process_time()
        t0 = time.perf_counter()
        rb.update(ids, frames[1])
        shift_wall.append(time.perf_counter() - t0)
        shift_cpu.append(time.process_time() - c0)
        assert rb.report()["ticks"] == 2
    rows.append(
        (
            f"tick with boundary shift (every rebalance_every ticks), {n:,}",
            "fbsim",
            statistics.median(shift_wall) * 1e3,
            statistics.median(shift_cpu) * 1e3,
            None,
            None,
            None,
        )
    )
    pos_b, w_b = world(100_000)
    s_b, r_b = shard.partition(pos_b, w_b, k)
    med = race({"fbsim border_sets": lambda: shard.border_sets(pos_b, s_b, r_b, 32.0)}, repeats)
    rows.append(
        (
            "border sets, 100,000 entities, 64 servers, radius 32",
            "fbsim",
            med["fbsim border_sets"] * 1e3,
            CPU["fbsim border_sets"] * 1e3,
            None,
            None,
            None,
        )
    )

    out = [
        "# fbsim.shard performance",
        "",
        f"Machine: {header}. Generated by `python -m benchmarks.compare.shard"
        + (" --quick" if args.quick else "")
        + "`. Medians of alternating repeats; ratio = peer / fbsim (> 1: fbsim faster).",
        (
            "Workloads: benchmarks/workloads_shard.py (10,000 x 200 x 10,000 studs, 10% players "
            "of weight 10; clustered = 90% on 8 plots). The machine is shared: absolute times "
            "move with its load, ratios much less."
        ),
        "",
        (
            "| workload | contender | median wall ms | median CPU ms | ratio (wall) "
            "| ratio (CPU) | max/mean load |"
        ),
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for wl, name, ms, cpu_ms, ratio, cpu_ratio, imb in rows:
        r = f"{ratio:.2f}" if ratio is not None else ""
        rc = f"{cpu_ratio:.2f}" if cpu_ratio is not None else ""
        i = f"{imb:.4f}" if imb is not None else ""
        out.append(f"| {wl} | {name} | {ms:.2f} | {cpu_ms:.2f} | {r} | {rc} | {i} |")
    out += [
        "",
        "Issue 11's targets: 1,000,000 entities into 64 servers under 100 ms, an incremental",
        "tick with 10,000 moved players under 2 ms. CPU time is the process's (all threads), so",
        "for `workers=1` it is the single thread's cost; wall time adds what the other jobs on",
        "the two shared cores take from this process, which is why wall can be twice CPU here.",
        "The partition is O(n log n_servers): per tree level about 1.5 passes over 32-byte",
        "entity records (40 if a weight is not exactly a float), a weighted Floyd-Rivest",
        "selection whose partition passes are branch-free blocks (BlockQuicksort) and measure",
        "the children's boxes on the way. `workers=2` builds the two halves below the root on",
        "two threads (less wall only when a second core is free). The boundary-shift tick",
        "rescans all entities once (fused C++ pass); it happens at most every",
        "`rebalance_every` ticks.",
    ]
    Path("docs").mkdir(exist_ok=True)
    Path("docs/performance_shard.md").write_text("\n".join(out) + "\n")
    print("\n".join(out))


if __name__ == "__main__":
    main()
