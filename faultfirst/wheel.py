"""The running kit packed as a wheel, for bundles that install it elsewhere (Gradescope).

An installed kit has no source tree to build from, so the wheel is packed from what this process
imports: the packages ``fake_llm``, ``faultfirst``, ``graders`` and ``faultfirst_data`` with the
kit's data (found by :mod:`faultfirst_data`, so a checkout and an installation give the same
wheel), plus the metadata pip needs (``METADATA``, ``WHEEL``, ``entry_points.txt``, ``RECORD``).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import tomllib
import zipfile
from pathlib import Path

from faultfirst import __version__
from faultfirst_data import DATA_FOLDERS, kit_data, package_folder

PACKAGES = ("fake_llm", "faultfirst", "graders", "faultfirst_data")
_SKIPPED = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis"}
_SUMMARY = ("An interview kit for hiring AI engineers: a flaky fake LLM, a starter app, exercises "
            "and fair graders.")


def _tree(root: Path, prefix: str) -> dict[str, Path]:
    return {f"{prefix}/{path.relative_to(root).as_posix()}": path for path in sorted(root.rglob("*"))
            if path.is_file() and path.suffix != ".pyc" and not _SKIPPED.intersection(path.parts)}


def wheel_files() -> dict[str, Path]:
    """Every file the wheel carries, by its name inside the wheel."""
    files: dict[str, Path] = {}
    for package in PACKAGES:
        files |= _tree(package_folder(package), package)
    for folder in DATA_FOLDERS:
        files |= _tree(kit_data(folder), f"faultfirst_data/{folder}")
    return files


def requirements() -> list[str]:
    """The kit's run-time requirements: the installed metadata's, else the checkout's pyproject."""
    try:
        listed = importlib.metadata.requires("faultfirst") or []
        return [req for req in listed if "extra ==" not in req]
    except importlib.metadata.PackageNotFoundError:
        pyproject = package_folder("faultfirst").parent / "pyproject.toml"
        return list(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"])


def _metadata() -> dict[str, bytes]:
    info = f"faultfirst-{__version__}.dist-info"
    lines = ["Metadata-Version: 2.1", "Name: faultfirst", f"Version: {__version__}",
             f"Summary: {_SUMMARY}", "Requires-Python: >=3.11",
             *(f"Requires-Dist: {req}" for req in requirements())]
    return {
        f"{info}/METADATA": ("\n".join(lines) + "\n").encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: faultfirst\nRoot-Is-Purelib: true\n"
                         b"Tag: py3-none-any\n",
        f"{info}/entry_points.txt": b"[console_scripts]\nfaultfirst = faultfirst.cli:main\n",
    }


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def pack_wheel(dest_dir: Path) -> Path:
    """Write ``faultfirst-<version>-py3-none-any.whl`` into ``dest_dir`` and return its path."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    path = dest_dir / f"faultfirst-{__version__}-py3-none-any.whl"
    contents = {name: source.read_bytes() for name, source in wheel_files().items()} | _metadata()
    record_name = f"faultfirst-{__version__}.dist-info/RECORD"
    record = [_record_line(name, data) for name, data in contents.items()] + [f"{record_name},,"]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, data in contents.items():
            wheel.writestr(name, data)
        wheel.writestr(record_name, "\n".join(record) + "\n")
    return path
