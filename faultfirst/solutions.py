"""Known solutions as runnable app folders: the starter, the reference, and the flawed ones.

The reference is stored as an *overlay*: ``solutions/reference/`` holds only the files that
differ from, or are added to, ``candidate_template/``. A flawed solution is a *patch* against the
reference: ``solutions/flawed/<flaw>/flaw.patch`` (a unified diff, applied strictly by
:mod:`faultfirst.patching`) beside ``flaw.toml`` (what the flaw is and which checks it must fail),
so the reference stays the one source of the code and each flaw reads as the lines it changes.
:func:`materialize` stacks the layers into one folder:

=====================  ==============================================================
name                   layers, bottom to top
=====================  ==============================================================
``starter``            candidate_template
``reference``          candidate_template, solutions/reference
``flawed/<flaw>``      candidate_template, solutions/reference, then flaw.patch
``alternative/<alt>``  candidate_template, solutions/reference, then change.patch
=====================  ==============================================================

An *alternative* (``solutions/alternative/<alt>/change.patch`` beside ``alternative.toml``) is
another correct solution, written differently from the reference: it must keep full marks.

Files are copied as they are (``README.md.j2`` stays a template: rendering it is the candidate
export's job). Overlays only add or replace files; they never delete one.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from faultfirst.patching import apply_patch
from faultfirst_data import package_folder, solutions_dir, template_dir

KIT_ROOT = package_folder("faultfirst").parent  # where the kit's packages are imported from
TEMPLATE_DIR = template_dir()
SOLUTIONS_DIR = solutions_dir()
REFERENCE = "reference"
STARTER = "starter"
FLAWED_PREFIX = "flawed/"
FLAW_PATCH = "flaw.patch"

_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache",
                                  ".ruff_cache", ".hypothesis", "*.egg-info")


class UnknownSolution(ValueError):
    """No solution by that name; the message lists the known names."""


ALTERNATIVE_PREFIX = "alternative/"
CHANGE_PATCH = "change.patch"
# Each kind of patched solution: its name prefix and its folder under solutions/.
_PATCHED = ((FLAWED_PREFIX, "flawed"), (ALTERNATIVE_PREFIX, "alternative"))


def _subfolders(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def solution_names(solutions_dir: Path = SOLUTIONS_DIR) -> list[str]:
    """Every name :func:`materialize` accepts: starter, reference, then each flawed/<flaw>, then
    each alternative/<alt>."""
    return [STARTER, REFERENCE, *(prefix + sub for prefix, folder in _PATCHED
                                  for sub in _subfolders(solutions_dir / folder))]


def layers(name: str, template_dir: Path = TEMPLATE_DIR,
           solutions_dir: Path = SOLUTIONS_DIR) -> list[Path]:
    """The folders that make up solution ``name``, bottom layer first."""
    stack = [template_dir]
    if name == STARTER:
        return stack
    stack.append(solutions_dir / REFERENCE)
    if name == REFERENCE:
        return stack
    for prefix, folder in _PATCHED:
        sub = name.removeprefix(prefix)
        sub_dir = solutions_dir / folder / sub
        if name.startswith(prefix) and sub and "/" not in sub and sub_dir.is_dir():
            return [*stack, sub_dir]
    known = ", ".join(solution_names(solutions_dir))
    raise UnknownSolution(f"no solution {name!r}; known: {known}")


def materialize(name: str, dest: Path, template_dir: Path = TEMPLATE_DIR,
                solutions_dir: Path = SOLUTIONS_DIR) -> Path:
    """Write solution ``name`` as a complete app folder at ``dest`` and return ``dest``.

    ``dest`` is created if needed and must be empty: a half-overwritten folder would run a mix of
    two solutions. Raises :class:`UnknownSolution` for a name not in :func:`solution_names`.
    """
    stack = layers(name, template_dir, solutions_dir)
    for layer in stack:
        if not layer.is_dir():
            raise FileNotFoundError(f"solution layer {layer} is missing")
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"{dest} is not empty")
    dest.mkdir(parents=True, exist_ok=True)
    for layer in stack:
        patch = next((layer / n for n in (FLAW_PATCH, CHANGE_PATCH) if (layer / n).is_file()), None)
        if patch is not None:
            apply_patch(dest, patch.read_text(encoding="utf-8"))
        else:
            shutil.copytree(layer, dest, dirs_exist_ok=True, ignore=_IGNORED)
    return dest
