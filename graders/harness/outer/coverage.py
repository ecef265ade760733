"""The lines each start of the app ran, when a grading asks for them (``grade(coverage=True)``).

Calibration grades the kit's own reference this way (:mod:`faultfirst.impact`): a flawed
solution is the reference with a patch, and a check whose app never ran a changed line of the
reference cannot give the flawed solution another verdict. The inner session starts the app as
``python -m coverage run`` (:func:`graders.harness.inner.app_process.covered_argv`), each start
writing its own data file in the submission copy; this module writes the settings before the
grading and reads the data files after it.
"""

from __future__ import annotations

from pathlib import Path

from graders.harness.inner.app_process import COVERAGE_FOLDER, COVERAGE_RC, COVERAGE_START


def prepare_coverage(submission: Path) -> None:
    """The coverage settings in the submission copy: measure the app's own files, and save on
    SIGTERM (the harness stops the app with it)."""
    folder = submission / COVERAGE_FOLDER
    folder.mkdir()
    (folder / COVERAGE_RC).write_text("[run]\nsource = .\nsigterm = true\n", encoding="utf-8")


def read_coverage(submission: Path, inside: str) -> dict[int, dict[str, tuple[int, ...]]]:
    """``{start: {path relative to the submission: lines ran}}`` for every start that saved its
    data; ``inside`` is where the app saw the submission. A start missing here saved nothing
    (it was killed): whoever reads the map must treat it as having run every line."""
    from coverage import CoverageData
    from coverage.exceptions import CoverageException

    found: dict[int, dict[str, tuple[int, ...]]] = {}
    prefix = inside.rstrip("/") + "/"
    folder = submission / COVERAGE_FOLDER
    if folder.is_symlink() or not folder.is_dir():
        return found
    for path in sorted(folder.glob(f"{COVERAGE_START}*")):
        number = path.name.removeprefix(COVERAGE_START)
        # The app wrote this folder: only its own plain files are read, and one that is not
        # coverage data leaves that start unknown (it then meets every change).
        if not number.isdigit() or path.is_symlink() or not path.is_file():
            continue
        try:
            data = CoverageData(basename=str(path))
            data.read()
            found[int(number)] = {
                name.removeprefix(prefix): tuple(sorted(data.lines(name) or ()))
                for name in data.measured_files() if name.startswith(prefix)}
        except (CoverageException, OSError, ValueError):
            continue
    return found
