# SPDX-License-Identifier: MIT
"""AuditLog (JSON lines, rotation, no drops under concurrent load) and BanRegistry appeals."""

from __future__ import annotations

import json
import math
import threading

import pytest

from fbsim.audit import AppealState, AuditLog, BanRegistry


def event(i: int) -> dict:
    return {
        "time": float(i),
        "player": i % 7,
        "check": "speed",
        "measured": 1.5 * i,
        "allowed": 1.0,
        "action": "setback",
        "correlation_id": f"c-{i}",
    }


def read_all(log: AuditLog) -> list[dict]:
    out = []
    for path in log.files():
        out.extend(json.loads(line) for line in path.read_text().splitlines())
    return out


def test_json_lines_roundtrip(tmp_path):
    log = AuditLog(tmp_path / "a.jsonl")
    assert log.write([event(1), event(2)]) == 2
    rows = read_all(log)
    assert rows == [event(1), event(2)]


def test_rotation_keeps_every_event_in_order(tmp_path):
    log = AuditLog(tmp_path / "a.jsonl", max_bytes=2000)
    for k in range(50):
        log.write([event(10 * k + j) for j in range(10)])
    files = log.files()
    assert len(files) > 10
    for f in files:
        assert f.stat().st_size <= 2000
    rows = read_all(log)
    assert [r["correlation_id"] for r in rows] == [f"c-{i}" for i in range(500)]


def test_max_backups_limits_files(tmp_path):
    log = AuditLog(tmp_path / "a.jsonl", max_bytes=500, max_backups=2)
    log.write([event(i) for i in range(100)])
    assert len(log.files()) == 3


def test_concurrent_writers_drop_nothing(tmp_path):
    got = []
    log = AuditLog(tmp_path / "a.jsonl", callback=got.append, max_bytes=50_000)

    def writer(w):
        for k in range(50):
            log.write([event(1000 * w + 10 * k + j) for j in range(10)])

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows = read_all(log)
    assert len(rows) == len(got) == 8 * 500
    assert {r["correlation_id"] for r in rows} == {g["correlation_id"] for g in got}
    assert log.events_written == 4000


def test_non_finite_values_stay_valid_json(tmp_path):
    log = AuditLog(tmp_path / "a.jsonl")
    log.write([{**event(1), "measured": math.nan, "allowed": math.inf}])
    row = read_all(log)[0]
    assert row["measured"] == "nan"
    assert row["allowed"] == "inf"


def test_bad_arguments():
    with pytest.raises(ValueError, match="path or a callback"):
        AuditLog()
    with pytest.raises(TypeError, match="callback"):
        AuditLog(callback=5)
    with pytest.raises(ValueError, match="max_bytes"):
        AuditLog(callback=print, max_bytes=0)
    log = AuditLog(callback=lambda _e: None)
    with pytest.raises(TypeError, match="mappings"):
        log.write([5])
    with pytest.raises(TypeError):
        log.write([{"x": object()}])


def test_ban_appeal_lifecycle(tmp_path):
    log = AuditLog(tmp_path / "a.jsonl")
    bans = BanRegistry(log)
    rec = bans.ban(7, 10.0, "speed", ["c-1", "c-2"])
    assert bans.is_banned(7)
    assert rec.appeal == AppealState.NONE
    with pytest.raises(ValueError, match="NONE"):
        bans.resolve_appeal(rec.ban_id, upheld=True, time=11.0)
    bans.open_appeal(rec.ban_id, 11.0, "it was lag")
    assert bans.get(rec.ban_id).appeal == AppealState.OPEN
    with pytest.raises(ValueError, match="OPEN"):
        bans.open_appeal(rec.ban_id, 12.0)
    bans.resolve_appeal(rec.ban_id, upheld=True, time=13.0)
    assert bans.is_banned(7)
    assert rec.appeal == AppealState.UPHELD
    with pytest.raises(ValueError, match="UPHELD"):
        bans.resolve_appeal(rec.ban_id, upheld=False, time=14.0)
    rec2 = bans.ban(8, 20.0, "fly", ["c-9"])
    bans.open_appeal(rec2.ban_id, 21.0)
    bans.resolve_appeal(rec2.ban_id, upheld=False, time=22.0, note="overturned")
    assert not bans.is_banned(8)
    assert [r.ban_id for r in bans.all()] == [rec.ban_id, rec2.ban_id]
    actions = [r["action"] for r in read_all(log)]
    assert actions == [
        "ban",
        "appeal_open",
        "appeal_upheld",
        "ban",
        "appeal_open",
        "appeal_overturned",
    ]
    with pytest.raises(KeyError, match="99"):
        bans.get(99)
    with pytest.raises(ValueError, match="finite"):
        bans.ban(9, math.nan, "speed", [])
