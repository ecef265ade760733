"""The briefs' clauses and contracts, read for the graders without the CLI package.

Every normative sentence of a brief (a number, a "never", an "at most", a row of an error table)
is a **clause**: a stable id and the sentence as the candidate reads it (rendered for the level),
kept beside the brief in ``exercises/<slug>/clauses.toml``::

    [[clause]]
    id = "retries.cap"
    text = "At most 4 attempts per provider per user request."

A clause that names an input the fake LLM must be able to produce (a status, a header, a stream
ending, a disguise of JSON) lists it in ``inputs``, from a small vocabulary (``http_error:503``,
``http_error:429+retry-after``, ``stream:stop-without-done``, ``schema_drift:string-number``, ...),
and in ``wires`` the wire formats it concerns (default: ``["openai"]``, the primary's; both when
the brief covers the secondary too). ``tests/test_input_coverage.py`` owns the vocabulary and
proves the fake produces each input on each wire.

An id is ``<slug>.<name>`` (lowercase words joined by hyphens); ids never change once a report
has quoted them. A number the contract may set per level is written as the brief writes it,
``{{ contract.deadline_s }}``, and :func:`render_clause` fills it in for the level. A check
declares the clauses it proves (``@check(..., clauses=(...))``); a failed check's report quotes
them, so the interviewer reads which promise of the brief was broken.

This module reads TOML only (``tomllib``): the graders run in a sandbox that never imports the
``faultfirst`` CLI package. A malformed file raises :class:`ClauseError` naming the file and the
problem.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from fake_llm.profiles import LEVELS  # the fake LLM's levels, calmest first: one definition
from faultfirst_data import exercises_dir

EXERCISES_DIR = exercises_dir()  # the checkout's exercises/, or the installed kit's copy
# The rubric tags: an exercise's rubric (exercise.toml, notes.md) and a check's points count under
# these. The one definition: the catalogue (faultfirst.catalogue) and the records import it.
TAGS = ("timeouts", "retries", "parsing", "fallback", "concurrency", "streaming", "cost",
        "correctness")
CLAUSES_FILE = "clauses.toml"
LEVELS_KEY = "levels"  # [contract.levels.<level>]: the numbers that differ at that level
_PLACEHOLDER = re.compile(r"\{\{\s*contract\.([a-z][a-z0-9_]*)(?:\s*\*\s*(\d+))?\s*\}\}")
_ID = re.compile(r"^(?P<slug>[a-z][a-z0-9]*(?:-[a-z0-9]+)*)\.[a-z0-9]+(?:-[a-z0-9]+)*$")


class ClauseError(ValueError):
    """A clauses.toml (or an exercise.toml's contract) that cannot be read; says which and why."""


WIRES = ("openai", "anthropic")  # the wire formats a clause's inputs may concern
_KEYS = {"id", "text", "inputs", "wires"}


@dataclass(frozen=True, slots=True)
class Clause:
    """One normative sentence of a brief: ``id`` (``<slug>.<name>``), ``exercise``, ``text``; the
    ``inputs`` it names that the fake LLM must produce, on the ``wires`` it concerns."""

    id: str
    exercise: str
    text: str
    inputs: tuple[str, ...] = ()
    wires: tuple[str, ...] = ()


def normalise(text: str) -> str:
    """``text`` as a reader sees it: Markdown bold marks dropped, whitespace runs made one space."""
    return " ".join(text.replace("**", "").split())


def _folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir()
                  if p.is_dir() and not p.name.startswith((".", "_")))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ClauseError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ClauseError(f"{path}: cannot be read: {exc}") from None


def read_clauses(folder: Path) -> tuple[Clause, ...]:
    """The clauses of the exercise in ``folder`` (none if it has no clauses.toml), validated."""
    path = folder / CLAUSES_FILE
    if not path.is_file():
        return ()
    data = _read_toml(path)
    unknown = set(data) - {"clause"}
    if unknown:
        raise ClauseError(f"{path}: unknown key(s) {sorted(unknown)}; only [[clause]] tables")
    entries = data.get("clause", [])
    if not isinstance(entries, list):
        raise ClauseError(f"{path}: 'clause' must be an array of tables ([[clause]])")
    clauses = []
    for index, entry in enumerate(entries):
        where = f"{path}: clause #{index + 1}"
        if not isinstance(entry, dict) or not {"id", "text"} <= set(entry) <= _KEYS:
            raise ClauseError(f"{where}: needs the keys 'id' and 'text' (and may have 'inputs' "
                              "and 'wires'), nothing else")
        clause_id, text = entry["id"], entry["text"]
        if not isinstance(clause_id, str) or not (match := _ID.match(clause_id)):
            raise ClauseError(f"{where}: id {clause_id!r} is not '<slug>.<words-joined-by-hyphens>'")
        if match["slug"] != folder.name:
            raise ClauseError(f"{where}: id {clause_id!r} must start with '{folder.name}.'")
        if not isinstance(text, str) or not text.strip():
            raise ClauseError(f"{where}: {clause_id} has no text")
        inputs = _names(entry, "inputs", f"{where}: {clause_id}")
        wires = _names(entry, "wires", f"{where}: {clause_id}")
        if "wires" in entry and not inputs:
            raise ClauseError(f"{where}: {clause_id} has 'wires' but no 'inputs' for them to concern")
        if not set(wires) <= set(WIRES) or ("wires" in entry and not wires):
            raise ClauseError(f"{where}: {clause_id}: 'wires' must name some of {list(WIRES)}, "
                              f"not {list(wires)}")
        clauses.append(Clause(clause_id, folder.name, " ".join(text.split()), inputs,
                              (wires or WIRES[:1]) if inputs else ()))
    return tuple(clauses)


def _names(entry: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    """``entry[key]``, a list of distinct non-empty strings (empty when absent)."""
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ClauseError(f"{where}: '{key}' must be a list of non-empty strings, not {value!r}")
    if len(set(value)) != len(value):
        raise ClauseError(f"{where}: '{key}' names an entry twice: {value}")
    return tuple(value)


@cache
def _load(root: Path) -> Mapping[str, Clause]:
    found: dict[str, Clause] = {}
    for folder in _folders(root):
        for clause in read_clauses(folder):
            if clause.id in found:
                raise ClauseError(f"{folder / CLAUSES_FILE}: clause id {clause.id!r} appears twice")
            found[clause.id] = clause
    return found


def load_clauses(root: Path = EXERCISES_DIR) -> Mapping[str, Clause]:
    """Every exercise's clauses by id (read once per root); ClauseError on a malformed file."""
    return _load(root.resolve())


def render_clause(text: str, contract: Mapping[str, Any]) -> str:
    """``text`` with each ``{{ contract.<key> }}`` (or ``{{ contract.<key> * <n> }}``) replaced by
    the contract's value, as jinja2 renders it in the brief; ClauseError for a key the contract
    lacks."""
    def value(match: re.Match[str]) -> str:
        key, times = match.group(1), match.group(2)
        if key not in contract:
            raise ClauseError(f"clause text uses contract.{key}, which the contract lacks")
        return str(contract[key] * int(times) if times else contract[key])

    return _PLACEHOLDER.sub(value, text)


def quote(ids: Iterable[str], root: Path = EXERCISES_DIR, level: str | None = None) -> list[dict[str, str]]:
    """``[{"id", "text"}]`` for ``ids``, in order, the text rendered for ``level`` (default: the
    contract's base numbers); an id no brief defines is quoted as unknown (a report must never
    fail over a stale id)."""
    try:
        clauses = load_clauses(root)
        contracts = load_contracts(root, level)
        return [{"id": clause_id, "text": render_clause(clauses[clause_id].text,
                                                        contracts.get(clauses[clause_id].exercise, {}))
                 if clause_id in clauses else "(no such clause)"} for clause_id in ids]
    except ClauseError as exc:
        return [{"id": clause_id, "text": f"(clauses unreadable: {exc})"} for clause_id in ids]


def contract_levels(path: Path, table: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(the base contract, the overrides by level) of one ``[contract]`` table.

    ``[contract.levels.<level>]`` may only name a known level, and only keys of the base contract
    with a value of the same kind (a number for a number, a list for a list); ClauseError naming
    ``path`` otherwise."""
    base = {key: value for key, value in table.items() if key != LEVELS_KEY}
    levels = table.get(LEVELS_KEY, {})
    if not isinstance(levels, dict):
        raise ClauseError(f"{path}: contract.{LEVELS_KEY} must be a table of levels ({', '.join(LEVELS)})")
    overrides: dict[str, dict[str, Any]] = {}
    for level, changes in levels.items():
        where = f"{path}: contract.{LEVELS_KEY}.{level}"
        if level not in LEVELS:
            raise ClauseError(f"{where}: unknown level; allowed: {', '.join(LEVELS)}")
        if not isinstance(changes, dict) or not changes:
            raise ClauseError(f"{where}: must be a non-empty table of contract keys")
        for key, value in changes.items():
            if key not in base:
                raise ClauseError(f"{where}: {key!r} is not a key of the base [contract]")
            if _kind(value) != _kind(base[key]):
                raise ClauseError(f"{where}: {key} = {value!r} is not of the kind of the base value "
                                  f"{base[key]!r}")
        overrides[level] = dict(changes)
    return base, overrides


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def load_contracts(root: Path = EXERCISES_DIR, level: str | None = None) -> dict[str, dict[str, Any]]:
    """Every exercise's ``[contract]`` table by slug, as plain data (lists stay lists), with the
    ``[contract.levels.<level>]`` overrides of ``level`` applied (none when ``level`` is None)."""
    if level is not None and level not in LEVELS:
        raise ClauseError(f"unknown level {level!r}; allowed: {', '.join(LEVELS)}")
    contracts: dict[str, dict[str, Any]] = {}
    for folder in _folders(root):
        path = folder / "exercise.toml"
        if not path.is_file():
            continue
        table = _read_toml(path).get("contract")
        if not isinstance(table, dict):
            raise ClauseError(f"{path}: no [contract] table")
        base, overrides = contract_levels(path, table)
        contracts[folder.name] = {**base, **(overrides.get(level, {}) if level else {})}
    return contracts
