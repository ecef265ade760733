"""The submission as the harness handles it: a private copy, its hash, its extra dependencies.

The copy leaves out version-control and environment folders and every symbolic link (a link
could point at the hidden graders or outside the copy); the hash is computed over the copy, so
it identifies exactly what was graded.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from graders.harness.errors import DependencyError as DependencyError

try:
    from packaging.requirements import InvalidRequirement, Requirement
except ImportError:  # pragma: no cover - not a declared dependency; pip always vendors it
    from pip._vendor.packaging.requirements import (  # type: ignore[assignment,no-redef,unused-ignore]
        InvalidRequirement,
        Requirement,
    )

SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", ".venv", "venv", "env", "__pycache__", "node_modules",
                          ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", ".nox", ".idea",
                          ".vscode", "build", "dist"})
SKIPPED_SUFFIXES = (".pyc", ".pyo")
PIP_TIMEOUT_S = 600


@dataclass(frozen=True, slots=True)
class CopyResult:
    """The copy's root, its hash, how many files it holds, and the symbolic links left out."""

    root: Path
    sha256: str
    files: int
    skipped_links: tuple[str, ...]


def _ignore(skipped_links: list[str], source: Path) -> object:
    def ignore(folder: str, names: list[str]) -> set[str]:
        ignored = set()
        for name in names:
            path = Path(folder) / name
            if path.is_symlink():
                skipped_links.append(str(path.relative_to(source)))
                ignored.add(name)
            elif (name in SKIPPED_DIRS and path.is_dir()) or name.endswith(SKIPPED_SUFFIXES):
                ignored.add(name)
        return ignored

    return ignore


def copy_submission(source: Path, dest: Path) -> CopyResult:
    """Copy ``source`` to ``dest`` (which must not exist) and hash the copy."""
    skipped: list[str] = []
    shutil.copytree(source, dest, ignore=_ignore(skipped, source), symlinks=True)  # type: ignore[arg-type]
    digest, count = tree_hash(dest, ("",))
    return CopyResult(dest, digest, count, tuple(sorted(skipped)))


def tree_hash(root: Path, suffixes: Iterable[str]) -> tuple[str, int]:
    """sha256 over the sorted relative paths and contents of the files under ``root`` whose name
    ends with one of ``suffixes`` (``""`` matches all), and how many files that was."""
    suffixes = tuple(suffixes)
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()
                   and p.name.endswith(suffixes) and "__pycache__" not in p.parts)
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest(), len(files)


def declared_requirements(root: Path) -> list[str]:
    """The ``[project] dependencies`` of the submission's pyproject.toml (none if it has none)."""
    path = root / "pyproject.toml"
    if not path.is_file():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise DependencyError(f"{path}: not valid TOML: {error}") from None
    dependencies = data.get("project", {}).get("dependencies", [])
    if not isinstance(dependencies, list) or not all(isinstance(d, str) for d in dependencies):
        raise DependencyError(f"{path}: [project] dependencies must be a list of strings")
    return dependencies


def missing_requirements(requirements: Iterable[str]) -> list[str]:
    """The requirements the kit's own environment does not already satisfy."""
    missing = []
    for text in requirements:
        try:
            requirement = Requirement(text)
        except InvalidRequirement as error:
            raise DependencyError(f"invalid dependency {text!r}: {error}") from None
        if requirement.url:
            # pip builds a direct reference from source whatever --only-binary says, running the
            # package's own setup code in the grader, as root and outside the sandbox.
            raise DependencyError(
                f"dependency {text!r} is a direct reference ({requirement.url}); the grader installs "
                "only released wheels from the package index: name a version instead "
                f"(for example {requirement.name!r}>=1.0)")
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        try:
            installed = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(text)
            continue
        if not requirement.specifier.contains(installed, prereleases=True):
            missing.append(text)
    return missing


def install_missing(root: Path, target: Path) -> list[str]:
    """Install what the submission declares beyond the kit's packages into ``target``.

    Returns the requirements installed (usually none). The kit's own packages are reused, so a
    submission that adds nothing costs nothing. Only wheels from the index: a direct reference
    (``name @ url``, a local path) is refused and nothing is ever built from source, because
    installing is the one step that runs outside the sandbox, and a wheel runs no code when it is
    installed. DependencyError when a requirement is refused or pip fails.
    """
    missing = missing_requirements(declared_requirements(root))
    target.mkdir(parents=True, exist_ok=True)
    if not missing:
        return []
    # Wheels only: building an sdist would run the package's own setup code in the grader.
    argv = [sys.executable, "-m", "pip", "install", "--target", str(target), "--no-input",
            "--only-binary", ":all:", "--disable-pip-version-check", "--quiet", *missing]
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env |= {k: v for k, v in os.environ.items() if k.startswith(("PIP_", "HTTP", "HTTPS", "NO_PROXY",
                                                                  "SSL_", "REQUESTS_CA"))}
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=PIP_TIMEOUT_S,
                              env=env, cwd=target, check=False)
    except subprocess.TimeoutExpired:
        raise DependencyError(f"installing {', '.join(missing)} took over {PIP_TIMEOUT_S} s") from None
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise DependencyError(f"could not install {', '.join(missing)}:\n{tail}")
    return missing
