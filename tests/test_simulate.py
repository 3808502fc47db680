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
    from pathlib import Path

    with Path(report["audit_log"]).open() as f:
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


def test_prometheus_metrics_endpoint():
    pytest.importorskip("prometheus_client")
    import urllib.request

    sim = Simulation(
        SimulationConfig(
            ticks=30, items=500, players=10, progress=False, cheat_kinds=("speed2",), metrics_port=0
        )
    )
    try:
        sim.run()
        url = f"http://127.0.0.1:{sim.metrics.port}/metrics"
        text = urllib.request.urlopen(url, timeout=5).read().decode()
    finally:
        sim.metrics.close()
    assert 'fbsim_tick_seconds_count{subsystem="movement"} 30.0' in text
    assert 'fbsim_violations_total{check="SPEED"}' in text
    assert 'fbsim_requests_total{kind="movement",outcome="OK"}' in text


# ---- fleet telemetry: Parquet partitions replayed on Dask ---------------------------------------


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    pytest.importorskip("pyarrow")
    pytest.importorskip("distributed")
    from fbsim.telemetry import export_log

    d = tmp_path_factory.mktemp("fleet")
    live = {}
    for seed in (11, 12):
        log = d / f"run{seed}.jsonl"
        cfg = SimulationConfig(
            ticks=150,
            items=2000,
            players=24,
            seed=seed,
            progress=False,
            log_path=str(log),
            audit_path=str(d / f"audit{seed}.jsonl"),
        )
        live[str(seed)] = Simulation(cfg).run()
        export_log(log, d / "dataset", server=str(seed), ticks_per_partition=40)
    return d, live


def test_parquet_replay_on_dask_matches_single_process_and_live_runs(fleet):
    from fbsim.telemetry import replay_dataset

    d, live = fleet
    parts = sorted((d / "dataset" / "server=11").glob("moves-*.parquet"))
    assert len(parts) == 4  # 150 ticks / 40 per partition: state must cross 3 boundaries
    reference = replay_dataset(d / "dataset", scheduler="sync", audit_dir=d)
    distributed = replay_dataset(d / "dataset", workers=2, audit_dir=d)
    assert distributed["cheaters"] == reference["cheaters"]
    assert distributed["honest_flagged"] == reference["honest_flagged"] == 0
    assert distributed["placement_outcomes"] == reference["placement_outcomes"]
    for name, report in live.items():
        got = distributed["servers"][name]
        assert got["cheaters"] == report["cheaters"]
        assert got["placement_outcomes"] == report["placement_outcomes"]
        assert got["ticks"] == report["ticks"]


def test_export_rejects_foreign_logs(tmp_path):
    pytest.importorskip("pyarrow")
    from fbsim.telemetry import export_log

    bad = tmp_path / "x.jsonl"
    bad.write_text('{"a": 1}\n')
    with pytest.raises(ValueError, match="not an fbsim movement log"):
        export_log(bad, tmp_path / "ds", server="0")


def test_simulate_with_servers_reports_sharding(capsys):
    code = cli.main(
        [
            "simulate",
            "--ticks",
            "30",
            "--items",
            "800",
            "--players",
            "12",
            "--cheats",
            "speed2",
            "--servers",
            "4",
            "--json",
        ]
    )
    assert code == 0
    sh = json.loads(capsys.readouterr().out)["sharding"]
    assert sh["n_servers"] == 4
    assert sh["imbalance"] <= 1.05 + 1e-9
    assert sh["ticks"] > 0
    assert 0.0 <= sh["border_fraction"] <= 1.0
