"""What a change to the reference can affect (faultfirst.impact): the comparison of two app
folders, and whether a start of the app that ran some lines meets the change."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from faultfirst.impact import Change, change_between, changed_bodies

BEFORE = '''\
"""A module."""

import re
from json import dumps, loads

LIMIT = 4
_PATTERN = re.compile(r"\\d+")


def first(text):
    """The first number."""
    match = _PATTERN.search(text)
    return int(match.group()) if match else None


def capped(n):
    return min(n, LIMIT)


class Box:
    size: int = 2

    def grow(self, by=1):
        self.size += by
        return dumps({"size": self.size})

    def shrink(self):
        def half(x):
            return x // 2
        self.size = half(self.size)
'''


def changed(**replacements: str) -> str:
    text = BEFORE
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(textwrap.dedent(text))
    return folder


def line_of(text: str, snippet: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if snippet in line)


def test_docstrings_and_comments_change_nothing():
    after = BEFORE.replace('"""The first number."""', '"""The first number, or None."""  # !')
    assert changed_bodies(BEFORE, after) == ()


def test_a_changed_body_is_known_by_the_lines_it_spans():
    after = BEFORE.replace("return min(n, LIMIT)", "return max(n, LIMIT)")
    line = line_of(BEFORE, "return min(n, LIMIT)")
    assert changed_bodies(BEFORE, after) == ((line, line),)


def test_a_nested_function_is_a_body_of_its_own():
    after = BEFORE.replace("return x // 2", "return x // 3")
    line = line_of(BEFORE, "return x // 2")
    assert changed_bodies(BEFORE, after) == ((line, line),)


def test_code_run_on_import_is_not_a_body():
    assert changed_bodies(BEFORE, BEFORE.replace("LIMIT = 4", "LIMIT = 5")) is None
    assert changed_bodies(BEFORE, BEFORE.replace("size: int = 2", "size: int = 3")) is None
    assert changed_bodies(BEFORE, BEFORE.replace("by=1", "by=2")) is None


@pytest.fixture
def folders(tmp_path):
    reference = write(tmp_path / "ref", {"app/core.py": BEFORE, "app/use.py": '''\
        from app.core import LIMIT, capped

        def allowed(n):
            return n <= LIMIT

        def clamp(n):
            return capped(n)
        ''', "app/data.txt": "a\n"})
    return reference, tmp_path


def variant(folders, name: str, files: dict[str, str]) -> Path:
    import shutil

    reference, tmp_path = folders
    target = tmp_path / name
    shutil.copytree(reference, target)
    return write(target, files)


def test_a_changed_constant_reaches_the_bodies_that_use_it_in_any_file(folders):
    reference, _ = folders
    change = change_between(reference, variant(folders, "v", {"app/core.py": changed(
        **{"LIMIT = 4": "LIMIT = 5"})}))
    assert change.everywhere is None
    use = (reference / "app/use.py").read_text()
    assert set(change.bodies) == {"app/core.py", "app/use.py"}
    allowed = line_of(use, "return n <= LIMIT")
    assert (allowed, allowed) in change.bodies["app/use.py"]
    assert change.met_by({"app/use.py": [allowed]})
    assert not change.met_by({"app/use.py": [line_of(use, "return capped(n)")]})


def test_a_removed_import_nothing_uses_changes_nothing(folders):
    reference, _ = folders
    after = changed(**{"from json import dumps, loads": "from json import dumps"})
    assert change_between(reference, variant(folders, "v", {"app/core.py": after})).empty


def test_a_value_used_on_import_changes_everything(folders):
    reference, _ = folders
    after = changed(**{'_PATTERN = re.compile(r"\\d+")': '_PATTERN = re.compile(r"\\d")'})
    after += "\nDOUBLE = _PATTERN.pattern * 2\n"
    change = change_between(reference, variant(folders, "v", {"app/core.py": after}))
    assert change.everywhere is not None and change.met_by({})


def test_an_import_time_statement_or_another_file_changes_everything(folders):
    reference, _ = folders
    assert change_between(reference, variant(folders, "a", {"app/core.py": BEFORE + "print(1)\n"})
                          ).everywhere
    assert "not Python" in change_between(reference, variant(folders, "b", {"app/data.txt": "b\n"})
                                          ).everywhere
    assert "only in one" in change_between(reference, variant(folders, "c", {"app/new.py": "x = 1\n"})
                                           ).everywhere


def test_a_start_with_unknown_lines_meets_any_change_and_an_empty_change_meets_nothing():
    change = Change(None, {"app/core.py": ((10, 12),)})
    assert change.met_by(None)
    assert not change.met_by({"app/core.py": [9, 13], "app/other.py": [11]})
    assert change.met_by({"app/core.py": [12]})
    assert not Change().met_by(None)


def test_files_of_one_size_and_time_are_still_compared_byte_by_byte(folders):
    import os

    reference, _ = folders
    after = BEFORE.replace("return min(n, LIMIT)", "return max(n, LIMIT)")  # same length
    other = variant(folders, "v", {"app/core.py": after})
    stat = (reference / "app/core.py").stat()
    os.utime(other / "app/core.py", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert not change_between(reference, other).empty


def test_an_unreadable_reference_file_leaves_the_users_of_a_changed_name_unknown(folders):
    reference, _ = folders
    other = variant(folders, "v", {"app/core.py": changed(**{"LIMIT = 4": "LIMIT = 5"})})
    (reference / "app/broken.py").write_text("def (:\n")
    (other / "app/broken.py").write_text("def (:\n")
    assert "cannot be read" in change_between(reference, other).everywhere
