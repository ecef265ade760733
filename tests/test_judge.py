"""One judge of answers, one source for each vocabulary: the checks and the soak judge with
graders/judge.py, the honest statuses are the contracts' (and the candidate's README shows the
same table), the soak's deadlines are the briefs', the levels and rubric tags are defined once,
and a check's injected evidence can be derived from its scripted rules."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

from fake_llm.faults import fault_kinds
from graders import judge, soak
from graders.checks import scenario
from graders.checks.describe import describe_fault, describe_rules
from graders.clauses import load_contracts

KIT = Path(__file__).resolve().parent.parent
PACKAGES = ("fake_llm", "faultfirst", "faultfirst_data", "graders")
README = KIT / "candidate_template" / "README.md.j2"


def _assignments(name: str) -> list[str]:
    """The modules of the kit's packages that assign ``name`` at their top level."""
    found = []
    for package in PACKAGES:
        for path in sorted((KIT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in tree.body:
                targets = node.targets if isinstance(node, ast.Assign) else \
                    [node.target] if isinstance(node, ast.AnnAssign) else []
                if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                    found.append(str(path.relative_to(KIT)))
    return found


def _definitions(name: str) -> list[str]:
    """The modules of the kit's packages that define a function ``name``."""
    return [str(path.relative_to(KIT)) for package in PACKAGES
            for path in sorted((KIT / package).rglob("*.py"))
            if any(isinstance(node, ast.FunctionDef) and node.name == name
                   for node in ast.parse(path.read_text(encoding="utf-8")).body)]


@pytest.mark.parametrize(("name", "home"), [
    ("HONEST_STATUS", "graders/judge.py"),
    ("LEVELS", "fake_llm/profiles.py"),
    ("TAGS", "graders/clauses.py"),
])
def test_each_vocabulary_is_defined_once(name: str, home: str) -> None:
    assert _assignments(name) == [home]


@pytest.mark.parametrize("name", ["summary_problem", "extraction_problem", "answer_problem",
                                  "stream_ending", "marker_numbers"])
def test_one_judge_for_the_checks_and_the_soak(name: str) -> None:
    assert _definitions(name) == ["graders/judge.py"]
    assert getattr(scenario, name) is getattr(judge, name)


def test_the_honest_statuses_are_the_contracts_and_the_readme_shows_them() -> None:
    from_contracts = {key.removesuffix("_status"): value for contract in load_contracts().values()
                      for key, value in contract.items() if key.endswith("_status")}
    assert {**from_contracts, **judge.STREAM_ONLY_CODES} == dict(judge.HONEST_STATUS)
    rows = dict(re.findall(r"^\| `([a-z_]+)` \| (\d{3}) \|", README.read_text(encoding="utf-8"), re.M))
    assert {code: int(status) for code, status in rows.items()} == from_contracts
    assert all(f"`{code}`" in README.read_text(encoding="utf-8") for code in judge.STREAM_ONLY_CODES)


def test_two_statuses_for_one_code_are_refused() -> None:
    with pytest.raises(ValueError, match=r"contract\.llm_timeout_status = 408"):
        judge.honest_statuses({"a": {"llm_timeout_status": 504}, "b": {"llm_timeout_status": 408}})


def test_the_soak_reads_the_briefs_numbers() -> None:
    contracts = load_contracts()
    request_s, batch_s = contracts["deadlines"]["deadline_s"], contracts["batch"]["batch_deadline_s"]
    deadlines, first_event_s, max_gap_s = soak.DEADLINE_S, soak.FIRST_EVENT_S, soak.MAX_GAP_S
    threshold = scenario.BREAKER_THRESHOLD
    assert deadlines == {"summary": request_s, "extraction": request_s, "answer": request_s,
                         "batch": batch_s}
    assert first_event_s == contracts["streaming"]["first_event_s"]
    assert max_gap_s == contracts["streaming"]["max_gap_s"]
    assert threshold == contracts["fallback"]["breaker_failure_threshold"]


@pytest.mark.parametrize("kind", list(fault_kinds()))
def test_every_fault_kind_has_words(kind: str) -> None:
    spec = {"kind": kind, **({"text": "An answer [1]."} if kind == "answer_text" else {})}
    said = describe_fault(spec)
    assert said != kind and not said.startswith(f"{kind} {{"), f"{kind} has no words in describe.py"


def test_rules_become_the_evidence_of_what_was_injected() -> None:
    rules = [scenario.rule(scenario.fault("http_error", status=429, retry_after_ms=3600), paper_id="P0025"),
             scenario.rule(scenario.fault("hang"), times=None, paper_id="P0025"),
             scenario.rule([scenario.fault("json_fences"), scenario.fault("json_trailing_comma")], times=2,
                           paper_id="P0030", task="extract"),
             scenario.rule(scenario.fault("reset"), times=None, paper_id="P0025")]
    said = describe_rules(rules)
    assert said == ("the first call about P0025: HTTP 429 asking to wait 3600 ms (retry-after-ms, and "
                    "retry-after in whole seconds, rounded up); every later call about P0025: no answer "
                    "at all (a hang); the first 2 extraction calls about P0030: JSON in a Markdown code "
                    "fence and JSON with a trailing comma")
    assert describe_rules([]) == "no fault"


class _Admin:
    def __init__(self) -> None:
        self.rules: list[dict[str, Any]] = []

    def clear_script(self) -> None:
        self.rules = []

    def script(self, rules: list[dict[str, Any]]) -> None:
        self.rules += rules


class _Fake:
    def __init__(self) -> None:
        self.admin = _Admin()


class _Evidence:
    def __init__(self) -> None:
        self.injected_notes: list[str] = []

    def injected(self, text: str) -> None:
        self.injected_notes.append(text)


def test_script_records_its_rules_as_evidence() -> None:
    fake, evidence = _Fake(), _Evidence()
    scenario.script(fake, [scenario.rule(scenario.fault("empty_body"), paper_id="P0001")], evidence=evidence)
    assert len(fake.admin.rules) == 2  # the rule, then the quiet catch-all
    assert evidence.injected_notes == [
        f"the first call about P0001: a 200 with an empty body; every other call: no fault, an answer "
        f"after {scenario.QUIET_DELAY_MS} ms"]
    scenario.script(fake)
    assert len(evidence.injected_notes) == 1  # without evidence, nothing is said
