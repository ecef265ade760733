"""The Gradescope bundle: its layout, finding the repo in a submission, and run_autograder's results."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from faultfirst.export import ExportError, export_candidate
from faultfirst.gradescope import (
    CONFIG,
    BundleConfig,
    SubmissionError,
    build_bundle,
    check_config,
    find_repo,
    run_autograder,
)
from tests.gradescope_schema import assert_valid_results

REPO = Path(__file__).resolve().parent.parent
RETRIES_POINTS, SOAK_POINTS = 20, 10


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_bundle(check_config(["retries"], "calm", 3), tmp_path_factory.mktemp("b") / "ag.zip")


def test_the_bundle_has_setup_and_run_autograder_at_its_root_executable(bundle: Path) -> None:
    with zipfile.ZipFile(bundle) as zipped:
        names = zipped.namelist()
        modes = {info.filename: info.external_attr >> 16 for info in zipped.infolist()}
        setup = zipped.read("setup.sh").decode()
        runner = zipped.read("run_autograder").decode()
        config = zipped.read(CONFIG).decode()
    assert {"setup.sh", "run_autograder", CONFIG} <= set(names)
    assert all("/" not in name for name in names)
    wheels = [name for name in names if name.endswith(".whl")]
    assert len(wheels) == 1
    for script in ("setup.sh", "run_autograder"):
        assert modes[script] & stat.S_IXUSR, script
    assert "apt-get install -y bubblewrap" in setup and "pip install ./faultfirst-*.whl" in setup
    assert runner.startswith("#!/usr/bin/env bash") and "AUTOGRADER_ROOT:-/autograder" in runner
    assert "results/results.json" in runner
    assert 'exercises = ["retries"]' in config and 'level = "calm"' in config and "seed = 3" in config


def test_bundle_config_round_trips_and_refuses_bad_choices(tmp_path: Path) -> None:
    config = check_config(["retries", "citations"], "stormy", 5)
    (tmp_path / CONFIG).write_text(config.to_toml())
    assert BundleConfig.load(tmp_path / CONFIG) == config
    with pytest.raises(ExportError, match="unknown level 'windy'"):
        check_config(["retries"], "windy", 0)
    with pytest.raises(ExportError, match="unknown exercise"):
        check_config(["nope"], "calm", 0)
    with pytest.raises(ExportError, match="is a folder"):
        build_bundle(config, tmp_path)


def _repo(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "faultfirst.toml").write_text('exercises = ["retries"]\n')
    return folder


def test_the_repo_is_found_at_the_top_one_folder_down_or_in_a_zip(tmp_path: Path) -> None:
    top = _repo(tmp_path / "top")
    assert find_repo(top, tmp_path / "s1") == top
    nested = tmp_path / "nested"
    _repo(nested / "candidate-main")
    (nested / "__MACOSX").mkdir()
    assert find_repo(nested, tmp_path / "s2") == nested / "candidate-main"
    zipped = tmp_path / "zipped"
    zipped.mkdir()
    with zipfile.ZipFile(zipped / "repo.zip", "w") as archive:
        archive.writestr("alice/faultfirst.toml", 'exercises = ["retries"]\n')
    assert find_repo(zipped, tmp_path / "s3") == tmp_path / "s3" / "alice"


@pytest.mark.parametrize("layout, message", [
    ({}, "no faultfirst.toml in the submission or one folder down"),
    ({"a/faultfirst.toml": "", "b/faultfirst.toml": ""}, "holds 2 repos (a, b)"),
    ({"x/y/faultfirst.toml": ""}, "no faultfirst.toml"),
])
def test_a_submission_without_one_repo_is_refused_with_what_it_holds(
        tmp_path: Path, layout: dict[str, str], message: str) -> None:
    submission = tmp_path / "submission"
    submission.mkdir()
    for name, text in layout.items():
        (submission / name).parent.mkdir(parents=True, exist_ok=True)
        (submission / name).write_text(text)
    with pytest.raises(SubmissionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        find_repo(submission, tmp_path / "scratch")


def test_a_zip_reaching_outside_itself_is_refused(tmp_path: Path) -> None:
    submission = tmp_path / "submission"
    submission.mkdir()
    with zipfile.ZipFile(submission / "repo.zip", "w") as archive:
        archive.writestr("../escape/faultfirst.toml", "")
    with pytest.raises(SubmissionError, match="outside itself"):
        find_repo(submission, tmp_path / "scratch")
    assert not (tmp_path / "escape").exists()


def _layout(root: Path, bundle: Path) -> Path:
    with zipfile.ZipFile(bundle) as zipped:
        zipped.extractall(root / "source")
    (root / "submission").mkdir(parents=True, exist_ok=True)
    return root


@pytest.mark.parametrize("manifest, message", [
    (None, "no faultfirst.toml"),
    ('exercises = ["citations"]\n', "made for exercises citations; this assignment grades retries"),
])
def test_an_invalid_submission_still_shows_the_points_available(
        tmp_path: Path, bundle: Path, manifest: str | None, message: str) -> None:
    root = _layout(tmp_path / "autograder", bundle)
    if manifest is not None:
        (root / "submission" / "faultfirst.toml").write_text(manifest)
    assert run_autograder(root) == 0
    document = assert_valid_results(root / "results" / "results.json")
    assert document["score"] == 0 and message in document["output"]
    assert {test["name"]: test["max_score"] for test in document["tests"]} == {
        "retries: not graded": RETRIES_POINTS, "soak: not graded": SOAK_POINTS}
    assert document["extra_data"]["max_score"] == RETRIES_POINTS + SOAK_POINTS
    assert document["extra_data"]["status"] == "invalid-submission"


@pytest.mark.slow
def test_run_autograder_grades_a_candidate_repo_and_the_reference(tmp_path: Path, bundle: Path) -> None:
    """The script Gradescope runs, in a temporary /autograder: the starter as received (the repo
    itself) and the reference (zipped, one folder down)."""
    from faultfirst.calibrate import prepare_solution
    from faultfirst.solutions import REFERENCE
    from graders.harness import grade

    env = {**os.environ, "FAULTFIRST_PYTHON": sys.executable, "PYTHONPATH": str(REPO)}
    scores = {}
    for name in ("starter", "reference"):
        root = _layout(tmp_path / name / "autograder", bundle)
        if name == "starter":
            export_candidate(["retries"], "calm", root / "submission" / "repo")
        else:
            folder = prepare_solution(REFERENCE, ["retries"], "calm", tmp_path / "ref" / "litreview-main")
            with zipfile.ZipFile(root / "submission" / "submission.zip", "w") as archive:
                for path in folder.rglob("*"):
                    archive.write(path, path.relative_to(folder.parent).as_posix())
        done = subprocess.run(["bash", str(root / "source" / "run_autograder")],
                              env={**env, "AUTOGRADER_ROOT": str(root)}, cwd=root,
                              capture_output=True, text=True, timeout=900, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        document = assert_valid_results(root / "results" / "results.json")
        assert document["extra_data"]["status"] == "graded", document["output"]
        assert document["extra_data"]["level"] == "calm" and document["extra_data"]["seed"] == 3
        scores[name] = document["score"]
        # the same verdicts as `faultfirst grade` of the same repo at the same level and seed
        repo = next(p.parent for p in root.rglob("faultfirst.toml")) if name == "starter" else folder
        direct = grade(repo, level="calm", seed=3, out_dir=tmp_path / name / "direct")
        assert {t["name"]: t["status"] for t in document["tests"]} == {
            f"{c.record.exercise}: {c.record.name}": "passed" if c.score >= c.max_score else "failed"
            for c in direct.score.counted}
        # the points at stake: the exercise's, less those of checks that count only from a
        # harder level up (calm leaves them out)
        at_stake = sum(test["max_score"] for test in document["tests"])
        assert at_stake == direct.score.max_score
        assert SOAK_POINTS < at_stake <= RETRIES_POINTS + SOAK_POINTS
    assert scores["reference"] == at_stake
    assert scores["starter"] < scores["reference"] / 2
