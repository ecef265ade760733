"""Where the kit's data is: the one place that locates it, in a checkout and when installed.

The kit reads three folders at run time: ``exercises/`` (the catalogue), ``candidate_template/``
(the starter every candidate repo is made from) and ``solutions/`` (the reference and the flawed
ones). In a checkout they sit at the repository root, where people edit them; the wheel carries
them as ``faultfirst_data/exercises`` and so on (``pyproject.toml`` maps the root folders into this
package, so nothing moves in the checkout). :func:`kit_data` answers the same question in both
layouts, and when the kit is imported from a zip it extracts the folder once per process, since
the export, the catalogue and the graders walk real folders.

This module imports nothing of the kit, so the graders (which must not import the ``faultfirst``
CLI package) and the sandbox can use it.
"""

from __future__ import annotations

import atexit
import importlib.metadata
import importlib.resources
import importlib.util
import shutil
import tempfile
from functools import cache
from importlib.resources.abc import Traversable
from pathlib import Path

EXERCISES = "exercises"
SOLUTIONS = "solutions"
TEMPLATE = "candidate_template"
DATA_FOLDERS = (EXERCISES, SOLUTIONS, TEMPLATE)
_CHECKOUT_ROOT = Path(__file__).resolve().parent.parent  # the repository, when run from a checkout


class KitDataMissing(FileNotFoundError):
    """A folder the kit needs is in neither layout: the installation is broken."""


def _real_folder(resource: Traversable) -> Path:
    """``resource`` as a folder on disk: itself when it is one, else a copy extracted (from a zip)."""
    if isinstance(resource, Path):
        return resource
    target = Path(tempfile.mkdtemp(prefix="faultfirst-data-"))
    atexit.register(shutil.rmtree, target, True)
    _extract(resource, target)
    return target


def _extract(resource: Traversable, target: Path) -> None:
    for child in resource.iterdir():
        if child.is_dir():
            (target / child.name).mkdir()
            _extract(child, target / child.name)
        else:
            (target / child.name).write_bytes(child.read_bytes())


@cache
def kit_data(name: str) -> Path:
    """The folder of kit data ``name`` (one of :data:`DATA_FOLDERS`) on disk.

    Installed, it is ``faultfirst_data/<name>`` inside the distribution; in a checkout, the root
    folder of that name. Raises :class:`KitDataMissing` when it is in neither place.
    """
    if name not in DATA_FOLDERS:
        raise ValueError(f"unknown kit data {name!r}; known: {', '.join(DATA_FOLDERS)}")
    packaged = importlib.resources.files(__name__) / name
    if packaged.is_dir():
        return _real_folder(packaged)
    checkout = _CHECKOUT_ROOT / name
    if checkout.is_dir():
        return checkout
    raise KitDataMissing(f"the kit's {name}/ folder is missing: looked in {packaged} and {checkout}; "
                         "reinstall faultfirst")


@cache
def package_folder(package: str) -> Path:
    """The folder of an importable package of the kit (``graders``, ``fake_llm``) on disk."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise KitDataMissing(f"the kit's package {package!r} is not importable")
    return _real_folder(importlib.resources.files(package))


def exercises_dir() -> Path:
    return kit_data(EXERCISES)


def solutions_dir() -> Path:
    return kit_data(SOLUTIONS)


def template_dir() -> Path:
    return kit_data(TEMPLATE)


def kit_private_paths() -> list[Path]:
    """Every folder on disk the candidate's app must not see: the graders' code, the CLI, the
    solutions and the exercises (their interviewer notes), wherever this installation keeps them,
    an installed kit's own files (its ``*.dist-info`` included), and from a checkout its ``.git``,
    ``.plan``, docs, tests and benchmarks. Only paths that exist."""
    folders = [package_folder("graders"), solutions_dir(), exercises_dir()]
    if importlib.util.find_spec("faultfirst") is not None:
        folders.append(package_folder("faultfirst"))
    if exercises_dir().parent == _CHECKOUT_ROOT:
        folders += [_CHECKOUT_ROOT / name for name in (".git", ".plan", "docs", "tests", "bench",
                                                       "CHANGELOG.md")]
    else:  # installed: everything the wheel put in site-packages, its *.dist-info included
        folders += _installed_top_folders("faultfirst")
    resolved = (folder.resolve() for folder in folders if folder.exists())
    return list(dict.fromkeys(resolved))


def _installed_top_folders(name: str) -> list[Path]:
    """The top-level folders an installed distribution put in site-packages (none from a checkout)."""
    try:
        dist = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return []
    tops = {file.parts[0] for file in dist.files or ()}
    return [Path(str(dist.locate_file(top))) for top in sorted(tops)
            if top not in ("..", "bin") and not top.endswith((".py", ".pth"))]
