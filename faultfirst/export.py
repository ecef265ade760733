"""Making a candidate repo: the starter app, the chosen briefs and the fake LLM, in one git commit.

What goes out: ``candidate_template/`` (its ``README.md.j2`` rendered for the candidate), each
chosen exercise's ``brief.md`` rendered at the level, ``contract.toml`` (the numbers of those
briefs at the level, one table per exercise, for the app to read if it likes), a copy of
``fake_llm`` whose default profile is the level, and a manifest ``faultfirst.toml`` (exercises,
level, kit version, template hash).
What never goes out: graders, solutions, interviewer notes, the exercises' own ``exercise.toml``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2

from fake_llm.profiles import LEVELS
from faultfirst import __version__
from faultfirst.catalogue import Exercise, load_catalogue, render_brief
from faultfirst_data import package_folder, template_dir

KIT_ROOT = package_folder("faultfirst").parent  # where the kit's packages are imported from
TEMPLATE_DIR = template_dir()
FAKE_LLM_DIR = package_folder("fake_llm")
_SKIP_NAMES = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".venv", "scripts"}
CONTRACT_FILE = "contract.toml"
_GITIGNORE = "__pycache__/\n*.pyc\n.venv/\n.pytest_cache/\n.mypy_cache/\n.ruff_cache/\n"


class ExportError(ValueError):
    """The candidate repo could not be made; the message says why and what is valid."""


@dataclass(frozen=True, slots=True)
class ExportResult:
    """Where the repo is and what it holds."""

    path: Path
    exercises: tuple[str, ...]
    level: str
    template_hash: str
    commit: str


def _template_files(root: Path) -> list[Path]:
    return sorted(
        p for p in root.rglob("*")
        if p.is_file() and not _SKIP_NAMES.intersection(p.relative_to(root).parts)
    )


def template_hash(root: Path = TEMPLATE_DIR) -> str:
    """A hash of the starter's files, so a report can tell which starter a candidate got."""
    digest = hashlib.sha256()
    for path in _template_files(root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def choose_exercises(slugs: Sequence[str]) -> list[Exercise]:
    """The exercises named, in the order given; unknown or repeated slugs are refused."""
    catalogue = {exercise.slug: exercise for exercise in load_catalogue()}
    unknown = [slug for slug in slugs if slug not in catalogue]
    if unknown:
        raise ExportError(f"unknown exercise(s) {', '.join(unknown)}; "
                          f"valid: {', '.join(sorted(catalogue))}")
    if not slugs:
        raise ExportError(f"choose at least one exercise; valid: {', '.join(sorted(catalogue))}")
    if len(set(slugs)) != len(slugs):
        raise ExportError(f"an exercise is named twice in {', '.join(slugs)}")
    return [catalogue[slug] for slug in slugs]


def _check_target(out: Path, level: str) -> None:
    if level not in LEVELS:
        raise ExportError(f"unknown level {level!r}; valid: {', '.join(LEVELS)}")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"{out} exists and is not an empty directory; choose a new path")
    if shutil.which("git") is None:
        raise ExportError("git is not installed; it is needed to make the candidate repo")


def _copy_tree(source: Path, target: Path) -> None:
    for path in _template_files(source):
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)


def manifest_text(exercises: Sequence[Exercise], level: str, digest: str) -> str:
    """The ``faultfirst.toml`` of a repo graded on these exercises at this level."""
    template = tomllib.loads((TEMPLATE_DIR / "faultfirst.toml").read_text(encoding="utf-8"))
    slugs = ", ".join(f'"{e.slug}"' for e in exercises)
    return (
        "# How the interviewer's tools start this app. If you restructure the app, keep this working.\n"
        "# {port} is filled in with a free port; the app must answer GET {health} with 200 once up.\n"
        f'command = "{template["command"]}"\n'
        f'health = "{template.get("health", "/health")}"\n'
        f"exercises = [{slugs}]\n"
        f'level = "{level}"\n'
        f'kit_version = "{__version__}"\n'
        f'template_hash = "{digest}"\n'
    )


def _toml_value(value: object) -> str:
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


def contract_text(exercises: Sequence[Exercise], level: str) -> str:
    """The ``contract.toml`` of a repo made for these exercises at this level: every number of
    their briefs, as the briefs render it at ``level``, one ``[<slug>]`` table per exercise."""
    lines = [f"# The numbers your briefs state, at the {level} level: the same values as the briefs,",
             "# machine-readable. The briefs are the contract; this file only repeats their numbers."]
    for exercise in exercises:
        lines += ["", f"[{exercise.slug}]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in exercise.contract_at(level).items()]
    return "\n".join(lines) + "\n"


def write_session_files(folder: Path, exercises: Sequence[Exercise], level: str, digest: str) -> None:
    """The files that say what a repo is graded on: the manifest and the level's contract."""
    (folder / "faultfirst.toml").write_text(manifest_text(exercises, level, digest), encoding="utf-8")
    (folder / CONTRACT_FILE).write_text(contract_text(exercises, level), encoding="utf-8")


def _render_readme(target: Path, name: str, level: str, exercises: list[Exercise]) -> None:
    source = target / "README.md.j2"
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             autoescape=False)
    text = env.from_string(source.read_text(encoding="utf-8")).render(
        candidate_name=name, level=level,
        exercises=[{"slug": e.slug, "title": e.title, "minutes": e.minutes} for e in exercises])
    (target / "README.md").write_text(text, encoding="utf-8")
    source.unlink()


def _git_commit(target: Path, name: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "faultfirst", "GIT_AUTHOR_EMAIL": "kit@faultfirst.dev",
           "GIT_COMMITTER_NAME": "faultfirst", "GIT_COMMITTER_EMAIL": "kit@faultfirst.dev"}

    def git(*args: str) -> str:
        result = subprocess.run(["git", *args], cwd=target, env=env, capture_output=True,
                                text=True, check=False, timeout=60)
        if result.returncode:
            raise ExportError(f"git {' '.join(args)} failed in {target}: {result.stderr.strip()}")
        return result.stdout.strip()

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", f"litreview starter for {name}")
    return git("rev-parse", "HEAD")


def export_candidate(slugs: Sequence[str], level: str, out: Path,
                     name: str = "candidate") -> ExportResult:
    """Make the candidate repo at ``out`` (which must not exist or be empty)."""
    out = out.resolve()
    _check_target(out, level)
    exercises = choose_exercises(slugs)
    briefs = {e.slug: render_brief(e, level) for e in exercises}  # fail before writing anything
    digest = template_hash()
    out.mkdir(parents=True, exist_ok=True)
    _copy_tree(TEMPLATE_DIR, out)
    _render_readme(out, name, level, exercises)
    for slug, text in briefs.items():
        brief = out / "exercises" / slug / "brief.md"
        brief.parent.mkdir(parents=True, exist_ok=True)
        brief.write_text(text, encoding="utf-8")
    _copy_tree(FAKE_LLM_DIR, out / "fake_llm")
    (out / "fake_llm" / "profiles" / "DEFAULT").write_text(level + "\n", encoding="utf-8")
    write_session_files(out, exercises, level, digest)
    (out / ".gitignore").write_text(_GITIGNORE, encoding="utf-8")
    commit = _git_commit(out, name)
    return ExportResult(out, tuple(e.slug for e in exercises), level, digest, commit)
