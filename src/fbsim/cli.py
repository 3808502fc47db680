# SPDX-License-Identifier: MIT
"""The ``fbsim`` command line.

``fbsim simulate`` runs a simulated server (world, builders, walkers, cheaters) and reports
tick times and detection quality; ``fbsim replay LOG`` re-runs the checks over a recorded log;
``fbsim demo`` times the batch geometry kernels; ``fbsim --cmake-dir`` prints the CMake package
directory for C++ servers (``-Dfbsim_DIR=$(fbsim --cmake-dir)``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

import fbsim
from fbsim import _paths
from fbsim.simulate import CHEAT_KINDS


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


def format_report(r: dict) -> str:
    """The human-readable simulate/replay report."""
    lines = [
        f"fbsim {fbsim.__version__}: {r['ticks']} ticks, {r['players']} players, {r['items']:,} items",
        f"  tick time (ms)     p50 {r['tick_ms']['p50']:.3f}   p99 {r['tick_ms']['p99']:.3f}   max {r['tick_ms']['max']:.3f}",
    ]
    for name, p in r["subsystem_ms"].items():
        lines.append(f"    {name:<16} p50 {p['p50']:.3f}   p99 {p['p99']:.3f}   max {p['max']:.3f}")
    if r.get("requests_per_s") is not None:
        lines.append(
            f"  requests/s (server time)  {r['requests_per_s']:,.0f}  "
            f"({r['movement_packets']:,} movement packets, {r['placement_requests']:,} placements)"
        )
    if r.get("placement_outcomes"):
        top = ", ".join(
            f"{k} {v}" for k, v in sorted(r["placement_outcomes"].items(), key=lambda kv: -kv[1])
        )
        lines.append(f"  placement outcomes: {top}")
    lines.append("  cheaters:")
    for c in r["cheaters"]:
        status = (
            f"caught after {c['seconds_to_catch']:.3f} s by {c['check']}"
            if c["caught"]
            else "NOT caught"
        )
        lines.append(f"    {c['kind']:<10} {status}")
    if "sharding" in r:
        sh = r["sharding"]
        lines.append(
            f"  sharding over {int(sh['n_servers'])} servers: max/mean load {sh['imbalance']:.3f}, "
            f"border fraction {sh['border_fraction']:.3f} (radius 64), migrations per tick "
            f"{sh['migrations_per_tick']:.3f} (max {int(sh['max_migrations_per_tick'])}), "
            f"update p99 {sh['update_ms']['p99']:.3f} ms"
        )
    lines.append(f"  honest players flagged: {r['honest_flagged']}")
    lines += [
        f"    {h['role']} #{h['index']} at {h['at']} s by {h['check']}"
        for h in r.get("honest_flagged_detail", [])[:10]
    ]
    lines.append(f"  audit log: {r['audit_log']}")
    return "\n".join(lines)


def _simulate(parser: argparse.ArgumentParser, args) -> int:
    from fbsim.simulate import Simulation, SimulationConfig

    cheats = tuple(c for c in args.cheats.split(",") if c)
    cfg = SimulationConfig(
        ticks=args.ticks,
        tick_rate=args.tick_rate,
        items=args.items,
        players=args.players,
        builder_share=args.builders,
        cheaters_per_kind=args.cheaters_per_kind,
        cheat_kinds=cheats,
        seed=args.seed,
        realtime=args.realtime,
        log_path=args.log,
        audit_path=args.audit,
        progress=not (args.no_progress or args.json),
        metrics_port=args.metrics_port,
        servers=args.servers,
    )
    try:
        cfg.check()
    except ValueError as exc:
        parser.error(str(exc))
    sim = Simulation(cfg)
    report = sim.run()
    if args.plot:
        from fbsim.plot import plot_simulation

        plot_simulation(sim, args.plot)
        report["plot"] = args.plot
    print(json.dumps(report) if args.json else format_report(report))
    return 0


def _replay(args) -> int:
    from pathlib import Path

    from fbsim.simulate import replay

    try:
        if Path(args.log).is_dir():
            from fbsim.telemetry import replay_dataset

            report = replay_dataset(args.log, args.scheduler, args.workers, args.audit)
            if args.json:
                print(json.dumps(report))
                return 0
            for name, r in sorted(report["servers"].items()):
                print(f"server {name}:")
                print(format_report(r))
            print(f"all servers: {report['honest_flagged']} honest players flagged")
            return 0
        report = replay(args.log, args.audit)
    except (OSError, ValueError, ImportError) as exc:
        print(f"fbsim replay: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report) if args.json else format_report(report))
    return 0


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
    sim = sub.add_parser(
        "simulate",
        help="run a simulated server tick loop with builders, walkers and cheaters",
        description="Build a world, spawn players (builders, walkers and one cheater of each "
        "kind by default) and run the server's placement and movement checks every tick, as a "
        "real server would. Prints tick-time percentiles and detection quality.",
    )
    sim.add_argument("--ticks", type=int, default=600, help="ticks to run (default 600 = 10 s)")
    sim.add_argument("--tick-rate", type=float, default=60.0, help="ticks per second (default 60)")
    sim.add_argument(
        "--items",
        type=int,
        default=50_000,
        help="items in the world, up to 1,000,000 (default 50,000)",
    )
    sim.add_argument(
        "--players", type=int, default=200, help="players, cheaters included (default 200)"
    )
    sim.add_argument(
        "--builders",
        type=float,
        default=0.3,
        help="share of honest players who build (default 0.3)",
    )
    sim.add_argument(
        "--cheaters-per-kind", type=int, default=1, help="cheaters of each kind (default 1)"
    )
    sim.add_argument(
        "--cheats",
        default=",".join(CHEAT_KINDS),
        help=f"comma-separated cheat kinds (default all: {','.join(CHEAT_KINDS)}); '' for none",
    )
    sim.add_argument(
        "--seed", type=int, default=0, help="random seed; the same seed gives the same run"
    )
    sim.add_argument(
        "--realtime",
        action="store_true",
        help="pace ticks at the tick rate instead of as fast as possible",
    )
    sim.add_argument(
        "--log", metavar="PATH", help="record every tick to a JSON-lines log for `fbsim replay`"
    )
    sim.add_argument(
        "--audit",
        metavar="PATH",
        default="fbsim-audit.jsonl",
        help="audit log path (default fbsim-audit.jsonl)",
    )
    sim.add_argument(
        "--plot",
        metavar="PNG",
        help="write a figure: tick-time distribution and a map with flagged tracks",
    )
    sim.add_argument(
        "--json", action="store_true", help="print one JSON object instead of the text report"
    )
    sim.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    sim.add_argument(
        "--servers",
        type=int,
        metavar="N",
        help="also shard the world over N servers each tick and report load balance, "
        "border fraction and migrations per tick",
    )
    sim.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="serve Prometheus metrics on 127.0.0.1:PORT while running (needs prometheus_client)",
    )
    rep = sub.add_parser(
        "replay",
        help="re-run the checks over a recorded log, or over a Parquet dataset on Dask",
        description="LOG is a JSON-lines log from `fbsim simulate --log`, or a folder of "
        "server=<name> Parquet partitions (`fbsim export`), replayed on Dask: one task per "
        "partition, each server's state carried from partition to partition, servers in parallel.",
    )
    rep.add_argument("log", help="a JSON-lines log, or a Parquet dataset folder")
    rep.add_argument("--audit", metavar="PATH", help="audit log (a folder, for a dataset)")
    rep.add_argument(
        "--scheduler", metavar="ADDRESS", help="dask.distributed scheduler (default: local cluster)"
    )
    rep.add_argument("--workers", type=int, default=2, help="local cluster processes (default 2)")
    rep.add_argument("--json", action="store_true", help="print one JSON object")
    exp = sub.add_parser("export", help="convert a JSON-lines log into Parquet partitions")
    exp.add_argument("log", help="a log written by `fbsim simulate --log PATH`")
    exp.add_argument("dataset", help="dataset folder; the log becomes DATASET/server=NAME/")
    exp.add_argument("--server", default="0", help="server name in the dataset (default 0)")
    exp.add_argument(
        "--ticks-per-partition", type=int, default=120, help="ticks per partition (default 120)"
    )
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
    if args.command == "simulate":
        return _simulate(parser, args)
    if args.command == "replay":
        return _replay(args)
    if args.command == "export":
        from fbsim.telemetry import export_log

        try:
            folder = export_log(args.log, args.dataset, args.server, args.ticks_per_partition)
        except (OSError, ValueError, ImportError) as exc:
            print(f"fbsim export: {exc}", file=sys.stderr)
            return 2
        print(folder)
        return 0
    if args.command == "demo":
        if args.items < 0:
            parser.error("--items must be >= 0")
        run_demo(args.items, args.seed, args.json)
        return 0
    parser.print_help()
    return 0
