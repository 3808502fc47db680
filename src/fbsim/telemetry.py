# SPDX-License-Identifier: MIT
"""Fleet telemetry: recorded server logs as Parquet partitions, replayed in parallel on Dask.

A studio's fleet runs many servers; each records its ticks. The dataset layout is one folder
per server session, with its time slices as numbered partitions::

    DIR/server=<name>/header.json        players and configuration (from the JSON-lines log)
    DIR/server=<name>/world.snapshot     the world when the log started
    DIR/server=<name>/moves-00000.parquet, places-00000.parquet, moves-00001.parquet, ...

``replay_dataset(DIR)`` runs one Dask task per partition. A server's partitions form a chain:
the task for slice k receives the complete server state (world, movement checker with every
player's history and violation levels, placement validator with its rate buckets) that the task
for slice k-1 produced, so per-player state crosses partition boundaries exactly. Chains of
different servers run in parallel. The merged report is identical to replaying every log in one
process (timings aside), which the tests check.

Needs ``pip install fbsim[fleet]`` (dask[distributed], pyarrow).
"""

from __future__ import annotations

import itertools
import json
import pickle
import shutil
import threading
from pathlib import Path

import numpy as np

from fbsim._kernels import IdIndex
from fbsim.audit import AuditLog

MOVE_COLUMNS = ("tick", "now", "player_id", "x", "y", "z", "client_time", "server_time")
PLACE_COLUMNS = (
    "tick",
    "now",
    "request_id",
    "player",
    "kind",
    "x",
    "y",
    "z",
    "qx",
    "qy",
    "qz",
    "qw",
    "sx",
    "sy",
    "sz",
)


def _require():
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("Parquet telemetry needs pyarrow: pip install 'fbsim[fleet]'") from exc


# ---- JSON-lines log -> Parquet partitions -----------------------------------------------------


def export_log(log_path, out_dir, server: str, ticks_per_partition: int = 120) -> Path:
    """Convert a ``fbsim simulate --log`` JSON-lines log into one server's partitions.

    Returns the server's folder. Raises ValueError for a file that is not an fbsim log.
    """
    _require()
    import pyarrow as pa
    import pyarrow.parquet as pq

    if ticks_per_partition < 1:
        raise ValueError("ticks_per_partition must be >= 1")
    log_path = Path(log_path)
    folder = Path(out_dir) / f"server={server}"
    folder.mkdir(parents=True, exist_ok=True)
    with log_path.open() as f:
        header = json.loads(f.readline())
        if not isinstance(header, dict) or header.get("fbsim_log") != 1:
            raise ValueError(f"{log_path}: not an fbsim movement log")
        shutil.copyfile(log_path.parent / header["world_snapshot"], folder / "world.snapshot")
        moves: dict[str, list] = {c: [] for c in MOVE_COLUMNS}
        places: dict[str, list] = {c: [] for c in PLACE_COLUMNS}
        part = 0

        def flush():
            nonlocal part, moves, places
            pq.write_table(pa.table(moves), folder / f"moves-{part:05d}.parquet")
            pq.write_table(pa.table(places), folder / f"places-{part:05d}.parquet")
            part += 1
            moves = {c: [] for c in MOVE_COLUMNS}
            places = {c: [] for c in PLACE_COLUMNS}

        ticks = 0
        for line in f:
            rec = json.loads(line)
            tick, now = int(rec["tick"]), float(rec["now"])
            if tick // ticks_per_partition >= part + 1:
                flush()
            if "moves" in rec:
                m = rec["moves"]
                k = len(m["player_id"])
                moves["tick"] += [tick] * k
                moves["now"] += [now] * k
                moves["player_id"] += m["player_id"]
                pos = np.asarray(m["position"], dtype=float).reshape(-1, 3)
                for j, c in enumerate("xyz"):
                    moves[c] += pos[:, j].tolist()
                moves["client_time"] += m["client_time"]
                moves["server_time"] += m["server_time"]
            if "places" in rec:
                p = rec["places"]
                k = len(p["player"])
                places["tick"] += [tick] * k
                places["now"] += [now] * k
                places["request_id"] += p["request_id"]
                places["player"] += p["player"]
                places["kind"] += p["kind"]
                for cols, key in (
                    ("xyz", "position"),
                    (("qx", "qy", "qz", "qw"), "rotation"),
                    (("sx", "sy", "sz"), "size"),
                ):
                    arr = np.asarray(p.get(key, np.full((k, 3), np.nan).tolist()), dtype=float)
                    for j, c in enumerate(cols):
                        places[c] += arr[:, j].tolist()
            ticks = tick + 1
        if moves["tick"] or places["tick"] or part == 0 or ticks > part * ticks_per_partition:
            flush()
    header = {
        **header,
        "world_snapshot": "world.snapshot",
        "ticks": ticks,
        "ticks_per_partition": ticks_per_partition,
    }
    (folder / "header.json").write_text(json.dumps(header))
    return folder


def _read_partition(folder: Path, part: int):
    """Per-tick (tick, now, places, moves) of one partition, every tick of its range in order
    (a tick without requests still runs on the server)."""
    import pyarrow.parquet as pq

    header = json.loads((folder / "header.json").read_text())
    per = int(header["ticks_per_partition"])
    dt = 1.0 / float(header["config"]["tick_rate"])

    mv = pq.read_table(folder / f"moves-{part:05d}.parquet").to_pydict()
    pl = pq.read_table(folder / f"places-{part:05d}.parquet").to_pydict()
    mv = {k: np.asarray(v) for k, v in mv.items()}
    pl = {k: np.asarray(v) for k, v in pl.items()}
    for t in range(part * per, min((part + 1) * per, int(header["ticks"]))):
        sm = mv["tick"] == t
        sp = pl["tick"] == t
        now = t * dt  # the simulation's own clock: tick * (1 / rate)
        moves = None
        if sm.any():
            moves = {
                "player_id": mv["player_id"][sm].astype(np.int64),
                "position": np.column_stack([mv["x"][sm], mv["y"][sm], mv["z"][sm]]),
                "client_time": mv["client_time"][sm].astype(float),
                "server_time": mv["server_time"][sm].astype(float),
            }
        places = None
        if sp.any():
            places = {
                "request_id": pl["request_id"][sp].astype(np.int64),
                "player": pl["player"][sp].astype(np.int64),
                "kind": pl["kind"][sp].astype(np.int64),
                "position": np.column_stack([pl["x"][sp], pl["y"][sp], pl["z"][sp]]),
                "rotation": np.column_stack(
                    [pl["qx"][sp], pl["qy"][sp], pl["qz"][sp], pl["qw"][sp]]
                ),
                "size": np.column_stack([pl["sx"][sp], pl["sy"][sp], pl["sz"][sp]]),
            }
        yield t, now, places, moves


# ---- server state that travels between tasks ---------------------------------------------------


class _StatePickler(pickle.Pickler):
    """Pickles a replay Server: the World through its snapshot (World.__reduce__), id maps
    by their ids, the audit log by its path, locks as new locks."""

    def reducer_override(self, obj):
        if isinstance(obj, IdIndex):
            return (_index_from_ids, (obj.ids(),))
        if isinstance(obj, AuditLog):
            return (_reopen_audit, (str(obj.path), obj.max_bytes, obj.max_backups))
        if isinstance(obj, type(threading.Lock())):
            return (threading.Lock, ())
        if isinstance(obj, type(threading.RLock())):
            return (threading.RLock, ())
        if isinstance(obj, itertools.count):
            return (itertools.count, (int(repr(obj)[6:-1]),))
        return NotImplemented


def _index_from_ids(ids) -> IdIndex:
    index = IdIndex()
    index.add(ids)
    return index


def _reopen_audit(path, max_bytes, max_backups) -> AuditLog:
    return AuditLog(path, max_bytes=max_bytes, max_backups=max_backups)


def pack_state(server) -> bytes:
    """Serialize a :class:`fbsim.simulate.Server` (and everything it references)."""
    import io

    buf = io.BytesIO()
    _StatePickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(server)
    return buf.getvalue()


def unpack_state(data: bytes):
    return pickle.loads(data)


# ---- the Dask tasks ----------------------------------------------------------------------------


def _partitions(folder: Path) -> list[int]:
    return sorted(int(p.stem.split("-")[1]) for p in folder.glob("moves-*.parquet"))


def _start(folder: str, audit_dir: str) -> bytes:
    from fbsim.simulate import Server
    from fbsim.world import World

    folder = Path(folder)
    header = json.loads((folder / "header.json").read_text())
    world = World.load(folder / header["world_snapshot"])
    ids = np.array([p["id"] for p in header["players"]], dtype=np.int64)
    audit_path = Path(audit_dir) / f"{folder.name}.audit.jsonl"
    audit_path.unlink(missing_ok=True)
    server = Server(world, ids, np.array(header["start_positions"]), AuditLog(audit_path))
    return pack_state(server)


def _step(state: bytes, folder: str, part: int) -> bytes:
    """One task: one partition of one server, continuing from the previous partition's state."""
    server = unpack_state(state)
    for _, now, places, moves in _read_partition(Path(folder), part):
        server.tick(now, places, moves)
    return pack_state(server)


def _finish(state: bytes, folder: str) -> dict:
    from fbsim.simulate import SimulationConfig, make_report

    folder = Path(folder)
    header = json.loads((folder / "header.json").read_text())
    server = unpack_state(state)
    conf = dict(header["config"])
    conf["cheat_kinds"] = tuple(conf["cheat_kinds"])
    cfg = SimulationConfig(**conf)
    cfg.ticks = server.tick_ms["total"].count
    return make_report(
        cfg,
        [p["role"] for p in header["players"]],
        server.first_flag,
        server.flag_reason,
        server.tick_ms,
        items=server.world.item_count,
        move_rows=server.move_rows,
        place_rows=server.place_rows,
        audit_path=str(server.checker.audit.path) if server.checker.audit else "",
        extra={"placement_outcomes": dict(sorted(server.place_outcomes.items()))},
    )


def replay_dataset(dataset, scheduler: str | None = None, workers: int = 2, audit_dir=None) -> dict:
    """Replay every server of a Parquet dataset on Dask and merge the reports.

    Parameters
    ----------
    dataset : path
        A folder of ``server=<name>`` partition folders (see the module docstring).
    scheduler : str, optional
        ``None``: a local dask.distributed cluster of `workers` processes; ``"sync"``: one
        process, no cluster (the reference run); otherwise the address of a running scheduler.
    audit_dir : path, optional
        Where each server's replay audit log goes (default: the dataset folder).

    Returns
    -------
    dict
        ``servers`` (name -> that server's report) and the merged ``cheaters``,
        ``honest_flagged``, ``ticks`` and ``placement_outcomes``.
    """
    _require()
    import dask

    dataset = Path(dataset)
    folders = sorted(p for p in dataset.glob("server=*") if p.is_dir())
    if not folders:
        raise ValueError(f"{dataset}: no server=<name> partition folders")
    audit_dir = str(audit_dir or dataset)
    reports = {}
    for folder in folders:
        state = dask.delayed(_start)(str(folder), audit_dir)
        for part in _partitions(folder):
            state = dask.delayed(_step)(state, str(folder), part)
        reports[folder.name.split("=", 1)[1]] = dask.delayed(_finish)(state, str(folder))
    if scheduler == "sync":
        (computed,) = dask.compute(reports, scheduler="synchronous")
    else:
        from distributed import Client, LocalCluster

        if scheduler is None:
            with (
                LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
                ) as cluster,
                Client(cluster) as client,
            ):
                computed = client.compute(reports, sync=True)
        else:
            with Client(scheduler) as client:
                computed = client.compute(reports, sync=True)
    return merge_reports(computed)


def merge_reports(reports: dict) -> dict:
    """One report for many servers: verdicts concatenated (server order), counts summed."""
    merged = {
        "servers": reports,
        "cheaters": [],
        "honest_flagged": 0,
        "ticks": 0,
        "placement_outcomes": {},
    }
    for name in sorted(reports):
        r = reports[name]
        merged["cheaters"] += [{**c, "server": name} for c in r["cheaters"]]
        merged["honest_flagged"] += r["honest_flagged"]
        merged["ticks"] += r["ticks"]
        for k, v in r["placement_outcomes"].items():
            merged["placement_outcomes"][k] = merged["placement_outcomes"].get(k, 0) + v
    return merged
