# SPDX-License-Identifier: MIT
"""Bounded diagnostics of long runs (fbsim._series): checked against keeping everything.

The reference is the unbounded list the simulation used to keep: count, total and max over
all samples, percentiles (numpy) over the last ``window`` of them, and for tracks the brute
force "every stride-th input point".
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fbsim._series import TickSeries, Track

floats = st.floats(min_value=0.0, max_value=1e4, allow_nan=False)


@given(st.lists(floats, max_size=300), st.integers(1, 64))
def test_tick_series_matches_the_full_list(values, window):
    s = TickSeries(window)
    for v in values:
        s.append(v)
    kept = values[-window:] if values else []
    assert s.count == len(values)
    assert len(s) == len(kept)
    assert np.asarray(s).tolist() == kept  # oldest first
    assert list(s) == kept
    assert s.total == pytest.approx(math.fsum(values), rel=1e-12, abs=1e-9)
    summary = s.summary()
    if values:
        assert summary["max"] == round(max(values), 4)  # exact over the whole run
        assert summary["p50"] == round(float(np.percentile(kept, 50)), 4)
        assert summary["p99"] == round(float(np.percentile(kept, 99)), 4)
    else:
        assert summary == {"p50": 0.0, "p99": 0.0, "max": 0.0}


def test_tick_series_memory_is_the_window():
    s = TickSeries(128)
    before = s._ring.nbytes
    for i in range(10_000):
        s.append(float(i))
    assert s._ring.nbytes == before == 128 * 8
    assert len(s) == 128
    assert s.count == 10_000
    assert s.max == 9999.0


def test_tick_series_rejects_bad_window():
    with pytest.raises(ValueError, match="window"):
        TickSeries(0)


@given(st.integers(0, 3000), st.integers(2, 40))
def test_track_keeps_every_stride_th_point_and_stays_bounded(n, max_points):
    t = Track(max_points)
    pts = [(float(i), -float(i)) for i in range(n)]
    for p in pts:
        t.append(p)
    assert len(t) <= max_points
    # Brute force: the kept points are exactly the inputs whose index is a multiple of stride.
    assert list(t) == [p for i, p in enumerate(pts) if i % t.stride == 0]
    # The stride is the smallest power of two that fits the run into max_points.
    stride = 1
    while len(range(0, n, stride)) > max_points:
        stride *= 2
    assert t.stride == stride
    assert np.asarray(t).shape == (len(t), 2)


def test_track_memory_is_allocated_once():
    t = Track(16)
    t.append((0.0, 0.0))
    buf = t._pts
    for i in range(10_000):
        t.append((float(i), 0.0))
    assert t._pts is buf
    assert buf.nbytes == 16 * 2 * 8


def test_track_rejects_bad_size():
    with pytest.raises(ValueError, match="max_points"):
        Track(1)


def test_simulation_diagnostics_are_bounded(tmp_path):
    """A run longer than the windows keeps exact totals but bounded samples."""
    from fbsim import _series
    from fbsim.simulate import Simulation, SimulationConfig

    cfg = SimulationConfig(
        ticks=120, items=2000, players=12, progress=False, audit_path=str(tmp_path / "a.jsonl")
    )
    sim = Simulation(cfg)
    for k in sim.server.tick_ms:
        sim.server.tick_ms[k] = _series.TickSeries(50)
    sim.bots.track = [_series.Track(4) for _ in sim.bots.track]
    report = sim.run()
    total = sim.server.tick_ms["total"]
    assert total.count == 120
    assert len(total) == 50
    assert report["tick_ms"]["max"] == round(total.max, 4)
    assert all(len(t) <= 4 for t in sim.bots.track)
    assert report["requests_per_s"] > 0
