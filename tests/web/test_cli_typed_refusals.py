"""The CLI's own refusals are typed errors: exit 2 and a message in the report language.

A newcomer found `export --layer nosuch`, `template out.csv`, `od --out x.txt` and a `demo`
onto an existing file answered in English only, with click's exit status 1.
"""
from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from web.cli import main as cli

HAN = re.compile(r"[\u4e00-\u9fff]")


def _refusals(ws_path, tmp_path):
    return {
        "unknown layer": (["export", "-w", ws_path, "--layer", "nosuch", str(tmp_path / "x.csv")], "nosuch"),
        "unknown format": (["export", "-w", ws_path, "--layer", "villages", str(tmp_path / "x.docx")], "docx"),
        "template suffix": (["template", "--layer", "villages", str(tmp_path / "t.csv")], ".xlsx"),
        "demo exists": (["demo", "-w", ws_path], ws_path),
    }


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_refusals_exit_2_in_the_report_language(demo_workspace, tmp_path, lang):
    runner = CliRunner(env={"RURALPLAN_LANG": lang})
    for name, (args, named) in _refusals(str(demo_workspace.path), tmp_path).items():
        result = runner.invoke(cli, args)
        assert result.exit_code == 2, (name, result.output)
        assert named in result.output, (name, result.output)
        assert "Traceback" not in result.output
        if lang == "zh":
            assert HAN.search(result.output), (name, result.output)
        else:
            assert not HAN.search(result.output.replace(str(demo_workspace.path), "")), (name, result.output)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_out_of_domain_analysis_inputs_exit_2_in_the_report_language(demo_workspace, tmp_path, lang):
    """A negative cutoff, p or time limit, or a fixed site outside the matrix: the models'
    own input checks are typed (they printed a ValueError traceback, or English with exit 1)."""
    import numpy as np

    cost = tmp_path / "c.npy"
    np.save(cost, np.arange(12, dtype=float).reshape(4, 3))
    ws = str(demo_workspace.path)
    runner = CliRunner(env={"RURALPLAN_LANG": lang})
    cases = {
        "negative cutoff": ["coverage", "-w", ws, "--facility", "cold_storage", "--minutes", "-5"],
        "negative p": ["place", "-w", ws, "--model", "pmedian", "--p", "-2"],
        "zero time limit": ["place", "-w", ws, "--model", "pmedian", "--p", "1", "--time-limit", "0"],
        "fixed outside": ["solve", "pmedian", "--cost", str(cost), "--p", "1", "--fixed", "99"],
        "negative p (solve)": ["solve", "pmedian", "--cost", str(cost), "--p", "-1"],
    }
    for name, args in cases.items():
        result = runner.invoke(cli, args)
        assert result.exit_code == 2, (name, result.output)
        assert "Traceback" not in result.output and result.exception is None or isinstance(
            result.exception, SystemExit), (name, result.output)
        text = result.output.replace(ws, "")
        assert bool(HAN.search(text)) == (lang == "zh"), (name, result.output)
