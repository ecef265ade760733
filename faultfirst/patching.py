"""Applying a unified diff to a folder, strictly: every context line must match where it says.

Flawed solutions are stored as patches against the reference, so the reference stays the one
source of their code and each flaw reads as the few lines it changes. A patch that no longer
applies (the reference moved under it) is an error naming the file and the hunk, never a fuzzy
guess.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from pathlib import Path

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class PatchError(ValueError):
    """The patch does not apply; the message names the file and the hunk."""


def make_patch(root: Path, changed: dict[str, str]) -> str:
    """A unified diff turning the files under ``root`` into ``changed`` (relative path -> text)."""
    parts: list[str] = []
    for name in sorted(changed):
        before = (root / name).read_text(encoding="utf-8").splitlines(keepends=True)
        after = changed[name].splitlines(keepends=True)
        if not all(text.endswith("\n") for text in (before[-1:] + after[-1:])):
            raise PatchError(f"{name}: patches are made of files that end with a newline")
        parts.extend(difflib.unified_diff(before, after, f"a/{name}", f"b/{name}", n=3))
    return "".join(parts)


def _files(lines: list[str]) -> Iterable[tuple[str, list[str]]]:
    """(path, hunk lines) for each file of a patch."""
    index = 0
    while index < len(lines):
        if lines[index].startswith("--- ") and index + 1 < len(lines) \
                and lines[index + 1].startswith("+++ "):
            path = lines[index + 1][4:].strip().split("\t")[0].removeprefix("b/")
            index += 2
            body = []
            while index < len(lines) and not lines[index].startswith("--- "):
                body.append(lines[index])
                index += 1
            yield path, body
        else:
            index += 1


def _apply_hunks(path: str, original: list[str], body: list[str]) -> list[str]:
    result: list[str] = []
    cursor = 0
    index = 0
    while index < len(body):
        match = _HUNK.match(body[index])
        if not match:
            raise PatchError(f"{path}: expected a hunk header, got {body[index]!r}")
        start = int(match.group(1)) - (0 if match.group(2) == "0" else 1)
        header = body[index].strip()
        index += 1
        if start < cursor:
            raise PatchError(f"{path}: hunk {header} overlaps the one before")
        result.extend(original[cursor:start])
        cursor = start
        while index < len(body) and not body[index].startswith("@@"):
            line = body[index]
            index += 1
            if line.startswith("\\"):  # "\ No newline at end of file"
                continue
            tag, text = line[:1], line[1:]
            if tag in (" ", "-"):
                if cursor >= len(original) or original[cursor].rstrip("\n") != text.rstrip("\n"):
                    raise PatchError(f"{path}: hunk {header} does not match line {cursor + 1}")
                if tag == " ":
                    result.append(original[cursor])
                cursor += 1
            elif tag == "+":
                result.append(text)
            else:
                raise PatchError(f"{path}: unexpected line in hunk {header}: {line!r}")
    result.extend(original[cursor:])
    return result


def apply_patch(root: Path, patch: str) -> list[str]:
    """Apply ``patch`` to the files under ``root`` in place; returns the paths it changed."""
    changed = []
    for path, body in _files(patch.splitlines(keepends=True)):
        target = root / path
        if not target.is_file():
            raise PatchError(f"{path}: the patch changes a file that does not exist")
        original = target.read_text(encoding="utf-8").splitlines(keepends=True)
        target.write_text("".join(_apply_hunks(path, original, body)), encoding="utf-8")
        changed.append(path)
    if not changed:
        raise PatchError("the patch changes no file")
    return changed


def hunk_spans(patch: str) -> dict[str, list[tuple[int, int]]]:
    """The lines of the original each file's hunks cover, context included: ``{path: [(first,
    last)]}`` (1-based, inclusive), for telling whether two patches touch the same lines."""
    spans: dict[str, list[tuple[int, int]]] = {}
    for path, body in _files(patch.splitlines(keepends=True)):
        for line in body:
            match = _HUNK.match(line)
            if match:
                start, length = int(match.group(1)), int(match.group(2) or "1")
                spans.setdefault(path, []).append((start, start + max(length, 1) - 1))
    return spans


def overlap(first: str, second: str) -> str | None:
    """Where two patches of the same original touch the same lines (``"path"``), or None when
    they can be applied together (:func:`combine_patches`)."""
    a, b = hunk_spans(first), hunk_spans(second)
    for path in sorted(a.keys() & b.keys()):
        if any(x0 <= y1 + 1 and y0 <= x1 + 1 for x0, x1 in a[path] for y0, y1 in b[path]):
            return path
    return None


def combine_patches(patches: Iterable[str]) -> str:
    """One patch doing what ``patches`` (each against the same original) do together.

    The hunks of a file are merged in the original's line order; hunks of two patches that touch
    the same or adjacent lines raise :class:`PatchError` naming the file, never a guess at how
    the two changes would mix.
    """
    chosen = list(patches)
    for i, first in enumerate(chosen):
        for second in chosen[i + 1:]:
            clash = overlap(first, second)
            if clash is not None:
                raise PatchError(f"{clash}: two of the patches change the same lines")
    by_file: dict[str, list[tuple[int, list[str]]]] = {}
    for patch in chosen:
        for path, body in _files(patch.splitlines(keepends=True)):
            hunk: list[str] = []
            for line in body:
                if _HUNK.match(line) and hunk:
                    by_file.setdefault(path, []).append((_start(hunk[0]), hunk))
                    hunk = []
                hunk.append(line)
            if hunk:
                by_file.setdefault(path, []).append((_start(hunk[0]), hunk))
    parts = []
    for path in sorted(by_file):
        parts += [f"--- a/{path}\n", f"+++ b/{path}\n"]
        for _, hunk in sorted(by_file[path], key=lambda item: item[0]):
            parts += hunk
    if not parts:
        raise PatchError("the patches change no file")
    return "".join(parts)


def _start(header: str) -> int:
    match = _HUNK.match(header)
    if not match:
        raise PatchError(f"expected a hunk header, got {header!r}")
    return int(match.group(1))
