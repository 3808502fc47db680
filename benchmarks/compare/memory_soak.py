# SPDX-License-Identifier: MIT
"""Memory soak: is fbsim's memory flat over a long run? (issue 10)

Two measurements, both printed and written to docs/performance_memory.md:

1. ``fbsim simulate`` as a subprocess for ``--ticks`` ticks (default 36,000 = 10 minutes of
   game time at 60 ticks/s, run as fast as possible), its RSS sampled from /proc every
   ``--interval`` seconds. Reported: RSS after warm-up (the first sample once 10 % of the run
   is done), at the end, the peak, and the growth per 1,000 ticks after warm-up. The world
   itself grows while builders place items, so some growth is state, not a leak; the run's own
   item count is printed beside it.
   With ``--steady`` the run is the same world and players, but the item count is held constant
   (each tick, as many of the oldest items are removed as builders placed); the run's own
   diagnostics (tick timings, track points for the plot) are bounded by fbsim._series, so RSS
   growth left after warm-up is either bounded state still filling (replay protection:
   ``--request-window`` shrinks it; ``--trace`` names the growth sites) or a leak. ``--seconds`` time-boxes that run (default 600 = 10 minutes of
   wall time).
2. A churn loop in this process: every stateful structure created, filled, queried, mutated
   and dropped, and every stateless kernel called (including rejected calls that raise), for
   ``--churn`` rounds. Nothing is kept between rounds, so RSS after the last round minus
   RSS after the first rounds is what leaks.

Run from the repo root: ``python -m benchmarks.compare.memory_soak [--ticks N] [--churn N]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def rss_mib(pid: int | str = "self") -> float:
    """Resident set size of a process, MiB (Linux /proc)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except (FileNotFoundError, ProcessLookupError):
        pass
    return float("nan")


def soak_simulate(ticks: int, items: int, players: int, interval: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-m",
            "fbsim",
            "simulate",
            "--ticks",
            str(ticks),
            "--items",
            str(items),
            "--players",
            str(players),
            "--no-progress",
            "--json",
            "--audit",
            str(Path(tmp) / "audit.jsonl"),
        ]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        samples: list[tuple[float, float]] = []
        while proc.poll() is None:
            r = rss_mib(proc.pid)
            if not np.isnan(r):
                samples.append((time.perf_counter() - t0, r))
            time.sleep(interval)
        out, err = proc.communicate()
        wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"fbsim simulate failed ({proc.returncode}):\n{err[-2000:]}")
    if len(samples) < 4:
        raise SystemExit("run too short to sample; raise --ticks")
    times = np.array([s[0] for s in samples])
    rss = np.array([s[1] for s in samples])
    warm = int(np.searchsorted(times, 0.1 * wall))
    warm = min(warm, len(rss) - 2)
    # RSS growth rate after warm-up, as ticks are spread evenly over the wall time.
    slope = np.polyfit(times[warm:], rss[warm:], 1)[0]  # MiB per second
    ticks_per_s = ticks / wall
    return {
        "ticks": ticks,
        "items": items,
        "players": players,
        "wall_s": wall,
        "rss_first": float(rss[0]),
        "rss_warm": float(rss[warm]),
        "rss_end": float(rss[-1]),
        "rss_peak": float(rss.max()),
        "growth_per_1000_ticks": float(slope / ticks_per_s * 1000.0),
        "report_tail": out.strip()[-400:],
    }


class _Deadline(Exception):
    pass


def native_bytes(sim) -> dict:
    """Bytes of the state that is not Python objects: the C++ structures' own buffers
    (``nbytes``) and the world's numpy tables (capacity, not length)."""
    world = sim.world
    tables = {
        name: sum(a.nbytes for a in getattr(world, name)._data.values())
        for name in ("_items", "_players", "_plots")
    }
    return {
        "item_tree": world._item_tree.nbytes,
        "player_tree": world._player_tree.nbytes,
        **{f"table{k}": v for k, v in tables.items()},
    }


def decision_entries(world) -> int:
    """Replay-protection memory: remembered (player, request id) decisions."""
    return sum(len(m) for m in world._decisions.values())


def steady_child(
    ticks: int,
    items: int,
    players: int,
    seconds: float,
    trace: bool = False,
    request_window: int | None = None,
) -> None:
    """The --steady run, in this (child) process: world size held constant.

    Prints one JSON line: ticks run, wall time, items placed and removed, item count min/max.
    With ``trace``, Python allocations are traced (tracemalloc) from the first tick; snapshots
    are taken once 10 % of ``seconds`` has passed (after warm-up) and at the end, and the
    line also carries the top growth sites between them (file:line), the native bytes of
    :func:`native_bytes` and the replay-protection entry count at both points.
    ``request_window`` shrinks ``World.REQUEST_WINDOW`` so that bound is reached in a short
    run (the default 1024 per player needs ~11 minutes of game time per builder to fill).
    """
    import collections
    import tracemalloc

    from fbsim.simulate import Simulation, SimulationConfig
    from fbsim.world import World

    if request_window is not None:
        World.REQUEST_WINDOW = request_window

    with tempfile.TemporaryDirectory() as tmp:
        cfg = SimulationConfig(
            ticks=ticks,
            items=items,
            players=players,
            progress=False,
            audit_path=str(Path(tmp) / "audit.jsonl"),
        )
        sim = Simulation(cfg)
        world, server = sim.world, sim.server
        # Track points and tick timings are bounded by the simulation itself (fbsim._series:
        # TickSeries rings, allocated up front; Track halves its resolution when full).
        # FIFO of the ids in the world, oldest first: the generated world, then placements.
        fifo = collections.deque(world._items.ids().tolist())
        counts = {"placed": 0, "removed": 0, "min": world.item_count, "max": world.item_count}
        commit = world.commit

        def steady_commit(results):
            ids = commit(results)
            if len(ids):
                fifo.extend(ids.tolist())
                old = [fifo.popleft() for _ in range(len(ids))]
                world.remove_items(np.array(old, dtype=np.int64))
                counts["placed"] += len(ids)
                counts["removed"] += len(old)
            counts["min"] = min(counts["min"], world.item_count)
            counts["max"] = max(counts["max"], world.item_count)
            return ids

        world.commit = steady_commit
        t0 = time.perf_counter()
        done = [0]
        tick = server.tick

        def timed_tick(*a, **k):
            if time.perf_counter() - t0 > seconds:
                raise _Deadline
            done[0] += 1
            return tick(*a, **k)

        server.tick = timed_tick
        loop_start = time.time()
        warm: dict = {}
        if trace:
            tracemalloc.start(1)

            def traced_tick(*a, **k):
                if not warm and time.perf_counter() - t0 > 0.1 * seconds:
                    warm["snap"] = tracemalloc.take_snapshot()
                    warm["tick"] = done[0]
                    warm["native"] = native_bytes(sim)
                    warm["decisions"] = decision_entries(world)
                return timed_tick(*a, **k)

            server.tick = traced_tick
        with contextlib.suppress(_Deadline):
            sim.run()
        out = {
            "ticks": done[0],
            "wall_s": time.perf_counter() - t0,
            # Epoch times of the tick loop, so the parent can ignore samples taken while the
            # world was built or while the process tears down (frees everything) at exit.
            "loop_start": loop_start,
            "loop_end": time.time(),
            **counts,
        }
        if trace:
            end = tracemalloc.take_snapshot()
            traced = tracemalloc.get_traced_memory()[0]
            tracemalloc.stop()
            filt = [tracemalloc.Filter(False, tracemalloc.__file__)]
            diff = end.filter_traces(filt).compare_to(warm["snap"].filter_traces(filt), "lineno")
            out["trace"] = {
                "warm_tick": warm["tick"],
                "python_traced_end": traced,
                "growth_total": sum(d.size_diff for d in diff),
                "top": [
                    {
                        "site": f"{d.traceback[0].filename.split('/src/')[-1]}:"
                        f"{d.traceback[0].lineno}",
                        "size_diff": d.size_diff,
                        "count_diff": d.count_diff,
                    }
                    for d in diff[:12]
                ],
                "native_warm": warm["native"],
                "native_end": native_bytes(sim),
                "decisions_warm": warm["decisions"],
                "decisions_end": decision_entries(world),
                "request_window": World.REQUEST_WINDOW,
            }
        print(json.dumps(out), flush=True)


def soak_steady(
    ticks: int,
    items: int,
    players: int,
    interval: float,
    seconds: float,
    trace: bool = False,
    request_window: int | None = None,
) -> dict:

    cmd = [
        sys.executable,
        "-m",
        "benchmarks.compare.memory_soak",
        "--steady-child",
        "--ticks",
        str(ticks),
        "--items",
        str(items),
        "--players",
        str(players),
        "--seconds",
        str(seconds),
    ]
    if trace:
        cmd.append("--trace")
    if request_window is not None:
        cmd += ["--request-window", str(request_window)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    samples: list[tuple[float, float]] = []
    while proc.poll() is None:
        r = rss_mib(proc.pid)
        if not np.isnan(r):
            samples.append((time.time(), r))
        time.sleep(interval)
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"steady soak failed ({proc.returncode}):\n{err[-2000:]}")
    child = json.loads(out.strip().splitlines()[-1])
    # Only samples inside the tick loop: world building before it, teardown after it.
    loop = [s for s in samples if child["loop_start"] <= s[0] <= child["loop_end"]]
    if len(loop) < 4:
        raise SystemExit("tick loop too short to sample; raise --seconds")
    times = np.array([s[0] - child["loop_start"] for s in loop])
    rss = np.array([s[1] for s in loop])
    first = samples[0][1]
    # Warm-up ends 10 % into the tick loop.
    warm = int(np.searchsorted(times, 0.1 * child["wall_s"]))
    warm = min(warm, len(rss) - 2)
    slope = np.polyfit(times[warm:], rss[warm:], 1)[0]
    ticks_per_s = child["ticks"] / child["wall_s"]
    return {
        **child,
        "items": items,
        "players": players,
        "rss_first": float(first),
        "rss_warm": float(rss[warm]),
        "rss_end": float(rss[-1]),
        "rss_peak": float(max(s[1] for s in samples)),
        "rss_peak_after_warm": float(rss[warm:].max()),
        "growth_per_1000_ticks": float(slope / ticks_per_s * 1000.0),
    }


def churn(rounds: int) -> dict:
    import fbsim
    from fbsim import collision, pathfinding

    rng = np.random.default_rng(7)
    n = 2000
    c = rng.uniform(-100, 100, (n, 3))
    h = rng.uniform(0.5, 2, (n, 3))
    q = rng.normal(size=(n, 4))
    grid = rng.random((64, 64)) > 0.2  # True = passable
    grid[0, 0] = grid[63, 63] = True
    bad = np.full((3, 3), np.nan)

    def one_round():
        for cls in (fbsim.SpatialHash, fbsim.SweepAndPrune, fbsim.DynamicTree):
            bp = cls()
            bp.insert(np.arange(n), c - h, c + h)
            bp.pairs()
            bp.query_aabb(c[:200] - 5, c[:200] + 5)
            bp.update(np.arange(100), c[:100] - h[:100] + 1, c[:100] + h[:100] + 1)
            bp.remove(np.arange(50))
            with contextlib.suppress(ValueError):
                bp.insert([1], bad, bad)
            with contextlib.suppress(ValueError):
                bp.remove([10**9])
        tree = fbsim.Octree(c, np.arange(n))
        tree.knn(c[:200], 5)
        tree.radius(c[:200], 4.0)
        tree.insert(np.arange(n, n + 100), c[:100] + 0.5)
        tree.remove(np.arange(n, n + 100))
        with contextlib.suppress(ValueError):
            tree.insert([0], [[np.inf, 0, 0]])
        boxes = fbsim.Boxes(c[:500], q[:500], h[:500])
        spheres = fbsim.Spheres(c[500:1000], h[500:1000, 0])
        collision.overlap(boxes, spheres)
        collision.distance(boxes, spheres)
        collision.penetration(boxes, spheres)
        fbsim.obb_to_aabb(c, q, h)
        pathfinding.astar(grid, [0, 0], [63, 63])
        pathfinding.flow_field(grid, np.array([[0, 0]]))

    one_round()
    samples = []
    for i in range(rounds):
        one_round()
        if i == min(9, rounds - 1) or i == rounds - 1:
            samples.append(rss_mib())
    return {"rounds": rounds, "rss_after_10": samples[0], "rss_end": samples[-1]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ticks", type=int, default=36_000)
    ap.add_argument("--items", type=int, default=50_000)
    ap.add_argument("--players", type=int, default=200)
    ap.add_argument("--interval", type=float, default=0.5)
    ap.add_argument("--churn", type=int, default=300)
    ap.add_argument("--out", default="docs/performance_memory.md")
    ap.add_argument("--steady", action="store_true", help="constant item count, time-boxed")
    ap.add_argument("--seconds", type=float, default=600.0, help="--steady wall-time box")
    ap.add_argument(
        "--trace", action="store_true", help="--steady: tracemalloc growth sites after warm-up"
    )
    ap.add_argument(
        "--request-window", type=int, help="--steady: shrink World.REQUEST_WINDOW to this"
    )
    ap.add_argument("--steady-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.steady_child:
        steady_child(
            args.ticks, args.items, args.players, args.seconds, args.trace, args.request_window
        )
        return
    if args.steady:
        st = soak_steady(
            10**6,
            args.items,
            args.players,
            args.interval,
            args.seconds,
            args.trace,
            args.request_window,
        )
        print(
            f"steady simulate: {st['ticks']} ticks in {st['wall_s']:.0f} s, {st['items']} items "
            f"(held between {st['min']} and {st['max']}; {st['placed']} placed and as many "
            f"removed), {st['players']} players; RSS first {st['rss_first']:.1f} MiB, after "
            f"warm-up {st['rss_warm']:.1f}, end {st['rss_end']:.1f}, peak "
            f"{st['rss_peak']:.1f} (after warm-up {st['rss_peak_after_warm']:.1f}); growth "
            f"after warm-up {st['growth_per_1000_ticks']:+.3f} MiB per 1000 ticks"
        )
        if "trace" in st:
            print(json.dumps(st["trace"], indent=1))
        return

    ch = churn(args.churn)
    print(
        f"churn: {ch['rounds']} rounds, RSS after 10 rounds {ch['rss_after_10']:.1f} MiB, "
        f"after {ch['rounds']} {ch['rss_end']:.1f} MiB "
        f"(+{ch['rss_end'] - ch['rss_after_10']:.1f} MiB)"
    )
    sim = soak_simulate(args.ticks, args.items, args.players, args.interval)
    print(
        f"simulate: {sim['ticks']} ticks, {sim['items']} items, {sim['players']} players, "
        f"{sim['wall_s']:.0f} s wall; RSS first {sim['rss_first']:.1f} MiB, after warm-up "
        f"{sim['rss_warm']:.1f}, end {sim['rss_end']:.1f}, peak {sim['rss_peak']:.1f}; "
        f"growth after warm-up {sim['growth_per_1000_ticks']:+.2f} MiB per 1000 ticks"
    )
    lines = [
        "# Memory soak (benchmarks/compare/memory_soak.py)",
        "",
        f"Machine: {os.cpu_count()} CPUs. Generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        "| run | RSS start (MiB) | RSS after warm-up | RSS end | peak | growth |",
        "| --- | --- | --- | --- | --- | --- |",
        (
            f"| `fbsim simulate --ticks {sim['ticks']} --items {sim['items']} "
            f"--players {sim['players']}` ({sim['wall_s']:.0f} s) | {sim['rss_first']:.1f} | "
            f"{sim['rss_warm']:.1f} | {sim['rss_end']:.1f} | {sim['rss_peak']:.1f} | "
            f"{sim['growth_per_1000_ticks']:+.2f} MiB / 1000 ticks |"
        ),
        (
            f"| churn: every structure built, queried, mutated, dropped, {ch['rounds']} rounds "
            f"| - | {ch['rss_after_10']:.1f} (round 10) | {ch['rss_end']:.1f} | - | "
            f"{ch['rss_end'] - ch['rss_after_10']:+.1f} MiB |"
        ),
        "",
    ]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
