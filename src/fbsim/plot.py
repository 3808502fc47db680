# SPDX-License-Identifier: MIT
"""Figures for ``fbsim simulate --plot`` (needs matplotlib: ``pip install fbsim[plot]``)."""

from __future__ import annotations

import numpy as np


def plot_simulation(sim, path: str) -> None:
    """Tick-time distribution by subsystem, and a top-down map with the flagged players' tracks.

    Raises
    ------
    ImportError
        matplotlib is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("--plot needs matplotlib: pip install 'fbsim[plot]'") from exc

    srv, bots, layout = sim.server, sim.bots, sim.layout
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(13, 6))
    total = np.asarray(srv.tick_ms["total"])
    bins = np.linspace(0, max(float(np.percentile(total, 99.9)), 1e-3) * 1.05, 60)
    for name in ("movement", "placement", "world", "pathfinding"):
        ax_t.hist(np.asarray(srv.tick_ms[name]), bins=bins, histtype="step", label=name)
    ax_t.hist(total, bins=bins, histtype="stepfilled", alpha=0.25, color="k", label="total")
    for q, style in ((50, "--"), (99, ":")):
        ax_t.axvline(np.percentile(total, q), color="k", linestyle=style, label=f"p{q} total")
    ax_t.set_xlabel("server time per tick (ms)")
    ax_t.set_ylabel("ticks")
    ax_t.set_yscale("log")
    ax_t.set_title(f"{srv.tick_ms['total'].count} ticks, {len(bots.ids)} players")
    ax_t.legend()

    items = sim.world.items()
    pos = items["position"]
    if len(pos) > 200_000:
        pos = pos[np.random.default_rng(0).choice(len(pos), 200_000, replace=False)]
    ax_m.scatter(pos[:, 0], pos[:, 2], s=0.2, c="0.6", marker="s", linewidths=0)
    flagged = np.isfinite(srv.first_flag)
    for i in np.flatnonzero(flagged):
        tr = np.asarray(bots.track[i])
        if len(tr):
            honest = bots.role[i] in ("walker", "builder")
            ax_m.plot(
                tr[:, 0],
                tr[:, 1],
                lw=1.2,
                color="tab:blue" if honest else "tab:red",
                label=f"{bots.role[i]} ({srv.flag_reason[i]})",
            )
    for i in np.flatnonzero(~flagged)[:20]:
        tr = np.asarray(bots.track[i])
        if len(tr):
            ax_m.plot(tr[:, 0], tr[:, 1], lw=0.5, color="tab:green", alpha=0.5)
    lo = layout.origin
    ax_m.set_xlim(lo, lo + layout.size)
    ax_m.set_ylim(lo, lo + layout.size)
    ax_m.set_aspect("equal")
    ax_m.set_xlabel("x (studs)")
    ax_m.set_ylabel("z (studs)")
    ax_m.set_title("world from above: flagged tracks in red (green: some honest players)")
    if flagged.any():
        ax_m.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
