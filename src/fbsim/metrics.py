# SPDX-License-Identifier: MIT
"""Optional Prometheus metrics for a server loop (needs ``pip install fbsim[metrics]``).

Exposes, on ``/metrics``: ``fbsim_tick_seconds`` (histogram, label ``subsystem``),
``fbsim_violations_total`` (counter, label ``check``) and ``fbsim_requests_total`` (counter,
labels ``kind`` = movement/placement and ``outcome`` = the reason name).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


class Metrics:
    """Prometheus collectors in a private registry, served over HTTP on ``addr:port``.

    Parameters
    ----------
    port : int
        TCP port (0 picks a free one; see ``self.port``).
    addr : str
        Interface to bind; the loopback by default.

    Raises
    ------
    ImportError
        prometheus_client is not installed.
    """

    def __init__(self, port: int, addr: str = "127.0.0.1") -> None:
        try:
            import prometheus_client as prom
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "metrics need prometheus_client: pip install 'fbsim[metrics]'"
            ) from exc
        self.registry = prom.CollectorRegistry()
        buckets = (0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.033, 0.066, 0.125, 0.25, 0.5, 1.0)
        self.tick = prom.Histogram(
            "fbsim_tick_seconds",
            "Server time per tick",
            ["subsystem"],
            registry=self.registry,
            buckets=buckets,
        )
        self.violations = prom.Counter(
            "fbsim_violations",
            "Movement rows rejected, by check",
            ["check"],
            registry=self.registry,
        )
        self.requests = prom.Counter(
            "fbsim_requests",
            "Requests by kind and outcome",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.server, self.thread = prom.start_http_server(port, addr=addr, registry=self.registry)
        self.port = self.server.server_port

    def observe_tick(self, times_ms: Mapping[str, float]) -> None:
        for name, ms in times_ms.items():
            self.tick.labels(subsystem=name).observe(ms / 1e3)

    def count(self, kind: str, reasons: np.ndarray, names) -> None:
        """Count one batch's outcomes; `names` maps a reason code to its name."""
        codes, counts = np.unique(np.asarray(reasons), return_counts=True)
        for c, k in zip(codes.tolist(), counts.tolist(), strict=True):
            self.requests.labels(kind=kind, outcome=names(c)).inc(k)

    def count_violations(self, reasons: np.ndarray, flagged: np.ndarray, names) -> None:
        codes, counts = np.unique(np.asarray(reasons)[flagged], return_counts=True)
        for c, k in zip(codes.tolist(), counts.tolist(), strict=True):
            self.violations.labels(check=names(c)).inc(k)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
