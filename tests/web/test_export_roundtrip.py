"""The app's own exports import back unchanged, in either language (a newcomer lost the
monitored-household counts, incomes and produce of every village: English headers with
units were not recognised and `--replace` then wrote the layer without them)."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from geo.numbers import decimals_for, round_array
from layers.schema import get_schema
from layers.store import Workspace
from layers.validate import match_columns
from web.cli import main


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_replace_import_keeps_every_value(workspace, tmp_path, lang, fmt):
    out = tmp_path / f"villages.{fmt}"
    env = {"RURALPLAN_LANG": lang}
    res = CliRunner().invoke(main, ["export", "-w", str(workspace.path), "--layer", "villages", "--format", fmt,
                                    str(out)], env=env)
    assert res.exit_code == 0, res.output
    copy = tmp_path / "copy.gpkg"
    shutil.copyfile(workspace.path, copy)
    res = CliRunner().invoke(main, ["import", "-w", str(copy), "--layer", "villages", "--replace", str(out)], env=env)
    assert res.exit_code == 0, res.output
    assert "ignored" not in res.output and "忽略" not in res.output
    before = workspace.read_layer("villages").drop(columns="geometry").sort_values("code").reset_index(drop=True)
    after = Workspace(copy).read_layer("villages").drop(columns="geometry").sort_values("code").reset_index(drop=True)
    for column in before.columns:
        if before[column].dtype.kind == "f":  # written at the unit's precision (geo.numbers), read back exactly
            assert np.array_equal(round_array(before[column].astype(float), decimals_for(column)),
                                  after[column].astype(float), equal_nan=True), column
        else:
            assert before[column].astype(str).tolist() == after[column].astype(str).tolist(), column


def test_headers_with_units_in_either_language_match_their_fields():
    schema = get_schema("villages")
    headers = ["Unstable after exit (households) (households)", "Income per capita (CNY)", "人口（人）",
               "Apple output (t/yr)"]
    mapping, unmatched = match_columns(headers, schema)
    assert unmatched == []
    assert set(mapping.values()) == {"monitored_unstable", "income_per_capita_yuan", "population", "produce_apple_t"}
