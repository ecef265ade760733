"""The graders prove themselves (docs/grading.md, docs/calibration.md): the reference gets full marks at every
level, the starter a low score, each flawed solution fails exactly the checks of its flaw and
passes every other one, and the same submission graded twice gets the same verdicts.

Every grading here is a real one (``graders.harness.grade``: copy, sandbox, fake LLM, the app as a
subprocess) at a fixed seed. Each runs once per session; the module's first test starts all the
gradings its selected tests need, :data:`WORKERS` at a time, and each test waits for its own.
A grading is mostly waiting on the fake LLM's clock, so two at once on a 2-core machine keep the
whole module well inside CI's time while every check keeps its timing margins.
"""

from __future__ import annotations

import threading
import tomllib
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from faultfirst.calibrate import prepare_solution
from faultfirst.solutions import SOLUTIONS_DIR, solution_names
from graders.harness import GradeResult, grade
from graders.harness.inner.context import known_exercises
from graders.harness.report.records import LEVELS
from tests.flaws import Flaw, check_specs

pytestmark = pytest.mark.slow

SEED = 1
LEVEL = "realistic"  # the level the starter, the flaws and the repeat are graded at
WORKERS = 2
STARTER_CEILING = 0.25
FLAWS = sorted(name.removeprefix("flawed/") for name in solution_names() if name.startswith("flawed/"))
ALTERNATIVES = sorted(name.removeprefix("alternative/") for name in solution_names()
                      if name.startswith("alternative/"))


@dataclass(frozen=True, slots=True)
class Key:
    """One grading: a solution name, a level, which run of it (0, or 1 for the repeat), and the
    exercises its manifest names (every one unless given)."""

    solution: str
    level: str = LEVEL
    run: int = 0
    exercises: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.solution.replace('/', '-')}-{self.level}-{self.run}"


def flaw_key(flaw: Flaw) -> Key:
    """A flaw is graded on its own exercise and on every exercise of a check it is declared to
    fail as well (``also_fails``), so that it is seen to fail exactly those checks and keep every
    other one of them. The other exercises' checks are proven on correct code by the reference and
    the alternatives, and a clause that applies in several exercises is checked in each of them
    (tests/test_clauses.py), so grading a flaw on all of them adds a minute and no evidence."""
    exercises = {flaw.exercise} | {CHECK_EXERCISES[name] for name in flaw.also_fails
                                   if CHECK_EXERCISES.get(name) in known_exercises()}
    return Key(f"flawed/{flaw.name}", flaw.level, exercises=tuple(sorted(exercises)))


CHECK_EXERCISES = {name: spec.exercise for name, spec in check_specs().items()}


def alternative_exercises(name: str) -> tuple[str, ...]:
    path = SOLUTIONS_DIR / "alternative" / name / "alternative.toml"
    return tuple(tomllib.loads(path.read_text(encoding="utf-8"))["exercises"])


def keys_for(test_name: str, param: str | None) -> list[Key]:
    """The gradings one test of this module needs."""
    if test_name == "test_the_reference_gets_full_marks":
        return [Key("reference", param or LEVEL)]
    if test_name == "test_the_starter_scores_low":
        return [Key("starter")]
    if test_name == "test_a_flawed_solution_fails_exactly_its_checks" and param:
        return [flaw_key(Flaw.load(param))]
    if test_name == "test_an_alternative_correct_solution_keeps_full_marks" and param:
        name, level = param.split("@")
        return [Key(f"alternative/{name}", level, exercises=alternative_exercises(name))]
    if test_name == "test_grading_twice_gives_identical_verdicts":
        return [Key("starter"), Key("starter", run=1)]
    return []


class Gradings:
    """Gradings started on demand, each once, at most ``workers`` at a time."""

    def __init__(self, root: Path, workers: int) -> None:
        self.root = root
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="grading")
        self._futures: dict[Key, Future[GradeResult]] = {}
        self._lock = threading.Lock()

    def start(self, keys: Iterable[Key]) -> None:
        with self._lock:
            for key in keys:
                if key not in self._futures:
                    self._futures[key] = self._pool.submit(self._grade, key)

    def result(self, key: Key) -> GradeResult:
        self.start([key])
        return self._futures[key].result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _grade(self, key: Key) -> GradeResult:
        # Every exercise in the manifest, so that every check counts.
        app = prepare_solution(key.solution, key.exercises or known_exercises(), key.level,
                               self.root / key.label / "app")
        return grade(app, key.level, SEED, self.root / key.label / "out")


@pytest.fixture(scope="module")
def gradings(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gradings]:
    """Every grading this module's selected tests need, started at once."""
    runner = Gradings(tmp_path_factory.mktemp("validity"), WORKERS)
    wanted = []
    for item in request.session.items:
        if isinstance(item, pytest.Function) and item.module is request.module:
            params = getattr(item, "callspec", None)
            param = next(iter(params.params.values()), None) if params else None
            wanted += keys_for(item.originalname, param)
    runner.start(wanted)
    yield runner
    runner.close()


def verdicts(result: GradeResult) -> dict[str, str]:
    """Each counted check's verdict, by check name."""
    names = [check.record.name for check in result.score.counted]
    assert len(names) == len(set(names)), f"two checks share a name: {sorted(names)}"
    return {check.record.name: check.record.verdict for check in result.score.counted}


def explain(result: GradeResult, names: Iterable[str]) -> str:
    """The verdict and the why of each named check, one per line (for assertion messages)."""
    by_name = {check.record.name: check.record for check in result.score.counted}
    lines = []
    for name in names:
        record = by_name.get(name)
        lines.append(f"  {name}: " + (f"{record.verdict} (clauses {', '.join(record.clauses)}): "
                                      f"{record.why[:300]}" if record else "not run"))
    return "\n".join(lines)


def broken_clauses(result: GradeResult) -> set[str]:
    """The clauses the graders found broken: every clause of every check that did not pass."""
    return {clause for check in result.score.counted if check.record.verdict != "pass"
            for clause in check.record.clauses}


def graded(result: GradeResult) -> GradeResult:
    assert result.status == "graded", f"{result.submission}: {result.status}: {result.message}"
    return result


@pytest.mark.parametrize("level", LEVELS)
def test_the_reference_gets_full_marks(gradings: Gradings, level: str) -> None:
    result = graded(gradings.result(Key("reference", level)))
    not_passed = [name for name, verdict in verdicts(result).items() if verdict != "pass"]
    assert not not_passed, f"the reference at {level} did not pass:\n{explain(result, not_passed)}"
    assert result.score.max_score > 0 and result.score.score == result.score.max_score
    exercises = {check.record.exercise for check in result.score.counted}
    assert exercises >= set(known_exercises()), f"no check counted for {set(known_exercises()) - exercises}"


def test_the_starter_scores_low(gradings: Gradings) -> None:
    result = graded(gradings.result(Key("starter")))
    assert result.score.max_score > 0
    assert result.score.percent <= 100 * STARTER_CEILING, (
        f"the starter scored {result.score.percent:.0f}% at {LEVEL}; the exercises should leave it at "
        f"most {STARTER_CEILING:.0%}")


@pytest.mark.parametrize("flaw", FLAWS)
def test_a_flawed_solution_fails_exactly_its_checks(gradings: Gradings, flaw: str) -> None:
    spec = Flaw.load(flaw)
    assert spec.name == flaw, f"solutions/flawed/{flaw}/flaw.toml names itself {spec.name!r}"
    assert spec.exercise in known_exercises(), f"{flaw}: unknown exercise {spec.exercise!r}"
    assert spec.description.strip(), f"{flaw}: flaw.toml needs a description"
    assert spec.clauses, f"{flaw}: flaw.toml needs `clauses`: the ids of the brief's clauses it breaks"
    assert bool(spec.fails) != bool(spec.uncaught), (
        f"{flaw}: flaw.toml needs `fails` (the checks that catch it) or, for a known miss, "
        "`uncaught` (the broken sentence) with `fails = []`")
    result = graded(gradings.result(flaw_key(spec)))
    if spec.uncaught:
        caught = sorted(name for name, verdict in verdicts(result).items() if verdict != "pass")
        assert not caught, (f"{flaw}: the known miss is now caught: move these to `fails` and drop "
                            f"`uncaught`:\n{explain(result, caught)}")
        pytest.xfail(f"known miss, not yet caught by any check: {spec.uncaught}")
    seen = verdicts(result)
    unknown = [name for name in (*spec.fails, *spec.also_fails) if name not in seen]
    assert not unknown, f"{flaw}: flaw.toml names checks that did not run: {unknown}"
    own = [check.record.name for check in result.score.counted if check.record.exercise == spec.exercise]
    assert set(spec.fails) <= set(own), f"{flaw}: `fails` must be checks of exercise {spec.exercise}"
    expected = set(spec.fails) | set(spec.also_fails)
    failed = {name for name, verdict in seen.items() if verdict != "pass"}
    missed, extra = sorted(expected - failed), sorted(failed - expected)
    assert not missed, f"{flaw}: the graders did not catch the flaw:\n{explain(result, missed)}"
    assert not extra, f"{flaw}: checks that should pass did not:\n{explain(result, extra)}"
    uncovered = [clause for clause in spec.clauses if clause not in broken_clauses(result)]
    assert not uncovered, (
        f"{flaw}: breaks {', '.join(uncovered)} (its flaw.toml `clauses`), but no failed check "
        f"proves {'it' if len(uncovered) == 1 else 'them'}: the failed checks prove only\n"
        + explain(result, sorted(failed)))


@pytest.mark.parametrize("alternative", [f"{name}@{level}" for name in ALTERNATIVES for level in LEVELS])
def test_an_alternative_correct_solution_keeps_full_marks(gradings: Gradings, alternative: str) -> None:
    """A correct solution written differently from the reference (another retry library, the
    SDK's own client, another concurrency structure) keeps every point at every level."""
    name, level = alternative.split("@")
    result = graded(gradings.result(Key(f"alternative/{name}", level,
                                        exercises=alternative_exercises(name))))
    not_passed = [check for check, verdict in verdicts(result).items() if verdict != "pass"]
    assert not not_passed, f"{alternative} did not pass:\n{explain(result, not_passed)}"
    assert result.score.max_score > 0 and result.score.score == result.score.max_score


def test_grading_twice_gives_identical_verdicts(gradings: Gradings) -> None:
    first = graded(gradings.result(Key("starter")))
    second = graded(gradings.result(Key("starter", run=1)))
    before, after = verdicts(first), verdicts(second)
    changed = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
    assert not changed, "verdicts changed between two gradings of the starter:\n" + "\n".join(
        f"  {name}: {before.get(name)} -> {after.get(name)}" for name in changed)
    assert first.score.score == second.score.score
