"""Each flawed solution names the clauses of the brief it breaks, and the checks it lists as
catching it prove those clauses: statically, from flaw.toml and the checks' declarations, with no
grading. (The validity suite then grades each flaw and finds the same clauses broken.)"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from graders.checks.plugin import CheckSpec
from graders.clauses import Clause, load_clauses
from tests.flaws import Flaw, check_specs, flaw_names


def clause_problems(flaw: Flaw, checks: Mapping[str, CheckSpec],
                    clauses: Mapping[str, Clause]) -> list[str]:
    """What is wrong with ``flaw``'s clauses and checks, one sentence each (none: all is well)."""
    problems = []
    if not flaw.clauses:
        problems.append("`clauses` is empty: name the ids of the brief's clauses the flaw breaks")
    problems += [f"`clauses` names {c!r}, which no clauses.toml defines"
                 for c in flaw.clauses if c not in clauses]
    problems += [f"names the check {name!r}, which does not exist"
                 for name in (*flaw.fails, *flaw.also_fails) if name not in checks]
    problems += [f"`fails` names {name!r}, a check of {checks[name].exercise}, not of {flaw.exercise}"
                 for name in flaw.fails if name in checks and checks[name].exercise != flaw.exercise]
    if flaw.fails:
        proved = {c for name in flaw.fails if name in checks for c in checks[name].clauses}
        problems += [f"breaks {c} ({clauses[c].text!r}), but no check in `fails` proves it "
                     f"(they prove {', '.join(sorted(proved))})"
                     for c in flaw.clauses if c in clauses and c not in proved]
    return problems


@pytest.fixture(scope="module")
def checks() -> dict[str, CheckSpec]:
    return check_specs()


def test_there_are_flawed_solutions() -> None:
    assert len(flaw_names()) >= 27


@pytest.mark.parametrize("name", flaw_names())
def test_a_flaws_clauses_exist_and_its_checks_prove_them(name: str,
                                                        checks: dict[str, CheckSpec]) -> None:
    flaw = Flaw.load(name)
    assert flaw.name == name, f"solutions/flawed/{name}/flaw.toml names itself {flaw.name!r}"
    problems = clause_problems(flaw, checks, load_clauses())
    assert not problems, f"solutions/flawed/{name}/flaw.toml:\n  " + "\n  ".join(problems)


def test_a_clause_no_listed_check_proves_is_reported(checks: dict[str, CheckSpec]) -> None:
    clauses = load_clauses()
    good = Flaw("x", "retries", "d", ("retries.cap",), ("test_attempts_are_capped_at_four",), {})
    assert clause_problems(good, checks, clauses) == []
    unproved = Flaw("x", "retries", "d", ("retries.backoff-full-jitter",),
                    ("test_attempts_are_capped_at_four",), {})
    assert any("breaks retries.backoff-full-jitter" in p for p in clause_problems(unproved, checks, clauses))
    unknown = Flaw("x", "retries", "d", ("retries.nope",), ("test_attempts_are_capped_at_four",),
                   {"test_no_such_check": "r"})
    problems = clause_problems(unknown, checks, clauses)
    assert any("'retries.nope'" in p for p in problems)
    assert any("test_no_such_check" in p for p in problems)
    other = Flaw("x", "batch", "d", ("retries.cap",), ("test_attempts_are_capped_at_four",), {})
    assert any("a check of retries, not of batch" in p for p in clause_problems(other, checks, clauses))
    assert clause_problems(Flaw("x", "retries", "d", (), (), {}, "u"), checks, clauses)
