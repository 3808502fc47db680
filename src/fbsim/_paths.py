# SPDX-License-Identifier: MIT
"""Where the wheel keeps the C++ headers, static library and CMake package (pybind11's model)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def _installed_file(*parts: str) -> Path:
    # joinpath (not str(files(...))): editable installs expose the package as a multiplexed
    # path over the source tree and site-packages; joinpath resolves to the real file.
    resource = files("fbsim").joinpath(*parts)
    if not resource.is_file():
        raise FileNotFoundError(
            f"{'/'.join(parts)} is not part of this fbsim installation; "
            "install fbsim with pip to get the C++ package"
        )
    return Path(str(resource))


def get_cmake_dir() -> Path:
    """Directory holding ``fbsimConfig.cmake``: pass it as ``-Dfbsim_DIR=...``.

    Raises
    ------
    FileNotFoundError
        The package was installed without its C++ files (e.g. a source checkout on sys.path).
    """
    return _installed_file("lib", "cmake", "fbsim", "fbsimConfig.cmake").parent


def get_include_dir() -> Path:
    """Directory to add to the include path: it holds ``fbsim/fbsim.hpp``."""
    return _installed_file("include", "fbsim", "fbsim.hpp").parent.parent
