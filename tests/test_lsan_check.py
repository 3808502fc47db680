# SPDX-License-Identifier: MIT
"""The leak-report classifier of .ci/sanitize's LSan step (.ci/lsan_check.py) can fail.

Reports below are written in LeakSanitizer's format by hand (unsymbolized module+offset frames
and symbolized function/file frames), so the check's verdict is tested, not assumed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "lsan_check", Path(__file__).resolve().parents[1] / ".ci" / "lsan_check.py"
)
lsan_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lsan_check)

ASAN = "/usr/lib/x86_64-linux-gnu/libasan.so.8"
SITE = "/venv/lib/python3.11/site-packages"

FBSIM_VECTOR = f"""
Direct leak of 4096 byte(s) in 1 object(s) allocated from:
    #0 0x7f1 in operator new(unsigned long) ({ASAN}+0xfe548)
    #1 0x7f2 in std::vector<long>::_M_realloc_insert /usr/include/c++/13/bits/vector.tcc:464
    #2 0x7f3 in fbsim::SpatialTree<3>::insert(long const*, double const*, unsigned long) /src/csrc/src/detail/spatial_tree_methods.hpp:70
    #3 0x7f4  ({SITE}/fbsim/_core.cpython-311-x86_64-linux-gnu.so+0x9a1b2)
    #4 0x7f5 in _PyObject_MakeTpCall Objects/call.c:214
"""
FBSIM_UNSYMBOLIZED = f"""
Indirect leak of 64 byte(s) in 1 object(s) allocated from:
    #0 0x7f1  ({ASAN}+0xfe548)
    #1 0x7f2  (/usr/lib/x86_64-linux-gnu/libstdc++.so.6+0x1234)
    #2 0x7f3  ({SITE}/fbsim/_kernels.cpython-311-x86_64-linux-gnu.so+0x1b2)
    #3 0x7f4  (/root/.pyenv/versions/3.11.7/bin/python3.11+0x22)
"""
PYTHON_OWN = f"""
Direct leak of 1024 byte(s) in 2 object(s) allocated from:
    #0 0x7f1 in malloc ({ASAN}+0xfd300)
    #1 0x7f2 in _PyObject_Malloc Objects/obmalloc.c:1966
    #2 0x7f3 in _PyObject_MakeTpCall Objects/call.c:214
    #3 0x7f4  ({SITE}/fbsim/_core.cpython-311-x86_64-linux-gnu.so+0x9a1b2)
"""
NUMPY_OWN = f"""
Direct leak of 800 byte(s) in 1 object(s) allocated from:
    #0 0x7f1 in malloc ({ASAN}+0xfd300)
    #1 0x7f2  ({SITE}/numpy/_core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so+0x1b2)
    #2 0x7f3  ({SITE}/fbsim/_core.cpython-311-x86_64-linux-gnu.so+0x9a1b2)
"""


@pytest.mark.parametrize(
    ("report", "who"),
    [
        (FBSIM_VECTOR, "fbsim"),
        (FBSIM_UNSYMBOLIZED, "fbsim"),
        (PYTHON_OWN, "python"),
        (NUMPY_OWN, "numpy"),
    ],
)
def test_owner_is_the_code_that_called_the_allocator(report, who):
    [(_, _, frames)] = lsan_check.parse(report)
    assert lsan_check.owner(frames) == who


def test_fails_only_on_fbsim_leaks(tmp_path, capsys):
    clean = tmp_path / "clean.log"
    clean.write_text(PYTHON_OWN + NUMPY_OWN)
    assert lsan_check.main([str(clean)]) == 0
    dirty = tmp_path / "dirty.log"
    dirty.write_text(PYTHON_OWN + FBSIM_VECTOR)
    assert lsan_check.main([str(dirty)]) == 1
    assert "FBSIM LEAK: Direct leak of 4096 bytes" in capsys.readouterr().out
    [(kind, size, _), _] = lsan_check.parse(PYTHON_OWN + FBSIM_UNSYMBOLIZED)
    assert (kind, size) == ("Direct", 1024)
