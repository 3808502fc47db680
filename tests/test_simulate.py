# SPDX-License-Identifier: MIT
"""Small simulations: every planted cheater caught, no honest player flagged, and a replay of
the recorded log reaches the same verdicts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fbsim import cli
from fbsim.simulate import CHEAT_KINDS, Simulation, SimulationConfig, replay


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("sim")
    cfg = SimulationConfig(
        ticks=200,
        items=4000,
        players=40,
        seed=3,
        progress=False,
        log_path=str(d / "run.jsonl"),
        audit_path=str(d / "audit.jsonl"),
    )
    sim = Simulation(cfg)
    report = sim.run()
    return sim, report, d


def test_every_cheater_caught_and_no_honest_player_flagged(small_run):
    _, report, _ = small_run
    assert report["ticks"] == 200
    assert report["players"] == 40
    assert sorted(c["kind"] for c in report["cheaters"]) == sorted(CHEAT_KINDS)
    missed = [c for c in report["cheaters"] if not c["caught"]]
    assert not missed
    assert report["honest_flagged"] == 0, report["honest_flagged_detail"]
    for c in report["cheaters"]:
        assert 0 <= c["seconds_to_catch"] <= 2.0, c
    assert report["tick_ms"]["p50"] <= report["tick_ms"]["p99"] <= report["tick_ms"]["max"]
    assert report["items"] >= 4000
    assert report["placement_outcomes"].get("OK", 0) > 0


def test_audit_log_records_the_violations(small_run):
    _, report, _ = small_run
    with open(report["audit_log"]) as f:
        events = [json.loads(line) for line in f]
    assert events
    assert {"time", "player"} <= set(events[0])


def test_replay_reaches_the_same_verdicts(small_run):
    _, report, d = small_run
    again = replay(d / "run.jsonl", d / "replay-audit.jsonl")
    assert again["cheaters"] == report["cheaters"]
    assert again["honest_flagged"] == report["honest_flagged"]
    assert again["ticks"] == report["ticks"]
    assert again["placement_outcomes"] == report["placement_outcomes"]


def test_same_seed_same_run():
    a = Simulation(
        SimulationConfig(
            ticks=60, items=1000, players=12, seed=5, progress=False, cheat_kinds=("speed2",)
        )
    ).run()
    b = Simulation(
        SimulationConfig(
            ticks=60, items=1000, players=12, seed=5, progress=False, cheat_kinds=("speed2",)
        )
    ).run()
    assert a["cheaters"] == b["cheaters"]
    assert a["placement_outcomes"] == b["placement_outcomes"]
    assert a["movement_packets"] == b["movement_packets"]


def test_cli_json_and_plot(tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    png = tmp_path / "out.png"
    code = cli.main(
        [
            "simulate",
            "--ticks",
            "40",
            "--items",
            "500",
            "--players",
            "10",
            "--cheats",
            "speed2",
            "--json",
            "--plot",
            str(png),
            "--seed",
            "1",
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    for key in ("ticks", "players", "items", "tick_ms", "honest_flagged", "cheaters"):
        assert key in report
    assert report["ticks"] == 40
    assert set(report["tick_ms"]) == {"p50", "p99", "max"}
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_help_documents_options(capsys):
    with pytest.raises(SystemExit):
        cli.main(["simulate", "--help"])
    text = capsys.readouterr().out
    for opt in (
        "--ticks",
        "--items",
        "--players",
        "--seed",
        "--json",
        "--plot",
        "--log",
        "--realtime",
    ):
        assert opt in text


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--ticks", "0"], "ticks"),
        (["--items", "2000000"], "items"),
        (["--cheats", "wallhack"], "unknown cheat"),
    ],
)
def test_cli_rejects_bad_options(args, match, capsys):
    with pytest.raises(SystemExit):
        cli.main(["simulate", *args])
    assert match in capsys.readouterr().err


def test_replay_rejects_foreign_files(tmp_path, capsys):
    bad = tmp_path / "x.jsonl"
    bad.write_text('{"hello": 1}\n')
    assert cli.main(["replay", str(bad)]) == 2
    assert "not an fbsim movement log" in capsys.readouterr().err
    bad.write_text("not json\n")
    assert cli.main(["replay", str(bad)]) == 2


def test_world_is_generated_with_rooms_and_walkable_grid():
    sim = Simulation(SimulationConfig(ticks=1, items=3000, players=10, progress=False, seed=2))
    assert sim.world.item_count == 3000
    walk = sim.layout.walkable
    assert walk.dtype == bool
    assert 0.3 < walk.mean() < 1.0
    # Every player spawns on a walkable cell.
    cells = np.floor(sim.bots.pos[:, [2, 0]] - sim.layout.origin).astype(int)
    assert walk[cells[:, 0], cells[:, 1]].all()
