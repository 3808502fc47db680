# SPDX-License-Identifier: MIT
"""The Moving AI 3D Warframe benchmark (A1: 896 x 390 x 255 voxels, 10,000 rows, 26-connected,
no corner cutting) through ``fbsim.pathfinding.astar_many``, every cost checked against the
stored optimum.

Run from the repo root::

    python -m benchmarks.compare.pathfinding_3d [--rows N] [--workers W] [--budget SECONDS]
        [--checkpoint FILE]

Rows run in a fixed seeded random order (so a prefix is an unbiased sample). ``W`` threads each
take the next ``--chunk`` rows and run them through ``astar_many(..., workers=1)`` (the kernel
releases the GIL), so a thread that drew a slow row does not hold up the others. With
``--budget`` no new chunk starts once the time budget is spent.

``--checkpoint FILE`` makes the run resumable: one line per checked row (row index in the file,
cost, stored optimum, expansions, kernel id) is appended as each chunk finishes, and a rerun
skips the rows already checked by the same kernel. The kernel id is a hash of the sources the
3D uniform-grid search compiles from (KERNEL_SOURCES), so rows checked by another kernel are
run again. Writes docs/performance_pathfinding_3d.md. Exits non-zero if any row misses its
optimum.
"""

from __future__ import annotations

import argparse
import hashlib
import platform
import resource
import sys
import threading
import time
from pathlib import Path

import numpy as np

from benchmarks.workloads_pathfinding import warframe_a1
from fbsim import pathfinding as pf

ROOT = Path(__file__).resolve().parents[2]
# SOURCES.md (shared data): the 3D optima are printed with 8 decimals and were reproduced by
# an independent pure-Python A* to 1e-5 relative; that is the tolerance used here.
RTOL = 1e-5
STATE_BYTES_PER_CELL = 12  # ExactStore: packed move counts (8 B) + stamp/closed/parent (4 B)
# What a 3D astar_many on a bool grid runs: the 3D kernel, its shared state and move tables,
# and the batch driver. A change to any of them changes the kernel id.
KERNEL_SOURCES = (
    "csrc/src/grid_astar_exact_3d.cpp",
    "csrc/src/detail/exact_astar.hpp",
    "csrc/src/detail/grid_search.hpp",
    "csrc/src/grid_astar.cpp",
)
CHECKPOINT_HEADER = "# row\tcost\texpected\texpansions\tkernel"
# The docs page is regenerated above this line and kept from it on (hand-written notes).
KEEP_MARKER = "<!-- hand-written below: kept when this page is regenerated -->"


def kernel_id() -> str:
    """First 12 hex digits of the SHA-256 of KERNEL_SOURCES (names and contents)."""
    h = hashlib.sha256()
    for rel in KERNEL_SOURCES:
        h.update(rel.encode() + b"\0" + (ROOT / rel).read_bytes() + b"\0")
    return h.hexdigest()[:12]


def read_checkpoint(path: Path) -> list[tuple[int, float, float, int, str]]:
    """The rows of a checkpoint file (missing file: none). Later lines win per (row, kernel)."""
    if not path.is_file():
        return []
    out = []
    for line in path.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        row, cost, expected, exps, kernel = line.split("\t")
        out.append((int(row), float(cost), float(expected), int(exps), kernel))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=0, help="rows to run (0 = all)")
    ap.add_argument("--workers", type=int, default=2, help="threads, one search each")
    ap.add_argument("--budget", type=float, default=0.0, help="stop after this many seconds")
    ap.add_argument("--chunk", type=int, default=4, help="rows per astar_many call")
    ap.add_argument("--checkpoint", type=Path, default=None, help="resumable row log")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "performance_pathfinding_3d.md")
    args = ap.parse_args()

    kid = kernel_id()
    t_load = time.perf_counter()
    loaded = warframe_a1()
    if loaded is None:
        print("3D Moving AI data not found", file=sys.stderr)
        return 1
    grid, rows = loaded
    t_load = time.perf_counter() - t_load
    total = len(rows)
    order = np.random.default_rng(0).permutation(total)
    if args.rows > 0:
        order = order[: args.rows]
    starts_all = np.stack([rows["sz"], rows["sy"], rows["sx"]], 1)
    goals_all = np.stack([rows["gz"], rows["gy"], rows["gx"]], 1)
    optimal_all = rows["optimal"]

    # Rows already checked by this kernel (row -> (cost, expansions)); other kernels' counts.
    previous: dict[int, tuple[float, int]] = {}
    other_kernels: dict[str, set[int]] = {}
    if args.checkpoint is not None:
        for row, cost, _expected, exps, kernel in read_checkpoint(args.checkpoint):
            if kernel == kid:
                previous[row] = (cost, exps)
            else:
                other_kernels.setdefault(kernel, set()).add(row)
        if not args.checkpoint.is_file():
            args.checkpoint.parent.mkdir(parents=True, exist_ok=True)
            args.checkpoint.write_text(CHECKPOINT_HEADER + "\n")
    todo = np.array([r for r in order if int(r) not in previous], dtype=np.int64)
    print(f"kernel {kid}: {len(previous):,} rows already checked, {len(todo):,} to run")

    results: dict[int, tuple[float, int]] = {}
    lock = threading.Lock()
    next_chunk = [0]
    stopped_by_budget = [False]
    errors: list[BaseException] = []
    t0 = time.perf_counter()

    def worker() -> None:
        try:
            while True:
                with lock:
                    begin = next_chunk[0]
                    if begin >= len(todo):
                        return
                    if args.budget > 0 and time.perf_counter() - t0 > args.budget:
                        stopped_by_budget[0] = True
                        return
                    next_chunk[0] = begin + args.chunk
                idx = todo[begin : begin + args.chunk]
                c, e = pf.astar_many(
                    grid,
                    starts_all[idx],
                    goals_all[idx],
                    connectivity=26,
                    workers=1,
                    return_expansions=True,
                )
                with lock:
                    lines = []
                    for r, cost, exps in zip(idx.tolist(), c.tolist(), e.tolist(), strict=True):
                        results[r] = (cost, exps)
                        lines.append(f"{r}\t{cost!r}\t{float(optimal_all[r])!r}\t{exps}\t{kid}\n")
                    if args.checkpoint is not None:
                        with args.checkpoint.open("a") as f:
                            f.writelines(lines)
                    n = len(results)
                    if n % 100 < len(idx):
                        print(f"{n}/{len(todo)} rows, {time.perf_counter() - t0:.0f} s", flush=True)
        except BaseException as exc:  # noqa: BLE001 (re-raised after the join)
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(max(1, args.workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    elapsed = time.perf_counter() - t0

    run_rows = np.array(sorted(results), dtype=np.int64)
    run_exp = np.array([results[r][1] for r in run_rows], dtype=np.int64)
    verified = {**previous, **results}
    all_rows = np.array(sorted(verified), dtype=np.int64)
    all_cost = np.array([verified[r][0] for r in all_rows])
    all_exp = np.array([verified[r][1] for r in all_rows], dtype=np.int64)
    ok = np.isclose(all_cost, optimal_all[all_rows], rtol=RTOL, atol=0.0)
    bad = all_rows[~ok]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    done = len(run_rows)
    rate = run_exp.sum() / max(elapsed, 1e-9)
    # Rows are in random order, so this run's mean time per row extrapolates to the file.
    projected_h = elapsed / max(done, 1) * total / 3600

    cells = grid.size
    cmd = (
        "python -m benchmarks.compare.pathfinding_3d"
        + (f" --rows {args.rows}" if args.rows else "")
        + f" --workers {args.workers}"
        + (f" --budget {args.budget:g}" if args.budget else "")
        + (f" --checkpoint {args.checkpoint}" if args.checkpoint else "")
    )
    lines = [
        "# fbsim.pathfinding: Moving AI 3D Warframe benchmark (A1)",
        "",
        (
            f"Machine: {platform.machine()}, Python {platform.python_version()}, shared 2-core VM "
            "(other jobs ran at the same time: absolute times are pessimistic). Generated by "
            f"`{cmd}`."
        ),
        "",
        (
            f"Map {grid.shape[2]} x {grid.shape[1]} x {grid.shape[0]} voxels ({cells:,} cells, "
            f"{int((~grid).sum()):,} blocked); 26-connected, moves cost 1, sqrt 2, sqrt 3, no "
            "corner cutting (the move's whole 2x2 / 2x2x2 block must be free). "
            f"{args.workers} threads each run `astar_many(..., connectivity=26, workers=1)` on "
            f"the next {args.chunk} rows; rows in a fixed seeded random order (seed 0), so a "
            f"prefix is an unbiased sample. Each cost is checked against the stored optimum to "
            f"{RTOL:g} relative (the tolerance SOURCES.md states for this file)."
        ),
        "",
        f"Kernel id `{kid}` (SHA-256 of {', '.join(KERNEL_SOURCES)}).",
        "",
        "| measure | value |",
        "| --- | ---: |",
        f"| rows in the file | {total:,} |",
        f"| rows verified by this kernel (all runs) | {len(all_rows):,} |",
        f"| of which match the stored optimum | {int(ok.sum()):,} |",
        f"| mismatched | {len(bad):,} |",
        f"| rows run in this invocation | {done:,} |",
        f"| search time of this invocation | {elapsed:.1f} s |",
        f"| expansions per second, this invocation (all threads) | {rate:,.0f} |",
        f"| projected time for all {total:,} rows at this rate | {projected_h:.2f} h |",
    ]
    if len(all_exp):
        lines += [
            f"| mean expansions per verified row | {all_exp.mean():,.0f} |",
            f"| median expansions per verified row | {np.median(all_exp):,.0f} |",
            f"| max expansions per verified row | {all_exp.max():,} |",
        ]
    lines += [
        f"| map load time | {t_load:.1f} s |",
        (
            f"| memory per cell | 1 B grid + {STATE_BYTES_PER_CELL} B search state per worker "
            f"({cells * STATE_BYTES_PER_CELL / 2**30:.2f} GiB of address space per worker, "
            "touched lazily) |"
        ),
        f"| peak RSS of this process | {peak_mb:,.0f} MiB |",
        "",
    ]
    for kernel, rs in sorted(other_kernels.items()):
        lines += [f"The checkpoint also holds {len(rs):,} rows checked by kernel `{kernel}`.", ""]
    if len(all_rows) < total:
        lines += [
            (
                f"**Not all rows are verified**: {len(all_rows):,} of {total:,} by this kernel"
                + (f" (time budget {args.budget:g} s reached)" if stopped_by_budget[0] else "")
                + ". Most rows need few expansions, but rows whose optimum detours around walls "
                "flood millions of open voxels, and those dominate the time. Rerun with the "
                "same `--checkpoint` to continue where this run stopped."
            ),
            "",
        ]
    if len(bad):
        lines += ["Mismatches (row index in the file, got, stored optimum):", ""]
        for r in bad[:50]:
            lines.append(f"* {int(r)}: {verified[int(r)][0]:.8f} vs {optimal_all[r]:.8f}")
        lines.append("")
    text = "\n".join(lines)
    print(text)
    kept = ""
    if args.out.is_file():
        old = args.out.read_text()
        if KEEP_MARKER in old:
            kept = "\n" + old[old.index(KEEP_MARKER) :]
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(text + "\n" + kept)
    return 1 if len(bad) else 0


if __name__ == "__main__":
    sys.exit(main())
