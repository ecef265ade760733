"""Calibration picks the level that separates flawed solutions from the reference; plot and CLI."""

from __future__ import annotations

import tomllib
import xml.etree.ElementTree as ET

import pytest

from faultfirst.calibrate import Calibration, calibrate, prepare_solution, table
from faultfirst.cli import main
from faultfirst.plot import score_plot_svg


def made_up(levels: tuple[str, ...]) -> Calibration:
    result = Calibration(levels, ("retries",))
    result.scores = {
        "starter": {"calm": 40.0, "realistic": 10.0, "stormy": 5.0},
        "reference": {"calm": 100.0, "realistic": 100.0, "stormy": 100.0},
        "flawed/a": {"calm": 100.0, "realistic": 85.0, "stormy": 80.0},
        "flawed/b": {"calm": 90.0, "realistic": 90.0, "stormy": 90.0},
    }
    return result


def test_best_level_maximises_flawed_below_reference_then_gap():
    assert made_up(("calm", "realistic", "stormy")).best_level() == "stormy"
    tied = made_up(("calm", "realistic"))
    tied.scores["flawed/a"]["realistic"] = 90.0
    tied.scores["flawed/b"]["realistic"] = 95.0
    assert tied.best_level() == "realistic"  # 2 of 2 below beats 1 of 2


def test_ties_prefer_the_calmer_level():
    result = made_up(("calm", "realistic", "stormy"))
    result.scores["flawed/a"]["realistic"] = 80.0
    result.scores["flawed/a"]["stormy"] = 80.0
    result.scores["flawed/b"]["stormy"] = 90.0
    assert result.best_level() == "realistic"


def test_table_and_plot():
    result = made_up(("calm", "realistic", "stormy"))
    text = table(result)
    assert "| flawed/a | 100.0% | 85.0% | 80.0% |" in text
    assert "| flawed below reference | 1/2 | 2/2 | 2/2 |" in text
    svg = score_plot_svg(result)
    root = ET.fromstring(svg)
    assert len(root.findall("{http://www.w3.org/2000/svg}polyline")) == 4
    assert "best separation" in svg


def test_calibrate_grades_every_solution_at_every_level(tmp_path):
    seen = []

    def grader(folder, level, seed, out):
        manifest = tomllib.loads((folder / "faultfirst.toml").read_text())
        seen.append((folder.name, level, tuple(manifest["exercises"]), manifest["level"]))
        return 100.0 if "reference" in folder.name else 50.0

    result = calibrate(["calm", "stormy"], ["retries", "citations"], solutions=["starter", "reference"],
                       out=tmp_path, grader=grader)
    assert result.scores == {"starter": {"calm": 50.0, "stormy": 50.0},
                             "reference": {"calm": 100.0, "stormy": 100.0}}
    assert [(level, ex, lv) for _, level, ex, lv in seen] == [
        ("calm", ("retries", "citations"), "calm"), ("stormy", ("retries", "citations"), "stormy")] * 2


def test_prepared_solution_is_a_runnable_app_with_the_chosen_manifest(tmp_path):
    folder = prepare_solution("reference", ["batch"], "stormy", tmp_path / "ref")
    manifest = tomllib.loads((folder / "faultfirst.toml").read_text())
    assert manifest["exercises"] == ["batch"] and "{port}" in manifest["command"]
    assert (folder / "litreview" / "__main__.py").is_file()


@pytest.mark.parametrize(("args", "needle"), [
    (["--levels", "calm,breezy"], "unknown level(s) breezy; valid: calm"),
    (["--exercises", "retries,nope"], "unknown exercise(s) nope; valid:"),
])
def test_calibrate_cli_refuses_bad_arguments(tmp_path, capsys, args, needle):
    assert main(["calibrate", *args, "--out", str(tmp_path)]) == 2
    assert needle in capsys.readouterr().err
