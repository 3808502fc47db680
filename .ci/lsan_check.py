# SPDX-License-Identifier: MIT
"""Classify a LeakSanitizer report: fail on any leak that fbsim's own code allocated.

Usage: python .ci/lsan_check.py LOG [LOG...]   (LSan's log_path files; exit 1 on an fbsim leak)

Why not an LSan suppression file alone: a ``leak:`` rule matches ANY frame of the allocation
stack, and every fbsim allocation is called from the interpreter, so ``leak:python3`` or
``leak:_PyObject_`` would hide fbsim's leaks along with CPython's. Instead each leak is owned
by the code that called the allocator: walk its stack from the allocation outwards, skip the
allocator itself (ASan's malloc/new interceptors) and the C/C++ runtime (libc, libstdc++:
std::vector growth inlined or not); the first frame left decides. An fbsim module (``_core``,
``_kernels``, ``_movement``, ``libfbsim_core``, or a ``csrc/`` source line) -> fbsim's leak,
fails. CPython or numpy -> their internals (objects the interpreter does not free at exit),
reported as counts only. Works from module paths, so no symbolizer is needed.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

FBSIM = re.compile(r"fbsim/_core|fbsim/_kernels|fbsim/_movement|libfbsim|/csrc/|\bfbsim::")
RUNTIME = re.compile(
    r"libasan|libstdc\+\+|libc\.so|libc-|libgcc|ld-linux|/usr/include/c\+\+|"
    r"\bin (__interceptor_)?(malloc|calloc|realloc|operator new|__libc_|__asan)"
)
PYTHON = re.compile(r"python3|libpython|\bin _?Py|Objects/|Python/|Modules/|Parser/")
HEADER = re.compile(r"^(Direct|Indirect) leak of (\d+) byte")
FRAME = re.compile(r"^\s+#\d+ 0x[0-9a-f]+\s+(.*)$")


def owner(frames: list[str]) -> str:
    """'fbsim', 'python', 'numpy' or 'other': who called the allocator."""
    for text in frames:
        if FBSIM.search(text):
            return "fbsim"
        if RUNTIME.search(text):
            continue
        if "numpy" in text:
            return "numpy"
        if PYTHON.search(text):
            return "python"
        return "other"
    return "other"


def parse(text: str) -> list[tuple[str, int, list[str]]]:
    leaks: list[tuple[str, int, list[str]]] = []
    for line in text.splitlines():
        m = HEADER.match(line)
        if m:
            leaks.append((m.group(1), int(m.group(2)), []))
            continue
        f = FRAME.match(line)
        if f and leaks:
            leaks[-1][2].append(f.group(1))
    return leaks


def main(paths: list[str]) -> int:
    logs = [Path(p) for p in paths if Path(p).is_file()]
    if not logs:
        print("lsan_check: no LSan log written (LSan found no leak at all)")
        return 0
    text = "\n".join(p.read_text(errors="replace") for p in logs)
    leaks = parse(text)
    by_owner: Counter[str] = Counter()
    bytes_by_owner: Counter[str] = Counter()
    bad = []
    for kind, size, frames in leaks:
        who = owner(frames)
        by_owner[who] += 1
        bytes_by_owner[who] += size
        if who == "fbsim":
            bad.append((kind, size, frames))
    summary = ", ".join(f"{k}: {by_owner[k]} ({bytes_by_owner[k]} B)" for k in sorted(by_owner))
    print(f"lsan_check: {len(leaks)} leak records; by allocating code: {summary or 'none'}")
    for kind, size, frames in bad[:10]:
        print(f"FBSIM LEAK: {kind} leak of {size} bytes")
        for text in frames[:12]:
            print(f"    {text}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
