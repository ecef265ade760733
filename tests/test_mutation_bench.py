"""The mutation benchmark's data and report (bench/mutation): no grading runs here."""

from __future__ import annotations

import ast
import textwrap
from types import SimpleNamespace
from typing import Any

import pytest

from bench.mutation.report import TRIAGE_PATH, VERDICTS, TriageError, load_triage, parse_triage, render, tally
from bench.mutation.run import compile_problem, outcome_of
from bench.mutation.targets import (
    EXERCISE_MAP,
    REFERENCE_DIR,
    Mutant,
    annotation_spans,
    enumerate_mutants,
    exercises_for,
    in_annotation,
    operator_family,
    sample,
    scope_of,
)
from graders.harness.inner.context import known_exercises


def _definitions(tree: ast.Module) -> set[str]:
    """Every dotted definition name of a module (functions, classes, fields, constants)."""
    names: set[str] = set()

    def walk(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(prefix + node.name)
                walk(node.body, prefix + node.name + ".")
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.add(prefix + node.target.id)
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 \
                    and isinstance(node.targets[0], ast.Name):
                names.add(prefix + node.targets[0].id)

    walk(tree.body, "")
    return names


def test_the_map_names_existing_files_scopes_and_known_exercises():
    known = set(known_exercises())
    for file, scopes in EXERCISE_MAP.items():
        path = REFERENCE_DIR / file
        assert path.is_file(), f"{file} is not a file of the reference"
        defined = _definitions(ast.parse(path.read_text(encoding="utf-8")))
        for scope, exercises in scopes.items():
            assert scope == "" or scope in defined, f"{file}: no definition {scope!r}"
            assert exercises, f"{file}::{scope} maps to no exercise"
            assert set(exercises) <= known, f"{file}::{scope}: unknown {set(exercises) - known}"


def test_every_exercise_is_some_code_s_home():
    homes = {exercises[0] for scopes in EXERCISE_MAP.values() for exercises in scopes.values()}
    assert homes == set(known_exercises())


SOURCE = textwrap.dedent('''\
    LIMIT = 20

    class Policy:
        max_attempts: int = 4

        @property
        def doubled(self):
            return self.max_attempts * 2

    def outer():
        def inner():
            return 1
        return inner
    ''')


@pytest.mark.parametrize(("line", "scope"), [
    (1, "LIMIT"), (4, "Policy.max_attempts"), (6, "Policy.doubled"), (8, "Policy.doubled"),
    (12, "outer.inner"), (13, "outer"), (2, ""),
])
def test_scope_of_a_line(line, scope):
    assert scope_of(ast.parse(SOURCE), line) == scope


def test_the_longest_mapped_scope_decides():
    mapping: dict[str, dict[str, tuple[str, ...]]] = {
        "f.py": {"": ("retries",), "Gateway": ("fallback",), "Gateway.complete": ("cost",)}}
    narrow: dict[str, dict[str, tuple[str, ...]]] = {"f.py": {"Gateway": ("fallback",)}}
    assert exercises_for("f.py", "Gateway.complete.attempt", mapping) == ("cost",)
    assert exercises_for("f.py", "Gateway.completed", mapping) == ("fallback",)
    assert exercises_for("f.py", "helper", mapping) == ("retries",)
    assert exercises_for("g.py", "helper", mapping) == ()
    assert exercises_for("f.py", "x", narrow) == ()


def test_mutants_inside_lazy_annotations_are_found():
    source = ("from __future__ import annotations\n\n"
              "def f(a: int | None, b=1 | 2) -> str | None:\n    x: int | None = a\n")
    spans = annotation_spans(ast.parse(source))
    assert in_annotation((3, 13), (3, 14), spans)  # the | of a's annotation
    assert not in_annotation((3, 25), (3, 26), spans)  # the | of b's default: evaluated
    assert in_annotation((3, 36), (3, 37), spans)  # the return annotation
    assert in_annotation((4, 11), (4, 12), spans)  # a local's annotation
    assert annotation_spans(ast.parse(source.split("\n", 1)[1])) == []  # evaluated: none skipped


def test_no_mutant_is_made_inside_an_unevaluated_annotation():
    skipped: dict[str, int] = {}
    mutants = enumerate_mutants(skipped=skipped)
    assert skipped and mutants
    assert len({m.key for m in mutants}) == len(mutants)
    assert not any(m.key.startswith("litreview/llm/gateway.py::Gateway.new_context::"
                                    "core/ReplaceBinaryOperator_BitOr") for m in mutants)


def _mutant(key: str, exercise: str = "retries", operator: str = "core/NumberReplacer") -> Mutant:
    return Mutant("litreview/x.py", operator, 0, 1, "f", (exercise,), key)


def test_sampling_is_seeded_per_exercise_and_spreads_over_operator_families():
    mutants = [_mutant(f"r{i}", "retries", f"core/ReplaceBinaryOperator_Add_{i}") for i in range(10)]
    mutants += [_mutant(f"n{i}", "retries", "core/NumberReplacer") for i in range(10)]
    mutants += [_mutant(f"c{i}", "citations") for i in range(2)]
    picked = sample(mutants, 2, seed=3)
    assert picked == sample(mutants, 2, seed=3)
    retries = [m for m in picked if m.exercise == "retries"]
    assert {operator_family(m.operator) for m in retries} == {"core/ReplaceBinaryOperator",
                                                              "core/NumberReplacer"}
    assert len([m for m in picked if m.exercise == "citations"]) == 2
    assert [m.exercise for m in sample(mutants, None, 0, ["citations"])] == ["citations"] * 2


def test_the_triage_file_parses_and_every_entry_says_why():
    triage = load_triage(TRIAGE_PATH)
    assert TRIAGE_PATH.is_file()
    for key, entry in triage.items():
        assert key.count("::") == 2, key
        assert entry["verdict"] in VERDICTS
        assert entry[VERDICTS[entry["verdict"]]].strip()


@pytest.mark.parametrize(("text", "problem"), [
    ('["a::b::c#0"]\nverdict = "equivalent"\n', "needs a non-empty 'reason'"),
    ('["a::b::c#0"]\nverdict = "maybe"\nreason = "x"\n', "is not one of"),
    ('["a::b::c#0"]\nverdict = "needs-check"\nreason = "x"\n', "needs a non-empty 'note'"),
    ("[oops\n", "not TOML"),
])
def test_a_bad_triage_entry_is_named(text, problem):
    with pytest.raises(TriageError, match=problem):
        parse_triage(text, "t.toml")


def _row(key: str, exercise: str, outcome: str, killed_by: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"key": key, "exercise": exercise, "exercises": [exercise], "line": 7, "outcome": outcome,
            "killed_by": list(killed_by), "message": "", "diff": "-    a = 1\n+    a = 2"}


def test_the_report_counts_each_exercise():
    rows = [_row("r1", "retries", "killed", ("test_backoff_is_jittered",)),
            _row("r2", "retries", "incompetent"),
            _row("r3", "retries", "survived"),
            _row("r4", "retries", "survived"),
            _row("r5", "retries", "survived"),
            _row("c1", "citations", "killed", ("test_x",)),
            _row("c2", "citations", "error")]
    triage = {"r3": {"verdict": "equivalent", "reason": "same numbers"},
              "r4": {"verdict": "needs-check", "note": "brief: 'jittered'"},
              "r5": {"verdict": "killed", "check": "test_backoff_is_jittered, made stronger"}}
    tallies = tally(rows, triage)
    assert list(tallies) == ["citations", "retries"]
    r = tallies["retries"]
    assert (r.made, r.incompetent, r.equivalent, r.killed, r.survived, r.errors) == (5, 1, 1, 1, 2, 0)
    assert r.killed_later == 1
    assert r.kill_rate == pytest.approx(2 / 4)
    assert r.kill_rate_now == pytest.approx(3 / 4)
    c = tallies["citations"]
    assert (c.made, c.killed, c.errors, c.kill_rate) == (2, 1, 1, 1.0)
    meta = {"command": "python -m bench.mutation --sample 2", "date": "2026-12-05 23:00 UTC",
            "commit": "abc1234", "level": "realistic", "seed": 0, "sampling": "a sample",
            "mutants_available": {"retries": 500, "citations": 40}, "in_annotations": {"retries": 9}}
    text = render(meta, rows, triage)
    assert text.startswith("# Mutation report: a sample, not the full run\n")
    assert render({**meta, "full": True}, rows, triage).startswith("# Mutation report\n")
    assert "`python -m bench.mutation --sample 2`" in text and "abc1234" in text
    assert "| retries | 9 | 500 | 5 | 1 | 1 | 1 | 2 | 0 | 50% | 1 | 75% |" in text
    assert "| citations | 0 | 40 | 2 | 0 | 0 | 1 | 0 | 1 | 100% | 0 | 100% |" in text
    assert "killed by `test_backoff_is_jittered`" in text
    assert "survived: needs-check: brief: 'jittered'" in text
    assert "`a = 2`" in text


def test_an_unknown_outcome_is_refused():
    with pytest.raises(ValueError, match="unknown outcome 'maybe'"):
        tally([_row("x", "retries", "maybe")], {})


def _result(status: str, *verdicts: tuple[str, str]) -> SimpleNamespace:
    checks = tuple(SimpleNamespace(record=SimpleNamespace(name=name, verdict=verdict))
                   for name, verdict in verdicts)
    return SimpleNamespace(status=status, message="why", score=SimpleNamespace(counted=checks))


@pytest.mark.parametrize(("result", "expected"), [
    (_result("did-not-start"), ("incompetent", [], "why")),
    (_result("graded", ("a", "pass"), ("b", "fail"), ("c", "grader-error")), ("killed", ["b"], "")),
    (_result("graded", ("a", "pass")), ("survived", [], "")),
    (_result("graded", ("a", "pass"), ("c", "grader-error")), ("error", [], "grader-error in c")),
    (_result("graded"), ("error", [], "no check of the exercise ran")),
    (_result("harness-error"), ("error", [], "harness-error: why")),
])
def test_a_grading_s_outcome(result, expected):
    assert outcome_of(result) == expected


def test_a_mutant_that_does_not_compile_is_found(tmp_path):
    bad, good = tmp_path / "bad.py", tmp_path / "good.py"
    bad.write_text("def f(a, +, b):\n    return 1\n", encoding="utf-8")
    good.write_text("def f(a, *, b):\n    return 1\n", encoding="utf-8")
    assert compile_problem(bad).startswith("the mutant does not compile")
    assert compile_problem(good) == ""


def test_render_writes_an_earlier_run_s_report_again(tmp_path, capsys):
    import json

    from bench.mutation.run import main

    meta = {"command": "python -m bench.mutation --sample 1", "date": "2026-12-06 02:00 UTC",
            "commit": "abc1234", "level": "realistic", "seed": 0, "sampling": "a sample",
            "mutants_available": {"retries": 5}, "in_annotations": {}}
    rows = [_row("r1", "retries", "killed", ("test_backoff_is_jittered",))]
    (tmp_path / "mutation.json").write_text(json.dumps({"meta": meta, "results": rows}), encoding="utf-8")
    report = tmp_path / "elsewhere.md"
    assert main(["--render", str(tmp_path), "--report", str(report)]) == 0
    text = report.read_text(encoding="utf-8")
    assert "| retries | 0 | 5 | 1 | 0 | 0 | 1 | 0 | 0 | 100% | 0 | 100% |" in text
    assert main(["--render", str(tmp_path / "nothing")]) == 2
    assert "no readable run in" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--report", str(report)])  # --report without --render is a usage error


def test_a_mutant_cosmic_ray_cannot_make_is_an_error_row_not_a_crash(monkeypatch):
    import bench.mutation.run as run

    def broken(mutant: Any, folder: Any) -> str:
        raise AttributeError("'PythonNode' object has no attribute 'value'")

    monkeypatch.setattr(run, "apply", broken)
    mutant = Mutant(file="litreview/llm/http.py", operator="core/ExceptionReplacer", occurrence=0,
                    line=104, scope="read_json", exercises=("retries",),
                    key="litreview/llm/http.py::read_json::core/ExceptionReplacer#0")
    row = run.grade_mutant(mutant, "realistic", 0)
    assert row["outcome"] == "error" and row["killed_by"] == []
    assert row["message"].startswith("cosmic-ray could not make this mutant: AttributeError")
