# SPDX-License-Identifier: MIT
"""``python -m fbsim``: ``--cmake-dir`` / ``--include-dir`` for C++ consumers, else the CLI."""

from __future__ import annotations

import sys

from fbsim.cli import main

if __name__ == "__main__":
    sys.exit(main())
