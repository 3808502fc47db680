# SPDX-License-Identifier: MIT
"""Replays the atheris seed corpus (and every crash input once found) through the fuzz harness.

tests/fuzz/corpus/api holds inputs of tests/fuzz/fuzz_api.py: each decodes into a short program
of public API calls with hostile arrays. Replaying them here keeps every past finding fixed in
the normal test run, without atheris.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

FUZZ = Path(__file__).parent / "fuzz"
CORPUS = sorted((FUZZ / "corpus" / "api").glob("*"))


def _harness():
    spec = importlib.util.spec_from_file_location("fbsim_fuzz_api", FUZZ / "fuzz_api.py")
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


HARNESS = _harness()


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_fuzz_corpus_input_raises_only_documented_errors(path):
    HARNESS.one_input(path.read_bytes())


def test_fuzz_harness_reports_undocumented_exceptions(monkeypatch):
    """A kernel raising anything but the documented errors must escape one_input."""

    def boom(*_args, **_kwargs):
        raise RuntimeError("finding")

    monkeypatch.setattr(HARNESS.geometry, "quat_to_matrix", boom)
    # byte 1: stateless; byte 1: n = 1; byte 0: op 0 = quat_to_matrix
    with pytest.raises(RuntimeError, match="finding"):
        HARNESS.one_input(bytes([1, 1, 0, 2, 2, 2, 2, 2, 2]))
