# SPDX-License-Identifier: MIT
"""Shared fixtures. Hypothesis: no deadlines (shared, noisy machines); CI=true derandomizes."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "dev", deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci",
    deadline=None,
    max_examples=200,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator: every test run sees the same random data."""
    return np.random.default_rng(20261127)


# .ci/sanitize runs the suite under ASan/UBSan (several times slower): fewer examples there.
settings.register_profile(
    "sanitize",
    deadline=None,
    max_examples=15,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
if os.environ.get("FBSIM_HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["FBSIM_HYPOTHESIS_PROFILE"])
