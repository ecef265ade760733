"""Grading on Gradescope: the autograder bundle, and what runs inside it for each submission.

:func:`build_bundle` writes the zip a hiring team uploads as a Gradescope "programming assignment"
autograder: ``setup.sh`` (run once when Gradescope builds the image: bubblewrap for the sandbox, a
Python >= 3.11 virtualenv, the kit from the wheel in the zip), ``run_autograder`` (run per
submission), ``faultfirst-gradescope.toml`` (the exercises, level and seed chosen) and the wheel.

:func:`run_autograder` is what ``run_autograder`` calls: it finds the candidate's repo in
``<root>/submission`` (uploaded as a zip or from GitHub; the manifest ``faultfirst.toml`` may sit
one folder down), grades it and writes ``<root>/results/results.json``. ``<root>`` is
``/autograder`` on Gradescope, ``$AUTOGRADER_ROOT`` elsewhere (the kit's tests). A submission made
for other exercises, or with no repo at all, still gets a well-formed result worth 0 of the
chosen exercises' points.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fake_llm.profiles import LEVELS
from faultfirst.export import ExportError, choose_exercises
from faultfirst.wheel import pack_wheel

CONFIG = "faultfirst-gradescope.toml"
MANIFEST = "faultfirst.toml"
_IGNORED_FOLDERS = {"__MACOSX"}

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu).
set -euo pipefail
cd "$(dirname "$0")"
export DEBIAN_FRONTEND=noninteractive
apt-get update
# bubblewrap: the sandbox the candidate's app runs in; git: the candidate repo is a git repo.
apt-get install -y bubblewrap git
if python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    apt-get install -y python3-venv
    python=python3
else  # Ubuntu 22.04 ships Python 3.10; the kit needs 3.11
    apt-get install -y python3.11 python3.11-venv
    python=python3.11
fi
"$python" -m venv venv
venv/bin/python -m pip install --upgrade pip
venv/bin/python -m pip install ./faultfirst-*.whl
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission: grade $AUTOGRADER_ROOT/submission (default
# /autograder/submission) and write $AUTOGRADER_ROOT/results/results.json.
set -uo pipefail
root="${AUTOGRADER_ROOT:-/autograder}"
python="${FAULTFIRST_PYTHON:-$root/source/venv/bin/python}"
"$python" -m faultfirst.gradescope --root "$root"
status=$?
if [ ! -s "$root/results/results.json" ]; then  # the kit itself failed: still a result, never a blank
    mkdir -p "$root/results"
    printf '{"score": 0, "output": "The autograder failed (exit status %s): see its stdout.", %s}\\n' \\
        "$status" '"output_format": "text", "visibility": "after_published"' >"$root/results/results.json"
fi
exit "$status"
"""


@dataclass(frozen=True, slots=True)
class BundleConfig:
    """What a bundle grades: the exercises (in order), the level and the seed."""

    exercises: tuple[str, ...]
    level: str
    seed: int

    def to_toml(self) -> str:
        slugs = ", ".join(f'"{slug}"' for slug in self.exercises)
        return (f"# what this Gradescope bundle grades\nexercises = [{slugs}]\n"
                f"level = \"{self.level}\"\nseed = {self.seed}\n")

    @classmethod
    def load(cls, path: Path) -> BundleConfig:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return cls(tuple(data["exercises"]), str(data["level"]), int(data["seed"]))


def check_config(exercises: Sequence[str], level: str, seed: int) -> BundleConfig:
    """The bundle's config; raises ExportError naming an unknown exercise or level."""
    if level not in LEVELS:
        raise ExportError(f"unknown level {level!r}; valid: {', '.join(LEVELS)}")
    return BundleConfig(tuple(e.slug for e in choose_exercises(exercises)), level, seed)


def build_bundle(config: BundleConfig, out: Path) -> Path:
    """Write the autograder zip to ``out`` (a file; its folder is made) and return its path."""
    if out.is_dir():
        raise ExportError(f"{out} is a folder; give the path of the zip to write")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="faultfirst-bundle-") as work:
        wheel = pack_wheel(Path(work))
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
            for name, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER)):
                info = zipfile.ZipInfo(name)
                info.external_attr = 0o100755 << 16  # executable once Gradescope unpacks it
                info.compress_type = zipfile.ZIP_DEFLATED
                bundle.writestr(info, text)
            bundle.writestr(CONFIG, config.to_toml())
            bundle.write(wheel, wheel.name)
    return out


class SubmissionError(ValueError):
    """No candidate repo in the submission; the message says what was found instead."""


def _safe_extract(archive: Path, dest: Path) -> None:
    with zipfile.ZipFile(archive) as zipped:
        for member in zipped.namelist():
            target = (dest / member).resolve()
            if not target.is_relative_to(dest.resolve()):
                raise SubmissionError(f"{archive.name} holds a path outside itself: {member}")
        zipped.extractall(dest)


def find_repo(submission: Path, scratch: Path) -> Path:
    """The folder holding ``faultfirst.toml``: the submission itself or one folder down; a lone
    ``.zip`` in the submission is unpacked into ``scratch`` first."""
    if not submission.is_dir():
        raise SubmissionError(f"no submission folder at {submission}")
    archives = [p for p in submission.iterdir() if p.suffix == ".zip" and p.is_file()]
    roots = [submission]
    if not (submission / MANIFEST).is_file() and len(archives) == 1:
        _safe_extract(archives[0], scratch)
        roots = [scratch]
    for root in roots:
        if (root / MANIFEST).is_file():
            return root
        found = sorted(child for child in root.iterdir() if child.is_dir()
                       and child.name not in _IGNORED_FOLDERS and (child / MANIFEST).is_file())
        if len(found) == 1:
            return found[0]
        if found:
            names = ", ".join(folder.name for folder in found)
            raise SubmissionError(f"the submission holds {len(found)} repos ({names}); submit one")
    seen = sorted(p.name for p in submission.iterdir())[:10]
    raise SubmissionError(f"no {MANIFEST} in the submission or one folder down (it holds: "
                          f"{', '.join(seen) or 'nothing'}); submit the whole repo you were given")


def _manifest_exercises(repo: Path) -> tuple[str, ...] | None:
    try:
        data = tomllib.loads((repo / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None  # grading reports the broken manifest itself
    exercises = data.get("exercises")
    return tuple(exercises) if isinstance(exercises, list) else None


def run_autograder(root: Path) -> int:
    """Grade ``root/submission`` with the bundle's config; write ``root/results/results.json``."""
    from graders.harness import grade, summary
    from graders.harness.outer.run import DEFAULT_LEVEL, grader_hash, kit_version
    from graders.harness.report.result import GradeResult
    from graders.harness.report.results import results_document
    from graders.harness.report.scoring import score_records

    config = BundleConfig.load(root / "source" / CONFIG)
    results = root / "results"
    results.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="faultfirst-autograder-") as work:
        result: GradeResult | None = None
        try:
            repo = find_repo(root / "submission", Path(work) / "unzipped")
            made_for = _manifest_exercises(repo)
            if made_for is not None and set(made_for) != set(config.exercises):
                raise SubmissionError(f"this repo was made for exercises {', '.join(made_for)}; this "
                                      f"assignment grades {', '.join(config.exercises)}")
            result = grade(repo, level=config.level, seed=config.seed, out_dir=Path(work) / "report")
        except SubmissionError as error:
            result = GradeResult(status="invalid-submission", message=str(error),
                                 score=score_records([], config.exercises, config.level),
                                 level=config.level or DEFAULT_LEVEL, seed=config.seed,
                                 submission=str(root / "submission"), grader_hash=grader_hash(),
                                 kit_version=kit_version())
        if not result.score.counted:
            result = dataclasses.replace(result, exercises=config.exercises)
        print(summary(result), flush=True)
        document = results_document(result)
    (results / "results.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m faultfirst.gradescope",
                                     description="Grade a Gradescope submission (run_autograder calls this).")
    parser.add_argument("--root", type=Path, default=Path(os.environ.get("AUTOGRADER_ROOT", "/autograder")))
    return run_autograder(parser.parse_args(argv).root)


if __name__ == "__main__":
    sys.exit(main())
