# SPDX-License-Identifier: MIT
"""Cost of each placement rule: 10,000 requests against a world of 1,000,000 items.

Run from the repository root: ``python -m benchmarks.compare.placement [items]``. Prints the
median per-rule time over repeats and writes docs/performance_placement.md. There is no peer
library that validates building-game placements; the reference point is the issue's target of
1 microsecond per request per rule set.
"""

from __future__ import annotations

import platform
import statistics
import sys
import time
from pathlib import Path

import fbsim
from benchmarks.workloads_world import brick_world, placement_batch


def main(items: int = 1_000_000, requests: int = 10_000, repeats: int = 5) -> dict:
    t0 = time.perf_counter()
    world, ppos = brick_world(items)
    build = time.perf_counter() - t0
    v = fbsim.PlacementValidator(world, fbsim.PlacementConfig(rate=1e9, burst=1e9))
    batch = placement_batch(ppos, requests)
    v.validate(batch)
    per_rule: dict[str, list[float]] = {}
    totals = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = v.validate(batch)
        totals.append(time.perf_counter() - t0)
        for k, s in v.rule_seconds.items():
            per_rule.setdefault(k, []).append(s)
    total = statistics.median(totals)
    outcomes = {}
    for r in res.reason:
        name = fbsim.PlacementReason(int(r)).name
        outcomes[name] = outcomes.get(name, 0) + 1
    machine = f"{platform.machine()} {platform.processor() or ''}".strip()
    title = (
        f"# Placement validation: {requests:,} requests, {items:,} items "
        f"(median of {repeats}, {machine}, 1 thread)"
    )
    summary = (
        f"World build: {build:.2f} s. Total: {total * 1e3:.1f} ms = "
        f"{total / requests * 1e6:.2f} us per request for all rules."
    )
    lines = [
        title,
        "",
        summary,
        "",
        "| rule | ms per batch | us per request |",
        "| --- | ---: | ---: |",
    ]
    for k, ts in per_rule.items():
        m = statistics.median(ts)
        lines.append(f"| {k} | {m * 1e3:.2f} | {m / requests * 1e6:.3f} |")
    lines += ["", "Outcomes: " + ", ".join(f"{k} {n}" for k, n in sorted(outcomes.items()))]
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(__file__).resolve().parents[2] / "docs" / "performance_placement.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text)
    return {"total_s": total, "per_rule": per_rule}


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
