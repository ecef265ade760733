"""new-candidate: a fresh git repo with the starter, the briefs and the fake LLM, and nothing hidden."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from faultfirst import __version__
from faultfirst.catalogue import load_catalogue
from faultfirst.cli import main
from faultfirst.export import KIT_ROOT, ExportError, export_candidate, template_hash

ALL = [exercise.slug for exercise in load_catalogue()]


def _lines(paths: list[Path]) -> set[str]:
    out: set[str] = set()
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        out.update(line.strip() for line in text.splitlines() if len(line.strip()) >= 30)
    return out


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts]


def hidden_lines() -> set[str]:
    """Distinctive lines of the graders, solutions and notes that the starter does not share."""
    hidden = _files(KIT_ROOT / "graders") + _files(KIT_ROOT / "solutions")
    hidden += list((KIT_ROOT / "exercises").glob("*/notes.md"))
    public = _files(KIT_ROOT / "candidate_template") + _files(KIT_ROOT / "fake_llm")
    public += list((KIT_ROOT / "exercises").glob("*/brief.md"))
    return _lines(hidden) - _lines(public)


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export") / "alex"
    export_candidate(ALL, "stormy", out, name="Alex")
    return out


def test_repo_has_one_commit_and_a_clean_tree(exported):
    log = subprocess.run(["git", "log", "--oneline"], cwd=exported, capture_output=True, text=True)
    assert len(log.stdout.strip().splitlines()) == 1
    status = subprocess.run(["git", "status", "--porcelain"], cwd=exported, capture_output=True,
                            text=True)
    assert status.stdout == ""


def test_manifest_names_exercises_level_version_and_template(exported):
    manifest = tomllib.loads((exported / "faultfirst.toml").read_text())
    assert manifest["exercises"] == ALL and manifest["level"] == "stormy"
    assert manifest["kit_version"] == __version__
    assert manifest["template_hash"] == template_hash()
    assert "{port}" in manifest["command"]


def test_briefs_readme_and_fake_llm_default_level(exported):
    for slug in ALL:
        brief = (exported / "exercises" / slug / "brief.md").read_text()
        assert "{{" not in brief and "{%" not in brief
    assert not list(exported.glob("exercises/*/notes.md"))
    assert not list(exported.glob("exercises/*/exercise.toml"))
    readme = (exported / "README.md").read_text()
    assert "Alex" in readme and "stormy" in readme and not (exported / "README.md.j2").exists()
    assert (exported / "fake_llm" / "profiles" / "DEFAULT").read_text().strip() == "stormy"


def test_nothing_hidden_leaks_into_the_export(exported):
    names = {part for path in _files(exported) for part in path.relative_to(exported).parts}
    assert not names & {"graders", "solutions", "notes.md"}
    secrets = hidden_lines()
    assert secrets, "the scan found nothing to look for"
    for path in _files(exported):
        if ".git" in path.relative_to(exported).parts:
            continue
        leaked = secrets & _lines([path])
        assert not leaked, f"{path.relative_to(exported)} holds hidden text: {sorted(leaked)[:3]}"


def test_visible_tests_pass_from_the_repos_own_files(exported):
    env = {"PATH": os.environ["PATH"], "HOME": str(exported), "LANG": "C.UTF-8"}
    where = subprocess.run(
        [sys.executable, "-c", "import fake_llm, litreview; print(fake_llm.__file__, litreview.__file__)"],
        cwd=exported, env=env, capture_output=True, text=True, timeout=60)
    assert where.returncode == 0, where.stderr
    assert all(path.startswith(str(exported)) for path in where.stdout.split())
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                            cwd=exported, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout


def test_fake_llm_in_the_repo_serves_at_the_level(exported):
    code = "from fake_llm.cli import default_profile; print(default_profile())"
    result = subprocess.run([sys.executable, "-c", code], cwd=exported, capture_output=True,
                            text=True, timeout=60, env={"PATH": os.environ["PATH"]})
    assert result.stdout.strip() == "stormy"


@pytest.mark.parametrize(("args", "needle"), [
    (["--exercises", "retries,nope"], "unknown exercise(s) nope; valid: agent, batch"),
    (["--exercises", "retries", "--level", "breezy"], "unknown level 'breezy'; valid: calm"),
])
def test_bad_requests_are_refused_listing_what_is_valid(tmp_path, capsys, args, needle):
    status = main(["new-candidate", *args, "--out", str(tmp_path / "x")])
    assert status == 2
    assert needle in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_a_non_empty_directory_is_refused(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(ExportError, match="not an empty directory"):
        export_candidate(["retries"], "calm", tmp_path)
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_the_level_decides_the_numbers_of_the_briefs_and_contract_toml(tmp_path):
    """new-candidate --level renders the level's numbers into the brief and contract.toml."""
    import tomllib

    out = export_candidate(["streaming", "batch"], "hurricane", tmp_path / "storm").path
    contract = tomllib.loads((out / "contract.toml").read_text(encoding="utf-8"))
    assert contract["streaming"]["first_event_s"] == 1.5 and contract["batch"]["max_in_flight"] == 3
    brief = (out / "exercises" / "streaming" / "brief.md").read_text(encoding="utf-8")
    assert "within 1.5 s of the request" in brief and "within 2.0 s" not in brief
