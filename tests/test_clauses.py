"""Every normative sentence of every brief is a clause, every clause is proved by a check, and a
failed check's report quotes the clauses it found broken.

The clauses live beside the briefs (``exercises/<slug>/clauses.toml``, read by
:mod:`graders.clauses`); the checks declare them with ``@check(..., clauses=(...))``.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from fake_llm.profiles import LEVELS
from faultfirst.catalogue import load_catalogue, render_brief
from graders.checks.plugin import CheckSpec, check
from graders.clauses import (
    ClauseError,
    load_clauses,
    load_contracts,
    normalise,
    quote,
    read_clauses,
    render_clause,
)
from graders.harness.report.html import render_html
from graders.harness.report.records import CheckRecord
from graders.harness.report.result import GradeResult
from graders.harness.report.results import gradescope_problems, results_document
from graders.harness.report.scoring import score_records

KIT = Path(__file__).resolve().parent.parent
CHECKS_DIR = KIT / "graders" / "checks"
EXERCISES = KIT / "exercises"
# Every clause id ever published, one per line: reports quote ids, so an id is never renamed or
# removed. A new clause adds its id here.
KNOWN_IDS = Path(__file__).with_name("clause_ids.txt")

# Clauses no check proves yet, each with the reason. The fix for an entry is a check; the list
# only ever shrinks. Keep it in step with docs/writing-checks.md ("Unchecked clauses").
UNCHECKED = {
    # Promises a check could prove with the fake as it is; not written yet.
    "retries.reasks-no-budget": "needs re-asks with the retry budget drained",
    "cost.budget-or-deadline": "permits either code: there is nothing to catch",
    "fallback.no-secondary": "the harness starts every app with the secondary configured "
                             "(llm_env in graders/harness/inner/context.py); a check cannot ask "
                             "for an app without LLM_FALLBACK_BASE_URL",
}


def _checks() -> Iterator[tuple[str, CheckSpec]]:
    for path in sorted(CHECKS_DIR.glob("test_*.py")):
        module = importlib.import_module(f"graders.checks.{path.stem}")
        for name, function in inspect.getmembers(module, inspect.isfunction):
            spec = getattr(function, "__faultfirst_check__", None)
            if isinstance(spec, CheckSpec):
                yield f"{path.name}::{name}", spec


def test_every_exercise_has_clauses() -> None:
    clauses = load_clauses(EXERCISES)
    for exercise in load_catalogue(EXERCISES):
        assert any(c.exercise == exercise.slug for c in clauses.values()), (
            f"{exercise.slug} has no clauses.toml (or an empty one)")


def test_every_check_declares_a_known_clause() -> None:
    clauses = load_clauses(EXERCISES)
    found = list(_checks())
    assert found, "no checks found"
    for name, spec in found:
        assert spec.clauses, f"{name} declares no clause: which sentence of a brief does it prove?"
        unknown = [c for c in spec.clauses if c not in clauses]
        assert not unknown, f"{name} names unknown clause(s) {unknown}"
        assert len(set(spec.clauses)) == len(spec.clauses), f"{name} names a clause twice"


def test_every_clause_has_a_check_or_a_stated_reason() -> None:
    clauses = load_clauses(EXERCISES)
    proved = {clause for _, spec in _checks() for clause in spec.clauses}
    missing = sorted(set(clauses) - proved - set(UNCHECKED))
    assert not missing, f"clauses no check proves (write the check): {missing}"
    stale = sorted(set(UNCHECKED) & proved)
    assert not stale, f"UNCHECKED lists clauses a check now proves: remove {stale}"
    unknown = sorted(set(UNCHECKED) - set(clauses))
    assert not unknown, f"UNCHECKED lists clauses no brief has: {unknown}"


@pytest.mark.parametrize("level", LEVELS)
def test_each_clause_quotes_its_rendered_brief(level: str) -> None:
    clauses = load_clauses(EXERCISES)
    for exercise in load_catalogue(EXERCISES):
        brief = normalise(render_brief(exercise, level))
        contract = exercise.contract_at(level)
        for clause in (c for c in clauses.values() if c.exercise == exercise.slug):
            text = render_clause(clause.text, contract)
            assert normalise(text) in brief, (
                f"{clause.id} does not quote the {exercise.slug} brief at level {level}: {text!r}")


def test_clause_ids_are_stable() -> None:
    known = [line.strip() for line in KNOWN_IDS.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    assert len(known) == len(set(known)), "clause_ids.txt lists an id twice"
    current = set(load_clauses(EXERCISES))
    gone = sorted(set(known) - current)
    assert not gone, f"clause ids were renamed or removed (reports quote them): {gone}"
    new = sorted(current - set(known))
    assert not new, f"new clause ids: add them to {KNOWN_IDS.name}: {new}"


def test_a_clause_id_appears_once(tmp_path: Path) -> None:
    for slug in ("one", "two"):
        (tmp_path / slug).mkdir()
    (tmp_path / "one" / "clauses.toml").write_text('[[clause]]\nid = "one.a"\ntext = "A."\n')
    (tmp_path / "two" / "clauses.toml").write_text(
        '[[clause]]\nid = "two.a"\ntext = "A."\n[[clause]]\nid = "two.a"\ntext = "B."\n')
    with pytest.raises(ClauseError, match="appears twice"):
        load_clauses(tmp_path)


@pytest.mark.parametrize(("body", "problem"), [
    ('[[clause]]\nid = "other.a"\ntext = "A."\n', "must start with 'one.'"),
    ('[[clause]]\nid = "one.A b"\ntext = "A."\n', "is not"),
    ('[[clause]]\nid = "one.a"\ntext = "  "\n', "has no text"),
    ('[[clause]]\nid = "one.a"\n', "needs the keys"),
    ('[[clause]]\nid = "one.a"\ntext = "A."\nextra = 1\n', "nothing else"),
    ('[[clause]]\nid = "one.a"\ntext = "A."\ninputs = "reset"\n', "list of non-empty strings"),
    ('[[clause]]\nid = "one.a"\ntext = "A."\ninputs = ["reset", "reset"]\n', "twice"),
    ('[[clause]]\nid = "one.a"\ntext = "A."\nwires = ["openai"]\n', "no 'inputs'"),
    ('[[clause]]\nid = "one.a"\ntext = "A."\ninputs = ["reset"]\nwires = ["grpc"]\n', "'wires' must"),
    ('clause = "x"\n', "array of tables"),
    ('[[clause]\n', "not valid TOML"),
])
def test_a_malformed_clauses_file_is_refused_naming_the_problem(tmp_path: Path, body: str,
                                                               problem: str) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "clauses.toml").write_text(body)
    with pytest.raises(ClauseError, match=r"clauses\.toml") as caught:
        read_clauses(tmp_path / "one")
    assert problem in str(caught.value)


def test_a_clauses_inputs_concern_the_primary_unless_it_names_its_wires(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "clauses.toml").write_text(
        '[[clause]]\nid = "one.a"\ntext = "A."\ninputs = ["reset"]\n'
        '[[clause]]\nid = "one.b"\ntext = "B."\ninputs = ["hang"]\nwires = ["openai", "anthropic"]\n'
        '[[clause]]\nid = "one.c"\ntext = "C."\n')
    a, b, c = read_clauses(tmp_path / "one")
    assert (a.inputs, a.wires) == (("reset",), ("openai",))
    assert (b.inputs, b.wires) == (("hang",), ("openai", "anthropic"))
    assert (c.inputs, c.wires) == ((), ())


def test_check_refuses_clauses_that_are_not_ids() -> None:
    with pytest.raises(ValueError, match="clause ids"):
        check(exercise="retries", tag="retries", points=1, clauses="retries.cap")  # type: ignore[arg-type]
    declared = check(exercise="retries", tag="retries", points=1, clauses=("retries.cap",))
    spec = vars(declared(lambda: None))["__faultfirst_check__"]
    assert spec.clauses == ("retries.cap",)


def test_contracts_are_read_without_the_cli_package() -> None:
    contracts = load_contracts(EXERCISES)
    for exercise in load_catalogue(EXERCISES):
        expected = {key: list(value) if isinstance(value, tuple) else value
                    for key, value in exercise.contract.items()}
        assert contracts[exercise.slug] == expected


def test_the_graders_never_import_the_cli_package() -> None:
    """The CLI package ``faultfirst`` ties the parts together; the graders may use only the data
    locator ``faultfirst_data``."""
    cli_import = re.compile(r"^\s*(from faultfirst(\.| import)|import faultfirst\b(?!_))", re.MULTILINE)
    for path in [*CHECKS_DIR.glob("*.py"), KIT / "graders" / "clauses.py"]:
        assert not cli_import.search(path.read_text(encoding="utf-8")), path.name


def test_quote_names_unknown_ids_instead_of_failing() -> None:
    quoted = quote(["retries.cap", "retries.no-such-clause"], EXERCISES)
    assert quoted[0]["id"] == "retries.cap" and "4 attempts" in quoted[0]["text"]
    assert quoted[1] == {"id": "retries.no-such-clause", "text": "(no such clause)"}


def _result(records: list[CheckRecord], tmp_path: Path) -> GradeResult:
    return GradeResult(status="graded", message="", score=score_records(records, ["retries"], "calm"),
                       level="calm", seed=1, submission="/s", exercises=("retries",),
                       out_dir=tmp_path)


def test_a_failed_check_quotes_its_broken_clauses(tmp_path: Path) -> None:
    records = [
        CheckRecord("n::a", "a", "retries", "retries", 2.0, verdict="fail", why="too many calls",
                    clauses=("retries.cap", "retries.row-unavailable")),
        CheckRecord("n::b", "b", "retries", "retries", 1.0, verdict="pass", why="passed",
                    clauses=("retries.backoff-full-jitter",)),
    ]
    cap = load_clauses(EXERCISES)["retries.cap"].text
    document = results_document(_result(records, tmp_path))
    assert gradescope_problems(document) == []
    tests = {test["name"]: test for test in document["tests"]}
    failed, passed = tests["retries: a"], tests["retries: b"]
    assert [c["id"] for c in failed["extra_data"]["broken_clauses"]] == [
        "retries.cap", "retries.row-unavailable"]
    assert failed["extra_data"]["broken_clauses"][0]["text"] == cap
    assert f'Broken clause retries.cap: "{cap}"' in failed["output"]
    assert passed["extra_data"]["broken_clauses"] == []
    assert passed["extra_data"]["clauses"] == ["retries.backoff-full-jitter"]
    assert "Broken clause" not in passed["output"]
    assert set(failed) <= {"name", "score", "max_score", "status", "output", "tags", "visibility",
                           "extra_data"}
    html = render_html(_result(records, tmp_path))
    assert "retries.row-unavailable" in html and "backoff-full-jitter" not in html


def test_a_record_keeps_its_clauses_across_json() -> None:
    record = CheckRecord("n::a", "a", "retries", "retries", 1.0, clauses=("retries.cap",))
    data = record.to_json()
    assert data["clauses"] == ["retries.cap"]
    assert CheckRecord.from_json(data) == record
    assert CheckRecord.from_json({k: v for k, v in data.items() if k != "clauses"}).clauses == ()


def test_a_clause_renders_the_levels_numbers() -> None:
    text = "At most {{ contract.max_in_flight }} calls; two batches {{ contract.max_in_flight * 2 }}."
    assert render_clause(text, {"max_in_flight": 3}) == "At most 3 calls; two batches 6."
    with pytest.raises(ClauseError, match=r"contract\.max_in_flight, which the contract lacks"):
        render_clause(text, {})
    assert load_contracts(EXERCISES, "hurricane")["batch"]["max_in_flight"] == 3
    assert load_contracts(EXERCISES)["batch"]["max_in_flight"] == 4
    [calm] = quote(["batch.in-flight-cap"], EXERCISES, "calm")
    [hurricane] = quote(["batch.in-flight-cap"], EXERCISES, "hurricane")
    assert calm["text"].startswith("At most 4 LLM") and hurricane["text"].startswith("At most 3 LLM")
