# SPDX-License-Identifier: MIT
"""The Cython IdIndex against a plain dict + list model (hypothesis state machine)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from fbsim import _core, _kernels

ids_strategy = st.lists(st.integers(-(2**63), 2**63 - 1), max_size=8, unique=True)


class IdIndexMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.index = _kernels.IdIndex()
        self.model: list[int] = []  # dense order, with swap-removal like the real thing
        self.rows: list[int] = []  # a struct-of-arrays "store": row i holds the id at index i

    @rule(new=ids_strategy)
    def add(self, new):
        new = [i for i in new if i not in self.model]
        got = self.index.add(np.array(new, dtype=np.int64))
        assert list(got) == list(range(len(self.model), len(self.model) + len(new)))
        self.model += new
        self.rows += new

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def remove(self, data):
        victims = data.draw(st.lists(st.sampled_from(self.model), unique=True, min_size=1))
        removed, moves = self.index.remove(np.array(victims, dtype=np.int64))
        for v, r in zip(victims, removed, strict=True):
            slot = self.model.index(v)
            assert r == slot
            self.model[slot] = self.model[-1]
            self.model.pop()
        for dst, src in moves:  # what a store does with the moves
            self.rows[dst] = self.rows[src]
        del self.rows[len(self.model) :]

    @invariant()
    def agrees_with_model(self):
        assert len(self.index) == len(self.model)
        assert list(self.index.ids()) == self.model
        assert self.rows == self.model
        if self.model:
            assert list(self.index.lookup(np.array(self.model))) == list(range(len(self.model)))
        assert self.index.lookup(np.array([12345678901], dtype=np.int64))[0] == (
            self.model.index(12345678901) if 12345678901 in self.model else -1
        )


TestIdIndex = IdIndexMachine.TestCase


def test_core_and_kernels_link_the_same_core_version():
    assert _kernels.core_version() == _core.version()


def test_contains_handles_foreign_objects():
    idx = _kernels.IdIndex()
    idx.add([7])
    assert 7 in idx
    assert np.int64(7) in idx
    assert "7" not in idx
    assert 2**70 not in idx
    assert True not in idx
