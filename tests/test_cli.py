# SPDX-License-Identifier: MIT
"""The fbsim command line."""

from __future__ import annotations

import json

import pytest

from fbsim import cli


def test_demo_json_reports_agreement_and_rejection(capsys):
    assert cli.main(["demo", "--items", "2000", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["items"] == 2000
    assert report["max_abs_difference"] < 1e-9
    assert "centers[1, 2] is nan" in report["nan_input_rejected_with"]


def test_demo_human_output(capsys):
    assert cli.main(["demo", "--items", "100"]) == 0
    assert "oriented boxes -> AABBs" in capsys.readouterr().out


def test_demo_rejects_negative_items():
    with pytest.raises(SystemExit):
        cli.main(["demo", "--items", "-1"])


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    assert "demo" in capsys.readouterr().out
