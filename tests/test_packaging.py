"""The kit's data is found in a checkout, in an installation and in a zip, and the wheels carry it."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import tomllib
import zipfile
from pathlib import Path

import pytest

import faultfirst_data
from faultfirst import __version__
from faultfirst.wheel import pack_wheel, wheel_files
from faultfirst_data import DATA_FOLDERS, kit_data, kit_private_paths, package_folder

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def test_every_code_package_is_in_the_wheel_list() -> None:
    on_disk = {init.parent.relative_to(REPO).as_posix().replace("/", ".")
               for top in ("fake_llm", "faultfirst", "graders", "faultfirst_data")
               for init in (REPO / top).rglob("__init__.py")}
    assert on_disk <= set(PYPROJECT["tool"]["setuptools"]["packages"])


def test_each_data_folder_is_mapped_into_faultfirst_data() -> None:
    mapping = PYPROJECT["tool"]["setuptools"]["package-dir"]
    assert {f"faultfirst_data.{name}": name for name in DATA_FOLDERS} == mapping
    for name in DATA_FOLDERS:
        assert PYPROJECT["tool"]["setuptools"]["package-data"][f"faultfirst_data.{name}"] == ["**/*"]


def test_the_version_has_one_value() -> None:
    assert PYPROJECT["project"]["version"] == __version__


def test_in_a_checkout_the_data_is_the_root_folders() -> None:
    assert [kit_data(name) for name in DATA_FOLDERS] == [REPO / name for name in DATA_FOLDERS]
    with pytest.raises(ValueError, match="unknown kit data 'graders'"):
        kit_data("graders")


def test_private_paths_cover_graders_solutions_and_exercise_notes() -> None:
    private = kit_private_paths()
    assert {REPO / "graders", REPO / "solutions", REPO / "exercises"} <= set(private)
    assert REPO / "candidate_template" not in private
    assert all(path.exists() for path in private)


def test_data_inside_a_zip_is_extracted_to_a_real_folder(tmp_path: Path) -> None:
    archive = tmp_path / "kit.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("faultfirst_data/exercises/retries/exercise.toml", "points = 20\n")
        zipped.writestr("faultfirst_data/exercises/retries/brief.md", "# brief\n")
    folder = faultfirst_data._real_folder(zipfile.Path(archive, "faultfirst_data/exercises/"))
    assert folder.is_dir() and (folder / "retries" / "exercise.toml").read_text() == "points = 20\n"
    assert sorted(p.name for p in (folder / "retries").iterdir()) == ["brief.md", "exercise.toml"]


def test_the_packed_wheel_carries_the_data_the_templates_and_a_true_record(tmp_path: Path) -> None:
    wheel = pack_wheel(tmp_path)
    assert wheel.name == f"faultfirst-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zipped:
        names = set(zipped.namelist())
        info = f"faultfirst-{__version__}.dist-info"
        record = zipped.read(f"{info}/RECORD").decode().splitlines()
        for line in record:
            name, digest, size = line.rsplit(",", 2)
            if name.endswith("RECORD"):
                continue
            data = zipped.read(name)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert (digest, int(size)) == (f"sha256={expected}", len(data)), name
        metadata = zipped.read(f"{info}/METADATA").decode()
    for path in ("exercises/retries/notes.md", "solutions/flawed/no-jitter/flaw.patch",
                 "candidate_template/README.md.j2", "candidate_template/litreview/app.py"):
        assert f"faultfirst_data/{path}" in names
    assert {"graders/checks/pytest.ini", "graders/harness/report/templates/report.html.j2",
            "faultfirst/cli.py", "fake_llm/profiles/calm.toml", f"{info}/entry_points.txt"} <= names
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)
    assert "Requires-Dist: fastapi>=0.110" in metadata and "Requires-Dist: ruff" not in metadata
    assert len(record) == len(names)


def test_wheel_files_include_every_tracked_data_file() -> None:
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(["git", "ls-files", *DATA_FOLDERS], cwd=REPO, capture_output=True,
                             text=True, check=True).stdout.split()
    assert len(tracked) > 100
    assert {f"faultfirst_data/{name}" for name in tracked} <= set(wheel_files())


def test_package_folder_refuses_what_is_not_a_package() -> None:
    with pytest.raises(faultfirst_data.KitDataMissing, match="no_such_package"):
        package_folder("no_such_package")
