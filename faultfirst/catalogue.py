"""The exercise catalogue: every ``exercises/<slug>/``, validated once at load.

An exercise is a folder named after its slug, holding three files:

- ``exercise.toml``: the facts about the exercise (see :class:`Exercise`) and a ``[contract]``
  table holding every number its brief states (deadlines, caps, HTTP statuses), so that a number
  lives in exactly one place; ``[contract.levels.<level>]`` tables change some of those numbers at
  a level (a tighter deadline, a lower cap at ``hurricane``);
- ``brief.md``: the candidate's ticket, a jinja2 template rendered by :func:`render_brief` with
  ``contract`` (the ``[contract]`` table at the level) and ``level`` (the chaos profile the
  session runs at);
- ``notes.md``: the interviewer's notes, with a rubric table (see :func:`parse_rubric`).

A file that breaks a rule is refused with a :class:`CatalogueError` naming the file, the key and
the allowed values. Nothing is half-loaded: :func:`load_catalogue` either returns every exercise
or raises.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jinja2

from fake_llm.faults import fault_kinds
from fake_llm.profiles import LEVELS
from faultfirst_data import exercises_dir
from graders.clauses import (  # TAGS: the rubric tags, one definition
    LEVELS_KEY,
    TAGS,
    ClauseError,
    contract_levels,
)

EXERCISES_DIR = exercises_dir()

KINDS = ("bug", "feature")
DIFFICULTIES = (1, 2, 3)
MINUTES_MIN, MINUTES_MAX = 30, 60  # so that any two or three exercises fill a two-hour session
# The levels and fault kinds are the fake LLM's own: an exercise may only name what it can do.
FAULT_KINDS = tuple(fault_kinds())
# The candidate app's endpoints (docs/exercises.md, the candidate README's API section).
ENDPOINTS = (
    "GET /health", "GET /papers/{paper_id}", "POST /summaries", "POST /extractions",
    "POST /answers", "POST /summaries/batch", "POST /summaries/stream", "POST /reviews",
)
KEYS = ("slug", "title", "kind", "difficulty", "minutes", "points", "tags", "faults", "endpoints",
        "contract")

_SLUG = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
_CONTRACT_KEY = re.compile(r"^[a-z][a-z0-9_]*$")  # usable as ``contract.<key>`` in jinja2
_RUBRIC_HEADING = "## Rubric"

ContractScalar = int | float | str
ContractValue = ContractScalar | tuple[ContractScalar, ...]


class CatalogueError(ValueError):
    """An exercise folder breaks a rule; the message names the file, the key and what is allowed.

    Attributes: ``path`` (the offending file), ``key`` (the offending key, or None when the
    whole file is at fault), ``allowed`` (the allowed values, when there is a fixed set).
    """

    def __init__(self, path: Path, key: str | None, problem: str,
                 allowed: Iterable[object] | None = None) -> None:
        self.path = path
        self.key = key
        self.allowed = tuple(allowed) if allowed is not None else None
        where = f"{path}: key {key!r}" if key is not None else str(path)
        message = f"{where}: {problem}"
        if self.allowed is not None:
            message += "; allowed: " + ", ".join(repr(value) for value in self.allowed)
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Exercise:
    """One exercise of the catalogue, as validated from its ``exercise.toml``.

    ``contract`` maps each key of the ``[contract]`` table to a number, a string, or a tuple of
    them; it is read-only. ``level_changes`` holds, per level, the keys whose value differs there
    (``[contract.levels.<level>]``); :meth:`contract_at` applies them. ``path`` is the exercise's
    folder.
    """

    slug: str
    title: str
    kind: str
    difficulty: int
    minutes: int
    points: int
    tags: tuple[str, ...]
    faults: tuple[str, ...]
    endpoints: tuple[str, ...]
    contract: Mapping[str, ContractValue] = field(hash=False)
    path: Path
    level_changes: Mapping[str, Mapping[str, ContractValue]] = field(
        default_factory=lambda: MappingProxyType({}), hash=False)

    def contract_at(self, level: str) -> dict[str, ContractValue]:
        """The contract at ``level``: the base numbers with that level's changes applied."""
        if level not in LEVELS:
            raise CatalogueError(self.path / "exercise.toml", "level", f"unknown level {level!r}",
                                 LEVELS)
        return {**self.contract, **self.level_changes.get(level, {})}

    @property
    def brief_path(self) -> Path:
        """The candidate-facing brief template."""
        return self.path / "brief.md"

    @property
    def notes_path(self) -> Path:
        """The interviewer-facing notes."""
        return self.path / "notes.md"


def load_catalogue(root: Path = EXERCISES_DIR) -> tuple[Exercise, ...]:
    """Every exercise under ``root``, ordered by difficulty, then slug.

    Folders whose name starts with ``.`` or ``_`` are skipped; any other folder must be an
    exercise.
    """
    folders = [p for p in sorted(root.iterdir()) if p.is_dir() and p.name[0] not in "._"]
    exercises = [load_exercise(folder) for folder in folders]
    return tuple(sorted(exercises, key=lambda e: (e.difficulty, e.slug)))


def get_exercise(slug: str, root: Path = EXERCISES_DIR) -> Exercise:
    """The exercise with this slug; CatalogueError naming the known slugs if there is none."""
    exercises = load_catalogue(root)
    for exercise in exercises:
        if exercise.slug == slug:
            return exercise
    raise CatalogueError(root, "slug", f"no exercise {slug!r}", [e.slug for e in exercises])


def load_exercise(folder: Path) -> Exercise:
    """The exercise in ``folder``, validated; CatalogueError on the first rule it breaks."""
    path = folder / "exercise.toml"
    if not path.is_file():
        raise CatalogueError(path, None, "missing: every exercise folder needs an exercise.toml")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(path, None, f"not valid TOML: {exc}") from None
    for key in data:
        if key not in KEYS:
            raise CatalogueError(path, key, "unknown key", KEYS)
    for key in KEYS:
        if key not in data:
            raise CatalogueError(path, key, "missing; required keys: " + ", ".join(KEYS))
    slug = _string(path, "slug", data["slug"])
    if not _SLUG.match(slug):
        raise CatalogueError(path, "slug", f"{slug!r} is not lowercase words joined by hyphens")
    if slug != folder.name:
        raise CatalogueError(path, "slug", f"{slug!r} differs from its folder's name",
                             [folder.name])
    exercise = Exercise(
        slug=slug,
        title=_string(path, "title", data["title"]),
        kind=_choice(path, "kind", data["kind"], KINDS),
        difficulty=_int_between(path, "difficulty", data["difficulty"], min(DIFFICULTIES),
                                max(DIFFICULTIES)),
        minutes=_int_between(path, "minutes", data["minutes"], MINUTES_MIN, MINUTES_MAX),
        points=_int_between(path, "points", data["points"], 1, None),
        tags=_subset(path, "tags", data["tags"], TAGS),
        faults=_subset(path, "faults", data["faults"], FAULT_KINDS),
        endpoints=_subset(path, "endpoints", data["endpoints"], ENDPOINTS),
        contract=_contract(path, data["contract"]),
        path=folder,
        level_changes=_level_changes(path, data["contract"]),
    )
    for required in (exercise.brief_path, exercise.notes_path):
        if not required.is_file():
            raise CatalogueError(required, None, "missing: every exercise needs brief.md and notes.md")
    return exercise


def render_brief(exercise: Exercise, level: str) -> str:
    """The candidate's brief, rendered with ``contract`` and ``level``.

    Any variable the template uses and the contract does not define is an error
    (jinja2 ``StrictUndefined``), reported as a CatalogueError naming the brief.
    """
    if level not in LEVELS:
        raise CatalogueError(exercise.brief_path, "level", f"unknown level {level!r}", LEVELS)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(exercise.path),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # the output is Markdown, not HTML
    )
    try:
        template = env.get_template(exercise.brief_path.name)
        return template.render(contract=exercise.contract_at(level), level=level)
    except jinja2.TemplateSyntaxError as exc:
        raise CatalogueError(exercise.brief_path, None,
                             f"template syntax error on line {exc.lineno}: {exc.message}") from None
    except jinja2.UndefinedError as exc:
        raise CatalogueError(exercise.brief_path, None,
                             f"template uses an undefined variable: {exc.message}") from None


def parse_rubric(text: str, path: Path) -> dict[str, int]:
    """Points per rubric tag, read from the notes' rubric table.

    The format: a line that is exactly ``## Rubric``, then (after optional prose) a Markdown
    table whose first column is a tag from :data:`TAGS` (backticks allowed) and whose second
    column is a whole number of points; further columns are free text. The table ends at the
    first line that does not start with ``|``. Example::

        ## Rubric

        | tag | points | what earns them |
        | --- | ---: | --- |
        | `timeouts` | 7 | every call is bounded by the deadline |
    """
    lines = text.splitlines()
    if _RUBRIC_HEADING not in lines:
        raise CatalogueError(path, "Rubric", f"no {_RUBRIC_HEADING!r} heading")
    rest = lines[lines.index(_RUBRIC_HEADING) + 1:]
    start = next((i for i, line in enumerate(rest) if line.startswith("|")), None)
    if start is None or any(line.startswith("#") for line in rest[:start]):
        raise CatalogueError(path, "Rubric", "no table under the rubric heading")
    table = []
    for line in rest[start:]:
        if not line.startswith("|"):
            break
        table.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    points: dict[str, int] = {}
    for cells in table[2:]:  # skip the header and the |---| row
        tag = cells[0].strip("`")
        if tag not in TAGS:
            raise CatalogueError(path, "Rubric", f"unknown tag {tag!r}", TAGS)
        if tag in points:
            raise CatalogueError(path, "Rubric", f"tag {tag!r} appears twice")
        if len(cells) < 2 or not cells[1].isdigit():
            raise CatalogueError(path, "Rubric", f"points of {tag!r} must be a whole number")
        points[tag] = int(cells[1])
    if not points:
        raise CatalogueError(path, "Rubric", "the rubric table has no rows")
    return points


def rubric(exercise: Exercise) -> dict[str, int]:
    """Points per rubric tag from the exercise's notes (see :func:`parse_rubric`)."""
    return parse_rubric(exercise.notes_path.read_text(encoding="utf-8"), exercise.notes_path)


def catalogue_markdown(exercises: Sequence[Exercise] | None = None) -> str:
    """The catalogue as a Markdown table, one row per exercise, as in ``docs/exercises.md``."""
    rows = [
        "| slug | title | kind | difficulty | minutes | points | tags |",
        "| --- | --- | --- | ---: | ---: | ---: | --- |",
    ]
    for e in load_catalogue() if exercises is None else exercises:
        rows.append(f"| `{e.slug}` | {e.title} | {e.kind} | {e.difficulty} "
                    f"| {e.minutes} | {e.points} | {', '.join(e.tags)} |")
    return "\n".join(rows) + "\n"


# -- validation of single values -------------------------------------------------------------

def _string(path: Path, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CatalogueError(path, key, f"must be a non-empty string, got {value!r}")
    return value


def _choice(path: Path, key: str, value: Any, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise CatalogueError(path, key, f"got {value!r}", allowed)
    return str(value)


def _int_between(path: Path, key: str, value: Any, low: int, high: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise CatalogueError(path, key, f"must be a whole number, got {value!r}")
    if value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise CatalogueError(path, key, f"must be {bounds}, got {value}")
    return value


def _subset(path: Path, key: str, value: Any, allowed: Sequence[str]) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise CatalogueError(path, key, f"must be a non-empty list, got {value!r}", allowed)
    for item in value:
        if item not in allowed:
            raise CatalogueError(path, key, f"unknown value {item!r}", allowed)
    if len(set(value)) != len(value):
        raise CatalogueError(path, key, "lists a value twice")
    return tuple(value)


def _contract(path: Path, table: Any) -> Mapping[str, ContractValue]:
    if not isinstance(table, dict) or not table:
        raise CatalogueError(path, "contract", "must be a non-empty table of numbers and strings")
    contract: dict[str, ContractValue] = {}
    for key, value in table.items():
        if key == LEVELS_KEY:
            continue
        dotted = f"contract.{key}"
        if not _CONTRACT_KEY.match(key):
            raise CatalogueError(path, dotted, "keys are lowercase_with_underscores")
        if isinstance(value, list):
            if not value or not all(_is_scalar(item) for item in value):
                raise CatalogueError(path, dotted, "a list must hold numbers or strings",
                                     ["int", "float", "str"])
            contract[key] = tuple(value)
        elif _is_scalar(value):
            contract[key] = value
        else:
            raise CatalogueError(path, dotted, f"unsupported value {value!r}",
                                 ["int", "float", "str", "list of those"])
    return MappingProxyType(contract)


def _level_changes(path: Path, table: Any) -> Mapping[str, Mapping[str, ContractValue]]:
    try:
        _, changes = contract_levels(path, table)
    except ClauseError as exc:
        raise CatalogueError(path, f"contract.{LEVELS_KEY}", str(exc).removeprefix(f"{path}: ")) from None
    return MappingProxyType({level: MappingProxyType(
        {key: tuple(value) if isinstance(value, list) else value for key, value in values.items()})
        for level, values in changes.items()})


def _is_scalar(value: Any) -> bool:
    return isinstance(value, int | float | str) and not isinstance(value, bool)
