"""The exercise catalogue loads and validates, its briefs render from one set of numbers, and the
docs stay in sync with it."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType

import pytest

from fake_llm.fate import build_rule
from faultfirst.catalogue import (
    LEVELS,
    TAGS,
    CatalogueError,
    Exercise,
    catalogue_markdown,
    get_exercise,
    load_catalogue,
    load_exercise,
    parse_rubric,
    render_brief,
    rubric,
)

REPO = Path(__file__).resolve().parent.parent
SLUGS = ("agent", "batch", "citations", "cost", "deadlines", "fallback", "retries", "streaming",
         "structured-output")
FORBIDDEN_IN_BRIEFS = ("grader", "solutions/")


@pytest.fixture(scope="module")
def exercises() -> dict[str, Exercise]:
    return {exercise.slug: exercise for exercise in load_catalogue()}


def _leaves(value: object) -> Iterator[int | float | str]:
    if isinstance(value, tuple):
        yield from value
    else:
        yield value  # type: ignore[misc]


def _appears(value: int | float | str, text: str) -> bool:
    """Whether ``value`` appears in ``text`` as a whole token (4 is not found inside 4.0 or 404)."""
    return re.search(rf"(?<![\w.]){re.escape(str(value))}(?![\w]|\.\d)", text) is not None


# -- the real catalogue ----------------------------------------------------------------------

def test_all_nine_exercises_load(exercises: dict[str, Exercise]) -> None:
    assert sorted(exercises) == list(SLUGS)


def test_catalogue_is_ordered_by_difficulty_then_slug() -> None:
    keys = [(e.difficulty, e.slug) for e in load_catalogue()]
    assert keys == sorted(keys)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("slug", SLUGS)
def test_every_brief_renders_at_every_level(slug: str, level: str,
                                            exercises: dict[str, Exercise]) -> None:
    exercise = exercises[slug]
    text = render_brief(exercise, level)
    assert text.splitlines()[0] == f"# {exercise.title}"
    assert f"python -m fake_llm serve --profile {level}" in text
    assert "localhost:8900/_chaos/script" in text
    assert "{{" not in text and "{%" not in text


@pytest.mark.parametrize("slug", SLUGS)
def test_every_contract_value_appears_in_the_rendered_brief(
        slug: str, exercises: dict[str, Exercise]) -> None:
    exercise = exercises[slug]
    text = render_brief(exercise, "realistic")
    for key, value in exercise.contract.items():
        for leaf in _leaves(value):
            assert _appears(leaf, text), f"{slug}: contract.{key} = {leaf!r} not in its brief"


@pytest.mark.parametrize("slug", SLUGS)
def test_every_contract_value_is_rendered_from_the_contract(
        slug: str, exercises: dict[str, Exercise]) -> None:
    """Changing a number in exercise.toml changes the brief: no number is typed into it by hand."""
    exercise = exercises[slug]
    for index, (key, value) in enumerate(exercise.contract.items()):
        sentinels = [_sentinel(leaf, index * 10 + offset)
                     for offset, leaf in enumerate(_leaves(value))]
        changed = dict(exercise.contract)
        changed[key] = tuple(sentinels) if isinstance(value, tuple) else sentinels[0]
        text = render_brief(dataclasses.replace(exercise, contract=MappingProxyType(changed)),
                            "realistic")
        for sentinel in sentinels:
            assert _appears(sentinel, text), f"{slug}: contract.{key} is not rendered from it"


@pytest.mark.parametrize("slug", SLUGS)
def test_no_duration_is_typed_into_a_brief_by_hand(slug: str,
                                                   exercises: dict[str, Exercise]) -> None:
    """Durations are the numbers most likely to drift; each must come from the contract."""
    template = exercises[slug].brief_path.read_text(encoding="utf-8")
    literal_text = re.sub(r"\{\{.*?\}\}", "", template, flags=re.DOTALL)
    # "4.0 s", "4 seconds", "100 ms", "1.5s", "100ms"; not "a wall of 429s".
    typed = re.findall(r"(?<![\w.])(?:\d+(?:\.\d+)?\s(?:s|ms|seconds?|milliseconds?)|\d+\.\d+s|\d+ms)\b",
                       literal_text)
    assert typed == [], f"{slug}: durations typed by hand: {typed}"


def _sentinel(like: int | float | str, n: int) -> int | float | str:
    if isinstance(like, str):
        return f"SENTINEL{n}"
    if isinstance(like, float):
        return 987000.25 + n
    return 987000 + n


@pytest.mark.parametrize("level", LEVELS)
def test_a_contract_key_shared_by_several_exercises_has_one_value(
        exercises: dict[str, Exercise], level: str) -> None:
    """At every level: an app reads one value per key from its contract.toml."""
    seen: dict[str, tuple[str, object]] = {}
    for exercise in exercises.values():
        for key, value in exercise.contract_at(level).items():
            first = seen.setdefault(key, (exercise.slug, value))
            assert first[1] == value, (f"contract.{key} at {level}: {first[0]} says {first[1]!r}, "
                                       f"{exercise.slug} says {value!r}")


def test_the_harder_levels_demand_more() -> None:
    """Some numbers change with the level: tighter stream limits and a lower batch cap at
    hurricane, rendered into the brief the candidate gets at that level."""
    streaming = load_exercise(REPO / "exercises" / "streaming")
    first_event_s = {level: streaming.contract_at(level)["first_event_s"] for level in LEVELS}
    assert first_event_s["hurricane"] < first_event_s["calm"]
    assert streaming.contract_at("stormy") == dict(streaming.contract)
    batch = load_exercise(REPO / "exercises" / "batch")
    assert "At most 3 LLM calls in flight" in render_brief(batch, "hurricane")
    assert "At most 4 LLM calls in flight" in render_brief(batch, "calm")


@pytest.mark.parametrize("slug", SLUGS)
def test_briefs_never_mention_assessment_internals(slug: str,
                                                   exercises: dict[str, Exercise]) -> None:
    exercise = exercises[slug]
    texts = [exercise.brief_path.read_text(encoding="utf-8")]
    texts += [render_brief(exercise, level) for level in LEVELS]
    for text in texts:
        for word in FORBIDDEN_IN_BRIEFS:
            assert word not in text.lower(), f"{slug}: brief mentions {word!r}"


@pytest.mark.parametrize("slug", SLUGS)
def test_rubric_points_sum_to_the_exercise_points(slug: str,
                                                  exercises: dict[str, Exercise]) -> None:
    exercise = exercises[slug]
    points = rubric(exercise)
    assert set(points) == set(exercise.tags)
    assert sum(points.values()) == exercise.points


@pytest.mark.parametrize("slug", SLUGS)
def test_every_scripted_fault_in_a_brief_is_accepted_by_the_fake_server(
        slug: str, exercises: dict[str, Exercise]) -> None:
    """A candidate can paste every curl rule and every inline fault object as written."""
    text = render_brief(exercises[slug], "calm")
    posted = re.findall(r"_chaos/script \\\n\s+-d '(.+?)'\n", text)
    inline = re.findall(r"`(\{\"kind\": [^`]+\})`", text)
    assert posted, f"{slug}: no scripted rule to reproduce with"
    for body in posted:
        for rule in json.loads(body)["rules"]:
            build_rule(rule)
    for fault in inline:
        build_rule({"fault": json.loads(fault)})


def test_docs_hold_the_catalogue_table_verbatim(exercises: dict[str, Exercise]) -> None:
    doc = (REPO / "docs" / "exercises.md").read_text(encoding="utf-8")
    assert catalogue_markdown() in doc
    for slug, exercise in exercises.items():
        assert f"### `{slug}`: {exercise.title}" in doc


def test_catalogue_markdown_has_one_row_per_exercise() -> None:
    rows = catalogue_markdown().splitlines()
    assert rows[0] == "| slug | title | kind | difficulty | minutes | points | tags |"
    assert [row.split("|")[1].strip(" `") for row in rows[2:]] == [
        e.slug for e in load_catalogue()]


def test_get_exercise_names_the_known_slugs_when_it_finds_none() -> None:
    assert get_exercise("retries").slug == "retries"
    with pytest.raises(CatalogueError) as caught:
        get_exercise("retry")
    assert "'retries'" in str(caught.value)


# -- validation, on exercise folders made in tmp_path -----------------------------------------

VALID = {
    "slug": '"demo"',
    "title": '"A demo ticket"',
    "kind": '"bug"',
    "difficulty": "1",
    "minutes": "30",
    "points": "10",
    "tags": '["timeouts", "correctness"]',
    "faults": '["hang"]',
    "endpoints": '["POST /summaries"]',
}
VALID_CONTRACT = "deadline_s = 4.0\nstatuses = [504, 503]\n"
VALID_NOTES = """# Demo

## Rubric

Points per tag:

| tag | points | what earns them |
| --- | ---: | --- |
| `timeouts` | 7 | a deadline |
| correctness | 3 | a typed error |

## After
"""


def _make(tmp_path: Path, fields: dict[str, str | None] | None = None, *,
          contract: str = VALID_CONTRACT,
          brief: str = "# A demo ticket\n{{ contract.deadline_s }} s at {{ level }}\n") -> Path:
    """``tmp_path/demo`` with VALID fields, overridden by ``fields`` (None drops a key)."""
    merged = {**VALID, **(fields or {})}
    lines = [f"{key} = {value}" for key, value in merged.items() if value is not None]
    path = tmp_path / "demo"
    path.mkdir()
    (path / "exercise.toml").write_text("\n".join(lines) + f"\n\n[contract]\n{contract}")
    (path / "brief.md").write_text(brief)
    (path / "notes.md").write_text(VALID_NOTES)
    return path


def test_a_valid_folder_loads_into_a_frozen_exercise(tmp_path: Path) -> None:
    exercise = load_exercise(_make(tmp_path))
    assert exercise.slug == "demo" and exercise.kind == "bug" and exercise.difficulty == 1
    assert exercise.tags == ("timeouts", "correctness")
    assert exercise.contract == {"deadline_s": 4.0, "statuses": (504, 503)}
    assert exercise.path == tmp_path / "demo"
    assert render_brief(exercise, "stormy") == "# A demo ticket\n4.0 s at stormy\n"
    assert rubric(exercise) == {"timeouts": 7, "correctness": 3}
    with pytest.raises(dataclasses.FrozenInstanceError):
        exercise.points = 99  # type: ignore[misc]
    with pytest.raises(TypeError):
        exercise.contract["deadline_s"] = 1.0  # type: ignore[index]


@pytest.mark.parametrize(("fields", "contract", "key", "allowed"), [
    ({"kind": None}, VALID_CONTRACT, "kind", None),
    ({"kind": '"chore"'}, VALID_CONTRACT, "kind", ["'bug'", "'feature'"]),
    ({"slug": '"other"'}, VALID_CONTRACT, "slug", ["'demo'"]),
    ({"slug": '"Demo_1"'}, VALID_CONTRACT, "slug", None),
    ({"difficulty": "4"}, VALID_CONTRACT, "difficulty", ["1 to 3"]),
    ({"minutes": "90"}, VALID_CONTRACT, "minutes", ["30 to 60"]),
    ({"points": "0"}, VALID_CONTRACT, "points", None),
    ({"tags": '["speed"]'}, VALID_CONTRACT, "tags", ["'timeouts'", "'cost'"]),
    ({"tags": "[]"}, VALID_CONTRACT, "tags", None),
    ({"faults": '["gremlins"]'}, VALID_CONTRACT, "faults", ["'hang'", "'bad_citation'"]),
    ({"endpoints": '["POST /essays"]'}, VALID_CONTRACT, "endpoints", ["'POST /answers'"]),
    ({"graders": '["x"]'}, VALID_CONTRACT, "graders", ["'contract'"]),
    ({}, "deadline = true\n", "contract.deadline", ["'int'"]),
    ({}, "[contract.nested]\nx = 1\n", "contract.nested", ["'int'"]),
    ({}, "Deadline = 4.0\n", "contract.Deadline", None),
])
def test_a_bad_field_is_refused_naming_file_key_and_allowed_values(
        tmp_path: Path, fields: dict[str, str | None], contract: str, key: str,
        allowed: list[str] | None) -> None:
    folder = _make(tmp_path, fields, contract=contract)
    with pytest.raises(CatalogueError) as caught:
        load_exercise(folder)
    message = str(caught.value)
    assert str(folder / "exercise.toml") in message
    assert f"key {key!r}" in message and caught.value.key == key
    for value in allowed or []:
        assert value in message


def test_a_level_may_change_contract_numbers(tmp_path: Path) -> None:
    contract = VALID_CONTRACT + "[contract.levels.hurricane]\ndeadline_s = 2.5\n"
    exercise = load_exercise(_make(tmp_path, contract=contract))
    assert exercise.contract == {"deadline_s": 4.0, "statuses": (504, 503)}
    assert exercise.contract_at("hurricane") == {"deadline_s": 2.5, "statuses": (504, 503)}
    assert exercise.contract_at("calm") == dict(exercise.contract)
    assert render_brief(exercise, "hurricane") == "# A demo ticket\n2.5 s at hurricane\n"
    assert render_brief(exercise, "stormy") == "# A demo ticket\n4.0 s at stormy\n"


@pytest.mark.parametrize(("levels", "problem"), [
    ("[contract.levels.breezy]\ndeadline_s = 1.0\n", "unknown level"),
    ("[contract.levels.hurricane]\ntimeout_s = 1.0\n", "'timeout_s' is not a key of the base"),
    ("[contract.levels.hurricane]\ndeadline_s = \"soon\"\n", "not of the kind"),
    ("[contract.levels.hurricane]\n", "non-empty table"),
])
def test_a_bad_level_change_is_refused_naming_it(tmp_path: Path, levels: str, problem: str) -> None:
    folder = _make(tmp_path, contract=VALID_CONTRACT + levels)
    with pytest.raises(CatalogueError, match=problem) as caught:
        load_exercise(folder)
    assert caught.value.key == "contract.levels" and str(folder / "exercise.toml") in str(caught.value)


def test_a_missing_contract_table_is_refused(tmp_path: Path) -> None:
    folder = _make(tmp_path)
    toml = folder / "exercise.toml"
    toml.write_text(toml.read_text().split("[contract]")[0])
    with pytest.raises(CatalogueError, match=r"key 'contract': missing") as caught:
        load_exercise(folder)
    assert str(toml) in str(caught.value)


def test_bad_toml_is_refused_naming_the_file(tmp_path: Path) -> None:
    folder = _make(tmp_path)
    (folder / "exercise.toml").write_text('slug = "demo"\ntitle = \n')
    with pytest.raises(CatalogueError, match="not valid TOML") as caught:
        load_exercise(folder)
    assert caught.value.path == folder / "exercise.toml"
    assert str(folder / "exercise.toml") in str(caught.value)


@pytest.mark.parametrize("missing", ["exercise.toml", "brief.md", "notes.md"])
def test_a_folder_missing_a_file_is_refused_naming_it(tmp_path: Path, missing: str) -> None:
    folder = _make(tmp_path)
    (folder / missing).unlink()
    with pytest.raises(CatalogueError, match="missing") as caught:
        load_catalogue(tmp_path)
    assert str(folder / missing) in str(caught.value)


def test_load_catalogue_skips_hidden_and_underscore_folders(tmp_path: Path) -> None:
    _make(tmp_path)
    (tmp_path / "_drafts").mkdir()
    (tmp_path / ".cache").mkdir()
    assert [e.slug for e in load_catalogue(tmp_path)] == ["demo"]


def test_a_brief_using_an_undefined_variable_is_an_error(tmp_path: Path) -> None:
    exercise = load_exercise(_make(tmp_path, brief="{{ contract.deadline_ms }}\n"))
    with pytest.raises(CatalogueError, match="deadline_ms") as caught:
        render_brief(exercise, "calm")
    assert caught.value.path == exercise.brief_path


def test_a_brief_with_a_syntax_error_is_an_error(tmp_path: Path) -> None:
    exercise = load_exercise(_make(tmp_path, brief="{% if level %}\n"))
    with pytest.raises(CatalogueError, match="syntax error on line") as caught:
        render_brief(exercise, "calm")
    assert caught.value.path == exercise.brief_path


def test_an_unknown_level_is_refused_naming_the_levels(tmp_path: Path) -> None:
    exercise = load_exercise(_make(tmp_path))
    with pytest.raises(CatalogueError, match="'hurricane'") as caught:
        render_brief(exercise, "typhoon")
    assert caught.value.key == "level"


# -- the rubric table format -----------------------------------------------------------------

@pytest.mark.parametrize(("notes", "problem"), [
    ("# Notes\n\n| tag | points |\n| --- | --- |\n| `cost` | 3 |\n", "no '## Rubric' heading"),
    ("## Rubric\n\nprose only\n\n## Next\n| tag | points |\n", "no table"),
    ("## Rubric\n\n| tag | points |\n| --- | --- |\n", "no rows"),
    ("## Rubric\n\n| tag | points |\n| --- | --- |\n| `speed` | 3 |\n", "unknown tag 'speed'"),
    ("## Rubric\n\n| tag | points |\n| --- | --- |\n| `cost` | three |\n", "whole number"),
    ("## Rubric\n\n| tag | points |\n| --- | --- |\n| `cost` | 1 |\n| cost | 2 |\n", "twice"),
])
def test_a_malformed_rubric_is_refused_naming_the_notes(notes: str, problem: str) -> None:
    path = Path("exercises/demo/notes.md")
    with pytest.raises(CatalogueError, match=re.escape(problem)) as caught:
        parse_rubric(notes, path)
    assert caught.value.path == path and caught.value.key == "Rubric"


def test_the_rubric_table_ends_at_the_first_line_that_is_not_a_row() -> None:
    notes = ("## Rubric\n\n| tag | points | why |\n| --- | ---: | --- |\n| `cost` | 4 | x |\n"
             "\n| `parsing` | 9 |\n")
    assert parse_rubric(notes, Path("notes.md")) == {"cost": 4}


def test_every_rubric_tag_is_a_known_tag(exercises: dict[str, Exercise]) -> None:
    for exercise in exercises.values():
        assert set(rubric(exercise)) <= set(TAGS)
