# SPDX-License-Identifier: MIT
"""The wheel carries a usable C++ package: headers, static library, CMake config, and a C++
program links it with nothing but fbsim_DIR."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fbsim import _paths

REPO = Path(__file__).resolve().parents[1]


def test_cmake_dir_holds_config_and_targets():
    cmake_dir = _paths.get_cmake_dir()
    for name in ("fbsimConfig.cmake", "fbsimConfigVersion.cmake", "fbsimTargets.cmake"):
        assert (cmake_dir / name).is_file(), name
    lib_dir = cmake_dir.parents[1]
    assert (lib_dir / "libfbsim_core.a").is_file()


def test_headers_shipped():
    include = _paths.get_include_dir() / "fbsim"
    for name in ("fbsim.hpp", "geometry.hpp", "status.hpp", "validate.hpp"):
        text = (include / name).read_text()
        assert "Python.h" not in text, name
        assert "pybind11" not in text, name


def test_module_cli_prints_cmake_dir():
    out = subprocess.run(
        [sys.executable, "-m", "fbsim", "--cmake-dir"], capture_output=True, text=True, check=True
    )
    assert Path(out.stdout.strip()) == _paths.get_cmake_dir()


@pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake not installed")
def test_cpp_example_builds_and_runs_against_installed_package(tmp_path):
    build = tmp_path / "build"
    subprocess.run(
        [
            "cmake",
            "-S",
            str(REPO / "examples" / "cpp_server"),
            "-B",
            str(build),
            f"-Dfbsim_DIR={_paths.get_cmake_dir()}",
            "-DCMAKE_BUILD_TYPE=Release",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(["cmake", "--build", str(build)], check=True, capture_output=True)
    exe = next(p for p in build.rglob("cpp_server") if p.is_file())
    run = subprocess.run([str(exe)], capture_output=True, text=True, check=True)
    assert "linked and working" in run.stdout


@pytest.mark.skipif(shutil.which("nm") is None, reason="binutils nm not installed")
def test_core_library_has_no_conflicting_inline_definitions():
    """Two subsystems defining the same fbsim:: name differently is an ODR violation the linker
    resolves silently (it once made the octree use the broad phase's id map). Inline symbols
    emitted by several objects must at least agree in size."""
    lib = _paths.get_cmake_dir().parents[1] / "libfbsim_core.a"
    out = subprocess.run(
        ["nm", "-S", "-C", "--defined-only", str(lib)], capture_output=True, text=True, check=True
    ).stdout
    sizes: dict[str, set[str]] = {}
    for line in out.splitlines():
        parts = line.split(maxsplit=3)
        if len(parts) == 4 and parts[2] in "WV" and "fbsim::" in parts[3]:
            name = parts[3]
            if "std::" in name or "[clone" in name or "lambda" in name:
                continue
            sizes.setdefault(name, set()).add(parts[1])
    conflicting = {k: v for k, v in sizes.items() if len(v) > 1}
    assert not conflicting, sorted(conflicting)[:10]
