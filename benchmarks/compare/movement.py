# SPDX-License-Identifier: MIT
"""Side-by-side: one tick of movement checks, fbsim vs what a Python developer writes instead.

Run from the repository root: ``python -m benchmarks.compare.movement``. There is no peer
anti-cheat library for Python; the peers are (1) a per-row Python loop over a dict of player
states and (2) a numpy-vectorised version (one row per player, no ordering guarantees), both
implementing the same speed, teleport, fly-envelope and timer rules with the default
thresholds. All run on the same seeded tick stream (10,000 players walking, collision stub
"supported everywhere, no hit"), alternating repeats in one process; prints median times and
ratios and writes docs/performance_movement.md.
"""

from __future__ import annotations

import math
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from benchmarks.workloads_movement import TickDriver
from fbsim import MovementConfig

CFG = MovementConfig()
V0 = CFG.jump_velocity


class PythonLoop:
    """Per-row dict-of-state checker: the straightforward server code."""

    def __init__(self, ids, positions):
        self.state = {
            int(i): {"p": p.copy(), "ct": None, "ref": None, "buf": 0.0, "gy": p[1]}
            for i, p in zip(ids, positions, strict=True)
        }

    def step(self, b):
        out = []
        for pid, p, ct, st in zip(
            b["player_id"].tolist(),
            b["position"].tolist(),
            b["client_time"].tolist(),
            b["server_time"].tolist(),
            strict=True,
        ):
            s = self.state.get(pid)
            if s is None or not all(math.isfinite(v) for v in (*p, ct, st)):
                out.append(False)
                continue
            o = st - ct
            if s["ct"] is None:
                s["ct"], s["ref"] = ct, o
            lead = s["ref"] - o
            if lead > CFG.timer_max_lead:
                out.append(False)
                continue
            s["ref"] = min(s["ref"], o)
            dt = min(ct - s["ct"], CFG.max_gap)
            dh = math.hypot(p[0] - s["p"][0], p[2] - s["p"][2])
            allowed = CFG.walk_speed * dt * (1 + CFG.speed_tolerance)
            buf = max(0.0, s["buf"] + dh - allowed)
            ok = dh - allowed <= CFG.teleport_excess and buf <= CFG.speed_buffer
            ok = ok and p[1] <= s["gy"] + CFG.jump_height + CFG.vertical_tolerance
            if ok:
                s["p"], s["ct"], s["buf"] = p, ct, buf
            out.append(ok)
        return out


class NumpyVectorised:
    """Whole-batch numpy version (assumes each player at most once per batch)."""

    def __init__(self, ids, positions):
        self.order = np.argsort(ids)
        self.sorted_ids = ids[self.order]
        self.p = positions[self.order].copy()
        self.ct = np.full(len(ids), np.nan)
        self.ref = np.full(len(ids), np.nan)
        self.buf = np.zeros(len(ids))
        self.gy = self.p[:, 1].copy()

    def step(self, b):
        idx = np.searchsorted(self.sorted_ids, b["player_id"])
        p, ct, st = b["position"], b["client_time"], b["server_time"]
        o = st - ct
        first = np.isnan(self.ct[idx])
        self.ct[idx[first]] = ct[first]
        self.ref[idx[first]] = o[first]
        lead = self.ref[idx] - o
        dt = np.minimum(ct - self.ct[idx], CFG.max_gap)
        d = p - self.p[idx]
        dh = np.hypot(d[:, 0], d[:, 2])
        allowed = CFG.walk_speed * dt * (1 + CFG.speed_tolerance)
        buf = np.maximum(0.0, self.buf[idx] + dh - allowed)
        ok = (
            np.isfinite(p).all(axis=1)
            & (lead <= CFG.timer_max_lead)
            & (dh - allowed <= CFG.teleport_excess)
            & (buf <= CFG.speed_buffer)
            & (p[:, 1] <= self.gy[idx] + CFG.jump_height + CFG.vertical_tolerance)
        )
        self.ref[idx] = np.minimum(self.ref[idx], o)
        good = idx[ok]
        self.p[good] = p[ok]
        self.ct[good] = ct[ok]
        self.buf[good] = buf[ok]
        return ok


def main(players: int = 10_000, repeats: int = 60) -> list[tuple[str, float, float]]:
    drivers = {}
    fb = TickDriver(players)
    drivers["fbsim"] = (fb, lambda b: fb.checker.step(b))
    for name, cls in (("python loop", PythonLoop), ("numpy", NumpyVectorised)):
        d = TickDriver(players)
        impl = cls(d.ids, d.positions[d.period - 1])
        drivers[name] = (d, impl.step)
    times: dict[str, list[float]] = {k: [] for k in drivers}
    cpu: dict[str, list[float]] = {k: [] for k in drivers}
    for _ in range(repeats):
        for name, (d, fn) in drivers.items():
            b = d.batch()
            c0 = time.process_time()
            t0 = time.perf_counter()
            fn(b)
            times[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
            d.k += 1
    med = {k: statistics.median(v) for k, v in times.items()}
    best = {k: min(v) for k, v in times.items()}
    # CPU time is what one core spends; on a shared machine it is steadier than wall time.
    cmed = {k: statistics.mean(v) for k, v in cpu.items()}
    rows = [(k, med[k], cmed[k] / cmed["fbsim"]) for k in drivers]
    print(f"one tick, {players} players, {repeats} alternating repeats (ratio = CPU / fbsim CPU)")
    for k, m, r in rows:
        print(
            f"  {k:12s} wall median {m * 1e3:8.3f} ms  best {best[k] * 1e3:8.3f} ms  "
            f"cpu mean {cmed[k] * 1e3:8.3f} ms  ratio {r:6.2f}"
        )
    lines = [
        "# Movement checks: one server tick",
        "",
        (
            f"Machine: {platform.machine()} {platform.processor() or ''}, "
            f"Python {platform.python_version()}; {players} players, collision stub "
            "(supported everywhere, no hit), median of "
            f"{repeats} alternating repeats. Generated by `python -m benchmarks.compare.movement`."
        ),
        "",
        "The peers implement only speed, teleport, a static fly ceiling and a simplified timer;",
        "fbsim also runs the ballistic fly envelope, noclip depth, server-move states, levels,",
        "actions and audit, and handles many rows per player in order.",
        "",
        "| implementation | wall median ms | wall best ms | CPU mean ms | CPU / fbsim CPU |",
        "| --- | ---: | ---: | ---: | ---: |",
        *[
            f"| {k} | {m * 1e3:.3f} | {best[k] * 1e3:.3f} | {cmed[k] * 1e3:.3f} | {r:.2f} |"
            for k, m, r in rows
        ],
        "",
    ]
    out = Path(__file__).resolve().parents[2] / "docs" / "performance_movement.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines))
    return rows


if __name__ == "__main__":
    main()
